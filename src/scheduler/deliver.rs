//! Daily summaries and the delivery log's pending messages: each tick sends what is due, with
//! at most a few messages in flight.

use crate::clock;
use crate::crypto::secret::mask_tail;
use crate::db::DbError;
use crate::db::alert_rules as rule_rows;
use crate::db::channels as channel_rows;
use crate::db::deliveries as delivery_rows;
use crate::db::monitor_keys as key_rows;
use crate::modelscope::HIGHEST_PRICE;
use crate::monitors::rules::Condition;
use crate::monitors::schedule::{Schedule, parse_time_of_day};
use crate::notify::deliveries::{self, KEEP_DAYS, LEASE_SECS, Letter};
use crate::notify::message::{self, About, EventKind, SummaryLine};
use crate::runs::calls_left::calls_for;

use super::{SUMMARIES_PER_TICK, Scheduler};

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

    let mut permits = Vec::new();
    while let Ok(permit) = scheduler.inner.sends.clone().try_acquire_owned() {
        permits.push(permit);
    }
    let limit = permits.len();
    let due = if limit == 0 {
        Vec::new()
    } else {
        parts
            .db
            .run(move |conn| delivery_rows::claim_due(conn, now, now + LEASE_SECS, limit))
            .await?
    };
    let all_taken = limit > 0 && due.len() == limit;
    for (delivery, permit) in due.into_iter().zip(permits) {
        let me = scheduler.clone();
        scheduler.spawn_job(async move {
            let at = me.now();
            if let Err(error) = me.parts().outbox.attempt(delivery, at).await {
                tracing::error!(%error, "recording a delivery failed");
            }
            drop(permit);
        });
    }
    if all_taken {
        return Ok(Some(now));
    }
    let (next_summary, next_delivery) = parts
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
