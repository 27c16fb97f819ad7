//! `/api/quota`'s figures, from what is stored (no upstream call): each of the user's keys with
//! its newest balance, forecast, expiring points, and the calls left of the models of the
//! user's presets and recent runs, or of one model with the keys ranked for it. The faces
//! (JSON, Prometheus text) only write it out.

use std::collections::HashMap;

use super::calls_left::CallsLeft;
use super::outlook::{self, KeyOutlook};
use super::prices;
use super::ranking::{self, Standing};
use super::tiers::TierBook;
use crate::clock;
use crate::db::history::{self, LatestResult};
use crate::db::{Db, DbError, presets};
use crate::ids::{KeyId, UserId};
use crate::keyring::{KeyError, KeySummary, Keyring};
use crate::modelscope::{Price, Quota};

/// What was asked for.
#[derive(Debug, Clone, Default)]
pub struct QuotaAsk {
    /// One of the user's keys only.
    pub key: Option<KeyId>,
    /// One model only, with the keys ranked for it.
    pub model: Option<String>,
}

/// One model on one key.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelQuota {
    pub model: String,
    pub price: Option<Price>,
    pub calls: CallsLeft,
    /// Calls a day of this model the key's pace means.
    pub calls_per_day: Option<f64>,
}

#[derive(Debug, Clone)]
pub struct KeyQuota {
    pub key: KeySummary,
    pub outlook: KeyOutlook,
    pub models: Vec<ModelQuota>,
}

#[derive(Debug, Clone)]
pub struct QuotaReport {
    /// By label, or best first for the model asked for.
    pub keys: Vec<KeyQuota>,
    pub now: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum QuotaError {
    #[error("no such saved key")]
    KeyNotFound,
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// The report for `user` at `now`; an unknown price is bounded by the key's site's `tiers`.
pub async fn report(
    db: &Db,
    keyring: &Keyring,
    tiers: &TierBook,
    user: UserId,
    ask: QuotaAsk,
    now: i64,
) -> Result<QuotaReport, QuotaError> {
    let mut keys = keyring.list(user).await?;
    if let Some(only) = ask.key {
        keys.retain(|k| k.id == only);
        if keys.is_empty() {
            return Err(QuotaError::KeyNotFound);
        }
    }
    let (mut outlooks, latest, preset_models) = db
        .run(move |conn| {
            let preset_models: Vec<String> = presets::list_for_user(conn, user)?
                .into_iter()
                .flat_map(|p| p.models)
                .collect();
            Ok((
                outlook::read(conn, user, now)?,
                history::latest_for_user(conn, user)?,
                preset_models,
            ))
        })
        .await?;
    let mut models = match ask.model.clone() {
        Some(model) => vec![model],
        None => preset_models
            .into_iter()
            .chain(latest.iter().map(|l| l.model.clone()))
            .collect(),
    };
    models.sort_unstable();
    models.dedup();
    let known = prices::known_for(db, Some(user), models.clone()).await?;
    let midnight = clock::last_midnight(now);
    // Rate-limit headers count today's calls: older ones say nothing now.
    let headers: HashMap<(KeyId, &str), Quota> = latest
        .iter()
        .filter(|l: &&LatestResult| l.checked_at >= midnight)
        .map(|l| ((l.api_key_id, l.model.as_str()), l.quota))
        .collect();
    let mut report: Vec<KeyQuota> = keys
        .into_iter()
        .map(|key| {
            let outlook = outlooks.remove(&key.id).unwrap_or_else(KeyOutlook::unread);
            let available = outlook.balance.map(|b| b.available);
            let site_tiers = tiers.tiers(key.site);
            let models = models
                .iter()
                .map(|model| {
                    let price = known.price(model);
                    let quota = headers
                        .get(&(key.id, model.as_str()))
                        .copied()
                        .unwrap_or_default();
                    ModelQuota {
                        model: model.clone(),
                        price,
                        calls: CallsLeft::assess(
                            &quota,
                            available,
                            price.map(|p| p.points),
                            known.bounds(model, &site_tiers),
                        ),
                        calls_per_day: price.and_then(|p| outlook.forecast.calls_per_day(p.points)),
                    }
                })
                .collect();
            KeyQuota {
                key,
                outlook,
                models,
            }
        })
        .collect();
    if ask.model.is_some() {
        report = ranked(report);
    }
    Ok(QuotaReport { keys: report, now })
}

/// Best first for the one model every key carries.
fn ranked(keys: Vec<KeyQuota>) -> Vec<KeyQuota> {
    let standings = keys
        .iter()
        .map(|k| Standing {
            key: k.key.id,
            calls: k.models.first().map(|m| m.calls).unwrap_or_default(),
            expires_first: k.outlook.expires_first(),
        })
        .collect();
    let mut by_id: HashMap<KeyId, KeyQuota> = keys.into_iter().map(|k| (k.key.id, k)).collect();
    ranking::rank(standings)
        .into_iter()
        .filter_map(|s| by_id.remove(&s.key))
        .collect()
}
