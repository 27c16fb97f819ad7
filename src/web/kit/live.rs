//! The live form of a run: NDJSON events, one per line, display-ready (the script only places
//! them; its words come from the page). `start` (the models), `expected`, `before`, one `row`
//! per model as it finishes, `balance` (after the probes settled, with the cost), `final`
//! (every row answered from that balance), then `done` with the stored run's address (stored
//! runs only) or `{"type":"error"}`.

use rocket::Responder;
use rocket::http::{ContentType, Header, Status};
use rocket::response::stream::TextStream;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::problem::Problem;
use super::result_view::{BalanceShown, RowView, Strip};
use super::view::cost_text;
use crate::i18n::Lang;
use crate::modelscope::{AccountBalance, BalanceError, ModelResult, PriceSource, Tiers};
use crate::runs::calls_left::ExpectedCost;
use crate::runs::executor::RunEvent;
use crate::runs::history::RunKind;
use crate::runs::planner::PlannedRun;

/// The refusal a stream answers before it starts: its status and the notice code.
pub fn refused(problem: &Problem) -> (Status, (ContentType, String)) {
    (
        problem.status,
        (
            ContentType::JSON,
            json!({"type": "error", "code": problem.notice.code}).to_string(),
        ),
    )
}

/// The first event: the models in input order.
pub fn start(plan: &PlannedRun, kind: RunKind) -> Value {
    let models = plan.model_ids();
    json!({
        "type": "start",
        "total": models.len(),
        "models": models,
        "check": kind == RunKind::Check,
    })
}

/// A run's events as they happen, NDJSON, which a proxy must pass on unbuffered (nginx reads
/// `X-Accel-Buffering`).
#[derive(Responder)]
#[response(content_type = "application/x-ndjson")]
pub struct Live<S> {
    events: S,
    unbuffered: Header<'static>,
}

/// The response: `start`, then every event of the run as it happens.
pub fn ndjson(
    start: Value,
    mut events: mpsc::UnboundedReceiver<RunEvent>,
    lang: Lang,
) -> Live<TextStream![String]> {
    Live {
        events: TextStream! {
            yield format!("{start}\n");
            while let Some(event) = events.recv().await {
                yield format!("{}\n", event_json(&event, lang));
            }
        },
        unbuffered: Header::new("X-Accel-Buffering", "no"),
    }
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
        // Empty when the price is unknown, as the script expects.
        "price_source": row.price_source.map_or("", PriceSource::as_str),
        "candidates": row.candidates,
        "account": row.account,
        "model_quota": row.model_quota,
        "month_left": row.month_left,
        "checked": row.checked,
        "retry": row.retry,
    })
}

fn strip_json(balance: &Result<AccountBalance, BalanceError>, spent: Option<f64>) -> Value {
    let strip = Strip::of(
        BalanceShown::read(balance),
        spent,
        None::<ExpectedCost>,
        &Tiers::default(),
    );
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
