//! `/channels`: every kind of channel against a receiver of its own (wiremock, or the SMTP sink
//! for email), with the exact body it gets and its signature verified; the address guard; the
//! secrets that never leave the vault; retries and the hourly cap of the delivery log.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use rocket::http::Status;
use serde_json::{Value, json};
use sha2::Sha256;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::harness::monitoring::{
    deliveries, mount_points, newest_channel, newest_monitor, stays, wait_for_count,
};
use crate::harness::secrets::assert_no_trace;
use crate::harness::smtp::SmtpSink;
use crate::harness::{TestApp, User};

const KEY: &str = "ms-c1c1c1c1-1111-4222-8333-444455556666";

fn test_message(name: &str) -> String {
    format!("测试消息：通知渠道「{name}」可以正常收到 ModelScope 额度提醒。")
}

async fn site() -> TestApp {
    TestApp::configured(|c| c.merge(("allow_private_webhooks", true))).await
}

async fn add_channel(app: &TestApp, user: &User, fields: &[(&str, &str)]) -> i64 {
    let answer = user.submit("/channels", fields).await;
    assert_eq!(
        answer.status,
        Status::SeeOther,
        "adding a channel: {}",
        answer.body
    );
    newest_channel(&app.db(), user.id)
}

fn hmac(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).unwrap();
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

async fn requests_to(server: &MockServer, at: &str) -> Vec<wiremock::Request> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.url.path() == at)
        .collect()
}

/// KEY saved as "main", a webhook channel `name` to `<hooks>/<name>`, and an hourly free check
/// of the key: answers the channel and the monitor.
async fn hourly_monitor_with_webhook(
    app: &TestApp,
    user: &User,
    hooks: &MockServer,
    name: &str,
) -> (i64, i64) {
    let key = user.add_key("main", KEY).await;
    let channel = add_channel(
        app,
        user,
        &[
            ("kind", "webhook"),
            ("name", name),
            ("url", &format!("{}/{name}", hooks.uri())),
        ],
    )
    .await;
    user.submit(
        "/monitors",
        &[("key_id", &key.to_string()), ("every_minutes", "60")],
    )
    .await;
    (channel, newest_monitor(&app.db(), user.id))
}

async fn receiver(server: &MockServer, at: &str, answer: Value) {
    Mock::given(method("POST"))
        .and(path(at))
        .respond_with(ResponseTemplate::new(200).set_body_json(answer))
        .mount(server)
        .await;
}

