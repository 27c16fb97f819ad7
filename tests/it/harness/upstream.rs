//! The ModelScope double: request matchers, answers shaped like ModelScope's, and mocks that
//! count their calls (wiremock checks every `expect` when the server drops).

use std::time::Duration;

use modelscope_balance::runs::slots::{LaneCalls, UpstreamCalls};
use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, header, method, path};
use wiremock::{Mock, MockBuilder, MockServer, ResponseTemplate};

use super::{TestApp, eventually_async};

pub const CHAT_PATH: &str = "/v1/chat/completions";
pub const BALANCE_PATH: &str = "/openapi/v1/magicubes/balance";
pub const CATALOGUE_PATH: &str = "/v1/models";
pub const LEDGER_PATH: &str = "/openapi/v1/magicubes/transactions";
pub const EARN_RULES_PATH: &str = "/openapi/v1/magicubes/earn/rules";

pub const REQUESTS_LIMIT: &str = "modelscope-ratelimit-requests-limit";
pub const REQUESTS_REMAINING: &str = "modelscope-ratelimit-requests-remaining";
pub const MODEL_REQUESTS_LIMIT: &str = "modelscope-ratelimit-model-requests-limit";
pub const MODEL_REQUESTS_REMAINING: &str = "modelscope-ratelimit-model-requests-remaining";

/// Three valid model ids, used in this order by most tests.
pub const MODEL_A: &str = "Qwen/Qwen2.5-72B-Instruct";
pub const MODEL_B: &str = "deepseek-ai/DeepSeek-V3";
pub const MODEL_C: &str = "ZhipuAI/GLM-4.7";

/// The rate-limit headers each model answers with: account limit, account remaining, model
/// limit, model remaining. Distinct per model so a row cannot borrow another's numbers.
pub const QUOTA_A: [i64; 4] = [2000, 1995, 500, 498];
pub const QUOTA_B: [i64; 4] = [2000, 1994, 100, 42];
pub const QUOTA_C: [i64; 4] = [2000, 1993, 300, 7];

/// The points balance the double reports (matches [`balance_body`]).
pub const POINTS: (f64, f64, f64) = (250.0, 240.5, 9.5);

// ---------------------------------------------------------------------------------------------
// Matchers and answers

/// `POST /v1/chat/completions` for one model (matched in the JSON body).
pub fn chat(model: &str) -> MockBuilder {
    any_chat().and(body_partial_json(json!({ "model": model })))
}

/// `POST /v1/chat/completions` for any model.
pub fn any_chat() -> MockBuilder {
    Mock::given(method("POST")).and(path(CHAT_PATH))
}

/// `GET /openapi/v1/magicubes/balance`.
pub fn balance() -> MockBuilder {
    Mock::given(method("GET")).and(path(BALANCE_PATH))
}

/// The four rate-limit headers, in the order account limit, account remaining, model limit,
/// model remaining (strings, so garbage can be sent too).
pub fn with_quota(template: ResponseTemplate, values: [&str; 4]) -> ResponseTemplate {
    let names = [
        REQUESTS_LIMIT,
        REQUESTS_REMAINING,
        MODEL_REQUESTS_LIMIT,
        MODEL_REQUESTS_REMAINING,
    ];
    names
        .into_iter()
        .zip(values)
        .fold(template, |t, (name, value)| t.insert_header(name, value))
}

/// A successful chat completion carrying the four headers.
pub fn ok_with_quota(values: [i64; 4]) -> ResponseTemplate {
    with_quota(
        ResponseTemplate::new(200).set_body_json(completion()),
        values.map(|v| v.to_string()).each_ref().map(String::as_str),
    )
}

/// A minimal OpenAI-style completion body.
pub fn completion() -> Value {
    json!({
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"}, "finish_reason": "length"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
    })
}

/// `{"error":{"message":…,"request_id":"x"}}`, the shape of ModelScope's 4xx bodies.
pub fn error_body(message: &str) -> Value {
    json!({"error": {"message": message, "request_id": "x"}})
}

/// A successful balance body: 250 total, 240.5 available, 9.5 frozen ([`POINTS`]).
pub fn balance_body() -> Value {
    json!({
        "success": true,
        "message": "ok",
        "request_id": "r",
        "data": {"total_balance": 250, "available_balance": 240.5, "frozen_amount": 9.5}
    })
}

// ---------------------------------------------------------------------------------------------
// Mounted mocks

