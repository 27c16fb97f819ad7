//! The `invitations` table: only each code's SHA-256; used once, before it expires.

use rusqlite::{Connection, params};

use crate::ids::{InvitationId, UserId};

use super::Cached;
use super::DbError;
use crate::clock::now;

/// Invitations listed on the admin page (the newest).
pub const LISTED: i64 = 50;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    pub id: InvitationId,
    pub created_by: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub used_by: Option<String>,
}

pub fn insert(
    conn: &Connection,
    code_hash: &str,
    created_by: Option<UserId>,
    valid_secs: i64,
) -> Result<InvitationId, DbError> {
    let now = now();
    conn.cached_execute(
        "INSERT INTO invitations (code_hash, created_by, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4)",
        params![code_hash, created_by, now, now + valid_secs],
    )?;
    Ok(InvitationId(conn.last_insert_rowid()))
}

/// Whether a code is live (unused, unexpired).
pub fn is_live(conn: &Connection, code_hash: &str) -> Result<bool, DbError> {
    Ok(conn.cached_row(
        "SELECT EXISTS (SELECT 1 FROM invitations
                        WHERE code_hash = ?1 AND used_at IS NULL AND expires_at > ?2)",
        params![code_hash, now()],
        |row| row.get(0),
    )?)
}

/// Uses a live code up for `user_id`; `false` when it is not live (call inside the
/// transaction that makes the account).
pub fn take(conn: &Connection, code_hash: &str, user_id: UserId) -> Result<bool, DbError> {
    Ok(conn.cached_execute(
        "UPDATE invitations SET used_at = ?3, used_by = ?2
         WHERE code_hash = ?1 AND used_at IS NULL AND expires_at > ?3",
        params![code_hash, user_id, now()],
    )? == 1)
}

/// The newest invitations, with who made and who used them.
pub fn list(conn: &Connection) -> Result<Vec<Invitation>, DbError> {
    let mut statement = conn.prepare_cached(
        "SELECT i.id, c.username, i.created_at, i.expires_at, i.used_at, u.username
         FROM invitations i
         LEFT JOIN users c ON c.id = i.created_by
         LEFT JOIN users u ON u.id = i.used_by
         ORDER BY i.created_at DESC, i.id DESC LIMIT ?1",
    )?;
    let rows = statement
        .query_map([LISTED], |row| {
            Ok(Invitation {
                id: row.get(0)?,
                created_by: row.get(1)?,
                created_at: row.get(2)?,
                expires_at: row.get(3)?,
                used_at: row.get(4)?,
                used_by: row.get(5)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Revokes an unused invitation; `false` when there is none (or it was used).
pub fn revoke(conn: &Connection, id: InvitationId) -> Result<bool, DbError> {
    Ok(conn.cached_execute(
        "DELETE FROM invitations WHERE id = ?1 AND used_at IS NULL",
        [id],
    )? == 1)
}
