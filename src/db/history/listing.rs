//! Listing runs page by page: the `/history` list, the export, the API and the trend page walk
//! an index in `(started_at DESC, id DESC)` order from a keyset cursor, so a page costs its own
//! rows however long the history is (issue 11; the plans are checked by
//! `tests/it/query_plans.rs`). The `/history` list folds a key's scheduled free checks of a day
//! into one row ([`HistoryFilter::folded`], `db::check_days`).

use rusqlite::{Connection, OptionalExtension, params, params_from_iter, types::Value};

use super::{
    RESULT_COLUMNS, RunKind, RunSummary, SUMMARY_COLUMNS, Source, StoredResult, result_from_row,
    summary_from_row,
};
use crate::db::check_days::{CheckDay, FOLDED, LISTED, OUTCOME_HEAD};
use crate::db::{Cached, DbError};
use crate::ids::{KeyId, PresetId, RunId, UserId};

crate::closed_set! {
    /// How a run went, for the status filter: everything answered, or something failed (a
    /// model, or the balance read).
    pub enum RunStatus { Ok = "ok", Failed = "failed" }
}

impl RunStatus {
    /// `queries.any_failed` of a run with this status.
    fn any_failed(self) -> i64 {
        match self {
            Self::Ok => 0,
            Self::Failed => 1,
        }
    }
}

/// `/history` filters; every field optional. Times are unix seconds, `to` exclusive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistoryFilter {
    pub api_key_id: Option<KeyId>,
    pub preset_id: Option<PresetId>,
    /// Runs with a row of one of these model ids (`None`: any run; empty: no run). At most
    /// [`super::MAX_MODEL_MATCHES`] (`super::models_matching` finds them for a part of an id).
    pub models: Option<Vec<String>>,
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub kind: Option<RunKind>,
    pub source: Option<Source>,
    pub status: Option<RunStatus>,
    /// A key's scheduled free checks of one Beijing day are one row (the newest check, which
    /// carries the day's counts); off, every run is listed on its own.
    pub folded: bool,
}

impl HistoryFilter {
    /// No run can match (a part of a model id that no stored id contains).
    pub fn matches_nothing(&self) -> bool {
        self.models.as_ref().is_some_and(Vec::is_empty)
    }

    fn has_class(&self) -> bool {
        self.kind.is_some() || self.source.is_some() || self.status.is_some()
    }

    /// The `queries.head` values a listed run has: with days folded, the runs that stand for
    /// a day (or, under a status filter, for a day's checks with that status).
    fn heads(&self) -> &'static [i64] {
        match (self.folded, self.status) {
            (false, _) => &[FOLDED, OUTCOME_HEAD, LISTED],
            (true, None) => &[LISTED],
            (true, Some(_)) => &[OUTCOME_HEAD, LISTED],
        }
    }

    fn any_failed(&self) -> Vec<i64> {
        match self.status {
            Some(status) => vec![status.any_failed()],
            None => vec![0, 1],
        }
    }
}

/// Which index walks a listing: the one that serves its most selective filter, so a page reads
/// about as many rows as it shows. Every choice is ordered by `(started_at DESC, id DESC)`
/// within each value of the columns before the time; several values (`IN`) are read range by
/// range, each stopping once the page is full (SQLite's ordered `IN` with `LIMIT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Driver {
    /// `query_results_by_user_model_time`: one user's rows of the models, newest first.
    Model,
    /// A key's runs (`queries_listed_by_key`: by status and head; `queries_by_key_time`: all),
    /// once the key is known to be the user's.
    Key,
    /// `queries_by_preset_time`, once the preset is known to be the user's.
    Preset,
    /// `queries_by_user_class`: the user's runs by source, kind, status and head.
    Class,
    /// Every run of the user (`queries_listed_by_user_time`, folded: the listed ones).
    User,
}

impl Driver {
    fn for_filter(filter: &HistoryFilter) -> Self {
        if filter.models.is_some() {
            Self::Model
        } else if filter.api_key_id.is_some() {
            Self::Key
        } else if filter.preset_id.is_some() {
            Self::Preset
        } else if filter.has_class() {
            Self::Class
        } else {
            Self::User
        }
    }

