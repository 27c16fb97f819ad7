//! `/query` and `/query/stream`, black-box through the Rocket client and a wiremock ModelScope:
//! what a run stores, how many upstream calls it makes, the stream's events, and every way the
//! form can be wrong (including another user's key or preset).

use std::time::Duration;

use rocket::http::{ContentType, Status};
use serde_json::{Value, json};
use tokio::io::AsyncBufReadExt;

use crate::harness::db::{assert_ok_row, assert_points, run_ids, stored_rows, stored_run};
use crate::harness::html::{form_error, html_unescape};
use crate::harness::http::{Streamed, form_encode};
use crate::harness::secrets::{KEY, OTHER_KEY, contains_bytes};
use crate::harness::upstream::{
    CHAT_PATH, MODEL_A, MODEL_B, MODEL_C, QUOTA_A, QUOTA_B, QUOTA_C, forbid_any_call,
    mount_balance, mount_failure, mount_ok, mount_slow,
};
use crate::harness::users::history_id_of_redirect;
use crate::harness::{Answer, TestApp, User, eventually};

/// A key that is only ever pasted, never saved.
const PASTED_KEY: &str = "ms-0badc0de-1234-4567-89ab-cdef01234567";

/// A user with a saved key (`main`) and a preset (`daily`: A, B, C), and the points balance.
struct Ready {
    site: TestApp,
    user: User,
    key_id: String,
    preset_id: String,
}

async fn ready() -> Ready {
    let site = TestApp::new().await;
    mount_balance(&site.upstream).await;
    let user = site.user("alice").await;
    let key_id = user.add_key("main", KEY).await.to_string();
    let preset_id = user
        .add_preset("daily", &[MODEL_A, MODEL_B, MODEL_C])
        .await
        .to_string();
    Ready {
        site,
        user,
        key_id,
        preset_id,
    }
}

