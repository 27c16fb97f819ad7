//! A model filter that stands for several ids ("qwen" → three ids): each id's runs are walked
//! in index order on their own, a few at a time, and merged here, newest first. SQLite would
//! merge them itself (`model IN (…)`), but it reads each id's range until the page is full when
//! a join follows the range, so the page cost as many rows as there are ids times a page.
//! Merged here a page reads about its own rows plus a few a model. A run with rows of two of the
//! ids is listed by its first one only, so the walks never meet.

use std::collections::VecDeque;

use rusqlite::Connection;

use super::{Direction, HistoryFilter, read_listed, sql::listing_sql};
use crate::db::DbError;
use crate::db::history::RunSummary;
use crate::ids::{RunId, UserId};

/// One id's runs, read ahead a chunk at a time.
struct Walk<'a> {
    model: &'a str,
    ahead: VecDeque<RunSummary>,
    /// Where the next chunk starts: the last run read.
    cursor: Option<(i64, RunId)>,
    chunk: i64,
    done: bool,
}

/// The `limit` runs of `filter` (several models) beyond `cursor` in `direction`, in that
/// direction's order (newest first for [`Direction::Older`]).
pub(super) fn merged(
    conn: &Connection,
    user_id: UserId,
    filter: &HistoryFilter,
    cursor: Option<(i64, RunId)>,
    direction: Direction,
    limit: i64,
) -> Result<Vec<RunSummary>, DbError> {
    let models = filter.models.as_deref().unwrap_or_default();
    // Each walk first reads its share of the page and one more; a walk that runs dry before
    // the page is full reads twice as much again.
    let first_chunk = (limit / models.len().max(1) as i64 + 1).min(limit);
    let mut walks: Vec<Walk<'_>> = models
        .iter()
        .map(|model| Walk {
            model,
            ahead: VecDeque::new(),
            cursor,
            chunk: first_chunk,
            done: false,
        })
        .collect();
    let columns = super::listed_columns(filter);
    let mut out = Vec::new();
    while (out.len() as i64) < limit {
        for walk in walks.iter_mut().filter(|w| w.ahead.is_empty() && !w.done) {
            let (mut sql, mut args) = listing_sql(
                &columns,
                user_id,
                filter,
                Some(walk.model),
                walk.cursor,
                direction,
            );
            sql.push_str(" LIMIT ?");
            args.push(walk.chunk.into());
            let rows = read_listed(conn, &sql, args, filter.folded)?;
            walk.done = (rows.len() as i64) < walk.chunk;
            walk.chunk = (walk.chunk * 2).min(limit);
            walk.cursor = rows.last().map(|r| (r.started_at, r.id)).or(walk.cursor);
            walk.ahead.extend(rows);
        }
        let position = |run: &RunSummary| (run.started_at, run.id);
        let next = walks
            .iter()
            .enumerate()
            .filter_map(|(at, walk)| walk.ahead.front().map(|run| (at, position(run))));
        let best = match direction {
            Direction::Older => next.max_by_key(|&(_, position)| position),
            Direction::Newer => next.min_by_key(|&(_, position)| position),
        };
        let Some((at, _)) = best else {
            break;
        };
        out.extend(walks[at].ahead.pop_front());
    }
    Ok(out)
}
