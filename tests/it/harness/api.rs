//! The JSON API: `POST /api/balance` and the token-authenticated reads, and the envelope every
//! answer comes in.

use rocket::http::{ContentType, Header};
use rocket::local::asynchronous::Client;
use serde_json::{Value, json};

use super::http::Answer;

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

/// `POST /api/balance` with an optional `Authorization: Bearer <token>`.
pub async fn api_balance(client: &Client, token: Option<&str>, body: &Value) -> Answer {
    let authorization = token.map(|t| format!("Bearer {t}"));
    api_balance_authorized(client, authorization.as_deref(), body).await
}

/// `POST /api/balance` with an `Authorization` header exactly as given.
pub async fn api_balance_authorized(
    client: &Client,
    authorization: Option<&str>,
    body: &Value,
) -> Answer {
    let mut request = client
        .post("/api/balance")
        .header(ContentType::JSON)
        .body(body.to_string());
    if let Some(value) = authorization {
        request = request.header(Header::new("Authorization", value.to_owned()));
    }
    Answer::from(request.dispatch().await).await
}

/// `GET` a JSON API address with an optional bearer token.
pub async fn api_get(client: &Client, token: Option<&str>, uri: &str) -> Answer {
    let authorization = token.map(|t| format!("Bearer {t}"));
    api_get_authorized(client, authorization.as_deref(), uri).await
}

pub async fn api_get_authorized(client: &Client, authorization: Option<&str>, uri: &str) -> Answer {
    let mut request = client.get(uri.to_owned());
    if let Some(value) = authorization {
        request = request.header(Header::new("Authorization", value.to_owned()));
    }
    Answer::from(request.dispatch().await).await
}

// ---------------------------------------------------------------------------------------------
// The envelope

/// A failed-request envelope: `success: false`, `data: null`, a message that says something.
#[track_caller]
pub fn assert_error_envelope(answer: &Answer) -> Value {
    let json = answer.json();
    assert_eq!(json["success"], json!(false), "{json}");
    assert_eq!(json["data"], Value::Null, "{json}");
    let message = json["message"].as_str().unwrap_or_default();
    assert!(!message.trim().is_empty(), "an empty message: {json}");
    json
}

/// The rows of a successful envelope.
#[track_caller]
pub fn rows(json: &Value) -> &Vec<Value> {
    json["data"]
        .as_array()
        .unwrap_or_else(|| panic!("no data array: {json}"))
}

/// Compares a row with `expected` field for field; `latency_ms` must be a whole number and is
/// otherwise not compared (it is timing).
#[track_caller]
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

/// A row the way the API writes it when no points balance is known (the balance endpoint is
/// not mounted, so it answers 404) and no price is known: a healthy row with headers answers
/// from them (the smallest remaining count), every other row has no "calls left".
pub fn row(
    model: &str,
    numbers: [Option<i64>; 4],
    error: Option<&str>,
    error_code: Option<&str>,
    status: Option<u16>,
) -> Value {
    let headers = numbers.iter().any(Option::is_some);
    let healthy = error.is_none() && error_code.is_none();
    let calls_left = [numbers[1], numbers[3]].into_iter().flatten().min();
    let valid = error_code != Some("invalid_model");
    json!({
        "model": model,
        "request_limit": numbers[0],
        "request_remaining": numbers[1],
        "model_request_limit": numbers[2],
        "model_request_remaining": numbers[3],
        "error": error,
        "error_code": error_code,
        "status": status,
        "quota_source": (healthy && headers).then_some("headers"),
        "points_per_call": null,
        "price_source": null,
        "calls_left": if healthy { calls_left } else { None },
        "calls_left_range": null,
        "checked": valid,
        "price_candidates": if valid { tiers() } else { Value::Null },
        "model_month_request_limit": null,
        "model_month_request_remaining": null,
    })
}

/// A healthy row of the points regime: no headers, the answer from the balance.
/// `price`: the known price (and how), else `calls_left_range` is the range the tiers allow.
#[allow(dead_code)] // used by tests/it/points.rs on main
pub fn points_row(
    model: &str,
    available: f64,
    price: Option<(f64, &str)>,
    status: Option<u16>,
) -> Value {
    let calls = |price: f64| ((available / price) + 1e-9).floor() as i64;
    let (fewest, most) = (calls(2.0), calls(0.2));
    json!({
        "model": model,
        "request_limit": null,
        "request_remaining": null,
        "model_request_limit": null,
        "model_request_remaining": null,
        "error": null,
        "error_code": null,
        "status": status,
        "quota_source": "points",
        "points_per_call": price.map(|(p, _)| p),
        "price_source": price.map(|(_, source)| source),
        "calls_left": match price {
            Some((p, _)) => Some(calls(p)),
            None => (fewest == most).then_some(fewest),
        },
        "calls_left_range": match price {
            Some(_) => Value::Null,
            None if fewest == most => Value::Null,
            None => json!([fewest, most]),
        },
        "checked": status.is_some(),
        "price_candidates": match price {
            Some(_) => Value::Null,
            None => tiers(),
        },
        "model_month_request_limit": null,
        "model_month_request_remaining": null,
    })
}

/// The built-in price tiers, as a row's `price_candidates` lists them while nothing is known.
pub fn tiers() -> Value {
    json!([0.2, 0.5, 1, 2])
}

pub fn some4(values: [i64; 4]) -> [Option<i64>; 4] {
    values.map(Some)
}

pub const NONE4: [Option<i64>; 4] = [None; 4];
