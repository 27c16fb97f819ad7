//! The scheduler as a whole: alerts fire once when a condition starts and once when it clears,
//! a restart resumes without duplicate runs (missed slots run once), two servers on one
//! database never run one monitor twice, probes see models that are gone, daily summaries, a
//! failing monitor backs off, messages link to the app when `public_url` is set.

use std::time::Duration;

use rocket::http::Status;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use modelscope_balance::clock::Clock;

use crate::harness::monitoring::{
    deliveries, mount_points, newest_channel, newest_monitor, schedule_runs, stays, wait_for_count,
};
use crate::harness::upstream::{
    MODEL_A, MODEL_B, QUOTA_A, any_chat, calls_mentioning, chat, error_body, held_calls,
    mount_balance, ok_with_quota,
};
use crate::harness::users::{add_key, signed_up};
use crate::harness::{TestApp, User};

const KEY: &str = "ms-d1d1d1d1-1111-4222-8333-44445555abcd";
const MINUTE: Duration = Duration::from_secs(60);

async fn site() -> TestApp {
    TestApp::configured(|c| c.merge(("allow_private_webhooks", true))).await
}

async fn hook(app: &TestApp, user: &User, hooks: &MockServer) -> i64 {
    Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(ResponseTemplate::new(200))
        .mount(hooks)
        .await;
    user.submit(
        "/channels",
        &[
            ("kind", "webhook"),
            ("name", "hook"),
            ("url", &format!("{}/hook", hooks.uri())),
        ],
    )
    .await
    .assert_redirect_to("/channels");
    newest_channel(&app.db(), user.id)
}

async fn rule(user: &User, monitor: i64, fields: &[(&str, &str)]) {
    user.submit(&format!("/monitors/{monitor}/rules"), fields)
        .await
        .assert_redirect_to("/monitors");
}

/// A 5-minute free check of KEY (saved as 主账号) with a `points_below 20` rule to a webhook
/// on `hooks`; answers the channel and the monitor.
async fn points_below_20(app: &TestApp, user: &User, hooks: &MockServer) -> (String, i64) {
    let key = user.add_key("主账号", KEY).await;
    let channel = hook(app, user, hooks).await.to_string();
    user.submit(
        "/monitors",
        &[("key_id", &key.to_string()), ("every_minutes", "5")],
    )
    .await
    .assert_redirect_to("/monitors");
    let monitor = newest_monitor(&app.db(), user.id);
    rule(
        user,
        monitor,
        &[
            ("condition", "points_below"),
            ("threshold", "20"),
            ("channel_id", &channel),
        ],
    )
    .await;
    (channel, monitor)
}

