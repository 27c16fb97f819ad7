//! The `users` table.

use rusqlite::{Connection, OptionalExtension, params};

use crate::ids::UserId;

use super::Cached;
use super::DbError;
use crate::clock::now;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub username: String,
    pub password_hash: String,
}

/// `None` when the (case-insensitive) username is taken.
pub fn create(
    conn: &Connection,
    username: &str,
    password_hash: &str,
) -> Result<Option<UserId>, DbError> {
    let inserted = conn.cached_execute(
        "INSERT INTO users (username, password_hash, created_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (username) DO NOTHING",
        params![username, password_hash, now()],
    )?;
    Ok((inserted == 1).then(|| UserId(conn.last_insert_rowid())))
}

fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: row.get(0)?,
        username: row.get(1)?,
        password_hash: row.get(2)?,
    })
}

pub fn find_by_username(conn: &Connection, username: &str) -> Result<Option<User>, DbError> {
    Ok(conn
        .cached_row(
            "SELECT id, username, password_hash FROM users WHERE username = ?1",
            [username],
            from_row,
        )
        .optional()?)
}

pub fn get(conn: &Connection, id: UserId) -> Result<Option<User>, DbError> {
    Ok(conn
        .cached_row(
            "SELECT id, username, password_hash FROM users WHERE id = ?1",
            [id],
            from_row,
        )
        .optional()?)
}

pub fn set_password_hash(conn: &Connection, id: UserId, hash: &str) -> Result<(), DbError> {
    conn.cached_execute(
        "UPDATE users SET password_hash = ?2 WHERE id = ?1",
        params![id, hash],
    )?;
    Ok(())
}

/// Removes the user and, by cascade, everything they own. Their filed days go first, so the
/// cascade to their runs does not file each deleted check out of its day (call it in a
/// transaction).
pub fn delete(conn: &Connection, id: UserId) -> Result<(), DbError> {
    conn.cached_execute("DELETE FROM check_days WHERE user_id = ?1", [id])?;
    conn.cached_execute("DELETE FROM users WHERE id = ?1", [id])?;
    Ok(())
}
