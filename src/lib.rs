//! modelscope-balance: how much can I still call, per key and per model?
//!
//! `rocket()` assembles the whole app (`startup` says why it would not); everything else is a
//! module with one job. Domain modules (`modelscope`, `runs`, `crypto`, `db`, …) know nothing
//! of Rocket; the layers are in docs/architecture.md.

pub mod api;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod closed_set;
pub mod config;
pub mod crypto;
pub mod db;
pub mod i18n;
pub mod ids;
pub mod keyring;
pub mod known_models;
pub mod logging;
pub mod modelscope;
pub mod monitors;
pub mod names;
pub mod notify;
pub mod ops;
pub mod pace;
pub mod presets;
pub mod runs;
pub mod scheduler;
pub mod startup;
pub mod telemetry;
pub mod web;

use std::sync::Arc;

use rocket::fairing::AdHoc;
use rocket::figment::Figment;
use rocket::{Build, Rocket};

use crate::auth::two_factor::TwoFactor;
use crate::clock::{SharedClock, SystemClock};
use crate::config::AppConfig;
use crate::crypto::{MasterKey, Vault};
use crate::db::Db;
use crate::keyring::Keyring;
use crate::modelscope::{SiteBases, Upstream};
use crate::monitors::run_now::RunNowLimits;
use crate::monitors::{MonitorLimits, Monitors};
use crate::notify::channels::{ChannelRules, TestLimits};
use crate::notify::deliveries::Policy;
use crate::notify::send::SendRules;
use crate::notify::{Channels, Notifier, Outbox, OutboxParts};
use crate::ops::data_lock::DataDirLock;
use crate::ops::metrics::MetricsAccess;
use crate::runs::engine::{QueryEngine, QueryLimits, SharedLimits};
use crate::runs::planner::Planner;
use crate::runs::price_book::KnownPrices;
use crate::runs::runner::Runner;
use crate::scheduler::{Scheduler, SchedulerParts};
use crate::startup::StartupError;

/// The app configured from its built-in defaults, `Rocket.toml` and `ROCKET_*` variables.
pub fn rocket() -> Rocket<Build> {
    rocket_from(figment())
}

/// The configuration the binary runs with (see `config::figment`).
pub fn figment() -> Figment {
    config::figment()
}

/// The app from any figment (tests point the upstream at a local double this way).
pub fn rocket_from(figment: Figment) -> Rocket<Build> {
    rocket_with_clock(figment, Arc::new(SystemClock))
}

/// The app on `clock`: runs are stamped with it and the scheduler waits on it (tests and
/// benchmarks move a [`clock::ManualClock`]).
pub fn rocket_with_clock(figment: Figment, clock: SharedClock) -> Rocket<Build> {
    rocket::custom(figment)
        .attach(AdHoc::try_on_ignite(
            "modelscope-balance state",
            move |rocket| setup(rocket, clock),
        ))
        .attach(AdHoc::on_liftoff("plain-HTTP cookie check", |rocket| {
            Box::pin(async move { web::warn_if_cookies_cannot_work(rocket) })
        }))
        .attach(AdHoc::on_liftoff("housekeeping", |rocket| {
            Box::pin(async move {
                if let Some(db) = rocket.state::<Db>() {
                    ops::housekeeping::spawn(db.clone(), rocket.state::<AppConfig>().cloned());
                }
                if let Some(handle) = rocket.state::<MetricsAccess>().and_then(|m| m.handle()) {
                    ops::metrics::spawn_upkeep(handle);
                }
            })
        }))
        .attach(AdHoc::on_liftoff("scheduler", |rocket| {
            Box::pin(async move {
                if let Some(scheduler) = rocket.state::<Scheduler>() {
                    let shutdown = rocket.shutdown();
                    scheduler.spawn(async move {
                        shutdown.await;
                    });
                }
            })
        }))
        .attach(AdHoc::on_liftoff("single sign-on discovery", |rocket| {
            Box::pin(async move {
                // In the background: a provider that is down delays nothing.
                if let Some(Some(sso)) = rocket.state::<Option<auth::sso::Sso>>() {
                    let sso = sso.clone();
                    tokio::spawn(async move { sso.warm_up().await });
                }
            })
        }))
        .attach(ops::shutdown::GracefulShutdown::default())
        .attach(web::CrossSiteRefusal)
        .attach(web::security_headers())
        .attach(api::cors())
        .mount("/", web::routes())
        .mount("/", api::routes())
        .register("/", web::catchers())
        .register("/api", api::catchers())
        .register("/health", api::catchers())
}

