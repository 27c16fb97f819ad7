//! Each key's [`Pace`] (its burn rate and the grants that may still expire): one row per key,
//! kept up to date as runs are stored (`runs::insert_run`), so a view reads one row a key.

use rusqlite::{Connection, OptionalExtension, params};

use super::{Cached, DbError};
use crate::ids::{KeyId, UserId};
use crate::pace::{LedgerGrant, Pace, Reading};

/// How far back [`rebuild`] reads: a day for the window, a day more for grants still alive.
const REBUILD_SECS: i64 = 2 * 86_400;

fn parse(key_id: KeyId, state: &str) -> Pace {
    serde_json::from_str(state).unwrap_or_else(|error| {
        // Only a bug or a hand-edited row gets here: start again rather than fail a run.
        tracing::warn!(key = key_id.get(), %error, "a key's stored pace is unreadable; starting again");
        Pace::default()
    })
}

/// Takes in a reading of `key_id` stored with a run (see [`Pace::record`]). A key deleted
/// meanwhile records nothing.
pub fn record(conn: &Connection, key_id: KeyId, reading: Reading) -> Result<(), DbError> {
    let mut pace = for_key(conn, key_id)?.unwrap_or_default();
    pace.record(reading);
    save(conn, key_id, &pace)
}

/// Writes `pace` as the key's row (unless the key is gone).
pub fn save(conn: &Connection, key_id: KeyId, pace: &Pace) -> Result<(), DbError> {
    let Some(last) = pace.last else {
        return Ok(());
    };
    let state = serde_json::to_string(pace).unwrap_or_else(|_| "{}".to_owned());
    conn.cached_execute(
        "INSERT INTO key_pace (api_key_id, last_read_at, state)
         SELECT ?1, ?2, ?3 WHERE EXISTS (SELECT 1 FROM api_keys WHERE id = ?1)
         ON CONFLICT (api_key_id) DO UPDATE SET
             last_read_at = excluded.last_read_at, state = excluded.state",
        params![key_id, last.at, state],
    )?;
    Ok(())
}

pub fn for_key(conn: &Connection, key_id: KeyId) -> Result<Option<Pace>, DbError> {
    let state: Option<String> = conn
        .cached_row(
            "SELECT state FROM key_pace WHERE api_key_id = ?1",
            [key_id],
            |row| row.get(0),
        )
        .optional()?;
    Ok(state.map(|state| parse(key_id, &state)))
}

/// Applies the ledger's grants to the key's pace (see [`Pace::apply_ledger`]), read and written
/// in one transaction so a run stored meanwhile is not lost.
pub fn apply_ledger(
    conn: &mut Connection,
    key_id: KeyId,
    grants: &[LedgerGrant],
    complete: bool,
) -> Result<(), DbError> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    if let Some(mut pace) = for_key(&tx, key_id)? {
        pace.apply_ledger(grants, complete);
        save(&tx, key_id, &pace)?;
    }
    tx.commit()?;
    Ok(())
}

