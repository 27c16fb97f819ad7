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

/// Forgets requests made before `cutoff`.
pub fn delete_before(conn: &Connection, cutoff: i64) -> Result<usize, DbError> {
    Ok(conn.cached_execute("DELETE FROM run_requests WHERE requested_at < ?1", [cutoff])?)
}
