//! Shared helpers for the black-box tests: the app through Rocket's local client, a wiremock
//! double of ModelScope, and checks every response must pass (the key never echoes back).

// Each test binary uses its own subset of these helpers.
#![allow(dead_code)]

use std::ops::Deref;
use std::path::Path;

use rocket::figment::Figment;
use rocket::http::{ContentType, Header, Status};
use rocket::local::asynchronous::{Client, LocalResponse};
use serde_json::{Value, json};
use tempfile::TempDir;
use wiremock::matchers::{any, body_partial_json, method, path};
use wiremock::{Mock, MockBuilder, MockServer, ResponseTemplate};

/// The canary key: it must never appear in anything the app answers.
pub const KEY: &str = "ms-11111111-2222-3333-4444-555555555555";
/// A second well-formed key, for the header-versus-body cases.
pub const OTHER_KEY: &str = "ms-99999999-8888-7777-6666-555555555555";

pub const CHAT_PATH: &str = "/v1/chat/completions";
pub const BALANCE_PATH: &str = "/openapi/v1/magicubes/balance";

pub const REQUESTS_LIMIT: &str = "modelscope-ratelimit-requests-limit";
pub const REQUESTS_REMAINING: &str = "modelscope-ratelimit-requests-remaining";
pub const MODEL_REQUESTS_LIMIT: &str = "modelscope-ratelimit-model-requests-limit";
pub const MODEL_REQUESTS_REMAINING: &str = "modelscope-ratelimit-model-requests-remaining";

/// The running app and the temporary data directory it lives in (deleted on drop).
pub struct TestApp {
    pub client: Client,
    dir: TempDir,
}

impl TestApp {
    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// Where the app keeps its SQLite file by default.
    pub fn database_path(&self) -> std::path::PathBuf {
        self.data_dir().join("modelscope-balance.db")
    }
}

impl Deref for TestApp {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.client
    }
}

/// A fresh ModelScope double.
pub async fn upstream() -> MockServer {
    MockServer::start().await
}

/// The app with both upstream bases pointed at `upstream`.
pub async fn app(upstream: &MockServer) -> TestApp {
    app_with(upstream, &[]).await
}

/// The app with extra numeric configuration, e.g. `&[("upstream_timeout_secs", 1)]`.
pub async fn app_with(upstream: &MockServer, overrides: &[(&str, i64)]) -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut figment: Figment = rocket::Config::figment()
        .merge(("data_dir", dir.path()))
        .merge(("modelscope_api_base", format!("{}/v1", upstream.uri())))
        .merge(("modelscope_hub_base", upstream.uri()))
        .merge(("log_level", "off"));
    for (key, value) in overrides {
        figment = figment.merge((*key, *value));
    }
    let client = Client::tracked(modelscope_balance::rocket_from(figment))
        .await
        .expect("the app ignites");
    TestApp { client, dir }
}

// ---------------------------------------------------------------------------------------------
// The upstream double

/// `POST /v1/chat/completions` for one model (matched in the JSON body).
pub fn chat(model: &str) -> MockBuilder {
    Mock::given(method("POST"))
        .and(path(CHAT_PATH))
        .and(body_partial_json(json!({ "model": model })))
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

/// `model` answers 200 with `values` and is called exactly `times` times.
pub async fn mount_ok(server: &MockServer, model: &str, values: [i64; 4], times: u64) {
    chat(model)
        .respond_with(ok_with_quota(values))
        .expect(times)
        .named(format!("chat {model}"))
        .mount(server)
        .await;
}

/// Fails the test (when the server drops) if the upstream receives any request at all.
pub async fn forbid_any_call(server: &MockServer) {
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .named("no upstream call at all")
        .mount(server)
        .await;
}

// ---------------------------------------------------------------------------------------------
// Talking to the app

/// A finished response: status, headers of interest and the body text.
pub struct Answer {
    pub status: Status,
    pub content_type: Option<ContentType>,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    pub async fn from(response: LocalResponse<'_>) -> Self {
        let status = response.status();
        let content_type = response.content_type();
        let headers = response
            .headers()
            .iter()
            .map(|h| (h.name().as_str().to_owned(), h.value().to_owned()))
            .collect();
        let body = response.into_string().await.unwrap_or_default();
        let answer = Self {
            status,
            content_type,
            headers,
            body,
        };
        answer.assert_no_key();
        answer
    }

    /// The first value of a header (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        assert!(
            self.content_type.as_ref().is_some_and(|ct| ct.is_json()),
            "expected a JSON answer, got {:?}: {}",
            self.content_type,
            self.body
        );
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("answer is not JSON ({e}): {}", self.body))
    }

    pub fn assert_no_key(&self) {
        for key in [KEY, OTHER_KEY] {
            assert!(
                !self.body.contains(key),
                "the API key leaked into a response: {}",
                self.body
            );
            // Not even the unique middle of it.
            assert!(
                !self.body.contains(&key[3..21]),
                "part of the API key leaked into a response: {}",
                self.body
            );
        }
    }
}

