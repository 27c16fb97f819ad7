//! Monitors: a user's saved keys watched on a schedule (the free balance check, or a preset
//! probed), and the alert rules on them. [`Monitors`] is the one way pages reach them: it
//! checks what a form asks for (`ask.rs`, `rules.rs`), prices a probe against its cap
//! (`cost.rs`), stores it, and wakes the scheduler, which runs monitors and sends the alerts.
//! No Rocket types, no runs: prices come through a [`cost::PriceBook`].

pub mod ask;
pub mod cost;
mod handle;
pub mod rules;
pub mod run_now;
pub mod schedule;

pub use crate::db::monitors::{CheckKind, MonitorReason, Outcome, Reason};
pub use ask::{MonitorAsk, NewMonitor, check_monitor};
pub use handle::Monitors;

use std::collections::HashMap;

use crate::db::DbError;
use crate::db::alert_rules::StoredRule;
use crate::db::monitor_keys::{self as key_rows, MonitorKey};
use crate::db::monitors::{self as rows, StoredMonitor};
use crate::ids::{KeyId, MonitorId, RuleId, UserId};
use crate::modelscope::ExpectedCost;
use rules::RuleError;
use schedule::ScheduleError;

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
    /// How often one may ask for a run now.
    pub run_now: run_now::RunNowLimits,
}

/// The largest daily cost cap accepted, in points.
pub const MAX_DAILY_CAP: f64 = 100_000.0;

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
    /// The schedule is expected to cost more per day than the cap.
    #[error("expected {}–{} points a day, over the cap of {cap}", daily.min, daily.max)]
    OverCap { daily: ExpectedCost, cap: f64 },
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

/// Everything the monitors page shows, read in one go.
pub struct Overview {
    pub monitors: Vec<StoredMonitor>,
    pub keys: Vec<MonitorKey>,
    pub rules: Vec<StoredRule>,
    /// `(rule, key)` pairs whose condition holds now.
    pub active: Vec<(RuleId, KeyId)>,
    /// What each probe monitor is expected to cost a day.
    pub daily_costs: HashMap<MonitorId, ExpectedCost>,
}

/// One monitor as a confirmation or a notice names it: its row and the labels of its keys.
pub struct Named {
    pub monitor: StoredMonitor,
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
    let key_labels = key_rows::keys_of(conn, id)?
        .into_iter()
        .map(|k| k.label)
        .collect();
    Ok(Some(Named {
        monitor,
        key_labels,
    }))
}
