//! Listing runs page by page: the `/history` list and the trend page walk an index in
//! `(started_at DESC, id DESC)` order from a keyset cursor, so a page costs its own rows however
//! long the history is (issue 11; the plans are checked by `tests/it/query_plans.rs`).

use rusqlite::{Connection, OptionalExtension, params, params_from_iter, types::Value};

use super::{
    RESULT_COLUMN_COUNT, RESULT_COLUMNS, RunSummary, SUMMARY_COLUMNS, StoredResult,
    result_from_row, summary_from_row,
};
use crate::db::{Cached, DbError};
use crate::ids::{KeyId, PresetId, RunId, UserId};

/// `/history` filters; every field optional. Times are unix seconds, `to` exclusive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistoryFilter {
    pub api_key_id: Option<KeyId>,
    pub preset_id: Option<PresetId>,
    pub model: Option<String>,
    pub from: Option<i64>,
    pub to: Option<i64>,
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
    Ok(conn.cached_rows(&sql, params_from_iter(args), summary_from_row)?)
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
    let mut rows: Vec<RunSummary> =
        conn.cached_rows(&sql, params_from_iter(args), summary_from_row)?;
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
        .cached_row(
            "SELECT started_at, id FROM queries WHERE id = ?1 AND user_id = ?2",
            params![id, user_id],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
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
    Ok(conn
        .cached_row(&sql, params_from_iter(args), |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .optional()?)
}

/// A stored model row with the label of the key it ran with (the trend page's table).
#[derive(Debug, Clone, PartialEq)]
pub struct LabelledResult {
    pub stored: StoredResult,
    pub key_label: Option<String>,
    /// The available points the run ended with (its rows are answered from them).
    pub available: Option<f64>,
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
    let columns = format!("{RESULT_COLUMNS}, q.key_label, q.balance_available");
    let (mut sql, mut args) = listing_sql(&columns, user_id, &filter, cursor, direction);
    sql.push_str(" LIMIT ?");
    args.push(limit.into());
    let mut rows: Vec<LabelledResult> = conn.cached_rows(&sql, params_from_iter(args), |row| {
        Ok(LabelledResult {
            stored: result_from_row(row)?,
            key_label: row.get(RESULT_COLUMN_COUNT)?,
            available: row.get(RESULT_COLUMN_COUNT + 1)?,
        })
    })?;
    if direction == Direction::Newer {
        rows.reverse();
    }
    Ok(rows)
}
