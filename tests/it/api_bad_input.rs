//! Every client mistake on `POST /api/balance` is a 4xx JSON envelope with a message that says
//! what to fix, never a 5xx or an HTML page, and never costs an upstream call.

use rocket::http::{ContentType, Status};
use serde_json::{Value, json};

use crate::harness::api::{assert_error_envelope, post_balance_raw};
use crate::harness::http::{form_encode, get};
use crate::harness::secrets::{KEY, OTHER_KEY};
use crate::harness::upstream::forbid_any_call;
use crate::harness::{Answer, TestApp};

/// Sends `body` as JSON to an app whose upstream must not be called; returns the envelope.
async fn refused_json(body: Value, expected: Status) -> Value {
    refused_raw(
        Some(ContentType::JSON),
        body.to_string().into_bytes(),
        None,
        expected,
    )
    .await
}

async fn refused_raw(
    content_type: Option<ContentType>,
    body: Vec<u8>,
    header_key: Option<&str>,
    expected: Status,
) -> Value {
    let app = TestApp::new().await;
    forbid_any_call(&app.upstream).await;
    let client = app.start().await;

    let answer = post_balance_raw(&client, content_type, body, header_key).await;

    assert_eq!(answer.status, expected, "{}", answer.body);
    assert!(
        (400..500).contains(&answer.status.code),
        "not a 4xx: {}",
        answer.status
    );
    assert_error_envelope(&answer)
}

fn message(json: &Value) -> &str {
    json["message"].as_str().unwrap()
}

/// A single model id that must be refused before any call.
async fn refused_model(id: &str) -> Value {
    let json = refused_json(json!({"models": [id], "api_key": KEY}), Status::BadRequest).await;
    assert!(
        message(&json).contains("owner/name"),
        "the message should show the expected shape: {json}"
    );
    json
}

// ---------------------------------------------------------------------------------------------
// models

#[tokio::test]
async fn missing_models_is_refused() {
    let json = refused_json(json!({"api_key": KEY}), Status::BadRequest).await;
    assert!(message(&json).contains("models"), "{json}");
}

#[tokio::test]
async fn an_empty_models_string_is_refused() {
    let json = refused_json(json!({"models": "", "api_key": KEY}), Status::BadRequest).await;
    assert!(message(&json).contains("models"), "{json}");
}

#[tokio::test]
async fn an_empty_models_array_is_refused() {
    let json = refused_json(json!({"models": [], "api_key": KEY}), Status::BadRequest).await;
    assert!(message(&json).contains("models"), "{json}");
}

#[tokio::test]
async fn only_blank_model_strings_are_refused() {
    let json = refused_json(
        json!({"models": ["", "  "], "api_key": KEY}),
        Status::BadRequest,
    )
    .await;
    assert!(message(&json).contains("models"), "{json}");
}

#[tokio::test]
async fn models_as_a_number_is_refused() {
    let json = refused_json(json!({"models": 42, "api_key": KEY}), Status::BadRequest).await;
    assert!(message(&json).contains("models"), "{json}");
}

#[tokio::test]
async fn models_as_an_array_of_numbers_is_refused() {
    let json = refused_json(
        json!({"models": [1, 2], "api_key": KEY}),
        Status::BadRequest,
    )
    .await;
    assert!(message(&json).contains("models"), "{json}");
}

#[tokio::test]
async fn more_than_fifty_models_is_refused_naming_the_limit() {
    let models: Vec<String> = (0..51).map(|i| format!("owner/model-{i}")).collect();
    let json = refused_json(
        json!({"models": models, "api_key": KEY}),
        Status::BadRequest,
    )
    .await;
    assert!(message(&json).contains("50"), "{json}");
}

#[tokio::test]
async fn a_ten_thousand_character_model_id_is_refused() {
    let id = format!("owner/{}", "m".repeat(10_000));
    let json = refused_model(&id).await;
    assert!(
        message(&json).chars().count() < 1_000,
        "the message quotes the whole id back"
    );
}

