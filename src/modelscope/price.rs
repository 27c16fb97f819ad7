//! What a call of a model costs in points (魔粒). No API says it: a price is learned from a
//! one-model run or set by a user (see `runs::prices`), never invented.

/// What a call costs on ModelScope today: light, mainstream and flagship models.
pub const TIERS: [f64; 3] = [0.5, 1.0, 2.0];

crate::closed_set! {
    /// How a price is known (stored with every row that has one, and sent as `price_source`).
    pub enum PriceSource {
        /// Learned from a one-model run.
        Measured = "measured",
        /// Set by the user.
        Set = "set",
    }
}

/// Points a call of a model costs, and how that is known.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Price {
    pub points: f64,
    pub source: PriceSource,
}

/// The tier `points` is, if it is one (measurements are compared to a small tolerance, since
/// balances are fractional numbers).
pub fn tier(points: f64) -> Option<f64> {
    TIERS.into_iter().find(|tier| (points - tier).abs() < 1e-6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_tiers_are_prices() {
        assert_eq!(tier(0.5), Some(0.5));
        assert_eq!(tier(1.0000000001), Some(1.0));
        assert_eq!(tier(2.0), Some(2.0));
        assert_eq!(tier(1.5), None);
        assert_eq!(tier(0.0), None);
        assert_eq!(tier(-1.0), None);
    }
}
