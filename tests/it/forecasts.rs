//! Forecasts and expiring points from stored readings (issue 18): the burn rate and run-out
//! from readings at chosen times (the app's clock is moved, never slept on), a grant between
//! readings as a refill expiring 24 hours later (an estimate), the ledger's exact grant times
//! when it answers and the estimate when it does not, earn rules deciding the daily-grant
//! reminder, and the dashboard's strip saying it all. Every reading is a free check: no model
//! is ever called.

use rocket::http::Status;
use serde_json::json;

use crate::harness::TestApp;
use crate::harness::db::count;
use crate::harness::html::visible_text;
use crate::harness::points::{Optional, PointsAccount};
use crate::harness::readings::{
    HOUR, key, member, quota, read_balance, set_clock, tomorrow_at_eight, unix,
};
use crate::harness::upstream::{EARN_RULES_PATH, LEDGER_PATH, MODEL_A, calls_to};

/// A site whose account holds `points`, its clock at tomorrow 08:00 Beijing time.
async fn site_with(points: f64) -> (TestApp, PointsAccount, i64) {
    let site = TestApp::new().await;
    let account = PointsAccount::new(points, &[(MODEL_A, 1.0)]);
    account.mount(&site.upstream).await;
    let start = tomorrow_at_eight(&site);
    set_clock(&site, start);
    (site, account, start)
}

#[tokio::test]
async fn ten_points_an_hour_for_six_hours_runs_out_within_five_percent_of_the_truth() {
    let (site, account, start) = site_with(100.0).await;
    let (user, token) = member(&site, "alice").await;

    for hour in 0..=6 {
        if hour > 0 {
            account.spend(10.0);
        }
        set_clock(&site, start + hour * HOUR);
        read_balance(&user, &token, "main").await;
    }

    let answer = quota(&user, &token, "").await;
    let main = key(&answer, "main");
    assert_eq!(main["forecast_basis"]["code"], json!("pace"), "{main}");
    assert_eq!(main["forecast_basis"]["readings"], json!(7));
    assert_eq!(main["forecast_basis"]["hours"], json!(6.0));
    assert_eq!(main["burn_per_hour"], json!(10), "{main}");
    // 40 points left at 10 an hour: 4 hours after the last reading.
    let truth = start + 10 * HOUR;
    let forecast = unix(&main["runs_out_at"]);
    let allowed = (4 * HOUR) / 20;
    assert!(
        (forecast - truth).abs() <= allowed,
        "forecast {forecast}, truth {truth}"
    );
    assert_eq!(main["expiring"], json!([]));
    assert_eq!(account.chat_calls(), 0);
}

#[tokio::test]
async fn a_grant_between_readings_is_not_spend_and_expires_24_hours_later_as_an_estimate() {
    let (site, account, start) = site_with(100.0).await;
    let (user, token) = member(&site, "alice").await;
    read_balance(&user, &token, "main").await;
    account.spend(10.0);
    set_clock(&site, start + HOUR);
    read_balance(&user, &token, "main").await;
    // The login grant arrives some time in the next hour (no ledger to say when).
    account.grant(200.0);
    set_clock(&site, start + 2 * HOUR);
    read_balance(&user, &token, "main").await;
    account.spend(10.0);
    set_clock(&site, start + 3 * HOUR);
    read_balance(&user, &token, "main").await;

    let main = key(&quota(&user, &token, "").await, "main").clone();
    // 20 spent in 3 hours: the 200 were never negative spend.
    let burn = main["burn_per_hour"].as_f64().unwrap();
    assert!((burn - 20.0 / 3.0).abs() < 0.01, "{main}");
    // Spent first, the grant has 190 left, expiring 24 h after the reading before the rise
    // (the earliest it can: the warning is never late).
    assert_eq!(
        main["expiring"],
        json!([{"points": 190, "at": main["expiring"][0]["at"], "exact": false}]),
        "{main}"
    );
    assert_eq!(unix(&main["expiring"][0]["at"]), start + HOUR + 24 * HOUR);
    // No ledger answered (404): remembered for this key, not asked again at once.
    let ledger_calls = calls_to(&site.upstream, LEDGER_PATH).await;
    assert_eq!(ledger_calls, 1, "tried once, then remembered");
    assert_eq!(
        count(
            &site.db(),
            "SELECT count(*) FROM key_extras WHERE ledger_answered = ?1",
            0
        ),
        1
    );
    assert_eq!(account.chat_calls(), 0);
}