#[tokio::test]
async fn a_model_id_with_cr_lf_is_refused() {
    refused_model("owner/model\r\nX-Injected: 1").await;
}

#[tokio::test]
async fn a_model_id_with_a_question_mark_is_refused() {
    refused_model("owner/model?x=1").await;
}

#[tokio::test]
async fn a_model_id_with_a_hash_is_refused() {
    refused_model("owner/model#x").await;
}

#[tokio::test]
async fn a_model_id_with_an_at_sign_is_refused() {
    refused_model("owner@evil/model").await;
}

#[tokio::test]
async fn a_model_id_with_dot_dot_is_refused() {
    refused_model("owner/..").await;
    refused_model("owner/a..b").await;
}

#[tokio::test]
async fn a_model_id_with_nul_is_refused() {
    refused_model("owner/model\u{0}").await;
}

// ---------------------------------------------------------------------------------------------
// the key

#[tokio::test]
/// No ModelScope key is a missing credential: 401, like a missing access token.
async fn a_missing_key_is_refused() {
    let json = refused_json(json!({"models": ["a/b"]}), Status::Unauthorized).await;
    assert!(message(&json).contains("API Key"), "{json}");
}

#[tokio::test]
async fn an_empty_key_is_refused() {
    let json = refused_json(
        json!({"models": ["a/b"], "api_key": ""}),
        Status::Unauthorized,
    )
    .await;
    assert!(message(&json).contains("API Key"), "{json}");
}

#[tokio::test]
async fn a_key_that_is_not_a_string_is_refused() {
    let json = refused_json(json!({"models": ["a/b"], "api_key": 5}), Status::BadRequest).await;
    assert!(message(&json).contains("api_key"), "{json}");
}

#[tokio::test]
async fn different_keys_in_header_and_body_are_refused() {
    let body = json!({"models": ["a/b"], "api_key": KEY}).to_string();
    let json = refused_raw(
        Some(ContentType::JSON),
        body.into_bytes(),
        Some(OTHER_KEY),
        Status::Unauthorized,
    )
    .await;
    assert!(message(&json).contains("X-API-Key"), "{json}");
}

#[tokio::test]
async fn a_key_with_a_line_break_inside_is_refused() {
    let key = format!("{}\r\nX-Injected: 1", &KEY[..20]);
    let json = refused_json(
        json!({"models": ["a/b"], "api_key": key}),
        Status::BadRequest,
    )
    .await;
    assert!(message(&json).contains("API Key"), "{json}");
}

#[tokio::test]
async fn an_absurdly_long_key_is_refused() {
    let key = format!("ms-{}", "1".repeat(5_000));
    let json = refused_json(
        json!({"models": ["a/b"], "api_key": key}),
        Status::BadRequest,
    )
    .await;
    assert!(message(&json).contains("API Key"), "{json}");
}

#[tokio::test]
async fn a_key_that_no_upstream_could_accept_is_refused() {
    // Too short, a space inside, a character outside printable ASCII, too long: no key of
    // any shape. (Another shape of 8 to 200 printable characters is tried: tests/it/prices.rs.)
    let long = "k".repeat(201);
    for bad in ["sk-123", "ms-not a-uuid", "ms-ключ-12345", long.as_str()] {
        let json = refused_json(
            json!({"models": ["a/b"], "api_key": bad}),
            Status::BadRequest,
        )
        .await;
        assert!(message(&json).contains("8 到 200"), "{json}");
    }
}

// ---------------------------------------------------------------------------------------------
// the body itself

#[tokio::test]
async fn a_form_encoded_body_is_unsupported_media() {
    let body = form_encode(&[("models", "a/b"), ("api_key", KEY)]);
    let json = refused_raw(
        Some(ContentType::Form),
        body.into_bytes(),
        None,
        Status::UnsupportedMediaType,
    )
    .await;
    assert!(message(&json).contains("application/json"), "{json}");
}

