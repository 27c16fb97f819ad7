//! [`Monitors`]: the one way pages reach a user's monitors and their rules. Every change the
//! scheduler should see at once (a new monitor or rule, run now, resume) wakes it through the
//! signal both were given; this module never imports the scheduler.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::Notify;

use super::cost::{self, PriceBook};
use super::rules::{Condition, RuleAsk, RuleError, check_rule};
use super::run_now::{self, RunNow};
use super::schedule::{self, Schedule};
use super::{
    CheckKind, MAX_RULES_PER_MONITOR, MonitorAsk, MonitorError, MonitorLimits, Named, Overview,
    check_monitor, named_in,
};
use crate::clock::SharedClock;
use crate::db::alert_rules::{self as rule_rows, NewRuleRow, StoredRule};
use crate::db::monitor_keys as key_rows;
use crate::db::monitors::{self as rows, InsertRefused, NewMonitorRow};
use crate::db::{Db, presets};
use crate::ids::{MonitorId, PresetId, RuleId, UserId};
use crate::modelscope::ExpectedCost;

#[derive(Clone)]
pub struct Monitors {
    db: Db,
    prices: Arc<dyn PriceBook>,
    /// Tells the scheduler to look again.
    wake: Arc<Notify>,
    clock: SharedClock,
    /// What one user may have and ask for (from the configuration).
    limits: MonitorLimits,
}

fn found(done: bool) -> Result<(), MonitorError> {
    if done {
        Ok(())
    } else {
        Err(MonitorError::NotFound)
    }
}

impl Monitors {
    pub fn new(
        db: Db,
        prices: Arc<dyn PriceBook>,
        wake: Arc<Notify>,
        clock: SharedClock,
        limits: MonitorLimits,
    ) -> Self {
        Self {
            db,
            prices,
            wake,
            clock,
            limits,
        }
    }

    /// The scheduler's time, unix seconds.
    fn now(&self) -> i64 {
        self.clock.now()
    }

    fn changed(&self) {
        self.wake.notify_one();
    }

    /// Checks a monitor, refuses a probe expected to cost more a day than its cap, stores it
    /// (its first run is within a minute, or at its first time of day) and wakes the scheduler.
    pub async fn create(&self, user: UserId, ask: &MonitorAsk) -> Result<MonitorId, MonitorError> {
        let new = check_monitor(ask, self.limits.keys_per_monitor)?;
        let max = self.limits.monitors_per_user;
        let jitter = schedule::random_jitter(&new.schedule);
        let now = self.now();
        let prices = self.prices.clone();
        let id = self
            .db
            .run(move |conn| {
                if let (Some(preset), Some(cap)) = (new.preset, new.daily_cost_cap) {
                    let Some(preset) = presets::get_for_user(conn, user, preset)? else {
                        return Ok(Err(MonitorError::PresetNotFound));
                    };
                    let per_run = prices.run_cost(conn, user, &preset.models);
                    let daily = cost::per_day(per_run, new.keys.len(), &new.schedule);
                    if daily.max > cap + 1e-9 {
                        return Ok(Err(MonitorError::OverCap { daily, cap }));
                    }
                }
                if rows::count_for_user(conn, user)? >= max {
                    return Ok(Err(MonitorError::TooMany { max }));
                }
                let at_times = new.schedule.at_times_text();
                let row = NewMonitorRow {
                    user_id: user,
                    kind: new.kind,
                    preset_id: new.preset,
                    every_minutes: new.schedule.every_minutes(),
                    at_times: at_times.as_deref(),
                    daily_cost_cap: new.daily_cost_cap,
                    jitter_secs: jitter,
                    created_at: now,
                    next_run_at: new.schedule.first_slot(now, jitter),
                    keys: &new.keys,
                };
                Ok(rows::insert(conn, &row)?.map_err(|refused| match refused {
                    InsertRefused::KeyNotFound => MonitorError::KeyNotFound,
                    InsertRefused::PresetNotFound => MonitorError::PresetNotFound,
                }))
            })
            .await??;
        self.changed();
        Ok(id)
    }

