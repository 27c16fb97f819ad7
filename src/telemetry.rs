//! What the app counts for Prometheus: one function per event, every label a closed enum, so
//! no label can ever carry a user name, a key, a model list or anything else unbounded.
//!
//! Recording never fails and never waits: each call is an atomic update through the `metrics`
//! facade, and a no-op while no exporter is installed (`metrics_token` unset; see
//! `ops::metrics`, which renders `GET /metrics`). This module sits in the bottom layer so that
//! the upstream client, the executor and the faces can all call it.
//!
//! Recorded: queries ([`record_query`], by the executor, once per run), upstream calls
//! ([`record_upstream`], by `modelscope::client`), points spent ([`record_points_spent`], by
//! the executor), database errors ([`record_db_error`], where a database failure is mapped or
//! logged), scheduled monitor runs ([`record_scheduler_run`], by `scheduler::run`, with `lag`
//! the time between when the run was due and when it started; [`SchedulerOutcome`]: `Ok` when
//! every key's run succeeded, `Partial`, `Failed`, or `Skipped` when the run was not made) and
//! alert delivery attempts ([`record_alert_delivery`], by `notify::deliveries`, with the
//! channel's kind, [`ChannelKind`], and [`DeliveryResult`]). Scheduled runs go through the
//! executor too, so they are also counted as queries with source `schedule`.

use std::time::Duration;

/// Every metric name, for the exporter (buckets, help texts) and the tests.
pub mod names {
    pub const QUERIES: &str = "msb_queries_total";
    pub const QUERY_DURATION: &str = "msb_query_duration_seconds";
    pub const UPSTREAM_CALLS: &str = "msb_upstream_calls_total";
    pub const UPSTREAM_DURATION: &str = "msb_upstream_call_duration_seconds";
    pub const POINTS_SPENT: &str = "msb_points_spent";
    pub const SCHEDULER_RUNS: &str = "msb_scheduler_runs_total";
    pub const SCHEDULER_LAG: &str = "msb_scheduler_lag_seconds";
    pub const ALERT_DELIVERIES: &str = "msb_alert_deliveries_total";
    pub const DB_ERRORS: &str = "msb_db_errors_total";
    pub const BUILD_INFO: &str = "msb_build_info";
}

// Label sets, one a line where they fit (each is also `closed_set!`'s `ALL` for the exporter).

crate::closed_set! {
    /// Which face started a query.
    pub enum QuerySource { Web, Api, Schedule }
}

crate::closed_set! {
    /// How a query ended: every model answered healthily, some did, or none did.
    pub enum QueryOutcome { Ok, Partial, Failed }
}

crate::closed_set! {
    /// The upstream call made.
    pub enum Endpoint {
        Chat, Balance, Catalogue, Rates,
        /// The optional points ledger and today's earn rules (`modelscope::extras`).
        Ledger, EarnRules,
    }
}

crate::closed_set! {
    /// How an upstream call ended, by HTTP class or transport failure.
    pub enum UpstreamOutcome {
        Ok, Unauthorized, RateLimited, ClientError, ServerError, Timeout, Network,
    }
}

crate::closed_set! {
    /// How a scheduled monitor run ended.
    pub enum SchedulerOutcome {
        Ok, Partial, Failed, Skipped,
    }
}

crate::closed_set! {
    /// The kind of an alert channel (never its name or address).
    pub enum ChannelKind {
        Webhook, DingTalk = "dingtalk", Feishu, WeCom = "wecom",
        Telegram, Bark, ServerChan = "serverchan", Email,
    }
}

crate::closed_set! {
    /// How one delivery attempt ended.
    pub enum DeliveryResult {
        Sent, Failed, Timeout, Refused,
    }
}

crate::closed_set! {
    /// Where a database operation failed.
    pub enum DbOp {
        /// A request's own read or write (mapped to a 503 by the faces).
        Request,
        /// Storing a finished run.
        StoreRun,
        /// `/health`'s read or write probe.
        Health,
        /// Cleanup and WAL checkpoints in the background.
        Housekeeping,
        /// The scheduler's own reads and writes.
        Scheduler,
        /// The alert delivery log.
        Deliveries,
    }
}

