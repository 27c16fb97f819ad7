//! Personal access tokens (`/account`) and what they open: `POST /api/balance` with a saved key
//! and a preset (stored with source `api`), `GET /api/history` and `GET /api/history/<id>`.
//! Every refusal is the JSON envelope `{success: false, data: null, message}`, never HTML.

use rocket::http::Status;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::harness::api::{
    api_balance, api_balance_authorized, api_get, api_get_authorized, assert_error_envelope,
    assert_row, row, rows, some4,
};
use crate::harness::db::{assert_ok_row, assert_points, count, run_ids, stored_rows, stored_run};
use crate::harness::html::{form_error, html_unescape, shown_token, visible_text};
use crate::harness::http::follow;
use crate::harness::secrets::{KEY, OTHER_KEY, contains_bytes};
use crate::harness::upstream::{
    MODEL_A, MODEL_B, QUOTA_A, QUOTA_B, forbid_any_call, mount_balance, mount_ok,
};
use crate::harness::users::is_token_shape;
use crate::harness::{Answer, TestApp, User};

/// A user with a saved key `main`, a preset `daily` (A, B), a token, and the points balance.
struct Ready {
    site: TestApp,
    user: User,
    key_id: i64,
    preset_id: i64,
    token: String,
}

async fn ready() -> Ready {
    let site = TestApp::new().await;
    mount_balance(&site.upstream).await;
    let user = site.user("alice").await;
    let key_id = user.add_key("main", KEY).await;
    let preset_id = user.add_preset("daily", &[MODEL_A, MODEL_B]).await;
    let token = user.create_token("script").await;
    Ready {
        site,
        user,
        key_id,
        preset_id,
        token,
    }
}

/// Both models answer, `times` times each.
async fn upstream_answers(site: &TestApp, times: u64) {
    mount_ok(&site.upstream, MODEL_A, QUOTA_A, times).await;
    mount_ok(&site.upstream, MODEL_B, QUOTA_B, times).await;
}

/// A successful stored run: 200, both rows, and the `history_id`.
#[track_caller]
fn assert_stored_answer(answer: &Answer) -> i64 {
    assert_eq!(answer.status, Status::Ok, "{}", answer.body);
    let json = answer.json();
    assert_eq!(json["success"], json!(true), "{json}");
    let data = rows(&json);
    assert_eq!(data.len(), 2, "{json}");
    assert_row(
        &data[0],
        row(MODEL_A, some4(QUOTA_A), None, None, Some(200)),
    );
    assert_row(
        &data[1],
        row(MODEL_B, some4(QUOTA_B), None, None, Some(200)),
    );
    json["history_id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no history_id: {json}"))
}

/// An error envelope with `status`.
#[track_caller]
fn assert_refused(answer: &Answer, status: Status) -> Value {
    assert_eq!(answer.status, status, "{}", answer.body);
    assert_error_envelope(answer)
}

fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// The visible text of the tokens-table row named `name` on `/account`.
fn token_row(html: &str, name: &str) -> String {
    html.split("<tr>")
        .find(|row| row.contains(&format!(">{name}</td>")))
        .map(|row| visible_text(&row[..row.find("</tr>").unwrap_or(row.len())]))
        .unwrap_or_else(|| panic!("no token row {name:?}: {html}"))
}

// ---------------------------------------------------------------------------------------------
// Tokens on /account

