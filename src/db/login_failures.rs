//! Failed password checks (sign-ins and the re-checks of `/account`), and sign-up attempts,
//! counted for throttling.
//!
//! A check is *reserved* before the password is verified: [`reserve`] counts and records the
//! attempt in one IMMEDIATE transaction, so concurrent guesses cannot all pass the count before
//! any is recorded. A correct password then [`release`]s its reservation.

use rusqlite::{Connection, TransactionBehavior, params};

use super::Cached;
use super::DbError;
use crate::clock::now;

/// Failures are counted over this window.
pub const WINDOW_SECS: i64 = 15 * 60;
/// Failures for one account from one address before that pair waits.
pub const MAX_PER_ACCOUNT_AND_ADDRESS: i64 = 5;
/// Failures from one address, whatever the accounts, before that address waits.
pub const MAX_PER_ADDRESS: i64 = 10;
/// Sign-ups are counted over this window.
pub const SIGNUP_WINDOW_SECS: i64 = 3600;

/// A recorded attempt, to release when the password was right.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reservation(i64);

/// Seconds until the window frees a slot, when `count` of the last `max` attempts since
/// `since` fill it; `None` when there is room.
fn wait_for(
    conn: &Connection,
    sql_filter: &str,
    args: &[&dyn rusqlite::ToSql],
    max: i64,
    window: i64,
    table: &str,
) -> Result<Option<i64>, DbError> {
    let now = now();
    let since = now - window;
    // The oldest of the last `max` attempts decides when the window frees a slot.
    let sql = format!(
        "SELECT count(*), min(at) FROM (SELECT at FROM {table}
         WHERE {sql_filter} AND at > ?1 ORDER BY at DESC LIMIT ?2)"
    );
    let mut all: Vec<&dyn rusqlite::ToSql> = vec![&since, &max];
    all.extend_from_slice(args);
    let (count, oldest): (i64, Option<i64>) =
        conn.cached_row(&sql, all.as_slice(), |row| Ok((row.get(0)?, row.get(1)?)))?;
    Ok((count >= max).then(|| (oldest.unwrap_or(now) + window - now).max(1)))
}

/// Seconds until `username` may be tried again from `client_addr`, or `None` when it may now.
pub fn blocked_for(
    conn: &Connection,
    username: &str,
    client_addr: &str,
) -> Result<Option<i64>, DbError> {
    let pair = wait_for(
        conn,
        "username = ?3 AND client_addr = ?4",
        &[&username, &client_addr],
        MAX_PER_ACCOUNT_AND_ADDRESS,
        WINDOW_SECS,
        "login_failures",
    )?;
    let address = wait_for(
        conn,
        "client_addr = ?3",
        &[&client_addr],
        MAX_PER_ADDRESS,
        WINDOW_SECS,
        "login_failures",
    )?;
    Ok(pair.max(address))
}

/// Checks the throttle and, when there is room, records the attempt as a failure, both in one
/// IMMEDIATE transaction. `Err(seconds)` when throttled.
pub fn reserve(
    conn: &mut Connection,
    username: &str,
    client_addr: &str,
) -> Result<Result<Reservation, i64>, DbError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if let Some(wait) = blocked_for(&tx, username, client_addr)? {
        return Ok(Err(wait));
    }
    tx.cached_execute(
        "INSERT INTO login_failures (username, client_addr, at) VALUES (?1, ?2, ?3)",
        params![username, client_addr, now()],
    )?;
    let reservation = Reservation(tx.last_insert_rowid());
    tx.commit()?;
    Ok(Ok(reservation))
}

/// The password was right: the reservation is no failure, and the pair's count starts over.
pub fn release(
    conn: &Connection,
    reservation: Reservation,
    username: &str,
    client_addr: &str,
) -> Result<(), DbError> {
    conn.cached_execute(
        "DELETE FROM login_failures WHERE id = ?1 OR (username = ?2 AND client_addr = ?3)",
        params![reservation.0, username, client_addr],
    )?;
    Ok(())
}

/// The check could not run (the hashing queue was full): the reservation is dropped.
pub fn cancel(conn: &Connection, reservation: Reservation) -> Result<(), DbError> {
    conn.cached_execute("DELETE FROM login_failures WHERE id = ?1", [reservation.0])?;
    Ok(())
}

/// Records a failure without a reservation (tests and tools).
pub fn record(conn: &Connection, username: &str, client_addr: &str) -> Result<(), DbError> {
    conn.cached_execute(
        "INSERT INTO login_failures (username, client_addr, at) VALUES (?1, ?2, ?3)",
        params![username, client_addr, now()],
    )?;
    Ok(())
}

