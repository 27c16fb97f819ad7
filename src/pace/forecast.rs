//! The burn rate and the run-out forecast of one key, from its [`Pace`]: points spent per hour
//! over the readings of the last day (up to the newest one), and when the points run out at
//! that pace. Short-term grants still alive are spent first and what is left of them vanishes at
//! their expiry, so they last no longer than that. Future grants are not counted: nobody knows
//! whether the user will log in.
//!
//! No forecast from less than it can honestly rest on: at least [`MIN_READINGS`] readings
//! spanning at least [`MIN_SPAN_SECS`]; below that the basis says what is missing.

use super::{EPSILON, Pace, WINDOW_SECS};

pub const MIN_READINGS: u32 = 3;
pub const MIN_SPAN_SECS: i64 = 3600;

crate::closed_set! {
    /// Why there is, or is not, a forecast (sent as its text: `no_readings`, …).
    pub enum Basis {
        /// The key's balance was never read.
        NoReadings,
        /// Fewer than [`MIN_READINGS`] readings in the window.
        TooFewReadings,
        /// The readings span less than [`MIN_SPAN_SECS`].
        TooShort,
        /// Nothing was spent in the window: no run-out to forecast.
        NoSpend,
        /// A forecast from the pace.
        Pace,
        /// No points are available.
        Exhausted,
    }
}

/// What the pace says about a key's future.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Forecast {
    pub basis: Basis,
    /// Points spent per hour in the window (also `0` with [`Basis::NoSpend`]).
    pub burn_per_hour: Option<f64>,
    /// Unix seconds; `Some` only with [`Basis::Pace`] or [`Basis::Exhausted`].
    pub runs_out_at: Option<i64>,
    /// Readings in the window and the seconds they span.
    pub readings: u32,
    pub span_secs: i64,
}

impl Forecast {
    fn without(basis: Basis, readings: u32, span_secs: i64) -> Self {
        Self {
            basis,
            burn_per_hour: None,
            runs_out_at: None,
            readings,
            span_secs,
        }
    }

    /// Calls a day of a model at `price` points that the pace means.
    pub fn calls_per_day(&self, price: f64) -> Option<f64> {
        let burn = self.burn_per_hour?;
        (price > 0.0 && burn > EPSILON).then(|| (burn * 24.0 / price * 10.0).round() / 10.0)
    }
}

impl Pace {
    pub fn forecast(&self) -> Forecast {
        let Some(last) = self.last else {
            return Forecast::without(Basis::NoReadings, 0, 0);
        };
        let window: Vec<_> = self
            .anchors
            .iter()
            .filter(|a| a.at >= last.at - WINDOW_SECS)
            .collect();
        let readings: u32 = window.iter().map(|a| a.readings).sum();
        let (span, spent) = window.first().map_or((0, 0.0), |first| {
            (last.at - first.at, (self.spent - first.spent).max(0.0))
        });
        if last.available <= EPSILON {
            return Forecast {
                runs_out_at: Some(last.at),
                ..Forecast::without(Basis::Exhausted, readings, span)
            };
        }
        if readings < MIN_READINGS {
            return Forecast::without(Basis::TooFewReadings, readings, span);
        }
        if span < MIN_SPAN_SECS {
            return Forecast::without(Basis::TooShort, readings, span);
        }
        if spent <= EPSILON {
            return Forecast {
                burn_per_hour: Some(0.0),
                ..Forecast::without(Basis::NoSpend, readings, span)
            };
        }
        let per_second = spent / span as f64;
        Forecast {
            basis: Basis::Pace,
            burn_per_hour: Some((per_second * 3600.0 * 1000.0).round() / 1000.0),
            runs_out_at: Some(self.runs_out(per_second)),
            readings,
            span_secs: span,
        }
    }

