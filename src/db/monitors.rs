//! The `monitors` table: schedules over saved keys and how their last run went (what each key
//! saw is in `monitor_keys.rs`, their alert rules in `alert_rules.rs`). Every read of a user's
//! rows takes the `UserId`, so another user's id is simply not found.

use std::str::FromStr;

use rusqlite::{Connection, OptionalExtension, params};

use super::owned::{self, Owned};
use super::{Cached, DbError};
use crate::closed_set::UnknownValue;
use crate::ids::{KeyId, MonitorId, PresetId, UserId};
use crate::modelscope::ErrorCode;

crate::closed_set! {
    /// What a monitor does on each run: the free points balance only (what a new one does
    /// unless told), or a preset probed (costs points).
    #[derive(Default)]
    pub enum CheckKind { #[default] Balance = "check", Probe }
}

crate::closed_set! {
    /// How a monitor's last run went: ok, failed (every key's run did), or skipped (nothing
    /// ran: the day's cost cap was reached).
    pub enum Outcome { Ok, Failed, Skipped }
}

crate::closed_set! {
    /// Why a run or a key's look came to nothing, besides an upstream error code: today's probe
    /// spending reached the cap, the key cannot be opened, the preset was deleted or emptied,
    /// the database could not be read.
    pub enum MonitorReason {
        DailyCap, KeyNeedsReentry, PresetGone, Unavailable,
    }
}

/// Why a run or a key's look failed: an upstream error code or one of the monitor's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    Upstream(ErrorCode),
    Monitor(MonitorReason),
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Upstream(code) => code.as_str(),
            Self::Monitor(reason) => reason.as_str(),
        }
    }
}

impl FromStr for Reason {
    type Err = UnknownValue;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        ErrorCode::parse(text)
            .map(Self::Upstream)
            .or_else(|| MonitorReason::parse(text).map(Self::Monitor))
            .ok_or_else(|| UnknownValue::new("Reason", text))
    }
}

crate::stored_as_text!(Reason);

/// A `monitors` row.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredMonitor {
    pub id: MonitorId,
    pub user_id: UserId,
    pub kind: CheckKind,
    pub preset_id: Option<PresetId>,
    pub preset_name: Option<String>,
    pub every_minutes: Option<i64>,
    pub at_times: Option<String>,
    pub daily_cost_cap: Option<f64>,
    pub jitter_secs: i64,
    pub paused: bool,
    pub run_requested: bool,
    pub created_at: i64,
    pub next_run_at: i64,
    pub lease_until: Option<i64>,
    pub last_run_at: Option<i64>,
    pub last_outcome: Option<Outcome>,
    pub last_reason: Option<Reason>,
    pub failures: i64,
    pub spent_day: Option<i64>,
    pub spent_points: f64,
}

const COLUMNS: &str = "m.id, m.user_id, m.kind, m.preset_id, p.name, m.every_minutes, m.at_times,
    m.daily_cost_cap, m.jitter_secs, m.paused, m.run_requested, m.created_at, m.next_run_at,
    m.lease_until, m.last_run_at, m.last_outcome, m.last_reason, m.failures, m.spent_day,
    m.spent_points";

const FROM: &str = "monitors m LEFT JOIN presets p ON p.id = m.preset_id";

impl Owned for StoredMonitor {
    type Id = MonitorId;
    const TABLE: &'static str = "monitors";
    const FROM: &'static str = FROM;
    const ALIAS: &'static str = "m";
    const COLUMNS: &'static str = COLUMNS;
    const ORDER: &'static str = "m.id";

    fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        from_row(row)
    }
}

fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoredMonitor> {
    Ok(StoredMonitor {
        id: row.get(0)?,
        user_id: row.get(1)?,
        kind: row.get(2)?,
        preset_id: row.get(3)?,
        preset_name: row.get(4)?,
        every_minutes: row.get(5)?,
        at_times: row.get(6)?,
        daily_cost_cap: row.get(7)?,
        jitter_secs: row.get(8)?,
        paused: row.get(9)?,
        run_requested: row.get(10)?,
        created_at: row.get(11)?,
        next_run_at: row.get(12)?,
        lease_until: row.get(13)?,
        last_run_at: row.get(14)?,
        last_outcome: row.get(15)?,
        last_reason: row.get(16)?,
        failures: row.get(17)?,
        spent_day: row.get(18)?,
        spent_points: row.get(19)?,
    })
}

