//! The promises of `assets/openapi.json` that schemathesis found broken once (`.ci/contract.sh`
//! runs it in CI), pinned here so they stay kept: a method a path does not take is a 405 with
//! `Allow`; the history page parameters are read exactly as documented; `/api/balance` refuses
//! what the document refuses, and a well-formed request without any key is a 401.

use rocket::http::{ContentType, Header, Method, Status};
use rocket::local::asynchronous::Client;
use serde_json::{Value, json};

use crate::harness::api::{api_balance, api_get, assert_error_envelope, post_balance};
use crate::harness::http::Answer;
use crate::harness::secrets::KEY;
use crate::harness::upstream::{
    MODEL_A, QUOTA_A, balance_body, forbid_any_call, mount_balance, mount_balance_for_key, mount_ok,
};
use crate::harness::{TestApp, User};

async fn send(client: &Client, method: Method, uri: &str) -> Answer {
    let request = client
        .req(method, uri.to_owned())
        .header(Header::new("Accept-Language", "en"));
    Answer::from(request.dispatch().await).await
}

/// An app whose upstream must not be called.
async fn quiet_app() -> (TestApp, Client) {
    let app = TestApp::new().await;
    forbid_any_call(&app.upstream).await;
    let client = app.start().await;
    (app, client)
}

#[tokio::test]
async fn an_undeclared_method_on_a_known_path_is_a_405_with_allow() {
    let (_app, client) = quiet_app().await;

    let cases = [
        (Method::Trace, "/health", "GET, HEAD, OPTIONS"),
        (Method::Delete, "/api/balance", "OPTIONS, POST"),
        (Method::Get, "/api/balance", "OPTIONS, POST"),
        (Method::Put, "/api/history", "GET, HEAD, OPTIONS"),
        (Method::Patch, "/api/history/12", "GET, HEAD, OPTIONS"),
        (Method::Post, "/api/openapi.json", "GET, HEAD"),
    ];
    for (method, path, allow) in cases {
        let answer = send(&client, method, path).await;

        assert_eq!(answer.status, Status::MethodNotAllowed, "{method} {path}");
        assert_eq!(answer.header("Allow"), Some(allow), "{method} {path}");
        let json = assert_error_envelope(&answer);
        assert!(
            json["message"].as_str().unwrap().contains(allow),
            "{method} {path}: {json}"
        );
    }
}

#[tokio::test]
async fn an_unknown_path_stays_a_404() {
    let (_app, client) = quiet_app().await;

    for (method, path) in [(Method::Get, "/api/nothing"), (Method::Trace, "/api/x/y")] {
        let answer = send(&client, method, path).await;

        assert_eq!(answer.status, Status::NotFound, "{method} {path}");
        assert_eq!(answer.header("Allow"), None);
        assert_error_envelope(&answer);
    }
}

/// A token holder with one stored run, and the run's id.
async fn holder_with_a_run() -> (TestApp, User, String, i64) {
    let app = TestApp::new().await;
    mount_balance(&app.upstream).await;
    mount_ok(&app.upstream, MODEL_A, QUOTA_A, 1).await;
    let user = app.user("pages").await;
    let token = user.create_token("script").await;
    let answer = api_balance(
        &user.client,
        Some(&token),
        &json!({"models": [MODEL_A], "api_key": KEY}),
    )
    .await;
    assert_eq!(answer.status, Status::Ok, "{}", answer.body);
    let id = answer.json()["history_id"].as_i64().unwrap();
    (app, user, token, id)
}

#[tokio::test]
async fn history_page_parameters_are_read_as_documented() {
    let (_app, user, token, id) = holder_with_a_run().await;

    let refused = [
        "/api/history?limit=null",
        "/api/history?limit=5&limit=6",
        "/api/history?limit=0",
        "/api/history?limit=201",
        "/api/history?limit=+5",
        "/api/history?limit=",
        "/api/history?before=0",
        "/api/history?before=-3",
        "/api/history?before=1&before=1",
        "/api/history?before=1.0",
    ];
    for uri in refused {
        let answer = api_get(&user.client, Some(&token), uri).await;
        assert_eq!(answer.status, Status::BadRequest, "{uri}: {}", answer.body);
        assert_error_envelope(&answer);
    }

    let answer = api_get(&user.client, Some(&token), "/api/history?limit=200&x=1").await;
    assert_eq!(answer.status, Status::Ok, "{}", answer.body);
    assert_eq!(answer.json()["data"][0]["id"], json!(id));
    let answer = api_get(
        &user.client,
        Some(&token),
        &format!("/api/history?before={id}"),
    )
    .await;
    assert_eq!(answer.status, Status::Ok, "{}", answer.body);
    assert_eq!(answer.json()["data"], json!([]));
    let answer = api_get(&user.client, Some(&token), "/api/history?before=999999").await;
    assert_eq!(answer.status, Status::NotFound, "{}", answer.body);
}

async fn status_of(client: &Client, body: Value) -> (Status, Value) {
    let answer = post_balance(client, &body).await;
    let json = answer.json();
    (answer.status, json)
}

