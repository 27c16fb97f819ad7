//! Checking a configuration: every setting the app cannot run with is refused at start-up,
//! naming the key to fix and saying how.

use super::{AppConfig, MetricsToken};

impl AppConfig {
    /// Rejects settings the app cannot run with, naming the key to fix.
    pub fn validate(mut self) -> Result<Self, ConfigError> {
        for (key, value) in [
            ("modelscope_api_base", &mut self.modelscope_api_base),
            ("modelscope_hub_base", &mut self.modelscope_hub_base),
            ("modelscope_ai_api_base", &mut self.modelscope_ai_api_base),
            ("modelscope_ai_hub_base", &mut self.modelscope_ai_hub_base),
        ] {
            *value = http_url(key, value)?;
        }
        let positive = [
            ("upstream_timeout_secs", self.upstream_timeout_secs as usize),
            ("query_concurrency", self.query_concurrency),
            ("global_concurrency", self.global_concurrency),
            ("anonymous_concurrency", self.anonymous_concurrency),
            (
                "anonymous_queries_per_address",
                self.anonymous_queries_per_address,
            ),
            ("max_models_per_query", self.max_models_per_query),
            ("body_timeout_secs", self.body_timeout_secs as usize),
        ];
        for (key, value) in positive {
            if value == 0 {
                return Err(ConfigError::Zero { key });
            }
        }
        if self.anonymous_concurrency > self.global_concurrency {
            return Err(ConfigError::AnonymousAboveGlobal {
                anonymous: self.anonymous_concurrency,
                global: self.global_concurrency,
            });
        }
        if let Some(url) = self.public_url.take()
            && !url.trim().trim_end_matches('/').is_empty()
        {
            self.public_url = Some(http_url("public_url", &url)?);
        }
        // Below the global limit, so scheduled work can never hold every upstream slot.
        if self.scheduler_concurrency == 0 || self.scheduler_concurrency >= self.global_concurrency
        {
            return Err(ConfigError::SchedulerConcurrency {
                scheduler: self.scheduler_concurrency,
                global: self.global_concurrency,
            });
        }
        // The modes of `auth::signup::SignupMode` (the domain's set; this layer cannot name it).
        if let Some(mode) = &self.signup_mode
            && !matches!(mode.as_str(), "open" | "invite" | "closed")
        {
            return Err(ConfigError::SignupMode {
                value: mode.clone(),
            });
        }
        if !(1..=365).contains(&self.invitation_days) {
            return Err(ConfigError::InvitationDays {
                days: self.invitation_days,
            });
        }
        // A share below the whole, so one user can never hold every scheduler slot.
        let per_user = self.scheduler_runs_per_user();
        if per_user == 0
            || (per_user >= self.scheduler_concurrency && self.scheduler_concurrency > 1)
        {
            return Err(ConfigError::RunsPerUser {
                per_user,
                scheduler: self.scheduler_concurrency,
            });
        }
        for (key, value) in [
            (
                "run_now_per_monitor_per_hour",
                i64::from(self.run_now_per_monitor_per_hour),
            ),
            (
                "run_now_per_user_per_hour",
                i64::from(self.run_now_per_user_per_hour),
            ),
            ("max_keys_per_user", self.max_keys_per_user),
            ("max_monitors_per_user", self.max_monitors_per_user),
            ("max_keys_per_monitor", self.max_keys_per_monitor as i64),
            ("max_rules_per_user", self.max_rules_per_user),
            ("max_channels_per_user", self.max_channels_per_user),
        ] {
            if value < 1 {
                return Err(ConfigError::Zero { key });
            }
        }
        if self.notify_timeout_secs == 0 {
            return Err(ConfigError::Zero {
                key: "notify_timeout_secs",
            });
        }
        for (key, value) in [
            ("channel_tests_per_minute", self.channel_tests_per_minute),
            ("channel_tests_per_hour", self.channel_tests_per_hour),
        ] {
            if value == 0 {
                return Err(ConfigError::Zero { key });
            }
        }
        // The log must hold at least an hour of tests, or the throttle would forget them.
        let least = i64::from(self.channel_tests_per_hour).max(100);
        if self.deliveries_kept_per_user < least {
            return Err(ConfigError::DeliveriesKept {
                kept: self.deliveries_kept_per_user,
                least,
            });
        }
        if self.notify_connect_timeout_secs == 0 {
            return Err(ConfigError::Zero {
                key: "notify_connect_timeout_secs",
            });
        }
        if self.query_deadline_secs == Some(0) {
            return Err(ConfigError::Zero {
                key: "query_deadline_secs",
            });
        }
        if let Some(token) = &self.metrics_token {
            let text = token.expose();
            if text.chars().count() < MetricsToken::MIN_LEN
                || !text.chars().all(|c| c.is_ascii_graphic())
            {
                return Err(ConfigError::MetricsToken);
            }
        }
        self.oidc = self.oidc_settings.resolve(self.public_url.as_deref())?;
        Ok(self)
    }
}

/// `value` as an http(s) URL with a host, without spaces around it or a trailing slash.
pub(super) fn http_url(key: &'static str, value: &str) -> Result<String, ConfigError> {
    let trimmed = value.trim().trim_end_matches('/').to_string();
    let url = reqwest::Url::parse(&trimmed).map_err(|reason| ConfigError::NotAUrl {
        key,
        value: value.to_owned(),
        reason,
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(ConfigError::NotHttp {
            key,
            value: value.to_owned(),
        });
    }
    Ok(trimmed)
}

/// A configuration the app cannot run with; each names the key to fix and says how.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Figment could not read it (a value of the wrong type, an unknown `log_format`, …).
    #[error("configuration: {0}")]
    Unreadable(Box<rocket::figment::Error>),
    #[error("{key} = {value:?} is not a URL: {reason}")]
    NotAUrl {
        key: &'static str,
        value: String,
        reason: url::ParseError,
    },
    #[error("{key} = {value:?} must be an http(s) URL with a host")]
    NotHttp { key: &'static str, value: String },
    #[error("{key} must be at least 1")]
    Zero { key: &'static str },
    #[error("anonymous_concurrency = {anonymous} must not exceed global_concurrency = {global}")]
    AnonymousAboveGlobal { anonymous: usize, global: usize },
    #[error(
        "scheduler_concurrency = {scheduler} must be at least 1 and below global_concurrency = \
         {global}, so interactive queries always keep room"
    )]
    SchedulerConcurrency { scheduler: usize, global: usize },
    #[error("signup_mode = {value:?} must be open, invite or closed")]
    SignupMode { value: String },
    #[error("invitation_days = {days} must be between 1 and 365")]
    InvitationDays { days: u32 },
    #[error(
        "scheduler_runs_per_user = {per_user} must be at least 1 and below \
         scheduler_concurrency = {scheduler}, so one user's runs never hold every slot"
    )]
    RunsPerUser { per_user: usize, scheduler: usize },
    #[error(
        "deliveries_kept_per_user = {kept} must be at least {least} (100, and at least \
         channel_tests_per_hour: the test throttle counts the log)"
    )]
    DeliveriesKept { kept: i64, least: i64 },
    /// The token itself is not repeated: the message may reach a log.
    #[error(
        "metrics_token must be at least {} printable characters without spaces (e.g. the \
         output of `openssl rand -hex 32`), or unset to turn /metrics off",
        MetricsToken::MIN_LEN
    )]
    MetricsToken,
    /// Single sign-on's settings (`oidc_*`); the secret itself is never part of the message.
    #[error("single sign-on: {0}")]
    Oidc(String),
}
