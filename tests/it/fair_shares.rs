//! Issue 19, "Fair shares and abuse limits": each finding of the review, held by a test that
//! fails on the code before the fix. The scheduler's clock is moved, never slept on; the order
//! work is claimed in is read from the database, not from wall time.

use std::time::Duration;

use rocket::http::Status;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::harness::monitoring::{
    deliveries, mount_points, mount_shuttered_balance, newest_channel, newest_monitor,
    schedule_runs, stays, wait_for_count,
};
use crate::harness::smtp::SmtpSink;
use crate::harness::upstream::{balance_for_key, calls_with_key, mount_balance};
use crate::harness::{TestApp, User, eventually, eventually_async};

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

/// Whether adding a channel with `fields` is refused (422) with words naming
/// `allow_private_webhooks`, and nothing is stored.
async fn refused_as_private(app: &TestApp, user: &User, fields: &[(&str, &str)], what: &str) {
    let before = app
        .db()
        .query_row(
            "SELECT count(*) FROM channels WHERE user_id = ?1",
            [user.id],
            |r| r.get::<_, i64>(0),
        )
        .unwrap();
    let answer = user.submit("/channels", fields).await;
    answer.assert_status(Status::UnprocessableEntity);
    assert!(
        answer.text().contains("allow_private_webhooks"),
        "{what}: {}",
        answer.text()
    );
    let after = app
        .db()
        .query_row(
            "SELECT count(*) FROM channels WHERE user_id = ?1",
            [user.id],
            |r| r.get::<_, i64>(0),
        )
        .unwrap();
    assert_eq!(before, after, "{what} was stored");
}

/// Item 6: every IPv6 form that carries a loopback IPv4 address is refused, for a webhook and
/// for a mail server alike (when the channel is saved; the guard judges the same way at every
/// send, `notify::guard::tests`), and nothing reaches the receivers. Before, SIIT, 6to4 and
/// Teredo addresses counted as public.
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
        let hook_name = format!("hook {name}");
        let url = format!("http://[{address}]:{port}/hook");
        refused_as_private(
            &app,
            &alice,
            &[("kind", "webhook"), ("name", &hook_name), ("url", &url)],
            &format!("a webhook to {address}"),
        )
        .await;
        let mail_name = format!("mail {name}");
        let sink_port = sink.port.to_string();
        refused_as_private(
            &app,
            &alice,
            &[
                ("kind", "email"),
                ("name", &mail_name),
                ("smtp_host", address),
                ("smtp_port", &sink_port),
                ("smtp_tls", "starttls"),
                ("smtp_user", "alerts"),
                ("smtp_password", "a-long-password"),
                ("smtp_from", "alerts@example.com"),
                ("smtp_to", "me@example.com"),
            ],
            &format!("a mail server at {address}"),
        )
        .await;
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

/// Adds a webhook channel `name` posting to `<server>/<name>`.
async fn webhook(app: &TestApp, user: &User, server: &MockServer, name: &str) -> i64 {
    add_channel(
        app,
        user,
        &[
            ("kind", "webhook"),
            ("name", name),
            ("url", &format!("{}/{name}", server.uri())),
        ],
    )
    .await
}

/// A receiver at `<server>/<name>` that answers 200 at once.
async fn answering(server: &MockServer, name: &str) {
    Mock::given(method("POST"))
        .and(path(format!("/{name}")))
        .respond_with(ResponseTemplate::new(200))
        .mount(server)
        .await;
}

/// The user's logged test messages.
fn logged_tests(app: &TestApp, user: &User) -> usize {
    deliveries(&app.db(), user.id)
        .iter()
        .filter(|d| d.0 == "test")
        .count()
}

