//! `POST /api/balance` against a ModelScope double: every upstream answer in
//! `reference/modelscope-api.md` becomes the exact row it should, with the exact number of calls.

use std::time::{Duration, Instant};

use rocket::http::{ContentType, Status};
use serde_json::{Value, json};
use wiremock::ResponseTemplate;
use wiremock::matchers::{body_partial_json, header};

use crate::harness::TestApp;
use crate::harness::api::{NONE4, assert_row, post_balance, post_balance_raw, row, rows, some4};
use crate::harness::secrets::KEY;
use crate::harness::upstream::{
    CHAT_PATH, balance, balance_body, chat, completion, error_body, mount_ok, ok_with_quota,
    with_quota,
};

const MODEL: &str = "Qwen/Qwen2.5-72B-Instruct";
const QUOTA: [i64; 4] = [2000, 1987, 500, 488];

/// One model queried with the canary key; the envelope parsed.
async fn query_one(app: &TestApp, model: &str) -> Value {
    let client = app.start().await;
    let answer = post_balance(&client, &json!({"models": [model], "api_key": KEY})).await;
    assert_eq!(answer.status, Status::Ok, "{}", answer.body);
    answer.json()
}

/// The single row of a one-model query whose probe failed.
fn the_failed_row(json: &Value) -> &Value {
    assert_eq!(json["success"], json!(false), "{json}");
    assert_eq!(
        json["message"],
        json!("成功查询 0 个模型的余额信息，失败 1 个")
    );
    let rows = rows(json);
    assert_eq!(rows.len(), 1, "{json}");
    &rows[0]
}

// ---------------------------------------------------------------------------------------------
// One model, each upstream answer

#[tokio::test]
async fn ok_with_all_four_headers_gives_the_numbers() {
    let app = TestApp::new().await;
    mount_ok(&app.upstream, MODEL, QUOTA, 1).await;

    let json = query_one(&app, MODEL).await;

    assert_eq!(json["success"], json!(true));
    assert_eq!(json["message"], json!("成功查询 1 个模型的余额信息"));
    assert_eq!(rows(&json).len(), 1);
    assert_row(
        &rows(&json)[0],
        row(MODEL, some4(QUOTA), None, None, Some(200)),
    );
}

#[tokio::test]
async fn ok_without_headers_is_no_quota_data_with_null_numbers() {
    let app = TestApp::new().await;
    chat(MODEL)
        .respond_with(ResponseTemplate::new(200).set_body_json(completion()))
        .expect(1)
        .mount(&app.upstream)
        .await;

    let json = query_one(&app, MODEL).await;

    assert_row(
        the_failed_row(&json),
        row(
            MODEL,
            NONE4,
            Some("ModelScope 未返回额度信息"),
            Some("no_quota_data"),
            Some(200),
        ),
    );
}

#[tokio::test]
async fn ok_with_choices_null_still_counts_the_headers() {
    let app = TestApp::new().await;
    chat(MODEL)
        .respond_with(with_quota(
            ResponseTemplate::new(200).set_body_json(json!({"id": "x", "choices": null})),
            ["2000", "10", "500", "3"],
        ))
        .expect(1)
        .mount(&app.upstream)
        .await;

    let json = query_one(&app, MODEL).await;

    assert_eq!(json["success"], json!(true));
    assert_row(
        &rows(&json)[0],
        row(MODEL, some4([2000, 10, 500, 3]), None, None, Some(200)),
    );
}

#[tokio::test]
async fn garbage_headers_are_null_and_valid_ones_kept() {
    let app = TestApp::new().await;
    chat(MODEL)
        .respond_with(with_quota(
            ResponseTemplate::new(200).set_body_json(completion()),
            ["abc", "1.5", "500", "499"],
        ))
        .expect(1)
        .mount(&app.upstream)
        .await;

    let json = query_one(&app, MODEL).await;

    assert_eq!(json["success"], json!(true));
    assert_row(
        &rows(&json)[0],
        row(
            MODEL,
            [None, None, Some(500), Some(499)],
            None,
            None,
            Some(200),
        ),
    );
}