    fn index(self, folded: bool) -> &'static str {
        match (self, folded) {
            (Self::Model, _) => "query_results_by_user_model_time",
            (Self::Key, true) => "queries_listed_by_key",
            (Self::Key, false) => "queries_by_key_time",
            (Self::Preset, _) => "queries_by_preset_time",
            (Self::Class, _) => "queries_by_user_class",
            (Self::User, true) => "queries_listed_by_user_time",
            (Self::User, false) => "queries_by_user_time",
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

/// `column = ?` or `column IN (?, …)`, with the values added to `args`.
fn one_of(column: &str, values: Vec<Value>, args: &mut Vec<Value>) -> String {
    let count = values.len();
    args.extend(values);
    if count == 1 {
        format!("{column} = ?")
    } else {
        format!("{column} IN ({})", vec!["?"; count].join(", "))
    }
}

/// `column = n` or `column IN (n, …)` with the numbers written in: a partial index's condition
/// (`head = 2`) is only used when the query says it in so many words.
fn one_of_literal(column: &str, values: &[i64]) -> String {
    let list: Vec<String> = values.iter().map(i64::to_string).collect();
    if list.len() == 1 {
        format!("{column} = {}", list[0])
    } else {
        format!("{column} IN ({})", list.join(", "))
    }
}

/// A list of model ids padded to the next power of two (repeating the last), so the statement
/// cache holds a few shapes rather than one per count.
fn padded(models: &[String]) -> Vec<String> {
    let mut list = models.to_vec();
    if let Some(last) = models.last() {
        list.resize(models.len().next_power_of_two(), last.clone());
    }
    list
}

fn texts(values: &[impl AsRef<str>]) -> Vec<Value> {
    values
        .iter()
        .map(|v| Value::Text(v.as_ref().to_owned()))
        .collect()
}

/// The SQL of one listing and its arguments. The driving index is named (`INDEXED BY`) so the
/// plan cannot drift to an index that walks the whole history for a rare key or model. A key or
/// preset filter starts from that key's or preset's own row, the user's or none (`CROSS JOIN`
/// keeps those first), so another user's id costs a lookup, not a walk of their runs. `days`
/// joins each row's filed day (the folded list's counts).
fn listing_sql(
    columns: &str,
    days: bool,
    user_id: UserId,
    filter: &HistoryFilter,
    cursor: Option<(i64, RunId)>,
    direction: Direction,
) -> (String, Vec<Value>) {
    let driver = Driver::for_filter(filter);
    let index = driver.index(filter.folded);
    let mut from: Vec<String> = Vec::new();
    let mut conditions: Vec<String> = Vec::new();
    let mut args: Vec<Value> = Vec::new();
    if let Some(key_id) = filter.api_key_id {
        from.push("api_keys k".to_owned());
        conditions.push("k.id = ? AND k.user_id = ?".to_owned());
        args.extend([key_id.into(), user_id.into()]);
    }
    if let Some(preset_id) = filter.preset_id {
        from.push("presets p".to_owned());
        conditions.push("p.id = ? AND p.user_id = ?".to_owned());
        args.extend([preset_id.into(), user_id.into()]);
    }
    // The driving table, then `queries` when it is not the driver; `time` and `id` are the
    // driver's columns that carry the order.
    let (time, id) = if driver == Driver::Model {
        let models = padded(filter.models.as_deref().unwrap_or_default());
        from.push(format!("query_results r INDEXED BY {index}"));
        from.push("queries q".to_owned());
        conditions.push("r.user_id = ?".to_owned());
        args.push(user_id.into());
        conditions.push(one_of("r.model", texts(&models), &mut args));
        // A run is listed once: by its first row of the models.
        let earlier = if models.len() == 1 {
            "d.model = r.model".to_owned()
        } else {
            one_of("d.model", texts(&models), &mut args)
        };
        conditions.push(format!(
            "q.id = r.query_id AND q.user_id = r.user_id
             AND NOT EXISTS (SELECT 1 FROM query_results d WHERE d.query_id = r.query_id
                             AND d.position < r.position AND {earlier})"
        ));
        ("r.started_at", "r.query_id")
    } else {
        from.push(format!("queries q INDEXED BY {index}"));
        conditions.push("q.user_id = ?".to_owned());
        args.push(user_id.into());
        ("q.started_at", "q.id")
    };
    if filter.api_key_id.is_some() {
        conditions.push("q.api_key_id = k.id".to_owned());
    }
    if filter.preset_id.is_some() {
        conditions.push("q.preset_id = p.id".to_owned());
    }
    // Source, kind, status and head: the driving index's leading columns when it has them
    // (every value listed, so its order holds), plain conditions otherwise.
    let in_index = |column: &str| match (driver, filter.folded) {
        (Driver::Class, _) => true,
        (Driver::Key, true) => matches!(column, "any_failed" | "head"),
        _ => false,
    };
    let sources = match filter.source {
        Some(source) => vec![source.as_str()],
        None if in_index("source") => Source::ALL.iter().map(|s| s.as_str()).collect(),
        None => Vec::new(),
    };
    if !sources.is_empty() {
        conditions.push(one_of("q.source", texts(&sources), &mut args));
    }
    let kinds = match filter.kind {
        Some(kind) => vec![kind.as_str()],
        None if in_index("kind") => RunKind::ALL.iter().map(|k| k.as_str()).collect(),
        None => Vec::new(),
    };
    if !kinds.is_empty() {
        conditions.push(one_of("q.kind", texts(&kinds), &mut args));
    }
    if in_index("any_failed") || filter.status.is_some() {
        conditions.push(one_of_literal("q.any_failed", &filter.any_failed()));
    }
    if in_index("head") || filter.folded {
        conditions.push(one_of_literal("q.head", filter.heads()));
    }
    let mut tables = from.join(" CROSS JOIN ");
    if days {
        tables.push_str(" LEFT JOIN check_days cd ON cd.id = q.check_day_id");
    }
    let mut sql = format!(
        "SELECT {columns} FROM {tables} WHERE {}",
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

/// The columns of a listed run: a summary, and with days folded its day's counts.
fn listed_columns(filter: &HistoryFilter) -> String {
    if filter.folded {
        format!("{SUMMARY_COLUMNS}, cd.day, cd.runs, cd.failed_runs, cd.low, cd.high")
    } else {
        SUMMARY_COLUMNS.to_owned()
    }
}

fn listed_from_row(row: &rusqlite::Row<'_>, folded: bool) -> rusqlite::Result<RunSummary> {
    let mut run = summary_from_row(row)?;
    if folded && let Some(day) = row.get::<_, Option<i64>>(21)? {
        run.day = Some(CheckDay {
            day,
            runs: row.get(22)?,
            failed_runs: row.get(23)?,
            low: row.get(24)?,
            high: row.get(25)?,
        });
    }
    Ok(run)
}

fn read_listed(
    conn: &Connection,
    sql: &str,
    args: Vec<Value>,
    folded: bool,
) -> Result<Vec<RunSummary>, DbError> {
    Ok(conn.cached_rows(sql, params_from_iter(args), |row| {
        listed_from_row(row, folded)
    })?)
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
    if filter.matches_nothing() {
        return Ok(Vec::new());
    }
    let columns = listed_columns(filter);
    let (mut sql, mut args) = listing_sql(
        &columns,
        filter.folded,
        user_id,
        filter,
        before,
        Direction::Older,
    );
    sql.push_str(" LIMIT ? OFFSET ?");
    args.push(limit.into());
    args.push(offset.into());
    read_listed(conn, &sql, args, filter.folded)
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
    if filter.matches_nothing() {
        return Ok(Vec::new());
    }
    let columns = listed_columns(filter);
    let (mut sql, mut args) = listing_sql(
        &columns,
        filter.folded,
        user_id,
        filter,
        Some(after),
        Direction::Newer,
    );
    sql.push_str(" LIMIT ?");
    args.push(limit.into());
    let mut rows = read_listed(conn, &sql, args, filter.folded)?;
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
    if filter.matches_nothing() {
        return Ok(false);
    }
    let (mut sql, args) = listing_sql("1", false, user_id, filter, Some(cursor), direction);
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
    if filter.matches_nothing() {
        return Ok(None);
    }
    let (mut sql, mut args) = listing_sql(
        "q.started_at, q.id",
        false,
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
        models: Some(vec![model.to_owned()]),
        ..HistoryFilter::default()
    };
    let columns = format!("{RESULT_COLUMNS}, q.key_label");
    let (mut sql, mut args) = listing_sql(&columns, false, user_id, &filter, cursor, direction);
    sql.push_str(" LIMIT ?");
    args.push(limit.into());
    let mut rows: Vec<LabelledResult> = conn.cached_rows(&sql, params_from_iter(args), |row| {
        Ok(LabelledResult {
            stored: result_from_row(row)?,
            key_label: row.get(14)?,
        })
    })?;
    if direction == Direction::Newer {
        rows.reverse();
    }
    Ok(rows)
}