/// Item 2: a hundred "send a test" at once (two channels) send at most the user's five a
/// minute; every other answer is a 429 with `Retry-After` and words saying which limit held
/// it back. Before, all hundred were sent and logged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_tests_at_once_are_throttled() {
    let app = TestApp::configured(|c| c.merge(("allow_private_webhooks", true))).await;
    let hooks = MockServer::start().await;
    answering(&hooks, "one").await;
    answering(&hooks, "two").await;
    let alice = app.user("alice").await;
    let one = webhook(&app, &alice, &hooks, "one").await;
    let two = webhook(&app, &alice, &hooks, "two").await;
    let (one, two) = (
        format!("/channels/{one}/test"),
        format!("/channels/{two}/test"),
    );
    let answers = futures::future::join_all(
        (0..100).map(|i| alice.submit(if i % 2 == 0 { &one } else { &two }, &[])),
    )
    .await;
    let sent = answers.iter().filter(|a| a.status == Status::Ok).count();
    let received = hooks.received_requests().await.unwrap_or_default().len();
    assert!((1..=5).contains(&sent), "{sent} tests went out at once");
    assert_eq!(received, sent);
    assert_eq!(
        logged_tests(&app, &alice),
        sent,
        "refused tests are not logged"
    );
    for answer in answers.iter().filter(|a| a.status != Status::Ok) {
        answer.assert_status(Status::TooManyRequests);
        let wait: i64 = answer
            .header("Retry-After")
            .and_then(|s| s.parse().ok())
            .expect("a Retry-After in seconds");
        assert!((1..=60).contains(&wait), "Retry-After: {wait}");
        let text = answer.text();
        assert!(
            text.contains("每分钟最多发送 5 条测试消息")
                || text.contains("正有一条消息在发送")
                || text.contains("你同时发送的消息已达上限"),
            "{text}"
        );
    }
}

/// Sends a test to channel `id`: its status, `Retry-After` and words.
async fn try_test(user: &User, id: i64) -> (Status, Option<i64>, String) {
    let answer = user.submit(&format!("/channels/{id}/test"), &[]).await;
    let wait = answer.header("Retry-After").and_then(|s| s.parse().ok());
    (answer.status, wait, answer.text())
}

/// Item 2: tests are throttled per user (five a minute, here twelve an hour) and count toward
/// their channel's hourly cap (ten); each refusal says which limit and for how long, and the
/// clock moving on lets tests through again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tests_are_throttled_per_user_and_count_toward_the_channels_cap() {
    let app = TestApp::configured(|c| {
        c.merge(("allow_private_webhooks", true))
            .merge(("channel_tests_per_hour", 12))
    })
    .await;
    let hooks = MockServer::start().await;
    answering(&hooks, "a").await;
    answering(&hooks, "b").await;
    let alice = app.user("alice").await;
    let (a, b) = (
        webhook(&app, &alice, &hooks, "a").await,
        webhook(&app, &alice, &hooks, "b").await,
    );
    for _ in 0..5 {
        assert_eq!(try_test(&alice, a).await.0, Status::Ok);
    }
    let (status, wait, text) = try_test(&alice, b).await;
    assert_eq!(status, Status::TooManyRequests, "{text}");
    assert!(wait.is_some_and(|w| (1..=60).contains(&w)), "{wait:?}");
    assert!(text.contains("每分钟最多发送 5 条测试消息"), "{text}");

    app.advance(Duration::from_secs(61)).await;
    for _ in 0..5 {
        assert_eq!(try_test(&alice, a).await.0, Status::Ok);
    }
    app.advance(Duration::from_secs(61)).await;
    let (status, wait, text) = try_test(&alice, a).await;
    assert_eq!(status, Status::TooManyRequests, "{text}");
    assert!(wait.is_some_and(|w| w > 3000), "{wait:?}");
    assert!(text.contains("本小时已发送 10 条消息"), "{text}");

    assert_eq!(try_test(&alice, b).await.0, Status::Ok);
    assert_eq!(try_test(&alice, b).await.0, Status::Ok);
    let (status, wait, text) = try_test(&alice, b).await;
    assert_eq!(status, Status::TooManyRequests, "{text}");
    assert!(wait.is_some_and(|w| w > 3000), "{wait:?}");
    assert!(text.contains("每小时最多发送 12 条测试消息"), "{text}");
    assert_eq!(logged_tests(&app, &alice), 12);

    app.advance(Duration::from_secs(3600)).await;
    assert_eq!(try_test(&alice, b).await.0, Status::Ok);
}

