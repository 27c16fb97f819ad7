//! Reading stored runs back: the `queries`, `query_results` and `latest_results` tables (the
//! writes are in `runs.rs`).

use rusqlite::{Connection, OptionalExtension, params, params_from_iter, types::Value};

use crate::ids::{KeyId, PresetId, RunId, UserId};

use super::Cached;
use super::DbError;

mod listing;
mod models;
use crate::db::check_days::CheckDay;
use crate::modelscope::{ErrorCode, Failure, ModelResult, Price, PriceSource, Quota, Site};
pub use listing::{
    Direction, HistoryFilter, LabelledResult, RunStatus, cursor_at_offset, has_runs_beyond,
    list_runs, list_runs_newer, model_results_labelled, run_cursor,
};
pub use models::{MAX_MODEL_MATCHES, models_matching};

crate::closed_set! {
    /// Where a stored run came from: a page (the quick form, `/query`, the dashboard), the
    /// JSON API, or a monitor's scheduled run.
    #[derive(Default)]
    pub enum Source { #[default] Web, Api, Schedule }
}

crate::closed_set! {
    /// What a run does: call every model, read the free balance only, or call the models whose
    /// price is unknown one at a time to measure it (a census, stored as a probe run with
    /// `queries.census` set: see [`RunKind::stored`]).
    #[derive(Default)]
    pub enum RunKind { #[default] Probe, Check, Census }
}

impl RunKind {
    /// What `queries.kind` holds: a census calls models, so it is a probe run there.
    pub fn stored(self) -> Self {
        match self {
            Self::Census => Self::Probe,
            kind => kind,
        }
    }
}

crate::closed_set! {
    /// Why a run's balance difference teaches no price (stored with the run).
    pub enum Unclean {
        /// Another run of the app measured the same key at the same time: the difference is
        /// the shared window's, not this run's.
        Shared,
        /// The readings show spending from outside the app.
        Outside,
        /// Points were still held at the last reading.
        Unsettled,
    }
}

/// The points balance as stored: numbers, or the error code of a failed fetch.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StoredBalance {
    pub total: Option<f64>,
    pub available: Option<f64>,
    pub frozen: Option<f64>,
    pub error: Option<ErrorCode>,
}

/// One row of `/history`.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSummary {
    pub id: RunId,
    pub api_key_id: Option<KeyId>,
    pub key_label: Option<String>,
    pub preset_id: Option<PresetId>,
    pub preset_name: Option<String>,
    pub source: Source,
    pub kind: RunKind,
    pub site: Site,
    pub started_at: i64,
    pub duration_ms: i64,
    pub model_count: i64,
    pub ok_count: i64,
    pub failed_count: i64,
    /// Read after the probes settled (or the one reading of a check).
    pub balance: StoredBalance,
    /// Read before the first probe.
    pub before: StoredBalance,
    pub points_spent: Option<f64>,
    /// A price census.
    pub census: bool,
    /// Why the run's difference taught nothing (`shared`, `outside`, `unsettled`).
    pub unclean: Option<Unclean>,
    /// The shared window's total, when the run could not claim it.
    pub shared_points_spent: Option<f64>,
    /// In a folded listing, the run that stands for a key's scheduled free checks of a day:
    /// that day's counts.
    pub day: Option<CheckDay>,
}

/// A stored model row, with the time of its run.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredResult {
    pub query_id: RunId,
    pub started_at: i64,
    pub result: ModelResult,
}

/// Newest known numbers of one model for one saved key (the dashboard).
#[derive(Debug, Clone, PartialEq)]
pub struct LatestResult {
    pub api_key_id: KeyId,
    pub model: String,
    pub query_id: RunId,
    pub checked_at: i64,
    pub quota: Quota,
    pub error_code: Option<ErrorCode>,
}

const SUMMARY_COLUMNS: &str =
    "q.id, q.api_key_id, q.key_label, q.preset_id, q.preset_name, q.source,
    q.started_at, q.duration_ms, q.model_count, q.ok_count, q.failed_count,
    q.balance_total, q.balance_available, q.balance_frozen, q.balance_error,
    q.kind, q.site, q.before_total, q.before_available, q.before_frozen, q.points_spent,
    q.census, q.unclean, q.shared_points_spent";

/// How many columns `SUMMARY_COLUMNS` names (a listing may add its own after them).
const SUMMARY_COLUMN_COUNT: usize = 24;

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
        kind: row.get(15)?,
        site: row.get(16)?,
        before: StoredBalance {
            total: row.get(17)?,
            available: row.get(18)?,
            frozen: row.get(19)?,
            error: None,
        },
        points_spent: row.get(20)?,
        census: row.get(21)?,
        unclean: row.get(22)?,
        shared_points_spent: row.get(23)?,
        day: None,
    })
}

