//! Test messages are the one thing a user sends at will, so each is throttled: per user (a
//! few a minute, more an hour), it counts toward its channel's hourly cap like any other
//! message, and it takes its turn like one (one attempt per channel, the user's share). The
//! check, the logging and taking the turn are one IMMEDIATE transaction, so a hundred requests
//! at once cannot slip through together; a refusal says which limit and when to come back.

use rusqlite::{Connection, TransactionBehavior};

use super::channels::{TestLimit, TestRefused};
use super::deliveries::{self, LEASE_SECS, Letter, Policy, SENDS_PER_USER};
use crate::clock::{longest_wait, wait_for_room};
use crate::db::DbError;
use crate::db::channels::StoredChannel;
use crate::db::deliveries as rows;
use crate::db::deliveries::StoredDelivery;
use crate::i18n::Lang;

/// The limit a test to `channel` would go over now, with the longest wait among those met.
fn over(
    conn: &Connection,
    channel: &StoredChannel,
    policy: &Policy,
    now: i64,
) -> Result<Option<TestRefused>, DbError> {
    let (user, limits, cap) = (channel.user_id, &policy.tests, policy.hourly_cap);
    let minute = rows::test_times(conn, user, now - 59, i64::from(limits.per_minute))?;
    let hour = rows::test_times(conn, user, now - 3599, i64::from(limits.per_hour))?;
    let sent = rows::sent_times(conn, channel.id, now - 3599, cap.into())?;
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
            TestLimit::ChannelHour { max: cap },
            wait_for_room(&sent, cap, 3600, now),
        ),
    ];
    Ok(
        longest_wait(met).map(|(limit, retry_after_secs)| TestRefused {
            limit,
            retry_after_secs,
        }),
    )
}

/// Logs a test message to `channel` (worded by `words` in its language) and takes it for its
/// attempt now, unless a limit refuses it or a turn it needs is taken; one IMMEDIATE
/// transaction.
pub fn queue_test(
    conn: &mut Connection,
    policy: &Policy,
    channel: &StoredChannel,
    letter: &Letter<'_>,
    words: impl FnOnce(Lang) -> String,
    now: i64,
) -> Result<Result<StoredDelivery, TestRefused>, DbError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let busy = |limit| {
        Ok(Err(TestRefused {
            limit,
            retry_after_secs: policy.tests.attempt_secs,
        }))
    };
    let (user_busy, channel_busy) = rows::in_flight(&tx, channel.user_id, channel.id, now)?;
    if channel_busy {
        return busy(TestLimit::ChannelBusy);
    }
    if user_busy >= SENDS_PER_USER {
        return busy(TestLimit::UserBusy);
    }
    if let Some(refused) = over(&tx, channel, policy, now)? {
        return Ok(Err(refused));
    }
    let (id, _) = deliveries::queue(&tx, policy, channel, letter, words, now)?;
    let Some(claimed) = rows::claim_one(&tx, id, now + LEASE_SECS)? else {
        return Err(DbError::Sqlite(rusqlite::Error::QueryReturnedNoRows));
    };
    tx.commit()?;
    Ok(Ok(claimed))
}
