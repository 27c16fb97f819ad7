//! Daily summaries and the delivery log's pending messages: each tick sends what is due, with
//! at most a few messages in flight, in fair turns.

use std::collections::HashSet;

use crate::clock;
use crate::crypto::secret::mask_tail;
use crate::db::DbError;
use crate::db::alert_rules as rule_rows;
use crate::db::channels as channel_rows;
use crate::db::deliveries as delivery_rows;
use crate::db::monitor_keys as key_rows;
use crate::ids::DeliveryId;
use crate::modelscope::HIGHEST_PRICE;
use crate::monitors::rules::Condition;
use crate::monitors::schedule::{Schedule, parse_time_of_day};
use crate::notify::deliveries::{self, KEEP_DAYS, LEASE_SECS, Letter, SENDS_PER_USER};
use crate::notify::message::{self, About, EventKind, SummaryLine};
use crate::runs::calls_left::calls_for;

use super::{SUMMARIES_PER_TICK, Scheduler};

/// Due deliveries read beyond the free slots, for those a claim before them makes wait.
const LOOKAHEAD: usize = 16;

/// Queues due summaries and starts due deliveries; answers when either is next wanted.
pub(super) async fn start_due(scheduler: &Scheduler, now: i64) -> Result<Option<i64>, DbError> {
    let parts = scheduler.parts();
    let policy = parts.outbox.policy().clone();
    let summaries = parts
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
                let lines: Vec<SummaryLine> = key_rows::keys_of(conn, rule.monitor_id)?
                    .into_iter()
                    .map(|key| SummaryLine {
                        key_label: key.label,
                        key_masked: mask_tail(key.last_four),
                        available: key.last_available,
                        flagship_calls: key.last_available.map(|a| calls_for(a, HIGHEST_PRICE)),
                    })
                    .collect();
                let date = clock::minutes(now).chars().take(10).collect::<String>();
                let letter = Letter {
                    monitor_id: Some(rule.monitor_id),
                    rule_id: Some(rule.id),
                    about: About {
                        condition: Some(Condition::DailySummary),
                        key_label: (lines.len() == 1).then(|| lines[0].key_label.as_str()),
                        value: lines.iter().filter_map(|l| l.available).reduce(f64::min),
                        ..About::event(EventKind::Summary)
                    },
                };
                deliveries::queue(
                    conn,
                    &policy,
                    &channel,
                    &letter,
                    |lang| message::summary_text(lang, &date, &lines),
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
    let (next_summary, next_delivery) = parts
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
    let parts = scheduler.parts();
    let mut permits = Vec::new();
    while let Ok(permit) = scheduler.inner.sends.clone().try_acquire_owned() {
        permits.push(permit);
    }
    let free = permits.len();
    if free == 0 {
        return Ok(None);
    }
    // Never claimed again while tried here, even when the clock jumps past their lease.
    let here: HashSet<DeliveryId> = parts.outbox.trying();
    let claimed = parts
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
        // Marked as tried here from now, before the task starts.
        let attempt = parts.outbox.attempt(delivery, scheduler.now());
        // Its end wakes the loop: a slot and the user's and channel's turns are free again.
        scheduler.spawn_job(async move {
            if let Err(error) = attempt.await {
                tracing::error!(%error, "recording a delivery failed");
            }
            drop(permit);
        });
    }
    Ok(Some(filled))
}

/// Drops delivery log rows older than [`KEEP_DAYS`].
pub(super) async fn clean_up(scheduler: &Scheduler, now: i64) {
    let cutoff = now - KEEP_DAYS * 86_400;
    match scheduler
        .parts()
        .db
        .run(move |conn| delivery_rows::delete_before(conn, cutoff))
        .await
    {
        Ok(0) => {}
        Ok(removed) => tracing::info!(removed, "old deliveries removed"),
        Err(error) => tracing::warn!(%error, "delivery log cleanup failed"),
    }
}