#[tokio::test]
async fn unauthorized_bad_token_is_invalid_key() {
    let app = TestApp::new().await;
    let message =
        "Authentication failed, please make sure that a valid ModelScope token is supplied.";
    chat(MODEL)
        .respond_with(ResponseTemplate::new(401).set_body_json(error_body(message)))
        .expect(1)
        .mount(&app.upstream)
        .await;

    let json = query_one(&app, MODEL).await;

    assert_row(
        the_failed_row(&json),
        row(
            MODEL,
            NONE4,
            Some(&format!("API Key 无效或已被撤销（HTTP 401）：{message}")),
            Some("invalid_key"),
            Some(401),
        ),
    );
}

#[tokio::test]
async fn unauthorized_unbound_account_is_not_eligible() {
    let app = TestApp::new().await;
    let message = "please bind your alibaba cloud account";
    chat(MODEL)
        .respond_with(ResponseTemplate::new(401).set_body_json(error_body(message)))
        .expect(1)
        .mount(&app.upstream)
        .await;

    let json = query_one(&app, MODEL).await;

    assert_row(
        the_failed_row(&json),
        row(
            MODEL,
            NONE4,
            Some(&format!(
                "账号不满足调用条件：请绑定阿里云账号并完成实名认证（HTTP 401）：{message}"
            )),
            Some("account_not_eligible"),
            Some(401),
        ),
    );
}

#[tokio::test]
async fn forbidden_is_account_not_eligible() {
    let app = TestApp::new().await;
    let message = "real-name verification required";
    chat(MODEL)
        .respond_with(ResponseTemplate::new(403).set_body_json(error_body(message)))
        .expect(1)
        .mount(&app.upstream)
        .await;

    let json = query_one(&app, MODEL).await;

    assert_row(
        the_failed_row(&json),
        row(
            MODEL,
            NONE4,
            Some(&format!(
                "账号不满足调用条件：请绑定阿里云账号并完成实名认证（HTTP 403）：{message}"
            )),
            Some("account_not_eligible"),
            Some(403),
        ),
    );
}

#[tokio::test]
async fn bad_request_model_not_supported_is_model_not_found() {
    let app = TestApp::new().await;
    let message = format!("Model id {MODEL} is not supported");
    chat(MODEL)
        .respond_with(ResponseTemplate::new(400).set_body_json(error_body(&message)))
        .expect(1)
        .mount(&app.upstream)
        .await;

    let json = query_one(&app, MODEL).await;

    assert_row(
        the_failed_row(&json),
        row(
            MODEL,
            NONE4,
            Some(&format!(
                "模型不存在或不支持 API-Inference（HTTP 400）：{message}"
            )),
            Some("model_not_found"),
            Some(400),
        ),
    );
}

#[tokio::test]
async fn bad_request_no_provider_as_plain_text_is_model_not_found() {
    let app = TestApp::new().await;
    let message = format!("{MODEL} has no provider supported");
    chat(MODEL)
        .respond_with(ResponseTemplate::new(400).set_body_string(message.clone()))
        .expect(1)
        .mount(&app.upstream)
        .await;

    let json = query_one(&app, MODEL).await;

    assert_row(
        the_failed_row(&json),
        row(
            MODEL,
            NONE4,
            Some(&format!(
                "模型不存在或不支持 API-Inference（HTTP 400）：{message}"
            )),
            Some("model_not_found"),
            Some(400),
        ),
    );
}

#[tokio::test]
async fn not_found_is_model_not_found() {
    let app = TestApp::new().await;
    chat(MODEL)
        .respond_with(ResponseTemplate::new(404).set_body_json(error_body("Model not found")))
        .expect(1)
        .mount(&app.upstream)
        .await;

    let json = query_one(&app, MODEL).await;

    assert_row(
        the_failed_row(&json),
        row(
            MODEL,
            NONE4,
            Some("模型不存在或不支持 API-Inference（HTTP 404）：Model not found"),
            Some("model_not_found"),
            Some(404),
        ),
    );
}

