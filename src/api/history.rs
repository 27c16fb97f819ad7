//! `GET /api/history` and `GET /api/history/<id>` for token holders.

use rocket::State;
use rocket::get;
use rocket::http::Status;
use rocket::http::uri::Origin;
use rocket::serde::json::Json;
use serde_json::{Value, json};

use super::auth::TokenHolder;
use super::balance::response::row_json;
use super::errors::ApiError;
use super::lang::ApiLang;
use crate::db::Db;
use crate::db::history::{
    self, HistoryFilter, RunKind, RunStatus, RunSummary, Source, StoredBalance,
};
use crate::i18n::{self, Lang};
use crate::ids::RunId;

const DEFAULT_LIMIT: i64 = 50;
const MAX_LIMIT: i64 = 200;

fn balance_json(balance: &StoredBalance) -> Value {
    match (&balance.error, balance.total) {
        (Some(code), _) => json!({"error_code": code}),
        (None, Some(_)) => json!({
            "total_balance": balance.total,
            "available_balance": balance.available,
            "frozen_amount": balance.frozen,
        }),
        (None, None) => Value::Null,
    }
}

fn summary_json(run: &RunSummary) -> Value {
    json!({
        "id": run.id,
        "started_at": run.started_at,
        "source": run.source,
        "kind": run.kind,
        "site": run.site,
        "key_id": run.api_key_id,
        "key_label": run.key_label,
        "preset_id": run.preset_id,
        "preset_name": run.preset_name,
        "duration_ms": run.duration_ms,
        "model_count": run.model_count,
        "ok_count": run.ok_count,
        "failed_count": run.failed_count,
        "account": balance_json(&run.balance),
        "account_before": balance_json(&run.before),
        "points_spent": run.points_spent,
    })
}

/// `limit` and `before`, each at most once, as plain decimal digits (a sign, a space or a second
/// value is refused, as the document says); `kind`, `source` and `status` at most once, each
/// exactly one of its values; other parameters are ignored.
struct Page {
    limit: i64,
    before: Option<RunId>,
    filter: HistoryFilter,
}

/// Sets a filter seen for the first time to the value its text names exactly; `None` when it
/// was already set or names no value.
fn set_choice<T: std::str::FromStr>(slot: &mut Option<T>, value: &str) -> Option<()> {
    if slot.is_some() {
        return None;
    }
    *slot = Some(value.parse().ok()?);
    Some(())
}

fn parse_page(uri: &Origin<'_>, lang: Lang) -> Result<Page, ApiError> {
    let limit_error = || {
        ApiError::with(
            Status::BadRequest,
            lang,
            "api-history-limit",
            &[("max", MAX_LIMIT.into())],
        )
    };
    let before_error = || ApiError::bad_request(lang, "api-history-before");
    let filter_error = |name: &str| {
        ApiError::with(
            Status::BadRequest,
            lang,
            "api-history-filter",
            &[("name", name.to_owned().into())],
        )
    };
    let (mut limit, mut before) = (None, None);
    let mut filter = HistoryFilter::default();
    for (name, value) in uri.query().into_iter().flat_map(|query| query.segments()) {
        match name {
            "limit" => set_once(&mut limit, value).ok_or_else(limit_error)?,
            "before" => set_once(&mut before, value).ok_or_else(before_error)?,
            // A census is stored as a probe run: `probe` and `check` are what a run stores.
            "kind" => set_choice::<RunKind>(&mut filter.kind, value)
                .filter(|()| filter.kind != Some(RunKind::Census))
                .ok_or_else(|| filter_error(name))?,
            "source" => {
                set_choice::<Source>(&mut filter.source, value).ok_or_else(|| filter_error(name))?
            }
            "status" => set_choice::<RunStatus>(&mut filter.status, value)
                .ok_or_else(|| filter_error(name))?,
            _ => {}
        }
    }
    let limit = match limit {
        None => DEFAULT_LIMIT,
        Some(n) if n <= MAX_LIMIT => n,
        Some(_) => return Err(limit_error()),
    };
    Ok(Page {
        limit,
        before: before.map(RunId),
        filter,
    })
}

/// Sets a parameter seen for the first time; `None` when it was already set or is no number.
fn set_once(slot: &mut Option<i64>, value: &str) -> Option<()> {
    if slot.is_some() {
        return None;
    }
    *slot = Some(positive(value)?);
    Some(())
}

/// A positive integer written as decimal digits only.
fn positive(text: &str) -> Option<i64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<i64>().ok().filter(|n| *n > 0)
}

/// Newest first, every run on its own (scheduled checks are not folded as on `/history`);
/// `before` is the id of the last run of the previous page. The query is read by hand
/// (`parse_page`) so that a repeated parameter is refused rather than ignored.
#[get("/api/history")]
pub async fn list(
    holder: TokenHolder,
    uri: &Origin<'_>,
    lang: ApiLang,
    db: &State<Db>,
) -> Result<Json<Value>, ApiError> {
    let lang = lang.0;
    let Page {
        limit,
        before,
        filter,
    } = parse_page(uri, lang)?;
    let user_id = holder.0;
    let runs = db
        .run(move |conn| {
            let cursor = match before {
                Some(id) => match history::get_run(conn, user_id, id)? {
                    Some(run) => Some((run.started_at, run.id)),
                    None => return Ok(None),
                },
                None => None,
            };
            history::list_runs(conn, user_id, &filter, cursor, 0, limit).map(Some)
        })
        .await
        .map_err(|error| ApiError::unavailable(lang, &error))?
        .ok_or_else(|| ApiError::new(Status::NotFound, lang, "api-history-before-missing"))?;
    let next_before = (runs.len() as i64 == limit)
        .then(|| runs.last().map(|r| r.id))
        .flatten();
    Ok(Json(json!({
        "success": true,
        "data": runs.iter().map(summary_json).collect::<Vec<_>>(),
        "message": i18n::text_with(lang, "api-history-count", &[("count", runs.len().into())]),
        "next_before": next_before,
    })))
}

/// `id` is taken as text so a malformed one is the same 404 envelope as an unknown one.
#[get("/api/history/<id>")]
pub async fn detail(
    holder: TokenHolder,
    id: &str,
    lang: ApiLang,
    db: &State<Db>,
) -> Result<Json<Value>, ApiError> {
    let lang = lang.0;
    let not_found = || ApiError::new(Status::NotFound, lang, "api-history-not-found");
    let id: RunId = id.parse().map_err(|_| not_found())?;
    let user_id = holder.0;
    let found = db
        .run(move |conn| {
            let Some(run) = history::get_run(conn, user_id, id)? else {
                return Ok(None);
            };
            Ok(Some((run, history::run_results(conn, user_id, id)?)))
        })
        .await
        .map_err(|error| ApiError::unavailable(lang, &error))?;
    let (run, results) = found.ok_or_else(not_found)?;
    let mut data = summary_json(&run);
    let available = run.balance.available;
    data["results"] = results
        .iter()
        .map(|r| row_json(&r.result, available, lang))
        .collect();
    Ok(Json(json!({
        "success": true,
        "data": data,
        "message": i18n::text(lang, "api-history-ok"),
    })))
}