/// A monitor about to be stored.
#[derive(Debug, Clone)]
pub struct NewMonitorRow<'a> {
    pub user_id: UserId,
    pub kind: CheckKind,
    pub preset_id: Option<PresetId>,
    pub every_minutes: Option<i64>,
    pub at_times: Option<&'a str>,
    pub daily_cost_cap: Option<f64>,
    pub jitter_secs: i64,
    pub created_at: i64,
    pub next_run_at: i64,
    pub keys: &'a [KeyId],
}

/// Why a monitor was not stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertRefused {
    /// One of the keys is not the user's.
    KeyNotFound,
    /// The preset is not the user's.
    PresetNotFound,
}

/// Stores a monitor and its keys in one transaction, checking that every key and the preset
/// belong to the user.
pub fn insert(
    conn: &mut Connection,
    new: &NewMonitorRow<'_>,
) -> Result<Result<MonitorId, InsertRefused>, DbError> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    if let Some(preset) = new.preset_id {
        let owned: bool = tx.cached_row(
            "SELECT EXISTS (SELECT 1 FROM presets WHERE id = ?1 AND user_id = ?2)",
            params![preset, new.user_id],
            |r| r.get(0),
        )?;
        if !owned {
            return Ok(Err(InsertRefused::PresetNotFound));
        }
    }
    tx.cached_execute(
        "INSERT INTO monitors (user_id, kind, preset_id, every_minutes, at_times, daily_cost_cap,
            jitter_secs, created_at, next_run_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            new.user_id,
            new.kind,
            new.preset_id,
            new.every_minutes,
            new.at_times,
            new.daily_cost_cap,
            new.jitter_secs,
            new.created_at,
            new.next_run_at,
        ],
    )?;
    let id = MonitorId(tx.last_insert_rowid());
    for key in new.keys {
        let added = tx.cached_execute(
            "INSERT OR IGNORE INTO monitor_keys (monitor_id, api_key_id)
             SELECT ?1, id FROM api_keys WHERE id = ?2 AND user_id = ?3",
            params![id, key, new.user_id],
        )?;
        if added == 0 {
            let duplicate: bool = tx.cached_row(
                "SELECT EXISTS (SELECT 1 FROM monitor_keys WHERE monitor_id = ?1 AND api_key_id = ?2)",
                params![id, key],
                |r| r.get(0),
            )?;
            if !duplicate {
                return Ok(Err(InsertRefused::KeyNotFound));
            }
        }
    }
    tx.commit()?;
    Ok(Ok(id))
}

pub fn count_for_user(conn: &Connection, user_id: UserId) -> Result<i64, DbError> {
    owned::count::<StoredMonitor>(conn, user_id)
}

/// The user's monitors, oldest first.
pub fn list_for_user(conn: &Connection, user_id: UserId) -> Result<Vec<StoredMonitor>, DbError> {
    owned::list(conn, user_id)
}

/// One of the user's monitors; another user's id is simply not found.
pub fn get_for_user(
    conn: &Connection,
    user_id: UserId,
    id: MonitorId,
) -> Result<Option<StoredMonitor>, DbError> {
    owned::get(conn, user_id, id)
}

/// For the scheduler, which acts for whoever owns the monitor.
pub fn get(conn: &Connection, id: MonitorId) -> Result<Option<StoredMonitor>, DbError> {
    Ok(conn
        .cached_row(
            &format!("SELECT {COLUMNS} FROM {FROM} WHERE m.id = ?1"),
            [id],
            from_row,
        )
        .optional()?)
}

pub fn delete_for_user(conn: &Connection, user_id: UserId, id: MonitorId) -> Result<bool, DbError> {
    owned::delete::<StoredMonitor>(conn, user_id, id)
}

/// Pauses, or resumes with the next run at `next_run_at` and the failure count cleared.
pub fn set_paused(
    conn: &Connection,
    user_id: UserId,
    id: MonitorId,
    paused: bool,
    next_run_at: Option<i64>,
) -> Result<bool, DbError> {
    Ok(conn.cached_execute(
        "UPDATE monitors SET paused = ?3,
            next_run_at = coalesce(?4, next_run_at),
            failures = CASE WHEN ?3 THEN failures ELSE 0 END,
            last_reason = CASE WHEN ?3 THEN last_reason
                               WHEN last_outcome = 'failed' THEN NULL ELSE last_reason END
         WHERE id = ?1 AND user_id = ?2",
        params![id, user_id, paused, next_run_at],
    )? == 1)
}