#[tokio::test]
async fn too_many_requests_with_nothing_remaining_is_quota_exhausted_and_never_retried() {
    let app = TestApp::new().await;
    chat(MODEL)
        .respond_with(
            with_quota(ResponseTemplate::new(429), ["2000", "1500", "500", "0"]).set_body_json(
                json!({"errors": {"message": "Request limit exceeded.", "request_id": "r"}}),
            ),
        )
        .expect(1)
        .mount(&app.upstream)
        .await;

    let json = query_one(&app, MODEL).await;

    assert_row(
        the_failed_row(&json),
        row(
            MODEL,
            some4([2000, 1500, 500, 0]),
            Some("今日额度已用完（HTTP 429）"),
            Some("quota_exhausted"),
            Some(429),
        ),
    );
}

/// A 429 that is not an exhausted quota (remaining > 0).
fn transient_429() -> ResponseTemplate {
    with_quota(ResponseTemplate::new(429), ["2000", "1500", "500", "300"])
        .insert_header("Retry-After", "1")
        .set_body_json(json!({"errors": {"message": "Request limit exceeded.", "request_id": "r"}}))
}

#[tokio::test]
async fn transient_429_is_retried_once_after_retry_after_and_the_retry_counts() {
    let app = TestApp::new().await;
    chat(MODEL)
        .respond_with(transient_429())
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .named("first answer: 429")
        .mount(&app.upstream)
        .await;
    chat(MODEL)
        .respond_with(ok_with_quota(QUOTA))
        .expect(1)
        .named("the retry: 200")
        .mount(&app.upstream)
        .await;

    let started = Instant::now();
    let json = query_one(&app, MODEL).await;

    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "Retry-After: 1 was not honoured ({:?})",
        started.elapsed()
    );
    assert_eq!(json["success"], json!(true), "{json}");
    assert_row(
        &rows(&json)[0],
        row(MODEL, some4(QUOTA), None, None, Some(200)),
    );
}

#[tokio::test]
async fn transient_429_twice_is_rate_limited_after_exactly_two_calls() {
    let app = TestApp::new().await;
    chat(MODEL)
        .respond_with(transient_429())
        .expect(2)
        .mount(&app.upstream)
        .await;

    let json = query_one(&app, MODEL).await;

    assert_row(
        the_failed_row(&json),
        row(
            MODEL,
            some4([2000, 1500, 500, 300]),
            Some("请求过于频繁，请稍后再试（HTTP 429）"),
            Some("rate_limited"),
            Some(429),
        ),
    );
}

#[tokio::test]
async fn server_error_is_upstream_error_with_its_status() {
    let app = TestApp::new().await;
    chat(MODEL)
        .respond_with(
            ResponseTemplate::new(500).set_body_json(json!({"message": "internal error"})),
        )
        .expect(1)
        .mount(&app.upstream)
        .await;

    let json = query_one(&app, MODEL).await;

    assert_row(
        the_failed_row(&json),
        row(
            MODEL,
            NONE4,
            Some("ModelScope 服务出错（HTTP 500）：internal error"),
            Some("upstream_error"),
            Some(500),
        ),
    );
}

#[tokio::test]
async fn html_in_an_upstream_message_is_plain_json_text_and_shortened() {
    let app = TestApp::new().await;
    let message = format!("<script>alert(1)</script> {}", "blah ".repeat(400));
    chat(MODEL)
        .respond_with(ResponseTemplate::new(500).set_body_json(error_body(&message)))
        .expect(1)
        .mount(&app.upstream)
        .await;

    let json = query_one(&app, MODEL).await;

    let row = the_failed_row(&json);
    assert_eq!(row["error_code"], json!("upstream_error"));
    assert_eq!(row["status"], json!(500));
    let error = row["error"].as_str().unwrap();
    let prefix = "ModelScope 服务出错（HTTP 500）：<script>alert(1)</script> blah";
    assert!(error.starts_with(prefix), "{error}");
    assert!(
        error.chars().count() <= 200 + 40,
        "error text not shortened: {} characters",
        error.chars().count()
    );
}

