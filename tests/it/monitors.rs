//! `/monitors`: scheduled free checks and probes stored as runs with source `schedule`, run
//! now, pause and resume, the daily cost cap, bad input, and isolation between users on every
//! monitor, rule and channel route. The scheduler's clock is moved, never slept on.

use std::time::Duration;

use rocket::http::Status;

use crate::harness::monitoring::{
    mount_charging_chat, mount_points, newest_channel, newest_monitor, schedule_runs, stays,
    wait_for_count,
};
use crate::harness::upstream::{MODEL_A, mount_balance};
use modelscope_balance::clock::Clock;

use crate::harness::{TestApp, User};

const KEY: &str = "ms-a0a0a0a0-1111-4222-8333-444455556666";
const KEY_2: &str = "ms-b0b0b0b0-1111-4222-8333-444455557777";
const MINUTE: Duration = Duration::from_secs(60);

async fn site() -> TestApp {
    TestApp::configured(|c| c.merge(("allow_private_webhooks", true))).await
}

async fn balance_monitor(app: &TestApp, user: &User, key: i64, every: &str) -> i64 {
    user.submit(
        "/monitors",
        &[
            ("key_id", &key.to_string()),
            ("check", "balance"),
            ("every_minutes", every),
        ],
    )
    .await
    .assert_redirect_to("/monitors");
    newest_monitor(&app.db(), user.id)
}