/// The models textarea of the query page, unescaped.
fn models_field(html: &str) -> String {
    let start = html
        .find(r#"<textarea id="models""#)
        .expect("the models field");
    let open = start + html[start..].find('>').expect("textarea start") + 1;
    let close = open + html[open..].find("</textarea>").expect("textarea end");
    html_unescape(&html[open..close])
}

#[track_caller]
fn assert_refused(answer: &Answer, words: &str) {
    assert_eq!(
        answer.status,
        Status::UnprocessableEntity,
        "expected 422: {}",
        answer.body
    );
    let error = form_error(&answer.body).unwrap_or_else(|| panic!("no message: {}", answer.body));
    assert!(error.contains(words), "message {error:?} lacks {words:?}");
}

// ---------------------------------------------------------------------------------------------
// POST /query

#[tokio::test]
async fn saved_key_and_preset_run_is_stored_and_redirects_to_it() {
    let r = ready().await;
    mount_ok(&r.site.upstream, MODEL_A, QUOTA_A, 1).await;
    mount_ok(&r.site.upstream, MODEL_B, QUOTA_B, 1).await;
    mount_ok(&r.site.upstream, MODEL_C, QUOTA_C, 1).await;

    let answer = r
        .user
        .run_query(&[("key_id", &r.key_id), ("preset_id", &r.preset_id)])
        .await;
    let id = history_id_of_redirect(&answer);

    let conn = r.site.db();
    let run = stored_run(&conn, id).expect("the run is stored");
    assert_eq!(run.user_id, r.user.id);
    assert_eq!(run.source, "web");
    assert_eq!(run.api_key_id, Some(r.key_id.parse().unwrap()));
    assert_eq!(run.key_label.as_deref(), Some("main"));
    assert_eq!(run.preset_id, Some(r.preset_id.parse().unwrap()));
    assert_eq!(run.preset_name.as_deref(), Some("daily"));
    assert_eq!((run.model_count, run.ok_count, run.failed_count), (3, 3, 0));
    assert_points(&run);
    let rows = stored_rows(&conn, id);
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert_ok_row(&rows[0], 0, MODEL_A, QUOTA_A);
    assert_ok_row(&rows[1], 1, MODEL_B, QUOTA_B);
    assert_ok_row(&rows[2], 2, MODEL_C, QUOTA_C);
    // Exactly one upstream call per model.
    r.site.verify().await;

    let page = r.user.get(&format!("/history/{id}")).await;
    assert_eq!(page.status, Status::Ok);
    assert!(page.body.contains("1995 / 2000"), "{}", page.body);
}

#[tokio::test]
async fn typed_models_override_the_preset() {
    let r = ready().await;
    mount_ok(&r.site.upstream, MODEL_C, QUOTA_C, 1).await;
    mount_ok(&r.site.upstream, MODEL_A, QUOTA_A, 1).await;
    mount_ok(&r.site.upstream, MODEL_B, QUOTA_B, 0).await;

    let id = r
        .user
        .run_query_ok(&[
            ("key_id", &r.key_id),
            ("preset_id", &r.preset_id),
            ("models", &format!("{MODEL_C}, {MODEL_A}")),
        ])
        .await;

    let conn = r.site.db();
    let rows = stored_rows(&conn, id);
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_ok_row(&rows[0], 0, MODEL_C, QUOTA_C);
    assert_ok_row(&rows[1], 1, MODEL_A, QUOTA_A);
    let run = stored_run(&conn, id).unwrap();
    assert_eq!(
        run.preset_name, None,
        "the preset was not what ran: {run:?}"
    );
    r.site.verify().await;
}

#[tokio::test]
async fn pasted_key_runs_and_is_stored_nowhere() {
    let r = ready().await;
    mount_ok(&r.site.upstream, MODEL_A, QUOTA_A, 1).await;

    let id = r
        .user
        .run_query_ok(&[("key_id", ""), ("api_key", PASTED_KEY), ("models", MODEL_A)])
        .await;

    let conn = r.site.db();
    let run = stored_run(&conn, id).unwrap();
    assert_eq!((run.api_key_id, run.key_label.clone()), (None, None));
    assert_ok_row(&stored_rows(&conn, id)[0], 0, MODEL_A, QUOTA_A);
    drop(conn);

    // The pasted key is the one that went upstream…
    let requests = r.site.upstream.received_requests().await.unwrap();
    let chat = requests
        .iter()
        .find(|req| req.url.path() == CHAT_PATH)
        .expect("a chat call");
    assert_eq!(
        chat.headers
            .get("authorization")
            .and_then(|v| v.to_str().ok()),
        Some(format!("Bearer {PASTED_KEY}").as_str())
    );
    // …and nothing SQLite keeps holds it, whole or its unique part.
    let bytes = r.site.db_bytes();
    for needle in [PASTED_KEY, &PASTED_KEY[3..]] {
        assert!(
            !contains_bytes(&bytes, needle.as_bytes()),
            "the pasted key is in the database files"
        );
    }
    let page = r.user.get(&format!("/history/{id}")).await;
    assert!(!page.body.contains(&PASTED_KEY[3..]), "{}", page.body);
}

#[tokio::test]
async fn no_key_is_refused_and_keeps_the_typed_models() {
    let r = ready().await;
    forbid_any_call(&r.site.upstream).await;
    let typed = format!("{MODEL_A}\n{MODEL_B}");

    let answer = r
        .user
        .run_query(&[("key_id", ""), ("api_key", ""), ("models", &typed)])
        .await;

    assert_refused(&answer, "请填写 ModelScope 访问令牌（API Key）");
    assert_eq!(models_field(&answer.body), typed);
    assert!(run_ids(&r.site.db(), r.user.id).is_empty());
}

#[tokio::test]
async fn malformed_pasted_key_is_refused_and_not_echoed() {
    let r = ready().await;
    forbid_any_call(&r.site.upstream).await;
    let bad = "ms-bad\u{7}key-that-rings-a-bell";

    let answer = r
        .user
        .run_query(&[("key_id", ""), ("api_key", bad), ("models", MODEL_A)])
        .await;

    assert_refused(&answer, "API Key 格式不正确");
    assert_eq!(models_field(&answer.body), MODEL_A);
    assert!(
        !answer.body.contains("key-that-rings-a-bell"),
        "{}",
        answer.body
    );
}

#[tokio::test]
async fn no_models_is_refused() {
    let r = ready().await;
    forbid_any_call(&r.site.upstream).await;

    let answer = r
        .user
        .run_query(&[("key_id", &r.key_id), ("preset_id", ""), ("models", "  ")])
        .await;

    assert_refused(&answer, "请至少填写一个模型 ID");
    let kept = format!(r#"<option value="{}" selected>"#, r.key_id);
    assert!(answer.body.contains(&kept), "the key choice is kept");
}

#[tokio::test]
async fn too_many_models_is_refused_and_keeps_the_typed_models() {
    let r = ready().await;
    forbid_any_call(&r.site.upstream).await;
    let typed = (0..51)
        .map(|n| format!("owner/model-{n}"))
        .collect::<Vec<_>>()
        .join(", ");

    let answer = r
        .user
        .run_query(&[("key_id", &r.key_id), ("models", &typed)])
        .await;

    assert_refused(&answer, "一次最多查询 50 个模型");
    assert_eq!(models_field(&answer.body), typed);
}

#[tokio::test]
async fn a_database_failure_while_planning_is_503_not_a_missing_preset() {
    let r = ready().await;
    forbid_any_call(&r.site.upstream).await;
    r.site
        .db()
        .execute_batch("ALTER TABLE presets RENAME TO presets_away")
        .expect("break the presets table");
    let fields = [
        ("key_id", r.key_id.as_str()),
        ("preset_id", r.preset_id.as_str()),
    ];

    let page = r.user.run_query(&fields).await;
    assert_eq!(page.status, Status::ServiceUnavailable, "{}", page.body);
    let error = form_error(&page.body).unwrap_or_else(|| panic!("no message: {}", page.body));
    assert!(error.contains("数据库暂时不可用"), "{error}");
    assert!(!page.body.contains("找不到这个预设"), "{}", page.body);

    // The stream refuses the same way before it starts; the script then posts the form.
    let stream = r.user.submit("/query/stream", &fields).await;
    assert_eq!(stream.status, Status::ServiceUnavailable, "{}", stream.body);
    assert_eq!(stream.json()["code"], "unavailable", "{}", stream.body);
    assert!(run_ids(&r.site.db(), r.user.id).is_empty());
}

#[tokio::test]
async fn unknown_preset_id_is_refused() {
    let r = ready().await;
    forbid_any_call(&r.site.upstream).await;

    let answer = r
        .user
        .run_query(&[("key_id", &r.key_id), ("preset_id", "999999")])
        .await;

    assert_refused(&answer, "找不到这个预设");
    let kept = format!(r#"<option value="{}" selected>"#, r.key_id);
    assert!(answer.body.contains(&kept), "the key choice is kept");
}

#[tokio::test]
async fn another_users_key_id_is_not_found_and_never_used() {
    let r = ready().await;
    let bob = r.site.user("bob").await;
    let bob_preset = bob.add_preset("bob-daily", &[MODEL_A]).await.to_string();
    forbid_any_call(&r.site.upstream).await;

    let answer = bob
        .run_query(&[("key_id", &r.key_id), ("preset_id", &bob_preset)])
        .await;

    assert_refused(&answer, "找不到这个 Key");
    assert!(
        !answer.body.contains(">main"),
        "alice's key label: {}",
        answer.body
    );
    assert!(run_ids(&r.site.db(), bob.id).is_empty());
    assert_eq!(r.site.upstream_calls().await, 0);
}

#[tokio::test]
async fn another_users_preset_id_is_not_found() {
    let r = ready().await;
    let bob = r.site.user("bob").await;
    let bob_key = bob.add_key("bob-key", OTHER_KEY).await.to_string();
    forbid_any_call(&r.site.upstream).await;

    let answer = bob
        .run_query(&[("key_id", &bob_key), ("preset_id", &r.preset_id)])
        .await;

    assert_refused(&answer, "找不到这个预设");
    assert!(
        !answer.body.contains("daily"),
        "alice's preset: {}",
        answer.body
    );
    assert!(run_ids(&r.site.db(), bob.id).is_empty());
    assert_eq!(r.site.upstream_calls().await, 0);
}

#[tokio::test]
async fn query_without_csrf_token_is_forbidden() {
    let r = ready().await;
    forbid_any_call(&r.site.upstream).await;

    let answer = r
        .user
        .post_form(
            "/query",
            &[("key_id", &r.key_id), ("preset_id", &r.preset_id)],
        )
        .await;

    assert_eq!(answer.status, Status::Forbidden, "{}", answer.body);
    assert!(run_ids(&r.site.db(), r.user.id).is_empty());
}

#[tokio::test]
async fn query_with_wrong_csrf_token_is_forbidden() {
    let r = ready().await;
    forbid_any_call(&r.site.upstream).await;
    let wrong = "0".repeat(r.user.csrf.len());

    let answer = r
        .user
        .post_form(
            "/query",
            &[
                ("key_id", &r.key_id),
                ("preset_id", &r.preset_id),
                ("csrf_token", &wrong),
            ],
        )
        .await;

    assert_eq!(answer.status, Status::Forbidden, "{}", answer.body);
    assert!(run_ids(&r.site.db(), r.user.id).is_empty());
}

// ---------------------------------------------------------------------------------------------
// POST /query/stream

#[tokio::test]
async fn stream_sends_start_rows_balance_and_done() {
    let r = ready().await;
    mount_ok(&r.site.upstream, MODEL_A, QUOTA_A, 1).await;
    mount_ok(&r.site.upstream, MODEL_B, QUOTA_B, 1).await;
    mount_ok(&r.site.upstream, MODEL_C, QUOTA_C, 1).await;

    let streamed = r
        .user
        .stream(&[("key_id", &r.key_id), ("preset_id", &r.preset_id)])
        .await;

    assert_eq!(streamed.status, Status::Ok, "{}", streamed.body);
    assert!(streamed.is_ndjson(), "{:?}", streamed.content_type);
    let events = &streamed.events;
    // start, expected, before, 3 rows, balance (after), final, done.
    assert_eq!(events.len(), 1 + 1 + 1 + 3 + 1 + 1 + 1, "{}", streamed.body);
    assert_eq!(
        events[0],
        json!({"type": "start", "total": 3, "models": [MODEL_A, MODEL_B, MODEL_C], "check": false})
    );
    // No price is known yet: each model costs 0.5 to 2 points.
    assert_eq!(events[1], json!({"type": "expected", "cost": "0.6–6"}));
    assert_eq!(
        events[2],
        json!({"type": "before", "code": "ok", "available": 240.5})
    );
    let mut indexes = streamed.row_order();
    indexes.sort_unstable();
    assert_eq!(indexes, [0, 1, 2], "each row once");
    for (model, quota) in [(MODEL_A, QUOTA_A), (MODEL_B, QUOTA_B), (MODEL_C, QUOTA_C)] {
        let row = streamed
            .of_type("row")
            .into_iter()
            .find(|e| e["model"] == model)
            .unwrap_or_else(|| panic!("no row for {model}"))
            .clone();
        let index = [MODEL_A, MODEL_B, MODEL_C]
            .iter()
            .position(|m| *m == model)
            .unwrap();
        assert_eq!(row["index"], json!(index));
        assert!(row["latency_ms"].is_u64(), "{row}");
        let mut row = row;
        row.as_object_mut().unwrap().remove("latency_ms");
        let expected = json!({
            "type": "row",
            "index": index,
            "model": model,
            "account": format!("{} / {}", quota[1], quota[0]),
            "model_quota": format!("{} / {}", quota[3], quota[2]),
            "calls_left": quota[1].min(quota[3]).to_string(),
            "source": "headers",
            "price": null,
            "price_source": "",
            "candidates": null,
            "month_left": null,
            "checked": true,
            "retry": false,
            "code": "ok",
            "detail": null,
        });
        assert_eq!(row, expected);
        // The final event answers each row again from the balance after the run.
        let mut last = streamed.of_type("final")[0]["rows"][index].clone();
        last.as_object_mut().unwrap().remove("latency_ms");
        let mut expected = expected;
        let object = expected.as_object_mut().unwrap();
        object.remove("type");
        object.remove("index");
        assert_eq!(last, expected);
    }
    // The balance double keeps 9.5 frozen before and after, so nothing settles and 0 is spent.
    assert_eq!(
        streamed.of_type("balance"),
        [&json!({
            "type": "balance",
            "code": "ok",
            "available": "240.5",
            "total": "250",
            "frozen": "9.5",
            "spent": "0",
            "tiers": [
                {"price": "2", "calls": 120},
                {"price": "1", "calls": 240},
                {"price": "0.5", "calls": 481},
                {"price": "0.2", "calls": 1202},
            ],
        })]
    );
    let done = events.last().unwrap();
    assert_eq!(done["type"], "done", "{}", streamed.body);
    let id = done["id"].as_i64().expect("the stored run's id");
    assert_eq!(done["url"], json!(format!("/history/{id}")));
    r.site.verify().await;
}

#[tokio::test]
async fn streamed_run_is_stored_with_its_rows() {
    let r = ready().await;
    mount_ok(&r.site.upstream, MODEL_A, QUOTA_A, 1).await;
    mount_ok(&r.site.upstream, MODEL_B, QUOTA_B, 1).await;
    mount_ok(&r.site.upstream, MODEL_C, QUOTA_C, 1).await;

    let streamed = r
        .user
        .stream(&[("key_id", &r.key_id), ("preset_id", &r.preset_id)])
        .await;
    let id = streamed.events.last().unwrap()["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no done event: {}", streamed.body));

    let conn = r.site.db();
    let run = stored_run(&conn, id).expect("stored");
    assert_eq!(run.user_id, r.user.id);
    assert_eq!(run.source, "web");
    assert_eq!(run.key_label.as_deref(), Some("main"));
    assert_eq!(run.preset_name.as_deref(), Some("daily"));
    assert_eq!((run.model_count, run.ok_count, run.failed_count), (3, 3, 0));
    assert_points(&run);
    let rows = stored_rows(&conn, id);
    assert_eq!(rows.len(), 3);
    assert_ok_row(&rows[0], 0, MODEL_A, QUOTA_A);
    assert_ok_row(&rows[1], 1, MODEL_B, QUOTA_B);
    assert_ok_row(&rows[2], 2, MODEL_C, QUOTA_C);
}

#[tokio::test]
async fn stream_rows_arrive_in_completion_order() {
    let r = ready().await;
    mount_slow(
        &r.site.upstream,
        MODEL_A,
        QUOTA_A,
        Duration::from_millis(900),
        1,
    )
    .await;
    mount_ok(&r.site.upstream, MODEL_B, QUOTA_B, 1).await;

    let streamed = r
        .user
        .stream(&[
            ("key_id", &r.key_id),
            ("models", &format!("{MODEL_A} {MODEL_B}")),
        ])
        .await;

    assert_eq!(streamed.row_order(), [1, 0], "{}", streamed.body);
    // Stored in input order all the same.
    let id = streamed.events.last().unwrap()["id"].as_i64().unwrap();
    let rows = stored_rows(&r.site.db(), id);
    assert_ok_row(&rows[0], 0, MODEL_A, QUOTA_A);
    assert_ok_row(&rows[1], 1, MODEL_B, QUOTA_B);
}

#[tokio::test]
async fn dropped_stream_still_stores_the_run() {
    let r = ready().await;
    let delay = Duration::from_millis(500);
    mount_slow(&r.site.upstream, MODEL_A, QUOTA_A, delay, 1).await;
    mount_slow(&r.site.upstream, MODEL_B, QUOTA_B, delay, 1).await;

    let body = form_encode(&[
        ("key_id", &r.key_id),
        ("models", &format!("{MODEL_A},{MODEL_B}")),
        ("csrf_token", &r.user.csrf),
    ]);
    let response = r
        .user
        .client
        .post("/query/stream")
        .header(ContentType::Form)
        .body(body)
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::Ok);
    let mut reader = tokio::io::BufReader::new(response);
    let mut first = String::new();
    reader.read_line(&mut first).await.expect("the first line");
    let start: Value = serde_json::from_str(&first).expect("a JSON line");
    assert_eq!(start["type"], "start");
    drop(reader); // the tab is closed

    let conn = r.site.db();
    let stored = eventually(Duration::from_secs(30), || {
        run_ids(&conn, r.user.id)
            .first()
            .is_some_and(|id| stored_rows(&conn, *id).len() == 2)
    })
    .await;
    assert!(stored, "the run was not stored after the browser left");
    let id = run_ids(&conn, r.user.id)[0];
    let rows = stored_rows(&conn, id);
    assert_ok_row(&rows[0], 0, MODEL_A, QUOTA_A);
    assert_ok_row(&rows[1], 1, MODEL_B, QUOTA_B);
    assert_points(&stored_run(&conn, id).unwrap());
    r.site.verify().await;
}

#[tokio::test]
async fn stream_without_csrf_token_is_forbidden() {
    let r = ready().await;
    forbid_any_call(&r.site.upstream).await;

    let missing = r
        .user
        .stream_raw(&[("key_id", &r.key_id), ("preset_id", &r.preset_id)])
        .await;
    assert_eq!(missing.status, Status::Forbidden, "{}", missing.body);

    let wrong = r
        .user
        .stream_raw(&[
            ("key_id", &r.key_id),
            ("preset_id", &r.preset_id),
            ("csrf_token", "not-the-token"),
        ])
        .await;
    assert_eq!(wrong.status, Status::Forbidden, "{}", wrong.body);
    assert!(run_ids(&r.site.db(), r.user.id).is_empty());
}

#[tokio::test]
async fn stream_with_invalid_input_is_422_with_an_error_event() {
    let r = ready().await;
    let bob = r.site.user("bob").await;
    forbid_any_call(&r.site.upstream).await;

    // Who posts, the form, and the error code the answer must name.
    type Case<'a> = (&'a User, Vec<(&'a str, &'a str)>, &'a str);
    let cases: [Case; 4] = [
        (
            &r.user,
            vec![("key_id", &r.key_id), ("models", "")],
            "no_models",
        ),
        (
            &r.user,
            vec![("key_id", ""), ("models", MODEL_A)],
            "missing_key",
        ),
        (
            &r.user,
            vec![("key_id", &r.key_id), ("preset_id", "424242")],
            "preset_not_found",
        ),
        // Another user's key: not found, and never used.
        (
            &bob,
            vec![("key_id", &r.key_id), ("models", MODEL_A)],
            "key_not_found",
        ),
    ];
    for (user, fields, code) in cases {
        let streamed = user.stream(&fields).await;
        assert_eq!(
            streamed.status,
            Status::UnprocessableEntity,
            "{fields:?}: {}",
            streamed.body
        );
        let event: Value = serde_json::from_str(&streamed.body)
            .unwrap_or_else(|e| panic!("{fields:?}: not JSON ({e}): {}", streamed.body));
        assert_eq!(event["type"], "error", "{event}");
        assert_eq!(event["code"], code, "{event}");
    }
    assert_eq!(r.site.upstream_calls().await, 0);
}

#[tokio::test]
async fn stream_error_answer_is_labelled_as_json() {
    let r = ready().await;
    forbid_any_call(&r.site.upstream).await;

    let streamed = r
        .user
        .stream(&[("key_id", &r.key_id), ("models", "")])
        .await;

    assert_eq!(streamed.status, Status::UnprocessableEntity);
    let labelled = streamed
        .content_type
        .as_ref()
        .is_some_and(|ct| ct.is_json() || streamed.is_ndjson());
    assert!(
        labelled,
        "a JSON error event sent as {:?}",
        streamed.content_type
    );
}

// ---------------------------------------------------------------------------------------------
// Hostile text

const SCRIPT_MODEL: &str = "<script>alert(1)</script>";
const ATTRIBUTE_MODEL: &str = r#"a/b"onerror="alert(1)"#;
const HOSTILE_MESSAGE: &str = "<img src=x onerror=alert(2)> <script>alert(3)</script>";

async fn hostile_upstream(r: &Ready) {
    mount_failure(&r.site.upstream, MODEL_A, 500, HOSTILE_MESSAGE, 1).await;
}

fn hostile_models() -> String {
    format!("{SCRIPT_MODEL}\n{ATTRIBUTE_MODEL}\n{MODEL_A}")
}

#[tokio::test]
async fn hostile_model_ids_and_upstream_messages_render_escaped_on_the_run_page() {
    let r = ready().await;
    hostile_upstream(&r).await;

    let id = r
        .user
        .run_query_ok(&[("key_id", &r.key_id), ("models", &hostile_models())])
        .await;
    let page = r.user.get(&format!("/history/{id}")).await;

    assert_eq!(page.status, Status::Ok);
    for raw in ["<script>alert", "<img src=x", r#"b"onerror="#] {
        assert!(!page.body.contains(raw), "{raw:?} unescaped: {}", page.body);
    }
    // It is all there, as text.
    let text = html_unescape(&page.body);
    for shown in [
        SCRIPT_MODEL,
        ATTRIBUTE_MODEL,
        "<img src=x onerror=alert(2)>",
    ] {
        assert!(text.contains(shown), "{shown:?} is not shown");
    }
    r.site.verify().await;
}

#[tokio::test]
async fn hostile_text_in_the_stream_is_json_not_html() {
    let r = ready().await;
    hostile_upstream(&r).await;

    let streamed = r
        .user
        .stream(&[("key_id", &r.key_id), ("models", &hostile_models())])
        .await;

    assert!(streamed.is_ndjson(), "{:?}", streamed.content_type);
    assert!(
        streamed.events.iter().all(|e| e.is_object()),
        "every line is a JSON object: {}",
        streamed.body
    );
    assert_eq!(
        streamed.events[0]["models"],
        json!([SCRIPT_MODEL, ATTRIBUTE_MODEL, MODEL_A])
    );
    let rows = streamed.of_type("row");
    let by_index = |i: u64| {
        *rows
            .iter()
            .find(|e| e["index"] == i)
            .unwrap_or_else(|| panic!("no row {i}"))
    };
    assert_eq!(by_index(0)["model"], SCRIPT_MODEL);
    assert_eq!(by_index(0)["code"], "invalid_model");
    assert_eq!(by_index(1)["model"], ATTRIBUTE_MODEL);
    assert_eq!(by_index(2)["code"], "upstream_error");
    assert_eq!(by_index(2)["detail"], HOSTILE_MESSAGE, "the words as text");
    r.site.verify().await;
}

// ---------------------------------------------------------------------------------------------
// Deleting what a run uses while it runs

/// Starts a streamed run of the preset with slow models, deletes `what` (a form address) while
/// the run is in flight, then reads the stream to its end.
async fn delete_during_a_run(r: &Ready, what: &str) -> Streamed {
    let delay = Duration::from_millis(700);
    mount_slow(&r.site.upstream, MODEL_A, QUOTA_A, delay, 1).await;
    mount_slow(&r.site.upstream, MODEL_B, QUOTA_B, delay, 1).await;
    mount_slow(&r.site.upstream, MODEL_C, QUOTA_C, delay, 1).await;
    let body = form_encode(&[
        ("key_id", &r.key_id),
        ("preset_id", &r.preset_id),
        ("csrf_token", &r.user.csrf),
    ]);
    let response = r
        .user
        .client
        .post("/query/stream")
        .header(ContentType::Form)
        .body(body)
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::Ok);

    let deleted = r.user.submit(what, &[]).await;
    assert_eq!(deleted.status, Status::SeeOther, "{what}: {}", deleted.body);

    Streamed::from_answer(Answer::from(response).await)
}

