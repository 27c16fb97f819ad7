//! The configuration contract (README, "Configuration"): built-in defaults, then `Rocket.toml`,
//! then `ROCKET_*` variables. Every security-relevant default lives here, in the binary, so the
//! app behaves the same whatever its working directory.

use std::path::PathBuf;
use std::time::Duration;

use rocket::figment::providers::{Env, Format, Serialized, Toml};
use rocket::figment::{Figment, Profile};
use serde::Deserialize;

mod check;
pub mod oidc;

pub use check::ConfigError;

/// Request body limits built into the binary; `Rocket.toml` or `ROCKET_LIMITS` may change them.
/// No form or JSON body of this app comes near 64 KiB.
pub const BODY_LIMIT: &str = "64 KiB";

/// Seconds Rocket lets requests in flight finish after SIGTERM or Ctrl-C (`shutdown.grace`):
/// the default query deadline (40 s), the balance settling after it (3 s) and storing the run.
/// A larger `query_deadline_secs` wants a larger grace; runs are stored either way (they are
/// waited for, see `ops::shutdown`), but the client's answer is cut after the grace.
pub const SHUTDOWN_GRACE_SECS: u64 = 50;
/// Seconds after the grace for connections to close (`shutdown.mercy`).
pub const SHUTDOWN_MERCY_SECS: u64 = 5;

/// Rocket's own settings that matter for security, with the values the app is safe with when no
/// `Rocket.toml` is found: the client address comes from the connection (never a header
/// anyone can send), small bodies, short keep-alive; and a graceful shutdown long enough for
/// a query to finish and be stored.
fn rocket_defaults() -> serde_json::Value {
    serde_json::json!({
        "address": "127.0.0.1",
        "port": 8000,
        "ip_header": false,
        "keep_alive": 5,
        "shutdown": {
            "grace": SHUTDOWN_GRACE_SECS,
            "mercy": SHUTDOWN_MERCY_SECS,
        },
        "limits": {
            "form": BODY_LIMIT,
            "json": BODY_LIMIT,
            "string": BODY_LIMIT,
            "bytes": BODY_LIMIT,
            "msgpack": BODY_LIMIT,
            "data-form": BODY_LIMIT,
            "file": BODY_LIMIT,
        },
    })
}

/// The whole configuration: Rocket's defaults, the app's built-in defaults over them, then
/// `Rocket.toml` (from `ROCKET_CONFIG`, or the working directory) only overriding, then
/// `ROCKET_*` environment variables.
pub fn figment() -> Figment {
    Figment::from(rocket::Config::default())
        .merge(Serialized::defaults(rocket_defaults()))
        .merge(Toml::file(Env::var_or("ROCKET_CONFIG", "Rocket.toml")).nested())
        .merge(Env::prefixed("ROCKET_").ignore(&["PROFILE"]).global())
        .select(Profile::from_env_or(
            "ROCKET_PROFILE",
            rocket::Config::DEFAULT_PROFILE,
        ))
}

crate::closed_set! {
    /// How log lines are written (`log_format`).
    #[derive(Default)]
    pub enum LogFormat {
        /// One human-readable line per event.
        #[default]
        Text,
        /// One JSON object per line.
        Json,
    }
}

impl LogFormat {
    /// The format the configuration asks for, read before logging starts. A value that is no
    /// format falls back to text here; the configuration check then refuses it by name.
    pub fn configured(figment: &Figment) -> Self {
        figment
            .extract_inner::<LogFormat>("log_format")
            .unwrap_or_default()
    }
}

/// The bearer token `/metrics` asks for. Never printed: its `Debug` says only that it is set.
#[derive(Clone, PartialEq, Eq)]
pub struct MetricsToken(String);

impl MetricsToken {
    /// The fewest characters a token may have.
    pub const MIN_LEN: usize = 16;

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for MetricsToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetricsToken(…)")
    }
}

impl<'de> Deserialize<'de> for MetricsToken {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Self(text_or_digits(deserializer)?))
    }
}