#[tokio::test]
async fn with_the_ledger_answering_its_grant_time_gives_the_exact_expiry() {
    let (site, account, start) = site_with(50.0).await;
    account
        .with_ledger(&site.upstream, Optional::Answering)
        .await;
    let (user, token) = member(&site, "alice").await;
    read_balance(&user, &token, "main").await;
    let granted = start + 1234;
    account.grant_at(200.0, granted);
    set_clock(&site, start + HOUR);
    read_balance(&user, &token, "main").await;

    let main = key(&quota(&user, &token, "").await, "main").clone();
    let expiring = &main["expiring"][0];
    assert_eq!(expiring["exact"], json!(true), "{main}");
    assert_eq!(expiring["points"], json!(200));
    assert_eq!(unix(&expiring["at"]), granted + 24 * HOUR);

    // The dashboard says it without "about".
    let page = user.get("/").await;
    let text = visible_text(&page.body);
    assert!(text.contains("200 魔粒将于"), "{text}");
    assert!(!text.contains("约 200 魔粒"), "{text}");
    assert_eq!(account.chat_calls(), 0);
}

#[tokio::test]
async fn with_the_ledger_failing_or_odd_or_refused_the_estimate_stands_and_it_is_retried_later() {
    for how in [Optional::Failing, Optional::OddShape, Optional::Refusing] {
        let (site, account, start) = site_with(50.0).await;
        account.with_ledger(&site.upstream, how).await;
        let (user, token) = member(&site, "alice").await;
        read_balance(&user, &token, "main").await;
        account.grant_at(200.0, start + 600);
        set_clock(&site, start + HOUR);
        read_balance(&user, &token, "main").await;

        let main = key(&quota(&user, &token, "").await, "main").clone();
        assert_eq!(
            main["expiring"][0]["exact"],
            json!(false),
            "{how:?}: {main}"
        );
        assert_eq!(main["expiring"][0]["points"], json!(200), "{how:?}");
        let answered: Option<i64> = site
            .db()
            .query_row("SELECT ledger_answered FROM key_extras", [], |r| r.get(0))
            .unwrap();
        // A failure proves nothing; an odd answer or a refusal is remembered as "no".
        let expected = if how == Optional::Failing {
            None
        } else {
            Some(0)
        };
        assert_eq!(answered, expected, "{how:?}");
        let before = calls_to(&site.upstream, LEDGER_PATH).await;
        set_clock(&site, start + HOUR + 60);
        read_balance(&user, &token, "main").await;
        assert_eq!(
            calls_to(&site.upstream, LEDGER_PATH).await,
            before,
            "{how:?}: not asked again at once"
        );
        set_clock(&site, start + 8 * HOUR);
        read_balance(&user, &token, "main").await;
        assert_eq!(
            calls_to(&site.upstream, LEDGER_PATH).await,
            before + 1,
            "{how:?}: tried again later"
        );
        assert_eq!(account.chat_calls(), 0);
    }
}

#[tokio::test]
async fn earn_rules_decide_the_reminder_over_the_readings() {
    let (site, account, start) = site_with(30.0).await;
    account
        .with_earn_rules(&site.upstream, Optional::Answering)
        .await;
    let (user, token) = member(&site, "alice").await;
    read_balance(&user, &token, "main").await;
    // A rise the earn rules do not count as today's login grant (a reward, say).
    account.grant(20.0);
    set_clock(&site, start + HOUR);
    read_balance(&user, &token, "main").await;

    let main = key(&quota(&user, &token, "").await, "main").clone();
    assert_eq!(
        main["daily_grant"],
        json!({"claimed": false, "source": "earn_rules"})
    );
    let text = visible_text(&user.get("/").await.body);
    assert!(
        text.contains("今天的魔粒还没领：登录魔搭网站即可领取"),
        "{text}"
    );

    // The grant comes: the rules say so once read again (on the next reading's rise).
    account.grant_at(200.0, start + HOUR + 60);
    set_clock(&site, start + 2 * HOUR);
    read_balance(&user, &token, "main").await;
    let main = key(&quota(&user, &token, "").await, "main").clone();
    assert_eq!(
        main["daily_grant"],
        json!({"claimed": true, "source": "earn_rules"})
    );
    let text = visible_text(&user.get("/").await.body);
    assert!(!text.contains("还没领"), "{text}");
    assert!(calls_to(&site.upstream, EARN_RULES_PATH).await >= 2);
    assert_eq!(account.chat_calls(), 0);
}