impl UpstreamOutcome {
    /// The outcome of a call that got an HTTP answer.
    pub fn of_status(status: u16) -> Self {
        match status {
            200..=399 => Self::Ok,
            401 | 403 => Self::Unauthorized,
            429 => Self::RateLimited,
            400..=499 => Self::ClientError,
            _ => Self::ServerError,
        }
    }
}

/// Makes every counter series exist at 0 (a closed set: the label enums' products), so a
/// dashboard's `rate()` and an "absent" alert work before the first event.
pub fn preregister() {
    zero(
        names::QUERIES,
        &[
            ("source", texts(QuerySource::ALL, QuerySource::as_str)),
            ("outcome", texts(QueryOutcome::ALL, QueryOutcome::as_str)),
        ],
    );
    zero(
        names::UPSTREAM_CALLS,
        &[
            ("endpoint", texts(Endpoint::ALL, Endpoint::as_str)),
            (
                "outcome",
                texts(UpstreamOutcome::ALL, UpstreamOutcome::as_str),
            ),
        ],
    );
    let outcomes = texts(SchedulerOutcome::ALL, SchedulerOutcome::as_str);
    zero(names::SCHEDULER_RUNS, &[("outcome", outcomes)]);
    zero(
        names::ALERT_DELIVERIES,
        &[
            ("channel", texts(ChannelKind::ALL, ChannelKind::as_str)),
            ("result", texts(DeliveryResult::ALL, DeliveryResult::as_str)),
        ],
    );
    zero(names::DB_ERRORS, &[("op", texts(DbOp::ALL, DbOp::as_str))]);
}

