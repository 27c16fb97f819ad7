//! Issue 9, "Hardening": each finding of the adversarial review, held by a test that fails on
//! the code before the fix. In-process tests use Rocket's local client; the configuration and
//! logging findings start the real binary, from an empty directory, on a free loopback port
//! ([`Server`], with a cookie-keeping [`Browser`] of its own).

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rocket::http::{ContentType, Header, Status};
use serde_json::json;
use wiremock::ResponseTemplate;

use crate::harness::api::post_balance;
use crate::harness::app::free_port;
use crate::harness::binary::Binary;
use crate::harness::db::{self, count, user_id};
use crate::harness::html::{extract_csrf, visible_text};
use crate::harness::http::{
    csrf_token, form_encode, get, post_form, post_form_with, post_quick, submit, submit_with,
    url_encode,
};
use crate::harness::secrets::{OTHER_KEY, assert_no_trace};
use crate::harness::two_factor as tf;
use crate::harness::upstream::{
    BALANCE_PATH, MODEL_A, QUOTA_A, any_chat, balance, balance_body, balance_for_key,
    calls_mentioning, calls_to, chat, held_calls, mount_balance, mount_ok, ok_with_quota,
};
use crate::harness::users::{
    add_key, history_id_of_redirect, keys, login, login_with, logout, session_cookie, signed_up,
    signup,
};
use crate::harness::{Answer, PASSWORD, TestApp};

/// A key whose hex digits include letters, so a change of case is a different string.
const KEY: &str = "ms-abcdef12-3456-7890-abcd-ef1234567890";
/// What must never reappear, in any case: the key's UUID.
const KEY_UUID: &str = "abcdef12-3456-7890-abcd-ef1234567890";

// ---------------------------------------------------------------------------------------------
// Item 1: sign-ups are throttled per client address (the hashing pool itself is bounded and
// tested in `crypto::passwords`; `bench/auth_stress.sh` measures the memory).

#[tokio::test]
async fn sign_ups_are_limited_per_address_with_retry_after() {
    let app = TestApp::new().await;
    let client = app
        .start_with(|f| f.merge(("signups_per_address_per_hour", 2)))
        .await;
    let from = [("X-Real-IP", "198.51.100.20")];
    for name in ["first", "second"] {
        let created = submit_with(
            &client,
            "/signup",
            &[
                ("username", name),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
            ],
            &from,
        )
        .await;
        created.assert_redirect_to("/");
        logout(&client).await;
    }
    let refused = submit_with(
        &client,
        "/signup",
        &[
            ("username", "third"),
            ("password", PASSWORD),
            ("password_confirm", PASSWORD),
        ],
        &from,
    )
    .await;
    refused.assert_status(Status::TooManyRequests);
    let retry: i64 = refused
        .header("Retry-After")
        .expect("Retry-After")
        .parse()
        .unwrap();
    assert!((1..=3600).contains(&retry), "{retry}");
    assert!(refused.text().contains("分钟后再试"), "{}", refused.text());
    assert!(user_id(&app.db(), "third").is_none());
    // Another address may still sign up.
    submit_with(
        &client,
        "/signup",
        &[
            ("username", "third"),
            ("password", PASSWORD),
            ("password_confirm", PASSWORD),
        ],
        &[("X-Real-IP", "198.51.100.21")],
    )
    .await
    .assert_redirect_to("/");
}

// ---------------------------------------------------------------------------------------------
// Items 4-6: sign-in throttling

/// Item 4: forty wrong passwords at once for one account from one address. The throttle
/// reserves each attempt before verifying, so no more than the limit are ever checked.
#[tokio::test]
async fn concurrent_guesses_cannot_pass_the_throttle_together() {
    let app = TestApp::new().await;
    let client = app.start().await;
    signed_up(&app.start().await, "victim").await;
    let token = csrf_token(&client, "/login").await;
    let body = form_encode(&[
        ("username", "victim"),
        ("password", "wrong password!"),
        ("csrf_token", &token),
    ]);
    let attempts = (0..40).map(|_| {
        client
            .post("/login")
            .header(ContentType::Form)
            .header(Header::new("X-Real-IP", "192.0.2.77"))
            .body(body.clone())
            .dispatch()
    });
    let answers = futures::future::join_all(attempts).await;
    let mut statuses: HashMap<u16, usize> = HashMap::new();
    for answer in answers {
        *statuses.entry(answer.status().code).or_default() += 1;
    }
    let verified = statuses.get(&401).copied().unwrap_or(0);
    assert!(
        verified <= 5,
        "{verified} guesses were checked: {statuses:?}"
    );
    assert_eq!(
        verified + statuses.get(&429).copied().unwrap_or(0),
        40,
        "{statuses:?}"
    );
    let recorded = count(
        &app.db(),
        "SELECT count(*) FROM login_failures WHERE username = 'victim' AND ?1 = ?1",
        0,
    );
    assert!(recorded <= 5, "{recorded} failures recorded");
}

/// Item 5: an attacker spraying one name from many addresses cannot lock the owner out.
#[tokio::test]
async fn an_owner_signs_in_from_a_clean_address_whatever_others_tried() {
    let app = TestApp::new().await;
    let client = app.start().await;
    signed_up(&app.start().await, "owner").await;
    for round in 0..3 {
        for n in 1..=10 {
            let ip = format!("203.0.113.{}", round * 10 + n);
            login_with(&client, "owner", "nope nope", &[("X-Real-IP", &ip)])
                .await
                .assert_status(Status::Unauthorized);
        }
    }
    login_with(&client, "owner", PASSWORD, &[("X-Real-IP", "198.51.100.1")])
        .await
        .assert_redirect_to("/");
}