/// The pace of each of the user's keys that has a stored reading.
pub fn for_user(conn: &Connection, user_id: UserId) -> Result<Vec<(KeyId, Pace)>, DbError> {
    let mut statement = conn.prepare_cached(
        "SELECT p.api_key_id, p.state FROM key_pace p JOIN api_keys k ON k.id = p.api_key_id
         WHERE k.user_id = ?1",
    )?;
    let rows = statement
        .query_map([user_id], |row| {
            Ok((row.get::<_, KeyId>(0)?, row.get::<_, String>(1)?))
        })?
        .map(|row| row.map(|(key, state)| (key, parse(key, &state))))
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// The key's pace from its stored runs of the last two days before its newest reading, in the
/// order they started (older readings cannot matter: the window is a day, a grant lives a day).
pub fn rebuild(conn: &Connection, key_id: KeyId) -> Result<Pace, DbError> {
    let mut statement = conn.prepare_cached(
        "SELECT started_at, balance_available, balance_total FROM queries
         WHERE api_key_id = ?1 AND balance_available IS NOT NULL AND balance_total IS NOT NULL
           AND started_at >= (SELECT MAX(started_at) FROM queries WHERE api_key_id = ?1) - ?2
         ORDER BY started_at, id",
    )?;
    let mut pace = Pace::default();
    for reading in statement.query_map(params![key_id, REBUILD_SECS], |row| {
        Ok(Reading {
            at: row.get(0)?,
            available: row.get(1)?,
            total: row.get(2)?,
        })
    })? {
        pace.record(reading?);
    }
    save(conn, key_id, &pace)?;
    Ok(pace)
}

/// [`rebuild`] for every key (migration 0014 runs it once).
pub fn rebuild_all(conn: &Connection) -> Result<(), DbError> {
    let keys: Vec<KeyId> = conn
        .prepare("SELECT id FROM api_keys")?
        .query_map([], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    for key in keys {
        rebuild(conn, key)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::history::StoredBalance;
    use crate::db::runs::{NewRun, insert_run};

    const KEY: KeyId = KeyId(3);
    const HOUR: i64 = 3600;

    /// The migration that adds key_pace (0014_forecasts).
    const FORECASTS: usize = 14;

    fn database_at(version: usize) -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        super::super::migrations()
            .to_version(&mut conn, version)
            .unwrap();
        conn.execute_batch(
            "INSERT INTO users (id, username, password_hash, created_at) VALUES (7, 'old', 'x', 0);
             INSERT INTO api_keys (id, user_id, label, nonce, ciphertext, master_key_id,
                                   last_four, created_at)
                 VALUES (3, 7, 'main', x'00', x'00', 'm', 'abcd', 0);",
        )
        .unwrap();
        conn
    }

    fn store(conn: &mut Connection, at: i64, available: Option<f64>) {
        insert_run(
            conn,
            &NewRun {
                user_id: UserId(7),
                api_key_id: Some(KEY),
                source: crate::db::history::Source::Web,
                started_at: at,
                balance: Some(StoredBalance {
                    total: available,
                    available,
                    frozen: available.map(|_| 0.0),
                    error: None,
                }),
                ..NewRun::default()
            },
        )
        .unwrap();
    }

    #[test]
    fn storing_runs_keeps_the_pace() {
        let mut conn = database_at(FORECASTS);
        assert_eq!(for_key(&conn, KEY).unwrap(), None);
        for h in 0..=6 {
            store(
                &mut conn,
                1_800_000_000 + h * HOUR,
                Some(100.0 - 10.0 * h as f64),
            );
        }
        // A failed read says nothing.
        store(&mut conn, 1_800_000_000 + 7 * HOUR, None);
        let pace = for_key(&conn, KEY).unwrap().unwrap();
        assert_eq!(pace.spent, 60.0);
        assert_eq!(pace.forecast().burn_per_hour, Some(10.0));
        assert_eq!(for_user(&conn, UserId(7)).unwrap(), [(KEY, pace.clone())]);
        assert!(for_user(&conn, UserId(8)).unwrap().is_empty());
        assert_eq!(rebuild(&conn, KEY).unwrap(), pace);
    }

    /// 0014 learns the pace from the runs stored before it.
    #[test]
    fn the_migration_learns_from_runs_stored_before_it() {
        let mut conn = database_at(FORECASTS - 1);
        conn.execute_batch(
            "INSERT INTO queries (user_id, api_key_id, source, started_at, duration_ms,
                                  model_count, ok_count, failed_count, balance_total,
                                  balance_available)
                 VALUES (7, 3, 'web', 1800003600, 1, 0, 0, 0, 49.0, 49.0),
                        (7, 3, 'web', 1800000000, 1, 0, 0, 0, 50.0, 50.0),
                        (7, 3, 'web', 1800007200, 1, 0, 0, 0, 48.0, 48.0),
                        (7, 3, 'web', 1800010800, 1, 0, 0, 0, 47.0, 47.0),
                        (7, 3, 'web', 1800014400, 1, 0, 0, 0, NULL, NULL);",
        )
        .unwrap();
        super::super::migrate(&mut conn).unwrap();
        let pace = for_key(&conn, KEY).unwrap().unwrap();
        assert_eq!(pace.spent, 3.0);
        assert_eq!(pace.last.map(|r| r.at), Some(1_800_000_000 + 3 * HOUR));
    }

    #[test]
    fn an_unreadable_row_starts_again() {
        let mut conn = database_at(FORECASTS);
        store(&mut conn, 1_800_000_000, Some(10.0));
        conn.execute("UPDATE key_pace SET state = 'not json'", [])
            .unwrap();
        assert_eq!(for_key(&conn, KEY).unwrap(), Some(Pace::default()));
        store(&mut conn, 1_800_000_100, Some(9.0));
        assert!(for_key(&conn, KEY).unwrap().unwrap().last.is_some());
    }
}
