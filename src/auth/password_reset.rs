//! One-time password-reset links: an admin makes one (or `admin reset-link` on the command
//! line), hands it over by other means, and it sets a new password once within the hour. Only
//! the code's SHA-256 is stored; the code itself is shown once. Unknown codes are throttled per
//! address like failed passwords.

use rusqlite::Connection;

use super::accounts::{self, AccountError};
use super::codes;
use crate::db::{Db, DbError, password_resets, sessions, users};
use crate::ids::UserId;

/// Where a link points: `/reset/<code>`.
pub const PATH: &str = "/reset/";

/// A new link's code for `user_id` (an older one of theirs stops working).
pub fn create_on(conn: &Connection, user_id: UserId) -> Result<String, DbError> {
    let code = codes::new_code();
    password_resets::insert(conn, user_id, &code.hash)?;
    Ok(code.plaintext)
}

pub async fn create(db: &Db, user_id: UserId) -> Result<String, DbError> {
    db.run(move |conn| create_on(conn, user_id)).await
}

/// The account a live link resets (its name, for the page), throttled.
pub async fn account_for(db: &Db, code: &str, client_addr: &str) -> Result<String, AccountError> {
    let (code, addr) = (code.to_owned(), client_addr.to_owned());
    db.run(move |conn| {
        let mut name = String::new();
        let user = codes::check(conn, &code, &addr, |conn, hash| {
            Ok(
                password_resets::find_live(conn, hash)?.map(|(id, username)| {
                    name = username;
                    id
                }),
            )
        })?;
        Ok(user.map(|_| name))
    })
    .await?
}

/// Sets the new password and uses the link up; every session of the account ends.
pub async fn complete(
    db: &Db,
    code: &str,
    client_addr: &str,
    password: &str,
    confirmation: &str,
) -> Result<(), AccountError> {
    account_for(db, code, client_addr).await?;
    accounts::check_new_password(password, confirmation)?;
    let hash = accounts::hash(password).await?;
    let (code, addr) = (code.to_owned(), client_addr.to_owned());
    db.run(move |conn| {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        // Taken in the same transaction as the change: two forms racing use it once.
        let user = codes::check(&tx, &code, &addr, password_resets::take)?;
        let Ok(user_id) = user else {
            tx.commit()?;
            return Ok(user.map(|_| ()));
        };
        users::set_password_hash(&tx, user_id, &hash)?;
        sessions::delete_all_for_user(&tx, user_id)?;
        tx.commit()?;
        Ok(Ok(()))
    })
    .await?
}
