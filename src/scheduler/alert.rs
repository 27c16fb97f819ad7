//! What a run saw, in the terms alert rules ask about, and the messages its changes queue:
//! each rule is evaluated per key, fires once when its condition starts and once when it
//! clears, and its message goes to the delivery log (under the channel's hourly cap).

use std::collections::HashMap;

use crate::clock;
use crate::crypto::secret::mask_tail;
use crate::db::DbError;
use crate::db::alert_rules::{self as rule_rows, StoredRule};
use crate::db::channels as channel_rows;
use crate::db::monitor_keys::MonitorKey;
use crate::db::monitors::StoredMonitor;
use crate::ids::{KeyId, MonitorId, UserId};
use crate::modelscope::{BalanceError, ErrorCode, HIGHEST_PRICE, Quota};
use crate::monitors::rules::{self, Change, Condition, KeyHealth, Observation, Outlook, Rule};
use crate::monitors::schedule::parse_time_of_day;
use crate::notify::deliveries::{self, Letter, Policy};
use crate::notify::message::{self, About, AlertFacts, EventKind};
use crate::pace::Basis;
use crate::runs::calls_left::{CallsLeft, calls_for};
use crate::runs::executor::FinishedRun;
use crate::runs::outlook;
use crate::runs::prices;

use super::Scheduler;

/// The conditions that need the key's outlook (read only when a rule asks).
const FORECAST_RULES: [Condition; 3] = [
    Condition::RunsOutWithin,
    Condition::PointsExpiring,
    Condition::GrantUnclaimed,
];

impl Scheduler {
    /// What the run says in the terms alert rules ask about.
    pub(super) async fn observe(
        &self,
        user: UserId,
        key_id: KeyId,
        finished: &FinishedRun,
        rules: &[StoredRule],
    ) -> Observation {
        let available = finished.available();
        let mut key = match &finished.balance {
            Ok(_) => KeyHealth::Accepted,
            Err(BalanceError::InvalidKey) => KeyHealth::Refused(ErrorCode::InvalidKey),
            Err(BalanceError::Upstream { status: 401, .. }) => {
                KeyHealth::Refused(ErrorCode::InvalidKey)
            }
            Err(BalanceError::Upstream { status: 403, .. }) => {
                KeyHealth::Refused(ErrorCode::AccountNotEligible)
            }
            Err(_) => KeyHealth::Unknown,
        };
        let mut calls = HashMap::new();
        let mut served = HashMap::new();
        for row in &finished.report.results {
            match row.error_code() {
                Some(ErrorCode::InvalidKey) => key = KeyHealth::Refused(ErrorCode::InvalidKey),
                Some(ErrorCode::AccountNotEligible) => {
                    key = KeyHealth::Refused(ErrorCode::AccountNotEligible)
                }
                Some(ErrorCode::ModelNotFound) => {
                    served.insert(row.model.clone(), false);
                }
                None if row.status.is_some() => {
                    served.insert(row.model.clone(), true);
                    let left = CallsLeft::of_row(row, available);
                    if let Some(n) = left.exact.or(left.range.map(|r| r.0)) {
                        calls.insert(row.model.clone(), n);
                    }
                }
                _ => {}
            }
        }
        // Models a calls_below rule names that this run did not probe: from the points.
        let unprobed: Vec<String> = rules
            .iter()
            .filter(|r| r.condition == Condition::CallsBelow)
            .filter_map(|r| r.model.clone())
            .filter(|m| !calls.contains_key(m) && !served.contains_key(m))
            .collect();
        if let (Some(available), false) = (available, unprobed.is_empty()) {
            let known = prices::known_for(&self.parts().db, Some(user), unprobed.clone())
                .await
                .unwrap_or_default();
            for model in unprobed {
                let price = known.price(&model).map(|p| p.points);
                let bounds = known.bounds(&model, &finished.tiers);
                let left = CallsLeft::assess(&Quota::default(), Some(available), price, bounds);
                if let Some(n) = left.exact.or(left.range.map(|r| r.0)) {
                    calls.insert(model, n);
                }
            }
        }
        Observation {
            available,
            key,
            calls,
            served,
            outlook: if rules.iter().any(|r| FORECAST_RULES.contains(&r.condition)) {
                self.outlook(user, key_id).await
            } else {
                Outlook::default()
            },
        }
    }

    /// The key's forecast, expiring points and daily grant, from its stored rows (the run was
    /// stored just before). A failed read leaves them unknown: the new rules then tell nothing.
    async fn outlook(&self, user: UserId, key_id: KeyId) -> Outlook {
        let now = self.now();
        let read = self
            .parts()
            .db
            .run(move |conn| Ok(outlook::read(conn, user, now)?.remove(&key_id)))
            .await;
        let seen = match read {
            Ok(Some(seen)) => seen,
            Ok(None) => return Outlook::default(),
            Err(error) => {
                tracing::warn!(%error, "reading a key's forecast failed");
                return Outlook::default();
            }
        };
        let forecast = seen.forecast;
        Outlook {
            now,
            minute_of_day: u16::try_from((now - clock::last_midnight(now)) / 60).unwrap_or(0),
            runs_out_at: match forecast.basis {
                Basis::Pace | Basis::Exhausted => Some(forecast.runs_out_at),
                Basis::NoSpend => Some(None),
                _ => None,
            },
            expiring: seen.expiring.iter().map(|e| (e.points, e.at)).collect(),
            grant_unclaimed: seen.grant.map(|(unclaimed, _)| unclaimed),
        }
    }