    /// When the available points are gone at `per_second`, counting from the newest reading:
    /// each grant still alive is spent first, until it is spent or expires.
    fn runs_out(&self, per_second: f64) -> i64 {
        let Some(last) = self.last else {
            return 0;
        };
        let mut now = last.at as f64;
        let in_grants: f64 = self.grants.iter().map(|g| g.points).sum();
        // Points in no grant: long-term ones, spent last.
        let lasting = (last.available - in_grants).max(0.0);
        // Frozen points may be part of a grant: what is available of the grants.
        let mut available_in_grants = last.available.min(in_grants);
        for grant in &self.grants {
            let points = grant.points.min(available_in_grants);
            available_in_grants -= points;
            let expires = grant.expires_from as f64;
            if expires > now {
                now = (now + points / per_second).min(expires);
            }
        }
        (now + lasting / per_second).round() as i64
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{HOUR, T0, paced, reading};
    use super::super::{GRANT_LIFE_SECS, Reading};
    use super::*;

    /// 10 points an hour for 6 hours from 100: runs out 4 hours after the last reading.
    #[test]
    fn ten_points_an_hour_for_six_hours() {
        let readings: Vec<Reading> = (0..=6)
            .map(|h| reading(T0 + h * HOUR, 100.0 - 10.0 * h as f64, 0.0))
            .collect();
        let forecast = paced(&readings).forecast();
        assert_eq!(forecast.basis, Basis::Pace);
        assert_eq!(forecast.burn_per_hour, Some(10.0));
        assert_eq!(forecast.runs_out_at, Some(T0 + 10 * HOUR));
        assert_eq!((forecast.readings, forecast.span_secs), (7, 6 * HOUR));
        assert_eq!(forecast.calls_per_day(2.0), Some(120.0));
    }

    #[test]
    fn too_little_to_go_on_says_what_is_missing() {
        assert_eq!(Pace::default().forecast().basis, Basis::NoReadings);
        let two = paced(&[reading(T0, 10.0, 0.0), reading(T0 + 2 * HOUR, 8.0, 0.0)]);
        assert_eq!(two.forecast().basis, Basis::TooFewReadings);
        let short = paced(&[
            reading(T0, 10.0, 0.0),
            reading(T0 + 600, 9.0, 0.0),
            reading(T0 + 1200, 8.0, 0.0),
        ]);
        let forecast = short.forecast();
        assert_eq!(forecast.basis, Basis::TooShort);
        assert_eq!(forecast.runs_out_at, None);
        let idle = paced(&[
            reading(T0, 10.0, 0.0),
            reading(T0 + HOUR, 10.0, 0.0),
            reading(T0 + 2 * HOUR, 10.0, 0.0),
        ]);
        assert_eq!(idle.forecast().basis, Basis::NoSpend);
        assert_eq!(idle.forecast().burn_per_hour, Some(0.0));
        let empty = paced(&[reading(T0, 1.0, 0.0), reading(T0 + 60, 0.0, 0.0)]);
        assert_eq!(empty.forecast().basis, Basis::Exhausted);
        assert_eq!(empty.forecast().runs_out_at, Some(T0 + 60));
    }

    #[test]
    fn a_grant_between_readings_is_no_spend_and_the_pace_holds() {
        let pace = paced(&[
            reading(T0, 60.0, 0.0),
            reading(T0 + HOUR, 50.0, 0.0),
            reading(T0 + 2 * HOUR, 240.0, 0.0),
            reading(T0 + 3 * HOUR, 230.0, 0.0),
        ]);
        let forecast = pace.forecast();
        // 10 + (the grant's hour: nothing known spent) + 10 over 3 hours.
        assert_eq!(pace.spent, 20.0);
        assert_eq!(forecast.basis, Basis::Pace);
        assert!((forecast.burn_per_hour.unwrap() - 20.0 / 3.0).abs() < 0.01);
    }

    #[test]
    fn points_that_expire_before_they_are_spent_do_not_last() {
        // 200 granted, spent at 1 point an hour: the grant expires long before it is spent,
        // and only the 30 long-term points are left after.
        let mut readings = vec![reading(T0, 30.0, 0.0), reading(T0 + 60, 230.0, 0.0)];
        for h in 1..=4 {
            readings.push(reading(T0 + 60 + h * HOUR, 230.0 - h as f64, 0.0));
        }
        let pace = paced(&readings);
        let forecast = pace.forecast();
        assert_eq!(forecast.basis, Basis::Pace);
        let expiry = T0 + GRANT_LIFE_SECS;
        let out = forecast.runs_out_at.unwrap();
        // Spent from the grant until it expires (the earliest estimate), then 30 points more.
        let per_hour = forecast.burn_per_hour.unwrap();
        let expected = expiry + (30.0 / per_hour * 3600.0) as i64;
        assert!((out - expected).abs() < 60, "{out} vs {expected}");
    }
}
