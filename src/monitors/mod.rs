//! Monitors: a user's saved keys watched on a schedule (the free balance check, or a preset
//! probed), and the alert rules on them. This module checks what a form asks for and stores
//! it; `scheduler` runs monitors and sends the alerts. No Rocket types, no runs: what a
//! probe costs is the scheduler's to work out (it knows the prices).

pub mod rules;
pub mod run_now;
pub mod schedule;

use crate::db::alert_rules::{self as rule_rows, NewRuleRow, StoredRule};
use crate::db::monitors::{self as rows, InsertRefused, NewMonitorRow};
use crate::db::{Db, DbError, presets};
use crate::ids::{KeyId, MonitorId, PresetId, RuleId, UserId};
use rules::{Condition, RuleAsk, RuleError, check_rule};
use schedule::{MIN_CHECK_MINUTES, MIN_PROBE_MINUTES, Schedule, ScheduleError};

/// Rules on one monitor, whatever the user's limit.
pub const MAX_RULES_PER_MONITOR: i64 = 20;

/// What one user may have (from the configuration): one user's monitors run in their share
/// of the scheduler's slots, and each costs upstream calls.
#[derive(Debug, Clone, Copy)]
pub struct MonitorLimits {
    /// `max_monitors_per_user`.
    pub monitors_per_user: i64,
    /// `max_keys_per_monitor`.
    pub keys_per_monitor: usize,
    /// `max_rules_per_user`.
    pub rules_per_user: i64,
}
/// The largest daily cost cap accepted, in points.
pub const MAX_DAILY_CAP: f64 = 100_000.0;

/// What a monitor does on each run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckKind {
    /// The free points balance only.
    Balance,
    /// A preset probed (costs points).
    Probe,
}

impl CheckKind {
    /// As stored (`check`, `probe`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Balance => "check",
            Self::Probe => "probe",
        }
    }

    /// The stored form.
    pub fn from_stored(text: &str) -> Self {
        if text == "probe" {
            Self::Probe
        } else {
            Self::Balance
        }
    }

    /// The form's `check` field: `balance` (the default) or `probe`.
    pub fn parse_form(text: Option<&str>) -> Option<Self> {
        match text.map(str::trim).unwrap_or("") {
            "" | "balance" | "check" => Some(Self::Balance),
            "probe" => Some(Self::Probe),
            _ => None,
        }
    }
}

/// A monitor's fields as the form sent them.
#[derive(Debug, Default, Clone)]
pub struct MonitorAsk {
    pub key_ids: Vec<String>,
    pub check: Option<String>,
    pub preset_id: Option<String>,
    pub every_minutes: Option<String>,
    pub at_times: Option<String>,
    pub daily_cost_cap: Option<String>,
}

/// A checked monitor, ready to be priced and stored.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMonitor {
    pub keys: Vec<KeyId>,
    pub kind: CheckKind,
    pub preset: Option<PresetId>,
    pub schedule: Schedule,
    pub daily_cost_cap: Option<f64>,
}

#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    #[error("choose at least one key")]
    NoKey,
    #[error("at most {max} keys per monitor")]
    TooManyKeys { max: usize },
    #[error("no such key")]
    KeyNotFound,
    #[error("check must be balance or probe")]
    BadCheck,
    #[error("a probe needs a preset")]
    NoPreset,
    #[error("no such preset")]
    PresetNotFound,
    #[error(transparent)]
    Schedule(ScheduleError),
    #[error("a probe needs a daily cost cap")]
    NeedsCap,
    #[error("the daily cost cap must be a positive number of points")]
    BadCap,
    /// The schedule is expected to cost more per day than the cap (`min`–`max` points).
    #[error("expected {min}–{max} points a day, over the cap of {cap}")]
    OverCap { min: f64, max: f64, cap: f64 },
    #[error("at most {max} monitors per user")]
    TooMany { max: i64 },
    #[error("no such monitor")]
    NotFound,
    #[error(transparent)]
    Rule(RuleError),
    #[error("at most {max} rules per monitor")]
    TooManyRules { max: i64 },
    #[error("at most {max} alert rules per user")]
    TooManyRulesForUser { max: i64 },
    /// A "run now" over a limit.
    #[error("no run now: {0:?}")]
    RunNowLimited(run_now::RunNowRefused),
    #[error("no such channel")]
    ChannelNotFound,
    #[error("no such rule")]
    RuleNotFound,
    #[error(transparent)]
    Db(#[from] DbError),
}

