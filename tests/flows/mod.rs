//! Flows for the query, dashboard, access-token and OpenAPI tests: one site (a data directory
//! and a ModelScope double) shared by several users, each with a browser of their own (a
//! tracked Rocket client, so a cookie jar each), and readers for what the app stored.
//!
//! Built on `tests/common` (the answers, the upstream double's mocks, the key canaries).

// Each test binary uses its own subset of these helpers.
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use rocket::figment::Figment;
use rocket::http::{ContentType, Header, Status};
use rocket::local::asynchronous::Client;
use rusqlite::{Connection, OptionalExtension};
use serde_json::{Value, json};
use tempfile::TempDir;
use wiremock::{MockServer, ResponseTemplate};

use crate::common::{self, Answer};

pub const PASSWORD: &str = "correct horse battery";

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
// The site

/// A data directory and an upstream double; every user's app instance runs on both.
pub struct Site {
    dir: TempDir,
    pub upstream: MockServer,
    figment: Figment,
}

impl Site {
    pub async fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let upstream = MockServer::start().await;
        let figment = rocket::Config::figment()
            .merge(("data_dir", dir.path()))
            .merge(("modelscope_api_base", format!("{}/v1", upstream.uri())))
            .merge(("modelscope_hub_base", upstream.uri()))
            .merge(("log_level", "off"));
        Self {
            dir,
            upstream,
            figment,
        }
    }

    /// A browser with no account (and no cookies).
    pub async fn browser(&self) -> Client {
        Client::tracked(modelscope_balance::rocket_from(self.figment.clone()))
            .await
            .expect("the app ignites")
    }

    /// A new browser with a new account, signed in.
    pub async fn user(&self, name: &str) -> User {
        let client = self.browser().await;
        let token = common::csrf_token(&client, "/signup").await;
        let answer = common::post_form(
            &client,
            "/signup",
            &[
                ("username", name),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
                ("csrf_token", &token),
            ],
        )
        .await;
        assert_eq!(answer.status, Status::SeeOther, "sign-up: {}", answer.body);
        let csrf = common::csrf_token(&client, "/account").await;
        let id = self
            .db()
            .query_row("SELECT id FROM users WHERE username = ?1", [name], |r| {
                r.get(0)
            })
            .expect("the new user's row");
        User {
            client,
            id,
            name: name.to_owned(),
            csrf,
            db_path: self.database_path(),
        }
    }

    pub fn database_path(&self) -> PathBuf {
        self.dir.path().join("modelscope-balance.db")
    }

    /// A direct connection to the app's database (WAL lets both sides use it).
    pub fn db(&self) -> Connection {
        let conn = Connection::open(self.database_path()).expect("open the app's database");
        conn.busy_timeout(Duration::from_secs(5))
            .expect("busy timeout");
        conn
    }

    /// The bytes of the database and its `-wal` and `-shm` files: everything SQLite keeps.
    pub fn db_bytes(&self) -> Vec<u8> {
        let main = self.database_path();
        let mut bytes = std::fs::read(&main).expect("read the database file");
        for suffix in ["-wal", "-shm", "-journal"] {
            let mut name = main.clone().into_os_string();
            name.push(suffix);
            if let Ok(more) = std::fs::read(PathBuf::from(name)) {
                bytes.extend(more);
            }
        }
        bytes
    }

    /// `model` answers 200 with `quota` and must be called exactly `times` times.
    pub async fn mount_ok(&self, model: &str, quota: [i64; 4], times: u64) {
        common::mount_ok(&self.upstream, model, quota, times).await;
    }

    /// Like [`Site::mount_ok`], for calls made with `key` only.
    pub async fn mount_ok_for_key(&self, model: &str, key: &str, quota: [i64; 4], times: u64) {
        common::chat(model)
            .and(wiremock::matchers::header(
                "Authorization",
                format!("Bearer {key}").as_str(),
            ))
            .respond_with(common::ok_with_quota(quota))
            .expect(times)
            .named(format!("chat {model} with one key"))
            .mount(&self.upstream)
            .await;
    }

    /// Like [`Site::mount_ok`], answering only after `delay`.
    pub async fn mount_slow(&self, model: &str, quota: [i64; 4], delay: Duration, times: u64) {
        common::chat(model)
            .respond_with(common::ok_with_quota(quota).set_delay(delay))
            .expect(times)
            .named(format!("slow chat {model}"))
            .mount(&self.upstream)
            .await;
    }

    /// `model` answers `status` with `{"error":{"message": message}}`, exactly `times` times.
    pub async fn mount_failure(&self, model: &str, status: u16, message: &str, times: u64) {
        common::chat(model)
            .respond_with(ResponseTemplate::new(status).set_body_json(common::error_body(message)))
            .expect(times)
            .named(format!("failing chat {model}"))
            .mount(&self.upstream)
            .await;
    }

    /// The points balance, free and callable any number of times.
    pub async fn mount_balance(&self) {
        common::balance()
            .respond_with(ResponseTemplate::new(200).set_body_json(balance_body()))
            .named("points balance")
            .mount(&self.upstream)
            .await;
    }

    /// Checks every mounted expectation now, then forgets all mocks and forbids any further
    /// upstream call (checked when the site drops, or at the next [`Site::verify`]).
    pub async fn no_more_upstream_calls(&self) {
        self.upstream.verify().await;
        self.upstream.reset().await;
        common::forbid_any_call(&self.upstream).await;
    }

    pub async fn verify(&self) {
        self.upstream.verify().await;
    }

    /// How many requests the double has received so far.
    pub async fn upstream_calls(&self) -> usize {
        self.upstream
            .received_requests()
            .await
            .map_or(0, |requests| requests.len())
    }
}

