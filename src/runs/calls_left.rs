//! "How many more calls?", from whatever is known: the rate-limit headers (when upstream sent
//! them), and the points balance divided by the model's price. Never invented: with the balance
//! but no price, the answer is the range the known tiers allow.

use crate::modelscope::{Quota, TIERS};

crate::closed_set! {
    /// Where a row's number comes from (sent as `quota_source`).
    pub enum QuotaSource {
        /// The four rate-limit headers.
        Headers = "headers",
        /// The points balance (and the price, when it is known).
        Points = "points",
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
    /// `available`: the points balance after the run; `price`: points a call of the model costs.
    pub fn assess(quota: &Quota, available: Option<f64>, price: Option<f64>) -> Self {
        let by_points = match (available, price) {
            (Some(available), Some(price)) if price > 0.0 => Some(calls_for(available, price)),
            _ => None,
        };
        if !quota.is_empty() {
            let exact = [
                quota.request_remaining,
                quota.model_request_remaining,
                by_points,
            ]
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
        match by_points {
            Some(exact) => Self {
                source: Some(QuotaSource::Points),
                exact: Some(exact),
                range: None,
            },
            None => Self {
                source: Some(QuotaSource::Points),
                exact: None,
                range: Some(range_for(available)),
            },
        }
    }
}

/// Whole calls `available` points buy at `price`.
pub fn calls_for(available: f64, price: f64) -> i64 {
    if available <= 0.0 || price <= 0.0 {
        return 0;
    }
    // A hair of tolerance so 7.5 / 0.5 is 15, not 14.999….
    ((available / price) + 1e-9).floor() as i64
}

/// The calls `available` points buy at the dearest and at the cheapest tier.
pub fn range_for(available: f64) -> (i64, i64) {
    let dearest = TIERS.iter().copied().fold(f64::MIN, f64::max);
    let cheapest = TIERS.iter().copied().fold(f64::MAX, f64::min);
    (
        calls_for(available, dearest),
        calls_for(available, cheapest),
    )
}

/// What a probe run is expected to cost in points: exact where every price is known, a range
/// (cheapest to dearest tier for each unknown one) where not.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ExpectedCost {
    pub min: f64,
    pub max: f64,
}

impl ExpectedCost {
    pub fn of<'a>(prices: impl IntoIterator<Item = Option<f64>> + 'a) -> Self {
        let (cheapest, dearest) = (TIERS[0], TIERS[TIERS.len() - 1]);
        prices.into_iter().fold(Self::default(), |cost, price| {
            let (low, high) = price.map_or((cheapest, dearest), |p| (p, p));
            Self {
                min: cost.min + low,
                max: cost.max + high,
            }
        })
    }

    pub fn is_exact(&self) -> bool {
        (self.max - self.min).abs() < 1e-9
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(remaining: i64, model_remaining: i64) -> Quota {
        Quota {
            request_limit: Some(2000),
            request_remaining: Some(remaining),
            model_request_limit: Some(500),
            model_request_remaining: Some(model_remaining),
        }
    }

    #[test]
    fn headers_win_and_the_smallest_known_number_is_the_answer() {
        let left = CallsLeft::assess(&headers(1990, 495), None, None);
        assert_eq!(left.source, Some(QuotaSource::Headers));
        assert_eq!(left.exact, Some(495));
        // The balance, when it buys fewer calls, is the limit.
        let left = CallsLeft::assess(&headers(1990, 495), Some(100.0), Some(2.0));
        assert_eq!(left.exact, Some(50));
    }

    #[test]
    fn without_headers_the_balance_and_price_answer() {
        let left = CallsLeft::assess(&Quota::default(), Some(240.5), Some(1.0));
        assert_eq!(
            (left.source, left.exact, left.range),
            (Some(QuotaSource::Points), Some(240), None)
        );
        let left = CallsLeft::assess(&Quota::default(), Some(250.0), None);
        assert_eq!(left.exact, None);
        assert_eq!(left.range, Some((125, 500)));
        assert_eq!(
            CallsLeft::assess(&Quota::default(), None, Some(1.0)),
            CallsLeft::default()
        );
    }

    #[test]
    fn whole_calls_only() {
        assert_eq!(calls_for(7.5, 0.5), 15);
        assert_eq!(calls_for(1.9, 2.0), 0);
        assert_eq!(calls_for(-3.0, 1.0), 0);
    }

    #[test]
    fn expected_cost_is_a_range_where_prices_are_unknown() {
        let exact = ExpectedCost::of([Some(2.0), Some(0.5), Some(1.0)]);
        assert!(exact.is_exact());
        assert_eq!(exact.min, 3.5);
        let range = ExpectedCost::of([Some(1.0), None]);
        assert_eq!((range.min, range.max), (1.5, 3.0));
        assert!(!range.is_exact());
    }
}