/// `POST /api/balance` with a JSON body.
pub async fn post_balance(client: &Client, body: &Value) -> Answer {
    post_balance_raw(
        client,
        Some(ContentType::JSON),
        body.to_string().into_bytes(),
        None,
    )
    .await
}

/// `POST /api/balance` with any bytes, content type and optional `X-API-Key`.
pub async fn post_balance_raw(
    client: &Client,
    content_type: Option<ContentType>,
    body: Vec<u8>,
    header_key: Option<&str>,
) -> Answer {
    let mut request = client.post("/api/balance").body(body);
    if let Some(content_type) = content_type {
        request = request.header(content_type);
    }
    if let Some(key) = header_key {
        request = request.header(Header::new("X-API-Key", key.to_owned()));
    }
    Answer::from(request.dispatch().await).await
}

/// `POST /quick` with form fields, the way a browser does: load `/` first (which sets the
/// CSRF cookie in the tracked client) and send the form's `csrf_token` along.
pub async fn post_quick(client: &Client, fields: &[(&str, &str)]) -> Answer {
    let token = csrf_token(client, "/").await;
    let mut fields = fields.to_vec();
    fields.push(("csrf_token", &token));
    post_form(client, "/quick", &fields).await
}

/// `POST` form fields as they are, with no CSRF token added.
pub async fn post_form(client: &Client, uri: &str, fields: &[(&str, &str)]) -> Answer {
    let request = client
        .post(uri.to_owned())
        .header(ContentType::Form)
        .body(form_encode(fields));
    Answer::from(request.dispatch().await).await
}

/// The `csrf_token` hidden field of the page at `uri`.
pub async fn csrf_token(client: &Client, uri: &str) -> String {
    let page = get(client, uri).await;
    assert_eq!(page.status, Status::Ok, "GET {uri}: {}", page.body);
    let marker = r#"name="csrf_token" value=""#;
    let start = page
        .body
        .find(marker)
        .unwrap_or_else(|| panic!("no csrf_token field on {uri}"))
        + marker.len();
    let end = start + page.body[start..].find('"').unwrap();
    html_unescape(&page.body[start..end])
}

pub async fn get(client: &Client, uri: &str) -> Answer {
    Answer::from(client.get(uri.to_owned()).dispatch().await).await
}

/// `application/x-www-form-urlencoded`.
pub fn form_encode(fields: &[(&str, &str)]) -> String {
    fn encode(text: &str) -> String {
        text.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                b' ' => "+".to_owned(),
                _ => format!("%{b:02X}"),
            })
            .collect()
    }
    fields
        .iter()
        .map(|(name, value)| format!("{}={}", encode(name), encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Undoes HTML escaping: the named entities askama may write and any numeric one.
pub fn html_unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let decoded = rest.find(';').and_then(|end| {
            let entity = &rest[1..end];
            let c = match entity {
                "lt" => Some('<'),
                "gt" => Some('>'),
                "amp" => Some('&'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                _ => entity.strip_prefix('#').and_then(|number| {
                    let code = match number.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok(),
                        None => number.parse().ok(),
                    };
                    code.and_then(char::from_u32)
                }),
            };
            c.map(|c| (c, end + 1))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

// ---------------------------------------------------------------------------------------------
// Assertions on the JSON API

/// A failed-request envelope: `success: false`, `data: null`, a message that says something.
pub fn assert_error_envelope(answer: &Answer) -> Value {
    let json = answer.json();
    assert_eq!(json["success"], json!(false), "{json}");
    assert_eq!(json["data"], Value::Null, "{json}");
    let message = json["message"].as_str().unwrap_or_default();
    assert!(!message.trim().is_empty(), "an empty message: {json}");
    json
}

/// The rows of a successful envelope.
pub fn rows(json: &Value) -> &Vec<Value> {
    json["data"]
        .as_array()
        .unwrap_or_else(|| panic!("no data array: {json}"))
}

/// Compares a row with `expected` field for field; `latency_ms` must be a whole number and is
/// otherwise not compared (it is timing).
pub fn assert_row(row: &Value, expected: Value) {
    let mut row = row.clone();
    let latency = row
        .as_object_mut()
        .and_then(|o| o.remove("latency_ms"))
        .unwrap_or_else(|| panic!("row without latency_ms: {row}"));
    assert!(
        latency.is_u64(),
        "latency_ms is not a whole number: {latency}"
    );
    assert_eq!(row, expected);
}

/// A row the way the API writes it.
pub fn row(
    model: &str,
    numbers: [Option<i64>; 4],
    error: Option<&str>,
    error_code: Option<&str>,
    status: Option<u16>,
) -> Value {
    json!({
        "model": model,
        "request_limit": numbers[0],
        "request_remaining": numbers[1],
        "model_request_limit": numbers[2],
        "model_request_remaining": numbers[3],
        "error": error,
        "error_code": error_code,
        "status": status,
    })
}

pub fn some4(values: [i64; 4]) -> [Option<i64>; 4] {
    values.map(Some)
}

pub const NONE4: [Option<i64>; 4] = [None; 4];
