//! Which key to use, beside each preset on the dashboard: for each of its models the user's
//! keys ranked by calls left (`runs::ranking`), and the key with the most runs of the whole
//! preset left, which its run form selects.

use std::collections::HashMap;

use crate::db::presets::Preset;
use crate::ids::KeyId;
use crate::keyring::KeySummary;
use crate::modelscope::{Quota, Tiers};
use crate::runs::calls_left::{CallsLeft, ExpectedCost};
use crate::runs::outlook::KeyOutlook;
use crate::runs::prices::Known;
use crate::runs::ranking::{self, Standing};

/// A key's place for one model: its label and its calls left (`240`, `120–480`).
pub struct KeyCalls {
    pub label: String,
    pub calls: String,
}

pub struct ModelRanking {
    pub model: String,
    /// Best first; keys never read are left out.
    pub keys: Vec<KeyCalls>,
}

pub struct PresetRanking {
    /// The key the preset's run form selects.
    pub best: Option<KeyId>,
    pub models: Vec<ModelRanking>,
}

fn calls_text(calls: &CallsLeft) -> Option<String> {
    match (calls.exact, calls.range) {
        (Some(n), _) => Some(n.to_string()),
        (None, Some((low, high))) => Some(format!("{low}–{high}")),
        _ => None,
    }
}

/// One ranking per preset, in the presets' order.
pub fn for_presets(
    presets: &[Preset],
    keys: &[KeySummary],
    outlooks: &HashMap<KeyId, KeyOutlook>,
    known: &Known,
) -> Vec<PresetRanking> {
    let read: Vec<(&KeySummary, &KeyOutlook)> = keys
        .iter()
        .filter_map(|k| Some((k, outlooks.get(&k.id).filter(|o| o.balance.is_some())?)))
        .collect();
    let label: HashMap<KeyId, &str> = keys.iter().map(|k| (k.id, k.label.as_str())).collect();
    // As the dashboard's rows: the built-in tiers bound an unknown price.
    let tiers = Tiers::default();
    presets
        .iter()
        .map(|preset| {
            let models = preset
                .models
                .iter()
                .map(|model| {
                    let price = known.price(model).map(|p| p.points);
                    let bounds = known.bounds(model, &tiers);
                    let standings = read
                        .iter()
                        .map(|(key, outlook)| Standing {
                            key: key.id,
                            calls: CallsLeft::assess(
                                &Quota::default(),
                                outlook.balance.map(|b| b.available),
                                price,
                                bounds,
                            ),
                            expires_first: outlook.expires_first(),
                        })
                        .collect();
                    ModelRanking {
                        model: model.clone(),
                        keys: ranking::rank(standings)
                            .iter()
                            .filter_map(|s| {
                                Some(KeyCalls {
                                    label: (*label.get(&s.key)?).to_owned(),
                                    calls: calls_text(&s.calls)?,
                                })
                            })
                            .collect(),
                    }
                })
                .collect();
            let cost = ExpectedCost::of(preset.models.iter().map(|m| known.bounds(m, &tiers)));
            let balances: Vec<_> = read
                .iter()
                .map(|(key, outlook)| {
                    (
                        key.id,
                        outlook.balance.map(|b| b.available),
                        outlook.expires_first(),
                    )
                })
                .collect();
            PresetRanking {
                best: ranking::best_for_cost(&balances, cost.max),
                models,
            }
        })
        .collect()
}
