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