#[tokio::test]
async fn without_earn_rules_the_readings_decide_the_reminder() {
    let (site, account, start) = site_with(30.0).await;
    let (user, token) = member(&site, "alice").await;
    read_balance(&user, &token, "main").await;
    set_clock(&site, start + HOUR);
    read_balance(&user, &token, "main").await;
    let main = key(&quota(&user, &token, "").await, "main").clone();
    assert_eq!(
        main["daily_grant"],
        json!({"claimed": false, "source": "readings"})
    );
    account.grant(200.0);
    set_clock(&site, start + 2 * HOUR);
    read_balance(&user, &token, "main").await;
    let main = key(&quota(&user, &token, "").await, "main").clone();
    assert_eq!(
        main["daily_grant"],
        json!({"claimed": true, "source": "readings"})
    );
}

#[tokio::test]
async fn the_strip_says_the_forecast_the_expiry_and_what_is_missing_in_both_languages() {
    let (site, account, start) = site_with(100.0).await;
    let (user, token) = member(&site, "alice").await;
    read_balance(&user, &token, "main").await;
    set_clock(&site, start + 600);
    read_balance(&user, &token, "main").await;

    let page = user.get("/").await;
    assert_eq!(page.status, Status::Ok);
    let text = visible_text(&page.body);
    assert!(
        text.contains("需要至少 3 次读数"),
        "two readings are too few: {text}"
    );
    set_clock(&site, start + 1200);
    read_balance(&user, &token, "main").await;
    let text = visible_text(&user.get("/").await.body);
    assert!(text.contains("需要至少 1 小时的读数"), "{text}");

    for hour in 1..=4 {
        account.spend(10.0);
        set_clock(&site, start + hour * HOUR);
        read_balance(&user, &token, "main").await;
    }
    account.grant(200.0);
    set_clock(&site, start + 5 * HOUR);
    read_balance(&user, &token, "main").await;
    let page = user.get("/").await;
    assert!(page.body.contains(r#"data-basis="pace""#), "{}", page.body);
    let text = visible_text(&page.body);
    assert!(text.contains("按最近 5 小时的速度"), "{text}");
    assert!(text.contains("用完"), "{text}");
    assert!(text.contains("约 200 魔粒将于 明天 12:00 过期"), "{text}");

    user.submit("/lang", &[("lang", "en"), ("next", "/")]).await;
    let text = visible_text(&user.get("/").await.body);
    assert!(text.contains("At the pace of the last 5 hours"), "{text}");
    assert!(
        text.contains("About 200 points expire tomorrow at 12:00"),
        "{text}"
    );
    assert_eq!(account.chat_calls(), 0);
}

#[tokio::test]
async fn the_balance_trend_shows_todays_readings_at_their_times_the_forecast_and_grants() {
    let (site, account, start) = site_with(100.0).await;
    let (user, token) = member(&site, "alice").await;
    for (at, spent) in [(0, 0.0), (20, 5.0), (40, 5.0), (60, 5.0), (80, 5.0)] {
        account.spend(spent);
        set_clock(&site, start + at * 60);
        read_balance(&user, &token, "main").await;
    }
    account.grant(200.0);
    set_clock(&site, start + 100 * 60);
    read_balance(&user, &token, "main").await;

    let page = user.get("/history/balance").await;
    assert_eq!(page.status, Status::Ok, "{}", page.body);
    let body = &page.body;
    // Six readings of today, each at its time (08:00, 08:20, … 09:40), in the table too.
    for time in ["08:00", "08:20", "08:40", "09:00", "09:20", "09:40"] {
        assert!(body.contains(time), "{time}: {body}");
    }
    assert_eq!(body.matches(r#"<circle class="point""#).count(), 6);
    assert_eq!(
        body.matches(r#"<tr>"#).count(),
        1 + 6,
        "a header and a row per reading"
    );
    // Time labels along the day, the forecast dashed, the grant marked.
    assert!(
        body.contains(r#"class="x-tick""#) && body.contains(">12:00<"),
        "{body}"
    );
    assert_eq!(
        body.matches(r#"class="line forecast""#).count(),
        1,
        "{body}"
    );
    assert_eq!(body.matches(r#"class="grant-mark""#).count(), 1, "{body}");
    assert!(visible_text(body).contains("+200（领取）"), "{body}");
    assert!(body.contains(r#"aria-current="page">今天<"#), "{body}");

    for range in ["7d", "30d"] {
        let page = user.get(&format!("/history/balance?range={range}")).await;
        assert_eq!(page.status, Status::Ok, "{range}");
        assert!(page.body.contains("<polyline"), "{range}: {}", page.body);
    }
    let bad = user.get("/history/balance?range=year").await;
    assert_eq!(bad.status, Status::BadRequest);
    assert_eq!(account.chat_calls(), 0);
}