/// A text setting, or the digits of a number: `ROCKET_METRICS_TOKEN=1234…` arrives as one.
fn text_or_digits<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        Signed(i64),
        Unsigned(u64),
    }
    Ok(match Raw::deserialize(deserializer)? {
        Raw::Text(text) => text,
        Raw::Signed(n) => n.to_string(),
        Raw::Unsigned(n) => n.to_string(),
    })
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct AppConfig {
    pub data_dir: PathBuf,
    database_path: Option<PathBuf>,
    master_key_file: Option<PathBuf>,
    pub modelscope_api_base: String,
    pub modelscope_hub_base: String,
    /// The international site (modelscope.ai), for keys saved as belonging to it.
    pub modelscope_ai_api_base: String,
    pub modelscope_ai_hub_base: String,
    pub upstream_timeout_secs: u64,
    /// The whole query's deadline; rows still waiting then become `timeout`.
    query_deadline_secs: Option<u64>,
    pub query_concurrency: usize,
    pub global_concurrency: usize,
    /// Of the global upstream slots, the most anonymous queries may hold at once.
    pub anonymous_concurrency: usize,
    /// Anonymous queries running at once from one client address.
    pub anonymous_queries_per_address: usize,
    pub max_models_per_query: usize,
    pub allow_signup: bool,
    /// The sign-up mode of a new instance (`open`, `invite`, `closed`); unset, `allow_signup`
    /// decides between open and closed.
    signup_mode: Option<String>,
    /// Days an invitation works.
    pub invitation_days: u32,
    secure_cookies: Option<bool>,
    pub history_retention_days: u32,
    /// Start even though saved keys were sealed under a master key that is not loaded (the key
    /// file was deleted or replaced): those keys stay unreadable until re-entered.
    pub accept_new_master_key: bool,
    /// Sign-ups that may start from one client address per hour (`0`: no limit).
    pub signups_per_address_per_hour: u32,
    /// A form body must arrive within this many seconds, or the request is answered 408.
    pub body_timeout_secs: u64,
    /// Webhooks and mail servers on loopback, private, link-local and metadata addresses are
    /// refused unless this is true (for a receiver of your own on the LAN).
    pub allow_private_webhooks: bool,
    /// Email channels may use a mail server that may be public without a login and TLS. Off:
    /// otherwise anyone with an account could make the server an open relay.
    pub allow_unauthenticated_smtp: bool,
    /// The app's public address, for links in notifications and as the passkeys' relying party
    /// (its host is the RP ID); none when unset (passkeys then only at `http://localhost`).
    pub public_url: Option<String>,
    /// Scheduled runs going at once, and the most of the global upstream slots their calls may
    /// hold together.
    pub scheduler_concurrency: usize,
    /// Of the scheduled runs going at once, one user's at most (below `scheduler_concurrency`;
    /// by default a quarter of it, at least 1).
    scheduler_runs_per_user: Option<usize>,
    /// "Run now" asked of one monitor, and by one user, an hour; more is 429.
    pub run_now_per_monitor_per_hour: u32,
    pub run_now_per_user_per_hour: u32,
    /// What one user may have.
    pub max_keys_per_user: i64,
    pub max_monitors_per_user: i64,
    pub max_keys_per_monitor: usize,
    pub max_rules_per_user: i64,
    pub max_channels_per_user: i64,
    /// Alert, recovery and summary messages one channel may send per hour; more are logged as
    /// held back.
    pub alerts_per_channel_per_hour: u32,
    /// Test messages one user may send a minute, and an hour (each also counts toward its
    /// channel's `alerts_per_channel_per_hour`).
    pub channel_tests_per_minute: u32,
    pub channel_tests_per_hour: u32,
    /// The newest rows of each user's delivery log kept (pending ones always; none older
    /// than 30 days).
    pub deliveries_kept_per_user: i64,
    /// One notification attempt's timeout, connect included.
    pub notify_timeout_secs: u64,
    /// Connecting to a receiver: one that does not accept soon is not waited for (at most
    /// `notify_timeout_secs`).
    pub notify_connect_timeout_secs: u64,
    /// Unset: `/metrics` does not exist (404). Set: it answers `Authorization: Bearer <token>`.
    pub metrics_token: Option<MetricsToken>,
    pub log_format: LogFormat,
    /// Single sign-on's keys as written (`oidc_*`, see `oidc`).
    #[serde(flatten)]
    oidc_settings: oidc::OidcSettings,
    /// Single sign-on as checked by `validate` (`None`: off).
    #[serde(skip)]
    oidc: Option<oidc::Oidc>,
}

