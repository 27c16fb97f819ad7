//! The delivery log: every message is logged before it is tried, tried up to three times
//! with a growing wait (30 s, then 2 min), and the outcome kept with our own words for the
//! error. A channel takes at most `alerts_per_channel_per_hour` messages an hour (tests
//! count); more are logged as held back, not sent. Each user's log keeps its newest
//! `deliveries_kept_per_user` rows, and none older than [`KEEP_DAYS`]. The log lives in
//! SQLite, so a restart picks up the retries where they were.

use super::channels::Settings;
use super::channels::TestLimits;
use super::message::{self, About, EventKind, WebhookBody};
use crate::clock;
use crate::db::DbError;
use crate::db::channels::StoredChannel;
use crate::db::deliveries::{self as rows, NewDelivery, Status};
use crate::i18n::Lang;
use crate::ids::{DeliveryId, MonitorId, RuleId};

/// Tries per message (tests get one).
pub const MAX_ATTEMPTS: i64 = 3;
/// How long a claimed delivery is held by the one sending it.
pub const LEASE_SECS: i64 = 120;
/// The log keeps this many days.
pub const KEEP_DAYS: i64 = 30;
/// Attempts of one user's in flight at once (on every server together), and one per
/// channel: a user whose receivers hang holds no more of the sending slots than this.
pub const SENDS_PER_USER: i64 = 2;

/// The wait before try `done + 1`.
pub fn retry_delay(done: i64) -> i64 {
    if done <= 1 { 30 } else { 120 }
}

/// What the log needs beyond a message's words (from the configuration): how much it takes,
/// how often a user may test, and the address its links point to.
#[derive(Debug, Clone)]
pub struct Policy {
    /// `alerts_per_channel_per_hour`: messages one channel is given an hour, tests included.
    pub hourly_cap: u32,
    /// `deliveries_kept_per_user`: the newest rows of a user's log kept (pending ones always).
    pub kept_per_user: i64,
    /// How many test messages one user may send.
    pub tests: TestLimits,
    pub public_url: Option<String>,
}

/// A message for one channel, besides its words: what it is about, and the monitor and rule
/// that sent it.
#[derive(Debug, Clone, Copy)]
pub struct Letter<'a> {
    pub monitor_id: Option<MonitorId>,
    pub rule_id: Option<RuleId>,
    pub about: About<'a>,
}

/// The language a channel's messages are written in.
pub fn channel_lang(channel: &StoredChannel) -> Lang {
    serde_json::from_str::<Settings>(&channel.settings)
        .unwrap_or_default()
        .lang()
}

/// Logs a message to `channel`, worded by `words` in the channel's language (with a link to
/// the monitors page when the app knows its address): pending, or held when the channel had
/// its fill this hour (a test is refused before it gets here, see `throttle`). Answers the
/// row and whether it will be sent. The user's oldest rows beyond the log's bound go.
pub fn queue(
    conn: &rusqlite::Connection,
    policy: &Policy,
    channel: &StoredChannel,
    letter: &Letter<'_>,
    words: impl FnOnce(Lang) -> String,
    now: i64,
) -> Result<(DeliveryId, bool), DbError> {
    let lang = channel_lang(channel);
    let text = message::with_link(lang, words(lang), policy.public_url.as_deref());
    let payload = WebhookBody {
        about: &letter.about,
        message: &text,
        at: clock::rfc3339(clock::now()),
    }
    .to_json();
    let event = letter.about.event;
    let test = event == EventKind::Test;
    let held =
        !test && rows::sent_since(conn, channel.id, now - 3600)? >= i64::from(policy.hourly_cap);
    let id = rows::insert(
        conn,
        &NewDelivery {
            channel,
            monitor_id: letter.monitor_id,
            rule_id: letter.rule_id,
            event,
            payload: &payload,
            message: &text,
            status: if held { Status::Held } else { Status::Pending },
            max_attempts: if test { 1 } else { MAX_ATTEMPTS },
            created_at: now,
        },
    )?;
    rows::prune_user(conn, channel.user_id, policy.kept_per_user)?;
    Ok((id, !held))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_wait_longer_each_time() {
        assert_eq!(retry_delay(1), 30);
        assert_eq!(retry_delay(2), 120);
    }
}
