//! What `/admin` shows of the instance: its health, display-ready, and the prices for
//! everyone.

use crate::clock;
use crate::ops::instance_health::{EndpointHour, Health};
use crate::web::kit::view::points;

/// One endpoint's hour, display-ready.
pub struct EndpointRow {
    pub endpoint: &'static str,
    pub calls: u64,
    pub ok: u64,
    /// `timeout 2, server_error 1`: outcome codes (the words come from `status-…`-like ids).
    pub errors: Vec<(&'static str, u64)>,
    /// `answers`, `failing` or `unused`.
    pub state: &'static str,
}

impl From<&EndpointHour> for EndpointRow {
    fn from(hour: &EndpointHour) -> Self {
        Self {
            endpoint: hour.endpoint.as_str(),
            calls: hour.calls,
            ok: hour.ok,
            errors: hour.errors.iter().map(|(o, n)| (o.as_str(), *n)).collect(),
            state: hour.state(),
        }
    }
}

/// What the health card shows.
pub struct HealthView {
    pub version: &'static str,
    pub uptime: (u64, u64, u64),
    pub db_size: Option<String>,
    pub wal_size: Option<String>,
    pub free_disk: Option<String>,
    /// When, and how big.
    pub last_backup: Option<(String, String)>,
    pub due_runs: Option<i64>,
    pub oldest_due_secs: Option<i64>,
    pub upstream: Vec<EndpointRow>,
}

/// `12.3 MB`, `850 KB`, `3.1 GB`.
pub fn size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

impl From<&Health> for HealthView {
    fn from(health: &Health) -> Self {
        let up = health.uptime_secs;
        Self {
            version: health.version,
            uptime: (up / 86_400, up % 86_400 / 3600, up % 3600 / 60),
            db_size: health.db_bytes.map(size),
            wal_size: health.wal_bytes.map(size),
            free_disk: health.free_disk_bytes.map(size),
            last_backup: health
                .last_backup
                .map(|(at, bytes)| (clock::minutes(at), size(bytes))),
            due_runs: health.due_runs,
            oldest_due_secs: health.oldest_due_secs,
            upstream: health.upstream.iter().map(EndpointRow::from).collect(),
        }
    }
}

/// An instance price as listed.
pub struct PriceRow {
    pub model: String,
    pub points: String,
}

pub fn price_rows(prices: Vec<(String, f64)>) -> Vec<PriceRow> {
    prices
        .into_iter()
        .map(|(model, p)| PriceRow {
            model,
            points: points(p),
        })
        .collect()
}