#[tokio::test]
async fn a_hanging_upstream_becomes_a_timeout_row_quickly() {
    let app = TestApp::new().await;
    chat(MODEL)
        .respond_with(ok_with_quota(QUOTA).set_delay(Duration::from_secs(10)))
        .expect(1)
        .mount(&app.upstream)
        .await;
    let client = app
        .start_with(|c| c.merge(("upstream_timeout_secs", 1)))
        .await;

    let started = Instant::now();
    let answer = post_balance(&client, &json!({"models": [MODEL], "api_key": KEY})).await;
    let took = started.elapsed();

    assert_eq!(answer.status, Status::Ok);
    assert!(
        took < Duration::from_secs(5),
        "the request hung for {took:?}"
    );
    let json = answer.json();
    assert_row(
        the_failed_row(&json),
        row(MODEL, NONE4, Some("请求超时"), Some("timeout"), None),
    );
}

#[tokio::test]
async fn a_20_mb_error_body_is_cut_short() {
    let app = TestApp::new().await;
    chat(MODEL)
        .respond_with(ResponseTemplate::new(500).set_body_string("x".repeat(20 * 1024 * 1024)))
        .expect(1)
        .mount(&app.upstream)
        .await;

    let json = query_one(&app, MODEL).await;

    let row = the_failed_row(&json);
    assert_eq!(row["error_code"], json!("upstream_error"));
    assert_eq!(row["status"], json!(500));
    let error = row["error"].as_str().unwrap();
    assert!(
        error.starts_with("ModelScope 服务出错（HTTP 500）：xxx"),
        "{error}"
    );
    assert!(
        error.chars().count() <= 200 + 40,
        "error text not shortened: {} characters",
        error.chars().count()
    );
}

#[tokio::test]
async fn an_upstream_message_echoing_the_key_never_reaches_the_client() {
    let app = TestApp::new().await;
    chat(MODEL)
        .respond_with(
            ResponseTemplate::new(401).set_body_json(error_body(&format!(
                "Authentication failed for token {KEY}"
            ))),
        )
        .expect(1)
        .mount(&app.upstream)
        .await;

    // `post_balance` fails the test if the key is anywhere in the answer.
    let json = query_one(&app, MODEL).await;

    assert_eq!(the_failed_row(&json)["error_code"], json!("invalid_key"));
}

// ---------------------------------------------------------------------------------------------
// Batches

#[tokio::test]
async fn mixed_batch_reports_successes_and_failures() {
    let app = TestApp::new().await;
    mount_ok(&app.upstream, "a/one", [2000, 1999, 500, 499], 1).await;
    mount_ok(&app.upstream, "a/two", [2000, 1998, 200, 150], 1).await;
    chat("a/three")
        .respond_with(ResponseTemplate::new(404).set_body_json(error_body("Model not found")))
        .expect(1)
        .mount(&app.upstream)
        .await;
    let client = app.start().await;

    let answer = post_balance(
        &client,
        &json!({"models": ["a/one", "a/three", "a/two"], "api_key": KEY}),
    )
    .await;

    assert_eq!(answer.status, Status::Ok);
    let json = answer.json();
    assert_eq!(json["success"], json!(false));
    assert_eq!(
        json["message"],
        json!("成功查询 2 个模型的余额信息，失败 1 个")
    );
    let rows = rows(&json);
    assert_eq!(rows.len(), 3);
    assert_row(
        &rows[0],
        row(
            "a/one",
            some4([2000, 1999, 500, 499]),
            None,
            None,
            Some(200),
        ),
    );
    assert_row(
        &rows[1],
        row(
            "a/three",
            NONE4,
            Some("模型不存在或不支持 API-Inference（HTTP 404）：Model not found"),
            Some("model_not_found"),
            Some(404),
        ),
    );
    assert_row(
        &rows[2],
        row(
            "a/two",
            some4([2000, 1998, 200, 150]),
            None,
            None,
            Some(200),
        ),
    );
}