    /// Everything the monitors page shows, with what each probe is expected to cost a day.
    pub async fn overview(&self, user: UserId) -> Result<Overview, MonitorError> {
        let prices = self.prices.clone();
        Ok(self
            .db
            .run(move |conn| {
                let monitors = rows::list_for_user(conn, user)?;
                let keys = key_rows::keys_for_user(conn, user)?;
                let models: HashMap<PresetId, Vec<String>> = presets::list_for_user(conn, user)?
                    .into_iter()
                    .map(|p| (p.id, p.models))
                    .collect();
                let daily_costs = monitors
                    .iter()
                    .filter(|m| m.kind == CheckKind::Probe)
                    .filter_map(|m| {
                        let models = models.get(&m.preset_id?)?;
                        let schedule =
                            Schedule::from_stored(m.every_minutes, m.at_times.as_deref())?;
                        let keys = keys.iter().filter(|k| k.monitor_id == m.id).count();
                        let per_run = prices.run_cost(conn, user, models);
                        Some((m.id, cost::per_day(per_run, keys, &schedule)))
                    })
                    .collect();
                Ok(Overview {
                    rules: rule_rows::rules_for_user(conn, user)?,
                    active: rule_rows::active_alerts(conn, user)?,
                    monitors,
                    keys,
                    daily_costs,
                })
            })
            .await?)
    }

    /// What one probe of the user's preset is expected to cost (nothing when it is gone; a
    /// failed read is logged and counts as nothing, the cap still holds on what was spent).
    pub async fn run_cost(&self, user: UserId, preset: PresetId) -> ExpectedCost {
        let prices = self.prices.clone();
        let read = self
            .db
            .run(move |conn| {
                let models = presets::get_for_user(conn, user, preset)?
                    .map(|p| p.models)
                    .unwrap_or_default();
                Ok(prices.run_cost(conn, user, &models))
            })
            .await;
        read.unwrap_or_else(|error| {
            tracing::warn!(%error, "reading a preset's cost failed");
            ExpectedCost::default()
        })
    }

    /// "Run now": one run in its turn, paused or not, without moving the schedule; limited per
    /// monitor and per user, and nothing when the monitor is queued or running already.
    pub async fn run_now(&self, user: UserId, id: MonitorId) -> Result<RunNow, MonitorError> {
        let limits = self.limits.run_now;
        let asked = run_now::request_run(&self.db, user, id, limits, self.now()).await?;
        if asked == RunNow::Asked {
            self.changed();
        }
        Ok(asked)
    }

    pub async fn pause(&self, user: UserId, id: MonitorId) -> Result<(), MonitorError> {
        found(
            self.db
                .run(move |conn| rows::set_paused(conn, user, id, true, None))
                .await?,
        )
    }

    /// Resumes from now: the next slot is the schedule's first after now (no burst of missed
    /// runs), and the failure count starts again.
    pub async fn resume(&self, user: UserId, id: MonitorId) -> Result<(), MonitorError> {
        let now = self.now();
        found(
            self.db
                .run(move |conn| {
                    let Some(monitor) = rows::get_for_user(conn, user, id)? else {
                        return Ok(false);
                    };
                    let next =
                        Schedule::from_stored(monitor.every_minutes, monitor.at_times.as_deref())
                            .map(|s| s.first_slot(now, monitor.jitter_secs))
                            .unwrap_or(now);
                    rows::set_paused(conn, user, id, false, Some(next))
                })
                .await?,
        )?;
        self.changed();
        Ok(())
    }

    /// One of the user's monitors, for the confirmation before deleting it.
    pub async fn named(&self, user: UserId, id: MonitorId) -> Result<Named, MonitorError> {
        self.db
            .run(move |conn| named_in(conn, user, id))
            .await?
            .ok_or(MonitorError::NotFound)
    }

