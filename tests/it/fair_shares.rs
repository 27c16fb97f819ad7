//! Issue 19, "Fair shares and abuse limits": each finding of the review, held by a test that
//! fails on the code before the fix. The scheduler's clock is moved, never slept on; the order
//! work is claimed in is read from the database, not from wall time.

use rocket::http::Status;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::harness::monitoring::{deliveries, newest_channel};
use crate::harness::smtp::SmtpSink;
use crate::harness::{TestApp, User};

async fn add_channel(app: &TestApp, user: &User, fields: &[(&str, &str)]) -> i64 {
    let answer = user.submit("/channels", fields).await;
    assert_eq!(
        answer.status,
        Status::SeeOther,
        "adding a channel {fields:?}: {}",
        answer.body
    );
    newest_channel(&app.db(), user.id)
}

/// Sends a test to channel `id` and answers its logged (status, last_error).
async fn tested(app: &TestApp, user: &User, id: i64) -> (String, Option<String>) {
    user.submit(&format!("/channels/{id}/test"), &[])
        .await
        .assert_status(Status::Ok);
    let last = deliveries(&app.db(), user.id)
        .pop()
        .expect("a logged delivery");
    (last.1, last.5)
}

/// Item 6: every IPv6 form that carries a loopback IPv4 address is refused, for a webhook and
/// for a mail server alike, and nothing reaches the receivers. Before, SIIT, 6to4 and Teredo
/// addresses counted as public.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipv6_forms_of_a_private_address_are_refused() {
    let app = TestApp::new().await;
    let hooks = MockServer::start().await;
    let sink = SmtpSink::start().await;
    let alice = app.user("alice").await;
    let port = hooks.address().port();
    let forms = [
        ("mapped", "::ffff:127.0.0.1"),
        ("compatible", "::127.0.0.1"),
        ("siit", "::ffff:0:127.0.0.1"),
        ("6to4", "2002:7f00:1::"),
        ("nat64", "64:ff9b::7f00:1"),
        ("local nat64", "64:ff9b:1::7f00:1"),
        ("teredo", "2001:0:7f00:1::f7f7:f7f7"),
    ];
    for (name, address) in forms {
        let hook = add_channel(
            &app,
            &alice,
            &[
                ("kind", "webhook"),
                ("name", &format!("hook {name}")),
                ("url", &format!("http://[{address}]:{port}/hook")),
            ],
        )
        .await;
        assert_eq!(
            tested(&app, &alice, hook).await,
            ("failed".into(), Some("refused_address".into())),
            "webhook to {address}"
        );
        let mail = add_channel(
            &app,
            &alice,
            &[
                ("kind", "email"),
                ("name", &format!("mail {name}")),
                ("smtp_host", address),
                ("smtp_port", &sink.port.to_string()),
                ("smtp_tls", "starttls"),
                ("smtp_user", "alerts"),
                ("smtp_password", "a-long-password"),
                ("smtp_from", "alerts@example.com"),
                ("smtp_to", "me@example.com"),
            ],
        )
        .await;
        assert_eq!(
            tested(&app, &alice, mail).await,
            ("failed".into(), Some("refused_address".into())),
            "mail server {address}"
        );
    }
    assert!(
        hooks
            .received_requests()
            .await
            .unwrap_or_default()
            .is_empty()
    );
    assert!(sink.mails().is_empty());
}

/// Item 5: a token written percent-encoded in a channel's URL (`SECRET%2DTOKEN%2D456`) and
/// echoed back by the receiver as written, in lower-case hex or decoded, is cut from the
/// test's result and from the delivery log in every form. Before, only the decoded form was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_percent_encoded_secret_is_redacted_in_every_form() {
    let app = TestApp::configured(|c| c.merge(("allow_private_webhooks", true))).await;
    let hooks = MockServer::start().await;
    let echoed = "token SECRET%2DTOKEN%2D456, secret%2dtoken%2d456, SECRET-TOKEN-456 not valid";
    Mock::given(method("POST"))
        .and(path("/robot/send"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"errcode": 300001, "errmsg": echoed})),
        )
        .mount(&hooks)
        .await;
    let alice = app.user("alice").await;
    let id = add_channel(
        &app,
        &alice,
        &[
            ("kind", "dingtalk"),
            ("name", "ding"),
            (
                "url",
                &format!(
                    "{}/robot/send?access_token=SECRET%2DTOKEN%2D456",
                    hooks.uri()
                ),
            ),
        ],
    )
    .await;
    let result = alice.submit(&format!("/channels/{id}/test"), &[]).await;
    let logged = deliveries(&app.db(), alice.id)
        .pop()
        .and_then(|d| d.5)
        .unwrap_or_default();
    let log_page = alice.get("/monitors/deliveries").await.text();
    assert!(result.text().contains("[redacted]"), "{}", result.text());
    assert!(logged.contains("[redacted]"), "{logged}");
    for (what, text) in [
        ("the test's result", result.text()),
        ("the delivery log", logged),
        ("the log page", log_page),
    ] {
        let lower = text.to_ascii_lowercase();
        for form in ["secret%2dtoken", "secret-token", "token%2d456", "token-456"] {
            assert!(!lower.contains(form), "{what} shows {form}: {text}");
        }
    }
}

