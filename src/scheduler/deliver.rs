//! Daily summaries and the delivery log's pending messages: each tick sends what is due, with
//! at most a few messages in flight.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::clock;
use crate::crypto::secret::mask_tail;
use crate::db::DbError;
use crate::db::alert_rules as rule_rows;
use crate::db::channels as channel_rows;
use crate::db::deliveries as delivery_rows;
use crate::db::monitors as rows;
use crate::ids::{ChannelId, DeliveryId, UserId};
use crate::modelscope::HIGHEST_PRICE;
use crate::monitors::schedule::{Schedule, parse_time_of_day};
use crate::notify::channels::Settings;
use crate::notify::deliveries::{self, KEEP_DAYS, LEASE_SECS, Queued, SENDS_PER_USER};
use crate::notify::message::{self, EventKind, SummaryLine, WebhookBody};
use crate::notify::throttle;
use crate::notify::{ChannelError, Kind};
use crate::runs::calls_left::calls_for;

use super::{SUMMARIES_PER_TICK, Scheduler};

/// Due deliveries read beyond the free slots, for those a claim before them makes wait.
const LOOKAHEAD: usize = 16;

/// The deliveries this server is trying right now.
#[derive(Default)]
pub(super) struct Sending(Mutex<HashSet<DeliveryId>>);

