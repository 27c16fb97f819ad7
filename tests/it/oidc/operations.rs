//! Running single sign-on: a provider that is down stops neither the start nor password
//! sign-in (the login page says single sign-on is unavailable right now); a configuration that
//! cannot work is refused at start, naming the key and never the secret; and the client secret,
//! the authorization code and the tokens stay out of the logs at debug level, the pages and the
//! database (the real binary, driven over HTTP through a whole sign-in).

use std::path::Path;

use rocket::http::Status;

use super::{CLIENT_ID, CLIENT_SECRET, Flow, PUBLIC_URL, provider, with_sso};
use crate::harness::PASSWORD;
use crate::harness::TestApp;
use crate::harness::app::free_port;
use crate::harness::binary::Binary;
use crate::harness::http::get;
use crate::harness::secrets::assert_no_trace;
use crate::harness::users::{is_signed_in, login, signed_up};

#[tokio::test]
async fn a_provider_that_is_down_leaves_the_app_and_password_sign_in_working() {
    // Nothing listens on this port: discovery fails at start and on every try.
    let dead = format!("http://127.0.0.1:{}", free_port());
    let app = TestApp::configured(|config| with_sso(config, &dead)).await;
    let visitor = app.start().await;
    signed_up(&visitor, "olga").await;
    super::english(&visitor).await;
    crate::harness::users::logout(&visitor).await;
    let answer = get(&visitor, "/login/oidc").await;
    answer.assert_status(Status::ServiceUnavailable);
    assert!(
        answer
            .body
            .contains("Single sign-on is unavailable right now"),
        "{}",
        answer.body
    );
    assert!(
        answer.body.contains(r#"action="/login""#),
        "the password form stays"
    );
    // The login page now says so instead of offering the button.
    let page = get(&visitor, "/login").await;
    page.assert_status(Status::Ok);
    assert!(
        page.body.contains(r#"id="sso-unavailable""#),
        "{}",
        page.body
    );
    assert!(!page.body.contains(r#"id="sso-button""#));
    login(&visitor, "olga", PASSWORD)
        .await
        .assert_redirect_to("/");
    assert!(is_signed_in(&visitor).await);
}

#[tokio::test]
async fn single_sign_on_is_off_without_an_issuer() {
    let app = TestApp::new().await;
    let visitor = app.start().await;
    get(&visitor, "/login/oidc")
        .await
        .assert_status(Status::NotFound);
    get(&visitor, "/login/oidc/callback?code=x&state=y")
        .await
        .assert_status(Status::NotFound);
    assert!(!get(&visitor, "/login").await.body.contains("/login/oidc"));
}

#[tokio::test]
async fn a_configuration_that_cannot_work_is_refused_at_start_without_the_secret() {
    let app = TestApp::new().await;
    let cases: [(&[(&str, &str)], &str); 4] = [
        (
            &[
                ("ROCKET_OIDC_ISSUER", "https://id.example"),
                ("ROCKET_OIDC_CLIENT_ID", CLIENT_ID),
                ("ROCKET_OIDC_CLIENT_SECRET", CLIENT_SECRET),
            ],
            "public_url",
        ),
        (
            &[
                ("ROCKET_PUBLIC_URL", PUBLIC_URL),
                ("ROCKET_OIDC_ISSUER", "https://id.example"),
                ("ROCKET_OIDC_CLIENT_ID", CLIENT_ID),
                ("ROCKET_OIDC_CLIENT_SECRET", CLIENT_SECRET),
                ("ROCKET_OIDC_CLIENT_SECRET_FILE", "/etc/hostname"),
            ],
            "given twice",
        ),
        (
            &[
                ("ROCKET_PUBLIC_URL", PUBLIC_URL),
                ("ROCKET_OIDC_ISSUER", "ldap://id.example"),
                ("ROCKET_OIDC_CLIENT_ID", CLIENT_ID),
                ("ROCKET_OIDC_CLIENT_SECRET", CLIENT_SECRET),
            ],
            "oidc_issuer",
        ),
        (
            &[
                ("ROCKET_PUBLIC_URL", PUBLIC_URL),
                ("ROCKET_OIDC_CLIENT_ID", CLIENT_ID),
                ("ROCKET_OIDC_CLIENT_SECRET", CLIENT_SECRET),
            ],
            "oidc_issuer is not",
        ),
    ];
    for (vars, expected) in cases {
        let (status, stderr) = app.run_binary_until_exit(vars);
        assert!(!status.success(), "{vars:?} started");
        assert!(stderr.contains(expected), "{expected:?} not in {stderr}");
        assert_no_trace(stderr.as_bytes(), CLIENT_SECRET, "the refusal");
    }
}

/// The real binary in `dir`, logging at debug level, with single sign-on at `issuer` (its
/// client secret read from a file).
async fn binary_with_sso(dir: &Path, issuer: &str) -> Binary {
    let secret_file = dir.join("oidc-secret");
    std::fs::write(&secret_file, format!("{CLIENT_SECRET}\n")).unwrap();
    let data = dir.join("data");
    let secret_file = secret_file.to_string_lossy();
    let data = data.to_string_lossy();
    let vars = [
        ("ROCKET_DATA_DIR", &*data),
        ("ROCKET_ADDRESS", "127.0.0.1"),
        ("ROCKET_LOG_LEVEL", "debug"),
        ("RUST_LOG", "debug"),
        ("ROCKET_PUBLIC_URL", PUBLIC_URL),
        ("ROCKET_OIDC_ISSUER", issuer),
        ("ROCKET_OIDC_CLIENT_ID", CLIENT_ID),
        ("ROCKET_OIDC_CLIENT_SECRET_FILE", &*secret_file),
    ];
    Binary::start(dir, free_port(), &vars).await
}

#[tokio::test]
async fn the_secret_codes_and_tokens_stay_out_of_logs_pages_and_the_database() {
    let Some(provider) = provider() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let binary = binary_with_sso(dir.path(), &provider.issuer).await;
    let mut app = Flow::default();
    let mut pages = Vec::new();
    let (_, _, login_page) = app.fetch(&format!("{}/login", binary.base)).await;
    pages.push(login_page);
    let (status, authorize, _) = app.fetch(&format!("{}/login/oidc", binary.base)).await;
    assert_eq!(status, 303);
    let authorize = authorize.expect("the provider's address");
    let returned = Flow::default()
        .sign_in_at_provider(&authorize, "quinn")
        .await;
    let code = returned.param("code").expect("a code");
    let (status, next, body) = app
        .fetch(&format!("{}{}", binary.base, returned.path))
        .await;
    assert_eq!((status, next.as_deref()), (303, Some("/")), "{body}");
    pages.push(body);
    for path in ["/", "/account", "/keys", "/history"] {
        let (status, _, body) = app.fetch(&format!("{}{path}", binary.base)).await;
        assert_eq!(status, 200, "{path}");
        pages.push(body);
    }
    assert!(
        pages[3].contains(&provider.issuer),
        "the account page shows the link"
    );
    // The same code again is refused (single use at the app and at the provider).
    let (status, _, replay) = app
        .fetch(&format!("{}{}", binary.base, returned.path))
        .await;
    assert_eq!(status, 400);
    pages.push(replay);

    let logs = binary.logs();
    assert!(logs.contains("single sign-on made a new account"), "{logs}");
    assert!(
        logs.contains("oidc="),
        "the effective configuration names it: {logs}"
    );
    for (what, haystack) in [("the log", logs.as_bytes().to_vec())]
        .into_iter()
        .chain(pages.iter().map(|p| ("a page", p.as_bytes().to_vec())))
    {
        assert_no_trace(&haystack, CLIENT_SECRET, what);
        assert_no_trace(&haystack, &code, what);
        // An ID token is a JWT: base64url JSON, `eyJ…`.
        assert!(
            !String::from_utf8_lossy(&haystack).contains("eyJ"),
            "{what} holds a JWT"
        );
    }
    for entry in walk(&dir.path().join("data")) {
        let bytes = std::fs::read(&entry).unwrap_or_default();
        let what = entry.display().to_string();
        assert_no_trace(&bytes, CLIENT_SECRET, &what);
        assert_no_trace(&bytes, &code, &what);
        assert!(
            !String::from_utf8_lossy(&bytes).contains("eyJ"),
            "{what} holds a JWT"
        );
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}
