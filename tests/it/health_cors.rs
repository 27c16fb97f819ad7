//! `GET /health` and CORS on the two public JSON routes.

use rocket::http::{ContentType, Header, Status};
use serde_json::json;
use wiremock::ResponseTemplate;

use crate::harness::http::get;
use crate::harness::secrets::KEY;
use crate::harness::upstream::{chat, forbid_any_call, mount_ok};
use crate::harness::{Answer, TestApp};

// ---------------------------------------------------------------------------------------------
// /health

#[tokio::test]
async fn health_reports_healthy_with_service_and_version() {
    let app = TestApp::new().await;
    forbid_any_call(&app.upstream).await;
    let client = app.start().await;

    let answer = get(&client, "/health").await;

    assert_eq!(answer.status, Status::Ok);
    let json = answer.json();
    assert_eq!(json["status"], json!("healthy"), "{json}");
    assert_eq!(json["service"], json!("ModelScope Balance Query"), "{json}");
    assert_eq!(json["version"], json!(env!("CARGO_PKG_VERSION")), "{json}");
}

/// The database is made unusable behind the app's back: another connection drops the table
/// the health check reads (overwriting the file in place is not reliable: the app's pooled
/// WAL connections may keep serving pages from their cache).
#[tokio::test]
async fn health_is_503_unhealthy_when_the_database_is_unusable() {
    let app = TestApp::new().await;
    let client = app.start().await;
    assert_eq!(get(&client, "/health").await.status, Status::Ok);

    let conn = app.db();
    conn.execute_batch("PRAGMA foreign_keys = OFF; DROP TABLE users;")
        .expect("drop the users table");
    drop(conn);

    let answer = get(&client, "/health").await;
    assert_eq!(answer.status, Status::ServiceUnavailable, "{}", answer.body);
    let json = answer.json();
    assert_eq!(json["status"], json!("unhealthy"), "{json}");
    assert_eq!(json["service"], json!("ModelScope Balance Query"), "{json}");
}

// ---------------------------------------------------------------------------------------------
// CORS

const ORIGIN: &str = "https://scripts.example.org";

fn assert_cors(answer: &Answer) {
    assert_eq!(
        answer.header("Access-Control-Allow-Origin"),
        Some("*"),
        "no CORS on a {} answer",
        answer.status
    );
    assert_eq!(
        answer.header("Access-Control-Allow-Credentials"),
        None,
        "CORS must never allow credentials"
    );
}

#[tokio::test]
async fn health_allows_any_origin_without_credentials() {
    let app = TestApp::new().await;
    let client = app.start().await;

    let answer = Answer::from(
        client
            .get("/health")
            .header(Header::new("Origin", ORIGIN))
            .dispatch()
            .await,
    )
    .await;

    assert_eq!(answer.status, Status::Ok);
    assert_cors(&answer);
}

#[tokio::test]
async fn balance_allows_any_origin_without_credentials() {
    let app = TestApp::new().await;
    mount_ok(&app.upstream, "a/b", [2000, 1999, 500, 499], 1).await;
    let client = app.start().await;

    let answer = Answer::from(
        client
            .post("/api/balance")
            .header(ContentType::JSON)
            .header(Header::new("Origin", ORIGIN))
            .body(json!({"models": ["a/b"], "api_key": KEY}).to_string())
            .dispatch()
            .await,
    )
    .await;

    assert_eq!(answer.status, Status::Ok);
    assert_cors(&answer);
}

#[tokio::test]
async fn balance_errors_carry_cors_too() {
    let app = TestApp::new().await;
    forbid_any_call(&app.upstream).await;
    let client = app.start().await;

    // Refused by the handler.
    let answer = Answer::from(
        client
            .post("/api/balance")
            .header(ContentType::JSON)
            .header(Header::new("Origin", ORIGIN))
            .body(json!({"models": []}).to_string())
            .dispatch()
            .await,
    )
    .await;
    assert_eq!(answer.status, Status::BadRequest);
    assert_cors(&answer);

    // Refused before the handler (by a catcher).
    let answer = Answer::from(
        client
            .get("/api/balance")
            .header(Header::new("Origin", ORIGIN))
            .dispatch()
            .await,
    )
    .await;
    assert!(answer.status.code >= 400);
    assert_cors(&answer);
}

#[tokio::test]
async fn preflight_for_balance_allows_post_and_the_key_header() {
    let app = TestApp::new().await;
    forbid_any_call(&app.upstream).await;
    let client = app.start().await;

    let answer = Answer::from(
        client
            .options("/api/balance")
            .header(Header::new("Origin", ORIGIN))
            .header(Header::new("Access-Control-Request-Method", "POST"))
            .header(Header::new(
                "Access-Control-Request-Headers",
                "content-type, x-api-key",
            ))
            .dispatch()
            .await,
    )
    .await;

    assert!(answer.status.class().is_success(), "{}", answer.status);
    assert_cors(&answer);
    let methods = answer
        .header("Access-Control-Allow-Methods")
        .unwrap_or_default();
    assert!(methods.contains("POST"), "allow-methods: {methods:?}");
    let headers = answer
        .header("Access-Control-Allow-Headers")
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(headers.contains("x-api-key"), "allow-headers: {headers:?}");
    assert!(
        headers.contains("content-type"),
        "allow-headers: {headers:?}"
    );
}

#[tokio::test]
async fn preflight_for_health_is_answered() {
    let app = TestApp::new().await;
    let client = app.start().await;

    let answer = Answer::from(
        client
            .options("/health")
            .header(Header::new("Origin", ORIGIN))
            .header(Header::new("Access-Control-Request-Method", "GET"))
            .dispatch()
            .await,
    )
    .await;

    assert!(answer.status.class().is_success(), "{}", answer.status);
    assert_cors(&answer);
    let methods = answer
        .header("Access-Control-Allow-Methods")
        .unwrap_or_default();
    assert!(methods.contains("GET"), "allow-methods: {methods:?}");
}

#[tokio::test]
async fn pages_are_not_opened_to_other_origins() {
    let app = TestApp::new().await;
    let client = app.start().await;

    let answer = Answer::from(
        client
            .get("/")
            .header(Header::new("Origin", ORIGIN))
            .dispatch()
            .await,
    )
    .await;

    assert_eq!(answer.status, Status::Ok);
    assert_eq!(answer.header("Access-Control-Allow-Origin"), None);
}

#[tokio::test]
async fn a_balance_answer_with_an_upstream_failure_still_carries_cors() {
    let app = TestApp::new().await;
    chat("a/b")
        .respond_with(ResponseTemplate::new(500))
        .expect(1)
        .mount(&app.upstream)
        .await;
    let client = app.start().await;

    let answer = Answer::from(
        client
            .post("/api/balance")
            .header(ContentType::JSON)
            .header(Header::new("Origin", ORIGIN))
            .body(json!({"models": ["a/b"], "api_key": KEY}).to_string())
            .dispatch()
            .await,
    )
    .await;

    assert_eq!(answer.status, Status::Ok);
    assert_eq!(
        answer.json()["data"][0]["error_code"],
        json!("upstream_error")
    );
    assert_cors(&answer);
}
