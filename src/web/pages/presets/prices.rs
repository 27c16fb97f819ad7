//! The price table on `/presets`: every model of the user's presets with what a call costs, how
//! that is known (measured, inferred, set), the prices it may still have, and its latest price
//! change (`POST /prices` in `mod.rs` sets a tier, for this user only). The price census form
//! beside it posts to `/query` with `measure_prices`.

use crate::clock;
use crate::db::Db;
use crate::db::presets::Preset;
use crate::ids::UserId;
use crate::modelscope::{BUILT_IN_TIERS, PriceSource, Tiers};
use crate::runs::prices::{self, Known};
use crate::web::kit::view::points;

/// One model's price, as the table shows it.
pub struct PriceRow {
    pub model: String,
    /// `2`, `1`, `0.5`, `0.2` (or a measured price of no tier), or `None` when unknown.
    pub points: Option<String>,
    /// `None` when unknown.
    pub source: Option<PriceSource>,
    /// While unknown: the prices it may still have (`1 / 2`), when runs narrowed them.
    pub candidates: Option<String>,
    /// Its latest price change: from, to, when.
    pub change: Option<(String, String, String)>,
}

/// The tiers a select offers, as text (`2`, `1`, `0.5`, `0.2`).
pub fn tier_options() -> Vec<String> {
    Tiers::default()
        .prices()
        .iter()
        .rev()
        .map(|tier| points(*tier))
        .collect()
}

/// The distinct models of `presets`, in order, with what is known of their prices (also
/// returned, for the census costs). A failed read leaves every price unknown; it is logged.
pub async fn price_rows(db: &Db, user: UserId, presets: &[Preset]) -> (Vec<PriceRow>, Known) {
    let mut models: Vec<String> = Vec::new();
    for model in presets.iter().flat_map(|p| p.models.iter()) {
        if !models.contains(model) {
            models.push(model.clone());
        }
    }
    let known = prices::known_for(db, Some(user), models.clone())
        .await
        .unwrap_or_else(|error| {
            tracing::warn!(%error, "reading model prices failed");
            Known::default()
        });
    let changes = prices::latest_changes(db, user, models.clone())
        .await
        .unwrap_or_else(|error| {
            tracing::warn!(%error, "reading price changes failed");
            Default::default()
        });
    let rows = models
        .into_iter()
        .map(|model| {
            let price = known.price(&model);
            PriceRow {
                points: price.map(|p| points(p.points)),
                source: price.map(|p| p.source),
                candidates: known
                    .candidates
                    .get(&model)
                    .filter(|c| c.len() < BUILT_IN_TIERS.len())
                    .map(|c| c.iter().map(|p| points(*p)).collect::<Vec<_>>().join(" / ")),
                change: changes.get(&model).map(|c| {
                    (
                        points(c.old_points),
                        points(c.new_points),
                        clock::minutes(c.changed_at),
                    )
                }),
                model,
            }
        })
        .collect();
    (rows, known)
}