async fn hook_bodies(hooks: &MockServer) -> Vec<Value> {
    hooks
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path() == "/hook")
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_fires_once_when_it_starts_and_once_when_it_clears() {
    let app = site().await;
    let hooks = MockServer::start().await;
    let points = mount_points(&app.upstream, 240.5).await;
    let alice = app.user("alice").await;
    let (channel, monitor) = points_below_20(&app, &alice, &hooks).await;
    rule(
        &alice,
        monitor,
        &[("condition", "key_invalid"), ("channel_id", &channel)],
    )
    .await;
    let runs = || schedule_runs(&app.db(), alice.id);
    let sent = || deliveries(&app.db(), alice.id).len() as i64;

    app.advance(MINUTE).await;
    wait_for_count(&app, "run 1", 1, runs).await;
    stays(&app, "healthy: nothing to say", 0, sent).await;

    points.set(12.0);
    app.advance(5 * MINUTE).await;
    wait_for_count(&app, "run 2", 2, runs).await;
    wait_for_count(&app, "the alert", 1, sent).await;
    for n in 3..=4 {
        app.advance(5 * MINUTE).await;
        wait_for_count(&app, "a run while still low", n, runs).await;
    }
    stays(&app, "no repeat while it holds", 1, sent).await;

    points.set(30.0);
    app.advance(5 * MINUTE).await;
    wait_for_count(&app, "run 5", 5, runs).await;
    wait_for_count(&app, "the recovery", 2, sent).await;
    app.advance(5 * MINUTE).await;
    wait_for_count(&app, "run 6", 6, runs).await;
    stays(&app, "no repeat after it cleared", 2, sent).await;

    // The key stops working, then works again.
    points.fail(401);
    app.advance(5 * MINUTE).await;
    wait_for_count(&app, "key refused", 3, sent).await;
    app.advance(5 * MINUTE).await;
    wait_for_count(&app, "run 8", 8, runs).await;
    stays(&app, "once", 3, sent).await;
    points.set(30.0);
    app.advance(10 * MINUTE).await;
    wait_for_count(&app, "key back", 4, sent).await;

    wait_for_count(&app, "all four delivered", 4, || {
        deliveries(&app.db(), alice.id)
            .iter()
            .filter(|d| d.1 == "sent")
            .count() as i64
    })
    .await;
    let bodies = hook_bodies(&hooks).await;
    let events: Vec<(&str, &str)> = bodies
        .iter()
        .map(|b| {
            (
                b["event"].as_str().unwrap(),
                b["condition"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        events,
        vec![
            ("alert", "points_below"),
            ("recovered", "points_below"),
            ("alert", "key_invalid"),
            ("recovered", "key_invalid"),
        ]
    );
    let alert = &bodies[0];
    assert_eq!(alert["key_label"], json!("主账号"));
    assert_eq!(alert["value"], json!(12.0));
    assert_eq!(alert["threshold"], json!(20.0));
    assert_eq!(alert["model"], Value::Null);
    assert_eq!(
        alert["message"],
        json!(
            "主账号 ms-…abcd：可用魔粒 12（低于 20），约可调用旗舰模型 6 次；短期魔粒明天 00:00 前需登录魔搭领取"
        )
    );
    assert_eq!(
        bodies[1]["message"],
        json!("主账号 ms-…abcd：可用魔粒 30，已回到 20 以上")
    );
    assert!(
        bodies[2]["message"]
            .as_str()
            .unwrap()
            .contains("Key 被拒绝")
    );
    let page = alice.get("/monitors/deliveries").await.text();
    assert!(
        page.contains("可用魔粒 12（低于 20）") && page.contains("已发送"),
        "{page}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_resumes_the_schedule_and_runs_missed_slots_once() {
    let app = site().await;
    mount_balance(&app.upstream).await;
    let first = app.start().await;
    signed_up(&first, "alice").await;
    let key = add_key(&first, "main", KEY).await;
    crate::harness::http::submit(
        &first,
        "/monitors",
        &[("key_id", &key.to_string()), ("every_minutes", "5")],
    )
    .await
    .assert_redirect_to("/monitors");
    let alice = crate::harness::db::user_id(&app.db(), "alice").unwrap();
    let runs = || schedule_runs(&app.db(), alice);
    app.advance(MINUTE).await;
    wait_for_count(&app, "the first slot", 1, runs).await;
    let slot: i64 = app
        .db()
        .query_row("SELECT next_run_at FROM monitors", [], |r| r.get(0))
        .unwrap();

    // The server stops; time passes (six slots) while it is down.
    app.stop(first).await;
    app.advance(30 * MINUTE).await;
    stays(&app, "nothing runs while it is down", 1, runs).await;

    let second = app.start().await;
    wait_for_count(&app, "the missed slots run once", 2, runs).await;
    stays(&app, "once, not once per missed slot", 2, runs).await;
    let next: i64 = app
        .db()
        .query_row("SELECT next_run_at FROM monitors", [], |r| r.get(0))
        .unwrap();
    assert_eq!((next - slot) % 300, 0, "the grid holds");
    assert!(next > app.clock.now() && next - app.clock.now() <= 300);
    app.advance(5 * MINUTE).await;
    wait_for_count(&app, "the next slot", 3, runs).await;
    stays(&app, "one run per slot", 3, runs).await;
    drop(second);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_database_never_run_a_monitor_twice() {
    let app = site().await;
    mount_balance(&app.upstream).await;
    let alice = app.user("alice").await;
    let _others = [app.start().await, app.start().await];
    let key = alice.add_key("main", KEY).await;
    alice
        .submit(
            "/monitors",
            &[("key_id", &key.to_string()), ("every_minutes", "5")],
        )
        .await;
    let runs = || schedule_runs(&app.db(), alice.id);
    for n in 1..=3 {
        app.advance(5 * MINUTE).await;
        wait_for_count(&app, "a slot", n, runs).await;
        stays(&app, "three schedulers, one run", n, runs).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_probe_monitor_tells_of_a_model_gone_and_few_calls_left() {
    let app = site().await;
    let hooks = MockServer::start().await;
    mount_balance(&app.upstream).await;
    chat(MODEL_A)
        .respond_with(ok_with_quota(QUOTA_A))
        .mount(&app.upstream)
        .await;
    chat(MODEL_B)
        .respond_with(
            ResponseTemplate::new(400).set_body_json(error_body(&format!(
                "Model id : {MODEL_B} , has no provider supported"
            ))),
        )
        .mount(&app.upstream)
        .await;
    let alice = app.user("alice").await;
    let key = alice.add_key("main", KEY).await.to_string();
    let preset = alice
        .add_preset("two", &[MODEL_A, MODEL_B])
        .await
        .to_string();
    let channel = hook(&app, &alice, &hooks).await.to_string();
    alice
        .submit(
            "/monitors",
            &[
                ("key_id", &key),
                ("check", "probe"),
                ("preset_id", &preset),
                ("every_minutes", "60"),
                ("daily_cost_cap", "100"),
            ],
        )
        .await
        .assert_redirect_to("/monitors");
    let monitor = newest_monitor(&app.db(), alice.id);
    rule(
        &alice,
        monitor,
        &[("condition", "model_gone"), ("channel_id", &channel)],
    )
    .await;
    rule(
        &alice,
        monitor,
        &[
            ("condition", "calls_below"),
            ("threshold", "1000"),
            ("model", MODEL_A),
            ("channel_id", &channel),
        ],
    )
    .await;
    // A model outside the preset is refused for model_gone.
    alice
        .submit(
            &format!("/monitors/{monitor}/rules"),
            &[
                ("condition", "model_gone"),
                ("model", "x/y"),
                ("channel_id", &channel),
            ],
        )
        .await
        .assert_status(Status::UnprocessableEntity);
    alice.submit(&format!("/monitors/{monitor}/run"), &[]).await;
    wait_for_count(&app, "two alerts", 2, || {
        deliveries(&app.db(), alice.id)
            .iter()
            .filter(|d| d.1 == "sent")
            .count() as i64
    })
    .await;
    let bodies = hook_bodies(&hooks).await;
    let gone = bodies
        .iter()
        .find(|b| b["condition"] == "model_gone")
        .unwrap();
    assert_eq!(gone["model"], json!(MODEL_B));
    assert!(
        gone["message"]
            .as_str()
            .unwrap()
            .contains(&format!("模型 {MODEL_B} 已不再提供"))
    );
    let calls = bodies
        .iter()
        .find(|b| b["condition"] == "calls_below")
        .unwrap();
    // The smallest of the headers' counts (498 for the model).
    assert_eq!(calls["value"], json!(498.0));
    let kind: String = app
        .db()
        .query_row(
            "SELECT kind FROM queries WHERE source = 'schedule'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(kind, "probe");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daily_summary_arrives_at_its_time() {
    let app = site().await;
    let hooks = MockServer::start().await;
    mount_balance(&app.upstream).await;
    let alice = app.user("alice").await;
    let key = alice.add_key("主账号", KEY).await;
    let channel = hook(&app, &alice, &hooks).await.to_string();
    alice
        .submit(
            "/monitors",
            &[("key_id", &key.to_string()), ("every_minutes", "720")],
        )
        .await;
    let monitor = newest_monitor(&app.db(), alice.id);
    app.advance(MINUTE).await;
    wait_for_count(&app, "a check", 1, || schedule_runs(&app.db(), alice.id)).await;
    // Ten minutes from now, in Beijing time.
    let at = modelscope_balance::clock::hour_minute(app.clock.now() + 600);
    rule(
        &alice,
        monitor,
        &[
            ("condition", "daily_summary"),
            ("at_time", &at),
            ("channel_id", &channel),
        ],
    )
    .await;
    app.advance(5 * MINUTE).await;
    stays(&app, "not yet", 0, || {
        deliveries(&app.db(), alice.id).len() as i64
    })
    .await;
    app.advance(6 * MINUTE).await;
    wait_for_count(&app, "the summary", 1, || {
        deliveries(&app.db(), alice.id).len() as i64
    })
    .await;
    app.advance(60 * MINUTE).await;
    stays(&app, "once a day", 1, || {
        deliveries(&app.db(), alice.id).len() as i64
    })
    .await;
    wait_for_count(&app, "delivered", 1, || hook_bodies_count(&app, alice.id)).await;
    let body = &hook_bodies(&hooks).await[0];
    assert_eq!(body["event"], json!("summary"));
    let message = body["message"].as_str().unwrap();
    assert!(message.starts_with("每日汇总（"), "{message}");
    assert!(
        message.contains("主账号 ms-…abcd：可用魔粒 240.5，约可调用旗舰模型 120 次"),
        "{message}"
    );
}

fn hook_bodies_count(app: &TestApp, user: i64) -> i64 {
    deliveries(&app.db(), user)
        .iter()
        .filter(|d| d.1 == "sent")
        .count() as i64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_monitor_backs_off_and_says_why_on_its_page() {
    let app = site().await;
    let points = mount_points(&app.upstream, 100.0).await;
    let alice = app.user("alice").await;
    let key = alice.add_key("主账号", KEY).await;
    alice
        .submit(
            "/monitors",
            &[("key_id", &key.to_string()), ("every_minutes", "5")],
        )
        .await
        .assert_redirect_to("/monitors");
    let runs = || schedule_runs(&app.db(), alice.id);
    let failures = || -> i64 {
        app.db()
            .query_row("SELECT failures FROM monitors", [], |r| r.get(0))
            .unwrap()
    };
    let next_in = || -> i64 {
        let next: i64 = app
            .db()
            .query_row("SELECT next_run_at FROM monitors", [], |r| r.get(0))
            .unwrap();
        next - app.clock.now()
    };

    points.fail(401);
    app.advance(MINUTE).await;
    wait_for_count(&app, "the first failure", 1, failures).await;
    assert!(next_in() <= 300, "one failure keeps the interval");
    app.advance(5 * MINUTE).await;
    wait_for_count(&app, "the second failure", 2, failures).await;
    assert!(
        next_in() > 300,
        "two failures in a row double the wait: {}",
        next_in()
    );
    let page = alice.get("/monitors").await.text();
    assert!(page.contains("已连续失败 2 次"), "{page}");
    assert!(page.contains("失败 API Key 无效或已被撤销"), "{page}");

    app.advance(5 * MINUTE).await;
    stays(&app, "no run in the longer wait", 2, runs).await;
    app.advance(6 * MINUTE).await;
    wait_for_count(&app, "the third failure", 3, failures).await;
    assert!(next_in() > 600, "three double it again: {}", next_in());

    points.set(100.0);
    app.advance(21 * MINUTE).await;
    wait_for_count(&app, "a good run", 4, runs).await;
    wait_for_count(&app, "failures forgotten", 1, || i64::from(failures() == 0)).await;
    assert!(next_in() <= 300, "back on the interval: {}", next_in());
    let page = alice.get("/monitors").await.text();
    assert!(!page.contains("已连续失败"), "{page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_links_to_the_app_when_public_url_is_set() {
    let app = TestApp::configured(|c| {
        c.merge(("allow_private_webhooks", true))
            .merge(("public_url", "https://msb.example/"))
    })
    .await;
    let hooks = MockServer::start().await;
    mount_points(&app.upstream, 12.0).await;
    let alice = app.user("alice").await;
    points_below_20(&app, &alice, &hooks).await;
    app.advance(MINUTE).await;
    wait_for_count(&app, "the alert is sent", 1, || {
        deliveries(&app.db(), alice.id)
            .iter()
            .filter(|d| d.1 == "sent")
            .count() as i64
    })
    .await;
    let bodies = hook_bodies(&hooks).await;
    let message = bodies[0]["message"].as_str().unwrap();
    assert!(
        message.starts_with("主账号 ms-…abcd：可用魔粒 12（低于 20）"),
        "{message}"
    );
    assert!(
        message.ends_with("\n详情：https://msb.example/monitors"),
        "{message}"
    );
}

/// The scheduler's runs and the alert deliveries reach `/metrics` (the recorder is one per
/// process, so the test compares its own before and after).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_runs_and_alert_deliveries_are_counted_in_the_metrics() {
    const TOKEN: &str = "scheduler-metrics-token-0123456789";
    let app = TestApp::configured(|c| {
        c.merge(("allow_private_webhooks", true))
            .merge(("metrics_token", TOKEN))
    })
    .await;
    let hooks = MockServer::start().await;
    let _points = mount_points(&app.upstream, 12.0).await;
    let alice = app.user("alice").await;
    points_below_20(&app, &alice, &hooks).await;
    let counter = |text: &str, series: &str| -> f64 {
        text.lines()
            .find_map(|line| line.strip_prefix(series))
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or(0.0)
    };
    let scrape = || async {
        let answer = alice
            .client
            .get("/metrics")
            .header(rocket::http::Header::new(
                "Authorization",
                format!("Bearer {TOKEN}"),
            ))
            .dispatch()
            .await;
        answer.into_string().await.unwrap_or_default()
    };
    let runs = r#"msb_scheduler_runs_total{outcome="ok"}"#;
    let sent = r#"msb_alert_deliveries_total{channel="webhook",result="sent"}"#;
    let before = scrape().await;

    app.advance(MINUTE).await;
    wait_for_count(&app, "the run", 1, || schedule_runs(&app.db(), alice.id)).await;
    wait_for_count(&app, "the alert", 1, || {
        deliveries(&app.db(), alice.id).len() as i64
    })
    .await;
    // Settled: the delivery's job has ended, so it is counted.
    let after = scrape().await;
    assert!(
        counter(&after, runs) > counter(&before, runs),
        "no scheduler run counted:\n{after}"
    );
    assert!(
        counter(&after, sent) > counter(&before, sent),
        "no delivery counted:\n{after}"
    );
    assert!(
        after.contains("msb_scheduler_lag_seconds"),
        "no lag histogram:\n{after}"
    );
}

/// Interactive first: while scheduled probes hang upstream, a signed-in query still answers at
/// once. The limits are small (4 global upstream slots, 2 for scheduled work); three probe
/// monitors are due at once, each on a preset of six models that hang for 25 s, so scheduled
/// work alone would take every slot if nothing held it to its share. The scheduled calls reach
/// the double and stop at the share (more are queued behind it); then a query of a healthy
/// model must answer without waiting for a slot, while every hanging call still hangs.
///
/// Checked that it fails when it should: before scheduled work had its own share of the slots
/// (`Lane::Scheduled`), one scheduled probe of six models took all four slots and the query
/// waited for the hang, even with `scheduler_concurrency = 2`; and with the share but
/// `scheduler_concurrency = global_concurrency = 4` (the config check relaxed locally for the
/// experiment, not committed) it fails the same way, "4 calls hanging".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_scheduler_does_not_starve_a_signed_in_query() {
    const HANG: Duration = Duration::from_secs(25);
    let app = TestApp::configured(|c| {
        c.merge(("global_concurrency", 4))
            .merge(("scheduler_concurrency", 2))
            .merge(("anonymous_concurrency", 2))
    })
    .await;
    mount_balance(&app.upstream).await;
    chat(MODEL_A)
        .respond_with(ok_with_quota(QUOTA_A))
        .mount(&app.upstream)
        .await;
    // Every other model hangs (a lower priority than MODEL_A's answer).
    any_chat()
        .respond_with(ok_with_quota(QUOTA_A).set_delay(HANG))
        .with_priority(10)
        .mount(&app.upstream)
        .await;
    let alice = app.user("alice").await;
    let key = alice.add_key("main", KEY).await.to_string();
    let hanging: Vec<String> = (0..6).map(|i| format!("hang/model-{i}")).collect();
    let hanging: Vec<&str> = hanging.iter().map(String::as_str).collect();
    let preset = alice.add_preset("hanging", &hanging).await.to_string();
    for _ in 0..3 {
        alice
            .submit(
                "/monitors",
                &[
                    ("key_id", &key),
                    ("check", "probe"),
                    ("preset_id", &preset),
                    ("every_minutes", "60"),
                    ("daily_cost_cap", "1000"),
                ],
            )
            .await
            .assert_redirect_to("/monitors");
        let monitor = newest_monitor(&app.db(), alice.id);
        alice
            .submit(&format!("/monitors/{monitor}/run"), &[])
            .await
            .assert_redirect_to("/monitors");
    }
    let hanging = || calls_mentioning(&app.upstream, "hang/model-");
    let held = held_calls(
        &app,
        |calls| calls.scheduled,
        hanging,
        Duration::from_secs(15),
        "the scheduled probes never filled their share",
    )
    .await;

    let waited_before = app.engine_calls().member.waited;
    let answer = tokio::time::timeout(
        HANG - Duration::from_secs(5),
        alice.submit("/query", &[("key_id", &key), ("models", MODEL_A)]),
    )
    .await;
    let answer = answer.unwrap_or_else(|_| {
        panic!("the signed-in query waited for the scheduled probes ({held} calls hanging)")
    });
    let run = crate::harness::users::history_id_of_redirect(&answer);
    let status: Option<i64> = app
        .db()
        .query_row(
            "SELECT status FROM query_results WHERE query_id = ?1",
            [run],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(status, Some(200), "the healthy model answered");
    assert_eq!(
        app.engine_calls().member.waited,
        waited_before,
        "the signed-in query waited for a slot while {held} scheduled calls hung"
    );
    assert_eq!(
        hanging().await,
        held,
        "answered before any hanging call ended (none made room for another)"
    );
    assert_eq!(
        held, 2,
        "scheduled work holds only its share of the upstream slots"
    );
}

/// `(condition, event)` of every message queued for `user`, in order.
fn alerts_of(app: &TestApp, user: i64) -> Vec<(String, String)> {
    deliveries(&app.db(), user)
        .into_iter()
        .map(|(event, _, _, _, payload, _)| {
            let payload: Value = serde_json::from_str(&payload).unwrap_or_default();
            (
                payload["condition"].as_str().unwrap_or_default().to_owned(),
                event,
            )
        })
        .collect()
}

/// The three forecast rules on an hourly free check: runs_out_within (the pace says the points
/// run out within 24 h), points_expiring (500 or more expire within 24 h) and grant_unclaimed
/// (from 00:00, today's grant has not come). Each fires once when it starts and once when it
/// clears, over a day and a bit of readings at chosen times; no model is called.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_forecast_rules_fire_once_and_clear_once() {
    let app = site().await;
    let hooks = MockServer::start().await;
    let points = mount_points(&app.upstream, 240.0).await;
    let start = crate::harness::readings::tomorrow_at_eight(&app);
    crate::harness::readings::set_clock(&app, start);
    let alice = app.user("alice").await;
    let key = alice.add_key("主账号", KEY).await;
    let channel = hook(&app, &alice, &hooks).await.to_string();
    alice
        .submit(
            "/monitors",
            &[("key_id", &key.to_string()), ("every_minutes", "60")],
        )
        .await
        .assert_redirect_to("/monitors");
    let monitor = newest_monitor(&app.db(), alice.id);
    for fields in [
        vec![("condition", "runs_out_within"), ("threshold", "24")],
        vec![
            ("condition", "points_expiring"),
            ("threshold", "500"),
            ("within_hours", "24"),
        ],
        vec![("condition", "grant_unclaimed"), ("at_time", "00:00")],
    ] {
        let mut fields = fields;
        fields.push(("channel_id", &channel));
        rule(&alice, monitor, &fields).await;
    }
    let page = alice.get("/monitors").await;
    for words in [
        "按当前速度 24 小时内用完",
        "24 小时内至少 500 魔粒过期",
        "到 00:00 今天的魔粒还没领",
    ] {
        assert!(page.body.contains(words), "{words}: {}", page.body);
    }
    // Each advance waits until the schedulers settled, so every hourly slot has its run.
    let finished = || schedule_runs(&app.db(), alice.id);
    let sent = || alerts_of(&app, alice.id).len() as i64;
    let pair = |condition: &str, event: &str| (condition.to_owned(), event.to_owned());

    // 08:00 to 10:00: 10 points an hour, and no grant today.
    app.advance(MINUTE).await;
    wait_for_count(&app, "run 1", 1, finished).await;
    wait_for_count(&app, "the grant reminder", 1, sent).await;
    for (n, available) in [(2, 230.0), (3, 220.0)] {
        points.set(available);
        app.advance(60 * MINUTE).await;
        wait_for_count(&app, "an hourly run", n, finished).await;
    }
    wait_for_count(&app, "runs out within a day", 2, sent).await;
    // 11:00: the grant comes (780 points): it is no spend, the grant reminder clears, the
    // points that expire tomorrow fire, and at this pace the points now last beyond a day.
    points.set(1000.0);
    app.advance(60 * MINUTE).await;
    wait_for_count(&app, "run 4", 4, finished).await;
    wait_for_count(&app, "three changes", 5, sent).await;
    // Through the night: tomorrow's grant arrives just after midnight; yesterday's 780 vanish
    // at 10:00, as they expire.
    for n in 5..=27 {
        let at_hour = (11 + n - 4) % 24;
        if at_hour == 0 {
            points.set(1200.0);
        }
        if at_hour == 10 {
            points.set(420.0);
        }
        app.advance(60 * MINUTE).await;
        wait_for_count(&app, "an hourly run", n, finished).await;
    }
    wait_for_count(&app, "the expiry clears", 6, sent).await;
    stays(&app, "nothing else", 6, sent).await;
    let alerts = alerts_of(&app, alice.id);
    for condition in ["runs_out_within", "points_expiring", "grant_unclaimed"] {
        assert_eq!(
            alerts
                .iter()
                .filter(|a| **a == pair(condition, "alert"))
                .count(),
            1,
            "{condition}: {alerts:?}"
        );
        assert_eq!(
            alerts
                .iter()
                .filter(|a| **a == pair(condition, "recovered"))
                .count(),
            1,
            "{condition}: {alerts:?}"
        );
    }
    let messages: Vec<String> = deliveries(&app.db(), alice.id)
        .into_iter()
        .map(|d| d.3)
        .collect();
    assert!(
        messages
            .iter()
            .any(|m| m.contains("今天的魔粒还没领：登录魔搭网站即可领取")),
        "{messages:?}"
    );
    assert_eq!(calls_mentioning(&app.upstream, "\"model\"").await, 0);
}

#[tokio::test]
async fn the_forecast_rules_refuse_thresholds_out_of_range_with_words() {
    let app = site().await;
    mount_balance(&app.upstream).await;
    let hooks = MockServer::start().await;
    let alice = app.user("alice").await;
    let key = alice.add_key("main", KEY).await;
    let channel = hook(&app, &alice, &hooks).await.to_string();
    alice
        .submit(
            "/monitors",
            &[("key_id", &key.to_string()), ("every_minutes", "5")],
        )
        .await
        .assert_redirect_to("/monitors");
    let monitor = newest_monitor(&app.db(), alice.id);
    // Each refusal says what to fix and marks the field at fault.
    for (fields, words, field) in [
        (
            vec![("condition", "runs_out_within"), ("threshold", "0")],
            "1 到 720",
            "threshold",
        ),
        (
            vec![("condition", "runs_out_within"), ("threshold", "1.5")],
            "1 到 720",
            "threshold",
        ),
        (
            vec![
                ("condition", "points_expiring"),
                ("threshold", "100"),
                ("within_hours", "48"),
            ],
            "1 到 24",
            "within_hours",
        ),
        (
            vec![
                ("condition", "points_expiring"),
                ("threshold", "-5"),
                ("within_hours", "6"),
            ],
            "阈值",
            "threshold",
        ),
        (
            vec![("condition", "grant_unclaimed"), ("at_time", "25:00")],
            "HH:MM",
            "at_time",
        ),
    ] {
        let mut fields = fields;
        fields.push(("channel_id", &channel));
        let answer = alice
            .submit(&format!("/monitors/{monitor}/rules"), &fields)
            .await;
        assert!(
            answer.status.code >= 400 && answer.status.code < 500,
            "{fields:?}: {}",
            answer.status
        );
        assert!(answer.body.contains(words), "{fields:?}: {}", answer.body);
        let marked = format!(r#"aria-describedby="{field}-error""#);
        assert!(answer.body.contains(&marked), "{fields:?}: {}", answer.body);
    }
    // The form shows only the fields a condition needs.
    let page = alice.get("/monitors").await;
    assert!(
        page.body
            .contains(r#"data-when="condition:points_expiring""#),
        "{}",
        page.body
    );
    assert!(page.body.contains(r#"name="within_hours""#));
}

/// Issue 17: a `price_changed` rule tells of each change of a model's price once (the second
/// agreeing measurement that moved it from 1 to 2), through the rule's channel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_price_change_is_told_once() {
    use crate::harness::points::PointsAccount;
    let app = site().await;
    let hooks = MockServer::start().await;
    PointsAccount::new(50.0, &[(MODEL_A, 1.0)])
        .mount(&app.upstream)
        .await;
    let alice = app.user("alice").await;
    let key = alice.add_key("主账号", KEY).await.to_string();
    let channel = hook(&app, &alice, &hooks).await.to_string();
    alice
        .submit("/monitors", &[("key_id", &key), ("every_minutes", "5")])
        .await
        .assert_redirect_to("/monitors");
    let monitor = newest_monitor(&app.db(), alice.id);
    rule(
        &alice,
        monitor,
        &[("condition", "price_changed"), ("channel_id", &channel)],
    )
    .await;
    let probe = [("key_id", key.as_str()), ("models", MODEL_A)];
    alice.run_query_ok(&probe).await;
    app.upstream.reset().await;
    PointsAccount::new(49.0, &[(MODEL_A, 2.0)])
        .mount(&app.upstream)
        .await;
    alice.run_query_ok(&probe).await;
    alice.run_query_ok(&probe).await;
    let runs = || schedule_runs(&app.db(), alice.id);
    let sent = || deliveries(&app.db(), alice.id).len() as i64;

    app.advance(MINUTE).await;
    wait_for_count(&app, "run 1", 1, runs).await;
    wait_for_count(&app, "the change told", 1, sent).await;
    app.advance(5 * MINUTE).await;
    wait_for_count(&app, "run 2", 2, runs).await;
    stays(&app, "once", 1, sent).await;
    let (event, _, _, message, payload, _) = deliveries(&app.db(), alice.id).remove(0);
    assert_eq!(event, "alert");
    assert!(
        message.contains(MODEL_A) && message.contains("从 1 变为 2"),
        "{message}"
    );
    let payload: Value = serde_json::from_str(&payload).unwrap();
    assert_eq!(payload["condition"], json!("price_changed"));
}
