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
        }
    }

    /// A row that never reached upstream (an invalid id, a deadline, a free check).
    pub fn unprobed(model: String, failure: Option<Failure>, latency: Duration) -> Self {
        Self {
            model,
            quota: Quota::default(),
            status: None,
            failure,
            latency_ms: millis(latency),
            price: None,
        }
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