impl Default for AppConfig {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("data"),
            database_path: None,
            master_key_file: None,
            modelscope_api_base: "https://api-inference.modelscope.cn/v1".into(),
            modelscope_hub_base: "https://modelscope.cn".into(),
            modelscope_ai_api_base: "https://api-inference.modelscope.ai/v1".into(),
            modelscope_ai_hub_base: "https://www.modelscope.ai".into(),
            upstream_timeout_secs: 30,
            query_deadline_secs: None,
            query_concurrency: 20,
            global_concurrency: 128,
            anonymous_concurrency: 32,
            anonymous_queries_per_address: 4,
            max_models_per_query: 50,
            allow_signup: true,
            signup_mode: None,
            invitation_days: 7,
            secure_cookies: None,
            history_retention_days: 90,
            accept_new_master_key: false,
            signups_per_address_per_hour: 10,
            body_timeout_secs: 15,
            allow_private_webhooks: false,
            allow_unauthenticated_smtp: false,
            public_url: None,
            scheduler_concurrency: 8,
            scheduler_runs_per_user: None,
            run_now_per_monitor_per_hour: 6,
            run_now_per_user_per_hour: 30,
            max_keys_per_user: 20,
            max_monitors_per_user: 20,
            max_keys_per_monitor: 10,
            max_rules_per_user: 100,
            max_channels_per_user: 10,
            alerts_per_channel_per_hour: 10,
            channel_tests_per_minute: 5,
            channel_tests_per_hour: 30,
            deliveries_kept_per_user: 1000,
            notify_timeout_secs: 10,
            notify_connect_timeout_secs: 3,
            metrics_token: None,
            log_format: LogFormat::Text,
            oidc_settings: oidc::OidcSettings::default(),
            oidc: None,
        }
    }
}

impl AppConfig {
    pub fn database_path(&self) -> PathBuf {
        self.database_path
            .clone()
            .unwrap_or_else(|| self.data_dir.join("modelscope-balance.db"))
    }