/// Every failure recorded for `username`, its passwords' and its codes' (`<name>#2fa`): an
/// account being deleted leaves no trace here.
pub fn delete_for_user(conn: &Connection, username: &str) -> Result<usize, DbError> {
    Ok(conn.cached_execute(
        "DELETE FROM login_failures WHERE username = ?1 OR username = ?1 || '#2fa'",
        [username],
    )?)
}

/// Reserves one of `per_hour` sign-ups for `client_addr` in one IMMEDIATE transaction;
/// `Err(seconds)` when the address has used them all. `per_hour = 0` means no limit.
pub fn reserve_signup(
    conn: &mut Connection,
    client_addr: &str,
    per_hour: u32,
) -> Result<Result<(), i64>, DbError> {
    if per_hour == 0 {
        return Ok(Ok(()));
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if let Some(wait) = wait_for(
        &tx,
        "client_addr = ?3",
        &[&client_addr],
        i64::from(per_hour),
        SIGNUP_WINDOW_SECS,
        "signup_attempts",
    )? {
        return Ok(Err(wait));
    }
    tx.cached_execute(
        "INSERT INTO signup_attempts (client_addr, at) VALUES (?1, ?2)",
        params![client_addr, now()],
    )?;
    tx.commit()?;
    Ok(Ok(()))
}

/// Housekeeping: failures and sign-ups older than their windows.
pub fn delete_old(conn: &Connection) -> Result<usize, DbError> {
    let now = now();
    Ok(conn.cached_execute(
        "DELETE FROM login_failures WHERE at <= ?1",
        [now - WINDOW_SECS],
    )? + conn.cached_execute(
        "DELETE FROM signup_attempts WHERE at <= ?1",
        [now - SIGNUP_WINDOW_SECS],
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Db;

    #[test]
    fn reservations_count_per_pair_and_per_address() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("t.db")).unwrap();
        let mut conn = db.connection().unwrap();
        for _ in 0..MAX_PER_ACCOUNT_AND_ADDRESS {
            assert!(reserve(&mut conn, "alice", "1.1.1.1").unwrap().is_ok());
        }
        let wait = reserve(&mut conn, "alice", "1.1.1.1").unwrap().unwrap_err();
        assert!((1..=WINDOW_SECS).contains(&wait), "{wait}");
        // The same account from another address, and another account from this one, go on.
        assert!(reserve(&mut conn, "alice", "2.2.2.2").unwrap().is_ok());
        assert!(reserve(&mut conn, "bob", "1.1.1.1").unwrap().is_ok());
        for n in 0..4 {
            assert!(
                reserve(&mut conn, &format!("u{n}"), "1.1.1.1")
                    .unwrap()
                    .is_ok()
            );
        }
        // Ten from 1.1.1.1 now: the address waits, whatever the name.
        assert!(reserve(&mut conn, "carol", "1.1.1.1").unwrap().is_err());
        assert!(reserve(&mut conn, "carol", "3.3.3.3").unwrap().is_ok());
    }

    #[test]
    fn a_released_reservation_is_no_failure() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("t.db")).unwrap();
        let mut conn = db.connection().unwrap();
        for _ in 0..MAX_PER_ACCOUNT_AND_ADDRESS - 1 {
            reserve(&mut conn, "alice", "1.1.1.1").unwrap().unwrap();
        }
        let ok = reserve(&mut conn, "alice", "1.1.1.1").unwrap().unwrap();
        release(&conn, ok, "alice", "1.1.1.1").unwrap();
        assert_eq!(blocked_for(&conn, "alice", "1.1.1.1").unwrap(), None);
        let left: i64 = conn
            .cached_row("SELECT count(*) FROM login_failures", [], |r| r.get(0))
            .unwrap();
        assert_eq!(left, 0);
    }

    #[test]
    fn signups_are_limited_per_address() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("t.db")).unwrap();
        let mut conn = db.connection().unwrap();
        for _ in 0..3 {
            assert!(reserve_signup(&mut conn, "1.1.1.1", 3).unwrap().is_ok());
        }
        let wait = reserve_signup(&mut conn, "1.1.1.1", 3)
            .unwrap()
            .unwrap_err();
        assert!((1..=SIGNUP_WINDOW_SECS).contains(&wait));
        assert!(reserve_signup(&mut conn, "2.2.2.2", 3).unwrap().is_ok());
        assert!(reserve_signup(&mut conn, "1.1.1.1", 0).unwrap().is_ok());
    }
}
