//! Failed sign-ins, counted per account and per client address for throttling.

use rusqlite::{Connection, params};

use super::DbError;
use crate::clock::now;

/// 10 failures within 15 minutes, for one account or one address, and the next try waits.
pub const WINDOW_SECS: i64 = 15 * 60;
pub const MAX_FAILURES: i64 = 10;

pub fn record(conn: &Connection, username: &str, client_addr: &str) -> Result<(), DbError> {
    conn.execute(
        "INSERT INTO login_failures (username, client_addr, at) VALUES (?1, ?2, ?3)",
        params![username, client_addr, now()],
    )?;
    Ok(())
}

/// Seconds until another try is allowed, or `None` when it is allowed now.
pub fn blocked_for(
    conn: &Connection,
    username: &str,
    client_addr: &str,
) -> Result<Option<i64>, DbError> {
    let now = now();
    let since = now - WINDOW_SECS;
    let mut wait: Option<i64> = None;
    for column in ["username", "client_addr"] {
        let key = if column == "username" {
            username
        } else {
            client_addr
        };
        // The oldest of the last MAX_FAILURES failures decides when the window frees a slot.
        let (count, oldest): (i64, Option<i64>) = conn.query_row(
            &format!(
                "SELECT count(*), min(at) FROM (SELECT at FROM login_failures
                 WHERE {column} = ?1 AND at > ?2 ORDER BY at DESC LIMIT ?3)"
            ),
            params![key, since, MAX_FAILURES],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )?;
        if count >= MAX_FAILURES {
            let free_at = oldest.unwrap_or(now) + WINDOW_SECS;
            wait = Some(wait.unwrap_or(0).max(free_at - now).max(1));
        }
    }
    Ok(wait)
}

/// A successful sign-in clears the account's count.
pub fn clear_for_user(conn: &Connection, username: &str) -> Result<(), DbError> {
    conn.execute("DELETE FROM login_failures WHERE username = ?1", [username])?;
    Ok(())
}

pub fn delete_old(conn: &Connection) -> Result<usize, DbError> {
    Ok(conn.execute(
        "DELETE FROM login_failures WHERE at <= ?1",
        [now() - WINDOW_SECS],
    )?)
}