/// A webhook channel `name` (to a closed port) and a "points below 20" rule on `monitor` that
/// sends to it: answers the channel and the rule.
async fn hook_and_rule(app: &TestApp, user: &User, monitor: i64, name: &str) -> (i64, i64) {
    user.submit(
        "/channels",
        &[
            ("kind", "webhook"),
            ("name", name),
            ("url", "http://127.0.0.1:9/hook"),
        ],
    )
    .await
    .assert_redirect_to("/channels");
    let channel = newest_channel(&app.db(), user.id);
    user.submit(
        &format!("/monitors/{monitor}/rules"),
        &[
            ("condition", "points_below"),
            ("threshold", "20"),
            ("channel_id", &channel.to_string()),
        ],
    )
    .await
    .assert_redirect_to("/monitors");
    let rule = app
        .db()
        .query_row(
            "SELECT max(id) FROM alert_rules WHERE monitor_id = ?1",
            [monitor],
            |r| r.get(0),
        )
        .unwrap();
    (channel, rule)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_free_check_runs_on_its_schedule_and_fills_the_dashboard() {
    let app = site().await;
    mount_balance(&app.upstream).await;
    let alice = app.user("alice").await;
    let key = alice.add_key("主账号", KEY).await;
    balance_monitor(&app, &alice, key, "5").await;
    let runs = || schedule_runs(&app.db(), alice.id);
    stays(&app, "nothing runs before the first slot", 0, runs).await;

    app.advance(MINUTE + Duration::from_secs(1)).await;
    wait_for_count(&app, "the first slot", 1, runs).await;
    app.advance(5 * MINUTE).await;
    wait_for_count(&app, "the second slot", 2, runs).await;
    stays(&app, "one run per slot", 2, runs).await;

    let (kind, available, models): (String, f64, i64) = app
        .db()
        .query_row(
            "SELECT kind, balance_available, model_count FROM queries WHERE source = 'schedule' LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!((kind.as_str(), available, models), ("check", 240.5, 0));
    // Free: no model was called.
    let chats = app
        .upstream
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path().ends_with("/chat/completions"))
        .count();
    assert_eq!(chats, 0);

    let page = alice.get("/monitors").await;
    page.assert_status(Status::Ok);
    let text = page.text();
    assert!(text.contains("240.5") && text.contains("主账号"), "{text}");
    assert!(text.contains("每 5 分钟"), "{text}");
    let dashboard = alice.get("/").await;
    assert!(dashboard.text().contains("240.5"), "{}", dashboard.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_now_pause_resume_and_delete() {
    let app = site().await;
    mount_balance(&app.upstream).await;
    let alice = app.user("alice").await;
    let key = alice.add_key("main", KEY).await;
    let id = balance_monitor(&app, &alice, key, "60").await;
    let runs = || schedule_runs(&app.db(), alice.id);
    let next = || -> i64 {
        app.db()
            .query_row(
                "SELECT next_run_at FROM monitors WHERE id = ?1",
                [id],
                |r| r.get(0),
            )
            .unwrap()
    };
    let slot = next();

    alice
        .submit(&format!("/monitors/{id}/run"), &[])
        .await
        .assert_redirect_to("/monitors");
    wait_for_count(&app, "run now", 1, runs).await;
    assert_eq!(next(), slot, "run now keeps the schedule");
    assert!(slot > app.clock.now(), "the first slot is after its jitter");

    alice
        .submit(&format!("/monitors/{id}/pause"), &[])
        .await
        .assert_redirect_to("/monitors");
    app.advance(3 * 60 * MINUTE).await;
    stays(&app, "a paused monitor does not run", 1, runs).await;
    // Run now works on a paused monitor, which stays paused.
    alice.submit(&format!("/monitors/{id}/run"), &[]).await;
    wait_for_count(&app, "run now while paused", 2, runs).await;
    assert!(alice.get("/monitors").await.text().contains("已暂停"));

    alice
        .submit(&format!("/monitors/{id}/resume"), &[])
        .await
        .assert_redirect_to("/monitors");
    stays(&app, "resuming does not run the missed slots", 2, runs).await;
    app.advance(2 * MINUTE).await;
    wait_for_count(&app, "the first slot after resuming", 3, runs).await;

    alice
        .submit(&format!("/monitors/{id}/delete"), &[])
        .await
        .assert_redirect_to("/monitors");
    app.advance(2 * 60 * MINUTE).await;
    stays(&app, "a deleted monitor does not run", 3, runs).await;
    alice
        .submit(&format!("/monitors/{id}/run"), &[])
        .await
        .assert_status(Status::NotFound);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_key_stops_its_monitor() {
    let app = site().await;
    mount_balance(&app.upstream).await;
    let alice = app.user("alice").await;
    let key = alice.add_key("main", KEY).await;
    balance_monitor(&app, &alice, key, "5").await;
    alice
        .submit(&format!("/keys/{key}/delete"), &[])
        .await
        .assert_redirect_to("/keys");
    let monitors: i64 = app
        .db()
        .query_row("SELECT count(*) FROM monitors", [], |r| r.get(0))
        .unwrap();
    assert_eq!(monitors, 0, "the monitor went with its last key");
    app.advance(30 * MINUTE).await;
    stays(&app, "no run", 0, || schedule_runs(&app.db(), alice.id)).await;
}

#[tokio::test]
async fn bad_input_is_refused_with_words_that_say_what_to_fix() {
    let app = site().await;
    let alice = app.user("alice").await;
    let key = alice.add_key("main", KEY).await.to_string();
    let preset = alice.add_preset("daily", &[MODEL_A]).await.to_string();
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![("key_id", &key), ("every_minutes", "4")], "5 到 10080"),
        (
            vec![
                ("key_id", &key),
                ("check", "probe"),
                ("preset_id", &preset),
                ("every_minutes", "10"),
                ("daily_cost_cap", "100"),
            ],
            "30 到 10080",
        ),
        (
            vec![
                ("key_id", &key),
                ("check", "probe"),
                ("preset_id", &preset),
                ("every_minutes", "60"),
            ],
            "每天最多花费",
        ),
        (
            vec![
                ("key_id", &key),
                ("check", "probe"),
                ("every_minutes", "60"),
                ("daily_cost_cap", "9"),
            ],
            "预设",
        ),
        (
            vec![
                ("key_id", &key),
                ("every_minutes", "5"),
                ("at_times", "08:00"),
            ],
            "只能填一个",
        ),
        (vec![("key_id", &key), ("at_times", "25:00")], "HH:MM"),
        (vec![("key_id", &key)], "间隔分钟数"),
        (vec![("every_minutes", "5")], "至少选择一个 Key"),
        (
            vec![("key_id", "999"), ("every_minutes", "5")],
            "找不到所选的 Key",
        ),
        (
            vec![
                ("key_id", &key),
                ("check", "everything"),
                ("every_minutes", "5"),
            ],
            "balance",
        ),
    ];
    for (fields, words) in cases {
        let answer = alice.submit("/monitors", &fields).await;
        answer.assert_client_error();
        let error = crate::harness::html::form_error(&answer.body)
            .unwrap_or_else(|| panic!("no error shown for {fields:?}"));
        assert!(error.contains(words), "{fields:?}: {error}");
    }
    let stored: i64 = app
        .db()
        .query_row("SELECT count(*) FROM monitors", [], |r| r.get(0))
        .unwrap();
    assert_eq!(stored, 0);
}

/// A refused monitor or rule form says why beside the field that was wrong, and only that
/// field is marked invalid (on the rule form of the monitor concerned, not on the others).
#[tokio::test]
async fn a_refusal_is_tied_to_the_field_it_is_about() {
    let app = site().await;
    let alice = app.user("alice").await;
    let key = alice.add_key("main", KEY).await;
    let key_id = key.to_string();
    for (fields, field) in [
        (vec![("every_minutes", "5")], "key_id"),
        (
            vec![("key_id", &*key_id), ("every_minutes", "4")],
            "every_minutes",
        ),
        (
            vec![("key_id", &*key_id), ("at_times", "25:00")],
            "at_times",
        ),
        (vec![("key_id", &*key_id), ("check", "everything")], "check"),
        (
            vec![
                ("key_id", &*key_id),
                ("check", "probe"),
                ("every_minutes", "60"),
            ],
            "preset_id",
        ),
    ] {
        let answer = alice.submit("/monitors", &fields).await;
        answer.assert_client_error();
        assert!(
            crate::harness::html::error_tied_to(&answer.body, field),
            "{fields:?} not tied to {field}: {}",
            answer.body
        );
    }
    let first = balance_monitor(&app, &alice, key, "60").await;
    let second = balance_monitor(&app, &alice, key, "30").await;
    let (channel, _) = hook_and_rule(&app, &alice, first, "hook").await;
    let answer = alice
        .submit(
            &format!("/monitors/{second}/rules"),
            &[
                ("condition", "points_below"),
                ("threshold", "-1"),
                ("channel_id", &channel.to_string()),
            ],
        )
        .await;
    answer.assert_status(Status::UnprocessableEntity);
    assert!(
        crate::harness::html::error_tied_to(&answer.body, "threshold"),
        "{}",
        answer.body
    );
    // On the rule form of the monitor concerned, not on the other one.
    let (before, after) = answer
        .body
        .split_once(&format!(r#"id="monitor-{second}""#))
        .unwrap();
    assert!(
        after.contains(r#"id="threshold-error""#),
        "not on its monitor"
    );
    assert!(after.contains(r#"aria-describedby="threshold-error""#));
    assert!(!before.contains(r#"aria-describedby="threshold-error""#));
    // The form comes back as it was sent: the condition picked (so its fields stay shown), the
    // value to fix and the channel.
    let form = after.split_once(r#"class="rule-form""#).unwrap().1;
    let form = &form[..form.find("</form>").unwrap()];
    assert!(
        form.contains(r#"<option value="points_below" selected>"#),
        "{form}"
    );
    assert!(form.contains(r#"value="-1""#), "{form}");
    assert!(
        form.contains(&format!(r#"<option value="{channel}" selected>"#)),
        "{form}"
    );
    let daily = alice
        .submit(
            &format!("/monitors/{second}/rules"),
            &[
                ("condition", "daily_summary"),
                ("at_time", "25:99"),
                ("channel_id", &channel.to_string()),
            ],
        )
        .await;
    daily.assert_status(Status::UnprocessableEntity);
    assert!(
        daily
            .body
            .contains(r#"<option value="daily_summary" selected>"#)
    );
    assert!(daily.body.contains(r#"value="25:99""#));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daily_cost_cap_refuses_a_schedule_and_skips_probes_once_spent() {
    let app = site().await;
    let points = mount_points(&app.upstream, 100.0).await;
    mount_charging_chat(&app.upstream, &points, 1.0).await;
    let alice = app.user("alice").await;
    let key = alice.add_key("main", KEY).await.to_string();
    let preset = alice.add_preset("one", &[MODEL_A]).await.to_string();
    alice
        .submit("/prices", &[("model", MODEL_A), ("points", "1")])
        .await;

    // 48 probes a day at 1 point: over a cap of 10.
    let refused = alice
        .submit(
            "/monitors",
            &[
                ("key_id", &key),
                ("check", "probe"),
                ("preset_id", &preset),
                ("every_minutes", "30"),
                ("daily_cost_cap", "10"),
            ],
        )
        .await;
    refused.assert_status(Status::UnprocessableEntity);
    let error = crate::harness::html::form_error(&refused.body).unwrap();
    assert!(
        error.contains("每天约花费 48 魔粒") && error.contains("上限 10"),
        "{error}"
    );
    // The form shows what a preset costs per run.
    assert!(
        refused.text().contains("每次约 1 魔粒"),
        "{}",
        refused.text()
    );

    // Once a day at 1 point fits a cap of 1; a second run the same day does not.
    alice
        .submit(
            "/monitors",
            &[
                ("key_id", &key),
                ("check", "probe"),
                ("preset_id", &preset),
                ("at_times", "03:00"),
                ("daily_cost_cap", "1"),
            ],
        )
        .await
        .assert_redirect_to("/monitors");
    let id = newest_monitor(&app.db(), alice.id);
    let page = alice.get("/monitors").await.text();
    assert!(page.contains("每天约 1 魔粒"), "{page}");
    let runs = || schedule_runs(&app.db(), alice.id);
    alice.submit(&format!("/monitors/{id}/run"), &[]).await;
    wait_for_count(&app, "the first probe", 1, runs).await;
    assert_eq!(points.available(), 99.0);
    let outcome = || -> (Option<String>, Option<String>) {
        app.db()
            .query_row(
                "SELECT last_outcome, last_reason FROM monitors WHERE id = ?1 AND run_requested = 0",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap_or((None, None))
    };
    alice.submit(&format!("/monitors/{id}/run"), &[]).await;
    app.settle().await;
    let skipped = outcome() == (Some("skipped".into()), Some("daily_cap".into()));
    assert!(skipped, "the second probe was not skipped: {:?}", outcome());
    assert_eq!(runs(), 1);
    assert_eq!(points.available(), 99.0, "no point spent over the cap");
    assert!(
        alice
            .get("/monitors")
            .await
            .text()
            .contains("今日探测花费已达上限")
    );
}

/// Every monitor, rule and channel route of one user answers another user as if the thing did
/// not exist, and changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_cannot_see_or_touch_each_others_monitors_rules_or_channels() {
    let app = site().await;
    mount_balance(&app.upstream).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let alice_key = alice.add_key("alice key", KEY).await;
    let bob_key = bob.add_key("bob key", KEY_2).await;
    let monitor = balance_monitor(&app, &alice, alice_key, "60").await;
    let (channel, rule) = hook_and_rule(&app, &alice, monitor, "alice hook").await;
    let bob_monitor = balance_monitor(&app, &bob, bob_key, "60").await;
    bob.submit(
        "/channels",
        &[
            ("kind", "webhook"),
            ("name", "bob hook"),
            ("url", "http://127.0.0.1:9/bob"),
        ],
    )
    .await;
    let bob_channel = newest_channel(&app.db(), bob.id);

    let snapshot = || -> Vec<String> {
        let db = app.db();
        let mut rows = Vec::new();
        for sql in [
            "SELECT id, paused, run_requested, next_run_at FROM monitors WHERE user_id = ?1",
            "SELECT id, condition, threshold FROM alert_rules WHERE user_id = ?1",
            "SELECT id, name FROM channels WHERE user_id = ?1",
            "SELECT id FROM deliveries WHERE user_id = ?1",
        ] {
            let sql = sql.replace("?1", &alice.id.to_string());
            let mut statement = db.prepare(&sql).unwrap();
            let mut found = statement.query([]).unwrap();
            while let Some(row) = found.next().unwrap() {
                let values: Vec<String> = (0..row.as_ref().column_count())
                    .map(|i| format!("{:?}", row.get::<_, rusqlite::types::Value>(i).unwrap()))
                    .collect();
                rows.push(format!("{sql}: {}", values.join(",")));
            }
        }
        rows
    };
    let before = snapshot();
    let (m, r, c) = (monitor.to_string(), rule.to_string(), channel.to_string());
    for path in [
        format!("/monitors/{m}/run"),
        format!("/monitors/{m}/pause"),
        format!("/monitors/{m}/resume"),
        format!("/monitors/{m}/delete"),
        format!("/monitors/{m}/rules/{r}/delete"),
        format!("/monitors/{bob_monitor}/rules/{r}/delete"),
        format!("/channels/{c}/test"),
        format!("/channels/{c}/delete"),
    ] {
        bob.submit(&path, &[]).await.assert_status(Status::NotFound);
    }
    // The confirmation pages too: they would name alice's monitor, rule or channel.
    for path in [
        format!("/monitors/{m}/delete"),
        format!("/monitors/{m}/rules/{r}/delete"),
        format!("/monitors/{bob_monitor}/rules/{r}/delete"),
        format!("/channels/{c}/delete"),
    ] {
        bob.get(&path).await.assert_status(Status::NotFound);
    }
    bob.submit(
        &format!("/monitors/{m}/rules"),
        &[
            ("condition", "key_invalid"),
            ("channel_id", &bob_channel.to_string()),
        ],
    )
    .await
    .assert_status(Status::NotFound);
    // Bob's own monitor cannot send to Alice's channel, nor watch Alice's key.
    bob.submit(
        &format!("/monitors/{bob_monitor}/rules"),
        &[("condition", "key_invalid"), ("channel_id", &c)],
    )
    .await
    .assert_status(Status::UnprocessableEntity);
    bob.submit(
        "/monitors",
        &[("key_id", &alice_key.to_string()), ("every_minutes", "5")],
    )
    .await
    .assert_status(Status::UnprocessableEntity);
    assert_eq!(snapshot(), before, "bob changed alice's rows");

    for page in ["/monitors", "/channels", "/monitors/deliveries"] {
        let text = bob.get(page).await.text();
        assert!(
            !text.contains("alice key") && !text.contains("alice hook"),
            "{page} shows alice's things to bob: {text}"
        );
    }
    assert!(alice.get("/monitors").await.text().contains("alice hook"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_account_stops_its_monitors() {
    let app = site().await;
    mount_balance(&app.upstream).await;
    let alice = app.user("alice").await;
    let key = alice.add_key("main", KEY).await;
    balance_monitor(&app, &alice, key, "5").await;
    alice
        .submit("/account/delete", &[("password", crate::harness::PASSWORD)])
        .await
        .assert_status(Status::SeeOther);
    let left: i64 = app
        .db()
        .query_row("SELECT count(*) FROM monitors", [], |r| r.get(0))
        .unwrap();
    assert_eq!(left, 0);
    app.advance(30 * MINUTE).await;
    stays(&app, "no run", 0, || {
        app.db()
            .query_row("SELECT count(*) FROM queries", [], |r| r.get(0))
            .unwrap()
    })
    .await;
}

fn count(app: &TestApp, sql: &str) -> i64 {
    app.db().query_row(sql, [], |r| r.get(0)).unwrap()
}

/// Issue 11, safe actions: the list links to a confirmation page (a GET that changes nothing)
/// that names the monitor or the rule and posts the real delete with the CSRF token; the
/// notice after it names what went. Another user's or a missing id is a 404. In both languages.
#[tokio::test]
async fn deleting_a_monitor_or_a_rule_asks_first_on_a_page_that_names_it() {
    let app = site().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let key = alice.add_key("主账号", KEY).await;
    let spare = alice.add_key("备用", KEY_2).await;
    alice
        .submit(
            "/monitors",
            &[
                ("key_id", &key.to_string()),
                ("key_id", &spare.to_string()),
                ("every_minutes", "60"),
            ],
        )
        .await
        .assert_redirect_to("/monitors");
    let m = newest_monitor(&app.db(), alice.id);
    let (_, r) = hook_and_rule(&app, &alice, m, "alice hook").await;
    let monitors = "SELECT count(*) FROM monitors";
    let rules = "SELECT count(*) FROM alert_rules";

    // The list links to the confirmations; it has no one-click delete form any more.
    let list = alice.get("/monitors").await.body;
    for href in [
        format!("href=\"/monitors/{m}/delete\""),
        format!("href=\"/monitors/{m}/rules/{r}/delete\""),
    ] {
        assert!(list.contains(&href), "missing {href}: {list}");
    }
    assert!(!list.contains(&format!("action=\"/monitors/{m}/delete\"")));
    assert!(!list.contains(&format!("action=\"/monitors/{m}/rules/{r}/delete\"")));

    let asked = alice.get(&format!("/monitors/{m}/delete")).await;
    asked.assert_status(Status::Ok);
    let text = asked.text();
    for words in [
        "删除监控？",
        "余额检查（免费）",
        "每 60 分钟",
        "主账号",
        "备用",
    ] {
        assert!(text.contains(words), "missing {words}: {text}");
    }
    assert!(
        asked
            .body
            .contains(&format!("action=\"/monitors/{m}/delete\""))
    );
    assert!(asked.body.contains(&alice.csrf), "{}", asked.body);
    assert!(
        asked
            .body
            .contains(&format!("href=\"/monitors#monitor-{m}\""))
    );

    let rule_path = format!("/monitors/{m}/rules/{r}/delete");
    let asked = alice.get(&rule_path).await;
    asked.assert_status(Status::Ok);
    let text = asked.text();
    assert!(
        text.contains("删除告警规则？") && text.contains("可用魔粒低于 20 → alice hook"),
        "{text}"
    );
    assert!(asked.body.contains(&format!("action=\"{rule_path}\"")));
    assert!(asked.body.contains(&alice.csrf));
    // Opening the confirmations changed nothing.
    assert_eq!((count(&app, monitors), count(&app, rules)), (1, 1));

    // Another user's ids, a missing id, a rule under another monitor: not found.
    let bob_key = bob.add_key("bob key", KEY).await;
    let bob_monitor = balance_monitor(&app, &bob, bob_key, "60").await;
    for path in [
        format!("/monitors/{m}/delete"),
        rule_path.clone(),
        format!("/monitors/{bob_monitor}/rules/{r}/delete"),
    ] {
        bob.get(&path).await.assert_status(Status::NotFound);
    }
    for path in ["/monitors/abc/delete", "/monitors/1/rules/-x/delete"] {
        alice.get(path).await.assert_client_error();
    }
    for path in [
        "/monitors/999999/delete".to_owned(),
        format!("/monitors/{m}/rules/999999/delete"),
        format!("/monitors/{bob_monitor}/rules/{r}/delete"),
    ] {
        alice.get(&path).await.assert_status(Status::NotFound);
    }

    // The confirmed posts delete, and the notice names what went.
    alice
        .submit(&rule_path, &[])
        .await
        .assert_redirect_to("/monitors");
    let after = alice.get("/monitors").await.text();
    assert!(
        after.contains("告警规则「可用魔粒低于 20 → alice hook」已删除"),
        "{after}"
    );
    assert_eq!((count(&app, monitors), count(&app, rules)), (2, 0));
    alice.get(&rule_path).await.assert_status(Status::NotFound);

    // In English too.
    alice
        .submit("/lang", &[("lang", "en"), ("next", "/monitors")])
        .await;
    let asked = alice.get(&format!("/monitors/{m}/delete")).await.text();
    assert!(
        asked.contains("Delete this monitor?")
            && asked.contains("Balance check (free) · every 60 minutes · keys"),
        "{asked}"
    );
    alice
        .submit(&format!("/monitors/{m}/delete"), &[])
        .await
        .assert_redirect_to("/monitors");
    let after = alice.get("/monitors").await.text();
    assert!(
        after.contains("Monitor “Balance check (free) · every 60 minutes” deleted."),
        "{after}"
    );
    assert_eq!(count(&app, monitors), 1, "bob's monitor stays");
    alice
        .get(&format!("/monitors/{m}/delete"))
        .await
        .assert_status(Status::NotFound);
}
