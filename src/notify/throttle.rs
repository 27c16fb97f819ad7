//! Test messages are the one thing a user sends at will, so each is throttled: per user (a
//! few a minute, more an hour), it counts toward its channel's hourly cap like any other
//! message, and it takes its turn like one (one attempt per channel, the user's share). The
//! check, the logging and taking the turn are one IMMEDIATE transaction, so a hundred requests
//! at once cannot slip through together; a refusal says which limit and when to come back.

use rusqlite::{Connection, TransactionBehavior};

use super::channels::{TestLimit, TestRefused};
use super::deliveries::{self, LEASE_SECS, Letter, Policy, SENDS_PER_USER};
use crate::clock::longest_wait;
use crate::db::DbError;
use crate::db::channels::StoredChannel;
use crate::db::deliveries as rows;
use crate::db::deliveries::StoredDelivery;
use crate::db::recent::{self, Counted};
use crate::i18n::Lang;

/// The limit a test to `channel` would go over now, with the longest wait among those met.
fn over(
    conn: &Connection,
    channel: &StoredChannel,
    policy: &Policy,
    now: i64,
) -> Result<Option<TestRefused>, DbError> {
    use Counted::{ChannelMessages, UserTests};
    use TestLimit::{ChannelHour, PerHour, PerMinute};
    let (user, cap) = (channel.user_id, policy.hourly_cap);
    let (per_minute, per_hour) = (policy.tests.per_minute, policy.tests.per_hour);
    let wait = |counted, max, window| recent::wait_for_room(conn, counted, max, window, now);
    Ok(longest_wait([
        (
            PerMinute { max: per_minute },
            wait(UserTests(user), per_minute, 60)?,
        ),
        (
            PerHour { max: per_hour },
            wait(UserTests(user), per_hour, 3600)?,
        ),
        (
            ChannelHour { max: cap },
            wait(ChannelMessages(channel.id), cap, 3600)?,
        ),
    ]))
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
