//! The `pending_sign_ins` table: a browser that gave the right password and still owes the
//! second factor. Only the SHA-256 of its cookie is stored; it expires after five minutes.

use rusqlite::{Connection, OptionalExtension, params};

use super::{Cached, DbError};
use crate::ids::UserId;

/// How long the second factor may take after the password.
pub const LIFETIME_SECS: i64 = 5 * 60;

/// A live half-signed-in state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub user_id: UserId,
    pub username: String,
    /// Where to go once signed in (checked to be a same-site path when it was stored).
    pub next: String,
}

/// Stores a state started at `now` (the two-factor clock's time, like every `now` here).
pub fn insert(
    conn: &Connection,
    token_hash: &str,
    user_id: UserId,
    next: &str,
    now: i64,
) -> Result<(), DbError> {
    conn.cached_execute(
        "INSERT INTO pending_sign_ins (token_hash, user_id, next, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![token_hash, user_id, next, now, now + LIFETIME_SECS],
    )?;
    Ok(())
}

/// The live state behind a cookie's hash (expired ones and disabled accounts are `None`).
pub fn find_live(
    conn: &Connection,
    token_hash: &str,
    now: i64,
) -> Result<Option<Pending>, DbError> {
    Ok(conn
        .cached_row(
            "SELECT p.user_id, u.username, p.next FROM pending_sign_ins p
             JOIN users u ON u.id = p.user_id
             WHERE p.token_hash = ?1 AND p.expires_at > ?2 AND u.disabled_at IS NULL",
            params![token_hash, now],
            |row| {
                Ok(Pending {
                    user_id: row.get(0)?,
                    username: row.get(1)?,
                    next: row.get(2)?,
                })
            },
        )
        .optional()?)
}

/// Ends a half-signed-in state (it was finished, or abandoned).
pub fn delete(conn: &Connection, token_hash: &str) -> Result<(), DbError> {
    conn.cached_execute(
        "DELETE FROM pending_sign_ins WHERE token_hash = ?1",
        [token_hash],
    )?;
    Ok(())
}

/// Housekeeping: states past their five minutes.
pub fn delete_expired(conn: &Connection, now: i64) -> Result<usize, DbError> {
    Ok(conn.cached_execute("DELETE FROM pending_sign_ins WHERE expires_at <= ?1", [now])?)
}