#[tokio::test]
async fn a_new_token_is_shown_once() {
    let site = TestApp::new().await;
    let user = site.user("alice").await;

    let made = user.submit("/account/tokens", &[("name", "ci")]).await;
    let reveal_at = made.location().expect("post, then redirect").to_owned();
    assert!(reveal_at.starts_with("/account/tokens/new/"), "{reveal_at}");
    let answer = follow(&user.client, &made).await;

    assert_eq!(answer.status, Status::Ok, "{}", answer.body);
    let token = shown_token(&answer.body).expect("the new token is shown");
    assert!(is_token_shape(&token), "{token:?}");
    let reloaded_reveal = user.get(&reveal_at).await;
    assert_eq!(reloaded_reveal.status, Status::Ok);
    assert_eq!(shown_token(&reloaded_reveal.body), None, "shown twice");
    assert!(!reloaded_reveal.body.contains(&token[4..]), "shown again");
    assert!(reloaded_reveal.body.contains("只显示一次"), "says why");
    let reload = user.get("/account").await;
    assert_eq!(reload.status, Status::Ok);
    assert!(!reload.body.contains(&token[4..]), "shown again");
    assert_eq!(shown_token(&reload.body), None);
    assert!(
        token_row(&reload.body, "ci").contains("从未"),
        "listed, unused"
    );
}

#[tokio::test]
async fn an_empty_token_name_is_refused_in_the_tokens_words() {
    let site = TestApp::new().await;
    let user = site.user("alice").await;

    let answer = user.submit("/account/tokens", &[("name", "   ")]).await;

    assert_eq!(
        answer.status,
        Status::UnprocessableEntity,
        "{}",
        answer.body
    );
    let error = form_error(&answer.body).expect("a message");
    assert!(error.contains("令牌名称"), "{error}");
    assert!(!error.contains("预设"), "the preset's words: {error}");
    assert!(
        answer
            .body
            .contains(r#"aria-describedby="token_name-error""#),
        "tied to its field"
    );
    assert_eq!(
        count(
            &site.db(),
            "SELECT count(*) FROM access_tokens WHERE user_id = ?1",
            user.id
        ),
        0
    );
}

#[tokio::test]
async fn a_database_failure_while_planning_is_503_not_a_missing_preset() {
    let r = ready().await;
    forbid_any_call(&r.site.upstream).await;
    r.site
        .db()
        .execute_batch("ALTER TABLE presets RENAME TO presets_away")
        .expect("break the presets table");

    let answer = api_balance(
        &r.user.client,
        Some(&r.token),
        &json!({"key_id": r.key_id, "preset": "daily"}),
    )
    .await;

    let error = assert_refused(&answer, Status::ServiceUnavailable);
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("数据库暂时不可用")),
        "{error}"
    );
    assert_eq!(r.site.upstream_calls().await, 0);
}

