//! The points regime (ModelScope bills API-Inference in 魔粒 and may send no rate-limit
//! headers): rows that rest on the balance, the balance read before and after the probes
//! settle, what a run cost, prices learned or set (and whose they are), the free check on every
//! face, out-of-points against rate limits, the international site, the dashboard's refresh and
//! the daily-grant reminder. The account is a stateful double ([`PointsAccount`]).

use std::time::Duration;

use rocket::http::Status;
use serde_json::{Value, json};
use wiremock::matchers::body_partial_json;
use wiremock::{MockServer, ResponseTemplate};

use crate::harness::api::{api_balance, assert_row, points_row, post_balance, rows};
use crate::harness::db::count;
use crate::harness::points::{Outcome, PointsAccount};
use crate::harness::secrets::{KEY, OTHER_KEY};
use crate::harness::upstream::{
    MODEL_A, MODEL_B, MODEL_C, any_chat, balance, forbid_any_call, mount_balance,
};
use crate::harness::{TestApp, User};

/// A raw-key API call; the envelope, which must be a 200.
async fn ask(site: &TestApp, body: Value) -> Value {
    let client = site.start().await;
    let answer = post_balance(&client, &body).await;
    assert_eq!(answer.status, Status::Ok, "{}", answer.body);
    answer.json()
}

/// A signed-in user's API call with their token; the envelope, which must be a 200.
async fn ask_as(user: &User, token: &str, body: Value) -> Value {
    let answer = api_balance(&user.client, Some(token), &body).await;
    assert_eq!(answer.status, Status::Ok, "{}", answer.body);
    answer.json()
}

fn account(json: &Value) -> (f64, f64, f64) {
    let a = &json["account"];
    let number = |name: &str| a[name].as_f64().unwrap_or_else(|| panic!("{name}: {json}"));
    (
        number("total_balance"),
        number("available_balance"),
        number("frozen_amount"),
    )
}

// ---------------------------------------------------------------------------------------------
// Rows and cost

#[tokio::test]
async fn without_rate_headers_a_healthy_model_rests_on_the_balance_and_the_run_says_its_cost() {
    let site = TestApp::new().await;
    let upstream = PointsAccount::new(100.0, &[(MODEL_A, 1.0), (MODEL_B, 2.0)]);
    upstream.mount(&site.upstream).await;

    let json = ask(&site, json!({"models": [MODEL_A, MODEL_B], "api_key": KEY})).await;

    assert_eq!(json["success"], json!(true), "{json}");
    assert_eq!(json["message"], json!("成功查询 2 个模型的余额信息"));
    let rows = rows(&json);
    assert_eq!(rows.len(), 2);
    // No price is known yet: the range the balance allows at the cheapest and dearest tier.
    assert_row(&rows[0], points_row(MODEL_A, 97.0, None, Some(200)));
    assert_row(&rows[1], points_row(MODEL_B, 97.0, None, Some(200)));
    assert_eq!(rows[0]["calls_left_range"], json!([48, 485]));
    assert_eq!(json["points_spent"], json!(3));
    assert_eq!(
        json["expected_points"],
        json!({"min": 0.4, "max": 4}),
        "{json}"
    );
    assert_eq!(account(&json), (97.0, 97.0, 0.0));
    assert_eq!(upstream.chat_calls(), 2);
    // Read once before the first probe (nothing spent yet), last after the run.
    let reads = upstream.balance_reads();
    assert_eq!(reads.first(), Some(&(100.0, 0.0)), "{reads:?}");
    assert_eq!(reads.last(), Some(&(97.0, 0.0)), "{reads:?}");
}

