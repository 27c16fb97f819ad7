//! Prices are learned or set, never invented. No API says what a call of a model costs, so:
//! a run that probes exactly one model and whose measured cost is one of the known tiers
//! records that model's price; a user may set a model's tier by hand, for themselves only.
//! A user sees their own setting first, then their own latest measurement, then the price an
//! admin set for the instance (`runs::instance_prices`), then a price other users measured, but
//! only when two users' latest measurements agree.

use std::collections::HashMap;

use crate::db::{Db, DbError, prices};
use crate::ids::{KeyId, UserId};
use crate::modelscope::{Price, PriceSource, tier};

/// Known prices of `models` for `user` (anonymous callers see only agreed measurements), in
/// the order of the module docs.
pub async fn prices_for(
    db: &Db,
    user: Option<UserId>,
    mut models: Vec<String>,
) -> Result<HashMap<String, Price>, DbError> {
    // The dashboard asks for each key's models: the same model once is enough.
    models.sort_unstable();
    models.dedup();
    if models.is_empty() {
        return Ok(HashMap::new());
    }
    db.run(move |conn| {
        let mut known: HashMap<String, Price> = HashMap::new();
        let latest = prices::latest_per_user(conn, &models)?;
        for (model, latest) in &latest {
            if let Some(points) = agreed(latest) {
                known.insert(model.clone(), price(points, PriceSource::Measured));
            }
        }
        // An admin's word over what others measured, under anything of the user's own.
        for (model, points) in crate::db::instance_prices::for_models(conn, &models)? {
            known.insert(model, price(points, PriceSource::Set));
        }
        if let Some(user) = user {
            // Later inserts win: own measurements over agreed ones, settings over both.
            for (model, points) in prices::own_measurements(conn, user, &models)? {
                known.insert(model, price(points, PriceSource::Measured));
            }
            for (model, points) in prices::settings(conn, user, &models)? {
                known.insert(model, price(points, PriceSource::Set));
            }
        }
        Ok(known)
    })
    .await
}

/// Newest first: the first value that a second user's latest measurement agrees with.
fn agreed(latest: &[(UserId, f64)]) -> Option<f64> {
    latest
        .iter()
        .find(|(user, points)| {
            latest
                .iter()
                .any(|(other, theirs)| other != user && (theirs - points).abs() < 1e-6)
        })
        .map(|(_, points)| *points)
}

fn price(points: f64, source: PriceSource) -> Price {
    Price { points, source }
}

/// Records what a one-model run cost, when that is one of the tiers.
pub async fn record_measurement(
    db: &Db,
    user: UserId,
    key: Option<KeyId>,
    model: String,
    spent: f64,
) -> Result<Option<f64>, DbError> {
    let Some(points) = tier(spent) else {
        return Ok(None);
    };
    db.run(move |conn| prices::insert_measurement(conn, user, key, &model, points))
        .await?;
    Ok(Some(points))
}

#[derive(Debug, thiserror::Error)]
pub enum PriceError {
    #[error("a price is one of 0.5, 1 or 2 points")]
    NotATier,
    #[error("not a valid model id")]
    BadModel,
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Sets (or, with `None`, clears) the user's own price for `model`.
pub async fn set_price(
    db: &Db,
    user: UserId,
    model: &str,
    points: Option<f64>,
) -> Result<(), PriceError> {
    crate::modelscope::validate_model_id(model).map_err(|_| PriceError::BadModel)?;
    let model = model.to_owned();
    match points {
        Some(points) => {
            let points = tier(points).ok_or(PriceError::NotATier)?;
            db.run(move |conn| prices::set(conn, user, &model, points))
                .await?
        }
        None => {
            db.run(move |conn| prices::clear(conn, user, &model))
                .await?
        }
    }
    Ok(())
}

/// Every price the user set, by model.
pub async fn settings(db: &Db, user: UserId) -> Result<Vec<(String, f64)>, DbError> {
    db.run(move |conn| prices::settings_for_user(conn, user))
        .await
}
