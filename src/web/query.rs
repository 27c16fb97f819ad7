//! `/query`: run a stored query with a saved (or pasted) key and a preset (or typed models).
//! `POST /query` answers 303 to the stored run; `POST /query/stream` (used by app.js) streams
//! NDJSON events as each model finishes and stores the run even if the browser leaves.

use askama::Template;
use askama_web::WebTemplate;
use rocket::form::FromForm;
use rocket::http::{ContentType, Status};
use rocket::response::Redirect;
use rocket::response::stream::TextStream;
use rocket::{State, get, post};
use serde_json::json;

use super::quick::{prepare_models, resolve_key};
use super::session::{Csrf, CurrentUser, csrf_form};
use super::view::{KeyOption, Layout, Notice, StatusRow, all_status_rows, number, points};
use crate::db::Db;
use crate::db::presets::{self, Preset};
use crate::keyring::Keyring;
use crate::modelscope::{AccountBalance, BalanceError};
use crate::runs::engine::{ModelResult, QueryEngine};
use crate::runs::executor::{self, RunEvent, RunRequest};
use crate::runs::history::{RunOrigin, Source};

pub struct PresetOption {
    pub id: i64,
    pub name: String,
    pub model_count: usize,
    pub is_default: bool,
}

impl From<Preset> for PresetOption {
    fn from(preset: Preset) -> Self {
        Self {
            id: preset.id,
            model_count: preset.models.len(),
            name: preset.name,
            is_default: preset.is_default,
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "query.html")]
pub struct QueryPage {
    pub layout: Layout,
    pub keys: Vec<KeyOption>,
    pub presets: Vec<PresetOption>,
    pub selected_key_id: Option<i64>,
    pub selected_preset_id: Option<i64>,
    pub models: String,
    pub max_models: usize,
    pub error: Option<Notice>,
    pub status_rows: Vec<StatusRow>,
}

#[derive(Debug, FromForm)]
pub struct QueryForm {
    key_id: Option<String>,
    api_key: Option<String>,
    preset_id: Option<String>,
    models: Option<String>,
    csrf_token: Option<String>,
}

csrf_form!(QueryForm);

fn parse_id(raw: &Option<String>) -> Option<i64> {
    raw.as_deref().and_then(|id| id.trim().parse::<i64>().ok())
}

async fn query_page(
    user: &CurrentUser,
    db: &Db,
    keyring: &Keyring,
    engine: &QueryEngine,
) -> QueryPage {
    let user_id = user.0.user_id;
    let presets = db
        .run(move |conn| presets::list_for_user(conn, user_id))
        .await
        .unwrap_or_default();
    let keys = keyring.list(user_id).await.unwrap_or_default();
    QueryPage {
        layout: user.layout(),
        selected_key_id: keys.first().map(|k| k.id),
        selected_preset_id: presets.iter().find(|p| p.is_default).map(|p| p.id),
        keys: keys.into_iter().map(KeyOption::from).collect(),
        presets: presets.into_iter().map(PresetOption::from).collect(),
        models: String::new(),
        max_models: engine.limits().max_models,
        error: None,
        status_rows: all_status_rows(),
    }
}

#[get("/query?<preset>")]
pub async fn page(
    user: CurrentUser,
    preset: Option<&str>,
    db: &State<Db>,
    keyring: &State<Keyring>,
    engine: &State<QueryEngine>,
) -> QueryPage {
    let mut page = query_page(&user, db, keyring, engine).await;
    if let Some(id) = preset.and_then(|p| p.parse::<i64>().ok())
        && page.presets.iter().any(|p| p.id == id)
    {
        page.selected_preset_id = Some(id);
    }
    page
}

/// Turns the form into a run: the saved or pasted key, and typed models or the preset's.
async fn resolve(
    user: &CurrentUser,
    form: &QueryForm,
    db: &Db,
    keyring: &Keyring,
    engine: &QueryEngine,
) -> Result<RunRequest, Notice> {
    let typed = form.models.as_deref().unwrap_or("").trim();
    let preset_id = parse_id(&form.preset_id);
    let (entries, preset) = if !typed.is_empty() || preset_id.is_none() {
        (prepare_models(engine, typed)?, None)
    } else {
        let user_id = user.0.user_id;
        let id = preset_id.unwrap_or_default();
        let preset: Preset = db
            .run(move |conn| presets::get_for_user(conn, user_id, id))
            .await
            .ok()
            .flatten()
            .ok_or(Notice::new("preset_not_found"))?;
        let entries = prepare_models(engine, &preset.models.join(","))?;
        (entries, Some(preset))
    };
    let key = resolve_key(
        Some(user.0.user_id),
        keyring,
        parse_id(&form.key_id),
        form.api_key.as_deref(),
    )
    .await?;
    let (api_key_id, key_label) = key
        .saved
        .map_or((None, None), |(id, label)| (Some(id), Some(label)));
    Ok(RunRequest {
        origin: RunOrigin {
            user_id: user.0.user_id,
            api_key_id,
            key_label,
            preset_id: preset.as_ref().map(|p| p.id),
            preset_name: preset.map(|p| p.name),
            source: Source::Web,
        },
        key: key.secret,
        entries,
    })
}

#[post("/query", data = "<form>")]
pub async fn run(
    user: CurrentUser,
    form: Csrf<QueryForm>,
    db: &State<Db>,
    keyring: &State<Keyring>,
    engine: &State<QueryEngine>,
) -> Result<Redirect, (Status, QueryPage)> {
    let form = form.0;
    match resolve(&user, &form, db, keyring, engine).await {
        Ok(request) => match executor::run_and_store(engine, db, request).await {
            Ok(finished) => Ok(Redirect::to(format!("/history/{}", finished.id))),
            Err(error) => {
                tracing::error!(%error, "storing a run failed");
                Err((
                    Status::InternalServerError,
                    query_page(&user, db, keyring, engine).await,
                ))
            }
        },
        Err(notice) => {
            let mut page = query_page(&user, db, keyring, engine).await;
            page.selected_key_id = parse_id(&form.key_id);
            page.selected_preset_id = parse_id(&form.preset_id);
            page.models = form.models.unwrap_or_default();
            page.error = Some(notice);
            Err((Status::UnprocessableEntity, page))
        }
    }
}

/// NDJSON, one event per line: `start`, one `row` per model as it finishes, `balance`, then
/// `done` with the stored run's address. Bad input answers 422 with `{"type":"error"}` and the
/// script falls back to a normal form post, which shows the message.
#[post("/query/stream", data = "<form>")]
pub async fn stream(
    user: CurrentUser,
    form: Csrf<QueryForm>,
    db: &State<Db>,
    keyring: &State<Keyring>,
    engine: &State<QueryEngine>,
) -> Result<(ContentType, TextStream![String]), (Status, (ContentType, String))> {
    let request = resolve(&user, &form.0, db, keyring, engine)
        .await
        .map_err(|notice| {
            (
                Status::UnprocessableEntity,
                (
                    ContentType::JSON,
                    json!({"type": "error", "code": notice.code}).to_string(),
                ),
            )
        })?;
    let models: Vec<String> = request.entries.iter().map(|e| e.id().to_owned()).collect();
    let start = json!({"type": "start", "total": models.len(), "models": models});
    let mut events = executor::spawn_streaming(engine.inner().clone(), db.inner().clone(), request);
    let ndjson = ContentType::new("application", "x-ndjson");
    Ok((
        ndjson,
        TextStream! {
            yield format!("{start}\n");
            while let Some(event) = events.recv().await {
                yield format!("{}\n", event_json(&event));
            }
        },
    ))
}

fn event_json(event: &RunEvent) -> serde_json::Value {
    match event {
        RunEvent::Row { index, result } => row_event(*index, result),
        RunEvent::Balance(balance) => balance_event(balance),
        RunEvent::Stored { id } => {
            json!({"type": "done", "id": id, "url": format!("/history/{id}")})
        }
        RunEvent::StoreFailed => json!({"type": "error", "code": "store_failed"}),
    }
}

/// Display-ready values: the script only places them, and takes words from the page.
fn row_event(index: usize, row: &ModelResult) -> serde_json::Value {
    let q = row.quota;
    json!({
        "type": "row",
        "index": index,
        "model": row.model,
        "request_limit": number(q.request_limit),
        "request_remaining": number(q.request_remaining),
        "model_request_limit": number(q.model_request_limit),
        "model_request_remaining": number(q.model_request_remaining),
        "code": row.error_code().map_or("ok", |c| c.as_str()),
        "detail": row.failure.as_ref().and_then(|f| f.detail.clone()),
        "latency_ms": row.latency_ms,
    })
}

fn balance_event(balance: &Result<AccountBalance, BalanceError>) -> serde_json::Value {
    match balance {
        Ok(b) => json!({
            "type": "balance",
            "code": "ok",
            "total": points(b.total_balance),
            "available": points(b.available_balance),
            "frozen": points(b.frozen_amount),
        }),
        Err(error) => json!({"type": "balance", "code": error.code().as_str()}),
    }
}