#[tokio::test]
async fn the_last_balance_is_read_after_the_frozen_points_come_back() {
    let site = TestApp::new().await;
    // The call answers at once but holds its point for 700 ms more; it failed for a system
    // reason, so the point is refunded when it settles.
    let upstream = PointsAccount::new(50.0, &[(MODEL_A, 1.0), (MODEL_B, 1.0)])
        .timed(Duration::ZERO, Duration::from_millis(700))
        .answering(MODEL_A, Outcome::SystemFailure);
    upstream.mount(&site.upstream).await;

    let json = ask(&site, json!({"models": [MODEL_A, MODEL_B], "api_key": KEY})).await;

    let reads = upstream.balance_reads();
    assert!(
        reads.iter().any(|&(_, frozen)| frozen > 0.0),
        "the app should have seen the points frozen and waited: {reads:?}"
    );
    assert_eq!(reads.last().map(|r| r.1), Some(0.0), "{reads:?}");
    assert_eq!(account(&json).2, 0.0, "{json}");
    // Only the healthy call cost anything; reading while frozen would have said 1 + refunds.
    assert_eq!(json["points_spent"], json!(1), "{json}");
    assert_eq!(
        rows(&json)[0]["error_code"],
        json!("upstream_error"),
        "{json}"
    );
    assert_eq!(rows(&json)[1]["quota_source"], json!("points"), "{json}");
}

#[tokio::test]
async fn the_settle_wait_is_bounded() {
    let site = TestApp::new().await;
    // Points that stay frozen far longer than the app waits.
    let upstream =
        PointsAccount::new(50.0, &[(MODEL_A, 1.0)]).timed(Duration::ZERO, Duration::from_secs(30));
    upstream.mount(&site.upstream).await;

    let started = std::time::Instant::now();
    let json = ask(&site, json!({"models": [MODEL_A], "api_key": KEY})).await;

    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        account(&json),
        (50.0, 49.0, 1.0),
        "the reading as it was: {json}"
    );
    assert_eq!(json["success"], json!(true), "{json}");
}

// ---------------------------------------------------------------------------------------------
// Prices

/// A user with a saved key and an API token.
async fn member(site: &TestApp, name: &str, key: &str) -> (User, String) {
    let user = site.user(name).await;
    user.add_key("main", key).await;
    let token = user.create_token("script").await;
    (user, token)
}

#[tokio::test]
async fn a_one_model_run_learns_that_models_price_and_then_counts_calls_with_it() {
    let site = TestApp::new().await;
    let upstream = PointsAccount::new(50.0, &[(MODEL_A, 0.5)]);
    upstream.mount(&site.upstream).await;
    let (alice, token) = member(&site, "alice", KEY).await;

    let first = ask_as(
        &alice,
        &token,
        json!({"key_id": "main", "models": [MODEL_A]}),
    )
    .await;
    assert_eq!(first["points_spent"], json!(0.5), "{first}");
    assert_eq!(
        first["expected_points"],
        json!({"min": 0.2, "max": 2}),
        "unknown before"
    );
    // Learned from this very run, and already used for its row.
    assert_row(
        &rows(&first)[0],
        points_row(MODEL_A, 49.5, Some((0.5, "measured")), Some(200)),
    );

    let second = ask_as(
        &alice,
        &token,
        json!({"key_id": "main", "models": [MODEL_A]}),
    )
    .await;
    assert_row(
        &rows(&second)[0],
        points_row(MODEL_A, 49.0, Some((0.5, "measured")), Some(200)),
    );
    assert_eq!(rows(&second)[0]["calls_left"], json!(98));
    assert_eq!(second["expected_points"], json!({"min": 0.5, "max": 0.5}));
}

#[tokio::test]
async fn a_price_a_user_sets_is_theirs_alone() {
    let site = TestApp::new().await;
    let upstream = PointsAccount::new(40.0, &[(MODEL_B, 2.0)]);
    upstream.mount(&site.upstream).await;
    let (alice, alice_token) = member(&site, "alice", KEY).await;
    let (bob, bob_token) = member(&site, "bob", OTHER_KEY).await;

    let saved = alice
        .submit("/prices", &[("model", MODEL_B), ("points", "2")])
        .await;
    assert_eq!(saved.status, Status::SeeOther, "{}", saved.body);

    let check = json!({"key_id": "main", "models": [MODEL_B], "probe": false});
    let hers = ask_as(&alice, &alice_token, check.clone()).await;
    assert_eq!(rows(&hers)[0]["points_per_call"], json!(2), "{hers}");
    assert_eq!(rows(&hers)[0]["price_source"], json!("set"));
    assert_eq!(rows(&hers)[0]["calls_left"], json!(20));
    let his = ask_as(&bob, &bob_token, check).await;
    assert_eq!(rows(&his)[0]["points_per_call"], Value::Null, "{his}");
    assert_eq!(rows(&his)[0]["calls_left_range"], json!([20, 200]));
    // The presets page lists her price, not his.
    let page = bob.get("/presets").await;
    assert!(!page.body.contains("你设置的"), "{}", page.body);
    assert_eq!(upstream.chat_calls(), 0);
}

