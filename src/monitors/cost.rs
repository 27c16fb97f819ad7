//! What a probe monitor is expected to cost per day: the preset's known prices (a range of
//! the tiers where unknown), times its keys, times its runs per day. Pure arithmetic; the
//! prices come through a [`PriceBook`] (`runs::prices` keeps them, a layer above this one).

use std::collections::HashMap;

use rusqlite::Connection;

use super::schedule::Schedule;
use crate::db::DbError;
use crate::ids::UserId;
use crate::modelscope::ExpectedCost;

/// The prices a user knows, read on the caller's connection (so a monitor, its preset and
/// their prices are read in one database call).
pub trait PriceBook: Send + Sync {
    /// Points a call of each of `models` costs, for the models whose price `user` knows.
    fn known(
        &self,
        conn: &Connection,
        user: UserId,
        models: &[String],
    ) -> Result<HashMap<String, f64>, DbError>;
}

/// Reads what `user` knows of `models`' prices; a failed read leaves every price unknown (the
/// range is still true) and is logged.
pub fn known_or_none(
    book: &dyn PriceBook,
    conn: &Connection,
    user: UserId,
    models: &[String],
) -> HashMap<String, f64> {
    book.known(conn, user, models).unwrap_or_else(|error| {
        tracing::warn!(%error, "reading model prices failed");
        HashMap::new()
    })
}

/// One probe of `models`, from the prices known.
pub fn per_run(models: &[String], known: &HashMap<String, f64>) -> ExpectedCost {
    ExpectedCost::of(models.iter().map(|m| known.get(m).copied()))
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

    #[test]
    fn a_run_costs_what_is_known_and_a_range_for_the_rest() {
        let models = ["a/known".to_owned(), "a/unknown".to_owned()];
        let known = HashMap::from([("a/known".to_owned(), 1.0)]);
        let run = per_run(&models, &known);
        assert_eq!((run.min, run.max), (1.5, 3.0));
        assert!(per_run(&models[..1], &known).is_exact());
    }
}
