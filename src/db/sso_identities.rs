//! The `sso_identities` table (an account's links to identities at an OpenID provider) and the
//! account email single sign-on may link by (`users.email`).

use rusqlite::{Connection, OptionalExtension, params};

use super::{Cached, DbError};
use crate::ids::UserId;

/// An account's link to a provider's identity, as the account page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub issuer: String,
    pub email: Option<String>,
    pub linked_at: i64,
    pub last_used_at: i64,
}

/// The account linked to (`issuer`, `subject`), if any.
pub fn find(conn: &Connection, issuer: &str, subject: &str) -> Result<Option<UserId>, DbError> {
    Ok(conn
        .cached_row(
            "SELECT user_id FROM sso_identities WHERE issuer = ?1 AND subject = ?2",
            params![issuer, subject],
            |row| row.get(0),
        )
        .optional()?)
}

/// Links (`issuer`, `subject`) to `user_id`; `false` when it is linked already.
pub fn link(
    conn: &Connection,
    user_id: UserId,
    issuer: &str,
    subject: &str,
    email: Option<&str>,
    now: i64,
) -> Result<bool, DbError> {
    Ok(conn.cached_execute(
        "INSERT INTO sso_identities (user_id, issuer, subject, email, linked_at, last_used_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5)
         ON CONFLICT (issuer, subject) DO NOTHING",
        params![user_id, issuer, subject, email, now],
    )? == 1)
}

/// Records a sign-in through the link, with the email the provider vouches for now.
pub fn touch(
    conn: &Connection,
    issuer: &str,
    subject: &str,
    email: Option<&str>,
    now: i64,
) -> Result<(), DbError> {
    conn.cached_execute(
        "UPDATE sso_identities SET last_used_at = ?3, email = coalesce(?4, email)
         WHERE issuer = ?1 AND subject = ?2",
        params![issuer, subject, now, email],
    )?;
    Ok(())
}

pub fn list_for_user(conn: &Connection, user_id: UserId) -> Result<Vec<Identity>, DbError> {
    Ok(conn.cached_rows(
        "SELECT issuer, email, linked_at, last_used_at FROM sso_identities
         WHERE user_id = ?1 ORDER BY linked_at, id",
        [user_id],
        |row| {
            Ok(Identity {
                issuer: row.get(0)?,
                email: row.get(1)?,
                linked_at: row.get(2)?,
                last_used_at: row.get(3)?,
            })
        },
    )?)
}

/// The account holding `email` (lower-case), if any.
pub fn user_by_email(conn: &Connection, email: &str) -> Result<Option<UserId>, DbError> {
    Ok(conn
        .cached_row("SELECT id FROM users WHERE email = ?1", [email], |row| {
            row.get(0)
        })
        .optional()?)
}

pub fn email_of(conn: &Connection, user_id: UserId) -> Result<Option<String>, DbError> {
    Ok(conn
        .cached_row("SELECT email FROM users WHERE id = ?1", [user_id], |row| {
            row.get::<_, Option<String>>(0)
        })
        .optional()?
        .flatten())
}

/// Sets (or with `None` clears) the account's email; `false` when another account holds it.
pub fn set_email(conn: &Connection, user_id: UserId, email: Option<&str>) -> Result<bool, DbError> {
    match conn.cached_execute(
        "UPDATE users SET email = ?2 WHERE id = ?1",
        params![user_id, email],
    ) {
        Ok(_) => Ok(true),
        Err(rusqlite::Error::SqliteFailure(failure, _))
            if failure.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            Ok(false)
        }
        Err(error) => Err(error.into()),
    }
}
