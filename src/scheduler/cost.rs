//! What a probe monitor is expected to cost per day: the preset's known prices (a range of
//! the tiers where unknown), times its keys, times its runs per day.

use crate::db::Db;
use crate::ids::UserId;
use crate::monitors::schedule::Schedule;
use crate::runs::calls_left::ExpectedCost;
use crate::runs::prices;

/// One probe of `models` for `user`. A failed price read leaves every price unknown (the
/// range is still true); it is logged.
pub async fn per_run(db: &Db, user: UserId, models: &[String]) -> ExpectedCost {
    let known = match prices::known_for(db, Some(user), models.to_vec()).await {
        Ok(known) => known,
        Err(error) => {
            tracing::warn!(%error, "reading model prices failed");
            Default::default()
        }
    };
    let tiers = crate::modelscope::Tiers::default();
    ExpectedCost::of(models.iter().map(|m| known.bounds(m, &tiers)))
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