/// Item 6: the password re-checks of `/account/password` and `/account/delete` are throttled
/// like sign-ins, so a stolen session cannot guess the password without limit.
#[tokio::test]
async fn password_re_checks_are_throttled_like_sign_ins() {
    let app = TestApp::new().await;
    let client = app.start().await;
    signed_up(&client, "carol").await;
    let from = [("X-Real-IP", "192.0.2.33")];
    let change = |current: &'static str| {
        let client = &client;
        async move {
            let token = csrf_token(client, "/account").await;
            post_form_with(
                client,
                "/account/password",
                &[
                    ("current_password", current),
                    ("new_password", "a brand new password"),
                    ("new_password_confirm", "a brand new password"),
                    ("csrf_token", &token),
                ],
                &from,
            )
            .await
        }
    };
    for _ in 0..5 {
        change("guess guess")
            .await
            .assert_status(Status::UnprocessableEntity);
    }
    let throttled = change(PASSWORD).await;
    throttled.assert_status(Status::TooManyRequests);
    assert!(throttled.header("Retry-After").is_some());
    assert!(
        throttled.text().contains("分钟后再试"),
        "{}",
        throttled.text()
    );
    // The delete re-check counts against the same (account, address).
    let token = csrf_token(&client, "/account").await;
    let delete = post_form_with(
        &client,
        "/account/delete",
        &[("password", PASSWORD), ("csrf_token", &token)],
        &from,
    )
    .await;
    delete.assert_status(Status::TooManyRequests);
    assert!(user_id(&app.db(), "carol").is_some(), "deleted anyway");
    // From another address the owner still can.
    let other = [("X-Real-IP", "192.0.2.34")];
    let token = csrf_token(&client, "/account").await;
    post_form_with(
        &client,
        "/account/password",
        &[
            ("current_password", PASSWORD),
            ("new_password", "a brand new password"),
            ("new_password_confirm", "a brand new password"),
            ("csrf_token", &token),
        ],
        &other,
    )
    .await
    .assert_redirect_to("/account");
}

// ---------------------------------------------------------------------------------------------
// Item 7: `next=` values that are not valid URIs

#[tokio::test]
async fn a_next_that_is_no_valid_uri_goes_home_without_an_orphan_session() {
    let app = TestApp::new().await;
    signed_up(&app.start().await, "nina").await;
    for next in ["/ /x", "/\u{2215}evil.com", "/history?x=\""] {
        let client = app.start().await;
        let answer = submit(
            &client,
            "/login",
            &[("username", "nina"), ("password", PASSWORD), ("next", next)],
        )
        .await;
        answer.assert_redirect_to("/");
        assert!(session_cookie(&client).is_some(), "{next:?}");
        // The login page echoes it safely too.
        get(&client, &format!("/login?next={}", url_encode(next)))
            .await
            .assert_status(Status::Ok);
    }
    // One session from sign-up plus one per login, each with a cookie that was sent.
    let sessions = count(&app.db(), "SELECT count(*) FROM sessions WHERE ?1 = ?1", 0);
    assert_eq!(sessions, 4);
}

// ---------------------------------------------------------------------------------------------
// Items 8, 9, 14: the real binary

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

/// A browser for the real binary: keeps cookies, finds form tokens.
struct Browser {
    base: String,
    http: reqwest::Client,
    cookies: HashMap<String, String>,
}

impl Browser {
    fn new(base: &str) -> Self {
        Self {
            base: base.to_owned(),
            http: http(),
            cookies: HashMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn keep(&mut self, answer: reqwest::Response) -> (u16, HashMap<String, String>, String) {
        let status = answer.status().as_u16();
        let mut headers = HashMap::new();
        for (name, value) in answer.headers() {
            let value = value.to_str().unwrap_or("").to_owned();
            if name == "set-cookie"
                && let Some((pair, _)) = value.split_once(';').or(Some((&value, "")))
                && let Some((k, v)) = pair.split_once('=')
            {
                if v.is_empty() {
                    self.cookies.remove(k);
                } else {
                    self.cookies.insert(k.to_owned(), v.to_owned());
                }
            }
            headers.insert(name.as_str().to_owned(), value);
        }
        (status, headers, answer.text().await.unwrap_or_default())
    }

    async fn get(&mut self, path: &str) -> (u16, HashMap<String, String>, String) {
        let answer = self
            .http
            .get(format!("{}{path}", self.base))
            .header("Cookie", self.cookie_header())
            .send()
            .await
            .expect("GET");
        self.keep(answer).await
    }

    /// GETs `page` for its form token, then posts `fields` with it to `path`.
    async fn submit(
        &mut self,
        page: &str,
        path: &str,
        fields: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> (u16, HashMap<String, String>, String) {
        let (_, _, html) = self.get(page).await;
        let token = extract_csrf(&html).unwrap_or_else(|| panic!("no token on {page}"));
        let mut all = fields.to_vec();
        all.push(("csrf_token", &token));
        let mut request = self
            .http
            .post(format!("{}{path}", self.base))
            .header("Cookie", self.cookie_header())
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(form_encode(&all));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let answer = request.send().await.expect("POST");
        self.keep(answer).await
    }
}

/// Item 8: started from an empty directory (no `Rocket.toml` anywhere), the binary does not
/// trust `X-Real-IP` and refuses a 1 MiB JSON body; it logs its effective configuration once.
#[tokio::test]
async fn from_an_empty_directory_the_binary_keeps_its_security_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Binary::start(dir.path(), free_port(), &[]).await;
    let mut browser = Browser::new(&server.base);

    for n in 1..=10 {
        let spoofed = format!("203.0.113.{n}");
        let (status, _, _) = browser
            .submit(
                "/login",
                "/login",
                &[
                    ("username", &format!("nobody{n}")),
                    ("password", "whatever1"),
                ],
                &[("X-Real-IP", &spoofed)],
            )
            .await;
        assert_eq!(status, 401);
    }
    let (status, headers, _) = browser
        .submit(
            "/login",
            "/login",
            &[("username", "somebody"), ("password", "whatever1")],
            &[("X-Real-IP", "203.0.113.99")],
        )
        .await;
    assert_eq!(status, 429, "a spoofed X-Real-IP escaped the throttle");
    assert!(headers.contains_key("retry-after"));

    let huge = format!(
        r#"{{"models": ["Qwen/Qwen2.5-72B-Instruct"], "api_key": "{KEY}", "pad": "{}"}}"#,
        "x".repeat(1024 * 1024)
    );
    let answer = http()
        .post(format!("{}/api/balance", server.base))
        .header("Content-Type", "application/json")
        .body(huge)
        .send()
        .await
        .expect("POST");
    assert_eq!(answer.status().as_u16(), 413);

    server.stop();
    let logs = server.logs();
    let line = logs
        .lines()
        .find(|l| l.contains("configuration:"))
        .unwrap_or_else(|| panic!("no configuration line: {logs}"));
    for expected in [
        "ip_header=off",
        "limits.json=64KiB",
        "limits.form=64KiB",
        "secure_cookies=",
    ] {
        assert!(line.contains(expected), "{expected} missing: {line}");
    }
    assert_eq!(logs.matches("configuration:").count(), 1, "{logs}");
}

/// Item 3: a body trickled a byte at a time is cut after `body_timeout_secs` with a 408, on a
/// form and on the JSON API (Rocket itself has no read timeout; see README "Behind a reverse
/// proxy").
///
/// Bounded by what tells the configured timeout apart, not by a guess at the machine's speed:
/// the 408 comes no sooner than the configured second, before the default 15 s would have cut
/// it, and long before the trickle could finish the body (a minute).
#[tokio::test]
async fn a_trickled_body_is_cut_with_408() {
    let configured = Duration::from_secs(1);
    let default = modelscope_balance::config::AppConfig::default().body_timeout();
    assert!(configured < default);
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let _server = Binary::start(dir.path(), port, &[("ROCKET_BODY_TIMEOUT_SECS", "1")]).await;
    for head in [
        "POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 200\r\n\r\nu",
        "POST /api/balance HTTP/1.1\r\nHost: 127.0.0.1\r\n\
         Content-Type: application/json\r\nContent-Length: 200\r\n\r\n{",
    ] {
        let (answer, took) = trickle(port, head).await;
        assert!(
            answer.starts_with("HTTP/1.1 408"),
            "after {took:?}: {answer}"
        );
        assert!(
            took >= configured && took < default,
            "cut after {took:?}, not by the configured {configured:?}"
        );
    }
}

/// Sends `head`, then one more byte every 300 ms (200 bytes would take a minute); the answer's
/// head and how long it took to come.
async fn trickle(port: u16, head: &str) -> (String, Duration) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut socket = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    socket.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    let mut answer = Vec::new();
    let mut buffer = [0u8; 1024];
    while started.elapsed() < Duration::from_secs(20) {
        tokio::select! {
            read = socket.read(&mut buffer) => match read {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    answer.extend_from_slice(&buffer[..n]);
                    if answer.windows(4).any(|w| w == b"\r\n\r\n") { break; }
                }
            },
            _ = tokio::time::sleep(Duration::from_millis(300)) => {
                if socket.write_all(b"x").await.is_err() { break; }
            }
        }
    }
    (
        String::from_utf8_lossy(&answer).into_owned(),
        started.elapsed(),
    )
}

