//! What a finished run tells the operator: one log line (counts and duration, never a key or
//! a model list) and its `/metrics` counts (outcome, duration, points spent).

use super::history::{RunKind, Source};
use crate::modelscope::{AccountBalance, BalanceError, BatchReport};
use crate::telemetry::{self, QueryOutcome, QuerySource};

/// Logs and counts one finished run, stored (`kept`) or not.
pub fn finished(
    source: Source,
    kind: RunKind,
    kept: bool,
    report: &BatchReport,
    balance: &Result<AccountBalance, BalanceError>,
    points_spent: Option<f64>,
) {
    let outcome = outcome(kind, report, balance);
    log_run(source, kind, kept, outcome, report);
    telemetry::record_query(query_source(source), outcome, report.elapsed);
    if let Some(points) = points_spent {
        telemetry::record_points_spent(points);
    }
}

/// Every model answered healthily (and a check read the balance), some did, or none did.
fn outcome(
    kind: RunKind,
    report: &BatchReport,
    balance: &Result<AccountBalance, BalanceError>,
) -> QueryOutcome {
    let ok = report.ok_count();
    let balance_ok = kind == RunKind::Probe || balance.is_ok();
    if ok == report.results.len() && balance_ok && ok > 0 {
        QueryOutcome::Ok
    } else if ok == 0 {
        QueryOutcome::Failed
    } else {
        QueryOutcome::Partial
    }
}

fn query_source(source: Source) -> QuerySource {
    match source {
        Source::Web => QuerySource::Web,
        Source::Api => QuerySource::Api,
        Source::Schedule => QuerySource::Schedule,
    }
}

/// The one line logged per run: counts and duration, never a key or a model list.
fn log_run(source: Source, kind: RunKind, kept: bool, outcome: QueryOutcome, report: &BatchReport) {
    tracing::info!(
        source = source.as_str(),
        kind = kind.as_str(),
        kept,
        outcome = outcome.as_str(),
        models = report.results.len(),
        ok = report.ok_count(),
        failed = report.failed_count(),
        duration_ms = u64::try_from(report.elapsed.as_millis()).unwrap_or(u64::MAX),
        "balance query"
    );
}