/// Asks for one run ("run now"), due from `at`: it waits its turn behind runs due before.
pub fn request_run(
    conn: &Connection,
    user_id: UserId,
    id: MonitorId,
    at: i64,
) -> Result<bool, DbError> {
    Ok(conn.cached_execute(
        "UPDATE monitors SET run_requested = 1, run_requested_at = ?3
         WHERE id = ?1 AND user_id = ?2",
        params![id, user_id, at],
    )? == 1)
}

/// A monitor the scheduler took for one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claimed {
    pub id: MonitorId,
    pub user_id: UserId,
    /// The slot it was due at.
    pub slot: i64,
    /// Asked for with "run now" (the schedule stays as it is).
    pub requested: bool,
}

/// Takes up to `limit` monitors that are due at `now` (or asked to run) and not held by a run,
/// holding each until `lease_until`. Fair turns: each user's first before anyone's second, a
/// user at most `per_user` running (on every server together), and within a round the one
/// waiting longest first; a "run now" waits from when it was asked, so it never goes ahead of
/// another user's run that was due before. One statement, so two schedulers never take the
/// same one and together never pass a user's share.
pub fn claim_due(
    conn: &Connection,
    now: i64,
    lease_until: i64,
    limit: usize,
    per_user: i64,
) -> Result<Vec<Claimed>, DbError> {
    let mut rows: Vec<Claimed> = conn.cached_rows(
        "UPDATE monitors SET lease_until = ?2 WHERE id IN (
             WITH running AS (
                 SELECT user_id, count(*) AS n FROM monitors WHERE lease_until > ?1
                 GROUP BY user_id),
             due AS (
                 SELECT id, user_id,
                        CASE WHEN paused = 0 AND next_run_at <= ?1 THEN next_run_at
                             ELSE coalesce(run_requested_at, next_run_at) END AS due_at
                 FROM monitors
                 WHERE (run_requested = 1 OR (paused = 0 AND next_run_at <= ?1))
                   AND (lease_until IS NULL OR lease_until <= ?1)
                   AND user_id NOT IN (SELECT id FROM users WHERE disabled_at IS NOT NULL)),
             turns AS (
                 SELECT id, due_at,
                        row_number() OVER (PARTITION BY user_id ORDER BY due_at, id)
                            + coalesce(running.n, 0) AS turn
                 FROM due LEFT JOIN running USING (user_id))
             SELECT id FROM turns WHERE turn <= ?4 ORDER BY turn, due_at, id LIMIT ?3)
         RETURNING id, user_id, next_run_at, run_requested, paused",
        params![now, lease_until, limit as i64, per_user],
        |r| {
            let requested: bool = r.get(3)?;
            let paused: bool = r.get(4)?;
            let slot: i64 = r.get(2)?;
            Ok(Claimed {
                id: r.get(0)?,
                user_id: r.get(1)?,
                slot,
                // A due monitor asked to run as well just runs its slot.
                requested: requested && (paused || slot > now),
            })
        },
    )?;
    rows.sort_by_key(|c| (c.slot, c.id));
    Ok(rows)
}

/// The earliest time (unix seconds) any monitor wants the scheduler: a due slot, a "run now",
/// or a lease that runs out. A user already running their share (`per_user`) wants nothing
/// more until one of their runs ends (which wakes the scheduler, or its lease runs out).
pub fn next_wanted(conn: &Connection, now: i64, per_user: i64) -> Result<Option<i64>, DbError> {
    Ok(conn.cached_row(
        "WITH running AS (
             SELECT user_id, count(*) AS n FROM monitors WHERE lease_until > ?1
             GROUP BY user_id)
         SELECT min(CASE WHEN lease_until > ?1 THEN lease_until
                         WHEN run_requested = 1 THEN ?1
                         ELSE next_run_at END)
         FROM monitors LEFT JOIN running USING (user_id)
         WHERE (paused = 0 OR run_requested = 1)
           AND (lease_until > ?1 OR coalesce(running.n, 0) < ?2)
           AND user_id NOT IN (SELECT id FROM users WHERE disabled_at IS NOT NULL)",
        params![now, per_user],
        |r| r.get(0),
    )?)
}

/// What a finished run changes on its monitor.
#[derive(Debug, Clone)]
pub struct Finish {
    /// The next slot; `None` keeps the schedule as it is (a "run now").
    pub next_run_at: Option<i64>,
    pub last_run_at: i64,
    pub outcome: Outcome,
    pub reason: Option<Reason>,
    pub failures: i64,
    pub spent_day: Option<i64>,
    pub spent_points: f64,
}

