//! Prices learned from every run (issue 17), against the stateful points double: equations of
//! several models pin prices, the 0.2 tier, the price census and its budget, runs that the
//! points cannot pay for, monthly headers, the rates endpoint, concurrent runs on one key and
//! another client spending it meanwhile, keys of another shape, and the bad inputs.

use std::time::{Duration, Instant};

use rocket::http::{ContentType, Header, Status};
use serde_json::{Value, json};

use crate::harness::api::{api_balance, post_balance, rows};
use crate::harness::db::count;
use crate::harness::points::{Event, PointsAccount, Rates, mount_rates};
use crate::harness::secrets::KEY;
use crate::harness::upstream::{MODEL_A, MODEL_B, MODEL_C};
use crate::harness::{TestApp, User};

const MODEL_D: &str = "moonshotai/Kimi-K2-Instruct";

/// A user with a saved key `main` and an API token.
async fn member(site: &TestApp, name: &str) -> (User, String) {
    let user = site.user(name).await;
    user.add_key("main", KEY).await;
    let token = user.create_token("script").await;
    (user, token)
}

/// A token holder's run of `models` on the saved key; the envelope, which must be a 200.
async fn run(user: &User, token: &str, models: &[&str]) -> Value {
    ask(user, token, json!({"key_id": "main", "models": models})).await
}

async fn ask(user: &User, token: &str, body: Value) -> Value {
    let answer = api_balance(&user.client, Some(token), &body).await;
    assert_eq!(answer.status, Status::Ok, "{}", answer.body);
    answer.json()
}

/// The row of `model` in an envelope.
fn row<'a>(json: &'a Value, model: &str) -> &'a Value {
    rows(json)
        .iter()
        .find(|r| r["model"] == json!(model))
        .unwrap_or_else(|| panic!("no row of {model}: {json}"))
}

