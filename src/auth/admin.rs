//! What an admin may do to accounts: list them, disable and enable, delete, sign out
//! everywhere, hand over a one-time password-reset link; and the grants of the command line.
//! One rule holds throughout: an instance with users keeps at least one enabled admin.

use rusqlite::{Connection, TransactionBehavior};

use super::accounts::{self, AccountError};
use super::password_reset;
use crate::db::users::{self, User, UserOverview};
use crate::db::{Db, DbError, sessions};
use crate::ids::UserId;

/// Users on one page of the admin's list.
pub const USERS_PER_PAGE: i64 = 100;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("no such user")]
    NotFound,
    #[error("the last admin cannot be disabled, deleted or revoked")]
    LastAdmin,
    #[error(transparent)]
    Db(#[from] DbError),
}

/// One page (from 1) of users, and how many there are in all.
pub async fn users_page(db: &Db, page: i64) -> Result<(Vec<UserOverview>, i64), DbError> {
    let offset = (page.max(1) - 1) * USERS_PER_PAGE;
    db.run(move |conn| {
        Ok((
            users::overview(conn, offset, USERS_PER_PAGE)?,
            users::count(conn)?,
        ))
    })
    .await
}

/// The user's name, for a confirmation page.
pub async fn username_of(db: &Db, id: UserId) -> Result<String, AdminError> {
    db.run(move |conn| users::get(conn, id))
        .await?
        .map(|user| user.username)
        .ok_or(AdminError::NotFound)
}

/// Whether `user` is an enabled admin other enabled admins could spare.
fn spare(conn: &Connection, user: &User) -> Result<bool, DbError> {
    Ok(!user.is_admin || user.disabled || users::other_active_admins(conn, user.id)? > 0)
}

/// Disables or enables the account at once: a disabled user's sessions and tokens are refused
/// and their monitors skipped from the next request on; nothing of theirs is deleted, so
/// enabling brings everything back. The last enabled admin cannot be disabled.
pub async fn set_disabled(db: &Db, id: UserId, disabled: bool) -> Result<String, AdminError> {
    db.run(move |conn| {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let Some(user) = users::get(&tx, id)? else {
            return Ok(Err(AdminError::NotFound));
        };
        if disabled && !spare(&tx, &user)? {
            return Ok(Err(AdminError::LastAdmin));
        }
        users::set_disabled(&tx, id, disabled)?;
        tx.commit()?;
        Ok(Ok(user.username))
    })
    .await?
}

/// Deletes the account and everything of it, as the user could themselves.
pub async fn delete(db: &Db, id: UserId) -> Result<String, AdminError> {
    let name = username_of(db, id).await?;
    match db.run(move |conn| accounts::erase(conn, id)).await? {
        Ok(()) => Ok(name),
        Err(AccountError::LastAdmin) => Err(AdminError::LastAdmin),
        Err(AccountError::Db(error)) => Err(AdminError::Db(error)),
        Err(_) => Err(AdminError::NotFound),
    }
}

/// Ends every session of the user (their tokens stay; they revoke those themselves).
pub async fn sign_out_everywhere(db: &Db, id: UserId) -> Result<(String, usize), AdminError> {
    let name = username_of(db, id).await?;
    let ended = db
        .run(move |conn| sessions::delete_all_for_user(conn, id))
        .await?;
    Ok((name, ended))
}

/// A new one-time password-reset link's code for the user (an older one stops working).
pub async fn reset_link(db: &Db, id: UserId) -> Result<(String, String), AdminError> {
    let name = username_of(db, id).await?;
    let code = password_reset::create(db, id).await?;
    Ok((name, code))
}

// -- the command line (works while the server runs: SQLite takes one more writer) ---------------

/// Makes `username` an admin; `Ok(false)` when they were one already.
pub fn grant(conn: &mut Connection, username: &str) -> Result<bool, AdminError> {
    let name = accounts::normalize_username(username).map_err(|_| AdminError::NotFound)?;
    let user = users::find_by_username(conn, &name)?.ok_or(AdminError::NotFound)?;
    if user.is_admin {
        return Ok(false);
    }
    users::set_admin(conn, user.id, true)?;
    Ok(true)
}

/// Takes admin away from `username`, unless they are the last enabled admin; `Ok(false)` when
/// they were none.
pub fn revoke(conn: &mut Connection, username: &str) -> Result<bool, AdminError> {
    let name = accounts::normalize_username(username).map_err(|_| AdminError::NotFound)?;
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(DbError::from)?;
    let user = users::find_by_username(&tx, &name)?.ok_or(AdminError::NotFound)?;
    if !user.is_admin {
        return Ok(false);
    }
    if !spare(&tx, &user)? {
        return Err(AdminError::LastAdmin);
    }
    users::set_admin(&tx, user.id, false)?;
    tx.commit().map_err(DbError::from)?;
    Ok(true)
}

/// Every account, for `admin list`.
pub fn list(conn: &Connection) -> Result<Vec<User>, AdminError> {
    Ok(users::all(conn)?)
}

/// A reset link's code for `username`, for `admin reset-link` (the way back in for an admin
/// who lost their password).
pub fn reset_link_for(conn: &Connection, username: &str) -> Result<String, AdminError> {
    let name = accounts::normalize_username(username).map_err(|_| AdminError::NotFound)?;
    let user = users::find_by_username(conn, &name)?.ok_or(AdminError::NotFound)?;
    Ok(password_reset::create_on(conn, user.id)?)
}
