//! Monitors, rules and notification channels, said for the pages (words: `err-<code>` in
//! `locales/<lang>/monitors.ftl`).

use rocket::http::Status;

use super::Problem;
use crate::monitors::MonitorError;
use crate::monitors::rules::RuleError;
use crate::monitors::run_now::RunNowLimit;
use crate::monitors::schedule::ScheduleError;
use crate::names::MAX_NAME_CHARS;
use crate::notify::ChannelError;
use crate::notify::channels::{MAX_RECIPIENTS, TestLimit};
use crate::web::kit::view::{self, Notice};

impl Problem {
    /// Monitors and their rules (words: `err-<code>` in `locales/<lang>/monitors.ftl`).
    pub fn monitor(error: &MonitorError) -> Self {
        match error {
            MonitorError::NoKey => Self::refused("mon-no-key"),
            MonitorError::TooManyKeys { max } => Self::new(
                Status::UnprocessableEntity,
                Notice::new("mon-too-many-keys").with_n(*max as i64),
            ),
            MonitorError::KeyNotFound => Self::refused("mon-key-not-found"),
            MonitorError::BadCheck => Self::refused("mon-bad-check"),
            MonitorError::NoPreset => Self::refused("mon-no-preset"),
            MonitorError::PresetNotFound => Self::refused("mon-preset-not-found"),
            MonitorError::Schedule(ScheduleError::Missing) => Self::refused("mon-schedule-missing"),
            MonitorError::Schedule(ScheduleError::Both) => Self::refused("mon-schedule-both"),
            MonitorError::Schedule(ScheduleError::BadInterval { min }) => Self::new(
                Status::UnprocessableEntity,
                Notice::new("mon-bad-interval").with_n(i64::from(*min)),
            ),
            MonitorError::Schedule(ScheduleError::BadTimes) => Self::refused("mon-bad-times"),
            MonitorError::NeedsCap => Self::refused("mon-needs-cap"),
            MonitorError::BadCap => Self::refused("mon-bad-cap"),
            MonitorError::OverCap { min, max, cap } => {
                let cost = crate::runs::calls_left::ExpectedCost {
                    min: *min,
                    max: *max,
                };
                Self::new(
                    Status::UnprocessableEntity,
                    Notice::new("mon-over-cap").with_name(format!(
                        "{};{}",
                        view::cost_text(&cost),
                        view::points(*cap)
                    )),
                )
            }
            MonitorError::TooMany { max } => {
                Self::new(Status::Conflict, Notice::new("mon-too-many").with_n(*max))
            }
            MonitorError::NotFound => Self::new(Status::NotFound, Notice::new("mon-not-found")),
            MonitorError::Rule(error) => Self::refused(match error {
                RuleError::BadCondition => "rule-bad-condition",
                RuleError::BadThreshold => "rule-bad-threshold",
                RuleError::BadCalls => "rule-bad-calls",
                RuleError::NeedsModel => "rule-needs-model",
                RuleError::BadModel => "rule-bad-model",
                RuleError::BadAtTime => "rule-bad-at-time",
                RuleError::NoChannel => "rule-no-channel",
                RuleError::NeedsProbe => "rule-needs-probe",
                RuleError::ModelNotInPreset => "rule-model-not-in-preset",
            }),
            MonitorError::TooManyRules { max } => {
                Self::new(Status::Conflict, Notice::new("rule-too-many").with_n(*max))
            }
            MonitorError::TooManyRulesForUser { max } => Self::new(
                Status::Conflict,
                Notice::new("rule-too-many-user").with_n(*max),
            ),
            MonitorError::RunNowLimited(refused) => {
                let code = match refused.limit {
                    RunNowLimit::PerMonitor { .. } => "mon-run-now-per-monitor",
                    RunNowLimit::PerUser { .. } => "mon-run-now-per-user",
                };
                let max = match refused.limit {
                    RunNowLimit::PerMonitor { max } | RunNowLimit::PerUser { max } => max,
                };
                // `name` is the wait in whole minutes.
                let minutes = (refused.retry_after_secs + 59) / 60;
                Self::new(
                    Status::TooManyRequests,
                    Notice::new(code)
                        .with_n(i64::from(max))
                        .with_name(minutes.to_string()),
                )
            }
            MonitorError::ChannelNotFound => Self::refused("rule-channel-not-found"),
            MonitorError::RuleNotFound => {
                Self::new(Status::NotFound, Notice::new("rule-not-found"))
            }
            MonitorError::Db(error) => Self::db(error),
        }
    }