/// Reads the configuration, opens the database and builds the shared state; any failure stops
/// the launch with a message that names what to fix.
async fn setup(rocket: Rocket<Build>, clock: SharedClock) -> Result<Rocket<Build>, Rocket<Build>> {
    match AppState::build(rocket.figment(), clock.clone()) {
        Ok(state) => {
            logging::cap_dependency_logs(rocket.figment());
            tracing::info!(
                "{}",
                effective_configuration(rocket.figment(), &state.config)
            );
            let planner = Planner::new(
                state.db.clone(),
                state.keyring.clone(),
                state.config.max_models_per_query,
            );
            let runner = Runner::new(planner, state.engine.clone(), state.db.clone());
            let two_factor = TwoFactor::new(state.db.clone(), state.vault.clone(), clock.clone());
            let sso = single_sign_on(&state.config, &state.db, &clock);
            let passkeys = crate::auth::passkeys::Passkeys::new(two_factor.clone());
            // What the pages change, the scheduler looks at at once.
            let wake = Arc::new(tokio::sync::Notify::new());
            let monitors = Monitors::new(
                state.db.clone(),
                Arc::new(KnownPrices),
                wake.clone(),
                clock.clone(),
                MonitorLimits {
                    monitors_per_user: state.config.max_monitors_per_user,
                    keys_per_monitor: state.config.max_keys_per_monitor,
                    rules_per_user: state.config.max_rules_per_user,
                    run_now: RunNowLimits {
                        per_monitor: state.config.run_now_per_monitor_per_hour,
                        per_user: state.config.run_now_per_user_per_hour,
                    },
                },
            );
            let outbox = Outbox::new(OutboxParts {
                db: state.db.clone(),
                channels: state.channels.clone(),
                notifier: state.notifier.clone(),
                policy: Policy {
                    hourly_cap: state.config.alerts_per_channel_per_hour,
                    kept_per_user: state.config.deliveries_kept_per_user,
                    tests: TestLimits {
                        per_minute: state.config.channel_tests_per_minute,
                        per_hour: state.config.channel_tests_per_hour,
                        attempt_secs: i64::try_from(state.config.notify_timeout_secs)
                            .unwrap_or(i64::MAX),
                    },
                    public_url: state.config.public_url.clone(),
                },
                clock: clock.clone(),
                wake: wake.clone(),
            });
            let scheduler = Scheduler::new(SchedulerParts {
                db: state.db.clone(),
                runner: runner.clone(),
                monitors: monitors.clone(),
                outbox: outbox.clone(),
                clock,
                wake,
                concurrency: state.config.scheduler_concurrency,
                runs_per_user: i64::try_from(state.config.scheduler_runs_per_user()).unwrap_or(1),
            });
            Ok(rocket
                .manage(state.engine.clock().clone())
                .manage(state.metrics)
                .manage(modelscope::Catalogue::new(state.engine.upstream().clone()))
                .manage(runner)
                .manage(passkeys)
                .manage(scheduler)
                .manage(monitors)
                .manage(outbox)
                .manage(state.channels)
                .manage(web::Reveals::default())
                .manage(api::QuotaRefreshes::default())
                .manage(ops::instance_health::Started::now())
                .manage(state.config)
                .manage(state.db)
                .manage(state.engine)
                .manage(state.keyring)
                .manage(two_factor)
                .manage(sso)
                .manage(state.lock))
        }
        Err(problem) => {
            let message = problem.to_string();
            tracing::error!("{message}");
            eprintln!("modelscope-balance cannot start: {message}");
            Err(rocket)
        }
    }
}

