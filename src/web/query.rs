//! `/query`: run a stored query with a saved (or pasted) key and a preset (or typed models).
//! `POST /query` answers 303 to the stored run; `POST /query/stream` (used by app.js) streams
//! NDJSON events as each model finishes and stores the run even if the browser leaves.

use askama::Template;
use askama_web::WebTemplate;
use rocket::http::{ContentType, Status};
use rocket::response::Redirect;
use rocket::response::stream::TextStream;
use rocket::{State, get, post};
use serde_json::json;

use super::problem::Problem;
use super::run_form::RunForm;
use super::session::{Csrf, CurrentUser};
use super::view::{
    KeyOption, Layout, Notice, PresetOption, StatusRow, all_status_rows, failure_detail,
    key_options, number, points,
};
use crate::db::{Db, presets};
use crate::i18n::Lang;
use crate::ids::{KeyId, PresetId};
use crate::keyring::Keyring;
use crate::modelscope::{AccountBalance, BalanceError};
use crate::runs::engine::{ModelResult, QueryEngine};
use crate::runs::executor::{self, Execution, RunEvent, Stored};
use crate::runs::history::Source;
use crate::runs::planner::{PlannedRun, Planner};

#[derive(Template, WebTemplate)]
#[template(path = "query.html")]
pub struct QueryPage {
    pub layout: Layout,
    pub keys: Vec<KeyOption>,
    pub presets: Vec<PresetOption>,
    pub selected_key_id: Option<KeyId>,
    pub selected_preset_id: Option<PresetId>,
    pub models: String,
    pub max_models: usize,
    pub error: Option<Notice>,
    pub status_rows: Vec<StatusRow>,
}

async fn query_page(
    user: &CurrentUser,
    db: &Db,
    keyring: &Keyring,
    planner: &Planner,
) -> QueryPage {
    let user_id = user.0.user_id;
    let presets = match db
        .run(move |conn| presets::list_for_user(conn, user_id))
        .await
    {
        Ok(presets) => presets,
        Err(error) => {
            // The form still works with typed models; the failure is logged.
            tracing::error!(%error, "listing presets failed");
            Vec::new()
        }
    };
    let keys = key_options(keyring, user_id).await;
    QueryPage {
        layout: user.layout(),
        selected_key_id: keys.first().map(|k| k.id),
        selected_preset_id: presets.iter().find(|p| p.is_default).map(|p| p.id),
        keys,
        presets: presets.into_iter().map(PresetOption::from).collect(),
        models: String::new(),
        max_models: planner.max_models(),
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
    planner: &State<Planner>,
) -> QueryPage {
    let mut page = query_page(&user, db, keyring, planner).await;
    if let Some(id) = preset.and_then(|p| p.parse::<PresetId>().ok())
        && page.presets.iter().any(|p| p.id == id)
    {
        page.selected_preset_id = Some(id);
    }
    page
}

fn stored_run(user: &CurrentUser, plan: PlannedRun) -> Execution {
    Execution {
        plan,
        source: Source::Web,
        keep_for: Some(user.0.user_id),
        with_balance: true,
    }
}

#[post("/query", data = "<form>")]
pub async fn run(
    user: CurrentUser,
    form: Csrf<RunForm>,
    db: &State<Db>,
    keyring: &State<Keyring>,
    planner: &State<Planner>,
    engine: &State<QueryEngine>,
) -> Result<Redirect, (Status, QueryPage)> {
    let form = form.0;
    let problem = match planner.plan(form.ask(Some(user.0.user_id))).await {
        Ok(plan) => {
            let finished = executor::run(engine, db, stored_run(&user, plan)).await;
            match finished.stored {
                Stored::Saved(id) => return Ok(Redirect::to(format!("/history/{id}"))),
                // Logged where it failed; the page says so and keeps the form.
                _ => Problem {
                    status: Status::ServiceUnavailable,
                    notice: Notice::new("store_failed"),
                },
            }
        }
        Err(error) => Problem::plan(&error),
    };
    let mut page = query_page(&user, db, keyring, planner).await;
    page.selected_key_id = form.key_id();
    page.selected_preset_id = form.preset_id();
    page.models = form.models.unwrap_or_default();
    page.error = Some(problem.notice);
    Err((problem.status, page))
}

/// NDJSON, one event per line: `start`, one `row` per model as it finishes, `balance`, then
/// `done` with the stored run's address. Bad input answers with `{"type":"error"}` and its
/// status, and the script falls back to a normal form post, which shows the message.
#[post("/query/stream", data = "<form>")]
pub async fn stream(
    user: CurrentUser,
    form: Csrf<RunForm>,
    db: &State<Db>,
    planner: &State<Planner>,
    engine: &State<QueryEngine>,
) -> Result<(ContentType, TextStream![String]), (Status, (ContentType, String))> {
    let plan = planner
        .plan(form.0.ask(Some(user.0.user_id)))
        .await
        .map_err(|error| {
            let problem = Problem::plan(&error);
            (
                problem.status,
                (
                    ContentType::JSON,
                    json!({"type": "error", "code": problem.notice.code}).to_string(),
                ),
            )
        })?;
    let models = plan.model_ids();
    let start = json!({"type": "start", "total": models.len(), "models": models});
    let lang = user.layout().lang;
    let mut events = executor::spawn_streaming(engine, db, stored_run(&user, plan));
    let ndjson = ContentType::new("application", "x-ndjson");
    Ok((
        ndjson,
        TextStream! {
            yield format!("{start}\n");
            while let Some(event) = events.recv().await {
                yield format!("{}\n", event_json(&event, lang));
            }
        },
    ))
}

fn event_json(event: &RunEvent, lang: Lang) -> serde_json::Value {
    match event {
        RunEvent::Row { index, result } => row_event(*index, result, lang),
        RunEvent::Balance(balance) => balance_event(balance),
        RunEvent::Stored { id } => {
            json!({"type": "done", "id": id, "url": format!("/history/{id}")})
        }
        RunEvent::StoreFailed => json!({"type": "error", "code": "store_failed"}),
    }
}

/// Display-ready values: the script only places them, and takes words from the page.
fn row_event(index: usize, row: &ModelResult, lang: Lang) -> serde_json::Value {
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
        "detail": row.failure.as_ref().and_then(|f| failure_detail(f, lang)),
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
