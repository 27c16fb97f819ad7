//! The price table on `/presets`: every model of the user's presets with what a call costs and
//! how that is known (`POST /prices` in `mod.rs` sets a tier, for this user only).

use crate::db::Db;
use crate::db::presets::Preset;
use crate::ids::UserId;
use crate::modelscope::{PriceSource, TIERS};
use crate::runs::prices;
use crate::web::kit::view::points;

/// One model's price, as the table shows it.
pub struct PriceRow {
    pub model: String,
    /// `2`, `1`, `0.5`, or `None` when unknown.
    pub points: Option<String>,
    /// `None` when unknown.
    pub source: Option<PriceSource>,
}

/// The tiers a select offers, as text (`2`, `1`, `0.5`).
pub fn tier_options() -> Vec<String> {
    TIERS.iter().rev().map(|tier| points(*tier)).collect()
}

/// The distinct models of `presets`, in order, with their known prices. A failed read leaves
/// every price unknown; it is logged.
pub async fn price_rows(db: &Db, user: UserId, presets: &[Preset]) -> Vec<PriceRow> {
    let mut models: Vec<String> = Vec::new();
    for model in presets.iter().flat_map(|p| p.models.iter()) {
        if !models.contains(model) {
            models.push(model.clone());
        }
    }
    let known = match prices::prices_for(db, Some(user), models.clone()).await {
        Ok(known) => known,
        Err(error) => {
            tracing::warn!(%error, "reading model prices failed");
            Default::default()
        }
    };
    models
        .into_iter()
        .map(|model| {
            let price = known.get(&model);
            PriceRow {
                points: price.map(|p| points(p.points)),
                source: price.map(|p| p.source),
                model,
            }
        })
        .collect()
}
