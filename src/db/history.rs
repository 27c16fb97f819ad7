//! The `queries`, `query_results` and `latest_results` tables.

use rusqlite::{Connection, OptionalExtension, params, params_from_iter, types::Value};

use crate::ids::{KeyId, PresetId, RunId, UserId};

use super::DbError;
use crate::modelscope::{ErrorCode, Failure, Quota, Reason};
use crate::runs::engine::ModelResult;

/// A run about to be stored.
pub struct NewRun<'a> {
    pub user_id: UserId,
    pub api_key_id: Option<KeyId>,
    pub key_label: Option<&'a str>,
    pub preset_id: Option<PresetId>,
    pub preset_name: Option<&'a str>,
    /// `web` or `api`.
    pub source: &'a str,
    pub started_at: i64,
    pub duration_ms: i64,
    pub balance: Option<StoredBalance>,
    pub results: &'a [ModelResult],
}

/// The points balance as stored: numbers, or the error code of a failed fetch.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredBalance {
    pub total: Option<f64>,
    pub available: Option<f64>,
    pub frozen: Option<f64>,
    pub error: Option<String>,
}

/// One row of `/history`.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSummary {
    pub id: RunId,
    pub api_key_id: Option<KeyId>,
    pub key_label: Option<String>,
    pub preset_id: Option<PresetId>,
    pub preset_name: Option<String>,
    pub source: String,
    pub started_at: i64,
    pub duration_ms: i64,
    pub model_count: i64,
    pub ok_count: i64,
    pub failed_count: i64,
    pub balance: StoredBalance,
}

/// A stored model row, with the time of its run.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredResult {
    pub query_id: RunId,
    pub started_at: i64,
    pub result: ModelResult,
}

/// `/history` filters; every field optional. Times are unix seconds, `to` exclusive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistoryFilter {
    pub api_key_id: Option<KeyId>,
    pub preset_id: Option<PresetId>,
    pub model: Option<String>,
    pub from: Option<i64>,
    pub to: Option<i64>,
}

/// Newest known numbers of one model for one saved key (the dashboard).
#[derive(Debug, Clone, PartialEq)]
pub struct LatestResult {
    pub api_key_id: KeyId,
    pub model: String,
    pub query_id: RunId,
    pub checked_at: i64,
    pub quota: Quota,
    pub error_code: Option<String>,
}

/// Stores a run and its rows in one transaction and refreshes the dashboard's latest numbers.
/// A key or preset deleted while the run was going is stored as NULL (its copied label and name
/// still say what ran), so a finished run is never lost to a foreign key.
pub fn insert_run(conn: &mut Connection, run: &NewRun<'_>) -> Result<RunId, DbError> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let ok_count = run.results.iter().filter(|r| r.is_ok()).count() as i64;
    let model_count = run.results.len() as i64;
    let balance = run.balance.clone().unwrap_or(StoredBalance {
        total: None,
        available: None,
        frozen: None,
        error: None,
    });
    tx.execute(
        "INSERT INTO queries (user_id, api_key_id, key_label, preset_id, preset_name, source,
            started_at, duration_ms, model_count, ok_count, failed_count,
            balance_total, balance_available, balance_frozen, balance_error)
         VALUES (?1, (SELECT id FROM api_keys WHERE id = ?2), ?3,
                 (SELECT id FROM presets WHERE id = ?4), ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
        params![
            run.user_id,
            run.api_key_id,
            run.key_label,
            run.preset_id,
            run.preset_name,
            run.source,
            run.started_at,
            run.duration_ms,
            model_count,
            ok_count,
            model_count - ok_count,
            balance.total,
            balance.available,
            balance.frozen,
            balance.error,
        ],
    )?;
    let query_id = RunId(tx.last_insert_rowid());
    {
        let mut insert = tx.prepare_cached(
            "INSERT INTO query_results (query_id, position, model, request_limit, request_remaining,
                model_request_limit, model_request_remaining, status, error_code, error_message, latency_ms,
                error_reason)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        )?;
        let mut latest = tx.prepare_cached(
            "INSERT INTO latest_results (api_key_id, model, query_id, checked_at, request_limit,
                request_remaining, model_request_limit, model_request_remaining, error_code)
             SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9 WHERE EXISTS (SELECT 1 FROM api_keys WHERE id = ?1)
             ON CONFLICT (api_key_id, model) DO UPDATE SET query_id = excluded.query_id,
                checked_at = excluded.checked_at, request_limit = excluded.request_limit,
                request_remaining = excluded.request_remaining,
                model_request_limit = excluded.model_request_limit,
                model_request_remaining = excluded.model_request_remaining,
                error_code = excluded.error_code
             WHERE excluded.checked_at >= latest_results.checked_at",
        )?;
        for (position, row) in run.results.iter().enumerate() {
            let q = row.quota;
            let code = row.error_code().map(ErrorCode::as_str);
            insert.execute(params![
                query_id,
                position as i64,
                row.model,
                q.request_limit,
                q.request_remaining,
                q.model_request_limit,
                q.model_request_remaining,
                row.status,
                code,
                row.failure.as_ref().and_then(|f| f.detail.as_deref()),
                row.latency_ms as i64,
                row.failure
                    .as_ref()
                    .and_then(|f| f.reason)
                    .map(Reason::as_str),
            ])?;
            // Only rows that carry numbers update what the dashboard knows.
            if let (Some(key_id), false) = (run.api_key_id, q.is_empty()) {
                latest.execute(params![
                    key_id,
                    row.model,
                    query_id,
                    run.started_at,
                    q.request_limit,
                    q.request_remaining,
                    q.model_request_limit,
                    q.model_request_remaining,
                    code,
                ])?;
            }
        }
    }
    tx.commit()?;
    Ok(query_id)
}