/// Item 14: listening beyond loopback over plain HTTP with `Secure` cookies is warned about at
/// start-up, naming both ways out.
#[tokio::test]
async fn listening_beyond_loopback_without_tls_warns_about_secure_cookies() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Binary::start(
        dir.path(),
        free_port(),
        &[
            ("ROCKET_ADDRESS", "0.0.0.0"),
            ("ROCKET_SECURE_COOKIES", "true"),
        ],
    )
    .await;
    server.stop();
    let logs = server.logs();
    assert!(
        logs.contains("plain HTTP with secure_cookies = true")
            && logs.contains("secure_cookies = false")
            && logs.contains("TLS"),
        "{logs}"
    );

    let dir = tempfile::tempdir().unwrap();
    let mut server = Binary::start(
        dir.path(),
        free_port(),
        &[("ROCKET_SECURE_COOKIES", "true")],
    )
    .await;
    server.stop();
    assert!(
        !server.logs().contains("plain HTTP with secure_cookies"),
        "loopback is fine"
    );
}

/// Item 14: a form posted from a plain-HTTP page on a LAN address, whose browser dropped our
/// `Secure` cookie, is told exactly what to do instead of "submit the form again".
#[tokio::test]
async fn a_form_from_plain_http_beyond_loopback_explains_the_secure_cookie_problem() {
    let app = TestApp::new().await;
    let client = app.start_with(|f| f.merge(("secure_cookies", true))).await;
    let fields = form_encode(&[
        ("username", "lan"),
        ("password", PASSWORD),
        ("password_confirm", PASSWORD),
        ("csrf_token", "from-the-page"),
    ]);
    let post = |origin: &'static str, host: &'static str| {
        let client = &client;
        let fields = fields.clone();
        async move {
            // Untracked: the browser kept no cookie (it refused the Secure one over HTTP).
            let request = client
                .post("/signup")
                .header(ContentType::Form)
                .header(Header::new("Origin", origin))
                .header(Header::new("Host", host))
                .body(fields);
            Answer::from(request.dispatch().await).await
        }
    };
    let lan = post("http://192.168.1.5:8000", "192.168.1.5:8000").await;
    lan.assert_status(Status::Forbidden);
    let text = lan.text();
    assert!(
        text.contains("HTTPS") && text.contains("secure_cookies = false"),
        "{text}"
    );
    assert!(text.contains("ROCKET_SECURE_COOKIES=false"), "{text}");

    // On loopback browsers keep Secure cookies, so a refusal there is the usual one.
    let local = post("http://127.0.0.1:8000", "127.0.0.1:8000").await;
    local.assert_status(Status::Forbidden);
    assert!(!local.text().contains("secure_cookies"), "{}", local.text());
}

