//! The prices `monitors` prices a probe monitor with: it sits a layer below `runs` and asks
//! through its [`PriceBook`] trait, which this implements on the caller's connection.

use rusqlite::Connection;

use super::prices::{Known, known_now};
use crate::ids::UserId;
use crate::modelscope::{ExpectedCost, Tiers};
use crate::monitors::cost::PriceBook;

/// The prices a user knows (set, measured, inferred, agreed), each unknown one the range of the
/// tiers it may still have.
pub struct KnownPrices;

impl PriceBook for KnownPrices {
    fn run_cost(&self, conn: &Connection, user: UserId, models: &[String]) -> ExpectedCost {
        let known = known_now(conn, Some(user), models, true).unwrap_or_else(|error| {
            tracing::warn!(%error, "reading model prices failed");
            Known::default()
        });
        let tiers = Tiers::default();
        ExpectedCost::of(models.iter().map(|m| known.bounds(m, &tiers)))
    }
}
