//! The newest events a rolling limit counts (a monitor's or a user's "run now" requests, a
//! user's test messages, a channel's messages), and how long until one more fits.

use rusqlite::{Connection, ToSql, params};

use super::Cached;
use super::DbError;
use crate::clock;
use crate::ids::{ChannelId, MonitorId, UserId};

/// What a limit counts.
#[derive(Debug, Clone, Copy)]
pub enum Counted {
    /// "Run now" requests of one monitor.
    MonitorRequests(MonitorId),
    /// "Run now" requests of all of one user's monitors.
    UserRequests(UserId),
    /// One user's test messages.
    UserTests(UserId),
    /// Messages given to one channel (tests too), held ones not counted.
    ChannelMessages(ChannelId),
}

/// When the newest `limit` events of `counted` since `since` happened, newest first.
pub fn newest_times(
    conn: &Connection,
    counted: Counted,
    since: i64,
    limit: i64,
) -> Result<Vec<i64>, DbError> {
    // One line a query: each is its own index's lookup.
    let (sql, owner): (&str, &dyn ToSql) = match &counted {
        Counted::MonitorRequests(id) => (
            "SELECT requested_at FROM run_requests WHERE monitor_id = ?1 AND requested_at >= ?2 ORDER BY requested_at DESC LIMIT ?3",
            id,
        ),
        Counted::UserRequests(id) => (
            "SELECT requested_at FROM run_requests WHERE user_id = ?1 AND requested_at >= ?2 ORDER BY requested_at DESC LIMIT ?3",
            id,
        ),
        Counted::UserTests(id) => (
            "SELECT created_at FROM deliveries WHERE user_id = ?1 AND created_at >= ?2 AND event = 'test' ORDER BY created_at DESC LIMIT ?3",
            id,
        ),
        Counted::ChannelMessages(id) => (
            "SELECT created_at FROM deliveries WHERE channel_id = ?1 AND created_at >= ?2 AND status <> 'held' ORDER BY created_at DESC LIMIT ?3",
            id,
        ),
    };
    Ok(conn.cached_rows(sql, params![owner, since, limit], |r| r.get(0))?)
}

/// Seconds until one more event of `counted` fits `max` a `window` seconds at `now`; `None`
/// when there is room.
pub fn wait_for_room(
    conn: &Connection,
    counted: Counted,
    max: u32,
    window: i64,
    now: i64,
) -> Result<Option<i64>, DbError> {
    let times = newest_times(conn, counted, now - window + 1, max.into())?;
    Ok(clock::wait_for_room(&times, max, window, now))
}