/// The texts of a label set.
fn texts<T: Copy>(all: &[T], text: fn(T) -> &'static str) -> Vec<&'static str> {
    all.iter().map(|value| text(*value)).collect()
}

/// Counter `name` at 0 for every combination of its labels' values.
fn zero(name: &'static str, labels: &[(&'static str, Vec<&'static str>)]) {
    let mut series: Vec<Vec<(&'static str, &'static str)>> = vec![Vec::new()];
    for (label, values) in labels {
        series = series
            .into_iter()
            .flat_map(|pairs| {
                values.iter().map(move |value| {
                    let mut pairs = pairs.clone();
                    pairs.push((*label, *value));
                    pairs
                })
            })
            .collect();
    }
    for pairs in series {
        ::metrics::counter!(name, &pairs).increment(0);
    }
}

/// One query (a run of the executor) finished.
pub fn record_query(source: QuerySource, outcome: QueryOutcome, took: Duration) {
    ::metrics::counter!(names::QUERIES, "source" => source.as_str(), "outcome" => outcome.as_str())
        .increment(1);
    ::metrics::histogram!(names::QUERY_DURATION, "source" => source.as_str())
        .record(took.as_secs_f64());
}

/// One upstream call finished (a retried probe counts each attempt).
pub fn record_upstream(endpoint: Endpoint, outcome: UpstreamOutcome, took: Duration) {
    recent::record(endpoint, outcome);
    ::metrics::counter!(
        names::UPSTREAM_CALLS,
        "endpoint" => endpoint.as_str(),
        "outcome" => outcome.as_str()
    )
    .increment(1);
    ::metrics::histogram!(names::UPSTREAM_DURATION, "endpoint" => endpoint.as_str())
        .record(took.as_secs_f64());
}

/// Upstream calls of the last hour, by endpoint and outcome, counted in the process whether or
/// not `/metrics` is on (the admin's health panel reads them). Sixty one-minute slots; a slot
/// from an older hour is emptied when its minute comes round again.
pub mod recent {
    use std::sync::Mutex;

    use super::{Endpoint, UpstreamOutcome};

    const ENDPOINTS: usize = Endpoint::ALL.len();
    const OUTCOMES: usize = UpstreamOutcome::ALL.len();

    #[derive(Clone, Copy)]
    struct Minute {
        at: i64,
        counts: [[u64; OUTCOMES]; ENDPOINTS],
    }

    const EMPTY: Minute = Minute {
        at: -1,
        counts: [[0; OUTCOMES]; ENDPOINTS],
    };

    static SLOTS: Mutex<[Minute; 60]> = Mutex::new([EMPTY; 60]);

    fn this_minute() -> i64 {
        crate::clock::now().div_euclid(60)
    }

    pub(super) fn record(endpoint: Endpoint, outcome: UpstreamOutcome) {
        let minute = this_minute();
        if let Ok(mut slots) = SLOTS.lock() {
            let slot = &mut slots[minute.rem_euclid(60) as usize];
            if slot.at != minute {
                *slot = Minute {
                    at: minute,
                    ..EMPTY
                };
            }
            slot.counts[endpoint as usize][outcome as usize] += 1;
        }
    }

    /// Each endpoint's calls of the last 60 minutes, by outcome (in `UpstreamOutcome::ALL`
    /// order).
    pub fn last_hour() -> Vec<(Endpoint, Vec<(UpstreamOutcome, u64)>)> {
        let now = this_minute();
        let mut sums = [[0u64; OUTCOMES]; ENDPOINTS];
        if let Ok(slots) = SLOTS.lock() {
            for slot in slots.iter().filter(|s| s.at > now - 60 && s.at <= now) {
                for (e, row) in slot.counts.iter().enumerate() {
                    for (o, n) in row.iter().enumerate() {
                        sums[e][o] += n;
                    }
                }
            }
        }
        Endpoint::ALL
            .iter()
            .map(|&endpoint| {
                let row = sums[endpoint as usize];
                let by_outcome = UpstreamOutcome::ALL
                    .iter()
                    .map(|&outcome| (outcome, row[outcome as usize]))
                    .collect();
                (endpoint, by_outcome)
            })
            .collect()
    }
}

/// A probe run measured what it cost (the drop in available points). The histogram's `_sum` is
/// the points spent in all, its `_count` the runs measured.
pub fn record_points_spent(points: f64) {
    if points.is_finite() && points >= 0.0 {
        ::metrics::histogram!(names::POINTS_SPENT).record(points);
    }
}

/// A scheduled monitor run finished (or was skipped), `lag` after it was due.
pub fn record_scheduler_run(outcome: SchedulerOutcome, lag: Duration) {
    ::metrics::counter!(names::SCHEDULER_RUNS, "outcome" => outcome.as_str()).increment(1);
    ::metrics::histogram!(names::SCHEDULER_LAG).record(lag.as_secs_f64());
}

/// One alert delivery attempt finished.
pub fn record_alert_delivery(channel: ChannelKind, result: DeliveryResult) {
    ::metrics::counter!(
        names::ALERT_DELIVERIES,
        "channel" => channel.as_str(),
        "result" => result.as_str()
    )
    .increment(1);
}

/// A database operation failed.
pub fn record_db_error(op: DbOp) {
    ::metrics::counter!(names::DB_ERRORS, "op" => op.as_str()).increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_fall_into_bounded_outcomes() {
        use UpstreamOutcome::*;
        for (status, outcome) in [
            (200, Ok),
            (401, Unauthorized),
            (429, RateLimited),
            (404, ClientError),
            (503, ServerError),
            (999, ServerError),
        ] {
            assert_eq!(UpstreamOutcome::of_status(status), outcome, "{status}");
        }
    }

    #[test]
    fn label_values_are_prometheus_safe() {
        let all = QuerySource::ALL
            .iter()
            .map(|v| v.as_str())
            .chain(QueryOutcome::ALL.iter().map(|v| v.as_str()))
            .chain(Endpoint::ALL.iter().map(|v| v.as_str()))
            .chain(UpstreamOutcome::ALL.iter().map(|v| v.as_str()))
            .chain(SchedulerOutcome::ALL.iter().map(|v| v.as_str()))
            .chain(ChannelKind::ALL.iter().map(|v| v.as_str()))
            .chain(DeliveryResult::ALL.iter().map(|v| v.as_str()))
            .chain(DbOp::ALL.iter().map(|v| v.as_str()));
        for value in all {
            assert!(
                value.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{value}"
            );
        }
    }
}