#[tokio::test]
async fn duplicates_and_padding_make_one_row_and_one_call() {
    let app = TestApp::new().await;
    mount_ok(&app.upstream, "a/b", QUOTA, 1).await;
    let client = app.start().await;

    let answer = post_balance(
        &client,
        &json!({"models": ["a/b", "a/b", " a/b "], "api_key": KEY}),
    )
    .await;

    let json = answer.json();
    assert_eq!(rows(&json).len(), 1, "{json}");
    assert_row(
        &rows(&json)[0],
        row("a/b", some4(QUOTA), None, None, Some(200)),
    );
    assert_eq!(json["message"], json!("成功查询 1 个模型的余额信息"));
}

#[tokio::test]
async fn models_as_a_separated_string_keep_their_order() {
    let app = TestApp::new().await;
    for model in ["a/b", "c/d", "e/f"] {
        mount_ok(&app.upstream, model, QUOTA, 1).await;
    }
    let client = app.start().await;

    let answer = post_balance(&client, &json!({"models": "a/b, c/d e/f", "api_key": KEY})).await;

    let json = answer.json();
    let models: Vec<&str> = rows(&json)
        .iter()
        .map(|r| r["model"].as_str().unwrap())
        .collect();
    assert_eq!(models, ["a/b", "c/d", "e/f"]);
    assert_eq!(json["success"], json!(true));
}

#[tokio::test]
async fn models_separated_by_full_width_commas_and_newlines_are_split() {
    let app = TestApp::new().await;
    for model in ["a/b", "c/d", "e/f"] {
        mount_ok(&app.upstream, model, QUOTA, 1).await;
    }
    let client = app.start().await;

    let answer = post_balance(&client, &json!({"models": "a/b，c/d\ne/f", "api_key": KEY})).await;

    let json = answer.json();
    let models: Vec<&str> = rows(&json)
        .iter()
        .map(|r| r["model"].as_str().unwrap())
        .collect();
    assert_eq!(models, ["a/b", "c/d", "e/f"]);
}

#[tokio::test]
async fn a_json_content_type_with_a_charset_is_accepted() {
    let app = TestApp::new().await;
    mount_ok(&app.upstream, "a/b", QUOTA, 1).await;
    let client = app.start().await;

    let answer = post_balance_raw(
        &client,
        Some(ContentType::new("application", "json").with_params(("charset", "utf-8"))),
        json!({"models": ["a/b"], "api_key": KEY})
            .to_string()
            .into_bytes(),
        None,
    )
    .await;

    assert_eq!(answer.status, Status::Ok, "{}", answer.body);
    assert_eq!(answer.json()["success"], json!(true));
}

#[tokio::test]
async fn the_old_models_underscore_field_still_works() {
    let app = TestApp::new().await;
    mount_ok(&app.upstream, "a/b", QUOTA, 1).await;
    let client = app.start().await;

    let answer = post_balance(&client, &json!({"models_": ["a/b"], "api_key": KEY})).await;

    assert_eq!(answer.status, Status::Ok);
    let json = answer.json();
    assert_row(
        &rows(&json)[0],
        row("a/b", some4(QUOTA), None, None, Some(200)),
    );
}

#[tokio::test]
async fn the_key_may_come_in_the_x_api_key_header() {
    let app = TestApp::new().await;
    chat("a/b")
        .and(header("Authorization", format!("Bearer {KEY}").as_str()))
        .respond_with(ok_with_quota(QUOTA))
        .expect(1)
        .mount(&app.upstream)
        .await;
    let client = app.start().await;

    let answer = post_balance_raw(
        &client,
        Some(ContentType::JSON),
        json!({"models": ["a/b"]}).to_string().into_bytes(),
        Some(KEY),
    )
    .await;

    assert_eq!(answer.status, Status::Ok, "{}", answer.body);
    assert_eq!(answer.json()["success"], json!(true));
}