/// Single sign-on, when `oidc_issuer` is set (its settings were checked at start); `None` when
/// it is off or its HTTP client cannot be built (logged: the rest of the app starts).
fn single_sign_on(config: &AppConfig, db: &Db, clock: &SharedClock) -> Option<auth::sso::Sso> {
    let oidc = config.oidc()?;
    let settings = auth::sso::Settings {
        issuer: oidc.issuer.clone(),
        client_id: oidc.client_id.clone(),
        client_secret: zeroize::Zeroizing::new(oidc.client_secret.expose().to_owned()),
        redirect_url: oidc.redirect_url.clone(),
        link_by_email: oidc.link_by_email,
    };
    auth::sso::Sso::new(settings, db.clone(), clock.clone())
        .inspect_err(|error| tracing::error!(%error, "single sign-on: no HTTP client; it is off"))
        .ok()
}

/// Everything the routes share.
struct AppState {
    config: AppConfig,
    db: Db,
    engine: QueryEngine,
    keyring: Keyring,
    /// For the two-factor checks, built in `setup` with the clock.
    vault: Arc<Vault>,
    channels: Channels,
    notifier: Notifier,
    lock: DataDirLock,
    metrics: MetricsAccess,
}

impl AppState {
    fn build(figment: &Figment, clock: SharedClock) -> Result<Self, StartupError> {
        let config = AppConfig::load(figment)?;
        // Owner-only: the directory holds the master key and the database.
        std::os::unix::fs::DirBuilderExt::mode(std::fs::DirBuilder::new().recursive(true), 0o700)
            .create(&config.data_dir)
            .map_err(|source| StartupError::DataDir {
                path: config.data_dir.clone(),
                source,
            })?;
        let lock = DataDirLock::shared(&config.data_dir)?;
        let db = Db::open(&config.database_path())?;
        let master = load_master_key(&config, &db)?;
        let vault = Arc::new(Vault::new(master));
        let keyring =
            Keyring::new(db.clone(), vault.clone()).with_max_per_user(config.max_keys_per_user);
        let channels = Channels::new(
            db.clone(),
            vault.clone(),
            ChannelRules {
                allow_unauthenticated_smtp: config.allow_unauthenticated_smtp,
                max_per_user: config.max_channels_per_user,
            },
        );
        let notifier = Notifier::new(SendRules {
            allow_private: config.allow_private_webhooks,
            allow_unauthenticated_smtp: config.allow_unauthenticated_smtp,
            timeout: config.notify_timeout(),
            connect_timeout: config.notify_connect_timeout(),
        })
        .map_err(StartupError::Notifier)?;
        let upstream = Upstream::new(
            &SiteBases {
                api_base: config.modelscope_api_base.clone(),
                hub_base: config.modelscope_hub_base.clone(),
            },
            &SiteBases {
                api_base: config.modelscope_ai_api_base.clone(),
                hub_base: config.modelscope_ai_hub_base.clone(),
            },
            config.upstream_timeout(),
        )?;
        let engine = QueryEngine::new(
            upstream,
            SharedLimits {
                global: config.global_concurrency,
                anonymous: config.anonymous_concurrency,
                scheduled: config.scheduler_concurrency,
                anonymous_per_address: config.anonymous_queries_per_address,
            },
            QueryLimits {
                per_query: config.query_concurrency,
                max_models: config.max_models_per_query,
                deadline: config.query_deadline(),
            },
            clock,
        );
        let metrics = match &config.metrics_token {
            None => MetricsAccess::disabled(),
            Some(token) => MetricsAccess::enabled(
                token.expose().to_owned(),
                ops::metrics::exporter().map_err(StartupError::Metrics)?,
            ),
        };
        Ok(Self {
            config,
            db,
            engine,
            keyring,
            vault,
            channels,
            notifier,
            lock,
            metrics,
        })
    }
}

