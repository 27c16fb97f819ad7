//! Personal access tokens for the JSON API: made on the account page, shown once, stored only
//! as a hash, revocable. A token survives a password change (scripts keep working); revoke it on
//! the account page when a script should stop.

use crate::crypto::tokens;
use crate::db::access_tokens::{self, AccessToken, MAX_PER_USER};
use crate::db::{Db, DbError};
use crate::ids::{TokenId, UserId};
use crate::names::{self, NameError};

/// Tokens start with this, so a leaked one is easy to recognise and search for.
pub const TOKEN_PREFIX: &str = "msb_";
/// `msb_` + 64 hex characters.
pub const TOKEN_CHARS: usize = TOKEN_PREFIX.len() + 64;

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("the token name is empty")]
    EmptyName,
    #[error("the token name is too long or has control characters")]
    BadName,
    #[error("at most {max} tokens per user")]
    TooMany { max: i64 },
    #[error("no such token")]
    NotFound,
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Makes a token named `name`; the plaintext is returned once and never stored.
pub async fn create(db: &Db, user_id: UserId, name: &str) -> Result<String, TokenError> {
    let name = names::check_name(name).map_err(|error| match error {
        NameError::Empty => TokenError::EmptyName,
        NameError::Invalid => TokenError::BadName,
    })?;
    let token = tokens::new_token(TOKEN_PREFIX);
    let hash = token.hash.clone();
    match db
        .run(move |conn| access_tokens::insert(conn, user_id, &name, &hash))
        .await?
    {
        Some(_) => Ok(token.plaintext),
        None => Err(TokenError::TooMany { max: MAX_PER_USER }),
    }
}

pub async fn list(db: &Db, user_id: UserId) -> Result<Vec<AccessToken>, DbError> {
    db.run(move |conn| access_tokens::list_for_user(conn, user_id))
        .await
}

/// Revokes one of the user's tokens; returns its name.
pub async fn revoke(db: &Db, user_id: UserId, id: TokenId) -> Result<String, TokenError> {
    db.run(move |conn| access_tokens::delete_for_user(conn, user_id, id))
        .await?
        .ok_or(TokenError::NotFound)
}

/// The name of one of the user's tokens (for a confirmation).
pub async fn name_of(db: &Db, user_id: UserId, id: TokenId) -> Result<String, TokenError> {
    list(db, user_id)
        .await?
        .into_iter()
        .find(|token| token.id == id)
        .map(|token| token.name)
        .ok_or(TokenError::NotFound)
}

/// The holder of a presented token; `None` for a token that is malformed, unknown or revoked.
pub async fn holder(db: &Db, presented: &str) -> Result<Option<UserId>, DbError> {
    if presented.len() != TOKEN_CHARS || !presented.starts_with(TOKEN_PREFIX) {
        return Ok(None);
    }
    let hash = tokens::hash_token(presented);
    db.run(move |conn| access_tokens::user_for_hash(conn, &hash))
        .await
}