#[tokio::test]
async fn the_same_key_in_header_and_body_is_fine() {
    let app = TestApp::new().await;
    mount_ok(&app.upstream, "a/b", QUOTA, 1).await;
    let client = app.start().await;

    let answer = post_balance_raw(
        &client,
        Some(ContentType::JSON),
        json!({"models": ["a/b"], "api_key": KEY})
            .to_string()
            .into_bytes(),
        Some(KEY),
    )
    .await;

    assert_eq!(answer.status, Status::Ok, "{}", answer.body);
}

#[tokio::test]
async fn invalid_ids_get_rows_without_calls_beside_valid_ones() {
    let app = TestApp::new().await;
    mount_ok(&app.upstream, "a/b", QUOTA, 1).await;
    // Only a/b may reach the chat endpoint (the free balance is read as always).
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .and(wiremock::matchers::path(CHAT_PATH))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .with_priority(10)
        .named("anything but a/b")
        .mount(&app.upstream)
        .await;
    let client = app.start().await;

    let answer = post_balance(
        &client,
        &json!({"models": ["bad?id/x", "a/b", "no-slash"], "api_key": KEY}),
    )
    .await;

    assert_eq!(answer.status, Status::Ok);
    let json = answer.json();
    assert_eq!(json["success"], json!(false));
    assert_eq!(
        json["message"],
        json!("成功查询 1 个模型的余额信息，失败 2 个")
    );
    let rows = rows(&json);
    assert_eq!(rows.len(), 3);
    assert_row(
        &rows[0],
        row(
            "bad?id/x",
            NONE4,
            Some("模型 ID 无效：只能包含字母、数字和 - _ . 字符"),
            Some("invalid_model"),
            None,
        ),
    );
    assert_row(&rows[1], row("a/b", some4(QUOTA), None, None, Some(200)));
    assert_row(
        &rows[2],
        row(
            "no-slash",
            NONE4,
            Some("模型 ID 无效：应为 owner/name 形式"),
            Some("invalid_model"),
            None,
        ),
    );
}

#[tokio::test]
async fn twenty_slow_models_are_probed_concurrently() {
    let app = TestApp::new().await;
    let models: Vec<String> = (0..20).map(|i| format!("owner/model-{i}")).collect();
    for model in &models {
        chat(model)
            .respond_with(ok_with_quota(QUOTA).set_delay(Duration::from_millis(200)))
            .expect(1)
            .mount(&app.upstream)
            .await;
    }
    let client = app.start().await;

    let answer = post_balance(&client, &json!({"models": models, "api_key": KEY})).await;

    let json = answer.json();
    assert_eq!(json["success"], json!(true), "{json}");
    assert_eq!(json["message"], json!("成功查询 20 个模型的余额信息"));
    assert_eq!(rows(&json).len(), 20);
    // Counted, not timed: the engine held all twenty calls at once.
    let calls = app.engine_calls().total();
    assert!(
        calls.peak >= 20,
        "20 probes of 200 ms: at most {} were in flight at once, they do not overlap",
        calls.peak
    );
}

// ---------------------------------------------------------------------------------------------
// What the app sends upstream

#[tokio::test]
async fn the_probe_is_a_minimal_authenticated_completion() {
    let app = TestApp::new().await;
    chat(MODEL)
        .and(header("Authorization", format!("Bearer {KEY}").as_str()))
        .and(body_partial_json(json!({
            "model": MODEL,
            "max_tokens": 1,
            "stream": false,
            "enable_thinking": false,
        })))
        .respond_with(ok_with_quota(QUOTA))
        .expect(1)
        .mount(&app.upstream)
        .await;

    let json = query_one(&app, MODEL).await;

    assert_eq!(json["success"], json!(true), "{json}");
}

// ---------------------------------------------------------------------------------------------
// The points balance

