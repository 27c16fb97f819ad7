//! The `run_requests` table: each "run now" asked, kept an hour for its limits.

use rusqlite::{Connection, params};

use super::Cached;
use super::DbError;
use crate::ids::{MonitorId, UserId};

pub fn insert(
    conn: &Connection,
    user_id: UserId,
    monitor_id: MonitorId,
    at: i64,
) -> Result<(), DbError> {
    conn.cached_execute(
        "INSERT INTO run_requests (user_id, monitor_id, requested_at) VALUES (?1, ?2, ?3)",
        params![user_id, monitor_id, at],
    )?;
    Ok(())
}

/// When the monitor's newest `limit` requests since `since` were made, newest first.
pub fn times_for_monitor(
    conn: &Connection,
    monitor_id: MonitorId,
    since: i64,
    limit: i64,
) -> Result<Vec<i64>, DbError> {
    Ok(conn.cached_rows(
        "SELECT requested_at FROM run_requests WHERE monitor_id = ?1 AND requested_at >= ?2
         ORDER BY requested_at DESC LIMIT ?3",
        params![monitor_id, since, limit],
        |r| r.get(0),
    )?)
}

/// When the user's newest `limit` requests since `since` were made, newest first.
pub fn times_for_user(
    conn: &Connection,
    user_id: UserId,
    since: i64,
    limit: i64,
) -> Result<Vec<i64>, DbError> {
    Ok(conn.cached_rows(
        "SELECT requested_at FROM run_requests WHERE user_id = ?1 AND requested_at >= ?2
         ORDER BY requested_at DESC LIMIT ?3",
        params![user_id, since, limit],
        |r| r.get(0),
    )?)
}

/// Forgets requests made before `cutoff`.
pub fn delete_before(conn: &Connection, cutoff: i64) -> Result<usize, DbError> {
    Ok(conn.cached_execute("DELETE FROM run_requests WHERE requested_at < ?1", [cutoff])?)
}