/// The finished result on a page (not the live form's templates).
fn results_section(page: &str) -> &str {
    let start = page
        .find(r#"id="results""#)
        .unwrap_or_else(|| panic!("no results: {page}"));
    let end = page[start..]
        .find("</section>")
        .map_or(page.len(), |e| start + e);
    &page[start..end]
}

fn measurements(site: &TestApp, user: &User) -> i64 {
    count(
        &site.db(),
        "SELECT count(*) FROM price_measurements WHERE user_id = ?1",
        user.id,
    )
}

// ---------------------------------------------------------------------------------------------
// Learning from every run

#[tokio::test]
async fn three_runs_of_several_models_pin_three_unknown_prices() {
    let site = TestApp::new().await;
    let upstream = PointsAccount::new(100.0, &[(MODEL_A, 1.0), (MODEL_B, 2.0), (MODEL_C, 0.5)]);
    upstream.mount(&site.upstream).await;
    let (alice, token) = member(&site, "alice").await;

    let first = run(&alice, &token, &[MODEL_A, MODEL_B, MODEL_C]).await;
    assert_eq!(first["points_spent"], json!(3.5), "{first}");
    assert_eq!(first["points_note"], Value::Null, "{first}");
    for model in [MODEL_A, MODEL_B, MODEL_C] {
        assert_eq!(
            row(&first, model)["points_per_call"],
            Value::Null,
            "{first}"
        );
    }

    let second = run(&alice, &token, &[MODEL_A, MODEL_B]).await;
    assert_eq!(second["points_spent"], json!(3), "{second}");
    // A and B are 1 or 2 each; the first run then leaves C only 0.5.
    assert_eq!(row(&second, MODEL_A)["price_candidates"], json!([1, 2]));
    assert_eq!(row(&second, MODEL_B)["price_candidates"], json!([1, 2]));
    assert_eq!(row(&second, MODEL_A)["calls_left_range"], json!([46, 93]));

    let third = run(&alice, &token, &[MODEL_B, MODEL_C]).await;
    assert_eq!(third["points_spent"], json!(2.5), "{third}");
    // 91 points left: every price pinned, every row one number.
    let check = ask(
        &alice,
        &token,
        json!({"key_id": "main", "models": [MODEL_A, MODEL_B, MODEL_C], "probe": false}),
    )
    .await;
    for (model, price, calls) in [
        (MODEL_A, json!(1), 91),
        (MODEL_B, json!(2), 45),
        (MODEL_C, json!(0.5), 182),
    ] {
        let row = row(&check, model);
        assert_eq!(row["points_per_call"], json!(price), "{check}");
        assert_eq!(row["price_source"], json!("inferred"), "{check}");
        assert_eq!(row["price_candidates"], Value::Null, "{check}");
        assert_eq!(row["calls_left"], json!(calls), "{check}");
        assert_eq!(row["calls_left_range"], Value::Null, "{check}");
    }
    assert_eq!(upstream.chat_calls(), 7);
}

#[tokio::test]
async fn a_model_of_the_discount_tier_is_learned() {
    let site = TestApp::new().await;
    let upstream = PointsAccount::new(10.0, &[(MODEL_A, 0.2)]);
    upstream.mount(&site.upstream).await;
    let (alice, token) = member(&site, "alice").await;

    let json = run(&alice, &token, &[MODEL_A]).await;

    assert_eq!(json["points_spent"], json!(0.2), "{json}");
    let row = row(&json, MODEL_A);
    assert_eq!(row["points_per_call"], json!(0.2), "{json}");
    assert_eq!(row["price_source"], json!("measured"));
    assert_eq!(row["calls_left"], json!(49), "9.8 points at 0.2: {json}");
    assert_eq!(measurements(&site, &alice), 1);
}

#[tokio::test]
async fn an_unusual_price_of_one_model_is_measured_not_dropped() {
    let site = TestApp::new().await;
    let upstream = PointsAccount::new(10.0, &[(MODEL_A, 1.5)]);
    upstream.mount(&site.upstream).await;
    let (alice, token) = member(&site, "alice").await;

    let json = run(&alice, &token, &[MODEL_A]).await;

    let row = row(&json, MODEL_A);
    assert_eq!(row["points_per_call"], json!(1.5), "{json}");
    assert_eq!(row["price_source"], json!("measured"));
    let page = alice.get("/history").await;
    assert_eq!(page.status, Status::Ok);
    let id = json["history_id"].as_i64().unwrap();
    let detail = alice.get(&format!("/history/{id}")).await;
    assert!(detail.body.contains("不在已知档位"), "{}", detail.body);
}

#[tokio::test]
async fn a_price_that_changes_needs_a_second_agreeing_measurement_and_is_news() {
    let site = TestApp::new().await;
    let upstream = PointsAccount::new(50.0, &[(MODEL_A, 1.0)]);
    upstream.mount(&site.upstream).await;
    let (alice, token) = member(&site, "alice").await;
    run(&alice, &token, &[MODEL_A]).await;

    // The upstream now charges 2: a second double on the same server answers first.
    let dearer = PointsAccount::new(49.0, &[(MODEL_A, 2.0)]);
    site.upstream.reset().await;
    dearer.mount(&site.upstream).await;
    let once = run(&alice, &token, &[MODEL_A]).await;
    assert_eq!(once["points_spent"], json!(2), "{once}");
    assert_eq!(
        row(&once, MODEL_A)["points_per_call"],
        json!(1),
        "one is not enough: {once}"
    );
    assert_eq!(once.get("price_changes"), None, "{once}");

    let twice = run(&alice, &token, &[MODEL_A]).await;
    assert_eq!(row(&twice, MODEL_A)["points_per_call"], json!(2), "{twice}");
    assert_eq!(
        twice["price_changes"],
        json!([{"model": MODEL_A, "from": 1, "to": 2}]),
        "{twice}"
    );
    assert_eq!(
        count(
            &site.db(),
            "SELECT count(*) FROM price_changes WHERE user_id = ?1",
            alice.id
        ),
        1
    );
}

// ---------------------------------------------------------------------------------------------
// The census

#[tokio::test]
async fn a_census_of_four_unknown_models_calls_each_once_between_balance_reads() {
    let site = TestApp::new().await;
    let upstream = PointsAccount::new(
        20.0,
        &[
            (MODEL_A, 1.0),
            (MODEL_B, 2.0),
            (MODEL_C, 0.5),
            (MODEL_D, 0.2),
        ],
    );
    upstream.mount(&site.upstream).await;
    let (alice, token) = member(&site, "alice").await;

    let json = ask(
        &alice,
        &token,
        json!({"key_id": "main", "models": [MODEL_A, MODEL_B, MODEL_C, MODEL_D], "measure_prices": true}),
    )
    .await;

    assert_eq!(
        json["measured"],
        json!({MODEL_A: 1, MODEL_B: 2, MODEL_C: 0.5, MODEL_D: 0.2}),
        "{json}"
    );
    assert_eq!(json["unmeasured"], json!([]), "{json}");
    assert_eq!(json["points_spent"], json!(3.7), "{json}");
    assert_eq!(json["expected_points"], json!({"min": 0.8, "max": 8}));
    assert_eq!(upstream.chat_calls(), 4);
    let events = upstream.events();
    assert!(matches!(events.last(), Some(Event::Read(..))), "{events:?}");
    for (at, event) in events.iter().enumerate() {
        if let Event::Chat(_) = event {
            assert!(
                matches!(events.get(at.wrapping_sub(1)), Some(Event::Read(..))),
                "a read right before each call: {events:?}"
            );
        }
    }
    for row in rows(&json) {
        assert_eq!(row["price_source"], json!("measured"), "{row}");
        assert_eq!(row["checked"], json!(true), "{row}");
    }
    assert_eq!(measurements(&site, &alice), 4);

    // Nothing is left to measure: a second census calls nothing.
    let again = ask(
        &alice,
        &token,
        json!({"key_id": "main", "models": [MODEL_A, MODEL_B], "measure_prices": true}),
    )
    .await;
    assert_eq!(again["measured"], json!({}), "{again}");
    assert_eq!(upstream.chat_calls(), 4);
}

#[tokio::test]
async fn a_census_never_spends_beyond_its_budget() {
    let site = TestApp::new().await;
    let upstream = PointsAccount::new(
        20.0,
        &[
            (MODEL_A, 1.0),
            (MODEL_B, 2.0),
            (MODEL_C, 0.5),
            (MODEL_D, 0.2),
        ],
    );
    upstream.mount(&site.upstream).await;
    let (alice, token) = member(&site, "alice").await;

    let json = ask(
        &alice,
        &token,
        json!({"key_id": "main", "models": [MODEL_A, MODEL_B, MODEL_C, MODEL_D],
               "measure_prices": true, "budget": 2.5}),
    )
    .await;

    // A (at most 2) fits 2.5 and costs 1; then 1.5 is left, below any unknown model's dearest.
    assert_eq!(json["measured"], json!({MODEL_A: 1}), "{json}");
    assert_eq!(
        json["unmeasured"],
        json!([MODEL_B, MODEL_C, MODEL_D]),
        "{json}"
    );
    assert_eq!(json["budget"], json!(2.5));
    assert_eq!(upstream.chat_calls(), 1);
    assert_eq!(upstream.available(), 19.0);
    for model in [MODEL_B, MODEL_C, MODEL_D] {
        assert_eq!(row(&json, model)["checked"], json!(false), "{json}");
    }
}

#[tokio::test]
async fn a_census_measures_again_a_model_whose_difference_another_client_spoiled() {
    let site = TestApp::new().await;
    // Another client's call starts and settles while the first call is in flight.
    let upstream = PointsAccount::new(30.0, &[(MODEL_A, 1.0)])
        .timed(Duration::from_millis(400), Duration::ZERO)
        .spent_elsewhere(1, 2.0, Duration::ZERO, Duration::from_millis(30));
    upstream.mount(&site.upstream).await;
    let (alice, token) = member(&site, "alice").await;

    let json = ask(
        &alice,
        &token,
        json!({"key_id": "main", "models": [MODEL_A], "measure_prices": true}),
    )
    .await;

    assert_eq!(upstream.chat_calls(), 2, "measured once more: {json}");
    assert_eq!(json["measured"], json!({MODEL_A: 1}), "{json}");
    assert_eq!(json["points_note"], json!("outside"), "{json}");
}

// ---------------------------------------------------------------------------------------------
// Out of points

#[tokio::test]
async fn a_probe_run_the_points_cannot_pay_for_calls_no_model() {
    let site = TestApp::new().await;
    let upstream = PointsAccount::new(0.3, &[(MODEL_A, 0.5), (MODEL_B, 1.0)]);
    upstream.mount(&site.upstream).await;
    let (alice, token) = member(&site, "alice").await;
    for (model, points) in [(MODEL_A, "0.5"), (MODEL_B, "1")] {
        let set = alice
            .submit("/prices", &[("model", model), ("points", points)])
            .await;
        assert_eq!(set.status, Status::SeeOther, "{}", set.body);
    }

    let json = run(&alice, &token, &[MODEL_A, MODEL_B]).await;

    assert_eq!(upstream.chat_calls(), 0, "{json}");
    assert_eq!(json["success"], json!(false));
    let message = json["message"].as_str().unwrap_or_default();
    assert!(message.starts_with("魔粒不足，未调用模型"), "{message}");
    assert!(message.contains("0.3"), "{message}");
    for row in rows(&json) {
        assert_eq!(row["error_code"], json!("points_exhausted"), "{row}");
        assert_eq!(row["checked"], json!(false), "{row}");
        assert_eq!(row["calls_left"], json!(0), "0 points buy 0 calls: {row}");
    }
    // The pages say it once, at the top.
    let page = alice
        .submit(
            "/quick",
            &[
                ("key_id", &alice.saved_key_id("main").to_string()),
                ("models", MODEL_A),
            ],
        )
        .await;
    assert!(page.body.contains("魔粒不足，未调用模型"), "{}", page.body);
    assert_eq!(upstream.chat_calls(), 0);
}

#[tokio::test]
async fn with_unknown_prices_only_less_than_the_cheapest_tier_calls_nothing() {
    let site = TestApp::new().await;
    let upstream = PointsAccount::new(0.1, &[(MODEL_A, 0.5)]);
    upstream.mount(&site.upstream).await;
    let client = site.start().await;

    let answer = post_balance(&client, &json!({"models": [MODEL_A], "api_key": KEY})).await;

    let json = answer.json();
    assert_eq!(upstream.chat_calls(), 0, "{json}");
    assert_eq!(rows(&json)[0]["error_code"], json!("points_exhausted"));
    assert_eq!(json["points_spent"], json!(0));
}

#[tokio::test]
async fn a_partly_covered_run_calls_only_what_the_points_pay_for() {
    let site = TestApp::new().await;
    let upstream = PointsAccount::new(1.5, &[(MODEL_A, 1.0), (MODEL_B, 1.0), (MODEL_C, 0.5)]);
    upstream.mount(&site.upstream).await;
    let (alice, token) = member(&site, "alice").await;
    for (model, points) in [(MODEL_A, "1"), (MODEL_B, "1"), (MODEL_C, "0.5")] {
        alice
            .submit("/prices", &[("model", model), ("points", points)])
            .await;
    }

    let json = run(&alice, &token, &[MODEL_A, MODEL_B, MODEL_C]).await;

    assert_eq!(upstream.chat_calls(), 2, "{json}");
    assert_eq!(row(&json, MODEL_A)["error_code"], Value::Null, "{json}");
    assert_eq!(row(&json, MODEL_A)["checked"], json!(true));
    assert_eq!(row(&json, MODEL_B)["error_code"], json!("points_exhausted"));
    assert_eq!(row(&json, MODEL_B)["checked"], json!(false));
    assert_eq!(row(&json, MODEL_C)["error_code"], Value::Null, "{json}");
    assert_eq!(json["points_spent"], json!(1.5), "{json}");
    // Nothing left: every row is 0 calls, failed or not.
    for row in rows(&json) {
        assert_eq!(row["calls_left"], json!(0), "{row}");
    }
}

// ---------------------------------------------------------------------------------------------
// Monthly headers

#[tokio::test]
async fn the_monthly_headers_are_read_stored_shown_and_bound_calls_left() {
    let site = TestApp::new().await;
    let upstream = PointsAccount::new(100.0, &[(MODEL_A, 1.0)]).monthly(MODEL_A, 5500, 10);
    upstream.mount(&site.upstream).await;
    let (alice, token) = member(&site, "alice").await;

    let json = run(&alice, &token, &[MODEL_A]).await;

    let row = row(&json, MODEL_A);
    assert_eq!(row["model_month_request_limit"], json!(5500), "{json}");
    assert_eq!(row["model_month_request_remaining"], json!(9), "{json}");
    assert_eq!(row["quota_source"], json!("headers"), "{json}");
    assert_eq!(
        row["calls_left"],
        json!(9),
        "the month bounds 99 points: {json}"
    );
    let id = json["history_id"].as_i64().unwrap();
    let page = alice.get(&format!("/history/{id}")).await;
    assert!(page.body.contains("本月还能调用 9 次"), "{}", page.body);
    assert_eq!(
        count(
            &site.db(),
            "SELECT count(*) FROM query_results WHERE model_month_request_remaining = 9 AND ?1 = ?1",
            0
        ),
        1
    );
}

#[tokio::test]
async fn the_trend_of_a_model_speaks_in_points() {
    let site = TestApp::new().await;
    let upstream = PointsAccount::new(20.0, &[(MODEL_A, 0.5)]);
    upstream.mount(&site.upstream).await;
    let (alice, token) = member(&site, "alice").await;
    for _ in 0..3 {
        run(&alice, &token, &[MODEL_A]).await;
    }

    let page = alice.get(&format!("/history/model/{MODEL_A}")).await;

    assert_eq!(page.status, Status::Ok, "{}", page.body);
    assert!(!page.body.contains("还没有这个模型"), "{}", page.body);
    assert_eq!(page.body.matches("<circle class=\"point\"").count(), 3);
    // 19.5, 19 and 18.5 points at 0.5 a call; the first run learned the price.
    for calls in ["39", "38", "37"] {
        assert!(
            page.body
                .contains(&format!("<strong class=\"calls\">{calls}</strong>")),
            "{calls}: {}",
            page.body
        );
    }
    assert!(
        page.body.contains("实测"),
        "the price's source: {}",
        page.body
    );
    assert!(
        page.body.contains("还能调用 37 次"),
        "the point's title: {}",
        page.body
    );
}

// ---------------------------------------------------------------------------------------------
// The rates endpoint

async fn range_with_rates(rates: Option<Rates>) -> (Value, Duration) {
    let site = TestApp::new().await;
    let upstream = PointsAccount::new(30.0, &[(MODEL_A, 1.0)]);
    upstream.mount(&site.upstream).await;
    if let Some(rates) = rates {
        mount_rates(&site.upstream, rates).await;
    }
    let client = site.start().await;
    let body = json!({"models": [MODEL_A, MODEL_B], "api_key": KEY});
    let started = Instant::now();
    let first = post_balance(&client, &body).await;
    assert_eq!(first.status, Status::Ok, "{}", first.body);
    let took = started.elapsed();
    let second = post_balance(&client, &body).await.json();
    (second, took)
}

#[tokio::test]
async fn a_rates_table_replaces_the_built_in_tiers() {
    let (json, _) = range_with_rates(Some(Rates::Table(&[3.0, 0.5, 1.0]))).await;
    let row = &rows(&json)[0];
    // 28 points (two runs of one point) at 3 and at 0.5.
    assert_eq!(row["calls_left_range"], json!([9, 56]), "{json}");
    assert_eq!(row["price_candidates"], json!([0.5, 1, 3]), "{json}");
    assert_eq!(
        json["expected_points"],
        json!({"min": 1, "max": 6}),
        "{json}"
    );
}

#[tokio::test]
async fn without_a_rates_table_the_built_in_tiers_stand() {
    for rates in [
        None,
        Some(Rates::Status(404)),
        Some(Rates::Status(500)),
        Some(Rates::Hang(Duration::from_secs(20))),
    ] {
        let (json, took) = range_with_rates(rates).await;
        let row = &rows(&json)[0];
        assert_eq!(row["calls_left_range"], json!([14, 140]), "{json}");
        assert_eq!(row["price_candidates"], json!([0.2, 0.5, 1, 2]), "{json}");
        assert!(took < Duration::from_secs(3), "never waits long: {took:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Overlapping runs and other spending

#[tokio::test]
async fn concurrent_runs_on_one_key_each_report_their_own_cost() {
    let site = TestApp::new().await;
    let upstream = PointsAccount::new(50.0, &[(MODEL_A, 1.0), (MODEL_B, 2.0), (MODEL_C, 0.5)])
        .timed(Duration::from_millis(200), Duration::ZERO);
    upstream.mount(&site.upstream).await;
    let (alice, token) = member(&site, "alice").await;

    let (a, b, c) = futures::join!(
        run(&alice, &token, &[MODEL_A]),
        run(&alice, &token, &[MODEL_B]),
        run(&alice, &token, &[MODEL_C]),
    );

    assert_eq!(a["points_spent"], json!(1), "{a}");
    assert_eq!(b["points_spent"], json!(2), "{b}");
    assert_eq!(c["points_spent"], json!(0.5), "{c}");
    assert_eq!(row(&a, MODEL_A)["points_per_call"], json!(1));
    assert_eq!(row(&b, MODEL_B)["points_per_call"], json!(2));
    assert_eq!(row(&c, MODEL_C)["points_per_call"], json!(0.5));
}

#[tokio::test]
async fn concurrent_anonymous_runs_never_claim_the_total() {
    let site = TestApp::new().await;
    let upstream = PointsAccount::new(50.0, &[(MODEL_A, 1.0), (MODEL_B, 2.0), (MODEL_C, 0.5)])
        .timed(Duration::from_millis(200), Duration::ZERO);
    upstream.mount(&site.upstream).await;
    let client = site.start().await;
    let ask = |model: &'static str, address: &'static str| {
        let client = &client;
        async move {
            let response = client
                .post("/api/balance")
                .header(ContentType::JSON)
                .header(Header::new("X-Real-IP", address))
                .body(json!({"models": [model], "api_key": KEY}).to_string())
                .dispatch()
                .await;
            let text = response.into_string().await.unwrap_or_default();
            serde_json::from_str::<Value>(&text).unwrap_or(Value::Null)
        }
    };

    let answers = futures::join!(
        ask(MODEL_A, "192.0.2.1"),
        ask(MODEL_B, "192.0.2.2"),
        ask(MODEL_C, "192.0.2.3"),
    );

    for (json, own) in [(answers.0, 1.0), (answers.1, 2.0), (answers.2, 0.5)] {
        match json["points_spent"].as_f64() {
            Some(spent) => assert_eq!(spent, own, "{json}"),
            None => {
                assert_eq!(json["points_note"], json!("shared"), "{json}");
                assert!(json["shared_points_spent"].as_f64().is_some(), "{json}");
            }
        }
    }
}

#[tokio::test]
async fn another_clients_call_during_a_run_teaches_nothing() {
    let site = TestApp::new().await;
    let upstream = PointsAccount::new(30.0, &[(MODEL_A, 1.0)])
        .timed(Duration::from_millis(400), Duration::ZERO)
        .spent_elsewhere(1, 2.0, Duration::ZERO, Duration::from_millis(30));
    upstream.mount(&site.upstream).await;
    let (alice, token) = member(&site, "alice").await;

    let json = run(&alice, &token, &[MODEL_A]).await;

    assert_eq!(json["points_spent"], Value::Null, "{json}");
    assert_eq!(json["shared_points_spent"], json!(3), "{json}");
    assert_eq!(json["points_note"], json!("outside"), "{json}");
    assert_eq!(
        row(&json, MODEL_A)["points_per_call"],
        Value::Null,
        "{json}"
    );
    assert_eq!(measurements(&site, &alice), 0);
    let id = json["history_id"].as_i64().unwrap();
    let page = alice.get(&format!("/history/{id}")).await;
    assert!(
        page.body.contains("本 Key 在查询期间还有其他消耗"),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn calls_that_wait_for_a_slot_are_not_taken_for_another_clients() {
    // Two calls at a time: the last two go out only after the first two answered, so no
    // reading finds every call in flight, and the run is clean.
    let site = TestApp::configured(|c| c.merge(("query_concurrency", 2))).await;
    let upstream = PointsAccount::new(
        30.0,
        &[
            (MODEL_A, 1.0),
            (MODEL_B, 2.0),
            (MODEL_C, 0.5),
            (MODEL_D, 0.2),
        ],
    )
    .timed(Duration::from_millis(250), Duration::ZERO);
    upstream.mount(&site.upstream).await;
    let (alice, token) = member(&site, "alice").await;

    let json = run(&alice, &token, &[MODEL_A, MODEL_B, MODEL_C, MODEL_D]).await;

    assert_eq!(json["points_note"], Value::Null, "{json}");
    assert_eq!(json["points_spent"], json!(3.7), "{json}");
}

#[tokio::test]
async fn a_first_reading_below_the_last_settled_one_teaches_nothing() {
    let site = TestApp::new().await;
    let upstream = PointsAccount::new(30.0, &[(MODEL_A, 1.0), (MODEL_B, 2.0)]);
    upstream.mount(&site.upstream).await;
    let (alice, token) = member(&site, "alice").await;
    run(&alice, &token, &[MODEL_A]).await;

    upstream.spend_now(1.0, Duration::ZERO);
    let json = run(&alice, &token, &[MODEL_B]).await;

    assert_eq!(json["points_note"], json!("outside"), "{json}");
    assert_eq!(
        row(&json, MODEL_B)["points_per_call"],
        Value::Null,
        "{json}"
    );
    assert_eq!(measurements(&site, &alice), 1, "only the first run's");
    // A grant is no spending: the next run is clean again.
    upstream.grant(200.0);
    let json = run(&alice, &token, &[MODEL_B]).await;
    assert_eq!(json["points_note"], Value::Null, "{json}");
    assert_eq!(row(&json, MODEL_B)["points_per_call"], json!(2), "{json}");
}

// ---------------------------------------------------------------------------------------------
// Rows that say what happened, keys of another shape, bad input

#[tokio::test]
async fn a_free_checks_rows_were_not_checked_and_never_look_healthy() {
    let site = TestApp::new().await;
    let upstream = PointsAccount::new(40.0, &[(MODEL_A, 1.0)]);
    upstream.mount(&site.upstream).await;
    let client = site.start().await;

    let json = post_balance(
        &client,
        &json!({"models": [MODEL_A], "api_key": KEY, "probe": false}),
    )
    .await
    .json();
    assert_eq!(rows(&json)[0]["checked"], json!(false), "{json}");

    let user = site.user("alice").await;
    let key = user.add_key("main", KEY).await.to_string();
    let page = user
        .submit(
            "/quick",
            &[("key_id", &key), ("models", MODEL_A), ("probe", "false")],
        )
        .await;
    let results = results_section(&page.body);
    assert!(results.contains("未检测"), "{results}");
    assert!(!results.contains("正常"), "{results}");
    assert!(!results.contains(" ms<"), "no latency: {results}");
    assert_eq!(upstream.chat_calls(), 0);
}

#[tokio::test]
async fn a_key_of_another_shape_is_tried_with_a_hint() {
    let site = TestApp::new().await;
    let upstream = PointsAccount::new(40.0, &[(MODEL_A, 1.0)]);
    upstream.mount(&site.upstream).await;
    let client = site.start().await;
    let other = "sk-Abc123_xyz.789";

    let json = post_balance(&client, &json!({"models": [MODEL_A], "api_key": other}))
        .await
        .json();

    assert_eq!(json["success"], json!(true), "{json}");
    assert_eq!(upstream.chat_calls(), 1);
    let hint = json["key_hint"].as_str().unwrap_or_default();
    assert!(hint.contains("ms- 开头"), "{json}");
    let ordinary = post_balance(&client, &json!({"models": [MODEL_A], "api_key": KEY}))
        .await
        .json();
    assert_eq!(ordinary.get("key_hint"), None, "{ordinary}");

    let user = site.user("alice").await;
    let saved = user
        .submit("/keys", &[("label", "odd"), ("api_key", other)])
        .await;
    assert_eq!(saved.status, Status::SeeOther, "{}", saved.body);
    let page = user
        .submit("/quick", &[("api_key", other), ("models", MODEL_A)])
        .await;
    assert!(page.body.contains("ms- 开头"), "{}", page.body);
    for too_short in ["sk-1234", "ms-12 34567890"] {
        let refused =
            post_balance(&client, &json!({"models": [MODEL_A], "api_key": too_short})).await;
        assert_eq!(refused.status, Status::BadRequest, "{too_short}");
    }
}

#[tokio::test]
async fn a_census_needs_a_token_a_positive_budget_and_at_most_the_batch_limit() {
    let site = TestApp::new().await;
    let upstream = PointsAccount::new(40.0, &[(MODEL_A, 1.0)]);
    upstream.mount(&site.upstream).await;
    let client = site.start().await;
    let anonymous = post_balance(
        &client,
        &json!({"models": [MODEL_A], "api_key": KEY, "measure_prices": true}),
    )
    .await;
    assert_eq!(anonymous.status, Status::Unauthorized, "{}", anonymous.body);

    let (alice, token) = member(&site, "alice").await;
    for budget in [json!(0), json!(-1), json!("5"), json!(true)] {
        let answer = api_balance(
            &alice.client,
            Some(&token),
            &json!({"key_id": "main", "models": [MODEL_A], "measure_prices": true, "budget": budget}),
        )
        .await;
        assert_eq!(
            answer.status,
            Status::BadRequest,
            "{budget}: {}",
            answer.body
        );
        assert!(
            answer.body.contains("budget"),
            "names the field: {}",
            answer.body
        );
    }
    let many: Vec<String> = (0..51).map(|i| format!("owner/model-{i}")).collect();
    let answer = api_balance(
        &alice.client,
        Some(&token),
        &json!({"key_id": "main", "models": many, "measure_prices": true}),
    )
    .await;
    assert_eq!(answer.status, Status::BadRequest, "{}", answer.body);
    assert_eq!(upstream.chat_calls(), 0);
}