#[tokio::test]
async fn only_the_tokens_sha256_is_stored() {
    let r = ready().await;

    let bytes = r.site.db_bytes();
    assert!(!contains_bytes(&bytes, r.token.as_bytes()));
    assert!(!contains_bytes(&bytes, &r.token.as_bytes()[4..]));
    let stored: String = r
        .site
        .db()
        .query_row(
            "SELECT token_hash FROM access_tokens WHERE user_id = ?1",
            [r.user.id],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(stored, sha256_hex(&r.token));
}

#[tokio::test]
async fn last_used_time_shows_on_the_account_page_after_use() {
    let r = ready().await;
    assert!(token_row(&r.user.get("/account").await.body, "script").contains("从未"));

    let answer = api_get(&r.user.client, Some(&r.token), "/api/history").await;
    assert_eq!(answer.status, Status::Ok, "{}", answer.body);

    let row = token_row(&r.user.get("/account").await.body, "script");
    assert!(!row.contains("从未"), "{row}");
    // `script`, created time, last-used time: two Beijing times `YYYY-MM-DD HH:MM`.
    assert_eq!(row.matches(':').count(), 2, "{row}");
}

#[tokio::test]
async fn a_revoked_token_is_refused_with_401() {
    let r = ready().await;
    forbid_any_call(&r.site.upstream).await;
    let id = r.user.token_id("script");

    let revoke = r
        .user
        .submit(&format!("/account/tokens/{id}/revoke"), &[])
        .await;
    assert_eq!(revoke.status, Status::SeeOther, "{}", revoke.body);

    let body = json!({"key_id": r.key_id, "preset": "daily"});
    let balance = api_balance(&r.user.client, Some(&r.token), &body).await;
    assert_refused(&balance, Status::Unauthorized);
    let history = api_get(&r.user.client, Some(&r.token), "/api/history").await;
    assert_refused(&history, Status::Unauthorized);
}

#[tokio::test]
async fn malformed_tokens_are_refused_with_a_json_401() {
    let r = ready().await;
    forbid_any_call(&r.site.upstream).await;
    let body = json!({"key_id": r.key_id, "preset": "daily"});
    let short = format!("Bearer msb_{}", "a".repeat(63));
    let unknown = format!("Bearer msb_{}", "a".repeat(64));

    for authorization in ["Bearer abc", &short, &unknown, "Basic x", "Bearer ", "msb_"] {
        let balance = api_balance_authorized(&r.user.client, Some(authorization), &body).await;
        assert_refused(&balance, Status::Unauthorized);
        let history = api_get_authorized(&r.user.client, Some(authorization), "/api/history").await;
        assert_refused(&history, Status::Unauthorized);
    }
}

// ---------------------------------------------------------------------------------------------
// POST /api/balance with a token

#[tokio::test]
async fn saved_key_id_and_preset_name_run_is_stored_with_source_api() {
    let r = ready().await;
    upstream_answers(&r.site, 1).await;

    let answer = api_balance(
        &r.user.client,
        Some(&r.token),
        &json!({"key_id": r.key_id, "preset": "daily"}),
    )
    .await;

    let id = assert_stored_answer(&answer);
    let conn = r.site.db();
    let run = stored_run(&conn, id).expect("stored");
    assert_eq!(run.user_id, r.user.id);
    assert_eq!(run.source, "api");
    assert_eq!(run.api_key_id, Some(r.key_id));
    assert_eq!(run.key_label.as_deref(), Some("main"));
    assert_eq!(run.preset_id, Some(r.preset_id));
    assert_eq!(run.preset_name.as_deref(), Some("daily"));
    assert_eq!((run.model_count, run.ok_count, run.failed_count), (2, 2, 0));
    assert_points(&run);
    let stored = stored_rows(&conn, id);
    assert_eq!(stored.len(), 2);
    assert_ok_row(&stored[0], 0, MODEL_A, QUOTA_A);
    assert_ok_row(&stored[1], 1, MODEL_B, QUOTA_B);
    r.site.verify().await;
}

#[tokio::test]
async fn key_id_may_be_the_keys_label() {
    let r = ready().await;
    upstream_answers(&r.site, 1).await;

    let answer = api_balance(
        &r.user.client,
        Some(&r.token),
        &json!({"key_id": "main", "preset": "daily"}),
    )
    .await;

    let id = assert_stored_answer(&answer);
    let run = stored_run(&r.site.db(), id).unwrap();
    assert_eq!(run.api_key_id, Some(r.key_id));
    assert_eq!(run.key_label.as_deref(), Some("main"));
    r.site.verify().await;
}

#[tokio::test]
async fn preset_may_be_the_presets_id() {
    let r = ready().await;
    upstream_answers(&r.site, 1).await;

    let answer = api_balance(
        &r.user.client,
        Some(&r.token),
        &json!({"key_id": r.key_id, "preset": r.preset_id}),
    )
    .await;

    let id = assert_stored_answer(&answer);
    let run = stored_run(&r.site.db(), id).unwrap();
    assert_eq!(run.preset_id, Some(r.preset_id));
    assert_eq!(run.preset_name.as_deref(), Some("daily"));
    r.site.verify().await;
}

#[tokio::test]
async fn token_with_a_raw_key_and_models_is_stored_without_the_key() {
    let r = ready().await;
    upstream_answers(&r.site, 1).await;
    let raw = "ms-feedface-0000-4000-8000-0000000000aa";

    let answer = api_balance(
        &r.user.client,
        Some(&r.token),
        &json!({"api_key": raw, "models": [MODEL_A, MODEL_B]}),
    )
    .await;

    let id = assert_stored_answer(&answer);
    let run = stored_run(&r.site.db(), id).unwrap();
    assert_eq!(run.source, "api");
    assert_eq!((run.api_key_id, run.key_label), (None, None));
    assert_eq!((run.preset_id, run.preset_name), (None, None));
    let bytes = r.site.db_bytes();
    assert!(!contains_bytes(&bytes, &raw.as_bytes()[3..]), "stored");
    r.site.verify().await;
}

#[tokio::test]
async fn anonymous_call_naming_a_saved_key_is_401() {
    let r = ready().await;
    forbid_any_call(&r.site.upstream).await;
    let stranger = r.site.start().await;

    for body in [
        json!({"key_id": r.key_id, "models": [MODEL_A]}),
        json!({"key_id": r.key_id, "preset": "daily"}),
        json!({"api_key": KEY, "preset": "daily"}),
    ] {
        let answer = api_balance(&stranger, None, &body).await;
        assert_refused(&answer, Status::Unauthorized);
    }
    assert!(run_ids(&r.site.db(), r.user.id).is_empty());
}

#[tokio::test]
async fn unknown_preset_name_is_404() {
    let r = ready().await;
    forbid_any_call(&r.site.upstream).await;

    let answer = api_balance(
        &r.user.client,
        Some(&r.token),
        &json!({"key_id": r.key_id, "preset": "no-such-preset"}),
    )
    .await;

    assert_refused(&answer, Status::NotFound);
    assert_eq!(r.site.upstream_calls().await, 0);
}

#[tokio::test]
async fn unknown_key_label_is_404() {
    let r = ready().await;
    forbid_any_call(&r.site.upstream).await;

    let answer = api_balance(
        &r.user.client,
        Some(&r.token),
        &json!({"key_id": "no-such-key", "preset": "daily"}),
    )
    .await;

    assert_refused(&answer, Status::NotFound);
    assert_eq!(r.site.upstream_calls().await, 0);
}

#[tokio::test]
async fn another_users_key_is_404_and_never_used() {
    let r = ready().await;
    let bob = r.site.user("bob").await;
    bob.add_preset("bob-daily", &[MODEL_A]).await;
    let bob_token = bob.create_token("bob-script").await;
    forbid_any_call(&r.site.upstream).await;

    for key in [json!(r.key_id), json!("main")] {
        let answer = api_balance(
            &bob.client,
            Some(&bob_token),
            &json!({"key_id": key, "preset": "bob-daily"}),
        )
        .await;
        let envelope = assert_refused(&answer, Status::NotFound);
        assert!(!envelope.to_string().contains("main"), "{envelope}");
    }
    assert_eq!(r.site.upstream_calls().await, 0);
    assert!(run_ids(&r.site.db(), bob.id).is_empty());
}

#[tokio::test]
async fn another_users_preset_is_404_and_nothing_runs() {
    let r = ready().await;
    let bob = r.site.user("bob").await;
    let bob_key = bob.add_key("bob-key", OTHER_KEY).await;
    let bob_token = bob.create_token("bob-script").await;
    forbid_any_call(&r.site.upstream).await;

    for preset in [json!(r.preset_id), json!("daily")] {
        let answer = api_balance(
            &bob.client,
            Some(&bob_token),
            &json!({"key_id": bob_key, "preset": preset}),
        )
        .await;
        assert_refused(&answer, Status::NotFound);
    }
    assert_eq!(r.site.upstream_calls().await, 0);
    assert!(run_ids(&r.site.db(), bob.id).is_empty());
}

// ---------------------------------------------------------------------------------------------
// GET /api/history

/// `n` stored runs through the API; their ids, newest first.
async fn api_runs(r: &Ready, n: u64) -> Vec<i64> {
    upstream_answers(&r.site, n).await;
    let mut ids = Vec::new();
    for _ in 0..n {
        let answer = api_balance(
            &r.user.client,
            Some(&r.token),
            &json!({"key_id": r.key_id, "preset": "daily"}),
        )
        .await;
        ids.push(assert_stored_answer(&answer));
    }
    ids.reverse();
    ids
}

fn ids_of(json: &Value) -> Vec<i64> {
    rows(json)
        .iter()
        .map(|run| run["id"].as_i64().expect("a run id"))
        .collect()
}

#[tokio::test]
async fn history_lists_the_users_runs_newest_first() {
    let r = ready().await;
    let ids = api_runs(&r, 3).await;

    let answer = api_get(&r.user.client, Some(&r.token), "/api/history").await;

    assert_eq!(answer.status, Status::Ok, "{}", answer.body);
    let json = answer.json();
    assert_eq!(json["success"], json!(true));
    assert_eq!(ids_of(&json), ids);
    assert_eq!(json["next_before"], Value::Null, "fewer than a page");
    let newest = &rows(&json)[0];
    assert_eq!(newest["source"], "api");
    assert_eq!(newest["key_id"], json!(r.key_id));
    assert_eq!(newest["key_label"], "main");
    assert_eq!(newest["preset_name"], "daily");
    assert_eq!(
        (
            &newest["model_count"],
            &newest["ok_count"],
            &newest["failed_count"]
        ),
        (&json!(2), &json!(2), &json!(0))
    );
    assert_eq!(
        newest["account"],
        json!({"total_balance": 250.0, "available_balance": 240.5, "frozen_amount": 9.5})
    );
    r.site.verify().await;
}

#[tokio::test]
async fn history_pages_with_limit_and_before() {
    let r = ready().await;
    let ids = api_runs(&r, 3).await;

    let mut seen = Vec::new();
    let mut uri = "/api/history?limit=1".to_owned();
    for _ in 0..5 {
        let answer = api_get(&r.user.client, Some(&r.token), &uri).await;
        assert_eq!(answer.status, Status::Ok, "{uri}: {}", answer.body);
        let json = answer.json();
        let page = ids_of(&json);
        assert!(page.len() <= 1, "{json}");
        seen.extend(page);
        match json["next_before"].as_i64() {
            Some(before) => uri = format!("/api/history?limit=1&before={before}"),
            None => break,
        }
    }
    assert_eq!(seen, ids);
}

#[tokio::test]
async fn history_refuses_a_bad_limit_or_cursor_with_400() {
    let r = ready().await;

    for query in [
        "limit=0",
        "limit=abc",
        "limit=201",
        "limit=-1",
        "before=abc",
        "before=0",
    ] {
        let answer = api_get(
            &r.user.client,
            Some(&r.token),
            &format!("/api/history?{query}"),
        )
        .await;
        assert_refused(&answer, Status::BadRequest);
    }
    let most = api_get(&r.user.client, Some(&r.token), "/api/history?limit=200").await;
    assert_eq!(most.status, Status::Ok, "{}", most.body);
}

#[tokio::test]
async fn history_detail_has_the_runs_rows() {
    let r = ready().await;
    let id = api_runs(&r, 1).await[0];

    let answer = api_get(
        &r.user.client,
        Some(&r.token),
        &format!("/api/history/{id}"),
    )
    .await;

    assert_eq!(answer.status, Status::Ok, "{}", answer.body);
    let json = answer.json();
    assert_eq!(json["success"], json!(true));
    let run = &json["data"];
    assert_eq!(run["id"], json!(id));
    assert_eq!(run["source"], "api");
    let results = run["results"].as_array().expect("results");
    assert_eq!(results.len(), 2, "{json}");
    assert_row(
        &results[0],
        row(MODEL_A, some4(QUOTA_A), None, None, Some(200)),
    );
    assert_row(
        &results[1],
        row(MODEL_B, some4(QUOTA_B), None, None, Some(200)),
    );
}

#[tokio::test]
async fn another_users_history_is_404_and_never_listed() {
    let r = ready().await;
    let id = api_runs(&r, 1).await[0];
    let bob = r.site.user("bob").await;
    let bob_token = bob.create_token("bob-script").await;

    let detail = api_get(&bob.client, Some(&bob_token), &format!("/api/history/{id}")).await;
    let envelope = assert_refused(&detail, Status::NotFound);
    assert!(!envelope.to_string().contains("main"), "{envelope}");

    let cursor = api_get(
        &bob.client,
        Some(&bob_token),
        &format!("/api/history?before={id}"),
    )
    .await;
    assert_refused(&cursor, Status::NotFound);

    let list = api_get(&bob.client, Some(&bob_token), "/api/history").await;
    assert_eq!(list.status, Status::Ok);
    assert_eq!(rows(&list.json()).len(), 0, "{}", list.body);
}

#[tokio::test]
async fn anonymous_history_is_401() {
    let r = ready().await;
    let id = api_runs(&r, 1).await[0];
    let stranger = r.site.start().await;

    for uri in ["/api/history".to_owned(), format!("/api/history/{id}")] {
        let answer = api_get(&stranger, None, &uri).await;
        assert_refused(&answer, Status::Unauthorized);
    }
    // A signed-in browser's cookie is no token either.
    let with_cookie = api_get(&r.user.client, None, "/api/history").await;
    assert_refused(&with_cookie, Status::Unauthorized);
}

#[tokio::test]
async fn history_detail_with_a_non_numeric_id_is_not_found() {
    let r = ready().await;

    let answer = api_get(&r.user.client, Some(&r.token), "/api/history/abc").await;

    // Like `/history/abc` on the pages: no such record. Not a 422 about JSON fields (there is
    // no JSON in a GET).
    let envelope = assert_refused(&answer, Status::NotFound);
    assert!(
        !envelope["message"].as_str().unwrap().contains("JSON"),
        "{envelope}"
    );
}

// ---------------------------------------------------------------------------------------------
// More isolation and edges

#[tokio::test]
async fn another_user_cannot_revoke_a_token() {
    let r = ready().await;
    let bob = r.site.user("bob").await;
    let id = r.user.token_id("script");

    let revoke = bob
        .submit(&format!("/account/tokens/{id}/revoke"), &[])
        .await;

    assert_eq!(revoke.status, Status::NotFound, "{}", revoke.body);
    let still = api_get(&r.user.client, Some(&r.token), "/api/history").await;
    assert_eq!(still.status, Status::Ok, "{}", still.body);
}

#[tokio::test]
async fn token_names_render_escaped_on_the_account_page() {
    let site = TestApp::new().await;
    let user = site.user("alice").await;
    user.create_token("<script>alert(1)</script>").await;

    let page = user.get("/account").await;

    assert!(!page.body.contains("<script>alert"), "{}", page.body);
    assert!(html_unescape(&page.body).contains("<script>alert(1)</script>"));
}

#[tokio::test]
async fn an_empty_preset_is_a_409() {
    let r = ready().await;
    forbid_any_call(&r.site.upstream).await;
    r.site
        .db()
        .execute(
            "INSERT INTO presets (user_id, name, models, is_default, created_at, updated_at)
             VALUES (?1, 'empty', '[]', 0, 0, 0)",
            [r.user.id],
        )
        .unwrap();

    let answer = api_balance(
        &r.user.client,
        Some(&r.token),
        &json!({"key_id": r.key_id, "preset": "empty"}),
    )
    .await;

    // The request is well formed; the stored preset is what stands in the way.
    assert_refused(&answer, Status::Conflict);
}

#[tokio::test]
async fn anonymous_raw_key_call_is_not_stored() {
    let r = ready().await;
    mount_ok(&r.site.upstream, MODEL_A, QUOTA_A, 1).await;
    let stranger = r.site.start().await;

    let answer = api_balance(
        &stranger,
        None,
        &json!({"api_key": KEY, "models": [MODEL_A]}),
    )
    .await;

    assert_eq!(answer.status, Status::Ok, "{}", answer.body);
    let json = answer.json();
    assert_eq!(json.get("history_id"), None, "{json}");
    let stored: i64 = r
        .site
        .db()
        .query_row("SELECT count(*) FROM queries", [], |row| row.get(0))
        .unwrap();
    assert_eq!(stored, 0);
}