/// How many requests `server` has received whose body mentions `text` (a model id, say).
pub async fn calls_mentioning(server: &MockServer, text: &str) -> usize {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| String::from_utf8_lossy(&r.body).contains(text))
        .count()
}

/// How many requests `server` has received with bearer `key` (a balance read, say).
pub async fn calls_with_key(server: &MockServer, key: &str) -> usize {
    let bearer = format!("Bearer {key}");
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| {
            r.headers
                .get("authorization")
                .is_some_and(|v| v.to_str().is_ok_and(|v| v == bearer))
        })
        .count()
}

/// How many requests `server` has received on `path` (the balance endpoint, say).
pub async fn calls_to(server: &MockServer, path: &str) -> usize {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path() == path)
        .count()
}

/// The calls a hanging upstream holds once the app has opened all it may. Waits (failing with
/// `what` after `within`) until a call of `lane` is parked behind a full limit and the double
/// has received every call the app's engines hold (`count()` equals the calls in flight): then
/// no call is on its way and none can start before a hanging one ends. Answers `count()`; the
/// test asserts no more were opened than its limits allow.
pub async fn held_calls<F, Fut>(
    app: &TestApp,
    lane: fn(&UpstreamCalls) -> LaneCalls,
    count: F,
    within: Duration,
    what: &str,
) -> usize
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = usize>,
{
    let mut seen = (0, UpstreamCalls::default());
    let full = eventually_async(within, async || {
        seen = (count().await, app.engine_calls());
        let (received, calls) = seen;
        lane(&calls).waiting > 0 && calls.total().in_flight == received
    })
    .await;
    assert!(
        full,
        "{what}: the double has {} calls, the app {:?}",
        seen.0, seen.1
    );
    seen.0
}

/// `model` answers 200 with `quota` and is called exactly `times` times.
pub async fn mount_ok(server: &MockServer, model: &str, quota: [i64; 4], times: u64) {
    chat(model)
        .respond_with(ok_with_quota(quota))
        .expect(times)
        .named(format!("chat {model}"))
        .mount(server)
        .await;
}

/// Like [`mount_ok`], for calls made with `key` only.
pub async fn mount_ok_for_key(
    server: &MockServer,
    model: &str,
    key: &str,
    quota: [i64; 4],
    times: u64,
) {
    chat(model)
        .and(header("Authorization", format!("Bearer {key}").as_str()))
        .respond_with(ok_with_quota(quota))
        .expect(times)
        .named(format!("chat {model} with one key"))
        .mount(server)
        .await;
}

/// Like [`mount_ok`], answering only after `delay`.
pub async fn mount_slow(
    server: &MockServer,
    model: &str,
    quota: [i64; 4],
    delay: Duration,
    times: u64,
) {
    chat(model)
        .respond_with(ok_with_quota(quota).set_delay(delay))
        .expect(times)
        .named(format!("slow chat {model}"))
        .mount(server)
        .await;
}

/// `model` answers `status` with `{"error":{"message": message}}`, exactly `times` times.
pub async fn mount_failure(
    server: &MockServer,
    model: &str,
    status: u16,
    message: &str,
    times: u64,
) {
    chat(model)
        .respond_with(ResponseTemplate::new(status).set_body_json(error_body(message)))
        .expect(times)
        .named(format!("failing chat {model}"))
        .mount(server)
        .await;
}

/// The points balance, for any key, free and callable any number of times.
pub async fn mount_balance(server: &MockServer) {
    balance()
        .respond_with(ResponseTemplate::new(200).set_body_json(balance_body()))
        .named("points balance")
        .mount(server)
        .await;
}

/// The points balance called with this bearer `key`.
pub fn balance_for_key(key: &str) -> MockBuilder {
    balance().and(header("Authorization", format!("Bearer {key}").as_str()))
}

/// The points balance called with this bearer `key` answers `status` and `body`.
pub async fn mount_balance_for_key(server: &MockServer, key: &str, status: u16, body: Value) {
    balance_for_key(key)
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
        .mount(server)
        .await;
}

/// Fails the test (when the server drops) if the upstream receives any request but the free,
/// keyless catalogue (which the forms read for "did you mean"; unmounted, it answers 404).
pub async fn forbid_any_call(server: &MockServer) {
    Mock::given(|request: &wiremock::Request| request.url.path() != CATALOGUE_PATH)
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .named("no upstream call at all")
        .mount(server)
        .await;
}
