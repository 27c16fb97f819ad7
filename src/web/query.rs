//! `/query`: run a stored query with a saved (or pasted) key and a preset (or typed models),
//! or read the balance only (free). `POST /query` answers 303 to the stored run;
//! `POST /query/stream` (used by app.js) streams NDJSON events as each step happens and stores
//! the run even if the browser leaves.

use askama::Template;
use askama_web::WebTemplate;
use rocket::http::{ContentType, Status};
use rocket::response::Redirect;
use rocket::response::stream::TextStream;
use rocket::{State, get, post};
use serde_json::{Value, json};

use super::problem::Problem;
use super::result_view::{BalanceShown, ResultView, RowView, Strip, cost_text};
use super::run_form::RunForm;
use super::session::{Csrf, CurrentUser};
use super::view::{KeyOption, Layout, Notice, PresetOption, key_options, preset_options};
use crate::db::{Db, presets};
use crate::i18n::Lang;
use crate::ids::{KeyId, PresetId};
use crate::keyring::Keyring;
use crate::modelscope::ModelResult;
use crate::runs::calls_left::ExpectedCost;
use crate::runs::engine::{Lane, QueryEngine};
use crate::runs::executor::{self, Execution, RunEvent, Stored};
use crate::runs::history::{RunKind, Source};
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
    /// The results of a run that could not be stored: still the user's.
    pub report: Option<ResultView>,
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
        presets: preset_options(db, user_id, presets).await,
        models: String::new(),
        max_models: planner.max_models(),
        error: None,
        report: None,
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

fn stored_run(user: &CurrentUser, plan: PlannedRun, kind: RunKind) -> Execution {
    Execution {
        plan,
        kind,
        source: Source::Web,
        user: Some(user.0.user_id),
        keep: true,
        lane: Lane::Member,
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
    let (problem, report) = match planner.plan(form.ask(Some(user.0.user_id))).await {
        Ok(plan) => {
            let finished = executor::run(engine, db, stored_run(&user, plan, form.kind())).await;
            if let Stored::Saved(id) = finished.stored {
                return Ok(Redirect::to(format!("/history/{id}")));
            }
            // Logged where it failed; the page says so and shows what the user paid for.
            let problem = Problem {
                status: Status::ServiceUnavailable,
                notice: Notice::new("store_failed"),
            };
            (
                problem,
                Some(ResultView::finished(&finished, user.layout().lang)),
            )
        }
        Err(error) => (Problem::plan(&error), None),
    };
    let mut page = query_page(&user, db, keyring, planner).await;
    page.selected_key_id = form.key_id();
    page.selected_preset_id = form.preset_id();
    page.models = form.models.unwrap_or_default();
    page.error = Some(problem.notice);
    page.report = report;
    Err((problem.status, page))
}

/// NDJSON, one event per line: `start`, `expected`, `before`, one `row` per model as it
/// finishes, `balance` (after the probes settled, with the cost), `final` (every row answered
/// from that balance), then `done` with the stored run's address. Bad input answers with
/// `{"type":"error"}` and its status, and the script falls back to a normal form post, which
/// shows the message.
#[post("/query/stream", data = "<form>")]
pub async fn stream(
    user: CurrentUser,
    form: Csrf<RunForm>,
    db: &State<Db>,
    planner: &State<Planner>,
    engine: &State<QueryEngine>,
) -> Result<(ContentType, TextStream![String]), (Status, (ContentType, String))> {
    let kind = form.0.kind();
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
    let start = json!({
        "type": "start",
        "total": models.len(),
        "models": models,
        "check": kind == RunKind::Check,
    });
    let lang = user.layout().lang;
    let mut events = executor::spawn_streaming(engine, db, stored_run(&user, plan, kind));
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

fn event_json(event: &RunEvent, lang: Lang) -> Value {
    match event {
        RunEvent::Expected(cost) => json!({"type": "expected", "cost": cost_text(cost)}),
        RunEvent::Before(balance) => {
            let shown = BalanceShown::read(balance);
            json!({"type": "before", "code": shown.code, "available": shown.available})
        }
        RunEvent::Row {
            index,
            result,
            available,
        } => {
            let mut row = row_json(result, *available, lang);
            row["type"] = json!("row");
            row["index"] = json!(index);
            row
        }
        RunEvent::Balance { balance, spent } => strip_json(balance, *spent),
        RunEvent::Final { results, available } => json!({
            "type": "final",
            "rows": results.iter().map(|r| row_json(r, *available, lang)).collect::<Vec<_>>(),
        }),
        RunEvent::Stored { id } => {
            json!({"type": "done", "id": id, "url": format!("/history/{id}")})
        }
        RunEvent::StoreFailed => json!({"type": "error", "code": "store_failed"}),
    }
}

/// Display-ready values: the script only places them, and takes words from the page.
fn row_json(result: &ModelResult, available: Option<f64>, lang: Lang) -> Value {
    let row = RowView::new(result, available, lang);
    json!({
        "model": row.model,
        "code": row.code,
        "detail": row.detail,
        "latency_ms": row.latency_ms,
        "calls_left": row.calls_left,
        "source": row.source,
        "price": row.price,
        "price_source": row.price_source,
        "account": row.account,
        "model_quota": row.model_quota,
    })
}

fn strip_json(
    balance: &Result<crate::modelscope::AccountBalance, crate::modelscope::BalanceError>,
    spent: Option<f64>,
) -> Value {
    let strip = Strip::of(BalanceShown::read(balance), spent, None::<ExpectedCost>);
    json!({
        "type": "balance",
        "code": strip.code,
        "available": strip.points.as_ref().map(|p| p.available.clone()),
        "total": strip.points.as_ref().map(|p| p.total.clone()),
        "frozen": strip.points.as_ref().filter(|_| strip.frozen_held).map(|p| p.frozen.clone()),
        "spent": strip.spent,
        "tiers": strip.tiers.iter().map(|t| json!({"price": t.price, "calls": t.calls})).collect::<Vec<_>>(),
    })
}
