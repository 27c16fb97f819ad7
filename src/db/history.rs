//! Reading stored runs back: the `queries`, `query_results` and `latest_results` tables (the
//! writes are in `runs.rs`).

use rusqlite::{Connection, OptionalExtension, params, params_from_iter, types::Value};

use crate::ids::{KeyId, PresetId, RunId, UserId};

use super::DbError;
use crate::modelscope::ModelResult;
use crate::modelscope::{ErrorCode, Failure, Price, PriceSource, Quota, Reason};

/// The points balance as stored: numbers, or the error code of a failed fetch.
#[derive(Debug, Clone, PartialEq, Default)]
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
    /// `probe` or `check`.
    pub kind: String,
    /// `cn` or `ai`.
    pub site: String,
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

const SUMMARY_COLUMNS: &str =
    "q.id, q.api_key_id, q.key_label, q.preset_id, q.preset_name, q.source,
    q.started_at, q.duration_ms, q.model_count, q.ok_count, q.failed_count,
    q.balance_total, q.balance_available, q.balance_frozen, q.balance_error,
    q.kind, q.site, q.before_total, q.before_available, q.before_frozen, q.points_spent";

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
    })
}

/// Which index walks a listing: the one that serves its most selective filter, so a page reads
/// about as many rows as it shows. Every choice is ordered by `(started_at DESC, id DESC)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Driver {
    /// `query_results_by_user_model_time`: one user's rows of one model, newest first.
    Model,
    /// `queries_by_key_time`, once the key is known to be the user's.
    Key,
    /// `queries_by_preset_time`, once the preset is known to be the user's.
    Preset,
    /// `queries_by_user_time`: every run of the user (dates are a range of it).
    User,
}

impl Driver {
    fn for_filter(filter: &HistoryFilter) -> Self {
        if filter.model.is_some() {
            Self::Model
        } else if filter.api_key_id.is_some() {
            Self::Key
        } else if filter.preset_id.is_some() {
            Self::Preset
        } else {
            Self::User
        }
    }
}

/// Which way a listing walks from its cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Newest first, rows before the cursor.
    Older,
    /// Oldest first, rows after the cursor.
    Newer,
}

/// The SQL of one listing and its arguments. The driving index is named (`INDEXED BY`) so the
/// plan cannot drift to an index that walks the whole history for a rare key or model. A key or
/// preset filter starts from that key's or preset's own row, the user's or none (`CROSS JOIN`
/// keeps those first), so another user's id costs a lookup, not a walk of their runs.
fn listing_sql(
    columns: &str,
    user_id: UserId,
    filter: &HistoryFilter,
    cursor: Option<(i64, RunId)>,
    direction: Direction,
) -> (String, Vec<Value>) {
    let driver = Driver::for_filter(filter);
    let mut from: Vec<String> = Vec::new();
    let mut conditions: Vec<&str> = Vec::new();
    let mut args: Vec<Value> = Vec::new();
    if let Some(key_id) = filter.api_key_id {
        from.push("api_keys k".to_owned());
        conditions.push("k.id = ? AND k.user_id = ?");
        args.extend([key_id.into(), user_id.into()]);
    }
    if let Some(preset_id) = filter.preset_id {
        from.push("presets p".to_owned());
        conditions.push("p.id = ? AND p.user_id = ?");
        args.extend([preset_id.into(), user_id.into()]);
    }
    // The driving table, then `queries` when it is not the driver; `time` and `id` are the
    // driver's columns that carry the order.
    let index = match driver {
        Driver::Model => "query_results_by_user_model_time",
        Driver::Key => "queries_by_key_time",
        Driver::Preset => "queries_by_preset_time",
        Driver::User => "queries_by_user_time",
    };
    let (time, id) = if driver == Driver::Model {
        from.push(format!("query_results r INDEXED BY {index}"));
        from.push("queries q".to_owned());
        conditions.push(
            "r.user_id = ? AND r.model = ? AND q.id = r.query_id AND q.user_id = r.user_id
             AND NOT EXISTS (SELECT 1 FROM query_results d WHERE d.query_id = r.query_id
                             AND d.position < r.position AND d.model = r.model)",
        );
        args.push(user_id.into());
        args.push(filter.model.clone().unwrap_or_default().into());
        ("r.started_at", "r.query_id")
    } else {
        from.push(format!("queries q INDEXED BY {index}"));
        conditions.push("q.user_id = ?");
        args.push(user_id.into());
        ("q.started_at", "q.id")
    };
    if filter.api_key_id.is_some() {
        conditions.push("q.api_key_id = k.id");
    }
    if filter.preset_id.is_some() {
        conditions.push("q.preset_id = p.id");
    }
    let mut sql = format!(
        "SELECT {columns} FROM {} WHERE {}",
        from.join(" CROSS JOIN "),
        conditions.join(" AND ")
    );
    // A date bound on the side the walk starts from would start the index range there, and
    // the walk would step over every row between it and the cursor: the cursor replaces the
    // bound when it is the tighter one (rows past the cursor are inside the bound then), and is
    // left out when it is not (every row inside the bound is past the cursor then).
    let (mut from, mut to) = (filter.from, filter.to);
    let mut cursor = cursor;
    match (direction, cursor) {
        (Direction::Older, Some((at, _))) if to.is_some_and(|to| at < to) => to = None,
        (Direction::Older, Some(_)) if to.is_some() => cursor = None,
        (Direction::Newer, Some((at, _))) if from.is_some_and(|from| at >= from) => from = None,
        (Direction::Newer, Some(_)) if from.is_some() => cursor = None,
        _ => {}
    }
    if let Some(from) = from {
        sql.push_str(&format!(" AND {time} >= ?"));
        args.push(from.into());
    }
    if let Some(to) = to {
        sql.push_str(&format!(" AND {time} < ?"));
        args.push(to.into());
    }
    let (compare, order) = match direction {
        Direction::Older => ("<", "DESC"),
        Direction::Newer => (">", "ASC"),
    };
    if let Some((started_at, run_id)) = cursor {
        sql.push_str(&format!(" AND ({time}, {id}) {compare} (?, ?)"));
        args.push(started_at.into());
        args.push(run_id.into());
    }
    sql.push_str(&format!(" ORDER BY {time} {order}, {id} {order}"));
    (sql, args)
}