#[tokio::test]
async fn include_account_adds_the_points_balance() {
    let app = TestApp::new().await;
    mount_ok(&app.upstream, MODEL, QUOTA, 1).await;
    balance()
        .and(header("Authorization", format!("Bearer {KEY}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "success": true,
            "request_id": "r",
            "data": {"total_balance": 250, "available_balance": 240.5, "frozen_amount": 9.5}
        })))
        // Read before the first probe and again after the last one settled.
        .expect(2)
        .mount(&app.upstream)
        .await;
    let client = app.start().await;

    let answer = post_balance(
        &client,
        &json!({"models": [MODEL], "api_key": KEY, "include_account": true}),
    )
    .await;

    let json = answer.json();
    assert_eq!(json["success"], json!(true));
    assert_eq!(
        json["account"],
        json!({"total_balance": 250, "available_balance": 240.5, "frozen_amount": 9.5})
    );
    assert!(
        json["account"]["total_balance"].is_u64(),
        "250 should be an integer"
    );
    assert_row(
        &rows(&json)[0],
        row(MODEL, some4(QUOTA), None, None, Some(200)),
    );
}

#[tokio::test]
async fn a_rejected_balance_call_is_an_account_error_not_a_failed_query() {
    let app = TestApp::new().await;
    mount_ok(&app.upstream, MODEL, QUOTA, 1).await;
    balance()
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "success": false, "code": "401", "message": "Unauthorized", "request_id": "r"
        })))
        // Read before the first probe and again after the last one settled.
        .expect(2)
        .mount(&app.upstream)
        .await;
    let client = app.start().await;

    let answer = post_balance(
        &client,
        &json!({"models": [MODEL], "api_key": KEY, "include_account": true}),
    )
    .await;

    let json = answer.json();
    assert_eq!(
        json["account"]["error_code"],
        json!("invalid_key"),
        "{json}"
    );
    assert!(
        json["account"]["error"]
            .as_str()
            .is_some_and(|e| !e.is_empty())
    );
    assert!(json["account"].get("total_balance").is_none(), "{json}");
    assert_eq!(json["success"], json!(true));
}

#[tokio::test]
async fn a_balance_error_echoing_the_key_never_reaches_the_client() {
    let app = TestApp::new().await;
    mount_ok(&app.upstream, MODEL, QUOTA, 1).await;
    balance()
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({
            "success": false,
            "code": "403",
            "message": format!("token {KEY} is not allowed here"),
            "request_id": "r"
        })))
        // Read before the first probe and again after the last one settled.
        .expect(2)
        .mount(&app.upstream)
        .await;
    let client = app.start().await;

    // `post_balance` fails the test if the key is anywhere in the answer.
    let answer = post_balance(
        &client,
        &json!({"models": [MODEL], "api_key": KEY, "include_account": true}),
    )
    .await;

    assert_eq!(
        answer.json()["account"]["error_code"],
        json!("upstream_error")
    );
}

/// Points-first: the free balance is the headline, so it is read (before and after the probes)
/// and reported whenever a key is used, `include_account` or not.
#[tokio::test]
async fn without_include_account_the_balance_is_still_read_and_reported() {
    let app = TestApp::new().await;
    mount_ok(&app.upstream, MODEL, QUOTA, 1).await;
    balance()
        .respond_with(ResponseTemplate::new(200).set_body_json(balance_body()))
        .expect(2)
        .mount(&app.upstream)
        .await;

    let json = query_one(&app, MODEL).await;

    assert_eq!(json["account"]["available_balance"], json!(240.5), "{json}");
}

#[tokio::test]
async fn answers_are_json_with_the_original_envelope() {
    let app = TestApp::new().await;
    mount_ok(&app.upstream, MODEL, QUOTA, 1).await;
    let client = app.start().await;

    let answer = post_balance(&client, &json!({"models": [MODEL], "api_key": KEY})).await;

    assert_eq!(answer.content_type, Some(ContentType::JSON));
    let json = answer.json();
    for field in ["success", "data", "message"] {
        assert!(json.get(field).is_some(), "no {field}: {json}");
    }
    let row = &rows(&json)[0];
    for field in [
        "model",
        "request_limit",
        "request_remaining",
        "model_request_limit",
        "model_request_remaining",
        "error",
        "error_code",
        "status",
        "latency_ms",
    ] {
        assert!(row.get(field).is_some(), "row without {field}: {row}");
    }
}
