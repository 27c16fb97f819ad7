//! `GET /api/history` and `GET /api/history/<id>` for token holders.

use rocket::State;
use rocket::get;
use rocket::http::Status;
use rocket::serde::json::Json;
use serde_json::{Value, json};

use super::auth::TokenHolder;
use super::balance::row_json;
use super::envelope::ApiError;
use crate::db::Db;
use crate::db::history::{self, HistoryFilter, RunSummary, StoredBalance};

const DEFAULT_LIMIT: i64 = 50;
const MAX_LIMIT: i64 = 200;

fn internal() -> ApiError {
    ApiError::new(Status::InternalServerError, "读取历史记录失败，请稍后重试")
}

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
        "key_id": run.api_key_id,
        "key_label": run.key_label,
        "preset_id": run.preset_id,
        "preset_name": run.preset_name,
        "duration_ms": run.duration_ms,
        "model_count": run.model_count,
        "ok_count": run.ok_count,
        "failed_count": run.failed_count,
        "account": balance_json(&run.balance),
    })
}

/// Newest first; `before` is the id of the last run of the previous page.
#[get("/api/history?<limit>&<before>")]
pub async fn list(
    holder: TokenHolder,
    limit: Option<&str>,
    before: Option<&str>,
    db: &State<Db>,
) -> Result<Json<Value>, ApiError> {
    let limit = match limit {
        None => DEFAULT_LIMIT,
        Some(text) => text
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                ApiError::bad_request(format!("limit 必须是 1 到 {MAX_LIMIT} 之间的整数"))
            })?,
    };
    let before = match before {
        None => None,
        Some(text) => Some(
            text.parse::<i64>()
                .ok()
                .filter(|id| *id > 0)
                .ok_or_else(|| {
                    ApiError::bad_request("before 必须是上一页最后一条记录的 id（正整数）")
                })?,
        ),
    };
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
            history::list_runs(conn, user_id, &HistoryFilter::default(), cursor, 0, limit).map(Some)
        })
        .await
        .map_err(|_| internal())?
        .ok_or_else(|| ApiError::new(Status::NotFound, "before 指向的记录不存在"))?;
    let next_before = (runs.len() as i64 == limit)
        .then(|| runs.last().map(|r| r.id))
        .flatten();
    Ok(Json(json!({
        "success": true,
        "data": runs.iter().map(summary_json).collect::<Vec<_>>(),
        "message": format!("共 {} 条记录", runs.len()),
        "next_before": next_before,
    })))
}

/// `id` is taken as text so a malformed one is the same 404 envelope as an unknown one.
#[get("/api/history/<id>")]
pub async fn detail(
    holder: TokenHolder,
    id: &str,
    db: &State<Db>,
) -> Result<Json<Value>, ApiError> {
    let not_found = || ApiError::new(Status::NotFound, "记录不存在");
    let id: i64 = id.parse().map_err(|_| not_found())?;
    let user_id = holder.0;
    let found = db
        .run(move |conn| {
            let Some(run) = history::get_run(conn, user_id, id)? else {
                return Ok(None);
            };
            Ok(Some((run, history::run_results(conn, user_id, id)?)))
        })
        .await
        .map_err(|_| internal())?;
    let (run, results) = found.ok_or_else(not_found)?;
    let mut data = summary_json(&run);
    data["results"] = results.iter().map(|r| row_json(&r.result)).collect();
    Ok(Json(
        json!({"success": true, "data": data, "message": "ok"}),
    ))
}