pub fn get_run(
    conn: &Connection,
    user_id: UserId,
    id: RunId,
) -> Result<Option<RunSummary>, DbError> {
    Ok(conn
        .cached_row(
            &format!("SELECT {SUMMARY_COLUMNS} FROM queries q WHERE q.id = ?1 AND q.user_id = ?2"),
            params![id, user_id],
            summary_from_row,
        )
        .optional()?)
}

fn result_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoredResult> {
    let price = match (
        row.get::<_, Option<f64>>(12)?,
        row.get::<_, Option<PriceSource>>(13)?,
    ) {
        (Some(points), Some(source)) => Some(Price { points, source }),
        _ => None,
    };
    let failure = match row.get::<_, Option<ErrorCode>>(9)? {
        Some(code) => Some(Failure {
            code,
            reason: row.get(11)?,
            detail: row.get(10)?,
        }),
        None => None,
    };
    Ok(StoredResult {
        query_id: row.get(0)?,
        started_at: row.get(1)?,
        result: ModelResult {
            model: row.get(2)?,
            quota: Quota {
                model_month_request_limit: row.get(16)?,
                model_month_request_remaining: row.get(17)?,
                ..quota_at(row, 3)?
            },
            status: row.get::<_, Option<u16>>(7)?,
            latency_ms: row.get::<_, i64>(8)?.max(0) as u64,
            failure,
            price,
            candidates: row
                .get::<_, Option<String>>(15)?
                .and_then(|text| serde_json::from_str(&text).ok()),
            checked: row.get(14)?,
        },
    })
}

