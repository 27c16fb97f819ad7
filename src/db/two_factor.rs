//! The `totp_secrets` and `recovery_codes` tables: an account's authenticator (sealed, pending
//! until confirmed, with the last time step it accepted) and its single-use recovery codes
//! (hashed).

use rusqlite::{Connection, OptionalExtension, params};

use super::{Cached, DbError};
use crate::crypto::vault::Sealed;
use crate::ids::UserId;

/// An account's authenticator as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredTotp {
    pub user_id: UserId,
    pub sealed: Sealed,
    pub confirmed: bool,
    /// The last time step a code was accepted for.
    pub last_step: Option<i64>,
}

const COLUMNS: &str =
    "user_id, nonce, ciphertext, master_key_id, confirmed_at IS NOT NULL, last_step";

fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoredTotp> {
    Ok(StoredTotp {
        user_id: row.get(0)?,
        sealed: super::owned::read_sealed(row, 1)?,
        confirmed: row.get(4)?,
        last_step: row.get(5)?,
    })
}

pub fn get(conn: &Connection, user_id: UserId) -> Result<Option<StoredTotp>, DbError> {
    Ok(conn
        .cached_row(
            &format!("SELECT {COLUMNS} FROM totp_secrets WHERE user_id = ?1"),
            [user_id],
            from_row,
        )
        .optional()?)
}

/// Every stored authenticator (master-key rotation re-seals them all).
pub fn all(conn: &Connection) -> Result<Vec<StoredTotp>, DbError> {
    Ok(conn.cached_rows(
        &format!("SELECT {COLUMNS} FROM totp_secrets ORDER BY user_id"),
        [],
        from_row,
    )?)
}

/// Stores a pending (unconfirmed) secret for the user, unless they have one already; whether
/// it was stored.
pub fn insert_pending(
    conn: &Connection,
    user_id: UserId,
    sealed: &Sealed,
    now: i64,
) -> Result<bool, DbError> {
    Ok(conn.cached_execute(
        "INSERT INTO totp_secrets (user_id, nonce, ciphertext, master_key_id, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (user_id) DO NOTHING",
        params![
            user_id,
            sealed.nonce,
            sealed.ciphertext,
            sealed.master_key_id,
            now
        ],
    )? == 1)
}

/// Replaces the sealed secret (a re-seal under a new master key).
pub fn store_sealed(conn: &Connection, user_id: UserId, sealed: &Sealed) -> Result<(), DbError> {
    conn.cached_execute(
        "UPDATE totp_secrets SET nonce = ?2, ciphertext = ?3, master_key_id = ?4 WHERE user_id = ?1",
        params![user_id, sealed.nonce, sealed.ciphertext, sealed.master_key_id],
    )?;
    Ok(())
}

/// Takes time step `step` for the user's authenticator, unless a code at that step or a later
/// one was accepted already (RFC 6238 §5.2); `confirm` also marks a pending one confirmed.
/// Whether the step was taken.
pub fn take_step(
    conn: &Connection,
    user_id: UserId,
    step: i64,
    confirm: bool,
    now: i64,
) -> Result<bool, DbError> {
    Ok(conn.cached_execute(
        "UPDATE totp_secrets
         SET last_step = ?2, confirmed_at = CASE WHEN ?3 THEN coalesce(confirmed_at, ?4) ELSE confirmed_at END
         WHERE user_id = ?1 AND (last_step IS NULL OR last_step < ?2)
           AND (?3 OR confirmed_at IS NOT NULL)",
        params![user_id, step, confirm, now],
    )? == 1)
}

/// Removes the user's authenticator (pending or confirmed) and recovery codes; whether there
/// was an authenticator.
pub fn delete(conn: &Connection, user_id: UserId) -> Result<bool, DbError> {
    let removed = conn.cached_execute("DELETE FROM totp_secrets WHERE user_id = ?1", [user_id])?;
    conn.cached_execute("DELETE FROM recovery_codes WHERE user_id = ?1", [user_id])?;
    Ok(removed == 1)
}

/// Removes a pending authenticator only (a confirmed one stays); whether one went.
pub fn delete_pending(conn: &Connection, user_id: UserId) -> Result<bool, DbError> {
    Ok(conn.cached_execute(
        "DELETE FROM totp_secrets WHERE user_id = ?1 AND confirmed_at IS NULL",
        [user_id],
    )? == 1)
}

/// Replaces the user's recovery codes with these hashes.
pub fn replace_recovery_codes(
    conn: &Connection,
    user_id: UserId,
    hashes: &[String],
) -> Result<(), DbError> {
    conn.cached_execute("DELETE FROM recovery_codes WHERE user_id = ?1", [user_id])?;
    for hash in hashes {
        conn.cached_execute(
            "INSERT INTO recovery_codes (user_id, code_hash) VALUES (?1, ?2)",
            params![user_id, hash],
        )?;
    }
    Ok(())
}

/// Uses up one of the user's unused recovery codes by its hash; whether there was one.
pub fn use_recovery_code(
    conn: &Connection,
    user_id: UserId,
    hash: &str,
    now: i64,
) -> Result<bool, DbError> {
    Ok(conn.cached_execute(
        "UPDATE recovery_codes SET used_at = ?3
         WHERE user_id = ?1 AND code_hash = ?2 AND used_at IS NULL",
        params![user_id, hash, now],
    )? == 1)
}

/// How many of the user's recovery codes are still unused.
pub fn recovery_codes_left(conn: &Connection, user_id: UserId) -> Result<i64, DbError> {
    Ok(conn.cached_row(
        "SELECT count(*) FROM recovery_codes WHERE user_id = ?1 AND used_at IS NULL",
        [user_id],
        |row| row.get(0),
    )?)
}

/// Whether the user signs in with a second factor (a confirmed authenticator).
pub fn is_on(conn: &Connection, user_id: UserId) -> Result<bool, DbError> {
    Ok(conn.cached_row(
        "SELECT EXISTS (SELECT 1 FROM totp_secrets WHERE user_id = ?1 AND confirmed_at IS NOT NULL)",
        [user_id],
        |row| row.get(0),
    )?)
}