fn text(field: &Option<String>) -> Option<&str> {
    field.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Checks a monitor's fields (ownership and cost are checked when it is stored).
pub fn check_monitor(ask: &MonitorAsk, limits: &MonitorLimits) -> Result<NewMonitor, MonitorError> {
    let mut keys = Vec::new();
    for raw in ask
        .key_ids
        .iter()
        .map(|k| k.trim())
        .filter(|k| !k.is_empty())
    {
        let id: KeyId = raw.parse().map_err(|_| MonitorError::KeyNotFound)?;
        if !keys.contains(&id) {
            keys.push(id);
        }
    }
    if keys.is_empty() {
        return Err(MonitorError::NoKey);
    }
    if keys.len() > limits.keys_per_monitor {
        return Err(MonitorError::TooManyKeys {
            max: limits.keys_per_monitor,
        });
    }
    let kind = CheckKind::parse_form(ask.check.as_deref()).ok_or(MonitorError::BadCheck)?;
    let min_every = match kind {
        CheckKind::Balance => MIN_CHECK_MINUTES,
        CheckKind::Probe => MIN_PROBE_MINUTES,
    };
    let schedule = Schedule::parse(
        ask.every_minutes.as_deref(),
        ask.at_times.as_deref(),
        min_every,
    )
    .map_err(MonitorError::Schedule)?;
    let cap = match text(&ask.daily_cost_cap) {
        Some(cap) => Some(
            cap.parse::<f64>()
                .ok()
                .filter(|c| c.is_finite() && *c > 0.0 && *c <= MAX_DAILY_CAP)
                .ok_or(MonitorError::BadCap)?,
        ),
        None => None,
    };
    let (preset, cap) = match kind {
        CheckKind::Balance => (None, None),
        CheckKind::Probe => {
            let preset: PresetId = text(&ask.preset_id)
                .ok_or(MonitorError::NoPreset)?
                .parse()
                .map_err(|_| MonitorError::PresetNotFound)?;
            (Some(preset), Some(cap.ok_or(MonitorError::NeedsCap)?))
        }
    };
    Ok(NewMonitor {
        keys,
        kind,
        preset,
        schedule,
        daily_cost_cap: cap,
    })
}

/// The models of the user's preset `id` (for pricing a probe monitor).
pub async fn preset_models(
    db: &Db,
    user: UserId,
    id: PresetId,
) -> Result<Vec<String>, MonitorError> {
    db.run(move |conn| presets::get_for_user(conn, user, id))
        .await?
        .map(|p| p.models)
        .ok_or(MonitorError::PresetNotFound)
}

/// Stores a checked (and priced) monitor; its first run is within a minute (`jitter`) or at
/// its first time of day.
pub async fn create(
    db: &Db,
    user: UserId,
    new: &NewMonitor,
    limits: &MonitorLimits,
    jitter: i64,
    now: i64,
) -> Result<MonitorId, MonitorError> {
    let new = new.clone();
    let max = limits.monitors_per_user;
    db.run(move |conn| {
        if rows::count_for_user(conn, user)? >= max {
            return Ok(Err(MonitorError::TooMany { max }));
        }
        let at_times = new.schedule.at_times_text();
        let row = NewMonitorRow {
            user_id: user,
            kind: new.kind.as_str(),
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
    .await?
}

/// Everything the monitors page shows, read in one go.
pub struct Overview {
    pub monitors: Vec<rows::StoredMonitor>,
    pub keys: Vec<rows::MonitorKey>,
    pub rules: Vec<rule_rows::StoredRule>,
    /// `(rule, key)` pairs whose condition holds now.
    pub active: Vec<(RuleId, KeyId)>,
}

pub async fn overview(db: &Db, user: UserId) -> Result<Overview, MonitorError> {
    Ok(db
        .run(move |conn| {
            Ok(Overview {
                monitors: rows::list_for_user(conn, user)?,
                keys: rows::keys_for_user(conn, user)?,
                rules: rule_rows::rules_for_user(conn, user)?,
                active: rule_rows::active_alerts(conn, user)?,
            })
        })
        .await?)
}

fn found(done: bool) -> Result<(), MonitorError> {
    if done {
        Ok(())
    } else {
        Err(MonitorError::NotFound)
    }
}

pub async fn pause(db: &Db, user: UserId, id: MonitorId) -> Result<(), MonitorError> {
    found(
        db.run(move |conn| rows::set_paused(conn, user, id, true, None))
            .await?,
    )
}

/// Resumes from now: the next slot is the schedule's first after `now` (no burst of missed
/// runs), and the failure count starts again.
pub async fn resume(db: &Db, user: UserId, id: MonitorId, now: i64) -> Result<(), MonitorError> {
    found(
        db.run(move |conn| {
            let Some(monitor) = rows::get_for_user(conn, user, id)? else {
                return Ok(false);
            };
            let next = Schedule::from_stored(monitor.every_minutes, monitor.at_times.as_deref())
                .map(|s| s.first_slot(now, monitor.jitter_secs))
                .unwrap_or(now);
            rows::set_paused(conn, user, id, false, Some(next))
        })
        .await?,
    )
}

/// One monitor as a confirmation or a notice names it: its row and the labels of its keys.
pub struct Named {
    pub monitor: rows::StoredMonitor,
    pub key_labels: Vec<String>,
}

fn named_in(
    conn: &rusqlite::Connection,
    user: UserId,
    id: MonitorId,
) -> Result<Option<Named>, DbError> {
    let Some(monitor) = rows::get_for_user(conn, user, id)? else {
        return Ok(None);
    };
    let key_labels = rows::keys_of(conn, id)?
        .into_iter()
        .map(|k| k.label)
        .collect();
    Ok(Some(Named {
        monitor,
        key_labels,
    }))
}

/// One of the user's monitors, for the confirmation before deleting it.
pub async fn named(db: &Db, user: UserId, id: MonitorId) -> Result<Named, MonitorError> {
    db.run(move |conn| named_in(conn, user, id))
        .await?
        .ok_or(MonitorError::NotFound)
}

/// Deletes one of the user's monitors (its rules go with it); answers what it was.
pub async fn delete(db: &Db, user: UserId, id: MonitorId) -> Result<Named, MonitorError> {
    db.run(move |conn| {
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
    db: &Db,
    user: UserId,
    monitor_id: MonitorId,
    ask: RuleAsk,
    limits: &MonitorLimits,
    now: i64,
) -> Result<RuleId, MonitorError> {
    let max_for_user = limits.rules_per_user;
    db.run(move |conn| {
        let Some(monitor) = rows::get_for_user(conn, user, monitor_id)? else {
            return Ok(Err(MonitorError::NotFound));
        };
        let probes = CheckKind::from_stored(&monitor.kind) == CheckKind::Probe;
        let rule = match check_rule(&ask, probes) {
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
        let next_summary_at = rule
            .at_time
            .map(|t| Schedule::AtTimes(vec![t]).first_slot(now, 0));
        let row = NewRuleRow {
            monitor_id,
            user_id: user,
            condition: rule.condition.as_str(),
            threshold: rule.threshold,
            model: rule.model.as_deref(),
            at_time: at_time.as_deref(),
            channel_id: rule.channel_id,
            created_at: now,
            next_summary_at,
        };
        Ok(rule_rows::insert_rule(conn, &row)?.ok_or(MonitorError::ChannelNotFound))
    })
    .await?
}

/// One of the user's rules on one of the user's monitors, for the confirmation before
/// deleting it.
pub async fn rule(
    db: &Db,
    user: UserId,
    monitor_id: MonitorId,
    rule_id: RuleId,
) -> Result<StoredRule, MonitorError> {
    db.run(move |conn| rule_rows::rule_for_user(conn, user, monitor_id, rule_id))
        .await?
        .ok_or(MonitorError::RuleNotFound)
}

/// Deletes one rule; answers what it was.
pub async fn delete_rule(
    db: &Db,
    user: UserId,
    monitor_id: MonitorId,
    rule_id: RuleId,
) -> Result<StoredRule, MonitorError> {
    db.run(move |conn| {
        let Some(rule) = rule_rows::rule_for_user(conn, user, monitor_id, rule_id)? else {
            return Ok(None);
        };
        let deleted = rule_rows::delete_rule_for_user(conn, user, monitor_id, rule_id)?;
        Ok(deleted.then_some(rule))
    })
    .await?
    .ok_or(MonitorError::RuleNotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: MonitorLimits = MonitorLimits {
        monitors_per_user: 20,
        keys_per_monitor: 10,
        rules_per_user: 100,
    };

    fn check_monitor(ask: &MonitorAsk) -> Result<NewMonitor, MonitorError> {
        super::check_monitor(ask, &LIMITS)
    }

    fn ask(keys: &[&str], check: &str, every: &str, cap: &str) -> MonitorAsk {
        MonitorAsk {
            key_ids: keys.iter().map(|k| k.to_string()).collect(),
            check: Some(check.into()),
            preset_id: Some("4".into()),
            every_minutes: Some(every.into()),
            at_times: None,
            daily_cost_cap: Some(cap.into()),
        }
    }

    #[test]
    fn checks_a_monitor() {
        let ok = check_monitor(&ask(&["1", "2", "1"], "balance", "5", "")).unwrap();
        assert_eq!(ok.keys, vec![KeyId(1), KeyId(2)]);
        assert_eq!(ok.preset, None);
        assert_eq!(ok.daily_cost_cap, None);
        assert!(matches!(
            check_monitor(&ask(&[], "balance", "5", "")),
            Err(MonitorError::NoKey)
        ));
        assert!(matches!(
            check_monitor(&ask(&["1"], "probe", "10", "50")),
            Err(MonitorError::Schedule(ScheduleError::BadInterval {
                min: 30
            }))
        ));
        assert!(matches!(
            check_monitor(&ask(&["1"], "probe", "30", "")),
            Err(MonitorError::NeedsCap)
        ));
        assert!(matches!(
            check_monitor(&ask(&["1"], "probe", "30", "-3")),
            Err(MonitorError::BadCap)
        ));
        assert!(matches!(
            check_monitor(&ask(&["x"], "balance", "5", "")),
            Err(MonitorError::KeyNotFound)
        ));
        assert!(matches!(
            check_monitor(&ask(&["1"], "everything", "5", "")),
            Err(MonitorError::BadCheck)
        ));
        let probe = check_monitor(&ask(&["1"], "probe", "30", "40")).unwrap();
        assert_eq!(probe.preset, Some(PresetId(4)));
        assert_eq!(probe.daily_cost_cap, Some(40.0));
    }
}
