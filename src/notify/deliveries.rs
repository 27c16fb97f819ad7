//! The delivery log: every message is logged before it is tried, tried up to three times
//! with a growing wait (30 s, then 2 min), and the outcome kept with our own words for the
//! error. A channel takes at most `alerts_per_channel_per_hour` messages an hour (tests
//! count); more are logged as held back, not sent. Each user's log keeps its newest
//! `deliveries_kept_per_user` rows, and none older than [`KEEP_DAYS`]. The log lives in
//! SQLite, so a restart picks up the retries where they were.

use super::channel_store::Channels;
use super::channels::{ChannelError, Kind};
use super::message::{self, EventKind};
use super::send::{Notifier, Outgoing, SendError};
use crate::db::deliveries::{self as rows, Attempted, NewDelivery, StoredDelivery};
use crate::db::{Db, DbError};
use crate::ids::{ChannelId, DeliveryId, MonitorId, RuleId, UserId};
use crate::telemetry::{ChannelKind, DeliveryResult};

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

/// How much the log takes (from the configuration).
#[derive(Debug, Clone, Copy)]
pub struct LogRules {
    /// `alerts_per_channel_per_hour`: messages one channel is given an hour, tests included.
    pub hourly_cap: u32,
    /// `deliveries_kept_per_user`: the newest rows of a user's log kept (pending ones always).
    pub kept_per_user: i64,
}

/// A message to log and send.
pub struct Queued<'a> {
    pub user_id: UserId,
    pub channel_id: ChannelId,
    pub channel_name: &'a str,
    pub channel_kind: &'a str,
    pub monitor_id: Option<MonitorId>,
    pub rule_id: Option<RuleId>,
    pub event: EventKind,
    pub payload: &'a str,
    pub message: &'a str,
}

/// Logs a message as pending, or as held when the channel had its fill this hour (a test is
/// refused before it gets here, see `throttle`). Answers the row and whether it will be sent.
/// The user's oldest rows beyond the log's bound go.
pub fn queue(
    conn: &rusqlite::Connection,
    queued: &Queued<'_>,
    rules: &LogRules,
    now: i64,
) -> Result<(DeliveryId, bool), DbError> {
    let test = queued.event == EventKind::Test;
    let held = !test
        && rows::sent_since(conn, queued.channel_id, now - 3600)? >= i64::from(rules.hourly_cap);
    let id = rows::insert(
        conn,
        &NewDelivery {
            user_id: queued.user_id,
            channel_id: queued.channel_id,
            channel_name: queued.channel_name,
            channel_kind: queued.channel_kind,
            monitor_id: queued.monitor_id,
            rule_id: queued.rule_id,
            event: queued.event.as_str(),
            payload: queued.payload,
            message: queued.message,
            status: if held { "held" } else { "pending" },
            max_attempts: if test { 1 } else { MAX_ATTEMPTS },
            created_at: now,
        },
    )?;
    rows::prune_user(conn, queued.user_id, rules.kept_per_user)?;
    Ok((id, !held))
}

fn event_kind(text: &str) -> EventKind {
    match text {
        "alert" => EventKind::Alert,
        "recovered" => EventKind::Recovered,
        "summary" => EventKind::Summary,
        _ => EventKind::Test,
    }
}

/// Tries a claimed delivery once and records how it went. Answers the outcome of this try.
pub async fn attempt(
    db: &Db,
    channels: &Channels,
    notifier: &Notifier,
    delivery: StoredDelivery,
    now: i64,
) -> Result<Result<(), String>, DbError> {
    let outcome: Result<(), String> = match delivery.channel_id {
        None => Err("channel_gone".to_owned()),
        Some(channel_id) => match channels.open(delivery.user_id, channel_id).await {
            Ok(channel) => {
                let lang = channel.settings.lang();
                let title = message::title(lang, event_kind(&delivery.event));
                let out = Outgoing {
                    title: &title,
                    text: &delivery.message,
                    webhook_body: &delivery.payload,
                };
                let sent = notifier.send(&channel, &out).await;
                crate::telemetry::record_alert_delivery(
                    channel_label(channel.kind),
                    match &sent {
                        Ok(()) => DeliveryResult::Sent,
                        Err(SendError::Timeout) => DeliveryResult::Timeout,
                        Err(SendError::Refused) => DeliveryResult::Refused,
                        Err(_) => DeliveryResult::Failed,
                    },
                );
                sent.map_err(|e: SendError| {
                    if e.is_final() {
                        format!("final:{}", e.log_text())
                    } else {
                        e.log_text()
                    }
                })
            }
            Err(ChannelError::NotFound) => Err("final:channel_gone".to_owned()),
            Err(ChannelError::Db(error)) => return Err(error),
            Err(_) => Err("final:secret".to_owned()),
        },
    };
    let done = delivery.attempts + 1;
    let id = delivery.id;
    let recorded = outcome.clone();
    db.run(move |conn| {
        let attempt = match &recorded {
            Ok(()) => Attempted::Sent { at: now },
            Err(error) => {
                let (last, error) = match error.strip_prefix("final:") {
                    Some(error) => (true, error),
                    None => (done >= delivery.max_attempts, error.as_str()),
                };
                if last {
                    Attempted::Failed { error }
                } else {
                    Attempted::Retry {
                        error,
                        next: now + retry_delay(done),
                    }
                }
            }
        };
        rows::record_attempt(conn, id, attempt)
    })
    .await?;
    Ok(outcome.map_err(|e| e.trim_start_matches("final:").to_owned()))
}

/// The metrics label of a channel kind (a closed set, so no label is unbounded).
fn channel_label(kind: Kind) -> ChannelKind {
    match kind {
        Kind::Webhook => ChannelKind::Webhook,
        Kind::DingTalk => ChannelKind::DingTalk,
        Kind::Feishu => ChannelKind::Feishu,
        Kind::WeCom => ChannelKind::WeCom,
        Kind::Telegram => ChannelKind::Telegram,
        Kind::Bark => ChannelKind::Bark,
        Kind::ServerChan => ChannelKind::ServerChan,
        Kind::Email => ChannelKind::Email,
    }
}

/// The user's newest deliveries.
pub async fn list(db: &Db, user: UserId, limit: i64) -> Result<Vec<StoredDelivery>, DbError> {
    db.run(move |conn| rows::list_for_user(conn, user, limit))
        .await
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