/// Item 9: no log level prints a password, key, session or CSRF token, invitation, reset link,
/// TOTP seed, recovery code or half-signed-in cookie. Each run signs up, saves a key, runs a
/// quick query, calls the API with a key header and a bearer token, and goes through the
/// admin's links and two-factor sign-in, then its whole output is searched for every canary
/// (raw, hex, base64).
#[tokio::test]
async fn no_log_level_prints_a_secret() {
    let upstream = wiremock::MockServer::start().await;
    chat(MODEL_A)
        .respond_with(ok_with_quota([2000, 1999, 500, 499]))
        .mount(&upstream)
        .await;
    balance()
        .respond_with(ResponseTemplate::new(200).set_body_json(balance_body()))
        .mount(&upstream)
        .await;
    let api = format!("{}/v1", upstream.uri());
    let hub = upstream.uri();
    for (n, (rocket_level, rust_log)) in [
        ("off", "trace"),
        ("critical", "trace"),
        ("normal", "trace"),
        ("debug", "trace"),
        ("debug", "debug"),
    ]
    .into_iter()
    .enumerate()
    {
        let dir = tempfile::tempdir().unwrap();
        let password = format!("pw-canary-{n}-7c1e5a");
        let saved_key = format!("ms-5a7e0000-1111-2222-3333-00000000000{n}");
        let quick_key = format!("ms-9c1c0000-1111-2222-3333-00000000000{n}");
        let header_key = format!("ms-4e4d0000-1111-2222-3333-00000000000{n}");
        let bearer = format!("msb_{}{n}", "b7".repeat(31) + "c");
        let mut server = Binary::start(
            dir.path(),
            free_port(),
            &[
                ("ROCKET_LOG_LEVEL", rocket_level),
                ("RUST_LOG", rust_log),
                ("ROCKET_MODELSCOPE_API_BASE", &api),
                ("ROCKET_MODELSCOPE_HUB_BASE", &hub),
            ],
        )
        .await;
        let mut browser = Browser::new(&server.base);
        let mut secrets = vec![password.clone(), saved_key.clone(), quick_key.clone()];
        secrets.push(header_key.clone());
        secrets.push(bearer.clone());

        let (_, _, html) = browser.get("/signup").await;
        secrets.push(extract_csrf(&html).expect("anonymous token"));
        let (status, _, _) = browser
            .submit(
                "/signup",
                "/signup",
                &[
                    ("username", "loggy"),
                    ("password", &password),
                    ("password_confirm", &password),
                ],
                &[],
            )
            .await;
        assert_eq!(status, 303, "sign-up at {rocket_level}");
        secrets.push(browser.cookies["msb_session"].clone());
        let (_, _, html) = browser.get("/keys").await;
        secrets.push(extract_csrf(&html).expect("session token"));
        let (status, _, _) = browser
            .submit(
                "/keys",
                "/keys",
                &[("label", "main"), ("api_key", &saved_key)],
                &[],
            )
            .await;
        assert_eq!(status, 303, "key save at {rocket_level}");
        let (status, _, _) = browser
            .submit(
                "/keys",
                "/quick",
                &[("api_key", &quick_key), ("models", MODEL_A)],
                &[],
            )
            .await;
        assert_eq!(status, 200, "quick query at {rocket_level}");
        let answer = http()
            .post(format!("{}/api/balance", server.base))
            .header("Content-Type", "application/json")
            .header("X-API-Key", &header_key)
            .header(
                "Cookie",
                format!("msb_session={}", browser.cookies["msb_session"]),
            )
            .body(json!({"models": [MODEL_A]}).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status().as_u16(), 200, "API call at {rocket_level}");
        let answer = http()
            .get(format!("{}/api/history", server.base))
            .header("Authorization", format!("Bearer {bearer}"))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status().as_u16(), 401);
        // An invitation, shown and used.
        let (status, headers, _) = browser
            .submit("/admin", "/admin/invitations", &[("days", "2")], &[])
            .await;
        assert_eq!(status, 303, "invitation at {rocket_level}");
        let (_, _, html) = browser.get(&headers["location"]).await;
        let link = html
            .split(r#"id="new-invitation">"#)
            .nth(1)
            .and_then(|rest| rest.split('<').next())
            .expect("the invitation is shown");
        let code = link.split("invite=").nth(1).expect("a code").to_owned();
        secrets.push(code.clone());
        let mut invited = Browser::new(&server.base);
        let (status, _, _) = invited
            .submit(
                &format!("/signup?invite={code}"),
                "/signup",
                &[
                    ("username", "invited"),
                    ("password", &password),
                    ("password_confirm", &password),
                    ("invite", &code),
                ],
                &[],
            )
            .await;
        assert_eq!(status, 303, "invited sign-up at {rocket_level}");
        // The first account is the admin: a password-reset link for it, shown and used.
        let (status, headers, _) = browser
            .submit("/admin", "/admin/users/1/reset-link", &[], &[])
            .await;
        assert_eq!(status, 303, "reset link at {rocket_level}");
        let shown = headers["location"].clone();
        secrets.push(shown.trim_start_matches("/admin/reset-links/").to_owned());
        let (_, _, html) = browser.get(&shown).await;
        let link = html
            .split(r#"id="new-reset-link">"#)
            .nth(1)
            .and_then(|rest| rest.split('<').next())
            .expect("the reset link is shown");
        let path = link[link.find("/reset/").expect("a reset path")..].to_owned();
        secrets.push(path.trim_start_matches("/reset/").to_owned());
        let new_password = format!("pw-reset-canary-{n}-91d3");
        secrets.push(new_password.clone());
        let mut owner = Browser::new(&server.base);
        let (status, _, _) = owner
            .submit(
                &path,
                &path,
                &[
                    ("password", &new_password),
                    ("password_confirm", &new_password),
                ],
                &[],
            )
            .await;
        assert_eq!(status, 303, "reset at {rocket_level}");
        // Two-factor sign-in: the seed, the recovery codes and the half-signed-in cookie.
        let page = "/account/two-factor";
        let (status, _, _) = invited
            .submit(page, "/account/two-factor/start", &[], &[])
            .await;
        assert_eq!(status, 303, "two-factor setup at {rocket_level}");
        let (_, _, html) = invited.get(page).await;
        let uri = tf::shown_uri(&html).expect("the otpauth link");
        let seed = tf::shown_secret(&html).expect("the secret");
        let now = i64::try_from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs(),
        )
        .unwrap();
        let (status, _, html) = invited
            .submit(
                page,
                "/account/two-factor/confirm",
                &[("code", &tf::code_at(&uri, now))],
                &[],
            )
            .await;
        assert_eq!(status, 200, "two-factor confirmed at {rocket_level}");
        let recovery_codes = tf::shown_recovery_codes(&html);
        assert_eq!(recovery_codes.len(), 10);
        let seed_bytes = totp_rs::Secret::try_from_base32(&seed).unwrap();
        secrets.push(hex::encode(seed_bytes.as_bytes()));
        secrets.push(seed);
        for code in &recovery_codes {
            secrets.push(code.clone());
            secrets.push(code.replace('-', ""));
        }
        let mut phone = Browser::new(&server.base);
        let (status, headers, _) = phone
            .submit(
                "/login",
                "/login",
                &[("username", "invited"), ("password", &password)],
                &[],
            )
            .await;
        assert_eq!(
            (status, headers["location"].as_str()),
            (303, tf::SECOND_STEP)
        );
        secrets.push(phone.cookies[tf::COOKIE].clone());
        let (status, _, _) = phone
            .submit(
                tf::SECOND_STEP,
                tf::SECOND_STEP,
                &[("code", &recovery_codes[0])],
                &[],
            )
            .await;
        assert_eq!(status, 303, "second step at {rocket_level}");

        server.stop();
        let logs = server.logs();
        if rocket_level == "debug" {
            assert!(!logs.is_empty(), "nothing logged at debug");
        }
        for secret in &secrets {
            assert_no_trace(
                logs.as_bytes(),
                secret,
                &format!("the log at ROCKET_LOG_LEVEL={rocket_level} RUST_LOG={rust_log}"),
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Item 10: redaction after decoding, in any case

#[tokio::test]
async fn an_echoed_key_is_redacted_after_json_decoding_and_in_any_case() {
    let app = TestApp::new().await;
    // Probe: the key spelled with JSON escapes. Balance: the key upper-cased.
    let escaped = KEY.replace('-', "\\u002d");
    chat(MODEL_A)
        .respond_with(ResponseTemplate::new(400).set_body_raw(
            format!(r#"{{"error":{{"message":"token {escaped} is not allowed here"}}}}"#),
            "application/json",
        ))
        .mount(&app.upstream)
        .await;
    balance()
        .respond_with(ResponseTemplate::new(500).set_body_json(json!({
            "success": false,
            "message": format!("account of {} is frozen", KEY.to_uppercase()),
        })))
        .mount(&app.upstream)
        .await;
    let assert_clean = |what: &str, text: &str| {
        assert!(
            !text.to_ascii_lowercase().contains(KEY_UUID),
            "{what} shows the key: {text}"
        );
        let decoded = text.replace("\\u002d", "-").to_ascii_lowercase();
        assert!(
            !decoded.contains(KEY_UUID),
            "{what} shows the key escaped: {text}"
        );
    };

    let browser = app.start().await;
    let answer = post_balance(
        &browser,
        &json!({"models": [MODEL_A], "api_key": KEY, "include_account": true}),
    )
    .await;
    assert!(answer.body.contains("not allowed here"), "{}", answer.body);
    assert_clean("the API answer", &answer.body);
    let quick = post_quick(&browser, &[("api_key", KEY), ("models", MODEL_A)]).await;
    assert!(quick.body.contains("not allowed here"), "{}", quick.body);
    assert_clean("the quick page", &quick.body);

    let user = app.user("redact").await;
    let run = user
        .run_query(&[("api_key", KEY), ("models", MODEL_A)])
        .await;
    let id = history_id_of_redirect(&run);
    let detail = user.get(&format!("/history/{id}")).await;
    assert_clean("the history page", &detail.body);
    let export = user.get("/history/export?format=json").await;
    assert_clean("the export", &export.body);
    let db = app.db();
    let stored: Vec<String> = db
        .prepare(
            "SELECT coalesce(error_message, '') FROM query_results
             UNION ALL SELECT coalesce(balance_error, '') FROM queries",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(
        stored.iter().any(|m| m.contains("not allowed here")),
        "{stored:?}"
    );
    for message in stored {
        assert_clean("the database", &message);
    }
}

// ---------------------------------------------------------------------------------------------
// Item 11: a missing or replaced master key is not silently regenerated

/// The binary on `app`'s data dir; it must stop by itself (refused start). Returns its output.
fn refused_start(app: &TestApp, vars: &[(&str, &str)]) -> String {
    let (status, stderr) = app.run_binary_until_exit(vars);
    assert!(!status.success());
    stderr
}

#[tokio::test]
async fn a_missing_or_replaced_master_key_refuses_to_start_unless_accepted() {
    let app = TestApp::new().await;
    let client = app.start().await;
    signed_up(&client, "keeper").await;
    add_key(&client, "main", KEY).await;
    drop(client);
    let original = std::fs::read(app.key_file()).unwrap();
    let path = app.key_file().display().to_string();

    // Deleted.
    std::fs::remove_file(app.key_file()).unwrap();
    let ignited = app.try_start_with(|config| config).await;
    match ignited {
        Ok(_) => panic!("the app started without its master key"),
        Err(error) => drop(error.kind().to_string()),
    }
    assert!(!app.key_file().exists(), "a new key file was written");
    let message = refused_start(&app, &[]);
    for expected in [
        path.as_str(),
        "missing",
        "1 saved API key",
        "accept_new_master_key",
        "Restore",
    ] {
        assert!(message.contains(expected), "{expected:?} not in: {message}");
    }
    assert!(!app.key_file().exists(), "a new key file was written");

    // Replaced by another valid key file.
    {
        use std::os::unix::fs::OpenOptionsExt;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(app.key_file())
            .unwrap();
        std::io::Write::write_all(&mut file, &[9u8; 32]).unwrap();
    }
    let message = refused_start(&app, &[]);
    assert!(
        message.contains("replaced") && message.contains(&path),
        "{message}"
    );

    // Put back: it starts and the key opens.
    std::fs::write(app.key_file(), &original).unwrap();
    let client = app.start().await;
    login(&client, "keeper", PASSWORD)
        .await
        .assert_redirect_to("/");
    assert!(keys(&client).await.iter().all(|k| !k.cannot_open));
    drop(client);

    // Accepting a new key is explicit.
    std::fs::remove_file(app.key_file()).unwrap();
    let client = app
        .start_with(|f| f.merge(("accept_new_master_key", true)))
        .await;
    login(&client, "keeper", PASSWORD)
        .await
        .assert_redirect_to("/");
    assert!(keys(&client).await.iter().all(|k| k.cannot_open));
}

// ---------------------------------------------------------------------------------------------
// Item 12: account delete leaves no traces

#[tokio::test]
async fn a_deleted_account_leaves_no_failures_labels_or_names_in_any_file() {
    use std::os::unix::fs::PermissionsExt;
    const LABEL: &str = "label-canary-0f3a9d";
    const PRESET: &str = "preset-canary-7b2e41";
    let app = TestApp::new().await;
    let client = app.start().await;
    signed_up(&client, "leaver").await;
    add_key(&client, LABEL, KEY).await;
    submit(
        &client,
        "/presets",
        &[("name", PRESET), ("models", MODEL_A)],
    )
    .await
    .assert_redirect_to("/presets");
    let stranger = app.start().await;
    for n in 0..3 {
        login_with(
            &stranger,
            "leaver",
            "not it at all",
            &[("X-Real-IP", &format!("192.0.2.{n}"))],
        )
        .await
        .assert_status(Status::Unauthorized);
    }
    let token = csrf_token(&client, "/account").await;
    post_form(
        &client,
        "/account/delete",
        &[("password", PASSWORD), ("csrf_token", &token)],
    )
    .await
    .assert_redirect_to("/login");

    let db = app.db();
    let failures = count(
        &db,
        "SELECT count(*) FROM login_failures WHERE username = 'leaver' AND ?1 = ?1",
        0,
    );
    assert_eq!(failures, 0, "login failures kept the name and addresses");
    let secure: i64 = db
        .query_row("PRAGMA secure_delete", [], |r| r.get(0))
        .unwrap();
    drop(db);
    let _ = secure;
    for (file, bytes) in app.all_files() {
        for canary in [LABEL, PRESET, "leaver"] {
            assert!(
                !bytes.windows(canary.len()).any(|w| w == canary.as_bytes()),
                "{} still holds {canary}",
                file.display()
            );
        }
    }
    let db_path = app.database_path().display().to_string();
    for suffix in ["", "-wal", "-shm"] {
        let file = format!("{db_path}{suffix}");
        if let Ok(meta) = std::fs::metadata(&file) {
            assert_eq!(meta.permissions().mode() & 0o777, 0o600, "{file}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Item 13: faults

/// Another connection holds the write lock (`BEGIN EXCLUSIVE`): optional writes are skipped
/// instead of failing the request, `/health` says it is degraded, and a form that must write
/// re-renders with the reason.
#[tokio::test]
async fn a_locked_database_fails_no_request_for_an_optional_write() {
    let app = TestApp::new().await;
    mount_balance(&app.upstream).await;
    let user = app.user("locked").await;
    let key_id = user.add_key("main", KEY).await;
    let token = user.create_token("script").await;
    // Every session and key is due for its last-seen / last-used write.
    app.db()
        .execute_batch("UPDATE sessions SET last_seen_at = last_seen_at - 3600;")
        .unwrap();

    let holder = app.db();
    holder
        .execute_batch("BEGIN EXCLUSIVE; UPDATE users SET created_at = created_at;")
        .unwrap();

    let account = user.get("/account").await;
    assert_eq!(
        account.status,
        Status::Ok,
        "signed out by a failed touch: {}",
        account.body
    );
    let history = user
        .client
        .get("/api/history")
        .header(Header::new("Authorization", format!("Bearer {token}")))
        .dispatch()
        .await;
    assert_eq!(
        history.status(),
        Status::Ok,
        "a token's last-used write failed the call"
    );
    let check = user.submit(&format!("/keys/{key_id}/check"), &[]).await;
    assert_eq!(
        check.status,
        Status::Ok,
        "a key's last-used write failed the check: {}",
        check.body
    );
    assert!(check.body.contains("240.5"), "{}", check.body);

    let health = get(&user.client, "/health").await;
    assert_eq!(health.status, Status::ServiceUnavailable, "{}", health.body);
    assert_eq!(health.json()["status"], json!("degraded"));
    assert_eq!(health.json()["database"], json!("read_only"));

    let add = user
        .submit("/keys", &[("label", "second"), ("api_key", OTHER_KEY)])
        .await;
    assert_eq!(add.status, Status::ServiceUnavailable, "{}", add.body);
    let text = visible_text(&add.body);
    assert!(text.contains("数据库暂时不可用"), "{text}");
    assert!(
        add.body.contains("value=\"second\""),
        "the label was lost: {}",
        add.body
    );

    holder.execute_batch("ROLLBACK;").unwrap();
    let health = get(&user.client, "/health").await;
    assert_eq!(health.status, Status::Ok, "{}", health.body);
    assert_eq!(health.json()["status"], json!("healthy"));
}

/// Mounts a tiny tmpfs (root only, as in CI); `None` where mounting is not allowed.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Option<Self> {
        let dir = tempfile::tempdir().ok()?;
        let mounted = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(dir.path())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        mounted.then_some(Self { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazy: the app's background tasks may still hold the files for a moment.
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .stderr(Stdio::null())
            .status();
    }
}

/// A full disk: the data dir lives on a tiny tmpfs that a filler file then fills. Reads keep
/// working, writes fail with a clear 503 (never a 500), `/health` is degraded, and freeing
/// space heals everything. Where no tmpfs can be mounted (not root) there is nothing to fill,
/// and the test says so and checks the locked-database case instead (above).
#[tokio::test]
async fn a_full_disk_is_said_honestly_and_heals_when_space_returns() {
    let Some(tmpfs) = Tmpfs::mount("4m") else {
        eprintln!("no tmpfs could be mounted here (not root): the full-disk case is skipped");
        return;
    };
    // The site's configuration and upstream double, with its data dir on the tmpfs.
    let app = TestApp::new().await;
    let data_dir = tmpfs.path().join("data");
    {
        let client = app
            .start_with(|config| config.merge(("data_dir", &data_dir)))
            .await;
        signed_up(&client, "filler").await;
        let db_path = data_dir.join("modelscope-balance.db");
        let conn = db::open(&db_path);
        conn.execute_batch("UPDATE sessions SET last_seen_at = last_seen_at - 3600;")
            .unwrap();
        // Empty the WAL, so the next write must grow a file; then fill the disk.
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .unwrap();
        drop(conn);
        let filler = tmpfs.path().join("filler");
        {
            use std::io::Write;
            let mut file = std::fs::File::create(&filler).unwrap();
            let block = vec![0u8; 64 * 1024];
            while file.write_all(&block).is_ok() {}
            let _ = file.flush();
        }

        // Reads work, and the due session touch fails quietly.
        get(&client, "/account").await.assert_status(Status::Ok);
        let health = get(&client, "/health").await;
        health.assert_status(Status::ServiceUnavailable);
        assert!(health.body.contains("degraded"), "{}", health.body);
        let add = submit(&client, "/keys", &[("label", "full"), ("api_key", KEY)]).await;
        add.assert_status(Status::ServiceUnavailable);
        assert!(add.text().contains("数据库暂时不可用"), "{}", add.text());
        let other = app
            .try_start_with(|config| config.merge(("data_dir", &data_dir)))
            .await;
        // A second instance may not even start on a full disk; if it does, sign-up says why.
        match other {
            Ok(other) => {
                let signup = signup(&other, "newcomer", PASSWORD).await;
                signup.assert_status(Status::ServiceUnavailable);
                assert!(
                    signup.text().contains("数据库暂时不可用"),
                    "{}",
                    signup.text()
                );
            }
            // rocket::Error panics on drop unless inspected.
            Err(error) => drop(error.kind().to_string()),
        }

        std::fs::remove_file(&filler).unwrap();
        get(&client, "/health").await.assert_status(Status::Ok);
        submit(&client, "/keys", &[("label", "full"), ("api_key", KEY)])
            .await
            .assert_redirect_to("/keys");
    }
    drop(tmpfs);
}

// ---------------------------------------------------------------------------------------------
// Also: refused model ids are stored escaped

#[tokio::test]
async fn refused_model_ids_with_control_characters_are_stored_escaped() {
    let app = TestApp::new().await;
    mount_balance(&app.upstream).await;
    mount_ok(&app.upstream, MODEL_A, QUOTA_A, 1).await;
    let user = app.user("escaper").await;
    let models = format!("{},Bad/id\u{7}\u{1b}[31m,Odd/\u{202e}gpj", MODEL_A);
    let run = user
        .run_query(&[("api_key", KEY), ("models", &models)])
        .await;
    let id = history_id_of_redirect(&run);
    let stored: Vec<String> = app
        .db()
        .prepare("SELECT model FROM query_results WHERE query_id = ?1 ORDER BY position")
        .unwrap()
        .query_map([id], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(stored.len(), 3, "{stored:?}");
    for model in &stored {
        assert!(
            !model.chars().any(|c| c.is_control() || c == '\u{202e}'),
            "stored raw: {model:?}"
        );
    }
    assert!(
        stored.iter().any(|m| m == "Bad/id\\u{7}\\u{1b}[31m"),
        "{stored:?}"
    );
    let export = user.get("/history/export?format=csv").await;
    assert!(!export.body.contains('\u{7}') && !export.body.contains('\u{1b}'));
}

/// A free check is an upstream call too: anonymous free checks hold their share of the slots
/// like probes do, so requests from many addresses cannot open more balance calls than
/// `anonymous_concurrency` (before, balance calls took no slot at all), and a signed-in free
/// check still answers while they hang.
#[tokio::test]
async fn anonymous_free_checks_hold_only_their_share_of_upstream_slots() {
    let app = TestApp::configured(|config| {
        config
            .merge(("global_concurrency", 4))
            .merge(("scheduler_concurrency", 1))
            .merge(("anonymous_concurrency", 2))
            .merge(("anonymous_queries_per_address", 1))
    })
    .await;
    // The pasted key's balance hangs; the saved key's answers.
    balance_for_key(OTHER_KEY)
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(balance_body())
                .set_delay(Duration::from_secs(20)),
        )
        .with_priority(1)
        .mount(&app.upstream)
        .await;
    mount_balance(&app.upstream).await;
    let owner = app.user("owner").await;
    let key_id = owner.add_key("main", crate::harness::secrets::KEY).await;
    let token = owner.create_token("script").await;
    let served = app.serve().await;
    let http = reqwest::Client::new();

    let free = json!({"models": [MODEL_A], "api_key": OTHER_KEY, "probe": false});
    let mut anonymous = Vec::new();
    for n in 1..=4 {
        let request = http
            .post(format!("{}/api/balance", served.base))
            .header("X-Real-IP", format!("198.51.100.{n}"))
            .json(&free)
            .send();
        anonymous.push(tokio::spawn(request));
    }
    let hanging = || calls_to(&app.upstream, BALANCE_PATH);
    let held = held_calls(
        &app,
        |calls| calls.anonymous,
        hanging,
        Duration::from_secs(10),
        "the free checks never filled the anonymous share",
    )
    .await;
    assert_eq!(held, 2, "four anonymous free checks, two anonymous slots");

    let waited_before = app.engine_calls().member.waited;
    let answer = http
        .post(format!("{}/api/balance", served.base))
        .bearer_auth(&token)
        .json(&json!({"models": [MODEL_A], "key_id": key_id, "probe": false}))
        .send()
        .await
        .expect("an answer");
    let status = answer.status().as_u16();
    let body: serde_json::Value = answer.json().await.expect("JSON");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["account"]["available_balance"], 240.5, "{body}");
    assert_eq!(
        app.engine_calls().member.waited,
        waited_before,
        "the signed-in free check waited for a slot"
    );
    assert_eq!(
        hanging().await,
        held + 1,
        "answered while the anonymous checks still hung (only its own call was added)"
    );
    for task in anonymous {
        task.abort();
    }
}

/// Anonymous work has its own share of the upstream slots and a per-address cap: while anonymous
/// queries of hanging models fill that share, a signed-in query still answers at once, and one
/// more anonymous query from a busy address is a 429.
#[tokio::test]
async fn anonymous_queries_cannot_starve_signed_in_ones() {
    let app = TestApp::configured(|config| {
        config
            .merge(("global_concurrency", 8))
            .merge(("scheduler_concurrency", 2))
            .merge(("anonymous_concurrency", 4))
            .merge(("anonymous_queries_per_address", 2))
    })
    .await;
    mount_balance(&app.upstream).await;
    mount_ok(&app.upstream, MODEL_A, QUOTA_A, 1).await;
    // Every other model hangs (a lower priority than MODEL_A's answer).
    any_chat()
        .respond_with(ok_with_quota(QUOTA_A).set_delay(Duration::from_secs(20)))
        .with_priority(10)
        .mount(&app.upstream)
        .await;
    let owner = app.user("owner").await;
    let key_id = owner.add_key("main", crate::harness::secrets::KEY).await;
    let token = owner.create_token("script").await;
    let served = app.serve().await;
    let http = reqwest::Client::new();

    // Two addresses, two queries each, ten hanging models a query: far more than 8 slots.
    let models: Vec<String> = (0..10).map(|i| format!("hang/model-{i}")).collect();
    let hanging = json!({"models": models, "api_key": OTHER_KEY});
    let mut anonymous = Vec::new();
    for address in ["198.51.100.1", "198.51.100.2"] {
        for _ in 0..2 {
            let request = http
                .post(format!("{}/api/balance", served.base))
                .header("X-Real-IP", address)
                .json(&hanging)
                .send();
            anonymous.push(tokio::spawn(request));
        }
    }
    let hung = || calls_mentioning(&app.upstream, "hang/model-");
    let held = held_calls(
        &app,
        |calls| calls.anonymous,
        hung,
        Duration::from_secs(10),
        "the anonymous queries never filled their share",
    )
    .await;
    assert_eq!(held, 4, "anonymous work holds only its share of the slots");

    let busy = http
        .post(format!("{}/api/balance", served.base))
        .header("X-Real-IP", "198.51.100.1")
        .json(&hanging)
        .send()
        .await
        .expect("an answer");
    assert_eq!(
        busy.status().as_u16(),
        429,
        "a third query from one address"
    );

    let waited_before = app.engine_calls().member.waited;
    let answer = http
        .post(format!("{}/api/balance", served.base))
        .bearer_auth(&token)
        .json(&json!({"models": [MODEL_A], "key_id": key_id}))
        .send()
        .await
        .expect("an answer");
    let status = answer.status().as_u16();
    let body: serde_json::Value = answer.json().await.expect("JSON");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"][0]["status"], 200, "{body}");
    assert_eq!(
        app.engine_calls().member.waited,
        waited_before,
        "the signed-in query waited for a slot"
    );
    assert_eq!(
        hung().await,
        held,
        "answered while the anonymous queries still hung (none made room for another)"
    );
    for task in anonymous {
        task.abort();
    }
}

// ---------------------------------------------------------------------------------------------
// Issue 21: passkeys leave no ceremony material in any log

impl Browser {
    /// A JSON POST the way `assets/passkeys.js` makes it (the token in `X-CSRF-Token`).
    async fn post_json(
        &mut self,
        path: &str,
        csrf: &str,
        body: &serde_json::Value,
    ) -> (u16, HashMap<String, String>, String) {
        let answer = self
            .http
            .post(format!("{}{path}", self.base))
            .header("Cookie", self.cookie_header())
            .header("Content-Type", "application/json")
            .header("X-CSRF-Token", csrf)
            .body(body.to_string())
            .send()
            .await
            .expect("POST");
        self.keep(answer).await
    }
}

/// A passkey registered, used as the second factor and alone, and a refused answer, at every
/// log level: no challenge, signature, client data, attestation, user handle, CSRF header or
/// session cookie in the output (raw, hex, base64).
#[tokio::test]
async fn no_log_level_prints_passkey_ceremony_material() {
    use crate::harness::passkeys::SoftKey;
    for (n, (rocket_level, rust_log)) in
        [("normal", "trace"), ("debug", "trace"), ("debug", "debug")]
            .into_iter()
            .enumerate()
    {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let origin = format!("http://localhost:{port}");
        let mut server = Binary::start(
            dir.path(),
            port,
            &[
                ("ROCKET_LOG_LEVEL", rocket_level),
                ("RUST_LOG", rust_log),
                ("ROCKET_PUBLIC_URL", &origin),
            ],
        )
        .await;
        let mut secrets: Vec<String> = Vec::new();
        let note = |value: &serde_json::Value, secrets: &mut Vec<String>| {
            for field in [
                "clientDataJSON",
                "attestationObject",
                "signature",
                "authenticatorData",
            ] {
                if let Some(text) = value["response"][field].as_str() {
                    secrets.push(text.to_owned());
                }
            }
        };
        let mut owner = Browser::new(&server.base);
        let name = format!("keyed{n}");
        let (status, _, _) = owner
            .submit(
                "/signup",
                "/signup",
                &[
                    ("username", &name),
                    ("password", PASSWORD),
                    ("password_confirm", PASSWORD),
                ],
                &[],
            )
            .await;
        assert_eq!(status, 303);
        secrets.push(owner.cookies["msb_session"].clone());
        let (_, _, html) = owner.get("/account/passkeys").await;
        let csrf = extract_csrf(&html).expect("a token");
        secrets.push(csrf.clone());
        let (status, _, body) = owner
            .post_json("/account/passkeys/options", &csrf, &json!({}))
            .await;
        assert_eq!(status, 200, "{body}");
        let options: serde_json::Value = serde_json::from_str(&body).unwrap();
        let options = &options["options"];
        secrets.push(options["challenge"].as_str().unwrap().to_owned());
        secrets.push(options["user"]["id"].as_str().unwrap().to_owned());
        let mut key = SoftKey::new(&name);
        key.origin = origin.clone();
        let credential = key.register(options);
        note(&credential, &mut secrets);
        let (status, _, body) = owner
            .post_json(
                "/account/passkeys",
                &csrf,
                &json!({ "credential": credential, "name": "Laptop" }),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        // The password, then the passkey; then the passkey alone; then a refused replay.
        let mut phone = Browser::new(&server.base);
        let (status, _, _) = phone
            .submit(
                "/login",
                "/login",
                &[("username", &name), ("password", PASSWORD)],
                &[],
            )
            .await;
        assert_eq!(status, 303);
        secrets.push(phone.cookies[tf::COOKIE].clone());
        let (_, _, html) = phone.get("/login/two-factor").await;
        let token = extract_csrf(&html).unwrap_or_else(|| phone.cookies["msb_csrf"].clone());
        let (_, _, body) = phone
            .post_json("/login/two-factor/passkey/options", &token, &json!({}))
            .await;
        let options: serde_json::Value = serde_json::from_str(&body).unwrap();
        secrets.push(options["options"]["challenge"].as_str().unwrap().to_owned());
        let assertion = key.assert(&options["options"]);
        note(&assertion, &mut secrets);
        let (status, _, body) = phone
            .post_json(
                "/login/two-factor/passkey",
                &token,
                &json!({ "credential": assertion }),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        secrets.push(phone.cookies["msb_session"].clone());
        let mut laptop = Browser::new(&server.base);
        let (_, _, html) = laptop.get("/login").await;
        let token = extract_csrf(&html).expect("a token");
        secrets.push(token.clone());
        let (_, _, body) = laptop
            .post_json("/login/passkey/options", &token, &json!({}))
            .await;
        let options: serde_json::Value = serde_json::from_str(&body).unwrap();
        let assertion = key.assert(&options["options"]);
        note(&assertion, &mut secrets);
        let finish = json!({ "credential": assertion });
        let (status, _, body) = laptop.post_json("/login/passkey", &token, &finish).await;
        assert_eq!(status, 200, "{body}");
        let session = laptop.cookies["msb_session"].clone();
        secrets.push(session);
        let (status, _, _) = laptop.post_json("/login/passkey", &token, &finish).await;
        assert!((400..500).contains(&status), "a replay: {status}");

        server.stop();
        let logs = server.logs();
        if rocket_level == "debug" {
            assert!(!logs.is_empty(), "nothing logged at debug");
        }
        for secret in &secrets {
            assert_no_trace(
                logs.as_bytes(),
                secret,
                &format!("the log at ROCKET_LOG_LEVEL={rocket_level} RUST_LOG={rust_log}"),
            );
        }
    }
}
