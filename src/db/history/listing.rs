//! Listing runs page by page: the `/history` list, the export, the API and the trend page walk
//! an index in `(started_at DESC, id DESC)` order from a keyset cursor, so a page costs its own
//! rows however long the history is (issue 11; the plans are checked by
//! `tests/it/query_plans.rs`). The `/history` list folds a key's scheduled free checks of a day
//! into one row ([`HistoryFilter::folded`], `db::check_days`).

use rusqlite::{Connection, OptionalExtension, params, params_from_iter, types::Value};

use super::{
    RESULT_COLUMN_COUNT, RESULT_COLUMNS, RunKind, RunSummary, SUMMARY_COLUMN_COUNT,
    SUMMARY_COLUMNS, Source, StoredResult, result_from_row, summary_from_row,
};
use crate::db::check_days::{CheckDay, FOLDED, LISTED, OUTCOME_HEAD};

mod merge;
mod sql;
use crate::db::{Cached, DbError};
use crate::ids::{KeyId, PresetId, RunId, UserId};
use sql::listing_sql;

crate::closed_set! {
    /// How a run went, for the status filter: everything answered, or something failed (a
    /// model, or the balance read).
    pub enum RunStatus { Ok, Failed }
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

    /// The model whose rows drive the listing: the filter's one id (`None`: no model filter,
    /// or several, which `merge` walks one by one).
    fn one_model(&self) -> Option<&str> {
        match self.models.as_deref() {
            Some([model]) => Some(model),
            _ => None,
        }
    }

    fn several_models(&self) -> bool {
        self.models.as_ref().is_some_and(|models| models.len() > 1)
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

/// Which way a listing walks from its cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Newest first, rows before the cursor.
    Older,
    /// Oldest first, rows after the cursor.
    Newer,
}

/// The columns of a listed run: a summary, and with days folded the day it is filed under.
pub(super) fn listed_columns(filter: &HistoryFilter) -> String {
    if filter.folded {
        format!("{SUMMARY_COLUMNS}, q.check_day_id")
    } else {
        SUMMARY_COLUMNS.to_owned()
    }
}

/// The listed runs, and in a folded list each filed day's counts beside the run that stands
/// for it (one lookup by primary key a day shown).
pub(super) fn read_listed(
    conn: &Connection,
    sql: &str,
    args: Vec<Value>,
    folded: bool,
) -> Result<Vec<RunSummary>, DbError> {
    let mut filed: Vec<Option<i64>> = Vec::new();
    let mut runs: Vec<RunSummary> = conn.cached_rows(sql, params_from_iter(args), |row| {
        if folded {
            filed.push(row.get(SUMMARY_COLUMN_COUNT)?);
        }
        summary_from_row(row)
    })?;
    for (run, check_day) in runs.iter_mut().zip(filed) {
        if let Some(check_day) = check_day {
            run.day = conn
                .cached_row(
                    "SELECT day, runs, failed_runs, low, high FROM check_days WHERE id = ?1",
                    [check_day],
                    |row| {
                        Ok(CheckDay {
                            day: row.get(0)?,
                            runs: row.get(1)?,
                            failed_runs: row.get(2)?,
                            low: row.get(3)?,
                            high: row.get(4)?,
                        })
                    },
                )
                .optional()?;
        }
    }
    Ok(runs)
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
    if filter.several_models() {
        let mut runs = merge::merged(
            conn,
            user_id,
            filter,
            before,
            Direction::Older,
            offset + limit,
        )?;
        return Ok(runs.split_off((offset as usize).min(runs.len())));
    }
    let columns = listed_columns(filter);
    let (mut sql, mut args) = listing_sql(
        &columns,
        user_id,
        filter,
        filter.one_model(),
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
    let mut rows = if filter.several_models() {
        merge::merged(conn, user_id, filter, Some(after), Direction::Newer, limit)?
    } else {
        let columns = listed_columns(filter);
        let (mut sql, mut args) = listing_sql(
            &columns,
            user_id,
            filter,
            filter.one_model(),
            Some(after),
            Direction::Newer,
        );
        sql.push_str(" LIMIT ?");
        args.push(limit.into());
        read_listed(conn, &sql, args, filter.folded)?
    };
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
    let models: Vec<Option<&str>> = match filter.models.as_deref() {
        None => vec![None],
        Some(models) => models.iter().map(|m| Some(m.as_str())).collect(),
    };
    for model in models {
        let (mut sql, args) = listing_sql("1", user_id, filter, model, Some(cursor), direction);
        // Any run will do: without the order, a filter read as several ranges stops at the
        // first run found instead of ordering the ranges' heads.
        if let Some(order) = sql.rfind(" ORDER BY ") {
            sql.truncate(order);
        }
        sql.push_str(" LIMIT 1");
        if conn.prepare_cached(&sql)?.exists(params_from_iter(args))? {
            return Ok(true);
        }
    }
    Ok(false)
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
    if filter.several_models() {
        let runs = merge::merged(conn, user_id, filter, None, Direction::Older, offset + 1)?;
        return Ok(runs
            .get(offset as usize)
            .map(|run| (run.started_at, run.id)));
    }
    let (mut sql, mut args) = listing_sql(
        "q.started_at, q.id",
        user_id,
        filter,
        filter.one_model(),
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
        models: Some(vec![model.to_owned()]),
        ..HistoryFilter::default()
    };
    let columns = format!("{RESULT_COLUMNS}, q.key_label, q.balance_available");
    let (mut sql, mut args) =
        listing_sql(&columns, user_id, &filter, Some(model), cursor, direction);
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