/// Newest first. `before` is a keyset cursor (`(started_at, id)` of the last row seen), so deep
/// pages cost the same as the first; `offset` skips rows (only to turn an old numbered-page
/// link into a cursor: it walks the skipped rows).
pub fn list_runs(
    conn: &Connection,
    user_id: UserId,
    filter: &HistoryFilter,
    before: Option<(i64, RunId)>,
    offset: i64,
    limit: i64,
) -> Result<Vec<RunSummary>, DbError> {
    let (mut sql, mut args) =
        listing_sql(SUMMARY_COLUMNS, user_id, filter, before, Direction::Older);
    sql.push_str(" LIMIT ? OFFSET ?");
    args.push(limit.into());
    args.push(offset.into());
    let mut statement = conn.prepare_cached(&sql)?;
    let rows = statement
        .query_map(params_from_iter(args), summary_from_row)?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// The `limit` runs just newer than `after` (a keyset cursor), newest first: the page before
/// the one that starts at `after`.
pub fn list_runs_newer(
    conn: &Connection,
    user_id: UserId,
    filter: &HistoryFilter,
    after: (i64, RunId),
    limit: i64,
) -> Result<Vec<RunSummary>, DbError> {
    let (mut sql, mut args) = listing_sql(
        SUMMARY_COLUMNS,
        user_id,
        filter,
        Some(after),
        Direction::Newer,
    );
    sql.push_str(" LIMIT ?");
    args.push(limit.into());
    let mut statement = conn.prepare_cached(&sql)?;
    let mut rows: Vec<RunSummary> = statement
        .query_map(params_from_iter(args), summary_from_row)?
        .collect::<Result<_, _>>()?;
    rows.reverse();
    Ok(rows)
}

/// Whether the filter matches any run beyond `cursor` in that direction (one index probe):
/// says whether an "older" or "newer" link leads anywhere.
pub fn has_runs_beyond(
    conn: &Connection,
    user_id: UserId,
    filter: &HistoryFilter,
    cursor: (i64, RunId),
    direction: Direction,
) -> Result<bool, DbError> {
    let (mut sql, args) = listing_sql("1", user_id, filter, Some(cursor), direction);
    sql.push_str(" LIMIT 1");
    let mut statement = conn.prepare_cached(&sql)?;
    Ok(statement.exists(params_from_iter(args))?)
}

/// The keyset cursor of one of the user's runs (`None`: no such run of theirs).
pub fn run_cursor(
    conn: &Connection,
    user_id: UserId,
    id: RunId,
) -> Result<Option<(i64, RunId)>, DbError> {
    Ok(conn
        .prepare_cached("SELECT started_at, id FROM queries WHERE id = ?1 AND user_id = ?2")?
        .query_row(params![id, user_id], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?)
}

/// The cursor of the run `offset` places down the filtered list, newest first: turns an old
/// numbered-page link (`?page=N`) into a cursor. Reads the run ids only.
pub fn cursor_at_offset(
    conn: &Connection,
    user_id: UserId,
    filter: &HistoryFilter,
    offset: i64,
) -> Result<Option<(i64, RunId)>, DbError> {
    let (mut sql, mut args) = listing_sql(
        "q.started_at, q.id",
        user_id,
        filter,
        None,
        Direction::Older,
    );
    sql.push_str(" LIMIT 1 OFFSET ?");
    args.push(offset.into());
    let mut statement = conn.prepare_cached(&sql)?;
    Ok(statement
        .query_row(params_from_iter(args), |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?)
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
    let price = match (
        row.get::<_, Option<f64>>(12)?,
        row.get::<_, Option<String>>(13)?,
    ) {
        (Some(points), Some(source)) => {
            PriceSource::parse(&source).map(|source| Price { points, source })
        }
        _ => None,
    };
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
            price,
        },
    })
}

