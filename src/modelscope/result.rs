//! One model's row of a run: what it answered, and what a call of it costs.

use std::time::Duration;

use super::classify::{ErrorCode, Failure};
use super::client::ProbeReport;
use super::price::Price;
use super::quota::Quota;

/// One model's row of a finished run.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelResult {
    pub model: String,
    /// The rate-limit headers, when upstream sent them.
    pub quota: Quota,
    pub status: Option<u16>,
    pub failure: Option<Failure>,
    pub latency_ms: u64,
    /// What a call of the model costs, when that is known.
    pub price: Option<Price>,
    /// While the price is not known: the tiers it may still be, cheapest first (`None` when the
    /// price is known, or nothing was narrowed: then every tier of the site's table).
    pub candidates: Option<Vec<f64>>,
    /// A chat call was made for this row. A free check's rows, invalid ids and models skipped
    /// for want of points were not checked: they never say "healthy".
    pub checked: bool,
}

impl ModelResult {
    pub fn is_ok(&self) -> bool {
        self.failure.is_none()
    }

    pub fn error_code(&self) -> Option<ErrorCode> {
        self.failure.as_ref().map(|f| f.code)
    }

    pub fn from_probe(model: String, report: ProbeReport) -> Self {
        Self {
            model,
            quota: report.quota,
            status: report.status,
            failure: report.failure,
            latency_ms: millis(report.latency),
            price: None,
            candidates: None,
            checked: true,
        }
    }

    /// A row without a chat call (an invalid id, a free check, points short of its price).
    pub fn unprobed(model: String, failure: Option<Failure>, latency: Duration) -> Self {
        Self {
            model,
            quota: Quota::default(),
            status: None,
            failure,
            latency_ms: millis(latency),
            price: None,
            candidates: None,
            checked: false,
        }
    }

    /// A call that was made but had no answer by the deadline: checked, and it may have cost.
    pub fn timed_out(model: String, latency: Duration) -> Self {
        Self {
            checked: true,
            ..Self::unprobed(model, Some(Failure::new(ErrorCode::Timeout, None)), latency)
        }
    }

    /// A healthy answer: checked, and no failure.
    pub fn is_healthy(&self) -> bool {
        self.checked && self.failure.is_none() && self.status.is_some()
    }
}

/// A finished run's rows in input order, and how long it took.
#[derive(Debug, Clone)]
pub struct BatchReport {
    pub results: Vec<ModelResult>,
    pub elapsed: Duration,
}

impl BatchReport {
    pub fn ok_count(&self) -> usize {
        self.results.iter().filter(|r| r.is_ok()).count()
    }

    pub fn failed_count(&self) -> usize {
        self.results.len() - self.ok_count()
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