    /// Deletes one of the user's monitors (its rules go with it); answers what it was.
    pub async fn delete(&self, user: UserId, id: MonitorId) -> Result<Named, MonitorError> {
        self.db
            .run(move |conn| {
                let Some(named) = named_in(conn, user, id)? else {
                    return Ok(None);
                };
                Ok(rows::delete_for_user(conn, user, id)?.then_some(named))
            })
            .await?
            .ok_or(MonitorError::NotFound)
    }

    /// Adds an alert rule to one of the user's monitors, sent to one of the user's channels.
    pub async fn add_rule(
        &self,
        user: UserId,
        monitor_id: MonitorId,
        ask: RuleAsk,
    ) -> Result<RuleId, MonitorError> {
        let now = self.now();
        let max_for_user = self.limits.rules_per_user;
        let id = self
            .db
            .run(move |conn| {
                let Some(monitor) = rows::get_for_user(conn, user, monitor_id)? else {
                    return Ok(Err(MonitorError::NotFound));
                };
                let rule = match check_rule(&ask, monitor.kind == CheckKind::Probe) {
                    Ok(rule) => rule,
                    Err(error) => return Ok(Err(MonitorError::Rule(error))),
                };
                if rule.condition == Condition::ModelGone
                    && let (Some(model), Some(preset)) = (&rule.model, monitor.preset_id)
                {
                    let models = presets::get_for_user(conn, user, preset)?
                        .map(|p| p.models)
                        .unwrap_or_default();
                    if !models.contains(model) {
                        return Ok(Err(MonitorError::Rule(RuleError::ModelNotInPreset)));
                    }
                }
                if rule_rows::count_rules(conn, monitor_id)? >= MAX_RULES_PER_MONITOR {
                    return Ok(Err(MonitorError::TooManyRules {
                        max: MAX_RULES_PER_MONITOR,
                    }));
                }
                if rule_rows::count_rules_for_user(conn, user)? >= max_for_user {
                    return Ok(Err(MonitorError::TooManyRulesForUser { max: max_for_user }));
                }
                let at_time = rule.at_time.map(schedule::time_of_day_text);
                // Only the daily summary is sent on a clock; grant_unclaimed's time gates a
                // verdict.
                let next_summary_at = rule
                    .at_time
                    .filter(|_| rule.condition == Condition::DailySummary)
                    .map(|t| Schedule::AtTimes(vec![t]).first_slot(now, 0));
                let row = NewRuleRow {
                    monitor_id,
                    user_id: user,
                    condition: rule.condition,
                    threshold: rule.threshold,
                    model: rule.model.as_deref(),
                    at_time: at_time.as_deref(),
                    within_hours: rule.within_hours,
                    channel_id: rule.channel_id,
                    created_at: now,
                    next_summary_at,
                };
                Ok(rule_rows::insert_rule(conn, &row)?.ok_or(MonitorError::ChannelNotFound))
            })
            .await??;
        self.changed();
        Ok(id)
    }

    /// One of the user's rules on one of the user's monitors, for the confirmation before
    /// deleting it.
    pub async fn rule(
        &self,
        user: UserId,
        monitor_id: MonitorId,
        rule_id: RuleId,
    ) -> Result<StoredRule, MonitorError> {
        self.db
            .run(move |conn| rule_rows::rule_for_user(conn, user, monitor_id, rule_id))
            .await?
            .ok_or(MonitorError::RuleNotFound)
    }

    /// Deletes one rule; answers what it was.
    pub async fn delete_rule(
        &self,
        user: UserId,
        monitor_id: MonitorId,
        rule_id: RuleId,
    ) -> Result<StoredRule, MonitorError> {
        let rule = self.rule(user, monitor_id, rule_id).await?;
        let deleted = self
            .db
            .run(move |conn| rule_rows::delete_rule_for_user(conn, user, monitor_id, rule_id))
            .await?;
        // Gone in between: deleted by another request.
        deleted.then_some(rule).ok_or(MonitorError::RuleNotFound)
    }
}
