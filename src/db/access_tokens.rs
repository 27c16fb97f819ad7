//! Personal access tokens for the JSON API: only the SHA-256 of a token is stored.

use rusqlite::{Connection, OptionalExtension, params};

use crate::ids::{TokenId, UserId};

use super::owned::{self, Owned};
use super::{Cached, DbError};
use crate::clock::now;

/// More than anyone needs; keeps the account page short.
pub const MAX_PER_USER: i64 = 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessToken {
    pub id: TokenId,
    pub name: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// `None` when the user already has `MAX_PER_USER` tokens.
pub fn insert(
    conn: &Connection,
    user_id: UserId,
    name: &str,
    token_hash: &str,
) -> Result<Option<TokenId>, DbError> {
    if owned::count::<AccessToken>(conn, user_id)? >= MAX_PER_USER {
        return Ok(None);
    }
    conn.cached_execute(
        "INSERT INTO access_tokens (user_id, name, token_hash, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![user_id, name, token_hash, now()],
    )?;
    Ok(Some(TokenId(conn.last_insert_rowid())))
}

impl Owned for AccessToken {
    type Id = TokenId;
    const TABLE: &'static str = "access_tokens";
    const COLUMNS: &'static str = "id, name, created_at, last_used_at";
    const ORDER: &'static str = "id DESC";

    fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(AccessToken {
            id: row.get(0)?,
            name: row.get(1)?,
            created_at: row.get(2)?,
            last_used_at: row.get(3)?,
        })
    }
}

/// The user's tokens, newest first.
pub fn list_for_user(conn: &Connection, user_id: UserId) -> Result<Vec<AccessToken>, DbError> {
    owned::list(conn, user_id)
}

/// Deletes one of the user's tokens; its name, or `None` when it is not theirs.
pub fn delete_for_user(
    conn: &Connection,
    user_id: UserId,
    id: TokenId,
) -> Result<Option<String>, DbError> {
    owned::delete_returning::<AccessToken, _>(conn, user_id, id, "name")
}

/// The user a token belongs to, marking it used (best effort); `None` for a disabled account.
pub fn user_for_hash(conn: &Connection, token_hash: &str) -> Result<Option<UserId>, DbError> {
    let found: Option<(TokenId, UserId)> = conn
        .cached_row(
            "SELECT t.id, t.user_id FROM access_tokens t JOIN users u ON u.id = t.user_id
             WHERE t.token_hash = ?1 AND u.disabled_at IS NULL",
            [token_hash],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?;
    if let Some((id, _)) = found {
        // Optional: a busy or full database must not refuse the call.
        super::best_effort(conn, "access token last-used", |conn| {
            conn.cached_execute(
                "UPDATE access_tokens SET last_used_at = ?2 WHERE id = ?1",
                params![id, now()],
            )
        });
    }
    Ok(found.map(|(_, user_id)| user_id))
}
