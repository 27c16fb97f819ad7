//! Monitors, their rules and notification channels, said for the pages: each refusal tied to
//! the field of the form that was wrong; a limit says which, and when to come back.

use rocket::http::Status;

use super::Problem;
use crate::monitors::MonitorError;
use crate::monitors::rules::RuleError;
use crate::monitors::run_now::RunNowLimit;
use crate::monitors::schedule::ScheduleError;
use crate::names::MAX_NAME_CHARS;
use crate::notify::ChannelError;
use crate::notify::channels::{MAX_RECIPIENTS, TestLimit, TestRefused};
use crate::web::kit::notice::{Notice, NoticeCode};
use crate::web::kit::view::{cost_text, points};

impl Problem {
    /// Monitors and their rules, tied to the field of the form that was wrong.
    pub fn monitor(error: &MonitorError) -> Self {
        let limit = |status, code, max: i64| Self::new(status, Notice::new(code).with_n(max));
        match error {
            MonitorError::NoKey => Self::refused_on(NoticeCode::NoKeyChosen, "key_id"),
            MonitorError::TooManyKeys { max } => Self::new(
                Status::UnprocessableEntity,
                Notice::new(NoticeCode::TooManyMonitorKeys)
                    .with_n(*max as i64)
                    .on("key_id"),
            ),
            MonitorError::KeyNotFound => Self::refused_on(NoticeCode::ChosenKeyNotFound, "key_id"),
            MonitorError::BadCheck => Self::refused_on(NoticeCode::BadCheck, "check"),
            MonitorError::NoPreset => Self::refused_on(NoticeCode::ProbeNeedsPreset, "preset_id"),
            MonitorError::PresetNotFound => {
                Self::refused_on(NoticeCode::PresetNotFound, "preset_id")
            }
            MonitorError::Schedule(error) => Self::schedule(*error),
            MonitorError::NeedsCap => Self::refused_on(NoticeCode::ProbeNeedsCap, "daily_cost_cap"),
            MonitorError::BadCap => Self::refused_on(NoticeCode::BadCap, "daily_cost_cap"),
            MonitorError::OverCap { daily, cap } => Self::new(
                Status::UnprocessableEntity,
                Notice::new(NoticeCode::OverCap)
                    .with_arg("cost", cost_text(daily))
                    .with_arg("cap", points(*cap))
                    .on("daily_cost_cap"),
            ),
            MonitorError::TooMany { max } => {
                limit(Status::Conflict, NoticeCode::TooManyMonitors, *max)
            }
            MonitorError::NotFound => {
                Self::new(Status::NotFound, Notice::new(NoticeCode::MonitorNotFound))
            }
            MonitorError::Rule(error) => Self::rule(error),
            MonitorError::TooManyRules { max } => {
                limit(Status::Conflict, NoticeCode::TooManyRules, *max)
            }
            MonitorError::TooManyRulesForUser { max } => {
                limit(Status::Conflict, NoticeCode::TooManyUserRules, *max)
            }
            MonitorError::RunNowLimited(refused) => {
                let (code, max) = match refused.limit {
                    RunNowLimit::PerMonitor { max } => (NoticeCode::RunNowPerMonitor, max),
                    RunNowLimit::PerUser { max } => (NoticeCode::RunNowPerUser, max),
                };
                Self::new(
                    Status::TooManyRequests,
                    Notice::new(code)
                        .with_n(i64::from(max))
                        .with_arg("minutes", minutes(refused.retry_after_secs)),
                )
            }
            MonitorError::ChannelNotFound => {
                Self::refused_on(NoticeCode::ChosenChannelNotFound, "channel_id")
            }
            MonitorError::RuleNotFound => {
                Self::new(Status::NotFound, Notice::new(NoticeCode::RuleNotFound))
            }
            MonitorError::Db(error) => Self::db(error),
        }
    }

    fn schedule(error: ScheduleError) -> Self {
        match error {
            ScheduleError::Missing => {
                Self::refused_on(NoticeCode::ScheduleMissing, "every_minutes")
            }
            ScheduleError::Both => Self::refused_on(NoticeCode::ScheduleBoth, "at_times"),
            ScheduleError::BadInterval { min } => Self::new(
                Status::UnprocessableEntity,
                Notice::new(NoticeCode::BadInterval)
                    .with_n(i64::from(min))
                    .on("every_minutes"),
            ),
            ScheduleError::BadTimes => Self::refused_on(NoticeCode::BadTimes, "at_times"),
        }
    }

    fn rule(error: &RuleError) -> Self {
        let (code, field) = match error {
            RuleError::BadCondition => (NoticeCode::BadCondition, "condition"),
            RuleError::BadThreshold => (NoticeCode::BadThreshold, "threshold"),
            RuleError::BadCalls => (NoticeCode::BadCallsThreshold, "threshold"),
            RuleError::NeedsModel => (NoticeCode::RuleNeedsModel, "model"),
            RuleError::BadModel => (NoticeCode::BadRuleModel, "model"),
            RuleError::BadAtTime => (NoticeCode::BadAtTime, "at_time"),
            RuleError::BadHours => (NoticeCode::BadForecastHours, "threshold"),
            RuleError::BadWithin => (NoticeCode::BadWithinHours, "within_hours"),
            RuleError::NoChannel => (NoticeCode::NoChannelChosen, "channel_id"),
            RuleError::NeedsProbe => (NoticeCode::RuleNeedsProbe, "condition"),
            RuleError::ModelNotInPreset => (NoticeCode::ModelNotInPreset, "model"),
        };
        Self::refused_on(code, field)
    }