#[tokio::test]
async fn run_is_stored_when_its_preset_is_deleted_meanwhile() {
    let r = ready().await;

    let streamed = delete_during_a_run(&r, &format!("/presets/{}/delete", r.preset_id)).await;

    let last = streamed.events.last().cloned().unwrap_or_default();
    assert_eq!(last["type"], "done", "the run was lost: {}", streamed.body);
    let id = last["id"].as_i64().unwrap();
    let run = stored_run(&r.site.db(), id).unwrap();
    assert_eq!(run.preset_name.as_deref(), Some("daily"), "{run:?}");
    assert_eq!(stored_rows(&r.site.db(), id).len(), 3);
}

#[tokio::test]
async fn run_is_stored_when_its_key_is_deleted_meanwhile() {
    let r = ready().await;

    let streamed = delete_during_a_run(&r, &format!("/keys/{}/delete", r.key_id)).await;

    let last = streamed.events.last().cloned().unwrap_or_default();
    assert_eq!(last["type"], "done", "the run was lost: {}", streamed.body);
    let id = last["id"].as_i64().unwrap();
    let run = stored_run(&r.site.db(), id).unwrap();
    assert_eq!(run.key_label.as_deref(), Some("main"), "{run:?}");
    assert_eq!(stored_rows(&r.site.db(), id).len(), 3);
}