/// The master key, created on the first start. A key file that is missing or replaced while
/// saved keys were sealed under another one is refused (every saved key would silently become
/// unreadable) unless `accept_new_master_key` says to go on.
fn load_master_key(config: &AppConfig, db: &Db) -> Result<MasterKey, StartupError> {
    let path = config.master_key_file();
    let sealed = db
        .connection()
        .and_then(|conn| db::api_keys::master_key_ids(&conn))?;
    let saved: usize = sealed.iter().map(|(_, count)| count).sum();
    let ids = sealed
        .iter()
        .map(|(id, _)| id.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    if saved > 0 && !config.accept_new_master_key && !path.exists() {
        return Err(StartupError::MasterKeyMissing { path, saved, ids });
    }
    let master = MasterKey::load_or_create(&path)?;
    let known = sealed.iter().any(|(id, _)| id == master.id());
    if saved > 0 && !known {
        if !config.accept_new_master_key {
            return Err(StartupError::MasterKeyReplaced {
                path,
                found: master.id().to_owned(),
                saved,
                ids,
            });
        }
        tracing::warn!(
            saved,
            master_key = master.id(),
            "accept_new_master_key: saved keys sealed with another master key stay unreadable \
             until re-entered"
        );
    }
    Ok(master)
}

/// One line naming every setting that matters, without secrets (there are none in the
/// configuration: the master key lives in its own file).
fn effective_configuration(figment: &Figment, config: &AppConfig) -> String {
    let Ok(rocket) = rocket::Config::try_from(figment) else {
        return "configuration: Rocket's own settings are invalid (Rocket says why)".to_owned();
    };
    let limit = |name: &str| {
        rocket
            .limits
            .get(name)
            .map_or_else(|| "default".to_owned(), |l| l.to_string())
    };
    format!(
        "configuration: profile={} address={} port={} tls={} ip_header={} keep_alive={}s \
         limits.form={} limits.json={} body_timeout={}s secure_cookies={} signup_mode={} \
         signups_per_address_per_hour={} data_dir={} database={} master_key_file={} \
         api_base={} hub_base={} upstream_timeout={}s query_concurrency={} \
         global_concurrency={} max_models_per_query={} history_retention_days={} \
         accept_new_master_key={} allow_private_webhooks={} allow_unauthenticated_smtp={} \
         scheduler_concurrency={} scheduler_runs_per_user={} run_now_per_hour={}/{} \
         tests_per_minute={} tests_per_hour={} limits(keys,monitors,keys/monitor,rules,\
         channels)={},{},{},{},{} public_url={} metrics={} oidc={} log_format={} shutdown.grace={}s shutdown.mercy={}s",
        rocket.profile,
        rocket.address,
        rocket.port,
        rocket.tls_enabled(),
        rocket.ip_header.as_ref().map_or("off", |h| h.as_str()),
        rocket.keep_alive,
        limit("form"),
        limit("json"),
        config.body_timeout_secs,
        config.secure_cookies(),
        config.default_signup_mode(),
        config.signups_per_address_per_hour,
        config.data_dir.display(),
        config.database_path().display(),
        config.master_key_file().display(),
        config.modelscope_api_base,
        config.modelscope_hub_base,
        config.upstream_timeout_secs,
        config.query_concurrency,
        config.global_concurrency,
        config.max_models_per_query,
        config.history_retention_days,
        config.accept_new_master_key,
        config.allow_private_webhooks,
        config.allow_unauthenticated_smtp,
        config.scheduler_concurrency,
        config.scheduler_runs_per_user(),
        config.run_now_per_monitor_per_hour,
        config.run_now_per_user_per_hour,
        config.channel_tests_per_minute,
        config.channel_tests_per_hour,
        config.max_keys_per_user,
        config.max_monitors_per_user,
        config.max_keys_per_monitor,
        config.max_rules_per_user,
        config.max_channels_per_user,
        config.public_url.as_deref().unwrap_or("unset"),
        // Only whether it is on: the token is a secret.
        if config.metrics_token.is_some() {
            "on"
        } else {
            "off"
        },
        // The issuer and client id only: the client secret is a secret.
        config.oidc().map_or_else(
            || "off".to_owned(),
            |oidc| format!(
                "{} client_id={} link_by_email={}",
                oidc.issuer, oidc.client_id, oidc.link_by_email
            )
        ),
        config.log_format.as_str(),
        rocket.shutdown.grace,
        rocket.shutdown.mercy,
    )
}
