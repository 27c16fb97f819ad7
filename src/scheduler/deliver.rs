//! Daily summaries and the delivery log's pending messages: each tick sends what is due, with
//! at most a few messages in flight.

use crate::clock;
use crate::crypto::secret::mask_tail;
use crate::db::DbError;
use crate::db::alert_rules as rule_rows;
use crate::db::channels as channel_rows;
use crate::db::deliveries as delivery_rows;
use crate::db::monitors as rows;
use crate::ids::{ChannelId, UserId};
use crate::modelscope::HIGHEST_PRICE;
use crate::monitors::schedule::{Schedule, parse_time_of_day};
use crate::notify::channels::Settings;
use crate::notify::deliveries::{self, KEEP_DAYS, LEASE_SECS, Queued};
use crate::notify::message::{self, EventKind, SummaryLine, WebhookBody};
use crate::notify::{ChannelError, Kind};
use crate::runs::calls_left::calls_for;

use super::{SUMMARIES_PER_TICK, Scheduler};

/// Queues due summaries and starts due deliveries; answers when either is next wanted.
pub(super) async fn start_due(scheduler: &Scheduler, now: i64) -> Result<Option<i64>, DbError> {
    let inner = &scheduler.inner;
    let cap = inner.config.hourly_cap;
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
                    cap,
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

    let mut permits = Vec::new();
    while let Ok(permit) = inner.sends.clone().try_acquire_owned() {
        permits.push(permit);
    }
    let limit = permits.len();
    let due = if limit == 0 {
        Vec::new()
    } else {
        inner
            .db
            .run(move |conn| delivery_rows::claim_due(conn, now, now + LEASE_SECS, limit))
            .await?
    };
    let all_taken = limit > 0 && due.len() == limit;
    for (delivery, permit) in due.into_iter().zip(permits) {
        let me = scheduler.clone();
        tokio::spawn(async move {
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
    if all_taken {
        return Ok(Some(now));
    }
    let (next_summary, next_delivery) = inner
        .db
        .run(|conn| {
            Ok((
                rule_rows::next_summary(conn)?,
                delivery_rows::next_due(conn)?,
            ))
        })
        .await?;
    let next_delivery = next_delivery.filter(|_| limit > 0);
    Ok([next_summary, next_delivery].into_iter().flatten().min())
}

/// A test message to one channel, tried once now and logged.
pub(super) async fn send_test(
    scheduler: &Scheduler,
    user: UserId,
    channel_id: ChannelId,
) -> Result<Result<(), String>, ChannelError> {
    let inner = &scheduler.inner;
    let now = scheduler.now();
    let public_url = inner.config.public_url.clone();
    let cap = inner.config.hourly_cap;
    let claimed = inner
        .db
        .run(move |conn| {
            let Some(channel) = channel_rows::get_for_user(conn, user, channel_id)? else {
                return Ok(None);
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
            let (id, _) = deliveries::queue(
                conn,
                &Queued {
                    user_id: user,
                    channel_id: channel.id,
                    channel_name: &channel.name,
                    channel_kind: &channel.kind,
                    monitor_id: None,
                    rule_id: None,
                    event: EventKind::Test,
                    payload: &payload,
                    message: &text,
                },
                cap,
                now,
            )?;
            delivery_rows::claim_one(conn, id, now + LEASE_SECS)
        })
        .await?;
    let Some(delivery) = claimed else {
        return Err(ChannelError::NotFound);
    };
    Ok(deliveries::attempt(&inner.db, &inner.channels, &inner.notifier, delivery, now).await?)
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