#[tokio::test]
async fn balance_refuses_what_the_document_refuses() {
    let (_app, client) = quiet_app().await;

    let refused = [
        // Nothing to query: no models, no preset, not a free check.
        json!({}),
        json!({"api_key": KEY, "models": null}),
        // A present field is checked even when another one wins over it.
        json!({"api_key": KEY, "models": [MODEL_A], "models_": "AAA"}),
        json!({"api_key": KEY, "models": [MODEL_A], "models_": 5}),
        // Counted as sent: 51 entries, even when they are the same model.
        json!({"api_key": KEY, "models": vec![MODEL_A; 51]}),
        json!({"api_key": KEY, "models": vec![MODEL_A; 51].join(" ")}),
        // Not one callable id.
        json!({"api_key": KEY, "models": ["bad id", "-x/y"]}),
        // The key as sent: control characters anywhere, more than 256 characters.
        json!({"api_key": format!("{KEY}\n"), "models": [MODEL_A]}),
        json!({"api_key": "k".repeat(257), "models": [MODEL_A]}),
        // The site exactly as documented.
        json!({"api_key": KEY, "models": [MODEL_A], "site": "AI"}),
        json!({"api_key": KEY, "models": [MODEL_A], "site": " cn"}),
        // Ids are positive integers within i64.
        json!({"api_key": KEY, "models": [MODEL_A], "preset": 0}),
        json!({"api_key": KEY, "models": [MODEL_A], "preset": 1.5}),
        json!({"api_key": KEY, "models": [MODEL_A], "key_id": 1e19}),
        json!({"api_key": KEY, "models": [MODEL_A], "key_id": "x".repeat(65)}),
    ];
    for body in refused {
        let (status, json) = status_of(&client, body.clone()).await;
        assert_eq!(status, Status::BadRequest, "{body}: {json}");
    }
}

#[tokio::test]
async fn no_key_or_two_keys_is_a_401() {
    let (_app, client) = quiet_app().await;

    for body in [
        json!({"models": [MODEL_A]}),
        json!({"models": [MODEL_A], "api_key": "   "}),
        json!({"probe": false}),
        // A whole float is an integer id; without a token, ids are a sign-in matter.
        json!({"models": [MODEL_A], "key_id": 3.0}),
    ] {
        let (status, json) = status_of(&client, body.clone()).await;
        assert_eq!(status, Status::Unauthorized, "{body}: {json}");
    }

    let answer = client
        .post("/api/balance")
        .header(ContentType::JSON)
        .header(Header::new("X-API-Key", crate::harness::secrets::OTHER_KEY))
        .body(json!({"models": [MODEL_A], "api_key": KEY}).to_string())
        .dispatch()
        .await;
    let answer = Answer::from(answer).await;
    assert_eq!(answer.status, Status::Unauthorized, "{}", answer.body);
    assert!(answer.body.contains("X-API-Key"), "{}", answer.body);
}

/// Rocket drops an X-API-Key value that is not UTF-8; one outside ASCII in UTF-8 is ignored the
/// same way (the document's pattern says both), so the body's key is the one used.
#[tokio::test]
async fn an_x_api_key_outside_ascii_is_ignored_as_if_not_sent() {
    let app = TestApp::new().await;
    mount_balance_for_key(&app.upstream, KEY, 200, balance_body()).await;
    let client = app.start().await;
    for value in ["é", "ms-00000000-0000-4000-8000-00000000000é"] {
        let answer = client
            .post("/api/balance")
            .header(ContentType::JSON)
            .header(Header::new("X-API-Key", value))
            .body(json!({"models": [MODEL_A], "api_key": KEY, "probe": false}).to_string())
            .dispatch()
            .await;
        let answer = Answer::from(answer).await;
        assert_eq!(answer.status, Status::Ok, "{value}: {}", answer.body);
    }
    // Without a key in the body, nothing was sent: the 401 that says how to send one.
    let answer = client
        .post("/api/balance")
        .header(ContentType::JSON)
        .header(Header::new("X-API-Key", "é"))
        .body(json!({"models": [MODEL_A]}).to_string())
        .dispatch()
        .await;
    assert_eq!(answer.status(), Status::Unauthorized);
}

#[tokio::test]
async fn a_free_check_needs_no_models_and_a_mixed_list_gets_its_rows() {
    let app = TestApp::new().await;
    mount_balance(&app.upstream).await;
    mount_ok(&app.upstream, MODEL_A, QUOTA_A, 1).await;
    let client = app.start().await;

    let (status, json) = status_of(&client, json!({"api_key": KEY, "probe": false})).await;
    assert_eq!(status, Status::Ok, "{json}");
    assert_eq!(json["data"], json!([]));

    // The string form: an invalid first entry is a row, not a refusal.
    let (status, json) = status_of(
        &client,
        json!({"api_key": KEY, "models": format!("zz，{MODEL_A}")}),
    )
    .await;
    assert_eq!(status, Status::Ok, "{json}");
    assert_eq!(json["data"][0]["error_code"], json!("invalid_model"));
    assert_eq!(json["data"][1]["status"], json!(200));
    // Whole points are written as integers everywhere in the answer.
    assert!(json["points_spent"].is_i64(), "{json}");
}
