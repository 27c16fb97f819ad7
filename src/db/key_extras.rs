//! What ModelScope's optional endpoints (the points ledger, today's earn rules) did for each
//! key: whether they answered its token, when they were last tried, and what earn rules said
//! about today's login grant.

use rusqlite::{Connection, OptionalExtension, params};

use super::{Cached, DbError};
use crate::ids::{KeyId, UserId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KeyExtras {
    /// `None`: never tried (or the last try failed on the way, which proves nothing).
    pub ledger_answered: Option<bool>,
    pub ledger_checked_at: Option<i64>,
    pub rules_answered: Option<bool>,
    pub rules_checked_at: Option<i64>,
    /// What earn rules said at `rules_checked_at`.
    pub grant_claimed: Option<bool>,
}

const COLUMNS: &str =
    "ledger_answered, ledger_checked_at, rules_answered, rules_checked_at, grant_claimed";

fn from_row(row: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<KeyExtras> {
    Ok(KeyExtras {
        ledger_answered: row.get(at)?,
        ledger_checked_at: row.get(at + 1)?,
        rules_answered: row.get(at + 2)?,
        rules_checked_at: row.get(at + 3)?,
        grant_claimed: row.get(at + 4)?,
    })
}

pub fn for_key(conn: &Connection, key_id: KeyId) -> Result<Option<KeyExtras>, DbError> {
    Ok(conn
        .cached_row(
            &format!("SELECT {COLUMNS} FROM key_extras WHERE api_key_id = ?1"),
            [key_id],
            |row| from_row(row, 0),
        )
        .optional()?)
}

pub fn for_user(conn: &Connection, user_id: UserId) -> Result<Vec<(KeyId, KeyExtras)>, DbError> {
    let mut statement = conn.prepare_cached(&format!(
        "SELECT e.api_key_id, {} FROM key_extras e JOIN api_keys k ON k.id = e.api_key_id
         WHERE k.user_id = ?1",
        COLUMNS
            .split(", ")
            .map(|c| format!("e.{c}"))
            .collect::<Vec<_>>()
            .join(", ")
    ))?;
    let rows = statement
        .query_map([user_id], |row| Ok((row.get(0)?, from_row(row, 1)?)))?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Writes the key's row (unless the key is gone).
pub fn save(conn: &Connection, key_id: KeyId, extras: &KeyExtras) -> Result<(), DbError> {
    conn.cached_execute(
        &format!(
            "INSERT INTO key_extras (api_key_id, {COLUMNS})
             SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE EXISTS (SELECT 1 FROM api_keys WHERE id = ?1)
             ON CONFLICT (api_key_id) DO UPDATE SET
                 ledger_answered = excluded.ledger_answered,
                 ledger_checked_at = excluded.ledger_checked_at,
                 rules_answered = excluded.rules_answered,
                 rules_checked_at = excluded.rules_checked_at,
                 grant_claimed = excluded.grant_claimed"
        ),
        params![
            key_id,
            extras.ledger_answered,
            extras.ledger_checked_at,
            extras.rules_answered,
            extras.rules_checked_at,
            extras.grant_claimed
        ],
    )?;
    Ok(())
}