/// Records a finished run and frees the monitor. A monitor deleted meanwhile stays deleted.
pub fn finish(conn: &Connection, id: MonitorId, done: &Finish) -> Result<(), DbError> {
    conn.cached_execute(
        "UPDATE monitors SET lease_until = NULL, run_requested = 0, run_requested_at = NULL,
            next_run_at = coalesce(?2, next_run_at), last_run_at = ?3, last_outcome = ?4,
            last_reason = ?5, failures = ?6, spent_day = ?7, spent_points = ?8
         WHERE id = ?1",
        params![
            id,
            done.next_run_at,
            done.last_run_at,
            done.outcome,
            done.reason,
            done.failures,
            done.spent_day,
            done.spent_points,
        ],
    )?;
    Ok(())
}

/// Frees a monitor without recording a run (the scheduler is stopping).
pub fn release(conn: &Connection, id: MonitorId) -> Result<(), DbError> {
    conn.cached_execute("UPDATE monitors SET lease_until = NULL WHERE id = ?1", [id])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Users 1 (mallory), 2 (alice) and 3 (bob), and a key each.
    fn database() -> Connection {
        crate::db::test_support::database_with(
            "INSERT INTO users (id, username, password_hash, created_at)
                 VALUES (1, 'mallory', 'x', 0), (2, 'alice', 'x', 0), (3, 'bob', 'x', 0);",
        )
    }

    /// A 5-minute free check of `user` due at `next`; answers its id.
    fn monitor(conn: &Connection, user: i64, next: i64) -> MonitorId {
        conn.execute(
            "INSERT INTO monitors (user_id, kind, every_minutes, jitter_secs, created_at,
                 next_run_at) VALUES (?1, 'check', 5, 0, 0, ?2)",
            params![user, next],
        )
        .unwrap();
        MonitorId(conn.last_insert_rowid())
    }

    fn claimed(conn: &Connection, now: i64, limit: usize, per_user: i64) -> Vec<MonitorId> {
        let mut ids: Vec<MonitorId> = claim_due(conn, now, now + 120, limit, per_user)
            .unwrap()
            .into_iter()
            .map(|c| c.id)
            .collect();
        ids.sort();
        ids
    }

    /// Issue 19, item 1: due work is claimed in turns by user (each user's first before
    /// anyone's second), a user never holds more than their share however many are due, and
    /// a user at their share wants nothing more until a run ends.
    #[test]
    fn due_monitors_are_claimed_in_turns_by_user_up_to_a_share() {
        let conn = database();
        let flood: Vec<MonitorId> = (0..6).map(|i| monitor(&conn, 1, 100 + i)).collect();
        let hers = monitor(&conn, 2, 110);
        assert_eq!(claimed(&conn, 200, 2, 2), vec![flood[0], hers]);
        assert_eq!(claimed(&conn, 200, 8, 2), vec![flood[1]]);
        assert_eq!(claimed(&conn, 200, 8, 2), vec![], "mallory holds her share");
        assert_eq!(
            next_wanted(&conn, 200, 2).unwrap(),
            Some(320),
            "a lease ends"
        );
        finish(
            &conn,
            flood[0],
            &Finish {
                next_run_at: Some(400),
                last_run_at: 200,
                outcome: Outcome::Ok,
                reason: None,
                failures: 0,
                spent_day: None,
                spent_points: 0.0,
            },
        )
        .unwrap();
        assert_eq!(
            next_wanted(&conn, 200, 2).unwrap(),
            Some(102),
            "her next is due"
        );
        assert_eq!(claimed(&conn, 200, 8, 2), vec![flood[2]]);
    }

    /// Issue 19, item 1: a "run now" waits from when it was asked: it goes after another
    /// user's run that was due before, never ahead of it.
    #[test]
    fn a_run_now_never_goes_ahead_of_a_run_due_before_it() {
        let conn = database();
        let asked = monitor(&conn, 1, 1_000);
        let due = monitor(&conn, 2, 100);
        assert!(request_run(&conn, UserId(1), asked, 150).unwrap());
        assert_eq!(claimed(&conn, 200, 1, 2), vec![due]);
        assert_eq!(claimed(&conn, 200, 1, 2), vec![asked]);
        let later = monitor(&conn, 3, 180);
        let again = monitor(&conn, 1, 1_000);
        assert!(request_run(&conn, UserId(1), again, 170).unwrap());
        assert_eq!(
            claimed(&conn, 200, 1, 2),
            vec![later],
            "bob's first before a second of mallory's"
        );
    }
}
