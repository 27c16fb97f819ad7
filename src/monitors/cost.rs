//! What a probe monitor is expected to cost per day: one probe of its preset (from the prices
//! its user knows, a range where unknown), times its keys, times its runs per day. The
//! arithmetic is pure; a probe's cost comes from a [`PriceBook`], which `runs::prices` keeps a
//! layer above this one.

use rusqlite::Connection;

use super::schedule::Schedule;
use crate::ids::UserId;
use crate::modelscope::ExpectedCost;

/// What probes cost, read on the caller's connection (so a monitor, its preset and their
/// prices are read in one database call).
pub trait PriceBook: Send + Sync {
    /// One probe of `models` for `user`: exact where every price is known, a range where not.
    /// A failed read counts every price as unknown (the range is still true) and is logged.
    fn run_cost(&self, conn: &Connection, user: UserId, models: &[String]) -> ExpectedCost;
}

/// `per_run` for each of `keys` keys, `schedule.runs_per_day()` times a day.
pub fn per_day(per_run: ExpectedCost, keys: usize, schedule: &Schedule) -> ExpectedCost {
    let times = keys as f64 * schedule.runs_per_day();
    ExpectedCost {
        min: round(per_run.min * times),
        max: round(per_run.max * times),
    }
}

fn round(points: f64) -> f64 {
    (points * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_of_probes() {
        let run = ExpectedCost {
            min: 0.75,
            max: 0.75,
        };
        let day = per_day(run, 1, &Schedule::Every { minutes: 30 });
        assert_eq!((day.min, day.max), (36.0, 36.0));
        let day = per_day(
            ExpectedCost { min: 0.5, max: 2.0 },
            2,
            &Schedule::AtTimes(vec![480, 1200]),
        );
        assert_eq!((day.min, day.max), (2.0, 8.0));
    }
}