    /// Evaluates every rule for one key and logs a message for each change.
    pub(super) async fn alert(
        &self,
        monitor: &StoredMonitor,
        key: &MonitorKey,
        rules: &[StoredRule],
        seen: &Observation,
    ) {
        let rules: Vec<StoredRule> = rules
            .iter()
            .filter(|r| r.condition != Condition::DailySummary)
            .cloned()
            .collect();
        if rules.is_empty() {
            return;
        }
        let seen = seen.clone();
        let (user, monitor_id, key_id) = (monitor.user_id, monitor.id, key.key_id);
        let label = key.label.clone();
        let masked = mask_tail(key.last_four.clone());
        let now = self.now();
        let policy = self.parts().outbox.policy().clone();
        let queued = self
            .parts()
            .db
            .run(move |conn| {
                let mut queued = 0;
                for stored in &rules {
                    if stored.condition == Condition::PriceChanged {
                        queued += tell_price_changes(conn, &policy, stored, monitor_id, now)?;
                        continue;
                    }
                    let rule = Rule {
                        condition: stored.condition,
                        threshold: stored.threshold,
                        model: stored.model.clone(),
                        within_hours: stored.within_hours,
                        at_time: stored.at_time.as_deref().and_then(parse_time_of_day),
                    };
                    let Some(verdict) = rules::evaluate(&rule, &seen) else {
                        continue;
                    };
                    let previous = rule_rows::alert_state(conn, stored.id, key_id)?;
                    rule_rows::set_alert_state(conn, stored.id, key_id, verdict.active, now)?;
                    let Some(change) = rules::change(previous, verdict.active) else {
                        continue;
                    };
                    let Some(channel) = channel_rows::get_for_user(conn, user, stored.channel_id)?
                    else {
                        continue;
                    };
                    let grant_unclaimed =
                        rule.condition == Condition::PointsBelow && change == Change::Started && {
                            // The scheduler's clock: stored runs are stamped with it too.
                            let since = clock::last_midnight(now);
                            let rise = crate::db::balance_rises::for_key(conn, key_id)?;
                            crate::runs::grants::grant_likely_unclaimed(rise, since)
                                .unwrap_or(false)
                        };
                    let refused = match seen.key {
                        KeyHealth::Refused(code) => Some(code),
                        _ => None,
                    };
                    let facts = AlertFacts {
                        condition: rule.condition,
                        started: change == Change::Started,
                        key_label: &label,
                        key_masked: &masked,
                        value: verdict.value,
                        threshold: stored.threshold,
                        model: stored.model.as_deref(),
                        models: &verdict.models,
                        flagship_calls: seen.available.map(|a| calls_for(a, HIGHEST_PRICE)),
                        grant_unclaimed,
                        refused_code: refused,
                    };
                    let letter = Letter {
                        monitor_id: Some(monitor_id),
                        rule_id: Some(stored.id),
                        about: About {
                            event: match change {
                                Change::Started => EventKind::Alert,
                                Change::Cleared => EventKind::Recovered,
                            },
                            condition: Some(rule.condition),
                            key_label: Some(&label),
                            model: stored
                                .model
                                .as_deref()
                                .or_else(|| verdict.models.first().map(String::as_str)),
                            value: verdict.value,
                            threshold: stored.threshold,
                        },
                    };
                    deliveries::queue(
                        conn,
                        &policy,
                        &channel,
                        &letter,
                        |lang| message::alert_text(lang, &facts),
                        now,
                    )?;
                    queued += 1;
                }
                Ok(queued)
            })
            .await;
        match queued {
            Ok(0) => {}
            Ok(_) => self.wake(),
            Err(error) => tracing::error!(%error, "evaluating alert rules failed"),
        }
    }
}

/// Price changes a `price_changed` rule has not told of: one message each, through the rule's
/// channel (under its hourly cap), each change once however many keys the monitor has.
fn tell_price_changes(
    conn: &rusqlite::Connection,
    policy: &Policy,
    rule: &StoredRule,
    monitor_id: MonitorId,
    now: i64,
) -> Result<usize, DbError> {
    /// Changes told in one look; the rest come with the next run.
    const AT_ONCE: usize = 20;
    let changes = rule_rows::claim_price_changes(conn, rule, AT_ONCE)?;
    if changes.is_empty() {
        return Ok(0);
    }
    let Some(channel) = channel_rows::get_for_user(conn, rule.user_id, rule.channel_id)? else {
        return Ok(0);
    };
    for change in &changes {
        let letter = Letter {
            monitor_id: Some(monitor_id),
            rule_id: Some(rule.id),
            about: About {
                condition: Some(Condition::PriceChanged),
                model: Some(&change.model),
                value: Some(change.new_points),
                ..About::event(EventKind::Alert)
            },
        };
        deliveries::queue(
            conn,
            policy,
            &channel,
            &letter,
            |lang| message::price_change_text(lang, change),
            now,
        )?;
    }
    Ok(changes.len())
}
