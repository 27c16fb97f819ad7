//! The `sessions` table: only the SHA-256 of a session token is stored.

use rusqlite::{Connection, OptionalExtension, params};

use crate::ids::{SessionId, UserId};

use super::Cached;
use super::DbError;
use crate::clock::now;

/// A session ends after 7 idle days, or 30 days after sign-in, whichever comes first.
pub const IDLE_SECS: i64 = 7 * 24 * 3600;
pub const ABSOLUTE_SECS: i64 = 30 * 24 * 3600;
/// `last_seen_at` is written at most this often, so browsing is not a stream of writes.
const TOUCH_EVERY_SECS: i64 = 60;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionUser {
    pub session_id: SessionId,
    pub user_id: UserId,
    pub username: String,
    pub csrf_token: String,
    pub is_admin: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    pub id: SessionId,
    pub user_agent: String,
    /// Where it signed in from.
    pub client_addr: String,
    pub created_at: i64,
    pub last_seen_at: i64,
}

pub fn create(
    conn: &Connection,
    token_hash: &str,
    user_id: UserId,
    csrf_token: &str,
    user_agent: &str,
    client_addr: &str,
) -> Result<SessionId, DbError> {
    let now = now();
    conn.cached_execute(
        "INSERT INTO sessions (token_hash, user_id, csrf_token, user_agent, created_at, last_seen_at, expires_at, client_addr)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, ?7)",
        params![token_hash, user_id, csrf_token, user_agent, now, now + ABSOLUTE_SECS, client_addr],
    )?;
    Ok(SessionId(conn.last_insert_rowid()))
}

/// The live session for a token hash, touching its last-seen time (best effort; a trigger
/// copies it to the user's); expired ones, and those of a disabled account, are `None`.
pub fn find_live(conn: &Connection, token_hash: &str) -> Result<Option<SessionUser>, DbError> {
    let now = now();
    let found = conn
        .cached_row(
            "SELECT s.id, s.user_id, u.username, s.csrf_token, s.last_seen_at, u.is_admin
             FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.token_hash = ?1 AND s.expires_at > ?2 AND s.last_seen_at > ?3
               AND u.disabled_at IS NULL",
            params![token_hash, now, now - IDLE_SECS],
            |row| {
                Ok((
                    SessionUser {
                        session_id: row.get(0)?,
                        user_id: row.get(1)?,
                        username: row.get(2)?,
                        csrf_token: row.get(3)?,
                        is_admin: row.get(5)?,
                    },
                    row.get::<_, i64>(4)?,
                ))
            },
        )
        .optional()?;
    let Some((session, last_seen)) = found else {
        return Ok(None);
    };
    if now - last_seen >= TOUCH_EVERY_SECS {
        // Optional: a busy or full database must not sign the user out.
        super::best_effort(conn, "session last-seen", |conn| {
            conn.cached_execute(
                "UPDATE sessions SET last_seen_at = ?2 WHERE id = ?1",
                params![session.session_id, now],
            )
        });
    }
    Ok(Some(session))
}

pub fn delete(conn: &Connection, session_id: SessionId) -> Result<(), DbError> {
    conn.cached_execute("DELETE FROM sessions WHERE id = ?1", [session_id])?;
    Ok(())
}

/// Revokes one of the user's sessions; `false` when it is not theirs or already gone.
pub fn delete_for_user(
    conn: &Connection,
    user_id: UserId,
    session_id: SessionId,
) -> Result<bool, DbError> {
    let deleted = conn.cached_execute(
        "DELETE FROM sessions WHERE id = ?1 AND user_id = ?2",
        params![session_id, user_id],
    )?;
    Ok(deleted == 1)
}

/// Ends every session of the user except `keep`.
pub fn delete_others(
    conn: &Connection,
    user_id: UserId,
    keep: SessionId,
) -> Result<usize, DbError> {
    Ok(conn.cached_execute(
        "DELETE FROM sessions WHERE user_id = ?1 AND id <> ?2",
        params![user_id, keep],
    )?)
}

/// Ends every session of the user (an admin's "sign out everywhere").
pub fn delete_all_for_user(conn: &Connection, user_id: UserId) -> Result<usize, DbError> {
    Ok(conn.cached_execute("DELETE FROM sessions WHERE user_id = ?1", [user_id])?)
}

pub fn list_for_user(conn: &Connection, user_id: UserId) -> Result<Vec<SessionInfo>, DbError> {
    let now = now();
    Ok(conn.cached_rows(
        "SELECT id, user_agent, created_at, last_seen_at, client_addr FROM sessions
         WHERE user_id = ?1 AND expires_at > ?2 AND last_seen_at > ?3
         ORDER BY last_seen_at DESC",
        params![user_id, now, now - IDLE_SECS],
        |row| {
            Ok(SessionInfo {
                id: row.get(0)?,
                user_agent: row.get(1)?,
                created_at: row.get(2)?,
                last_seen_at: row.get(3)?,
                client_addr: row.get(4)?,
            })
        },
    )?)
}

/// Removes expired sessions; run now and then.
pub fn delete_expired(conn: &Connection) -> Result<usize, DbError> {
    let now = now();
    Ok(conn.cached_execute(
        "DELETE FROM sessions WHERE expires_at <= ?1 OR last_seen_at <= ?2",
        params![now, now - IDLE_SECS],
    )?)
}
