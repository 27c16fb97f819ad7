//! The `password_resets` table: one-time links an admin made; only their codes' SHA-256.

use rusqlite::{Connection, OptionalExtension, params};

use crate::ids::UserId;

use super::Cached;
use super::DbError;
use crate::clock::now;

/// A link works for an hour.
pub const VALID_SECS: i64 = 3600;

/// Stores a new link for `user_id`; an older unused one of theirs stops working.
pub fn insert(conn: &Connection, user_id: UserId, code_hash: &str) -> Result<(), DbError> {
    let now = now();
    conn.cached_execute("DELETE FROM password_resets WHERE user_id = ?1", [user_id])?;
    conn.cached_execute(
        "INSERT INTO password_resets (user_id, code_hash, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4)",
        params![user_id, code_hash, now, now + VALID_SECS],
    )?;
    Ok(())
}

/// The user a live link is for, with their name.
pub fn find_live(conn: &Connection, code_hash: &str) -> Result<Option<(UserId, String)>, DbError> {
    Ok(conn
        .cached_row(
            "SELECT r.user_id, u.username FROM password_resets r JOIN users u ON u.id = r.user_id
             WHERE r.code_hash = ?1 AND r.expires_at > ?2",
            params![code_hash, now()],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?)
}

/// Uses the link up: `Some(user)` exactly once for a live link.
pub fn take(conn: &Connection, code_hash: &str) -> Result<Option<UserId>, DbError> {
    Ok(conn
        .cached_row(
            "DELETE FROM password_resets WHERE code_hash = ?1 AND expires_at > ?2
             RETURNING user_id",
            params![code_hash, now()],
            |row| row.get(0),
        )
        .optional()?)
}

/// Housekeeping: links past their hour.
pub fn delete_expired(conn: &Connection) -> Result<usize, DbError> {
    Ok(conn.cached_execute(
        "DELETE FROM password_resets WHERE expires_at <= ?1",
        [now()],
    )?)
}