    /// Notification channels; a refusal marks the fields it is about.
    pub fn channel(error: &ChannelError) -> Self {
        match error {
            ChannelError::BadKind => Self::refused_on("ch-bad-kind", "kind"),
            ChannelError::EmptyName => Self::refused_on("ch-empty-name", "name"),
            ChannelError::BadName => Self::new(
                Status::UnprocessableEntity,
                Notice::new("ch-bad-name")
                    .with_n(MAX_NAME_CHARS as i64)
                    .on("name"),
            ),
            ChannelError::DuplicateName => Self::new(
                Status::Conflict,
                Notice::new("ch-duplicate-name").on("name"),
            ),
            ChannelError::TooMany { max } => {
                Self::new(Status::Conflict, Notice::new("ch-too-many").with_n(*max))
            }
            ChannelError::NeedsUrl => Self::refused_on("ch-needs-url", "url"),
            ChannelError::BadUrl => Self::refused_on("ch-bad-url", "url"),
            ChannelError::NeedsSecret => Self::refused_on("ch-needs-secret", "secret"),
            ChannelError::BadSecret => Self::refused("ch-bad-secret"),
            ChannelError::NeedsChatId => Self::refused_on("ch-needs-chat-id", "chat_id"),
            ChannelError::BadChatId => Self::refused_on("ch-bad-chat-id", "chat_id"),
            ChannelError::NeedsSmtpHost => Self::refused_on("ch-needs-smtp-host", "smtp_host"),
            ChannelError::BadSmtpHost => Self::refused_on("ch-bad-smtp-host", "smtp_host"),
            ChannelError::BadSmtpPort => Self::refused_on("ch-bad-smtp-port", "smtp_port"),
            ChannelError::BadSmtpTls => Self::refused_on("ch-bad-smtp-tls", "smtp_tls"),
            ChannelError::NeedsSmtpPassword => {
                Self::refused_on("ch-needs-smtp-password", "smtp_password")
            }
            ChannelError::SmtpNeedsAuth { auth, tls } => {
                let (code, fields): (_, &'static [&'static str]) = match (auth, tls) {
                    (true, true) => (
                        "ch-smtp-needs-auth-tls",
                        &["smtp_user", "smtp_password", "smtp_tls"],
                    ),
                    (true, false) => ("ch-smtp-needs-auth", &["smtp_user", "smtp_password"]),
                    _ => ("ch-smtp-needs-tls", &["smtp_tls"]),
                };
                Self::refused_on_all(code, fields)
            }
            ChannelError::BadFrom => Self::refused_on("ch-bad-from", "smtp_from"),
            ChannelError::BadTo => Self::new(
                Status::UnprocessableEntity,
                Notice::new("ch-bad-to")
                    .with_n(MAX_RECIPIENTS as i64)
                    .on("smtp_to"),
            ),
            ChannelError::NotFound => Self::new(Status::NotFound, Notice::new("ch-not-found")),
            ChannelError::TestLimited(refused) => {
                // `name` is the wait: seconds within a minute's limits, minutes within an hour's.
                let secs = refused.retry_after_secs;
                let mins = (secs + 59) / 60;
                let (code, n, wait) = match refused.limit {
                    TestLimit::PerMinute { max } => ("ch-test-per-minute", i64::from(max), secs),
                    TestLimit::PerHour { max } => ("ch-test-per-hour", i64::from(max), mins),
                    TestLimit::ChannelHour { max } => {
                        ("ch-test-channel-hour", i64::from(max), mins)
                    }
                    TestLimit::ChannelBusy => ("ch-test-channel-busy", 0, secs),
                    TestLimit::UserBusy => ("ch-test-user-busy", 0, secs),
                };
                Self::new(
                    Status::TooManyRequests,
                    Notice::new(code).with_n(n).with_name(wait.to_string()),
                )
            }
            ChannelError::NeedsReentry => Self::refused("ch-needs-reentry"),
            ChannelError::Vault(error) => {
                tracing::error!(%error, "sealing a channel failed");
                Self::new(Status::InternalServerError, Notice::new("internal"))
            }
            ChannelError::Db(error) => Self::db(error),
        }
    }
}

/// Every notice code [`Problem::monitor`] and [`Problem::channel`] can give (their words are
/// `err-<code>`; a unit test checks both languages have them).
#[cfg(test)]
pub const MONITORING_CODES: &[&str] = &[
    "mon-no-key",
    "mon-too-many-keys",
    "mon-key-not-found",
    "mon-bad-check",
    "mon-no-preset",
    "mon-preset-not-found",
    "mon-schedule-missing",
    "mon-schedule-both",
    "mon-bad-interval",
    "mon-bad-times",
    "mon-needs-cap",
    "mon-bad-cap",
    "mon-over-cap",
    "mon-too-many",
    "mon-not-found",
    "rule-bad-condition",
    "rule-bad-threshold",
    "rule-bad-calls",
    "rule-needs-model",
    "rule-bad-model",
    "rule-bad-at-time",
    "rule-no-channel",
    "rule-needs-probe",
    "rule-model-not-in-preset",
    "rule-too-many",
    "rule-too-many-user",
    "mon-run-now-per-monitor",
    "mon-run-now-per-user",
    "rule-channel-not-found",
    "rule-not-found",
    "ch-bad-kind",
    "ch-empty-name",
    "ch-bad-name",
    "ch-duplicate-name",
    "ch-too-many",
    "ch-needs-url",
    "ch-bad-url",
    "ch-needs-secret",
    "ch-bad-secret",
    "ch-needs-chat-id",
    "ch-bad-chat-id",
    "ch-needs-smtp-host",
    "ch-bad-smtp-host",
    "ch-bad-smtp-port",
    "ch-bad-smtp-tls",
    "ch-needs-smtp-password",
    "ch-smtp-needs-auth-tls",
    "ch-smtp-needs-auth",
    "ch-smtp-needs-tls",
    "ch-test-per-minute",
    "ch-test-per-hour",
    "ch-test-channel-hour",
    "ch-test-channel-busy",
    "ch-test-user-busy",
    "ch-bad-from",
    "ch-bad-to",
    "ch-not-found",
    "ch-needs-reentry",
    "internal",
    "unavailable",
];