/// Item 2: the delivery log keeps each user's newest rows (here 100), as well as none older
/// than 30 days. Before, a user's log grew without bound within the 30 days.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_delivery_log_keeps_a_users_newest_rows() {
    let app = TestApp::configured(|c| {
        c.merge(("allow_private_webhooks", true))
            .merge(("deliveries_kept_per_user", 100))
    })
    .await;
    let hooks = MockServer::start().await;
    answering(&hooks, "hook").await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let id = webhook(&app, &alice, &hooks, "hook").await;
    let bobs = webhook(&app, &bob, &hooks, "hook").await;
    let seed = |user: i64, channel: i64, rows: i64| {
        app.db()
            .execute(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?3)
                 INSERT INTO deliveries (user_id, channel_id, channel_name, channel_kind, event,
                     payload, message, status, attempts, max_attempts, created_at, sent_at)
                 SELECT ?1, ?2, 'hook', 'webhook', 'alert', '{}', 'old ' || i, 'sent', 1, 3,
                        strftime('%s', 'now') - 86400 + i, strftime('%s', 'now') - 86400 + i
                 FROM n",
                rusqlite::params![user, channel, rows],
            )
            .unwrap()
    };
    seed(alice.id, id, 150);
    seed(bob.id, bobs, 20);
    assert_eq!(try_test(&alice, id).await.0, Status::Ok);
    let kept = deliveries(&app.db(), alice.id);
    assert_eq!(kept.len(), 100);
    assert_eq!(
        kept.last().map(|d| d.0.as_str()),
        Some("test"),
        "the newest is kept"
    );
    assert_eq!(kept[0].3, "old 52", "the oldest went first");
    assert_eq!(
        deliveries(&app.db(), bob.id).len(),
        20,
        "another user's log is theirs"
    );
}

/// A 5-minute free check of `key` with a `points_below 10` rule to each of `channels`.
async fn watched(app: &TestApp, user: &User, key: &str, channels: &[i64]) -> i64 {
    let key = user.add_key("main", key).await;
    user.submit(
        "/monitors",
        &[("key_id", &key.to_string()), ("every_minutes", "5")],
    )
    .await
    .assert_redirect_to("/monitors");
    let monitor = newest_monitor(&app.db(), user.id);
    for channel in channels {
        user.submit(
            &format!("/monitors/{monitor}/rules"),
            &[
                ("condition", "points_below"),
                ("threshold", "10"),
                ("channel_id", &channel.to_string()),
            ],
        )
        .await
        .assert_redirect_to("/monitors");
    }
    monitor
}