/// `{"success":true,"request_id":"r","data":{…}}`: 250 total, 240.5 available, 9.5 frozen.
pub fn balance_body() -> Value {
    json!({
        "success": true,
        "request_id": "r",
        "data": {"total_balance": 250, "available_balance": 240.5, "frozen_amount": 9.5}
    })
}

// ---------------------------------------------------------------------------------------------
// A signed-in user

pub struct User {
    pub client: Client,
    pub id: i64,
    pub name: String,
    /// The session's CSRF token, as the pages put it in every form.
    pub csrf: String,
    db_path: PathBuf,
}

impl User {
    pub async fn get(&self, uri: &str) -> Answer {
        common::get(&self.client, uri).await
    }

    /// A form post the way the app's own pages make it: with the session's `csrf_token`.
    pub async fn submit(&self, uri: &str, fields: &[(&str, &str)]) -> Answer {
        let mut all = fields.to_vec();
        all.push(("csrf_token", &self.csrf));
        common::post_form(&self.client, uri, &all).await
    }

    /// A form post exactly as given (no token added).
    pub async fn post_form(&self, uri: &str, fields: &[(&str, &str)]) -> Answer {
        common::post_form(&self.client, uri, fields).await
    }

    /// Saves a key on `/keys` and returns its id.
    pub async fn add_key(&self, label: &str, key: &str) -> i64 {
        let answer = self
            .submit("/keys", &[("label", label), ("api_key", key)])
            .await;
        assert_eq!(
            answer.status,
            Status::SeeOther,
            "saving a key: {}",
            answer.body
        );
        self.owned_id(
            "SELECT id FROM api_keys WHERE user_id = ?1 AND label = ?2",
            label,
        )
    }

    /// Makes a preset on `/presets` and returns its id.
    pub async fn add_preset(&self, name: &str, models: &[&str]) -> i64 {
        let models = models.join("\n");
        let answer = self
            .submit("/presets", &[("name", name), ("models", &models)])
            .await;
        assert_eq!(
            answer.status,
            Status::SeeOther,
            "saving a preset: {}",
            answer.body
        );
        self.owned_id(
            "SELECT id FROM presets WHERE user_id = ?1 AND name = ?2",
            name,
        )
    }

    /// Creates a personal access token on `/account` and returns its plaintext (shown once).
    pub async fn create_token(&self, name: &str) -> String {
        let answer = self.submit("/account/tokens", &[("name", name)]).await;
        assert_eq!(
            answer.status,
            Status::Ok,
            "creating a token: {}",
            answer.body
        );
        shown_token(&answer.body).unwrap_or_else(|| panic!("no token shown: {}", answer.body))
    }

    /// The id of the user's saved key labelled `label`.
    pub fn saved_key_id(&self, label: &str) -> i64 {
        self.owned_id(
            "SELECT id FROM api_keys WHERE user_id = ?1 AND label = ?2",
            label,
        )
    }

    /// The id of the user's preset named `name`.
    pub fn preset_id(&self, name: &str) -> i64 {
        self.owned_id(
            "SELECT id FROM presets WHERE user_id = ?1 AND name = ?2",
            name,
        )
    }