const SUMMARY_COLUMNS: &str =
    "q.id, q.api_key_id, q.key_label, q.preset_id, q.preset_name, q.source,
    q.started_at, q.duration_ms, q.model_count, q.ok_count, q.failed_count,
    q.balance_total, q.balance_available, q.balance_frozen, q.balance_error";

fn summary_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<RunSummary> {
    Ok(RunSummary {
        id: row.get(0)?,
        api_key_id: row.get(1)?,
        key_label: row.get(2)?,
        preset_id: row.get(3)?,
        preset_name: row.get(4)?,
        source: row.get(5)?,
        started_at: row.get(6)?,
        duration_ms: row.get(7)?,
        model_count: row.get(8)?,
        ok_count: row.get(9)?,
        failed_count: row.get(10)?,
        balance: StoredBalance {
            total: row.get(11)?,
            available: row.get(12)?,
            frozen: row.get(13)?,
            error: row.get(14)?,
        },
    })
}

/// Newest first. `before` is a keyset cursor (`(started_at, id)` of the last row seen), so deep
/// pages cost the same as the first; `offset` serves numbered pages.
pub fn list_runs(
    conn: &Connection,
    user_id: UserId,
    filter: &HistoryFilter,
    before: Option<(i64, RunId)>,
    offset: i64,
    limit: i64,
) -> Result<Vec<RunSummary>, DbError> {
    let mut sql = format!("SELECT {SUMMARY_COLUMNS} FROM queries q WHERE q.user_id = ?");
    let mut args: Vec<Value> = vec![user_id.into()];
    if let Some(key_id) = filter.api_key_id {
        sql.push_str(" AND q.api_key_id = ?");
        args.push(key_id.into());
    }
    if let Some(preset_id) = filter.preset_id {
        sql.push_str(" AND q.preset_id = ?");
        args.push(preset_id.into());
    }
    if let Some(model) = &filter.model {
        sql.push_str(" AND q.id IN (SELECT query_id FROM query_results WHERE model = ?)");
        args.push(model.clone().into());
    }
    if let Some(from) = filter.from {
        sql.push_str(" AND q.started_at >= ?");
        args.push(from.into());
    }
    if let Some(to) = filter.to {
        sql.push_str(" AND q.started_at < ?");
        args.push(to.into());
    }
    if let Some((started_at, id)) = before {
        sql.push_str(" AND (q.started_at, q.id) < (?, ?)");
        args.push(started_at.into());
        args.push(id.into());
    }
    sql.push_str(" ORDER BY q.started_at DESC, q.id DESC LIMIT ? OFFSET ?");
    args.push(limit.into());
    args.push(offset.into());
    let mut statement = conn.prepare_cached(&sql)?;
    let rows = statement
        .query_map(params_from_iter(args), summary_from_row)?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

pub fn get_run(
    conn: &Connection,
    user_id: UserId,
    id: RunId,
) -> Result<Option<RunSummary>, DbError> {
    Ok(conn
        .query_row(
            &format!("SELECT {SUMMARY_COLUMNS} FROM queries q WHERE q.id = ?1 AND q.user_id = ?2"),
            params![id, user_id],
            summary_from_row,
        )
        .optional()?)
}

fn result_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoredResult> {
    let code: Option<String> = row.get(9)?;
    let detail: Option<String> = row.get(10)?;
    let reason: Option<String> = row.get(11)?;
    // An unknown code (from a newer version) still reads as a failure.
    let failure = code.map(|code| Failure {
        code: ErrorCode::parse(&code).unwrap_or(ErrorCode::UpstreamError),
        reason: reason.as_deref().and_then(Reason::parse),
        detail,
    });
    Ok(StoredResult {
        query_id: row.get(0)?,
        started_at: row.get(1)?,
        result: ModelResult {
            model: row.get(2)?,
            quota: Quota {
                request_limit: row.get(3)?,
                request_remaining: row.get(4)?,
                model_request_limit: row.get(5)?,
                model_request_remaining: row.get(6)?,
            },
            status: row.get::<_, Option<u16>>(7)?,
            latency_ms: row.get::<_, i64>(8)?.max(0) as u64,
            failure,
        },
    })
}

const RESULT_COLUMNS: &str = "r.query_id, q.started_at, r.model, r.request_limit, r.request_remaining,
    r.model_request_limit, r.model_request_remaining, r.status, r.latency_ms, r.error_code, r.error_message,
    r.error_reason";

/// The rows of one of the user's runs, in input order.
pub fn run_results(
    conn: &Connection,
    user_id: UserId,
    id: RunId,
) -> Result<Vec<StoredResult>, DbError> {
    let mut statement = conn.prepare_cached(&format!(
        "SELECT {RESULT_COLUMNS} FROM query_results r JOIN queries q ON q.id = r.query_id
         WHERE r.query_id = ?1 AND q.user_id = ?2 ORDER BY r.position"
    ))?;
    let rows = statement
        .query_map(params![id, user_id], result_from_row)?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

pub fn delete_run(conn: &Connection, user_id: UserId, id: RunId) -> Result<bool, DbError> {
    Ok(conn.execute(
        "DELETE FROM queries WHERE id = ?1 AND user_id = ?2",
        params![id, user_id],
    )? == 1)
}

/// The newest numbers per (key, model) for all of the user's keys.
pub fn latest_for_user(conn: &Connection, user_id: UserId) -> Result<Vec<LatestResult>, DbError> {
    let mut statement = conn.prepare_cached(
        "SELECT l.api_key_id, l.model, l.query_id, l.checked_at, l.request_limit, l.request_remaining,
                l.model_request_limit, l.model_request_remaining, l.error_code
         FROM latest_results l JOIN api_keys k ON k.id = l.api_key_id
         WHERE k.user_id = ?1 ORDER BY k.label COLLATE NOCASE, l.model",
    )?;
    let rows = statement
        .query_map([user_id], |row| {
            Ok(LatestResult {
                api_key_id: row.get(0)?,
                model: row.get(1)?,
                query_id: row.get(2)?,
                checked_at: row.get(3)?,
                quota: Quota {
                    request_limit: row.get(4)?,
                    request_remaining: row.get(5)?,
                    model_request_limit: row.get(6)?,
                    model_request_remaining: row.get(7)?,
                },
                error_code: row.get(8)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Deletes runs that started before `cutoff` (their results cascade away).
pub fn delete_before(conn: &Connection, cutoff: i64) -> Result<usize, DbError> {
    Ok(conn.execute("DELETE FROM queries WHERE started_at < ?1", [cutoff])?)
}

// ---------------------------------------------------------------------------------------------
// Reads for the history pages, the export and the trend page.

/// The rows of several of the user's runs (a page of an export), grouped by run in input order.
/// Ids that are not the user's are simply absent.
pub fn results_for_runs(
    conn: &Connection,
    user_id: UserId,
    run_ids: &[RunId],
) -> Result<Vec<(RunId, Vec<StoredResult>)>, DbError> {
    if run_ids.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders = vec!["?"; run_ids.len()].join(",");
    let mut statement = conn.prepare(&format!(
        // The id list drives the lookup (`CROSS JOIN` keeps results first), not the user's runs.
        "SELECT {RESULT_COLUMNS} FROM query_results r CROSS JOIN queries q ON q.id = r.query_id
         WHERE q.user_id = ? AND r.query_id IN ({placeholders}) ORDER BY r.query_id, r.position"
    ))?;
    let args =
        std::iter::once(Value::from(user_id)).chain(run_ids.iter().map(|id| Value::from(*id)));
    let mut grouped: Vec<(RunId, Vec<StoredResult>)> = Vec::new();
    for row in statement.query_map(params_from_iter(args), result_from_row)? {
        let row = row?;
        match grouped.last_mut() {
            Some((id, rows)) if *id == row.query_id => rows.push(row),
            _ => grouped.push((row.query_id, vec![row])),
        }
    }
    Ok(grouped)
}

/// A stored model row with the label of the key it ran with (the trend page's table).
#[derive(Debug, Clone, PartialEq)]
pub struct LabelledResult {
    pub stored: StoredResult,
    pub key_label: Option<String>,
}

/// One model's rows across the user's runs, with each run's key label; newest first. Driven
/// from the user's runs newest first (`CROSS JOIN` fixes that order), each looked up in the
/// model index, so it stops after `limit` rows instead of sorting every row of the model.
pub fn model_results_labelled(
    conn: &Connection,
    user_id: UserId,
    model: &str,
    limit: i64,
) -> Result<Vec<LabelledResult>, DbError> {
    let mut statement = conn.prepare_cached(&format!(
        "SELECT {RESULT_COLUMNS}, q.key_label
         FROM queries q CROSS JOIN query_results r ON r.query_id = q.id AND r.model = ?1
         WHERE q.user_id = ?2 ORDER BY q.started_at DESC, q.id DESC LIMIT ?3"
    ))?;
    let rows = statement
        .query_map(params![model, user_id, limit], |row| {
            Ok(LabelledResult {
                stored: result_from_row(row)?,
                key_label: row.get(12)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// The user's presets as `(id, name)`, for the history filter.
pub fn preset_options(conn: &Connection, user_id: UserId) -> Result<Vec<(i64, String)>, DbError> {
    let mut statement = conn.prepare_cached(
        "SELECT id, name FROM presets WHERE user_id = ?1 ORDER BY name COLLATE NOCASE, id",
    )?;
    let rows = statement
        .query_map([user_id], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}
