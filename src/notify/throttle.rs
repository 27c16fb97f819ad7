//! Test messages are the one thing a user sends at will, so each is throttled: per user (a
//! few a minute, more an hour), it counts toward its channel's hourly cap like any other
//! message, and it takes its turn like one (one attempt per channel, the user's share). The
//! check, the logging and taking the turn are one IMMEDIATE transaction, so a hundred requests
//! at once cannot slip through together; a refusal says which limit and when to come back.

use rusqlite::{Connection, TransactionBehavior};

use super::channels::{TestLimit, TestRefused};
use super::deliveries::{self, LEASE_SECS, LogRules, Queued, SENDS_PER_USER};
use crate::clock::wait_for_room;
use crate::db::DbError;
use crate::db::deliveries as rows;
use crate::db::deliveries::StoredDelivery;

/// How many tests one user may send (from the configuration).
#[derive(Debug, Clone, Copy)]
pub struct TestLimits {
    /// `channel_tests_per_minute`.
    pub per_minute: u32,
    /// `channel_tests_per_hour`.
    pub per_hour: u32,
    /// How long one attempt may take (`notify_timeout_secs`): the wait while one is going.
    pub attempt_secs: i64,
}

/// The limit a test of `queued` would go over now, with the longest wait among those met.
fn over(
    conn: &Connection,
    queued: &Queued<'_>,
    log: &LogRules,
    limits: &TestLimits,
    now: i64,
) -> Result<Option<TestRefused>, DbError> {
    let user = queued.user_id;
    let minute = rows::test_times(conn, user, now - 59, i64::from(limits.per_minute))?;
    let hour = rows::test_times(conn, user, now - 3599, i64::from(limits.per_hour))?;
    let channel = rows::sent_times(conn, queued.channel_id, now - 3599, log.hourly_cap.into())?;
    let met = [
        (
            TestLimit::PerMinute {
                max: limits.per_minute,
            },
            wait_for_room(&minute, limits.per_minute, 60, now),
        ),
        (
            TestLimit::PerHour {
                max: limits.per_hour,
            },
            wait_for_room(&hour, limits.per_hour, 3600, now),
        ),
        (
            TestLimit::ChannelHour {
                max: log.hourly_cap,
            },
            wait_for_room(&channel, log.hourly_cap, 3600, now),
        ),
    ];
    Ok(met
        .into_iter()
        .filter_map(|(limit, wait)| wait.map(|secs| (limit, secs)))
        .max_by_key(|(_, secs)| *secs)
        .map(|(limit, retry_after_secs)| TestRefused {
            limit,
            retry_after_secs,
        }))
}

/// Logs a test message and takes it for its attempt now, unless a limit refuses it or a turn
/// it needs is taken; one IMMEDIATE transaction.
pub fn queue_test(
    conn: &mut Connection,
    queued: &Queued<'_>,
    log: &LogRules,
    limits: &TestLimits,
    now: i64,
) -> Result<Result<StoredDelivery, TestRefused>, DbError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let busy = |limit| {
        Ok(Err(TestRefused {
            limit,
            retry_after_secs: limits.attempt_secs,
        }))
    };
    let (user_busy, channel_busy) = rows::in_flight(&tx, queued.user_id, queued.channel_id, now)?;
    if channel_busy {
        return busy(TestLimit::ChannelBusy);
    }
    if user_busy >= SENDS_PER_USER {
        return busy(TestLimit::UserBusy);
    }
    if let Some(refused) = over(&tx, queued, log, limits, now)? {
        return Ok(Err(refused));
    }
    let (id, _) = deliveries::queue(&tx, queued, log, now)?;
    let Some(claimed) = rows::claim_one(&tx, id, now + LEASE_SECS)? else {
        return Err(DbError::Sqlite(rusqlite::Error::QueryReturnedNoRows));
    };
    tx.commit()?;
    Ok(Ok(claimed))
}