    pub fn master_key_file(&self) -> PathBuf {
        self.master_key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("master.key"))
    }

    /// `false` in debug builds and `true` in release unless set: TLS is expected in production.
    pub fn secure_cookies(&self) -> bool {
        self.secure_cookies.unwrap_or(!cfg!(debug_assertions))
    }

    pub fn scheduler_runs_per_user(&self) -> usize {
        self.scheduler_runs_per_user
            .unwrap_or((self.scheduler_concurrency / 4).max(1))
    }

    /// Sign-up until an admin chooses (`auth::signup::SignupMode` reads it): `signup_mode`,
    /// else `allow_signup` (open or closed).
    pub fn default_signup_mode(&self) -> &str {
        match &self.signup_mode {
            Some(mode) => mode,
            None if self.allow_signup => "open",
            None => "closed",
        }
    }

    /// Single sign-on with OpenID Connect, when `oidc_issuer` is set (checked at start).
    pub fn oidc(&self) -> Option<&oidc::Oidc> {
        self.oidc.as_ref()
    }

    pub fn notify_timeout(&self) -> Duration {
        Duration::from_secs(self.notify_timeout_secs)
    }

    pub fn notify_connect_timeout(&self) -> Duration {
        Duration::from_secs(
            self.notify_connect_timeout_secs
                .min(self.notify_timeout_secs),
        )
    }

    pub fn body_timeout(&self) -> Duration {
        Duration::from_secs(self.body_timeout_secs)
    }

    pub fn upstream_timeout(&self) -> Duration {
        Duration::from_secs(self.upstream_timeout_secs)
    }

    /// By default one call's timeout plus room for one capped `Retry-After` wait and queueing.
    pub fn query_deadline(&self) -> Duration {
        Duration::from_secs(
            self.query_deadline_secs
                .unwrap_or(self.upstream_timeout_secs + 10),
        )
    }

    /// The configuration from `figment`, checked: what the server and the commands run with.
    pub fn load(figment: &Figment) -> Result<Self, ConfigError> {
        figment
            .extract::<AppConfig>()
            .map_err(|error| ConfigError::Unreadable(Box::new(error)))?
            .validate()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Why `config` is refused, in words.
    fn refusal(config: AppConfig) -> String {
        config.validate().unwrap_err().to_string()
    }

    #[test]
    fn defaults_follow_the_contract() {
        let config = AppConfig::default().validate().unwrap();
        assert_eq!(
            config.database_path(),
            PathBuf::from("data/modelscope-balance.db")
        );
        assert_eq!(config.master_key_file(), PathBuf::from("data/master.key"));
        assert_eq!(config.query_deadline(), Duration::from_secs(40));
    }

    #[test]
    fn bad_values_name_the_key() {
        let config = AppConfig {
            modelscope_api_base: "ftp://x".into(),
            ..AppConfig::default()
        };
        assert!(refusal(config).contains("modelscope_api_base"));
        let config = AppConfig {
            query_concurrency: 0,
            ..AppConfig::default()
        };
        assert!(refusal(config).contains("query_concurrency"));
    }

    #[test]
    fn monitoring_settings() {
        let config = AppConfig::default().validate().unwrap();
        assert!(!config.allow_private_webhooks);
        assert!(!config.allow_unauthenticated_smtp);
        assert_eq!(config.public_url, None);
        let config = AppConfig {
            public_url: Some("https://msb.example/".into()),
            ..AppConfig::default()
        };
        assert_eq!(
            config.validate().unwrap().public_url.as_deref(),
            Some("https://msb.example")
        );
        let config = AppConfig {
            public_url: Some("javascript:alert(1)".into()),
            ..AppConfig::default()
        };
        assert!(refusal(config).contains("public_url"));
        for scheduler_concurrency in [0, 128, 129] {
            let config = AppConfig {
                scheduler_concurrency,
                global_concurrency: 128,
                ..AppConfig::default()
            };
            assert!(refusal(config).contains("scheduler_concurrency"));
        }
    }

    #[test]
    fn fair_shares_have_defaults_and_are_checked() {
        let config = AppConfig::default().validate().unwrap();
        assert_eq!(config.scheduler_runs_per_user(), 2);
        let small = AppConfig {
            scheduler_concurrency: 2,
            ..AppConfig::default()
        };
        assert_eq!(small.validate().unwrap().scheduler_runs_per_user(), 1);
        assert_eq!(config.channel_tests_per_minute, 5);
        assert_eq!(config.max_channels_per_user, 10);
        let whole = refusal(AppConfig {
            scheduler_runs_per_user: Some(8),
            ..AppConfig::default()
        });
        assert!(whole.contains("scheduler_runs_per_user"), "{whole}");
        let none = refusal(AppConfig {
            max_keys_per_user: 0,
            ..AppConfig::default()
        });
        assert!(none.contains("max_keys_per_user"), "{none}");
        let short = refusal(AppConfig {
            deliveries_kept_per_user: 10,
            ..AppConfig::default()
        });
        assert!(short.contains("deliveries_kept_per_user"), "{short}");
    }

    #[test]
    fn a_metrics_token_is_checked_and_never_printed() {
        let with = |token: &str| AppConfig {
            metrics_token: Some(MetricsToken(token.into())),
            ..AppConfig::default()
        };
        let short = refusal(with("secret"));
        assert!(short.contains("metrics_token"), "{short}");
        assert!(!short.contains("secret"), "{short}");
        assert!(with("has a space in it, 123").validate().is_err());
        let config = with("0123456789abcdef0123").validate().unwrap();
        assert!(!format!("{config:?}").contains("0123456789abcdef0123"));
        let figment = Figment::new().merge(("metrics_token", 12345678901234567_u64));
        let config = figment.extract::<AppConfig>().unwrap();
        assert_eq!(config.metrics_token.unwrap().expose(), "12345678901234567");
    }

    #[test]
    fn log_format_and_shutdown_have_built_in_defaults() {
        let figment = figment();
        assert_eq!(LogFormat::configured(&figment), LogFormat::Text);
        let json = figment.clone().merge(("log_format", "json"));
        assert_eq!(LogFormat::configured(&json), LogFormat::Json);
        let rocket = rocket::Config::from(&figment);
        assert_eq!(u64::from(rocket.shutdown.grace), SHUTDOWN_GRACE_SECS);
        assert!(rocket.shutdown.signals.contains(&rocket::config::Sig::Term));
        let bad = figment.merge(("log_format", "xml"));
        assert!(bad.extract::<AppConfig>().is_err());
    }

    #[test]
    fn the_signup_mode_is_one_of_three_and_allow_signup_decides_without_it() {
        assert_eq!(AppConfig::default().default_signup_mode(), "open");
        let closed = AppConfig {
            allow_signup: false,
            ..AppConfig::default()
        };
        assert_eq!(closed.default_signup_mode(), "closed");
        let invite = AppConfig {
            signup_mode: Some("invite".into()),
            ..AppConfig::default()
        };
        assert_eq!(invite.validate().unwrap().default_signup_mode(), "invite");
        let bad = AppConfig {
            signup_mode: Some("sometimes".into()),
            ..AppConfig::default()
        };
        assert!(refusal(bad).contains("signup_mode"));
        let days = AppConfig {
            invitation_days: 0,
            ..AppConfig::default()
        };
        assert!(refusal(days).contains("invitation_days"));
    }

    #[test]
    fn trailing_slash_is_trimmed() {
        let config = AppConfig {
            modelscope_api_base: "http://127.0.0.1:9/v1/".into(),
            ..AppConfig::default()
        };
        assert_eq!(
            config.validate().unwrap().modelscope_api_base,
            "http://127.0.0.1:9/v1"
        );
    }
}