/// Sends a test and checks the page says it arrived and the log says sent.
async fn test_ok(app: &TestApp, user: &User, id: i64) {
    let answer = user.submit(&format!("/channels/{id}/test"), &[]).await;
    answer.assert_status(Status::Ok);
    assert!(
        answer.text().contains("测试消息已送达"),
        "{}",
        answer.text()
    );
    let last = deliveries(&app.db(), user.id)
        .pop()
        .expect("a logged delivery");
    assert_eq!(
        (last.0.as_str(), last.1.as_str(), last.2),
        ("test", "sent", 1),
        "{last:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_generic_webhook_gets_the_json_body_signed_with_hmac_sha256() {
    let app = site().await;
    let hooks = MockServer::start().await;
    receiver(&hooks, "/hook", json!({"ok": true})).await;
    let alice = app.user("alice").await;
    let secret = "whsec-test-0001";
    let id = add_channel(
        &app,
        &alice,
        &[
            ("kind", "webhook"),
            ("name", "my hook"),
            ("url", &format!("{}/hook", hooks.uri())),
            ("secret", secret),
        ],
    )
    .await;
    test_ok(&app, &alice, id).await;
    let got = requests_to(&hooks, "/hook").await;
    assert_eq!(got.len(), 1);
    let request = &got[0];
    let signature = request
        .headers
        .get("x-signature")
        .expect("X-Signature")
        .to_str()
        .unwrap();
    assert_eq!(
        signature,
        format!(
            "sha256={}",
            hex::encode(hmac(secret.as_bytes(), &request.body))
        )
    );
    assert!(
        request
            .headers
            .get("content-type")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let mut body: Value = serde_json::from_slice(&request.body).unwrap();
    let at = body["at"].take();
    assert!(at.as_str().is_some_and(|t| t.ends_with("+08:00")), "{at}");
    assert_eq!(
        body,
        json!({"event": "test", "condition": null, "key_label": null, "model": null,
               "value": null, "threshold": null, "message": test_message("my hook"), "at": null})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dingtalk_and_feishu_get_their_formats_with_verified_signs() {
    let app = site().await;
    let hooks = MockServer::start().await;
    receiver(&hooks, "/robot/send", json!({"errcode": 0, "errmsg": "ok"})).await;
    receiver(
        &hooks,
        "/open-apis/bot/v2/hook/abc",
        json!({"code": 0, "msg": "success"}),
    )
    .await;
    let alice = app.user("alice").await;

    let ding_secret = "SECdingtalk0000secret";
    let ding = add_channel(
        &app,
        &alice,
        &[
            ("kind", "dingtalk"),
            ("name", "钉钉群"),
            (
                "url",
                &format!("{}/robot/send?access_token=tok123456", hooks.uri()),
            ),
            ("secret", ding_secret),
        ],
    )
    .await;
    test_ok(&app, &alice, ding).await;
    let got = requests_to(&hooks, "/robot/send").await;
    assert_eq!(got.len(), 1);
    let query: std::collections::HashMap<String, String> = got[0]
        .url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    assert_eq!(query["access_token"], "tok123456");
    let timestamp = &query["timestamp"];
    let expected = STANDARD.encode(hmac(
        ding_secret.as_bytes(),
        format!("{timestamp}\n{ding_secret}").as_bytes(),
    ));
    assert_eq!(query["sign"], expected, "DingTalk sign");
    let now_ms = modelscope_balance::clock::now() * 1000;
    assert!((timestamp.parse::<i64>().unwrap() - now_ms).abs() < 60_000);
    let body: Value = serde_json::from_slice(&got[0].body).unwrap();
    assert_eq!(
        body,
        json!({"msgtype": "text", "text": {"content": test_message("钉钉群")}})
    );

    let feishu_secret = "feishu-sign-secret";
    let feishu = add_channel(
        &app,
        &alice,
        &[
            ("kind", "feishu"),
            ("name", "飞书群"),
            ("url", &format!("{}/open-apis/bot/v2/hook/abc", hooks.uri())),
            ("secret", feishu_secret),
        ],
    )
    .await;
    test_ok(&app, &alice, feishu).await;
    let got = requests_to(&hooks, "/open-apis/bot/v2/hook/abc").await;
    let mut body: Value = serde_json::from_slice(&got[0].body).unwrap();
    let timestamp = body["timestamp"].take();
    let sign = body["sign"].take();
    let timestamp = timestamp.as_str().expect("timestamp as a string");
    let key = format!("{timestamp}\n{feishu_secret}");
    assert_eq!(
        sign.as_str().unwrap(),
        STANDARD.encode(hmac(key.as_bytes(), b"")),
        "Feishu sign"
    );
    assert_eq!(
        body,
        json!({"msg_type": "text", "content": {"text": test_message("飞书群")}, "timestamp": null, "sign": null})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wecom_telegram_bark_and_serverchan_get_their_formats() {
    let app = site().await;
    let hooks = MockServer::start().await;
    receiver(
        &hooks,
        "/cgi-bin/webhook/send",
        json!({"errcode": 0, "errmsg": "ok"}),
    )
    .await;
    receiver(
        &hooks,
        "/bot123456:ABC-def/sendMessage",
        json!({"ok": true, "result": {}}),
    )
    .await;
    receiver(
        &hooks,
        "/barkkey123",
        json!({"code": 200, "message": "success"}),
    )
    .await;
    receiver(&hooks, "/SCT0001.send", json!({"code": 0, "message": ""})).await;
    let alice = app.user("alice").await;
    let base = hooks.uri();

    let wecom = add_channel(
        &app,
        &alice,
        &[
            ("kind", "wecom"),
            ("name", "wecom"),
            ("url", &format!("{base}/cgi-bin/webhook/send?key=k1")),
        ],
    )
    .await;
    test_ok(&app, &alice, wecom).await;
    let body: Value =
        serde_json::from_slice(&requests_to(&hooks, "/cgi-bin/webhook/send").await[0].body)
            .unwrap();
    assert_eq!(
        body,
        json!({"msgtype": "text", "text": {"content": test_message("wecom")}})
    );

    let telegram = add_channel(
        &app,
        &alice,
        &[
            ("kind", "telegram"),
            ("name", "tg"),
            ("url", &base),
            ("secret", "123456:ABC-def"),
            ("chat_id", "-100200"),
        ],
    )
    .await;
    test_ok(&app, &alice, telegram).await;
    let body: Value = serde_json::from_slice(
        &requests_to(&hooks, "/bot123456:ABC-def/sendMessage").await[0].body,
    )
    .unwrap();
    assert_eq!(
        body,
        json!({"chat_id": "-100200", "text": test_message("tg"), "disable_web_page_preview": true})
    );

    let bark = add_channel(
        &app,
        &alice,
        &[
            ("kind", "bark"),
            ("name", "bark"),
            ("url", &format!("{base}/barkkey123")),
        ],
    )
    .await;
    test_ok(&app, &alice, bark).await;
    let body: Value =
        serde_json::from_slice(&requests_to(&hooks, "/barkkey123").await[0].body).unwrap();
    assert_eq!(
        body,
        json!({"title": "ModelScope 测试消息", "body": test_message("bark"), "group": "ModelScope"})
    );

    let server_chan = add_channel(
        &app,
        &alice,
        &[
            ("kind", "serverchan"),
            ("name", "sc"),
            ("url", &format!("{base}/SCT0001.send")),
        ],
    )
    .await;
    test_ok(&app, &alice, server_chan).await;
    let request = &requests_to(&hooks, "/SCT0001.send").await[0];
    let form: Vec<(String, String)> = form_urlencoded::parse(&request.body).into_owned().collect();
    assert_eq!(
        form,
        vec![
            ("title".into(), "ModelScope 测试消息".into()),
            ("desp".into(), test_message("sc"))
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_goes_through_smtp_with_its_credentials() {
    let app = site().await;
    let sink = SmtpSink::start().await;
    let alice = app.user("alice").await;
    let port = sink.port.to_string();
    let id = add_channel(
        &app,
        &alice,
        &[
            ("kind", "email"),
            ("name", "mail"),
            ("smtp_host", "127.0.0.1"),
            ("smtp_port", &port),
            ("smtp_tls", "none"),
            ("smtp_user", "alerts"),
            ("smtp_password", "smtp-pass-canary-77"),
            ("smtp_from", "alerts@example.com"),
            ("smtp_to", "me@example.com, ops@example.com"),
        ],
    )
    .await;
    test_ok(&app, &alice, id).await;
    let mails = sink.mails();
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert_eq!(mail.from, "alerts@example.com");
    assert_eq!(mail.to, vec!["me@example.com", "ops@example.com"]);
    assert_eq!(
        mail.auth,
        Some(("alerts".into(), "smtp-pass-canary-77".into()))
    );
    assert!(mail.data.contains("Subject: "), "{}", mail.data);
    assert_eq!(mail.text(), test_message("mail"));
    let page = alice.get("/channels").await.body;
    assert!(!page.contains("smtp-pass-canary-77"));
    assert!(page.contains("127.0.0.1:") && page.contains("me@example.com"));
}

/// A receiver on loopback, a private network or cloud metadata, as a webhook URL (a literal
/// address, a name that resolves there) or a mail server.
fn private_channels(hooks: &MockServer, smtp_port: u16) -> Vec<Vec<(&'static str, String)>> {
    let webhook = |name: &'static str, url: String| {
        vec![
            ("kind", "webhook".to_owned()),
            ("name", name.to_owned()),
            ("url", url),
        ]
    };
    vec![
        webhook("literal", format!("{}/hook", hooks.uri())),
        webhook(
            "by name",
            format!("http://localhost:{}/hook", hooks.address().port()),
        ),
        webhook(
            "metadata",
            "http://169.254.169.254/latest/meta-data".to_owned(),
        ),
        vec![
            ("kind", "email".to_owned()),
            ("name", "local mail".to_owned()),
            ("smtp_host", "127.0.0.1".to_owned()),
            ("smtp_port", smtp_port.to_string()),
            ("smtp_tls", "none".to_owned()),
            ("smtp_from", "a@example.com".to_owned()),
            ("smtp_to", "b@example.com".to_owned()),
        ],
    ]
}

fn borrowed<'a>(fields: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    fields.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_receiver_is_refused_when_saved_by_default() {
    // The default configuration: allow_private_webhooks = false.
    let app = TestApp::new().await;
    let hooks = MockServer::start().await;
    receiver(&hooks, "/hook", json!({})).await;
    let sink = SmtpSink::start().await;
    let alice = app.user("alice").await;
    for fields in private_channels(&hooks, sink.port) {
        let answer = alice.submit("/channels", &borrowed(&fields)).await;
        answer.assert_status(Status::UnprocessableEntity);
        let text = answer.text();
        assert!(
            text.contains("本机、局域网或云元数据") && text.contains("allow_private_webhooks"),
            "{fields:?}: {text}"
        );
        let field = if fields[0].1 == "email" {
            "smtp_host"
        } else {
            "url"
        };
        assert!(
            answer
                .body
                .contains(&format!("aria-describedby=\"{field}-error\"")),
            "the notice is tied to its field: {}",
            answer.body
        );
        assert!(
            answer.body.contains(&format!("value=\"{}\"", fields[1].1)),
            "the form keeps its name"
        );
    }
    let stored: i64 = app
        .db()
        .query_row("SELECT COUNT(*) FROM channels", [], |r| r.get(0))
        .unwrap();
    assert_eq!(stored, 0, "nothing refused is stored");
    assert!(requests_to(&hooks, "/hook").await.is_empty());
    assert!(sink.mails().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_that_does_not_resolve_is_kept_with_a_warning() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let answer = alice
        .submit(
            "/channels",
            &[
                ("kind", "webhook"),
                ("name", "later"),
                ("url", "https://receiver.invalid/hook"),
            ],
        )
        .await;
    assert_eq!(answer.status, Status::SeeOther, "{}", answer.body);
    let page = alice.get("/channels").await.text();
    assert!(
        page.contains("“later”已加密保存，但它的地址目前无法解析"),
        "{page}"
    );
    assert!(page.contains("receiver.invalid"), "{page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_receiver_saved_while_allowed_is_refused_at_send_time_once_disallowed() {
    // Saved while the operator allowed private receivers…
    let app = TestApp::new().await;
    let hooks = MockServer::start().await;
    receiver(&hooks, "/hook", json!({})).await;
    let sink = SmtpSink::start().await;
    let allowed = app
        .start_with(|c| c.merge(("allow_private_webhooks", true)))
        .await;
    let before = User::sign_up(allowed, "alice", app.database_path()).await;
    let mut ids = Vec::new();
    for fields in private_channels(&hooks, sink.port) {
        ids.push(add_channel(&app, &before, &borrowed(&fields)).await);
    }
    // …and sent to after the switch went back off: the guard checks every send.
    let alice = User::sign_in(app.start().await, "alice", app.database_path()).await;
    for id in ids {
        let answer = alice.submit(&format!("/channels/{id}/test"), &[]).await;
        answer.assert_status(Status::Ok);
        let text = answer.text();
        assert!(
            text.contains("发送失败") && text.contains("已拒绝"),
            "{id}: {text}"
        );
        let last = deliveries(&app.db(), alice.id).pop().unwrap();
        assert_eq!(
            (last.1.as_str(), last.5.as_deref()),
            ("failed", Some("refused_address")),
            "{id}"
        );
    }
    assert!(
        requests_to(&hooks, "/hook").await.is_empty(),
        "the loopback receiver was reached"
    );
    assert!(
        sink.mails().is_empty(),
        "the loopback mail server was reached"
    );
}

/// Collects every log line the app writes at any level.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut all) = self.0.lock() {
            all.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channel_secrets_stay_in_the_vault() {
    let logs = Captured::default();
    let writer = logs.clone();
    let _ = tracing::subscriber::set_global_default(
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish(),
    );
    let app = site().await;
    let hooks = MockServer::start().await;
    let token = "canarytoken0123456789abcdef";
    let secret = "SECcanarysecret9876543210";
    // The receiver echoes the token back in its refusal.
    Mock::given(method("POST"))
        .and(path("/robot/send"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"errcode": 300001, "errmsg": format!("token {token} and {secret} not valid")}),
        ))
        .mount(&hooks)
        .await;
    let points = mount_points(&app.upstream, 5.0).await;
    let alice = app.user("alice").await;
    let key = alice.add_key("main", KEY).await;
    let id = add_channel(
        &app,
        &alice,
        &[
            ("kind", "dingtalk"),
            ("name", "ding"),
            (
                "url",
                &format!("{}/robot/send?access_token={token}", hooks.uri()),
            ),
            ("secret", secret),
        ],
    )
    .await;
    let failed = alice.submit(&format!("/channels/{id}/test"), &[]).await;
    assert!(
        failed.text().contains("接收方拒绝了消息"),
        "{}",
        failed.text()
    );
    assert!(failed.text().contains("[redacted]"), "{}", failed.text());
    // An alert through it too.
    alice
        .submit(
            "/monitors",
            &[("key_id", &key.to_string()), ("every_minutes", "5")],
        )
        .await;
    let monitor = newest_monitor(&app.db(), alice.id);
    alice
        .submit(
            &format!("/monitors/{monitor}/rules"),
            &[
                ("condition", "points_below"),
                ("threshold", "10"),
                ("channel_id", &id.to_string()),
            ],
        )
        .await;
    alice.submit(&format!("/monitors/{monitor}/run"), &[]).await;
    wait_for_count(&app, "the alert", 2, || {
        deliveries(&app.db(), alice.id).len() as i64
    })
    .await;
    let _ = points;

    let mut seen = Vec::new();
    let confirm = format!("/channels/{id}/delete");
    for page in ["/channels", "/monitors", "/monitors/deliveries", &confirm] {
        let body = alice.get(page).await.body;
        seen.extend_from_slice(body.as_bytes());
    }
    seen.extend_from_slice(failed.body.as_bytes());
    for (what, haystack) in [
        ("the pages", seen),
        ("the database files", app.db_bytes()),
        ("the logs", logs.0.lock().unwrap().clone()),
    ] {
        for canary in [token, secret] {
            assert_no_trace(&haystack, canary, what);
        }
    }
    let page = String::from_utf8_lossy(&app.db_bytes()).into_owned();
    assert!(!page.contains(token));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_delivery_is_tried_three_times_with_growing_waits() {
    let app = site().await;
    let hooks = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/down"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&hooks)
        .await;
    mount_points(&app.upstream, 5.0).await;
    let alice = app.user("alice").await;
    let (channel, monitor) = hourly_monitor_with_webhook(&app, &alice, &hooks, "down").await;
    alice
        .submit(
            &format!("/monitors/{monitor}/rules"),
            &[
                ("condition", "points_below"),
                ("threshold", "10"),
                ("channel_id", &channel.to_string()),
            ],
        )
        .await;
    alice.submit(&format!("/monitors/{monitor}/run"), &[]).await;
    let tries = || deliveries(&app.db(), alice.id).first().map_or(0, |d| d.2);
    wait_for_count(&app, "the first try", 1, tries).await;
    stays(&app, "no second try before its wait", 1, tries).await;
    app.advance(Duration::from_secs(31)).await;
    wait_for_count(&app, "the second try after 30 s", 2, tries).await;
    app.advance(Duration::from_secs(60)).await;
    stays(&app, "the third waits 2 minutes", 2, tries).await;
    app.advance(Duration::from_secs(61)).await;
    wait_for_count(&app, "the third try", 3, tries).await;
    app.advance(Duration::from_secs(3600)).await;
    stays(&app, "three tries only", 3, tries).await;
    let logged = deliveries(&app.db(), alice.id);
    assert_eq!(
        (logged[0].1.as_str(), logged[0].5.as_deref()),
        ("failed", Some("http|503"))
    );
    assert_eq!(requests_to(&hooks, "/down").await.len(), 3);
    let page = alice.get("/monitors/deliveries").await.text();
    assert!(
        page.contains("接收方返回 HTTP 错误 (503)") && page.contains("失败"),
        "{page}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_takes_a_limited_number_of_messages_an_hour() {
    let app = TestApp::configured(|c| {
        c.merge(("allow_private_webhooks", true))
            .merge(("alerts_per_channel_per_hour", 1))
    })
    .await;
    let hooks = MockServer::start().await;
    receiver(&hooks, "/hook", json!({})).await;
    mount_points(&app.upstream, 5.0).await;
    let alice = app.user("alice").await;
    let (channel, monitor) = hourly_monitor_with_webhook(&app, &alice, &hooks, "hook").await;
    for threshold in ["10", "20"] {
        alice
            .submit(
                &format!("/monitors/{monitor}/rules"),
                &[
                    ("condition", "points_below"),
                    ("threshold", threshold),
                    ("channel_id", &channel.to_string()),
                ],
            )
            .await
            .assert_redirect_to("/monitors");
    }
    alice.submit(&format!("/monitors/{monitor}/run"), &[]).await;
    wait_for_count(&app, "two alerts logged", 2, || {
        deliveries(&app.db(), alice.id).len() as i64
    })
    .await;
    wait_for_count(&app, "one sent", 1, || {
        deliveries(&app.db(), alice.id)
            .iter()
            .filter(|d| d.1 == "sent")
            .count() as i64
    })
    .await;
    let statuses: Vec<String> = deliveries(&app.db(), alice.id)
        .into_iter()
        .map(|d| d.1)
        .collect();
    assert_eq!(statuses, vec!["sent", "held"]);
    assert_eq!(requests_to(&hooks, "/hook").await.len(), 1);
    assert!(
        alice
            .get("/monitors/deliveries")
            .await
            .text()
            .contains("超出每小时上限")
    );
}

#[tokio::test]
async fn bad_channels_are_refused_with_words_and_nothing_echoes_a_secret() {
    let app = site().await;
    let alice = app.user("alice").await;
    for (fields, words) in [
        (vec![("kind", "pager"), ("name", "x")], "请选择渠道类型"),
        (vec![("kind", "webhook"), ("name", "")], "请填写渠道名称"),
        (vec![("kind", "webhook"), ("name", "x")], "Webhook 地址"),
        (
            vec![
                ("kind", "webhook"),
                ("name", "x"),
                ("url", "ftp://a/secret-url-canary"),
            ],
            "地址无效",
        ),
        (
            vec![("kind", "telegram"), ("name", "x"), ("secret", "1:abc")],
            "chat_id",
        ),
        (
            vec![
                ("kind", "email"),
                ("name", "x"),
                ("smtp_host", "smtp.example.com"),
                ("smtp_from", "a@example.com"),
                ("smtp_to", "nobody"),
            ],
            "收件地址",
        ),
    ] {
        let answer = alice.submit("/channels", &fields).await;
        answer.assert_client_error();
        let error = crate::harness::html::form_error(&answer.body).unwrap_or_default();
        assert!(error.contains(words), "{fields:?}: {error}");
        assert!(!answer.body.contains("secret-url-canary"));
    }
    // Each refusal points at the field to fix.
    for (fields, field) in [
        (vec![("kind", "pager"), ("name", "x")], "kind"),
        (vec![("kind", "webhook"), ("name", "")], "name"),
        (
            vec![("kind", "webhook"), ("name", "x"), ("url", "ftp://a")],
            "url",
        ),
        (
            vec![("kind", "telegram"), ("name", "x"), ("secret", "1:abc")],
            "chat_id",
        ),
    ] {
        let answer = alice.submit("/channels", &fields).await;
        assert!(
            crate::harness::html::error_tied_to(&answer.body, field),
            "{fields:?} not tied to {field}: {}",
            answer.body
        );
    }
    add_channel(
        &app,
        &alice,
        &[
            ("kind", "wecom"),
            ("name", "dup"),
            (
                "url",
                "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=1",
            ),
        ],
    )
    .await;
    alice
        .submit(
            "/channels",
            &[
                ("kind", "wecom"),
                ("name", "DUP"),
                ("url", "https://qyapi.weixin.qq.com/x"),
            ],
        )
        .await
        .assert_status(Status::Conflict);
}

/// Issue 11, safe actions: deleting a channel asks first on a page that names it by its name and
/// kind (never its address or secret, here canaries), changes nothing, and posts the real delete;
/// the notice names it; the rules that sent to it go with it. Another user's id is a 404.
#[tokio::test]
async fn deleting_a_channel_asks_first_and_never_shows_its_secrets() {
    let app = site().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let token = "confirmcanarytoken5566778899";
    let secret = "SECconfirmcanary1122334455";
    let id = add_channel(
        &app,
        &alice,
        &[
            ("kind", "dingtalk"),
            ("name", "值班群"),
            (
                "url",
                &format!("http://127.0.0.1:9/robot/send?access_token={token}"),
            ),
            ("secret", secret),
        ],
    )
    .await;
    let key = alice.add_key("main", KEY).await;
    alice
        .submit(
            "/monitors",
            &[("key_id", &key.to_string()), ("every_minutes", "60")],
        )
        .await
        .assert_redirect_to("/monitors");
    let monitor = newest_monitor(&app.db(), alice.id);
    alice
        .submit(
            &format!("/monitors/{monitor}/rules"),
            &[
                ("condition", "key_invalid"),
                ("channel_id", &id.to_string()),
            ],
        )
        .await
        .assert_redirect_to("/monitors");
    let count = |sql: &str| -> i64 { app.db().query_row(sql, [], |r| r.get(0)).unwrap() };
    let stored = || {
        (
            count("SELECT count(*) FROM channels"),
            count("SELECT count(*) FROM alert_rules"),
        )
    };

    let list = alice.get("/channels").await.body;
    assert!(
        list.contains(&format!("href=\"/channels/{id}/delete\"")),
        "{list}"
    );
    assert!(!list.contains(&format!("action=\"/channels/{id}/delete\"")));

    let path = format!("/channels/{id}/delete");
    let asked = alice.get(&path).await;
    asked.assert_status(Status::Ok);
    let text = asked.text();
    assert!(
        text.contains("删除通知渠道？") && text.contains("值班群 (钉钉机器人)"),
        "{text}"
    );
    assert!(asked.body.contains(&format!("action=\"{path}\"")));
    assert!(asked.body.contains(&alice.csrf));
    for canary in [token, secret] {
        assert_no_trace(asked.body.as_bytes(), canary, "the confirmation page");
    }
    assert!(
        !asked.body.contains("127.0.0.1"),
        "the address: {}",
        asked.body
    );
    assert_eq!(stored(), (1, 1), "opening the confirmation changed nothing");

    bob.get(&path).await.assert_status(Status::NotFound);
    bob.submit(&path, &[]).await.assert_status(Status::NotFound);
    alice
        .get("/channels/999999/delete")
        .await
        .assert_status(Status::NotFound);
    alice
        .get("/channels/abc/delete")
        .await
        .assert_client_error();
    assert_eq!(stored(), (1, 1));

    alice
        .submit(&path, &[])
        .await
        .assert_redirect_to("/channels");
    let after = alice.get("/channels").await;
    assert!(
        after
            .text()
            .contains("通知渠道「值班群 (钉钉机器人)」已删除"),
        "{}",
        after.text()
    );
    for canary in [token, secret] {
        assert_no_trace(after.body.as_bytes(), canary, "the page after deleting");
    }
    assert_eq!(stored(), (0, 0), "the channel and the rule that used it");
    alice.get(&path).await.assert_status(Status::NotFound);
}

/// `data-when="name:a,b"` in a form shows a part only for those values of `name` (assets/app.js):
/// each value must be one the form's control can have, or the part would never show.
#[test]
fn every_part_shown_for_a_choice_names_a_value_of_that_choice() {
    use modelscope_balance::db::alert_rules::Condition;
    use modelscope_balance::notify::Kind;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    let mut seen = 0;
    for file in ["channels.html", "monitors.html", "query.html"] {
        let text = std::fs::read_to_string(root.join(file)).unwrap();
        for part in text.split("data-when=\"").skip(1) {
            let when = &part[..part.find('"').unwrap()];
            let (name, values) = when.split_once(':').expect("name:values");
            for value in values.split(',') {
                let known = match name {
                    "kind" => Kind::parse(value).is_some(),
                    "condition" => Condition::parse(value).is_some(),
                    "key_id" => value.is_empty(),
                    other => panic!("{file}: data-when on an unknown control {other}"),
                };
                assert!(known, "{file}: {name} has no value {value:?}");
                seen += 1;
            }
        }
    }
    assert!(seen >= 20, "only {seen} values found");
}