const RESULT_COLUMNS: &str = "r.query_id, q.started_at, r.model, r.request_limit, r.request_remaining,
    r.model_request_limit, r.model_request_remaining, r.status, r.latency_ms, r.error_code, r.error_message,
    r.error_reason, r.points_per_call, r.price_source";

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

/// One model's rows across the user's runs (one a run), with each run's key label, newest
/// first: the `limit` just older than `cursor` (or the newest), or with [`Direction::Newer`]
/// the `limit` just newer than it. Read from the user's rows of the model in index order, so
/// a page costs its rows however long the history is.
pub fn model_results_labelled(
    conn: &Connection,
    user_id: UserId,
    model: &str,
    cursor: Option<(i64, RunId)>,
    direction: Direction,
    limit: i64,
) -> Result<Vec<LabelledResult>, DbError> {
    let filter = HistoryFilter {
        model: Some(model.to_owned()),
        ..HistoryFilter::default()
    };
    let columns = format!("{RESULT_COLUMNS}, q.key_label");
    let (mut sql, mut args) = listing_sql(&columns, user_id, &filter, cursor, direction);
    sql.push_str(" LIMIT ?");
    args.push(limit.into());
    let mut statement = conn.prepare_cached(&sql)?;
    let mut rows: Vec<LabelledResult> = statement
        .query_map(params_from_iter(args), |row| {
            Ok(LabelledResult {
                stored: result_from_row(row)?,
                key_label: row.get(14)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    if direction == Direction::Newer {
        rows.reverse();
    }
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
    let mut statement = conn.prepare_cached(
        "SELECT k.id, q.started_at, q.balance_total, q.balance_available, q.balance_frozen
         FROM api_keys k JOIN queries q ON q.id = (
             SELECT id FROM queries WHERE api_key_id = k.id AND balance_available IS NOT NULL
             ORDER BY started_at DESC, id DESC LIMIT 1)
         WHERE k.user_id = ?1",
    )?;
    let rows = statement
        .query_map([user_id], reading_from_row)?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// The user's balance readings since `since` (unix seconds), oldest first, at most `limit`
/// (the newest ones when there are more).
pub fn balance_readings(
    conn: &Connection,
    user_id: UserId,
    since: i64,
    limit: i64,
) -> Result<Vec<BalanceReading>, DbError> {
    let mut statement = conn.prepare_cached(
        "SELECT * FROM (
             SELECT api_key_id, started_at, balance_total, balance_available, balance_frozen
             FROM queries
             WHERE user_id = ?1 AND started_at >= ?2 AND api_key_id IS NOT NULL
               AND balance_available IS NOT NULL
             ORDER BY started_at DESC, id DESC LIMIT ?3)
         ORDER BY started_at, api_key_id",
    )?;
    let rows = statement
        .query_map(params![user_id, since, limit], reading_from_row)?
        .collect::<Result<_, _>>()?;
    Ok(rows)
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

/// The last balance read for `key_id` before `at`.
pub fn reading_before(
    conn: &Connection,
    key_id: KeyId,
    at: i64,
) -> Result<Option<BalanceReading>, DbError> {
    Ok(conn
        .query_row(
            "SELECT api_key_id, started_at, balance_total, balance_available, balance_frozen
             FROM queries WHERE api_key_id = ?1 AND started_at < ?2
               AND balance_available IS NOT NULL
             ORDER BY started_at DESC, id DESC LIMIT 1",
            params![key_id, at],
            reading_from_row,
        )
        .optional()?)
}
