//! The `users` table: accounts, who is an admin, who is disabled.

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
    pub is_admin: bool,
    pub disabled: bool,
}

/// One row of the admin's user list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserOverview {
    pub id: UserId,
    pub username: String,
    pub is_admin: bool,
    pub disabled: bool,
    pub created_at: i64,
    pub last_seen_at: Option<i64>,
    pub keys: i64,
    pub monitors: i64,
    pub runs: i64,
}

/// `None` when the (case-insensitive) username is taken. The first account of an instance is
/// its admin.
pub fn create(
    conn: &Connection,
    username: &str,
    password_hash: &str,
) -> Result<Option<UserId>, DbError> {
    let now = now();
    let inserted = conn.cached_execute(
        "INSERT INTO users (username, password_hash, created_at, is_admin)
         VALUES (?1, ?2, ?3, NOT EXISTS (SELECT 1 FROM users))
         ON CONFLICT (username) DO NOTHING",
        params![username, password_hash, now],
    )?;
    Ok((inserted == 1).then(|| UserId(conn.last_insert_rowid())))
}

const COLUMNS: &str = "id, username, password_hash, is_admin, disabled_at IS NOT NULL";

fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: row.get(0)?,
        username: row.get(1)?,
        password_hash: row.get(2)?,
        is_admin: row.get(3)?,
        disabled: row.get(4)?,
    })
}

pub fn find_by_username(conn: &Connection, username: &str) -> Result<Option<User>, DbError> {
    Ok(conn
        .cached_row(
            &format!("SELECT {COLUMNS} FROM users WHERE username = ?1"),
            [username],
            from_row,
        )
        .optional()?)
}

pub fn get(conn: &Connection, id: UserId) -> Result<Option<User>, DbError> {
    Ok(conn
        .cached_row(
            &format!("SELECT {COLUMNS} FROM users WHERE id = ?1"),
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

/// Admins whose accounts are enabled, other than `except` (who is about to stop being one).
pub fn other_active_admins(conn: &Connection, except: UserId) -> Result<i64, DbError> {
    Ok(conn.cached_row(
        "SELECT count(*) FROM users WHERE is_admin = 1 AND disabled_at IS NULL AND id <> ?1",
        [except],
        |row| row.get(0),
    )?)
}

pub fn set_admin(conn: &Connection, id: UserId, admin: bool) -> Result<bool, DbError> {
    Ok(conn.cached_execute(
        "UPDATE users SET is_admin = ?2 WHERE id = ?1",
        params![id, admin],
    )? == 1)
}

/// Disables (from now) or enables the account; `false` when there is no such user.
pub fn set_disabled(conn: &Connection, id: UserId, disabled: bool) -> Result<bool, DbError> {
    Ok(conn.cached_execute(
        "UPDATE users SET disabled_at = CASE WHEN ?2 THEN coalesce(disabled_at, ?3) END
         WHERE id = ?1",
        params![id, disabled, now()],
    )? == 1)
}

pub fn count(conn: &Connection) -> Result<i64, DbError> {
    Ok(conn.cached_row("SELECT count(*) FROM users", [], |row| row.get(0))?)
}

/// A page of users for the admin, oldest first, with what each one holds.
pub fn overview(conn: &Connection, offset: i64, limit: i64) -> Result<Vec<UserOverview>, DbError> {
    let mut statement = conn.prepare_cached(
        "SELECT u.id, u.username, u.is_admin, u.disabled_at IS NOT NULL, u.created_at,
                u.last_seen_at,
                (SELECT count(*) FROM api_keys WHERE user_id = u.id),
                (SELECT count(*) FROM monitors WHERE user_id = u.id),
                (SELECT count(*) FROM queries WHERE user_id = u.id)
         FROM users u ORDER BY u.id LIMIT ?1 OFFSET ?2",
    )?;
    let rows = statement
        .query_map(params![limit, offset], |row| {
            Ok(UserOverview {
                id: row.get(0)?,
                username: row.get(1)?,
                is_admin: row.get(2)?,
                disabled: row.get(3)?,
                created_at: row.get(4)?,
                last_seen_at: row.get(5)?,
                keys: row.get(6)?,
                monitors: row.get(7)?,
                runs: row.get(8)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Every account, oldest first, for `admin list`.
pub fn all(conn: &Connection) -> Result<Vec<User>, DbError> {
    let mut statement = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM users ORDER BY id"))?;
    let rows = statement
        .query_map([], from_row)?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}