    /// The id of the user's token named `name`.
    pub fn token_id(&self, name: &str) -> i64 {
        self.owned_id(
            "SELECT id FROM access_tokens WHERE user_id = ?1 AND name = ?2",
            name,
        )
    }

    /// `POST /query` with the session's CSRF token.
    pub async fn run_query(&self, fields: &[(&str, &str)]) -> Answer {
        self.submit("/query", fields).await
    }

    /// `POST /query` that must succeed: the stored run's id from the 303.
    pub async fn run_query_ok(&self, fields: &[(&str, &str)]) -> i64 {
        let answer = self.run_query(fields).await;
        history_id_of_redirect(&answer)
    }

    /// `POST /query/stream` with the session's CSRF token, read to the end.
    pub async fn stream(&self, fields: &[(&str, &str)]) -> Streamed {
        let mut all = fields.to_vec();
        all.push(("csrf_token", &self.csrf));
        self.stream_raw(&all).await
    }

    /// `POST /query/stream` exactly as given, read to the end.
    pub async fn stream_raw(&self, fields: &[(&str, &str)]) -> Streamed {
        let response = self
            .client
            .post("/query/stream")
            .header(ContentType::Form)
            .body(common::form_encode(fields))
            .dispatch()
            .await;
        let answer = Answer::from(response).await;
        Streamed::from_answer(answer)
    }

    fn owned_id(&self, sql: &str, name: &str) -> i64 {
        let conn = Connection::open(&self.db_path).expect("open the app's database");
        conn.busy_timeout(Duration::from_secs(5))
            .expect("busy timeout");
        conn.query_row(sql, rusqlite::params![self.id, name], |r| r.get(0))
            .unwrap_or_else(|e| panic!("{name:?} is not stored for user {}: {e}", self.name))
    }
}

/// The stored run's id from a `303 See Other` to `/history/<id>`.
#[track_caller]
pub fn history_id_of_redirect(answer: &Answer) -> i64 {
    assert_eq!(
        answer.status,
        Status::SeeOther,
        "expected a redirect to the stored run: {}",
        answer.body
    );
    let location = answer.header("Location").expect("a Location header");
    location
        .strip_prefix("/history/")
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("not a stored run's address: {location}"))
}

/// The token in `<p class="secret-once" id="new-token">…</p>`, if the page shows one.
pub fn shown_token(html: &str) -> Option<String> {
    let marker = r#"id="new-token">"#;
    let start = html.find(marker)? + marker.len();
    let end = start + html[start..].find('<')?;
    Some(html[start..end].trim().to_owned())
}

