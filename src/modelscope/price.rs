//! What a call of a model costs in points (魔粒). No API says what one model costs: a price is
//! learned from runs (measured by a one-model run or a census, inferred from several runs) or set
//! by a user (see `runs::prices`), never invented. What *can* be known is the table of tiers a
//! price is one of: built in here, or as a site's rates endpoint says (`runs::tiers`).

/// Prices are compared in thousandths of a point: balances are decimals sent as floats, and
/// 0.2 + 0.5 must be exactly 0.7.
pub fn milli(points: f64) -> i64 {
    (points * 1000.0).round() as i64
}

/// Back from thousandths.
pub fn from_milli(milli: i64) -> f64 {
    milli as f64 / 1000.0
}

/// The price tiers of a site, cheapest first: never empty, every price positive.
#[derive(Debug, Clone, PartialEq)]
pub struct Tiers(Vec<f64>);

/// What a call costs on ModelScope today: discount, light, mainstream and flagship models.
pub const BUILT_IN_TIERS: [f64; 4] = [0.2, 0.5, 1.0, 2.0];

impl Default for Tiers {
    fn default() -> Self {
        Self(BUILT_IN_TIERS.to_vec())
    }
}

impl Tiers {
    /// A table from prices as an upstream gave them: sorted, deduplicated (to a thousandth),
    /// the non-positive and absurd ones dropped; `None` when nothing usable is left.
    pub fn from_prices(prices: impl IntoIterator<Item = f64>) -> Option<Self> {
        let mut milli: Vec<i64> = prices
            .into_iter()
            .filter(|p| p.is_finite() && *p > 0.0 && *p <= MAX_PRICE)
            .map(milli)
            .filter(|m| *m > 0)
            .collect();
        milli.sort_unstable();
        milli.dedup();
        (!milli.is_empty()).then(|| Self(milli.into_iter().map(from_milli).collect()))
    }

    pub fn prices(&self) -> &[f64] {
        &self.0
    }

    pub fn cheapest(&self) -> f64 {
        self.0.first().copied().unwrap_or(BUILT_IN_TIERS[0])
    }

    pub fn dearest(&self) -> f64 {
        self.0
            .last()
            .copied()
            .unwrap_or(BUILT_IN_TIERS[BUILT_IN_TIERS.len() - 1])
    }

    /// The tier `points` is, if it is one.
    pub fn tier(&self, points: f64) -> Option<f64> {
        self.0.iter().copied().find(|t| milli(*t) == milli(points))
    }
}

/// No price above this is believed (a rates answer saying otherwise is not a table).
pub const MAX_PRICE: f64 = 1000.0;

/// The tier `points` is in the built-in table, if it is one.
pub fn tier(points: f64) -> Option<f64> {
    Tiers::default().tier(points)
}

crate::closed_set! {
    /// How a price is known (stored with each row).
    pub enum PriceSource {
        /// A clean one-model run (or a census) cost exactly this.
        Measured,
        /// Several runs together leave only this tier.
        Inferred,
        /// The user said so.
        Set,
    }
}

/// Points a call of a model costs, and how that is known.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Price {
    pub points: f64,
    pub source: PriceSource,
}

/// What a probe run is expected to cost in points: exact where every price is known, a range
/// (cheapest to dearest possible price of each unknown one) where not.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ExpectedCost {
    pub min: f64,
    pub max: f64,
}

impl ExpectedCost {
    /// From each model's cheapest and dearest possible price.
    pub fn of(bounds: impl IntoIterator<Item = (f64, f64)>) -> Self {
        // Summed in thousandths: 0.2 three times is 0.6, not 0.6000000000000001.
        let (min, max) = bounds.into_iter().fold((0, 0), |(min, max), (low, high)| {
            (min + milli(low), max + milli(high))
        });
        Self {
            min: from_milli(min),
            max: from_milli(max),
        }
    }

    pub fn is_exact(&self) -> bool {
        (self.max - self.min).abs() < 1e-9
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_tiers_are_prices() {
        assert_eq!(tier(0.2), Some(0.2));
        assert_eq!(tier(0.5), Some(0.5));
        assert_eq!(tier(1.0000000001), Some(1.0));
        assert_eq!(tier(2.0), Some(2.0));
        assert_eq!(tier(1.5), None);
        assert_eq!(tier(0.0), None);
        assert_eq!(tier(-1.0), None);
    }

    #[test]
    fn expected_cost_is_a_range_where_prices_are_unknown() {
        let exact = ExpectedCost::of([(2.0, 2.0), (0.5, 0.5), (1.0, 1.0)]);
        assert!(exact.is_exact());
        assert_eq!(exact.min, 3.5);
        let range = ExpectedCost::of([(1.0, 1.0), (0.2, 2.0)]);
        assert_eq!((range.min, range.max), (1.2, 3.0));
        let thirds = ExpectedCost::of([(0.2, 2.0); 3]);
        assert_eq!(thirds.min, 0.6);
        assert!(!range.is_exact());
    }

    #[test]
    fn a_rates_table_is_cleaned() {
        let tiers = Tiers::from_prices([1.0, 0.5, -1.0, 0.5000001, f64::NAN, 5000.0]).unwrap();
        assert_eq!(tiers.prices(), [0.5, 1.0]);
        assert_eq!((tiers.cheapest(), tiers.dearest()), (0.5, 1.0));
        assert_eq!(Tiers::from_prices([0.0, -2.0]), None);
    }

    #[test]
    fn thousandths_add_up() {
        assert_eq!(milli(0.2) + milli(0.5), milli(0.7));
        assert_eq!(from_milli(milli(0.1 + 0.2)), 0.3);
    }

    #[test]
    fn sources_round_trip() {
        for &source in PriceSource::ALL {
            assert_eq!(PriceSource::parse(source.as_str()), Some(source));
        }
    }
}
