//! The Prometheus exporter behind `GET /metrics`: installed once per process when a
//! `metrics_token` is configured, rendering the text format 0.0.4. What is recorded, and by
//! whom, is `crate::telemetry`.
//!
//! The recorder is process-wide (the `metrics` facade has one global recorder): every instance
//! of the app in one process shares it. Histograms keep their samples until the next render or
//! upkeep; an upkeep task every few seconds bounds that memory when nobody scrapes.

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use subtle::ConstantTimeEq;

use crate::telemetry::{self, names};

/// `Content-Type` of the text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// Seconds: a probe takes tens of milliseconds to the query deadline (40 s by default).
const DURATION_BUCKETS: &[f64] = &[
    0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 40.0, 60.0,
];
/// Seconds a scheduled run started after it was due.
const LAG_BUCKETS: &[f64] = &[0.1, 0.5, 1.0, 5.0, 15.0, 30.0, 60.0, 300.0, 900.0];
/// Points one run cost.
const POINTS_BUCKETS: &[f64] = &[0.0, 0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 500.0];

static HANDLE: OnceLock<Result<PrometheusHandle, String>> = OnceLock::new();

/// The process's exporter, installed on the first call.
pub fn exporter() -> Result<PrometheusHandle, String> {
    HANDLE.get_or_init(install).clone()
}

fn install() -> Result<PrometheusHandle, String> {
    let buckets = [
        (names::QUERY_DURATION, DURATION_BUCKETS),
        (names::UPSTREAM_DURATION, DURATION_BUCKETS),
        (names::SCHEDULER_LAG, LAG_BUCKETS),
        (names::POINTS_SPENT, POINTS_BUCKETS),
    ];
    let mut builder = PrometheusBuilder::new();
    for (name, values) in buckets {
        builder = builder
            .set_buckets_for_metric(Matcher::Full(name.to_owned()), values)
            .map_err(|e| format!("metrics buckets for {name}: {e}"))?;
    }
    let handle = builder
        .install_recorder()
        .map_err(|e| format!("metrics recorder: {e}"))?;
    describe();
    telemetry::preregister();
    ::metrics::gauge!(names::BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
    Ok(handle)
}

/// The `# HELP` lines.
fn describe() {
    use ::metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        names::QUERIES,
        "Balance queries (runs) finished, by face and outcome"
    );
    describe_histogram!(
        names::QUERY_DURATION,
        Unit::Seconds,
        "How long a balance query took, by face"
    );
    describe_counter!(
        names::UPSTREAM_CALLS,
        "Calls to ModelScope, by endpoint and outcome"
    );
    describe_histogram!(
        names::UPSTREAM_DURATION,
        Unit::Seconds,
        "How long a call to ModelScope took, by endpoint"
    );
    describe_histogram!(
        names::POINTS_SPENT,
        "Points one probe run cost (_sum: points spent in all)"
    );
    describe_counter!(names::SCHEDULER_RUNS, "Scheduled monitor runs, by outcome");
    describe_histogram!(
        names::SCHEDULER_LAG,
        Unit::Seconds,
        "How late a scheduled run started"
    );
    describe_counter!(
        names::ALERT_DELIVERIES,
        "Alert delivery attempts, by channel kind and result"
    );
    describe_counter!(
        names::DB_ERRORS,
        "Database operations that failed, by operation"
    );
    describe_gauge!(
        names::BUILD_INFO,
        "Always 1; the version label says which build runs"
    );
}

/// Drains histogram samples every few seconds for the life of the server.
pub fn spawn_upkeep(handle: PrometheusHandle) {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(UPKEEP_EVERY);
        loop {
            ticker.tick().await;
            handle.run_upkeep();
        }
    });
}

/// Who may read `/metrics`: nobody while no token is configured.
#[derive(Clone)]
pub struct MetricsAccess {
    enabled: Option<(String, PrometheusHandle)>,
}

/// What a request for `/metrics` gets.
#[derive(Debug, PartialEq, Eq)]
pub enum Answer {
    /// No token configured: the endpoint does not exist.
    Disabled,
    /// No bearer, or the wrong one.
    Unauthorized,
    Metrics(String),
}

impl MetricsAccess {
    pub fn disabled() -> Self {
        Self { enabled: None }
    }

    pub fn enabled(token: String, handle: PrometheusHandle) -> Self {
        Self {
            enabled: Some((token, handle)),
        }
    }

    pub fn is_enabled(&self) -> bool {
        self.enabled.is_some()
    }

    /// The exporter, when enabled (for its upkeep).
    pub fn handle(&self) -> Option<PrometheusHandle> {
        self.enabled.as_ref().map(|(_, handle)| handle.clone())
    }

    /// Answers one request from its `Authorization` header (if any).
    pub fn answer(&self, authorization: Option<&str>) -> Answer {
        let Some((token, handle)) = &self.enabled else {
            return Answer::Disabled;
        };
        let offered = authorization
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(str::trim)
            .unwrap_or("");
        if bool::from(offered.as_bytes().ct_eq(token.as_bytes())) && !offered.is_empty() {
            Answer::Metrics(handle.render())
        } else {
            Answer::Unauthorized
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_bearer_reads_the_metrics() {
        let handle = exporter().unwrap();
        let access = MetricsAccess::enabled("a-long-enough-token-123".into(), handle);
        assert_eq!(access.answer(None), Answer::Unauthorized);
        assert_eq!(access.answer(Some("Bearer")), Answer::Unauthorized);
        assert_eq!(access.answer(Some("Bearer ")), Answer::Unauthorized);
        assert_eq!(
            access.answer(Some("Bearer a-long-enough-token-12")),
            Answer::Unauthorized
        );
        assert_eq!(
            access.answer(Some("Basic a-long-enough-token-123")),
            Answer::Unauthorized
        );
        match access.answer(Some("Bearer a-long-enough-token-123")) {
            Answer::Metrics(text) => assert!(text.contains(names::BUILD_INFO), "{text}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(MetricsAccess::disabled().answer(None), Answer::Disabled);
    }
}
