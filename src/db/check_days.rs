//! Scheduled free checks filed by key and Beijing day (migration 0017): a five-minute monitor
//! stores 288 checks a key a day, and `/history` shows each day as one row with its count and
//! its lowest and highest available points. Filing happens as a check is stored
//! ([`file_check`], from `runs::insert_run`); a deleted check leaves its day through the
//! migration's trigger.
//!
//! Which run stands for a day is kept in `queries.head`: 2 for the newest check of the day (and
//! for every run that is not a filed check), 1 for the newest check with the other outcome (it
//! stands for the day under a status filter), 0 for the rest, which the folded list skips.

use rusqlite::{Connection, OptionalExtension, params};

use super::{Cached, DbError};
use crate::ids::RunId;

/// `queries.head` of a run listed in the folded list.
pub const LISTED: i64 = 2;
/// `queries.head` of the newest check of a day with the outcome the day's newest did not have.
pub const OUTCOME_HEAD: i64 = 1;
/// `queries.head` of a check folded into its day's row.
pub const FOLDED: i64 = 0;

/// A key's scheduled free checks of one Beijing day, as the folded list shows them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CheckDay {
    /// 00:00 of the day in Beijing, unix seconds.
    pub day: i64,
    pub runs: i64,
    pub failed_runs: i64,
    /// The lowest and highest available points read that day.
    pub low: Option<f64>,
    pub high: Option<f64>,
}

/// Files the stored run `run` (a scheduled free check of a saved key) under its key's day and
/// makes the newest checks of that day stand for it. Reads the run's own stored values, so the
/// day counts what was stored; a key deleted meanwhile (the run has none) files nothing.
pub fn file_check(conn: &Connection, run: RunId, day: i64) -> Result<(), DbError> {
    let filed: Option<i64> = conn
        .cached_row(
            "INSERT INTO check_days (user_id, api_key_id, day, runs, failed_runs, low, high)
             SELECT user_id, api_key_id, ?2, 1, any_failed, balance_available, balance_available
             FROM queries WHERE id = ?1 AND api_key_id IS NOT NULL
             ON CONFLICT (api_key_id, day) DO UPDATE SET
                 runs = runs + 1,
                 failed_runs = failed_runs + excluded.failed_runs,
                 low = coalesce(min(low, excluded.low), low, excluded.low),
                 high = coalesce(max(high, excluded.high), high, excluded.high)
             RETURNING id",
            params![run, day],
            |row| row.get(0),
        )
        .optional()?;
    let Some(check_day) = filed else {
        return Ok(());
    };
    conn.cached_execute(
        "UPDATE queries SET check_day_id = ?2, head = ?3 WHERE id = ?1",
        params![run, check_day, FOLDED],
    )?;
    choose_heads(conn, check_day)
}