/// Item 2: one user's ten webhooks point at a listener that never answers (each attempt hangs
/// for the whole 30-second timeout); their alerts hold only that user's share of the sending
/// slots (two), and another user's alert goes out at once. Before, the ten took all eight
/// slots and the other alert waited for the timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_receiver_delays_only_its_owner() {
    let app = TestApp::configured(|c| {
        c.merge(("allow_private_webhooks", true))
            .merge(("notify_timeout_secs", 30))
    })
    .await;
    let dead = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(120)))
        .mount(&dead)
        .await;
    let live = MockServer::start().await;
    answering(&live, "alice").await;
    mount_points(&app.upstream, 5.0).await;

    let mallory = app.user("mallory").await;
    let mut hooks = Vec::new();
    for i in 0..10 {
        hooks.push(webhook(&app, &mallory, &dead, &format!("dead{i}")).await);
    }
    let flood = watched(
        &app,
        &mallory,
        "ms-aaaaaaaa-1111-4222-8333-444455556666",
        &hooks,
    )
    .await;
    let alice = app.user("alice").await;
    let hook = webhook(&app, &alice, &live, "alice").await;
    let hers = watched(
        &app,
        &alice,
        "ms-bbbbbbbb-1111-4222-8333-444455556666",
        &[hook],
    )
    .await;

    mallory.submit(&format!("/monitors/{flood}/run"), &[]).await;
    let logged = eventually(Duration::from_secs(30), || {
        deliveries(&app.db(), mallory.id).len() == 10
    })
    .await;
    assert!(logged, "all ten alerts are logged");
    let count = || async { dead.received_requests().await.unwrap_or_default().len() };
    let reached = eventually_async(Duration::from_secs(30), async || count().await >= 2).await;
    assert!(reached, "mallory's first two alerts reach her receiver");
    // A pass after both went out claims whatever else may go: nothing of hers.
    app.look().await;
    assert_eq!(
        sending(&app, mallory.id),
        2,
        "mallory's alerts hold only her share of the sending slots"
    );
    assert_eq!(count().await, 2);

    let asked = std::time::Instant::now();
    alice.submit(&format!("/monitors/{hers}/run"), &[]).await;
    let sent = eventually(Duration::from_secs(15), || {
        deliveries(&app.db(), alice.id)
            .iter()
            .any(|d| d.1 == "sent")
    })
    .await;
    assert!(sent, "alice's alert waited behind mallory's dead receivers");
    assert!(
        asked.elapsed() < Duration::from_secs(15),
        "{:?}",
        asked.elapsed()
    );
    assert_eq!(live.received_requests().await.unwrap_or_default().len(), 1);
    assert_eq!(count().await, 2, "still only two of mallory's attempts");
}

/// The user's deliveries being tried now (claimed, their turn held).
fn sending(app: &TestApp, user_id: i64) -> i64 {
    app.db()
        .query_row(
            "SELECT count(*) FROM deliveries WHERE user_id = ?1 AND status = 'pending'
               AND sending_until IS NOT NULL",
            [user_id],
            |r| r.get(0),
        )
        .unwrap()
}

/// The user's monitors running now (leased).
fn running(app: &TestApp, user_id: i64) -> i64 {
    app.db()
        .query_row(
            "SELECT count(*) FROM monitors WHERE user_id = ?1 AND lease_until IS NOT NULL",
            [user_id],
            |r| r.get(0),
        )
        .unwrap()
}

/// A free check every `every` minutes of the user's key `key_id`; answers the monitor.
async fn check_monitor(app: &TestApp, user: &User, key_id: i64, every: &str) -> i64 {
    user.submit(
        "/monitors",
        &[("key_id", &key_id.to_string()), ("every_minutes", every)],
    )
    .await
    .assert_redirect_to("/monitors");
    newest_monitor(&app.db(), user.id)
}

/// Whether monitor `id` has run (its last run recorded).
fn has_run(app: &TestApp, id: i64) -> bool {
    app.db()
        .query_row(
            "SELECT last_run_at IS NOT NULL FROM monitors WHERE id = ?1",
            [id],
            |r| r.get(0),
        )
        .unwrap()
}

const MALLORY_KEY: &str = "ms-aaaaaaaa-1111-4222-8333-444455556666";
const ALICE_KEY: &str = "ms-bbbbbbbb-1111-4222-8333-444455556666";

