//! The `api_keys` table: sealed keys only. Plaintext never reaches this module.

use rusqlite::{Connection, OptionalExtension, params};

use crate::ids::{KeyId, UserId};

use super::owned::{self, Owned};
use super::{Cached, DbError};
use crate::clock::now;
use crate::crypto::vault::Sealed;
use crate::modelscope::Site;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredKey {
    pub id: KeyId,
    pub user_id: UserId,
    pub label: String,
    pub sealed: Sealed,
    pub last_four: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub site: Site,
}

const COLUMNS: &str = "id, user_id, label, nonce, ciphertext, master_key_id, last_four, created_at,
    last_used_at, site";

impl Owned for StoredKey {
    type Id = KeyId;
    const TABLE: &'static str = "api_keys";
    const COLUMNS: &'static str = COLUMNS;
    const ORDER: &'static str = "label COLLATE NOCASE";

    fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(StoredKey {
            id: row.get(0)?,
            user_id: row.get(1)?,
            label: row.get(2)?,
            sealed: owned::read_sealed(row, 3)?,
            last_four: row.get(6)?,
            created_at: row.get(7)?,
            last_used_at: row.get(8)?,
            site: row.get(9)?,
        })
    }
}

/// Inserts a row and seals the key for it inside one transaction: the associated data binds the
/// ciphertext to the row id, which exists only after the insert. `None` when the label is taken.
pub fn insert_sealed<E>(
    conn: &mut Connection,
    user_id: UserId,
    label: &str,
    site: Site,
    last_four: &str,
    seal: impl FnOnce(KeyId) -> Result<Sealed, E>,
) -> Result<Result<Option<KeyId>, E>, DbError> {
    let insert = |tx: &Connection| {
        tx.cached_execute(
            "INSERT INTO api_keys (user_id, label, nonce, ciphertext, master_key_id, last_four,
                created_at, site)
             VALUES (?1, ?2, x'', x'', '', ?3, ?4, ?5) ON CONFLICT DO NOTHING",
            params![user_id, label, last_four, now(), site],
        )
    };
    owned::insert_sealed::<StoredKey, E>(conn, KeyId, insert, seal)
}

/// Replaces a row's ciphertext (a re-entered key, or rotation).
pub fn store_sealed(conn: &Connection, id: KeyId, sealed: &Sealed) -> Result<(), DbError> {
    owned::store_sealed::<StoredKey>(conn, id, sealed)
}

pub fn set_last_four(conn: &Connection, id: KeyId, last_four: &str) -> Result<(), DbError> {
    conn.cached_execute(
        "UPDATE api_keys SET last_four = ?2 WHERE id = ?1",
        params![id, last_four],
    )?;
    Ok(())
}

/// The user's keys, by label.
pub fn list_for_user(conn: &Connection, user_id: UserId) -> Result<Vec<StoredKey>, DbError> {
    owned::list(conn, user_id)
}

/// One of the user's keys; another user's id is simply not found.
pub fn get_for_user(
    conn: &Connection,
    user_id: UserId,
    id: KeyId,
) -> Result<Option<StoredKey>, DbError> {
    owned::get(conn, user_id, id)
}

pub fn find_by_label(
    conn: &Connection,
    user_id: UserId,
    label: &str,
) -> Result<Option<StoredKey>, DbError> {
    Ok(conn
        .cached_row(
            &format!(
                "SELECT {COLUMNS} FROM api_keys WHERE user_id = ?1 AND label = ?2 COLLATE NOCASE"
            ),
            params![user_id, label],
            StoredKey::from_row,
        )
        .optional()?)
}

/// Every user's keys (master-key rotation).
pub fn all(conn: &Connection) -> Result<Vec<StoredKey>, DbError> {
    owned::all(conn)
}

/// Each master key id saved keys are sealed with, and how many (rows still being inserted,
/// with no id yet, are not counted).
pub fn master_key_ids(conn: &Connection) -> Result<Vec<(String, usize)>, DbError> {
    Ok(conn.cached_rows(
        "SELECT master_key_id, count(*) FROM api_keys WHERE master_key_id <> ''
         GROUP BY master_key_id ORDER BY count(*) DESC",
        [],
        |row| Ok((row.get(0)?, row.get::<_, i64>(1)? as usize)),
    )?)
}

/// Deletes one of the user's keys; its label, or `None` when it is not theirs.
pub fn delete_for_user(
    conn: &Connection,
    user_id: UserId,
    id: KeyId,
) -> Result<Option<String>, DbError> {
    owned::delete_returning::<StoredKey, _>(conn, user_id, id, "label")
}

/// Marks a key used (best effort: a busy or full database must not fail the call).
pub fn touch_used(conn: &Connection, id: KeyId) {
    super::best_effort(conn, "key last-used", |conn| {
        conn.cached_execute(
            "UPDATE api_keys SET last_used_at = ?2 WHERE id = ?1",
            params![id, now()],
        )
    });
}