/// Sets `head` on the checks of a day that stand for it: the newest check (2) and the newest
/// with the other outcome (1); the checks that stood for it before and no longer do go back to 0.
/// Reads the two newest checks of each outcome: the heads, and the ones just before them (a head
/// the new check replaced).
fn choose_heads(conn: &Connection, check_day: i64) -> Result<(), DbError> {
    // (id, started_at, head) of the newest two checks with each outcome, newest first.
    let mut newest: Vec<Vec<(RunId, i64, i64)>> = Vec::with_capacity(2);
    for failed in [false, true] {
        newest.push(conn.cached_rows(
            "SELECT id, started_at, head FROM queries INDEXED BY queries_by_check_day
             WHERE check_day_id = ?1 AND any_failed = ?2
             ORDER BY started_at DESC, id DESC LIMIT 2",
            params![check_day, failed],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )?);
    }
    let heads: Vec<(RunId, i64)> = newest
        .iter()
        .filter_map(|checks| checks.first().map(|&(id, at, _)| (id, at)))
        .collect();
    let day_head = heads.iter().max_by_key(|&&(id, at)| (at, id)).map(|h| h.0);
    for &(id, _, head) in newest.iter().flatten() {
        let wanted = if Some(id) == day_head {
            LISTED
        } else if heads.iter().any(|h| h.0 == id) {
            OUTCOME_HEAD
        } else {
            FOLDED
        };
        if head != wanted {
            conn.cached_execute(
                "UPDATE queries SET head = ?2 WHERE id = ?1",
                params![id, wanted],
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::history::{RunKind, Source, StoredBalance};
    use crate::db::runs::{NewRun, delete_before, delete_run, insert_run};
    use crate::db::{Db, users};
    use crate::ids::{KeyId, UserId};
    use crate::modelscope::{ErrorCode, Site};

    /// 2026-03-02 00:00 in Beijing.
    const DAY: i64 = 1_772_380_800;

    /// A filed day as read back: (day, runs, failed_runs, low, high).
    type Day = (i64, i64, i64, Option<f64>, Option<f64>);

    struct Fixture {
        _dir: tempfile::TempDir,
        conn: r2d2::PooledConnection<r2d2_sqlite::SqliteConnectionManager>,
        user: UserId,
        key: KeyId,
    }

    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("app.db")).unwrap();
        let mut conn = db.connection().unwrap();
        let user = users::create(&conn, "alice", "x").unwrap().unwrap();
        let key =
            crate::db::api_keys::insert_sealed(&mut conn, user, "main", Site::Cn, "beef", |_| {
                Ok::<_, std::convert::Infallible>(crate::crypto::Sealed {
                    nonce: vec![1; 12],
                    ciphertext: vec![2; 40],
                    master_key_id: "t".to_owned(),
                })
            })
            .unwrap()
            .unwrap()
            .unwrap();
        Fixture {
            _dir: dir,
            conn,
            user,
            key,
        }
    }

    impl Fixture {
        /// A scheduled check at `at` that read `available` (or failed to read the balance).
        fn check(&mut self, at: i64, available: Option<f64>) -> RunId {
            let balance = match available {
                Some(points) => StoredBalance {
                    total: Some(points),
                    available: Some(points),
                    frozen: Some(0.0),
                    error: None,
                },
                None => StoredBalance {
                    error: Some(ErrorCode::InvalidKey),
                    ..StoredBalance::default()
                },
            };
            insert_run(
                &mut self.conn,
                &NewRun {
                    user_id: self.user,
                    api_key_id: Some(self.key),
                    key_label: Some("main"),
                    source: Source::Schedule,
                    kind: RunKind::Check,
                    started_at: at,
                    balance: Some(balance),
                    ..NewRun::default()
                },
            )
            .unwrap()
        }

        fn days(&self) -> Vec<Day> {
            filed_days(&self.conn)
        }

        fn head(&self, run: RunId) -> i64 {
            self.conn
                .query_row("SELECT head FROM queries WHERE id = ?1", [run], |r| {
                    r.get(0)
                })
                .unwrap()
        }

        fn heads(&self, runs: &[RunId]) -> Vec<i64> {
            runs.iter().map(|run| self.head(*run)).collect()
        }
    }

    /// (day, runs, failed_runs, low, high) of every filed day, oldest first.
    fn filed_days(conn: &Connection) -> Vec<Day> {
        conn.prepare("SELECT day, runs, failed_runs, low, high FROM check_days ORDER BY day")
            .unwrap()
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    #[test]
    fn a_days_checks_are_counted_and_the_newest_stands_for_it() {
        let mut f = fixture();
        let a = f.check(DAY + 300, Some(250.0));
        let b = f.check(DAY + 600, Some(248.5));
        // Stored late, but started earlier than the newest: counted, and folded.
        let early = f.check(DAY + 100, Some(251.0));
        let failed = f.check(DAY + 900, None);
        let c = f.check(DAY + 1200, Some(247.0));
        // The next Beijing day is another row.
        let next = f.check(DAY + 86_400, Some(260.0));
        assert_eq!(
            f.days(),
            [
                (DAY, 5, 1, Some(247.0), Some(251.0)),
                (DAY + 86_400, 1, 0, Some(260.0), Some(260.0))
            ]
        );
        // c stands for the day; the failed one for its outcome; the rest are folded.
        assert_eq!(f.heads(&[a, b, early, failed, c, next]), [0, 0, 0, 1, 2, 2]);

        // A probe of the same key is never filed.
        let probe = insert_run(
            &mut f.conn,
            &NewRun {
                user_id: f.user,
                api_key_id: Some(f.key),
                source: Source::Schedule,
                kind: RunKind::Probe,
                started_at: DAY + 1300,
                ..NewRun::default()
            },
        )
        .unwrap();
        assert_eq!(f.head(probe), LISTED);
        assert_eq!(f.days()[0].1, 5);
    }

    #[test]
    fn a_deleted_check_leaves_its_day_and_the_next_newest_takes_its_place() {
        let mut f = fixture();
        let a = f.check(DAY + 300, Some(250.0));
        let b = f.check(DAY + 600, Some(240.0));
        let failed = f.check(DAY + 700, None);
        let c = f.check(DAY + 900, Some(245.0));
        assert_eq!(f.heads(&[a, b, failed, c]), [0, 0, 1, 2]);

        // The day's head goes: b takes its place; the counts go down.
        assert!(delete_run(&f.conn, f.user, c).unwrap());
        assert_eq!(f.heads(&[a, b, failed]), [0, 1, 2]);
        assert_eq!(f.days(), [(DAY, 3, 1, Some(240.0), Some(250.0))]);
        // The lowest reading goes: the low is read again.
        assert!(delete_run(&f.conn, f.user, b).unwrap());
        assert_eq!(f.heads(&[a, failed]), [1, 2]);
        assert_eq!(f.days(), [(DAY, 2, 1, Some(250.0), Some(250.0))]);
        // The failed one goes: a stands for the day alone.
        assert!(delete_run(&f.conn, f.user, failed).unwrap());
        assert_eq!(f.heads(&[a]), [2]);
        assert_eq!(f.days(), [(DAY, 1, 0, Some(250.0), Some(250.0))]);
        // Retention takes the last: the day goes with it.
        f.check(DAY + 86_400, Some(1.0));
        assert_eq!(delete_before(&f.conn, DAY + 86_400).unwrap(), 1);
        assert_eq!(f.days(), [(DAY + 86_400, 1, 0, Some(1.0), Some(1.0))]);
    }

    #[test]
    fn deleting_the_account_removes_its_days() {
        let mut f = fixture();
        for i in 0..5 {
            f.check(DAY + i * 300, Some(100.0 - i as f64));
        }
        users::delete(&f.conn, f.user).unwrap();
        assert!(f.days().is_empty());
        let left: i64 = f
            .conn
            .query_row("SELECT count(*) FROM queries", [], |r| r.get(0))
            .unwrap();
        assert_eq!(left, 0);
    }

    /// 0017 files the checks stored before it as storing them now would.
    #[test]
    fn the_migration_files_checks_stored_before_it() {
        let mut conn = Connection::open_in_memory().unwrap();
        // 0013_session_addresses: the ledger's migration (and 0014-0016 before it) still to run.
        crate::db::migrations().to_version(&mut conn, 13).unwrap();
        conn.execute_batch(&format!(
            "INSERT INTO users (id, username, password_hash, created_at) VALUES (7, 'old', 'x', 0);
             INSERT INTO api_keys (id, user_id, label, nonce, ciphertext, master_key_id, last_four,
                                   created_at) VALUES (3, 7, 'k', x'00', x'00', 'm', 'beef', 0);
             INSERT INTO queries (id, user_id, api_key_id, source, kind, started_at, duration_ms,
                                  model_count, ok_count, failed_count, balance_available,
                                  balance_error)
                 VALUES (1, 7, 3, 'schedule', 'check', {a}, 1, 0, 0, 0, 250.0, NULL),
                        (2, 7, 3, 'schedule', 'check', {b}, 1, 0, 0, 0, NULL, 'timeout'),
                        (3, 7, 3, 'schedule', 'check', {c}, 1, 0, 0, 0, 240.0, NULL),
                        (4, 7, 3, 'web', 'probe', {c}, 1, 1, 1, 0, 239.0, NULL),
                        (5, 7, 3, 'schedule', 'check', {d}, 1, 0, 0, 0, 230.0, NULL),
                        (6, 7, NULL, 'schedule', 'check', {c}, 1, 0, 0, 0, 1.0, NULL);",
            // The last second of the day before, then three checks of DAY, then the next day.
            a = DAY + 10,
            b = DAY + 20,
            c = DAY + 30,
            d = DAY - 1,
        ))
        .unwrap();
        crate::db::migrate(&mut conn).unwrap();
        let days = filed_days(&conn);
        let previous = crate::clock::last_midnight(DAY - 1);
        assert_eq!(crate::clock::last_midnight(DAY + 30), DAY);
        assert_eq!(
            days,
            [
                (previous, 1, 0, Some(230.0), Some(230.0)),
                (DAY, 3, 1, Some(240.0), Some(250.0))
            ]
        );
        let heads: Vec<i64> = conn
            .prepare("SELECT head FROM queries ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        // 3 stands for the day, 2 for its failure; the probe and the keyless check are listed.
        assert_eq!(heads, [0, 1, 2, 2, 2, 2]);
    }
}
