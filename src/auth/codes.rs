//! One-time codes in links (a password reset, an invitation): 256 random bits, only the SHA-256
//! kept. A code that is not found counts as a failed guess from its address, with failed
//! passwords: a few misses and the address waits.

use rusqlite::Connection;

use super::accounts::AccountError;
use crate::crypto::tokens;
use crate::db::{DbError, login_failures};

/// Failed code checks are recorded under this name: no username can hold `#`, so the
/// per-address limit counts them with failed passwords.
pub(crate) const CODE_GUESSES: &str = "#code";

/// A new code and the hash to store.
pub fn new_code() -> tokens::NewToken {
    tokens::new_token("")
}

/// Checks a presented code against the throttle, then `found` (given the code's hash); a miss
/// is recorded.
pub fn check<T>(
    conn: &Connection,
    code: &str,
    client_addr: &str,
    found: impl FnOnce(&Connection, &str) -> Result<Option<T>, DbError>,
) -> Result<Result<T, AccountError>, DbError> {
    if let Some(retry_after_secs) = login_failures::blocked_for(conn, CODE_GUESSES, client_addr)? {
        return Ok(Err(AccountError::Throttled { retry_after_secs }));
    }
    match found(conn, &tokens::hash_token(code))? {
        Some(value) => Ok(Ok(value)),
        None => {
            login_failures::record(conn, CODE_GUESSES, client_addr)?;
            Ok(Err(AccountError::BadLink))
        }
    }
}
