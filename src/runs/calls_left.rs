//! "How many more calls?", from whatever is known: the rate-limit headers (when upstream sent
//! them: the daily four, or the monthly pair), and the points balance divided by the model's
//! price. Never invented: with the balance but no price, the answer is the range the prices the
//! model may still have allow.

pub use crate::modelscope::ExpectedCost;
use crate::modelscope::{BUILT_IN_TIERS, ModelResult, Quota, milli};

crate::closed_set! {
    /// Where a row's number comes from (sent as `quota_source`).
    pub enum QuotaSource {
        /// The four rate-limit headers.
        Headers,
        /// The points balance (and the price, when it is known).
        Points,
    }
}

/// What is known about further calls of one model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CallsLeft {
    pub source: Option<QuotaSource>,
    /// The smallest of what is known.
    pub exact: Option<i64>,
    /// `[min, max]` when only the balance is known and the price is not.
    pub range: Option<(i64, i64)>,
}

impl CallsLeft {
    /// `available`: the points balance after the run; `price`: points a call of the model
    /// costs; `bounds`: the cheapest and dearest price it may have while `price` is unknown.
    pub fn assess(
        quota: &Quota,
        available: Option<f64>,
        price: Option<f64>,
        bounds: (f64, f64),
    ) -> Self {
        let by_points = match (available, price) {
            (Some(available), Some(price)) if price > 0.0 => Some(calls_for(available, price)),
            _ => None,
        };
        if !quota.is_empty() {
            let exact = [quota.fewest_remaining(), by_points]
                .into_iter()
                .flatten()
                .min();
            return Self {
                source: Some(QuotaSource::Headers),
                exact,
                range: None,
            };
        }
        let Some(available) = available else {
            return Self::default();
        };
        let (low, high) = match by_points {
            Some(exact) => (exact, exact),
            None => (
                calls_for(available, bounds.1),
                calls_for(available, bounds.0),
            ),
        };
        Self {
            source: Some(QuotaSource::Points),
            exact: (low == high).then_some(low),
            range: (low != high).then_some((low, high)),
        }
    }

    /// A row's answer. A failed row has none, except that points that cannot buy one call of
    /// the model are 0 calls on every row, whatever else went wrong.
    pub fn of_row(row: &ModelResult, available: Option<f64>) -> Self {
        let price = row.price.map(|p| p.points);
        let bounds = bounds_of(price, row.candidates.as_deref());
        if row.is_ok() {
            return Self::assess(&row.quota, available, price, bounds);
        }
        match available {
            Some(available) if milli(available) < milli(bounds.0) => Self {
                source: Some(QuotaSource::Points),
                exact: Some(0),
                range: None,
            },
            _ => Self::default(),
        }
    }
}

/// The cheapest and dearest price of a row: its price, its candidates, or the built-in tiers.
pub fn bounds_of(price: Option<f64>, candidates: Option<&[f64]>) -> (f64, f64) {
    let possible: &[f64] = match (&price, candidates) {
        (Some(price), _) => std::slice::from_ref(price),
        (None, Some(candidates)) if !candidates.is_empty() => candidates,
        _ => &BUILT_IN_TIERS,
    };
    (
        possible.iter().copied().fold(f64::MAX, f64::min),
        possible.iter().copied().fold(f64::MIN, f64::max),
    )
}

/// Whole calls `available` points buy at `price`.
pub fn calls_for(available: f64, price: f64) -> i64 {
    if available <= 0.0 || price <= 0.0 {
        return 0;
    }
    // A hair of tolerance so 7.5 / 0.5 is 15, not 14.999….
    ((available / price) + 1e-9).floor() as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIERS: (f64, f64) = (0.2, 2.0);

    fn headers(remaining: i64, model_remaining: i64) -> Quota {
        Quota {
            request_limit: Some(2000),
            request_remaining: Some(remaining),
            model_request_limit: Some(500),
            model_request_remaining: Some(model_remaining),
            ..Quota::default()
        }
    }

    #[test]
    fn headers_win_and_the_smallest_known_number_is_the_answer() {
        let left = CallsLeft::assess(&headers(1990, 495), None, None, TIERS);
        assert_eq!(left.source, Some(QuotaSource::Headers));
        assert_eq!(left.exact, Some(495));
        // The balance, when it buys fewer calls, is the limit.
        let left = CallsLeft::assess(&headers(1990, 495), Some(100.0), Some(2.0), TIERS);
        assert_eq!(left.exact, Some(50));
        // The monthly pair alone bounds it too.
        let monthly = Quota {
            model_month_request_limit: Some(5500),
            model_month_request_remaining: Some(5441),
            ..Quota::default()
        };
        let left = CallsLeft::assess(&monthly, Some(100_000.0), Some(1.0), TIERS);
        assert_eq!(
            (left.source, left.exact),
            (Some(QuotaSource::Headers), Some(5441))
        );
    }

    #[test]
    fn without_headers_the_balance_and_price_answer() {
        let left = CallsLeft::assess(&Quota::default(), Some(240.5), Some(1.0), TIERS);
        assert_eq!(
            (left.source, left.exact, left.range),
            (Some(QuotaSource::Points), Some(240), None)
        );
        let left = CallsLeft::assess(&Quota::default(), Some(250.0), None, TIERS);
        assert_eq!(left.exact, None);
        assert_eq!(left.range, Some((125, 1250)));
        // Narrowed candidates narrow the range.
        let left = CallsLeft::assess(&Quota::default(), Some(250.0), None, (1.0, 2.0));
        assert_eq!(left.range, Some((125, 250)));
        assert_eq!(
            CallsLeft::assess(&Quota::default(), None, Some(1.0), TIERS),
            CallsLeft::default()
        );
        // Nothing to buy is one number, not a range.
        let left = CallsLeft::assess(&Quota::default(), Some(0.1), None, TIERS);
        assert_eq!((left.exact, left.range), (Some(0), None));
    }

    #[test]
    fn a_failed_row_is_zero_calls_when_the_points_buy_none() {
        let mut row = ModelResult::unprobed(
            "a/b".into(),
            Some(crate::modelscope::Failure::new(
                crate::modelscope::ErrorCode::PointsExhausted,
                None,
            )),
            std::time::Duration::ZERO,
        );
        assert_eq!(CallsLeft::of_row(&row, Some(0.1)).exact, Some(0));
        assert_eq!(CallsLeft::of_row(&row, Some(5.0)), CallsLeft::default());
        row.candidates = Some(vec![0.5, 1.0]);
        assert_eq!(CallsLeft::of_row(&row, Some(0.3)).exact, Some(0));
    }

    #[test]
    fn whole_calls_only() {
        assert_eq!(calls_for(7.5, 0.5), 15);
        assert_eq!(calls_for(1.9, 2.0), 0);
        assert_eq!(calls_for(-3.0, 1.0), 0);
    }
}