// ---------------------------------------------------------------------------------------------
// More of the form

#[tokio::test]
async fn repeated_models_are_probed_once() {
    let r = ready().await;
    mount_ok(&r.site.upstream, MODEL_A, QUOTA_A, 1).await;
    mount_ok(&r.site.upstream, MODEL_B, QUOTA_B, 1).await;

    let id = r
        .user
        .run_query_ok(&[
            ("key_id", &r.key_id),
            (
                "models",
                &format!("{MODEL_A}, {MODEL_B}\n{MODEL_A} {MODEL_A}"),
            ),
        ])
        .await;

    let rows = stored_rows(&r.site.db(), id);
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_ok_row(&rows[0], 0, MODEL_A, QUOTA_A);
    assert_ok_row(&rows[1], 1, MODEL_B, QUOTA_B);
    r.site.verify().await;
}

#[tokio::test]
async fn an_empty_preset_is_refused() {
    let r = ready().await;
    forbid_any_call(&r.site.upstream).await;
    // The presets page refuses an empty list, so make one the way an old version might have.
    r.site
        .db()
        .execute(
            "INSERT INTO presets (user_id, name, models, is_default, created_at, updated_at)
             VALUES (?1, 'empty', '[]', 0, 0, 0)",
            [r.user.id],
        )
        .unwrap();
    let empty = r.user.preset_id("empty").to_string();

    let answer = r
        .user
        .run_query(&[("key_id", &r.key_id), ("preset_id", &empty)])
        .await;
    assert_refused(&answer, "请至少填写一个模型 ID");

    let streamed = r
        .user
        .stream(&[("key_id", &r.key_id), ("preset_id", &empty)])
        .await;
    assert_eq!(
        streamed.status,
        Status::UnprocessableEntity,
        "{}",
        streamed.body
    );
}