#[tokio::test]
async fn a_text_plain_body_is_unsupported_media() {
    let body = json!({"models": ["a/b"], "api_key": KEY}).to_string();
    let json = refused_raw(
        Some(ContentType::Plain),
        body.into_bytes(),
        None,
        Status::UnsupportedMediaType,
    )
    .await;
    assert!(message(&json).contains("application/json"), "{json}");
}

#[tokio::test]
async fn malformed_json_is_refused() {
    let json = refused_raw(
        Some(ContentType::JSON),
        br#"{"models": ["a/b"], "api_key": "#.to_vec(),
        None,
        Status::BadRequest,
    )
    .await;
    assert!(message(&json).contains("JSON"), "{json}");
}

#[tokio::test]
async fn an_empty_body_is_refused() {
    let json = refused_raw(
        Some(ContentType::JSON),
        Vec::new(),
        None,
        Status::BadRequest,
    )
    .await;
    assert!(message(&json).contains("JSON"), "{json}");
}

#[tokio::test]
async fn a_json_array_body_is_refused() {
    let json = refused_json(json!(["a/b", KEY]), Status::BadRequest).await;
    assert!(message(&json).contains("JSON"), "{json}");
}

#[tokio::test]
async fn invalid_utf8_is_refused() {
    let mut body = br#"{"models": ["a/b"], "api_key": ""#.to_vec();
    body.extend_from_slice(&[0xff, 0xfe, 0xc3, 0x28]);
    body.extend_from_slice(br#""}"#);
    let json = refused_raw(Some(ContentType::JSON), body, None, Status::BadRequest).await;
    assert!(message(&json).contains("UTF-8"), "{json}");
}

#[tokio::test]
async fn a_body_over_64_kib_is_payload_too_large() {
    let padding = "a/b ".repeat(64 * 1024 / 4 + 16);
    let body = json!({"models": padding, "api_key": KEY}).to_string();
    assert!(body.len() > 64 * 1024);
    refused_raw(
        Some(ContentType::JSON),
        body.into_bytes(),
        None,
        Status::PayloadTooLarge,
    )
    .await;
}

#[tokio::test]
async fn deeply_nested_json_is_refused_without_crashing() {
    let depth = 20_000;
    let body = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let json = refused_raw(
        Some(ContentType::JSON),
        body.into_bytes(),
        None,
        Status::BadRequest,
    )
    .await;
    assert!(message(&json).contains("JSON"), "{json}");
}

#[tokio::test]
async fn include_account_of_the_wrong_type_is_refused() {
    let json = refused_json(
        json!({"models": ["a/b"], "api_key": KEY, "include_account": "yes"}),
        Status::BadRequest,
    )
    .await;
    assert!(message(&json).contains("include_account"), "{json}");
}

// ---------------------------------------------------------------------------------------------
// routes

#[tokio::test]
async fn an_unknown_api_route_is_a_json_404() {
    let app = TestApp::new().await;
    forbid_any_call(&app.upstream).await;
    let client = app.start().await;

    let answer = get(&client, "/api/nope").await;

    assert_eq!(answer.status, Status::NotFound);
    assert_error_envelope(&answer);
}

#[tokio::test]
async fn get_on_the_balance_route_is_a_json_4xx() {
    let app = TestApp::new().await;
    forbid_any_call(&app.upstream).await;
    let client = app.start().await;

    let answer = get(&client, "/api/balance").await;

    assert!(matches!(answer.status.code, 404 | 405), "{}", answer.status);
    assert_error_envelope(&answer);
}

#[tokio::test]
async fn a_post_to_an_unknown_api_route_is_a_json_404() {
    let app = TestApp::new().await;
    forbid_any_call(&app.upstream).await;
    let client = app.start().await;

    let answer = Answer::from(
        client
            .post("/api/nope")
            .header(ContentType::JSON)
            .body(json!({"models": ["a/b"], "api_key": KEY}).to_string())
            .dispatch()
            .await,
    )
    .await;

    assert_eq!(answer.status, Status::NotFound);
    assert_error_envelope(&answer);
}