/// Whether the page marks the input `id` invalid.
fn marked(page: &str, id: &str) -> bool {
    page.split('<')
        .find(|tag| {
            tag.contains(&format!("id=\"{id}\"")) && tag.contains(&format!("name=\"{id}\""))
        })
        .is_some_and(|tag| tag.contains("aria-invalid=\"true\""))
}

fn mail_fields<'a>(name: &'a str, host: &'a str, port: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("kind", "email"),
        ("name", name),
        ("smtp_host", host),
        ("smtp_port", port),
        ("smtp_from", "alerts@example.com"),
        ("smtp_to", "me@example.com"),
    ]
}

/// Item 3: no mail relay. A mail server that may be public needs a login and TLS; the refusal
/// is decided from the form alone (the host here cannot even be resolved), names what is
/// missing and marks those fields; at most three recipients; `allow_unauthenticated_smtp`
/// lifts the rule, and a channel kept from then is refused at its next send once the switch
/// is off again. A relay given by a private address needs neither, and a channel's name
/// reaches a mail only in its plain-text body, never its subject.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_channel_cannot_make_the_server_an_open_relay() {
    let app = TestApp::configured(|c| c.merge(("allow_private_webhooks", true))).await;
    let alice = app.user("alice").await;
    let channels = || {
        app.db()
            .query_row("SELECT count(*) FROM channels", [], |r| r.get::<_, i64>(0))
            .unwrap()
    };
    let relay = mail_fields("relay", "mail.relay.invalid", "25");

    let mut open = relay.clone();
    open.push(("smtp_tls", "none"));
    let refused = alice.submit("/channels", &open).await;
    refused.assert_status(Status::UnprocessableEntity);
    let page = refused.body.clone();
    assert!(
        page.contains("需要填写登录信息（用户名和密码）并使用加密"),
        "{page}"
    );
    for field in ["smtp_user", "smtp_password", "smtp_tls"] {
        assert!(marked(&page, field), "{field} is not marked: {page}");
    }
    assert!(!marked(&page, "smtp_host"));

    let mut no_tls = open.clone();
    no_tls.extend([
        ("smtp_user", "alerts"),
        ("smtp_password", "a-long-password"),
    ]);
    let refused = alice.submit("/channels", &no_tls).await;
    refused.assert_status(Status::UnprocessableEntity);
    let page = refused.body.clone();
    assert!(page.contains("需要加密"), "{page}");
    assert!(marked(&page, "smtp_tls") && !marked(&page, "smtp_user"));

    let mut no_login = relay.clone();
    no_login.push(("smtp_tls", "starttls"));
    let page = alice.submit("/channels", &no_login).await.body;
    assert!(page.contains("需要登录：请填写用户名和密码"), "{page}");
    assert!(marked(&page, "smtp_user") && marked(&page, "smtp_password"));

    let mut many = no_tls.clone();
    many.retain(|(k, _)| *k != "smtp_tls" && *k != "smtp_to");
    many.extend([
        ("smtp_tls", "tls"),
        (
            "smtp_to",
            "a@example.com, b@example.com, c@example.com, d@example.com",
        ),
    ]);
    let page = alice.submit("/channels", &many).await.body;
    assert!(page.contains("1 到 3 个"), "{page}");
    assert!(marked(&page, "smtp_to"));
    assert_eq!(channels(), 0, "nothing refused was stored");

    // The administrator's switch lifts the rule; once off again, the channel cannot send.
    let trusted = app
        .start_with(|c| c.merge(("allow_unauthenticated_smtp", true)))
        .await;
    let bob = User::sign_up(trusted, "bob", app.database_path()).await;
    let sink = SmtpSink::start().await;
    let port = sink.port.to_string();
    let mut public_open = mail_fields("kept", "::ffff:0:8.8.8.8", &port);
    public_open.push(("smtp_tls", "none"));
    let kept = add_channel(&app, &bob, &public_open).await;
    drop(bob);
    let bob = User::sign_in(app.start().await, "bob", app.database_path()).await;
    assert_eq!(
        tested(&app, &bob, kept).await,
        ("failed".into(), Some("smtp_needs_auth".into()))
    );

    // A relay on this machine (allow_private_webhooks): no login or TLS needed. The name is
    // plain text in the body only.
    let name = "<a href=\"http://spam.example\">WIN</a>";
    let mut local = mail_fields(name, "127.0.0.1", &port);
    local.push(("smtp_tls", "none"));
    let id = add_channel(&app, &alice, &local).await;
    assert_eq!(tested(&app, &alice, id).await, ("sent".into(), None));
    let mails = sink.mails();
    assert_eq!(mails.len(), 1, "only the local relay was used");
    let mail = &mails[0];
    assert!(
        mail.header("Content-Type")
            .is_some_and(|t| t.starts_with("text/plain")),
        "{}",
        mail.data
    );
    let subject = mail.header("Subject").unwrap_or_default();
    assert!(
        !subject.contains("WIN") && !subject.contains("spam"),
        "{subject}"
    );
    assert!(mail.text().contains(name), "{}", mail.text());
}