#[tokio::test]
async fn query_page_escapes_key_labels_and_preset_names() {
    let site = TestApp::new().await;
    let user = site.user("alice").await;
    user.add_key("<script>alert(1)</script>", KEY).await;
    user.add_preset(r#""><img src=x onerror=alert(2)>"#, &[MODEL_A])
        .await;

    let page = user.get("/query").await;

    assert_eq!(page.status, Status::Ok);
    assert!(!page.body.contains("<script>alert"), "{}", page.body);
    assert!(!page.body.contains("<img src=x"), "{}", page.body);
    assert!(html_unescape(&page.body).contains("<script>alert(1)</script>"));
}

#[tokio::test]
async fn typed_text_cannot_break_out_of_the_models_field() {
    let r = ready().await;
    forbid_any_call(&r.site.upstream).await;
    let typed = "</textarea><script>alert(1)</script>";

    let answer = r
        .user
        .run_query(&[("key_id", ""), ("api_key", ""), ("models", typed)])
        .await;

    assert_eq!(answer.status, Status::UnprocessableEntity);
    assert!(!answer.body.contains("<script>alert"), "{}", answer.body);
    assert_eq!(models_field(&answer.body), typed);
}

/// The form always sends the key `<select>`, which starts on the first saved key. A user who
/// pastes a key without also switching the select must not have the saved key charged instead.
#[tokio::test]
async fn a_pasted_key_is_not_silently_replaced_by_the_selected_saved_key() {
    let r = ready().await;
    mount_ok(&r.site.upstream, MODEL_A, QUOTA_A, 1).await;

    let answer = r
        .user
        .run_query(&[
            ("key_id", &r.key_id),
            ("api_key", PASTED_KEY),
            ("models", MODEL_A),
        ])
        .await;

    let requests = r.site.upstream.received_requests().await.unwrap();
    let used: Vec<String> = requests
        .iter()
        .filter(|req| req.url.path() == CHAT_PATH)
        .filter_map(|req| req.headers.get("authorization")?.to_str().ok())
        .map(str::to_owned)
        .collect();
    assert!(
        !used.contains(&format!("Bearer {KEY}")),
        "the saved key was charged although a key was pasted (answer {})",
        answer.status
    );
}
