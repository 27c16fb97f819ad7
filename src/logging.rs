//! Logging: the app's own tracing events and every dependency's `log` records, on stderr.
//!
//! No log level may print a key, password, session or CSRF token. Rocket at its `debug` level
//! prints every request's headers (`Cookie`, `X-API-Key`, `Authorization`), every form field
//! and every `Set-Cookie`; hyper, h2 and rustls at `trace` print raw protocol data. So records
//! from any other crate are capped at INFO, whatever `ROCKET_LOG_LEVEL` or `RUST_LOG` say; only
//! the app's own events (which never carry a secret) follow `RUST_LOG` below that.
//!
//! Rocket's request lines are left out (their addresses may carry a one-time code).
//!
//! Lines are human-readable by default; `log_format = "json"` writes one JSON object per line
//! (`timestamp`, `level`, `target`, `message` and the event's fields at the top level), for log
//! shippers. The filters are the same in both formats.

use rocket::figment::Figment;

use crate::config::LogFormat;
use tracing::Level;
use tracing_subscriber::prelude::*;
use tracing_subscriber::{EnvFilter, filter};

/// The app's own events, the only ones allowed below INFO.
const OWN_TARGET: &str = "modelscope_balance";

/// The most any other crate may log.
const DEPENDENCY_CAP: log::LevelFilter = log::LevelFilter::Info;

/// Installs the subscriber (stderr, `RUST_LOG`, default `info`, in `format`) and routes `log`
/// records (Rocket, hyper, reqwest, rustls, r2d2) into it, capped. Call once, before
/// `rocket()`: Rocket then finds a logger in place and does not install its own, which would
/// print at any level `ROCKET_LOG_LEVEL` asks for.
pub fn init(format: LogFormat) {
    // An error means a logger is already installed (a second call): keep that one.
    let _ = tracing_log::LogTracer::builder()
        .with_max_level(DEPENDENCY_CAP)
        .init();
    let env = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let layer = match format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_target(false)
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .with_writer(std::io::stderr)
            .boxed(),
    };
    let layer = layer
        .with_filter(env)
        .with_filter(filter::filter_fn(allowed));
    let _ = tracing_subscriber::registry().with(layer).try_init();
}

/// Rocket's request lines (`GET /reset/<code>:`) print the whole address, and some addresses
/// carry a one-time code (a password-reset link, an invitation): from this target only
/// warnings and errors are printed.
const REQUEST_LINES: &str = "rocket::server";

/// Whether an event may be printed at all: the app's own at any level, Rocket's request lines
/// not at all below WARN, others up to INFO.
fn allowed(meta: &tracing::Metadata<'_>) -> bool {
    let target = meta.target();
    if target == REQUEST_LINES {
        return *meta.level() <= Level::WARN;
    }
    let own = target
        .strip_prefix(OWN_TARGET)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"));
    own || *meta.level() <= Level::INFO
}

/// Honours `log_level` (Rocket's setting) for the `log` records of dependencies, but never
/// above INFO: `off` silences them, `critical` keeps warnings and errors, `normal` and `debug`
/// both mean INFO.
pub fn cap_dependency_logs(figment: &Figment) {
    let level = match figment.extract_inner::<String>("log_level").as_deref() {
        Ok("off") => log::LevelFilter::Off,
        Ok("critical") => log::LevelFilter::Warn,
        _ => DEPENDENCY_CAP,
    };
    log::set_max_level(level.min(DEPENDENCY_CAP));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_apps_own_events_pass_below_info() {
        use tracing::callsite::Identifier;
        use tracing::field::FieldSet;
        use tracing::metadata::Kind;
        struct Callsite;
        impl tracing::callsite::Callsite for Callsite {
            fn set_interest(&self, _: tracing::subscriber::Interest) {}
            fn metadata(&self) -> &tracing::Metadata<'_> {
                unreachable!()
            }
        }
        static CALLSITE: Callsite = Callsite;
        let meta = |target: &'static str, level: Level| {
            tracing::Metadata::new(
                "event",
                target,
                level,
                None,
                None,
                None,
                FieldSet::new(&[], Identifier(&CALLSITE)),
                Kind::EVENT,
            )
        };
        assert!(allowed(&meta("modelscope_balance::web", Level::TRACE)));
        assert!(allowed(&meta("rocket::launch", Level::INFO)));
        assert!(!allowed(&meta("rocket::server", Level::INFO)));
        assert!(allowed(&meta("rocket::server", Level::WARN)));
        assert!(!allowed(&meta("rocket::server", Level::DEBUG)));
        assert!(!allowed(&meta("rocket::form::parser", Level::TRACE)));
        assert!(!allowed(&meta("h2::codec", Level::TRACE)));
        assert!(!allowed(&meta("modelscope_balancer", Level::DEBUG)));
    }
}
