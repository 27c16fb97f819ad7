//! Whether each key's stored balance rose lately: one row per key, kept up to date as runs are
//! stored, so the daily-grant hint reads one row instead of a day of readings.

use rusqlite::{Connection, OptionalExtension, params};

use super::{Cached, DbError};
use crate::ids::{KeyId, UserId};

/// What the stored balances of a key say about rises: when the newest reading was taken and
/// when a reading was last higher than the one before it (unix seconds, run start times).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BalanceRise {
    pub last_read_at: i64,
    pub rose_at: Option<i64>,
}

/// Records a reading of `key_id`'s total stored with a run that started at `at`. Readings count
/// in the order they are stored, which is the order their balances were read (the balance is
/// read when a run ends). A key deleted meanwhile records nothing.
pub fn record(conn: &Connection, key_id: KeyId, total: f64, at: i64) -> Result<(), DbError> {
    conn.cached_execute(
        "INSERT INTO balance_rises (api_key_id, last_total, last_read_at, rose_at)
         SELECT ?1, ?2, ?3, NULL WHERE EXISTS (SELECT 1 FROM api_keys WHERE id = ?1)
         ON CONFLICT (api_key_id) DO UPDATE SET
             rose_at = CASE WHEN excluded.last_total > balance_rises.last_total + 1e-9
                            THEN excluded.last_read_at ELSE balance_rises.rose_at END,
             last_total = excluded.last_total,
             last_read_at = MAX(balance_rises.last_read_at, excluded.last_read_at)",
        params![key_id, total, at],
    )?;
    Ok(())
}

fn rise_from_row(row: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<BalanceRise> {
    Ok(BalanceRise {
        last_read_at: row.get(at)?,
        rose_at: row.get(at + 1)?,
    })
}

/// The record of each of the user's keys that has a stored reading.
pub fn for_user(conn: &Connection, user_id: UserId) -> Result<Vec<(KeyId, BalanceRise)>, DbError> {
    Ok(conn.cached_rows(
        "SELECT r.api_key_id, r.last_read_at, r.rose_at
         FROM balance_rises r JOIN api_keys k ON k.id = r.api_key_id
         WHERE k.user_id = ?1",
        [user_id],
        |row| Ok((row.get(0)?, rise_from_row(row, 1)?)),
    )?)
}

/// The record of one key, if it has a stored reading.
pub fn for_key(conn: &Connection, key_id: KeyId) -> Result<Option<BalanceRise>, DbError> {
    Ok(conn
        .cached_row(
            "SELECT last_read_at, rose_at FROM balance_rises WHERE api_key_id = ?1",
            [key_id],
            |row| rise_from_row(row, 0),
        )
        .optional()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::history::StoredBalance;
    use crate::db::runs::{NewRun, insert_run};

    const KEY: KeyId = KeyId(3);

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

    fn store(conn: &mut Connection, at: i64, total: Option<f64>) {
        insert_run(
            conn,
            &NewRun {
                user_id: UserId(7),
                api_key_id: Some(KEY),
                source: crate::db::history::Source::Web,
                started_at: at,
                balance: Some(StoredBalance {
                    total,
                    available: total,
                    frozen: total.map(|_| 0.0),
                    error: None,
                }),
                ..NewRun::default()
            },
        )
        .unwrap();
    }

    #[test]
    fn a_stored_reading_higher_than_the_one_before_is_a_rise() {
        let mut conn = database_at(7);
        // Stored the way the app stores runs today: every migration applied.
        super::super::migrations().to_latest(&mut conn).unwrap();
        assert_eq!(for_key(&conn, KEY).unwrap(), None);
        store(&mut conn, 100, Some(50.0));
        store(&mut conn, 200, Some(49.0));
        // A run whose balance could not be read says nothing.
        store(&mut conn, 250, None);
        let fell = BalanceRise {
            last_read_at: 200,
            rose_at: None,
        };
        assert_eq!(for_key(&conn, KEY).unwrap(), Some(fell));
        store(&mut conn, 300, Some(249.0));
        store(&mut conn, 400, Some(248.5));
        let rose = BalanceRise {
            last_read_at: 400,
            rose_at: Some(300),
        };
        assert_eq!(for_key(&conn, KEY).unwrap(), Some(rose));
        assert_eq!(for_user(&conn, UserId(7)).unwrap(), [(KEY, rose)]);
        assert!(for_user(&conn, UserId(8)).unwrap().is_empty());
    }

    /// 0007 reads the runs stored before it in the order they started.
    #[test]
    fn the_migration_learns_from_runs_stored_before_it() {
        let mut conn = database_at(6);
        conn.execute_batch(
            "INSERT INTO queries (user_id, api_key_id, source, started_at, duration_ms,
                                  model_count, ok_count, failed_count, balance_total)
                 VALUES (7, 3, 'web', 100, 1, 0, 0, 0, 50.0),
                        (7, 3, 'web', 300, 1, 0, 0, 0, 250.0),
                        (7, 3, 'web', 200, 1, 0, 0, 0, 40.0),
                        (7, 3, 'web', 400, 1, 0, 0, 0, 240.0),
                        (7, 3, 'web', 500, 1, 0, 0, 0, NULL);",
        )
        .unwrap();
        super::super::migrate(&mut conn).unwrap();
        assert_eq!(
            for_key(&conn, KEY).unwrap(),
            Some(BalanceRise {
                last_read_at: 400,
                rose_at: Some(300),
            })
        );
        let total: f64 = conn
            .query_row("SELECT last_total FROM balance_rises", [], |r| r.get(0))
            .unwrap();
        assert_eq!(total, 240.0);
    }
}