/// Item 1: a user whose six monitors are due at once, each a free check that hangs upstream,
/// and who keeps asking to run them now, holds one of the scheduler's slots (their share);
/// another user's monitor that comes due after them is claimed at its slot, before the rest of
/// the hammering user's. Before, the hammering user's due runs took every slot of both
/// servers and the other monitor waited until they timed out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hammering_user_cannot_hold_up_another_users_monitor() {
    let app = TestApp::configured(|c| {
        c.merge(("scheduler_concurrency", 2))
            .merge(("upstream_timeout_secs", 300))
    })
    .await;
    balance_for_key(MALLORY_KEY)
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(600)))
        .mount(&app.upstream)
        .await;
    mount_balance(&app.upstream).await;
    let mallory = app.user("mallory").await;
    let alice = app.user("alice").await;
    let key = mallory.add_key("main", MALLORY_KEY).await;
    let mut flood = Vec::new();
    for _ in 0..6 {
        flood.push(check_monitor(&app, &mallory, key, "5").await);
    }
    // Her runs hang upstream, so the schedulers never settle: move the clock and wait for a
    // pass instead.
    app.clock.advance(Duration::from_secs(61));
    app.look().await;
    let hers_held = || async { calls_with_key(&app.upstream, MALLORY_KEY).await };
    let reached = eventually_async(Duration::from_secs(30), async || hers_held().await >= 1).await;
    assert!(reached, "mallory's first run reaches the upstream");
    app.look().await;
    assert_eq!(
        running(&app, mallory.id),
        1,
        "mallory's runs hold only her share of the slots"
    );
    assert_eq!(hers_held().await, 1);
    // Hammering "run now": her monitors are queued (due) or running, so nothing changes.
    for _ in 0..3 {
        for id in &flood {
            let answer = mallory.submit(&format!("/monitors/{id}/run"), &[]).await;
            answer.assert_redirect_to("/monitors");
        }
    }
    let queued = mallory.get("/monitors").await.text();
    assert!(
        queued.contains("这个监控已在等待运行") || queued.contains("这个监控正在运行"),
        "{queued}"
    );

    let key = alice.add_key("main", ALICE_KEY).await;
    let hers = check_monitor(&app, &alice, key, "5").await;
    app.clock.advance(Duration::from_secs(61));
    app.look().await;
    let ran = eventually(Duration::from_secs(15), || has_run(&app, hers)).await;
    assert!(ran, "alice's monitor waited behind mallory's");
    assert_eq!(schedule_runs(&app.db(), alice.id), 1);
    let waiting = flood.iter().filter(|id| !has_run(&app, **id)).count();
    assert_eq!(
        waiting, 6,
        "none of mallory's has finished: hers went first"
    );
    app.look().await;
    assert_eq!(
        running(&app, mallory.id),
        1,
        "still one of mallory's at a time"
    );
    assert_eq!(hers_held().await, 1);
}

/// Item 1: "run now" is limited per monitor (here 2 an hour) and per user (3 an hour),
/// answered 429 with `Retry-After` and words; asked twice at once, it runs once and counts
/// once (the second is a no-op); an hour later it is allowed again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_now_is_limited_per_monitor_and_per_user() {
    let app = TestApp::configured(|c| {
        c.merge(("run_now_per_monitor_per_hour", 2))
            .merge(("run_now_per_user_per_hour", 3))
    })
    .await;
    let upstream = mount_shuttered_balance(&app.upstream).await;
    let alice = app.user("alice").await;
    let key = alice.add_key("main", ALICE_KEY).await;
    let one = check_monitor(&app, &alice, key, "60").await;
    let two = check_monitor(&app, &alice, key, "60").await;
    let runs = || schedule_runs(&app.db(), alice.id);
    app.advance(Duration::from_secs(61)).await;
    wait_for_count(&app, "the first runs", 2, runs).await;

    // Two clicks at once: the run the first asks for cannot finish before the second is
    // answered (its balance read waits), so the second finds it queued or running.
    let uri = format!("/monitors/{one}/run");
    upstream.shut();
    let (first, second) = futures::join!(alice.submit(&uri, &[]), alice.submit(&uri, &[]));
    upstream.open();
    first.assert_redirect_to("/monitors");
    second.assert_redirect_to("/monitors");
    wait_for_count(&app, "one run for two clicks", 3, runs).await;
    stays(&app, "only one", 3, runs).await;

    let run = |id: i64| {
        let alice = &alice;
        async move { alice.submit(&format!("/monitors/{id}/run"), &[]).await }
    };
    run(one).await.assert_redirect_to("/monitors");
    wait_for_count(&app, "the second run now", 4, runs).await;
    let refused = run(one).await;
    refused.assert_status(Status::TooManyRequests);
    let wait: i64 = refused
        .header("Retry-After")
        .and_then(|s| s.parse().ok())
        .expect("Retry-After");
    assert!((3000..=3600).contains(&wait), "Retry-After: {wait}");
    assert!(
        refused.text().contains("每个监控每小时最多立即运行 2 次"),
        "{}",
        refused.text()
    );

    run(two).await.assert_redirect_to("/monitors");
    wait_for_count(&app, "the other monitor's", 5, runs).await;
    let refused = run(two).await;
    refused.assert_status(Status::TooManyRequests);
    assert!(refused.header("Retry-After").is_some());
    assert!(
        refused.text().contains("每小时最多立即运行监控 3 次"),
        "{}",
        refused.text()
    );
    stays(&app, "nothing refused ran", 5, runs).await;

    app.advance(Duration::from_secs(3600)).await;
    wait_for_count(&app, "the hourly runs", 7, runs).await;
    run(one).await.assert_redirect_to("/monitors");
    wait_for_count(&app, "allowed again an hour on", 8, runs).await;
}

