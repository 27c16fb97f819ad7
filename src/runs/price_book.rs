//! The prices `monitors` prices a probe monitor with: it sits a layer below `runs` and asks
//! through its [`PriceBook`] trait, which this implements on the caller's connection.

use std::collections::HashMap;

use rusqlite::Connection;

use super::prices::known_in;
use crate::ids::UserId;
use crate::modelscope::ExpectedCost;
use crate::monitors::cost::PriceBook;

/// The prices a user knows (their settings, their measurements, agreed ones).
pub struct KnownPrices;

impl PriceBook for KnownPrices {
    fn run_cost(&self, conn: &Connection, user: UserId, models: &[String]) -> ExpectedCost {
        let known = known_in(conn, Some(user), models).unwrap_or_else(|error| {
            tracing::warn!(%error, "reading model prices failed");
            HashMap::new()
        });
        ExpectedCost::of(models.iter().map(|m| known.get(m).map(|p| p.points)))
    }
}