    /// Notification channels, tied to the field of the form that was wrong.
    pub fn channel(error: &ChannelError) -> Self {
        let on = Self::refused_on;
        match error {
            ChannelError::BadKind => on(NoticeCode::BadChannelKind, "kind"),
            ChannelError::EmptyName => on(NoticeCode::EmptyChannelName, "name"),
            ChannelError::BadName => Self::new(
                Status::UnprocessableEntity,
                Notice::new(NoticeCode::BadName)
                    .with_n(MAX_NAME_CHARS as i64)
                    .on("name"),
            ),
            ChannelError::DuplicateName => Self::new(
                Status::Conflict,
                Notice::new(NoticeCode::DuplicateChannelName).on("name"),
            ),
            ChannelError::TooMany { max } => Self::new(
                Status::Conflict,
                Notice::new(NoticeCode::TooManyChannels).with_n(*max),
            ),
            ChannelError::NeedsUrl => on(NoticeCode::NeedsUrl, "url"),
            ChannelError::BadUrl => on(NoticeCode::BadUrl, "url"),
            ChannelError::NeedsSecret => on(NoticeCode::NeedsSecret, "secret"),
            ChannelError::BadSecret => on(NoticeCode::BadSecret, "secret"),
            ChannelError::NeedsChatId => on(NoticeCode::NeedsChatId, "chat_id"),
            ChannelError::BadChatId => on(NoticeCode::BadChatId, "chat_id"),
            ChannelError::NeedsSmtpHost => on(NoticeCode::NeedsSmtpHost, "smtp_host"),
            ChannelError::BadSmtpHost => on(NoticeCode::BadSmtpHost, "smtp_host"),
            ChannelError::BadSmtpPort => on(NoticeCode::BadSmtpPort, "smtp_port"),
            ChannelError::BadSmtpTls => on(NoticeCode::BadSmtpTls, "smtp_tls"),
            ChannelError::NeedsSmtpPassword => on(NoticeCode::NeedsSmtpPassword, "smtp_password"),
            ChannelError::BadFrom => on(NoticeCode::BadFrom, "smtp_from"),
            // The words are on the first field missing; the code marks the others too.
            ChannelError::SmtpNeedsAuth { auth, tls } => match (auth, tls) {
                (true, true) => on(NoticeCode::SmtpNeedsAuthTls, "smtp_user"),
                (true, false) => on(NoticeCode::SmtpNeedsAuth, "smtp_user"),
                _ => on(NoticeCode::SmtpNeedsTls, "smtp_tls"),
            },
            ChannelError::BadTo => Self::new(
                Status::UnprocessableEntity,
                Notice::new(NoticeCode::BadTo)
                    .with_n(MAX_RECIPIENTS as i64)
                    .on("smtp_to"),
            ),
            ChannelError::PrivateUrl => on(NoticeCode::PrivateUrl, "url"),
            ChannelError::PrivateSmtpHost => on(NoticeCode::PrivateSmtpHost, "smtp_host"),
            ChannelError::NotFound => {
                Self::new(Status::NotFound, Notice::new(NoticeCode::ChannelNotFound))
            }
            ChannelError::TestLimited(refused) => Self::test_limited(refused),
            ChannelError::NeedsReentry => Self::refused(NoticeCode::ChannelNeedsReentry),
            ChannelError::Vault(error) => {
                tracing::error!(%error, "sealing a channel failed");
                Self::new(
                    Status::InternalServerError,
                    Notice::new(NoticeCode::Internal),
                )
            }
            ChannelError::Db(error) => Self::db(error),
        }
    }

    /// A test message refused by a limit: which, and the wait (seconds within a minute's
    /// limits, minutes within an hour's).
    fn test_limited(refused: &TestRefused) -> Self {
        let secs = refused.retry_after_secs;
        let (code, n, wait) = match refused.limit {
            TestLimit::PerMinute { max } => (NoticeCode::TestPerMinute, max, Wait::Seconds),
            TestLimit::PerHour { max } => (NoticeCode::TestPerHour, max, Wait::Minutes),
            TestLimit::ChannelHour { max } => (NoticeCode::TestChannelHour, max, Wait::Minutes),
            TestLimit::ChannelBusy => (NoticeCode::TestChannelBusy, 0, Wait::Seconds),
            TestLimit::UserBusy => (NoticeCode::TestUserBusy, 0, Wait::Seconds),
        };
        let notice = Notice::new(code).with_n(i64::from(n));
        let notice = match wait {
            Wait::Seconds => notice.with_arg("seconds", secs.to_string()),
            Wait::Minutes => notice.with_arg("minutes", minutes(secs)),
        };
        Self::new(Status::TooManyRequests, notice)
    }
}

/// How a wait is said.
enum Wait {
    Seconds,
    Minutes,
}

/// A wait in whole minutes, rounded up.
fn minutes(secs: i64) -> String {
    ((secs + 59) / 60).to_string()
}