#[tokio::test]
async fn a_measured_price_is_shared_only_once_two_users_agree() {
    let site = TestApp::new().await;
    let upstream = PointsAccount::new(500.0, &[(MODEL_C, 1.0)]);
    upstream.mount(&site.upstream).await;
    let (alice, alice_token) = member(&site, "alice", KEY).await;
    let (bob, bob_token) = member(&site, "bob", OTHER_KEY).await;
    let (carol, carol_token) = member(&site, "carol", KEY).await;
    let probe = json!({"key_id": "main", "models": [MODEL_C]});
    let check = json!({"key_id": "main", "models": [MODEL_C], "probe": false});

    ask_as(&alice, &alice_token, probe.clone()).await;
    let before = ask_as(&carol, &carol_token, check.clone()).await;
    assert_eq!(
        rows(&before)[0]["points_per_call"],
        Value::Null,
        "one user's word: {before}"
    );

    ask_as(&bob, &bob_token, probe).await;
    let after = ask_as(&carol, &carol_token, check).await;
    assert_eq!(rows(&after)[0]["points_per_call"], json!(1), "{after}");
    assert_eq!(rows(&after)[0]["price_source"], json!("measured"));
}

// ---------------------------------------------------------------------------------------------
// The free check

#[tokio::test]
async fn a_free_check_reads_only_the_balance_on_every_face() {
    let site = TestApp::new().await;
    let upstream = PointsAccount::new(120.0, &[(MODEL_A, 1.0), (MODEL_B, 2.0)]);
    upstream.mount(&site.upstream).await;

    // The API, with a pasted key.
    let json = ask(
        &site,
        json!({"models": [MODEL_A, MODEL_B], "api_key": KEY, "probe": false}),
    )
    .await;
    assert_eq!(json["success"], json!(true), "{json}");
    assert_eq!(json["probe"], json!(false));
    assert_eq!(json.get("points_spent"), None, "{json}");
    for row in rows(&json) {
        assert_eq!(row["status"], Value::Null, "{row}");
        assert_eq!(row["quota_source"], json!("points"), "{row}");
        assert_eq!(row["calls_left_range"], json!([60, 600]), "{row}");
        assert_eq!(row["checked"], json!(false), "{row}");
    }

    // The quick form, /query and the dashboard's preset form.
    let user = site.user("alice").await;
    let key = user.add_key("main", KEY).await.to_string();
    let preset = user
        .add_preset("daily", &[MODEL_A, MODEL_B])
        .await
        .to_string();
    let models = format!("{MODEL_A}\n{MODEL_B}");
    let answers = [
        user.submit(
            "/quick",
            &[("key_id", &key), ("models", &models), ("probe", "false")],
        )
        .await,
        user.run_query(&[("key_id", &key), ("models", &models), ("probe", "false")])
            .await,
        user.run_query(&[("key_id", &key), ("preset_id", &preset), ("probe", "false")])
            .await,
    ];
    for answer in &answers {
        let page = match answer.status {
            Status::SeeOther => crate::harness::http::follow(&user.client, answer).await,
            _ => answer.clone(),
        };
        assert_eq!(page.status, Status::Ok, "{}", page.body);
        assert!(
            page.body.contains("魔粒余额（免费查询，未调用模型）"),
            "{}",
            page.body
        );
        assert!(page.body.contains("120"), "{}", page.body);
    }
    assert_eq!(upstream.chat_calls(), 0, "a free check called a model");
    let dashboard = user.get("/").await;
    assert!(
        dashboard.body.contains(r#"name="probe" value="false""#),
        "the dashboard offers the free check"
    );
}

// ---------------------------------------------------------------------------------------------
// Out of points, or a rate limit

#[tokio::test]
async fn a_429_while_the_points_do_not_cover_the_price_is_quota_exhausted_and_not_retried() {
    let site = TestApp::new().await;
    let upstream = PointsAccount::new(1.0, &[(MODEL_B, 2.0)]);
    upstream.mount(&site.upstream).await;

    let json = ask(&site, json!({"models": [MODEL_B], "api_key": KEY})).await;

    let row = &rows(&json)[0];
    assert_eq!(row["error_code"], json!("quota_exhausted"), "{json}");
    assert_eq!(row["status"], json!(429));
    let error = row["error"].as_str().unwrap_or_default();
    assert!(error.contains("魔粒"), "says the points ran out: {error}");
    assert_eq!(upstream.chat_calls(), 1, "never retried");
    assert_eq!(json["success"], json!(false));
}

#[tokio::test]
async fn a_quota_like_402_or_403_or_quota_limit_exceed_counts_as_out_of_points_too() {
    for (status, body) in [
        (
            402,
            json!({"code": "QuotaLimitExceed", "message": "x", "request_id": "r"}),
        ),
        (
            403,
            json!({"error": {"message": "Quota exceeded for this account"}}),
        ),
        (
            429,
            json!({"errors": {"code": "QuotaLimitExceed", "message": "no"}}),
        ),
    ] {
        let site = TestApp::new().await;
        // The price is unknown to the app: below 2 points is too little for any model.
        let upstream =
            PointsAccount::new(1.5, &[(MODEL_B, 2.0)]).refusing_with(status, body.clone());
        upstream.mount(&site.upstream).await;

        let json = ask(&site, json!({"models": [MODEL_B], "api_key": KEY})).await;

        let row = &rows(&json)[0];
        assert_eq!(
            row["error_code"],
            json!("quota_exhausted"),
            "{status} {body}: {json}"
        );
        assert_eq!(upstream.chat_calls(), 1, "{status}: never retried");
    }
}

#[tokio::test]
async fn a_429_with_points_left_is_a_rate_limit_and_is_retried_once() {
    let site = TestApp::new().await;
    mount_balance(&site.upstream).await;
    any_chat()
        .respond_with(ResponseTemplate::new(429).set_body_json(
            json!({"errors": {"message": "Request limit exceeded.", "request_id": "r"}}),
        ))
        .expect(2)
        .mount(&site.upstream)
        .await;

    let json = ask(&site, json!({"models": [MODEL_A], "api_key": KEY})).await;

    assert_eq!(
        rows(&json)[0]["error_code"],
        json!("rate_limited"),
        "{json}"
    );
}

// ---------------------------------------------------------------------------------------------
// Sites

#[tokio::test]
async fn a_key_of_the_international_site_is_used_there_only() {
    let international = MockServer::start().await;
    let ai_base = international.uri();
    let site = TestApp::configured(|config| {
        config
            .merge(("modelscope_ai_api_base", format!("{ai_base}/v1")))
            .merge(("modelscope_ai_hub_base", ai_base.clone()))
    })
    .await;
    forbid_any_call(&site.upstream).await;
    let upstream = PointsAccount::new(30.0, &[(MODEL_A, 1.0)]);
    upstream.mount(&international).await;
    let user = site.user("alice").await;
    let saved = user
        .submit(
            "/keys",
            &[("label", "intl"), ("api_key", KEY), ("site", "ai")],
        )
        .await;
    assert_eq!(saved.status, Status::SeeOther, "{}", saved.body);
    let keys = user.get("/keys").await;
    assert!(
        keys.body.contains("国际站"),
        "the site is shown beside the key"
    );
    let token = user.create_token("script").await;

    let json = ask_as(
        &user,
        &token,
        json!({"key_id": "intl", "models": [MODEL_A]}),
    )
    .await;

    assert_eq!(json["success"], json!(true), "{json}");
    assert_eq!(json["points_spent"], json!(1));
    assert_eq!(upstream.chat_calls(), 1);
    let reads = upstream.balance_reads().len();
    let check = user
        .submit(&format!("/keys/{}/check", user.saved_key_id("intl")), &[])
        .await;
    assert_eq!(check.status, Status::Ok, "{}", check.body);
    assert!(check.body.contains("有效"), "{}", check.body);
    assert_eq!(upstream.balance_reads().len(), reads + 1, "checked there");
}

// ---------------------------------------------------------------------------------------------
// The dashboard

#[tokio::test]
async fn the_dashboard_refresh_reads_the_balance_and_never_calls_a_model() {
    let site = TestApp::new().await;
    let upstream = PointsAccount::new(80.0, &[(MODEL_A, 1.0)]);
    upstream.mount(&site.upstream).await;
    let user = site.user("alice").await;
    let key = user.add_key("main", KEY).await;
    user.run_query_ok(&[("key_id", &key.to_string()), ("models", MODEL_A)])
        .await;
    let calls = upstream.chat_calls();
    let reads = upstream.balance_reads().len();

    let answer = user.submit(&format!("/keys/{key}/refresh"), &[]).await;

    assert_eq!(answer.status, Status::SeeOther, "{}", answer.body);
    let page = crate::harness::http::follow(&user.client, &answer).await;
    assert!(
        page.body.contains("余额已刷新（免费，未调用任何模型）"),
        "{}",
        page.body
    );
    assert!(page.body.contains("79"), "the new balance: {}", page.body);
    assert_eq!(upstream.chat_calls(), calls, "a refresh called a model");
    assert_eq!(upstream.balance_reads().len(), reads + 1);
    assert_eq!(
        count(
            &site.db(),
            "SELECT count(*) FROM queries WHERE user_id = ?1 AND kind = 'check'",
            user.id
        ),
        1,
        "the reading is kept in history"
    );
}

#[tokio::test]
async fn the_dashboard_reminds_of_the_daily_grant_until_the_balance_rises() {
    let site = TestApp::new().await;
    let upstream = PointsAccount::new(12.0, &[(MODEL_A, 1.0)]);
    upstream.mount(&site.upstream).await;
    let user = site.user("alice").await;
    let key = user.add_key("main", KEY).await;
    let refresh = format!("/keys/{key}/refresh");
    const REMINDER: &str = "今天的登录奖励可能还没领取";

    user.submit(&refresh, &[]).await;
    user.submit(&refresh, &[]).await;
    let page = user.get("/").await;
    assert!(page.body.contains(REMINDER), "no rise today: {}", page.body);

    upstream.grant(200.0);
    user.submit(&refresh, &[]).await;
    let page = user.get("/").await;
    assert!(
        !page.body.contains(REMINDER),
        "the grant came: {}",
        page.body
    );
    assert!(page.body.contains("212"), "{}", page.body);
}

#[tokio::test]
async fn the_balance_trend_draws_one_line_per_key() {
    let site = TestApp::new().await;
    let upstream = PointsAccount::new(60.0, &[(MODEL_A, 1.0)]);
    upstream.mount(&site.upstream).await;
    let user = site.user("alice").await;
    let first = user.add_key("first-key", KEY).await;
    let second = user.add_key("second-key", OTHER_KEY).await;
    for key in [first, second, first] {
        user.submit(&format!("/keys/{key}/refresh"), &[]).await;
    }

    let page = user.get("/history/balance").await;

    assert_eq!(page.status, Status::Ok, "{}", page.body);
    assert!(
        page.body.contains("first-key") && page.body.contains("second-key"),
        "{}",
        page.body
    );
    assert_eq!(
        page.body.matches("<polyline").count() + page.body.matches("<path").count(),
        2,
        "one line per key: {}",
        page.body
    );
}

#[tokio::test]
async fn the_balance_endpoint_failing_leaves_the_rows_and_says_so() {
    let site = TestApp::new().await;
    balance()
        .respond_with(
            ResponseTemplate::new(500)
                .set_body_json(json!({"success": false, "code": "x", "message": "boom"})),
        )
        .mount(&site.upstream)
        .await;
    any_chat()
        .and(body_partial_json(json!({"model": MODEL_A})))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(crate::harness::upstream::completion()),
        )
        .expect(1)
        .mount(&site.upstream)
        .await;

    let json = ask(&site, json!({"models": [MODEL_A], "api_key": KEY})).await;

    assert!(json["account"]["error"].is_string(), "{json}");
    assert_eq!(json["points_spent"], Value::Null, "{json}");
    assert_eq!(
        rows(&json)[0]["error_code"],
        json!("no_quota_data"),
        "{json}"
    );
}