/// How many columns `RESULT_COLUMNS` names (a query may add its own after them).
const RESULT_COLUMN_COUNT: usize = 18;
/// The four quota numbers, stored side by side from column `at`.
fn quota_at(row: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Quota> {
    Ok(Quota {
        request_limit: row.get(at)?,
        request_remaining: row.get(at + 1)?,
        model_request_limit: row.get(at + 2)?,
        model_request_remaining: row.get(at + 3)?,
        ..Quota::default()
    })
}

const RESULT_COLUMNS: &str = "r.query_id, q.started_at, r.model, r.request_limit, r.request_remaining,
    r.model_request_limit, r.model_request_remaining, r.status, r.latency_ms, r.error_code, r.error_message,
    r.error_reason, r.points_per_call, r.price_source,
    coalesce(r.checked, q.kind = 'probe' AND r.error_code IS NOT 'invalid_model'),
    r.price_candidates, r.model_month_request_limit, r.model_month_request_remaining";

/// The rows of one of the user's runs, in input order.
pub fn run_results(
    conn: &Connection,
    user_id: UserId,
    id: RunId,
) -> Result<Vec<StoredResult>, DbError> {
    Ok(conn.cached_rows(
        &format!(
            "SELECT {RESULT_COLUMNS} FROM query_results r JOIN queries q ON q.id = r.query_id
             WHERE r.query_id = ?1 AND q.user_id = ?2 ORDER BY r.position"
        ),
        params![id, user_id],
        result_from_row,
    )?)
}

/// The newest numbers per (key, model) for all of the user's keys.
pub fn latest_for_user(conn: &Connection, user_id: UserId) -> Result<Vec<LatestResult>, DbError> {
    Ok(conn.cached_rows(
        "SELECT l.api_key_id, l.model, l.query_id, l.checked_at, l.request_limit, l.request_remaining,
                l.model_request_limit, l.model_request_remaining, l.error_code,
                l.model_month_request_limit, l.model_month_request_remaining
         FROM latest_results l JOIN api_keys k ON k.id = l.api_key_id
         WHERE k.user_id = ?1 ORDER BY k.label COLLATE NOCASE, l.model",
        [user_id],
        |row| {
            Ok(LatestResult {
                api_key_id: row.get(0)?,
                model: row.get(1)?,
                query_id: row.get(2)?,
                checked_at: row.get(3)?,
                quota: Quota {
                    model_month_request_limit: row.get(9)?,
                    model_month_request_remaining: row.get(10)?,
                    ..quota_at(row, 4)?
                },
                error_code: row.get(8)?,
            })
        },
    )?)
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
    let mut statement = conn.prepare_cached(&format!(
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

/// The user's presets as `(id, name)`, for the history filter.
pub fn preset_options(conn: &Connection, user_id: UserId) -> Result<Vec<(i64, String)>, DbError> {
    Ok(conn.cached_rows(
        "SELECT id, name FROM presets WHERE user_id = ?1 ORDER BY name COLLATE NOCASE, id",
        [user_id],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?)
}

/// A points balance seen at some time, for one saved key.
#[derive(Debug, Clone, PartialEq)]
pub struct BalanceReading {
    pub api_key_id: KeyId,
    pub at: i64,
    pub total: f64,
    pub available: f64,
    pub frozen: f64,
}

fn reading_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<BalanceReading> {
    Ok(BalanceReading {
        api_key_id: row.get(0)?,
        at: row.get(1)?,
        total: row.get(2)?,
        available: row.get(3)?,
        frozen: row.get(4)?,
    })
}

/// The newest balance read for each of the user's keys (keys never read are absent).
pub fn latest_balances(conn: &Connection, user_id: UserId) -> Result<Vec<BalanceReading>, DbError> {
    Ok(conn.cached_rows(
        "SELECT k.id, q.started_at, q.balance_total, q.balance_available, q.balance_frozen
         FROM api_keys k JOIN queries q ON q.id = (
             SELECT id FROM queries WHERE api_key_id = k.id AND balance_available IS NOT NULL
             ORDER BY started_at DESC, id DESC LIMIT 1)
         WHERE k.user_id = ?1",
        [user_id],
        reading_from_row,
    )?)
}

/// The last balance read on each day for each of `keys` (the user's): `days` are the days'
/// `[start, end)` in unix seconds. One index probe a (key, day), so the cost is bounded by the
/// keys and days asked for, not by how many runs a day holds. Oldest first.
pub fn daily_balances(
    conn: &Connection,
    user_id: UserId,
    keys: &[KeyId],
    days: &[(i64, i64)],
) -> Result<Vec<BalanceReading>, DbError> {
    let mut statement = conn.prepare_cached(
        "SELECT api_key_id, started_at, balance_total, balance_available, balance_frozen
         FROM queries INDEXED BY queries_by_key_time
         WHERE api_key_id = ?1 AND started_at >= ?2 AND started_at < ?3 AND user_id = ?4
           AND balance_available IS NOT NULL
         ORDER BY started_at DESC, id DESC LIMIT 1",
    )?;
    let mut readings = Vec::new();
    for &(start, end) in days {
        for &key in keys {
            if let Some(reading) = statement
                .query_row(params![key, start, end, user_id], reading_from_row)
                .optional()?
            {
                readings.push(reading);
            }
        }
    }
    readings.sort_by_key(|reading| (reading.at, reading.api_key_id));
    Ok(readings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::runs::{NewRun, insert_run};
    use crate::db::{Db, users};

    /// A stored value this version does not know (a code, a site; the source has a CHECK) is an
    /// error when the run is read, never a silent default.
    #[test]
    fn an_unknown_stored_code_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("app.db")).unwrap();
        let mut conn = db.connection().unwrap();
        let user = users::create(&conn, "alice", "x").unwrap().unwrap();
        let failed = ModelResult {
            model: "a/b".to_owned(),
            quota: Quota::default(),
            status: Some(500),
            failure: Some(Failure::new(ErrorCode::UpstreamError, None)),
            latency_ms: 1,
            price: None,
            candidates: None,
            checked: true,
        };
        let run = insert_run(
            &mut conn,
            &NewRun {
                user_id: user,
                source: Source::Api,
                kind: RunKind::Check,
                site: Site::Ai,
                balance: Some(StoredBalance {
                    error: Some(ErrorCode::InvalidKey),
                    ..StoredBalance::default()
                }),
                results: std::slice::from_ref(&failed),
                ..NewRun::default()
            },
        )
        .unwrap();
        let stored = get_run(&conn, user, run).unwrap().unwrap();
        assert_eq!(
            (
                stored.source,
                stored.kind,
                stored.site,
                stored.balance.error
            ),
            (
                Source::Api,
                RunKind::Check,
                Site::Ai,
                Some(ErrorCode::InvalidKey)
            )
        );
        assert_eq!(run_results(&conn, user, run).unwrap()[0].result, failed);

        for (table, column) in [
            ("queries", "balance_error"),
            ("queries", "site"),
            ("query_results", "error_code"),
        ] {
            let id = if table == "queries" { "id" } else { "query_id" };
            let saved: String = conn
                .query_row(
                    &format!("SELECT {column} FROM {table} WHERE {id} = ?1"),
                    [run],
                    |r| r.get(0),
                )
                .unwrap();
            conn.execute(
                &format!("UPDATE {table} SET {column} = 'from_the_future' WHERE {id} = ?1"),
                [run],
            )
            .unwrap();
            let read = if table == "queries" {
                get_run(&conn, user, run).map(|_| ())
            } else {
                run_results(&conn, user, run).map(|_| ())
            };
            let error = read.unwrap_err().to_string();
            assert!(
                error.contains("unknown value \"from_the_future\""),
                "{column}: {error}"
            );
            conn.execute(
                &format!("UPDATE {table} SET {column} = ?2 WHERE {id} = ?1"),
                rusqlite::params![run, saved],
            )
            .unwrap();
        }
    }
}
