//! Writing runs: a run and its rows in one transaction, the dashboard's latest numbers kept up
//! to date beside them; deleting runs.

use rusqlite::{Connection, params};

use super::Cached;
use super::DbError;
use super::history::{RunKind, Source, StoredBalance, Unclean};
use crate::ids::{KeyId, PresetId, RunId, UserId};
use crate::modelscope::{ModelResult, Site};

/// A run about to be stored.
#[derive(Debug, Default)]
pub struct NewRun<'a> {
    pub user_id: UserId,
    pub api_key_id: Option<KeyId>,
    pub key_label: Option<&'a str>,
    pub preset_id: Option<PresetId>,
    pub preset_name: Option<&'a str>,
    pub source: Source,
    /// A census is stored as a probe run with `census` set.
    pub kind: RunKind,
    pub site: Site,
    pub started_at: i64,
    pub duration_ms: i64,
    /// Read after the probes settled (or the one reading of a check).
    pub balance: Option<StoredBalance>,
    /// Read before the first probe.
    pub before: Option<StoredBalance>,
    pub points_spent: Option<f64>,
    /// The shared window's total, when the run could not claim it as its own cost.
    pub shared_points_spent: Option<f64>,
    /// Why the difference taught nothing (`shared`, `outside`, `unsettled`).
    pub unclean: Option<Unclean>,
    pub results: &'a [ModelResult],
}

/// Stores a run and its rows in one transaction and refreshes the dashboard's latest numbers.
/// A key or preset deleted while the run was going is stored as NULL (its copied label and name
/// still say what ran), so a finished run is never lost to a foreign key.
pub fn insert_run(conn: &mut Connection, run: &NewRun<'_>) -> Result<RunId, DbError> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let ok_count = run.results.iter().filter(|r| r.is_ok()).count() as i64;
    let model_count = run.results.len() as i64;
    let balance = run.balance.clone().unwrap_or_default();
    let before = run.before.clone().unwrap_or_default();
    tx.cached_execute(
        "INSERT INTO queries (user_id, api_key_id, key_label, preset_id, preset_name, source,
            kind, site, started_at, duration_ms, model_count, ok_count, failed_count,
            balance_total, balance_available, balance_frozen, balance_error,
            before_total, before_available, before_frozen, points_spent, census, unclean,
            shared_points_spent)
         VALUES (?1, (SELECT id FROM api_keys WHERE id = ?2), ?3,
                 (SELECT id FROM presets WHERE id = ?4), ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,
                 ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24)",
        params![
            run.user_id,
            run.api_key_id,
            run.key_label,
            run.preset_id,
            run.preset_name,
            run.source,
            run.kind.stored(),
            run.site,
            run.started_at,
            run.duration_ms,
            model_count,
            ok_count,
            model_count - ok_count,
            balance.total,
            balance.available,
            balance.frozen,
            balance.error,
            before.total,
            before.available,
            before.frozen,
            run.points_spent,
            run.kind == RunKind::Census,
            run.unclean,
            run.shared_points_spent,
        ],
    )?;
    let query_id = RunId(tx.last_insert_rowid());
    {
        let mut insert = tx.prepare_cached(
            "INSERT INTO query_results (query_id, position, model, request_limit, request_remaining,
                model_request_limit, model_request_remaining, status, error_code, error_message, latency_ms,
                error_reason, points_per_call, price_source, user_id, started_at, checked,
                price_candidates, model_month_request_limit, model_month_request_remaining)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
                     ?18, ?19, ?20)",
        )?;
        let mut latest = tx.prepare_cached(
            "INSERT INTO latest_results (api_key_id, model, query_id, checked_at, request_limit,
                request_remaining, model_request_limit, model_request_remaining, error_code,
                model_month_request_limit, model_month_request_remaining)
             SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11
             WHERE EXISTS (SELECT 1 FROM api_keys WHERE id = ?1)
             ON CONFLICT (api_key_id, model) DO UPDATE SET query_id = excluded.query_id,
                checked_at = excluded.checked_at, request_limit = excluded.request_limit,
                request_remaining = excluded.request_remaining,
                model_request_limit = excluded.model_request_limit,
                model_request_remaining = excluded.model_request_remaining,
                error_code = excluded.error_code,
                model_month_request_limit = excluded.model_month_request_limit,
                model_month_request_remaining = excluded.model_month_request_remaining
             WHERE excluded.checked_at >= latest_results.checked_at",
        )?;
        for (position, row) in run.results.iter().enumerate() {
            let q = row.quota;
            let code = row.error_code();
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
                row.failure.as_ref().and_then(|f| f.reason),
                row.price.map(|p| p.points),
                row.price.map(|p| p.source),
                run.user_id,
                run.started_at,
                row.checked,
                row.candidates
                    .as_ref()
                    .map(|c| serde_json::Value::from(c.clone()).to_string()),
                q.model_month_request_limit,
                q.model_month_request_remaining,
            ])?;
            // Every answer upstream gave (headers or not, healthy or not) is the newest thing
            // known about the model for this key; rows that never reached upstream are not.
            if let (Some(key_id), Some(_)) = (run.api_key_id, row.status) {
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
                    q.model_month_request_limit,
                    q.model_month_request_remaining,
                ])?;
            }
        }
    }
    if let (Some(key_id), Some(total)) = (run.api_key_id, balance.total) {
        super::balance_rises::record(&tx, key_id, total, run.started_at)?;
        if let Some(available) = balance.available {
            let reading = crate::pace::Reading {
                at: run.started_at,
                available,
                total,
            };
            super::pace::record(&tx, key_id, reading)?;
        }
    }
    if run.source == Source::Schedule && run.kind == RunKind::Check && run.api_key_id.is_some() {
        let day = crate::clock::last_midnight(run.started_at);
        super::check_days::file_check(&tx, query_id, day)?;
    }
    tx.commit()?;
    Ok(query_id)
}

pub fn delete_run(conn: &Connection, user_id: UserId, id: RunId) -> Result<bool, DbError> {
    Ok(conn.cached_execute(
        "DELETE FROM queries WHERE id = ?1 AND user_id = ?2",
        params![id, user_id],
    )? == 1)
}

/// Deletes runs that started before `cutoff` (their results cascade away).
pub fn delete_before(conn: &Connection, cutoff: i64) -> Result<usize, DbError> {
    Ok(conn.cached_execute("DELETE FROM queries WHERE started_at < ?1", [cutoff])?)
}