/// `msb_` followed by 64 lowercase hex characters.
pub fn is_token_shape(token: &str) -> bool {
    token.strip_prefix("msb_").is_some_and(|hex| {
        hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// The form error on a page (`<p class="error" role="alert">…</p>`), unescaped.
pub fn form_error(html: &str) -> Option<String> {
    let marker = r#"<p class="error" role="alert">"#;
    let start = html.find(marker)? + marker.len();
    let end = start + html[start..].find("</p>")?;
    Some(common::html_unescape(html[start..end].trim()))
}

/// The page's text without tags, whitespace collapsed, entities undone.
pub fn visible_text(html: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                text.push(' ');
            }
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    common::html_unescape(&text.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// Whether `haystack` contains `needle` as bytes.
pub fn contains_bytes(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

// ---------------------------------------------------------------------------------------------
// The stream

/// A `/query/stream` answer: its status, content type, raw body and NDJSON events.
pub struct Streamed {
    pub status: Status,
    pub content_type: Option<ContentType>,
    pub body: String,
    /// Each non-empty line parsed as JSON (`Value::Null` for a line that is not JSON).
    pub events: Vec<Value>,
}

impl Streamed {
    /// Splits a finished answer into its events.
    pub fn from_answer(answer: Answer) -> Self {
        let events = answer
            .body
            .lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| serde_json::from_str(line).unwrap_or(Value::Null))
            .collect();
        Self {
            status: answer.status,
            content_type: answer.content_type,
            body: answer.body,
            events,
        }
    }

    /// The events of one `type`.
    pub fn of_type(&self, kind: &str) -> Vec<&Value> {
        self.events.iter().filter(|e| e["type"] == kind).collect()
    }

    /// The `index` of each `row` event, in arrival order.
    pub fn row_order(&self) -> Vec<u64> {
        self.of_type("row")
            .iter()
            .map(|e| e["index"].as_u64().expect("a row index"))
            .collect()
    }

    pub fn is_ndjson(&self) -> bool {
        self.content_type
            .as_ref()
            .is_some_and(|ct| ct.top() == "application" && ct.sub() == "x-ndjson")
    }
}

// ---------------------------------------------------------------------------------------------
// The JSON API

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
// What the app stored

/// A `queries` row.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRun {
    pub id: i64,
    pub user_id: i64,
    pub api_key_id: Option<i64>,
    pub key_label: Option<String>,
    pub preset_id: Option<i64>,
    pub preset_name: Option<String>,
    pub source: String,
    pub model_count: i64,
    pub ok_count: i64,
    pub failed_count: i64,
    pub balance_total: Option<f64>,
    pub balance_available: Option<f64>,
    pub balance_frozen: Option<f64>,
    pub balance_error: Option<String>,
}

/// A `query_results` row.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRow {
    pub position: i64,
    pub model: String,
    pub numbers: [Option<i64>; 4],
    pub status: Option<i64>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub latency_ms: i64,
}

pub fn stored_run(conn: &Connection, id: i64) -> Option<StoredRun> {
    conn.query_row(
        "SELECT id, user_id, api_key_id, key_label, preset_id, preset_name, source, model_count,
                ok_count, failed_count, balance_total, balance_available, balance_frozen,
                balance_error
         FROM queries WHERE id = ?1",
        [id],
        |r| {
            Ok(StoredRun {
                id: r.get(0)?,
                user_id: r.get(1)?,
                api_key_id: r.get(2)?,
                key_label: r.get(3)?,
                preset_id: r.get(4)?,
                preset_name: r.get(5)?,
                source: r.get(6)?,
                model_count: r.get(7)?,
                ok_count: r.get(8)?,
                failed_count: r.get(9)?,
                balance_total: r.get(10)?,
                balance_available: r.get(11)?,
                balance_frozen: r.get(12)?,
                balance_error: r.get(13)?,
            })
        },
    )
    .optional()
    .expect("read queries")
}

/// The rows of run `id`, by position.
pub fn stored_rows(conn: &Connection, id: i64) -> Vec<StoredRow> {
    let mut statement = conn
        .prepare(
            "SELECT position, model, request_limit, request_remaining, model_request_limit,
                    model_request_remaining, status, error_code, error_message, latency_ms
             FROM query_results WHERE query_id = ?1 ORDER BY position",
        )
        .expect("prepare");
    statement
        .query_map([id], |r| {
            Ok(StoredRow {
                position: r.get(0)?,
                model: r.get(1)?,
                numbers: [r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?],
                status: r.get(6)?,
                error_code: r.get(7)?,
                error_message: r.get(8)?,
                latency_ms: r.get(9)?,
            })
        })
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("read query_results")
}

/// The ids of a user's stored runs, newest first.
pub fn run_ids(conn: &Connection, user_id: i64) -> Vec<i64> {
    let mut statement = conn
        .prepare("SELECT id FROM queries WHERE user_id = ?1 ORDER BY started_at DESC, id DESC")
        .expect("prepare");
    statement
        .query_map([user_id], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("read queries")
}

/// Checks a stored row against a model that answered 200 with `quota`.
#[track_caller]
pub fn assert_ok_row(row: &StoredRow, position: i64, model: &str, quota: [i64; 4]) {
    assert_eq!(row.position, position, "{row:?}");
    assert_eq!(row.model, model, "{row:?}");
    assert_eq!(row.numbers, quota.map(Some), "{row:?}");
    assert_eq!(row.status, Some(200), "{row:?}");
    assert_eq!(row.error_code, None, "{row:?}");
    assert!(row.latency_ms >= 0, "{row:?}");
}

/// Checks the stored points balance is the double's.
#[track_caller]
pub fn assert_points(run: &StoredRun) {
    assert_eq!(
        (run.balance_total, run.balance_available, run.balance_frozen),
        (Some(POINTS.0), Some(POINTS.1), Some(POINTS.2)),
        "{run:?}"
    );
    assert_eq!(run.balance_error, None, "{run:?}");
}

/// Polls (every 50 ms, up to `within`) until `check` holds; returns whether it did.
pub async fn eventually(within: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if check() {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