impl Sending {
    fn ids(&self) -> MutexGuard<'_, HashSet<DeliveryId>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A delivery marked as being tried here until dropped.
struct Trying(Arc<Sending>, DeliveryId);

impl Trying {
    fn mark(sending: &Arc<Sending>, id: DeliveryId) -> Self {
        sending.ids().insert(id);
        Self(sending.clone(), id)
    }
}

impl Drop for Trying {
    fn drop(&mut self) {
        self.0.ids().remove(&self.1);
    }
}

/// Queues due summaries and starts due deliveries; answers when either is next wanted.
pub(super) async fn start_due(scheduler: &Scheduler, now: i64) -> Result<Option<i64>, DbError> {
    let inner = &scheduler.inner;
    let log = inner.config.log;
    let public_url = inner.config.public_url.clone();
    let summaries = inner
        .db
        .run(move |conn| {
            let mut queued = 0;
            for rule in rule_rows::summaries_due(conn, now, SUMMARIES_PER_TICK)? {
                let Some(was) = rule.next_summary_at else {
                    continue;
                };
                let at = rule
                    .at_time
                    .as_deref()
                    .and_then(parse_time_of_day)
                    .unwrap_or(0);
                let next = Schedule::AtTimes(vec![at]).next_slot(was, now, 0);
                if !rule_rows::claim_summary(conn, rule.id, was, next)? {
                    continue;
                }
                let Some(channel) =
                    channel_rows::get_for_user(conn, rule.user_id, rule.channel_id)?
                else {
                    continue;
                };
                let lang = serde_json::from_str::<Settings>(&channel.settings)
                    .unwrap_or_default()
                    .lang();
                let lines: Vec<SummaryLine> = rows::keys_of(conn, rule.monitor_id)?
                    .into_iter()
                    .map(|key| SummaryLine {
                        key_label: key.label,
                        key_masked: mask_tail(key.last_four),
                        available: key.last_available,
                        flagship_calls: key.last_available.map(|a| calls_for(a, HIGHEST_PRICE)),
                    })
                    .collect();
                let date = clock::minutes(now).chars().take(10).collect::<String>();
                let text = message::with_link(
                    lang,
                    message::summary_text(lang, &date, &lines),
                    public_url.as_deref(),
                );
                let value = lines.iter().filter_map(|l| l.available).reduce(f64::min);
                let key_label = (lines.len() == 1).then(|| lines[0].key_label.as_str());
                let payload = WebhookBody {
                    event: EventKind::Summary.as_str(),
                    condition: Some("daily_summary"),
                    key_label,
                    model: None,
                    value,
                    threshold: None,
                    message: &text,
                    at: clock::rfc3339(clock::now()),
                }
                .to_json();
                deliveries::queue(
                    conn,
                    &Queued {
                        user_id: rule.user_id,
                        channel_id: channel.id,
                        channel_name: &channel.name,
                        channel_kind: &channel.kind,
                        monitor_id: Some(rule.monitor_id),
                        rule_id: Some(rule.id),
                        event: EventKind::Summary,
                        payload: &payload,
                        message: &text,
                    },
                    &log,
                    now,
                )?;
                queued += 1;
            }
            Ok(queued)
        })
        .await?;
    if summaries > 0 {
        tracing::debug!(summaries, "daily summaries queued");
    }

    let started = start_deliveries(scheduler, now).await?;
    if started.is_some_and(|filled| filled) {
        return Ok(Some(now));
    }
    let (next_summary, next_delivery) = inner
        .db
        .run(move |conn| {
            Ok((
                rule_rows::next_summary(conn)?,
                delivery_rows::next_due_after(conn, now)?,
            ))
        })
        .await?;
    Ok([next_summary, next_delivery].into_iter().flatten().min())
}

/// Starts due deliveries in fair turns (each user's first before anyone's second, one per
/// channel, a user at most `SENDS_PER_USER` on every server together). Answers whether every
/// free slot was filled (more may be due); `None` when none was free. Deliveries that wait
/// only for a turn held by an attempt in flight go when it ends (it wakes the scheduler).
async fn start_deliveries(scheduler: &Scheduler, now: i64) -> Result<Option<bool>, DbError> {
    let inner = &scheduler.inner;
    let mut permits = Vec::new();
    while let Ok(permit) = inner.sends.clone().try_acquire_owned() {
        permits.push(permit);
    }
    let free = permits.len();
    if free == 0 {
        return Ok(None);
    }
    let here: HashSet<DeliveryId> = inner.sending.ids().clone();
    let claimed = inner
        .db
        .run(move |conn| {
            let mut claimed = Vec::new();
            let due = delivery_rows::due_by_turns(conn, now, SENDS_PER_USER, free + LOOKAHEAD)?;
            for id in due.into_iter().filter(|id| !here.contains(id)) {
                if claimed.len() == free {
                    break;
                }
                // Refused when an earlier claim took the user's last turn or the channel's.
                let lease = now + LEASE_SECS;
                if let Some(delivery) =
                    delivery_rows::claim_due(conn, id, now, lease, SENDS_PER_USER)?
                {
                    claimed.push(delivery);
                }
            }
            Ok(claimed)
        })
        .await?;
    let filled = claimed.len() == free;
    for (delivery, permit) in claimed.into_iter().zip(permits) {
        let trying = Trying::mark(&inner.sending, delivery.id);
        let me = scheduler.clone();
        tokio::spawn(async move {
            let _trying = trying;
            let inner = &me.inner;
            let at = me.now();
            if let Err(error) =
                deliveries::attempt(&inner.db, &inner.channels, &inner.notifier, delivery, at).await
            {
                tracing::error!(%error, "recording a delivery failed");
            }
            drop(permit);
            me.wake();
        });
    }
    Ok(Some(filled))
}

/// A test message to one channel, tried once now and logged: throttled, and sent in its turn
/// like any other (see `notify::throttle`).
pub(super) async fn send_test(
    scheduler: &Scheduler,
    user: UserId,
    channel_id: ChannelId,
) -> Result<Result<(), String>, ChannelError> {
    let inner = &scheduler.inner;
    let now = scheduler.now();
    let public_url = inner.config.public_url.clone();
    let (log, limits) = (inner.config.log, inner.config.tests);
    let claimed = inner
        .db
        .run(move |conn| {
            let Some(channel) = channel_rows::get_for_user(conn, user, channel_id)? else {
                return Ok(Err(ChannelError::NotFound));
            };
            let lang = serde_json::from_str::<Settings>(&channel.settings)
                .unwrap_or_default()
                .lang();
            let text = message::with_link(
                lang,
                message::test_text(
                    lang,
                    &channel.name,
                    Kind::parse(&channel.kind).is_some_and(Kind::renders_markdown),
                ),
                public_url.as_deref(),
            );
            let payload = WebhookBody {
                event: EventKind::Test.as_str(),
                condition: None,
                key_label: None,
                model: None,
                value: None,
                threshold: None,
                message: &text,
                at: clock::rfc3339(clock::now()),
            }
            .to_json();
            let queued = Queued {
                user_id: user,
                channel_id: channel.id,
                channel_name: &channel.name,
                channel_kind: &channel.kind,
                monitor_id: None,
                rule_id: None,
                event: EventKind::Test,
                payload: &payload,
                message: &text,
            };
            Ok(throttle::queue_test(conn, &queued, &log, &limits, now)?
                .map_err(ChannelError::TestLimited))
        })
        .await?;
    let delivery = claimed?;
    let trying = Trying::mark(&inner.sending, delivery.id);
    let outcome =
        deliveries::attempt(&inner.db, &inner.channels, &inner.notifier, delivery, now).await;
    drop(trying);
    // A delivery due to this channel may have waited for the test.
    scheduler.wake();
    Ok(outcome?)
}

/// Drops delivery log rows older than [`KEEP_DAYS`].
pub(super) async fn clean_up(scheduler: &Scheduler, now: i64) {
    let cutoff = now - KEEP_DAYS * 86_400;
    match scheduler
        .inner
        .db
        .run(move |conn| delivery_rows::delete_before(conn, cutoff))
        .await
    {
        Ok(0) => {}
        Ok(removed) => tracing::info!(removed, "old deliveries removed"),
        Err(error) => tracing::warn!(%error, "delivery log cleanup failed"),
    }
}