/// Item 1: what one user may have is limited by the configuration (keys, monitors, keys per
/// monitor, alert rules, channels), each refused with words that name the limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_user_limits_refuse_with_words() {
    let app = TestApp::configured(|c| {
        c.merge(("allow_private_webhooks", true))
            .merge(("max_keys_per_user", 2))
            .merge(("max_monitors_per_user", 1))
            .merge(("max_keys_per_monitor", 1))
            .merge(("max_rules_per_user", 1))
            .merge(("max_channels_per_user", 1))
    })
    .await;
    let hooks = MockServer::start().await;
    let alice = app.user("alice").await;
    let one = alice.add_key("one", MALLORY_KEY).await;
    let two = alice.add_key("two", ALICE_KEY).await;
    let refused = alice
        .submit(
            "/keys",
            &[
                ("label", "three"),
                ("api_key", "ms-cccccccc-1111-4222-8333-444455556666"),
            ],
        )
        .await;
    assert_eq!(refused.status, Status::Conflict, "{}", refused.text());
    assert!(
        refused.text().contains("API Key 数量已达上限（2 个）"),
        "{}",
        refused.text()
    );

    let refused = alice
        .submit(
            "/monitors",
            &[
                ("key_id", &one.to_string()),
                ("key_id", &two.to_string()),
                ("every_minutes", "5"),
            ],
        )
        .await;
    refused.assert_client_error();
    assert!(
        refused.text().contains("一个监控最多 1 个 Key"),
        "{}",
        refused.text()
    );
    let monitor = check_monitor(&app, &alice, one, "5").await;
    let refused = alice
        .submit(
            "/monitors",
            &[("key_id", &two.to_string()), ("every_minutes", "5")],
        )
        .await;
    assert_eq!(refused.status, Status::Conflict);
    assert!(
        refused.text().contains("监控数量已达上限（1 个）"),
        "{}",
        refused.text()
    );

    let channel = webhook(&app, &alice, &hooks, "hook").await;
    let refused = alice
        .submit(
            "/channels",
            &[
                ("kind", "webhook"),
                ("name", "more"),
                ("url", &format!("{}/more", hooks.uri())),
            ],
        )
        .await;
    assert_eq!(refused.status, Status::Conflict);
    assert!(
        refused.text().contains("通知渠道数量已达上限（1 个）"),
        "{}",
        refused.text()
    );

    let rule = |threshold: &'static str| {
        let alice = &alice;
        let channel = channel.to_string();
        async move {
            alice
                .submit(
                    &format!("/monitors/{monitor}/rules"),
                    &[
                        ("condition", "points_below"),
                        ("threshold", threshold),
                        ("channel_id", &channel),
                    ],
                )
                .await
        }
    };
    rule("10").await.assert_redirect_to("/monitors");
    let refused = rule("20").await;
    assert_eq!(refused.status, Status::Conflict);
    assert!(
        refused.text().contains("告警规则数量已达上限（1 条）"),
        "{}",
        refused.text()
    );
}
