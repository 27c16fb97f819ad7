//! Prices are learned or set, never invented. No API says what a call of a model costs, so:
//! - a clean one-model run (or a price census) *measures* its model's price (`runs::learn`);
//! - every clean run of several models is an equation, and the equations together leave each
//!   model a set of tiers it may still have; one left is an *inferred* price;
//! - a user may *set* a model's price by hand, for themselves only.
//!
//! A user sees their own setting first, then their own latest measurement, then their own
//! inferred price, then the price an admin set for the instance (`runs::instance_prices`), then
//! a price other users measured, but only when two users' latest measurements agree. Reading is a few indexed rows per model: nothing here replays history.

use std::collections::HashMap;

use rusqlite::Connection;

use crate::db::{Db, DbError, price_learning, prices};
use crate::ids::UserId;
use crate::modelscope::{Price, PriceSource, Tiers, milli, tier};

/// What is known of the prices of some models, for one user.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Known {
    pub prices: HashMap<String, Price>,
    /// For models without a price: the prices still possible, when runs narrowed them.
    pub candidates: HashMap<String, Vec<f64>>,
}

impl Known {
    pub fn price(&self, model: &str) -> Option<Price> {
        self.prices.get(model).copied()
    }

    /// The prices `model` may have: its price, its candidates among the site's tiers, or every
    /// tier.
    pub fn possible(&self, model: &str, tiers: &Tiers) -> Vec<f64> {
        if let Some(price) = self.price(model) {
            return vec![price.points];
        }
        let narrowed: Vec<f64> = self
            .candidates
            .get(model)
            .map(|c| {
                c.iter()
                    .copied()
                    .filter(|p| tiers.tier(*p).is_some())
                    .collect()
            })
            .unwrap_or_default();
        if narrowed.is_empty() {
            tiers.prices().to_vec()
        } else {
            narrowed
        }
    }

    /// The cheapest and the dearest price `model` may have.
    pub fn bounds(&self, model: &str, tiers: &Tiers) -> (f64, f64) {
        let possible = self.possible(model, tiers);
        let low = possible.iter().copied().fold(f64::MAX, f64::min);
        let high = possible.iter().copied().fold(f64::MIN, f64::max);
        (low, high)
    }

    /// The row's `price_candidates`: the tiers still possible while the price is unknown.
    pub fn candidates_of(&self, model: &str, tiers: &Tiers) -> Option<Vec<f64>> {
        self.price(model)
            .is_none()
            .then(|| self.possible(model, tiers))
    }
}

/// Known prices of `models` for `user` (anonymous callers see only agreed measurements), in
/// the order of the module docs.
pub async fn known_for(
    db: &Db,
    user: Option<UserId>,
    mut models: Vec<String>,
) -> Result<Known, DbError> {
    // The dashboard asks for each key's models: the same model once is enough.
    models.sort_unstable();
    models.dedup();
    if models.is_empty() {
        return Ok(Known::default());
    }
    db.run(move |conn| known_now(conn, user, &models, true))
        .await
}

/// Known prices by model (see [`known_for`]).
pub async fn prices_for(
    db: &Db,
    user: Option<UserId>,
    models: Vec<String>,
) -> Result<HashMap<String, Price>, DbError> {
    Ok(known_for(db, user, models).await?.prices)
}

/// What [`known_for`] answers, on a connection; `with_set` leaves out the user's own settings
/// when false (what was *learned*, which a new measurement is compared with).
pub fn known_now(
    conn: &Connection,
    user: Option<UserId>,
    models: &[String],
    with_set: bool,
) -> Result<Known, DbError> {
    let mut known = Known::default();
    let latest = prices::latest_per_user(conn, models)?;
    for (model, latest) in &latest {
        if let Some(points) = agreed(latest) {
            known
                .prices
                .insert(model.clone(), price(points, PriceSource::Measured));
        }
    }
    // An admin's word over what others measured, under anything of the user's own.
    if with_set {
        for (model, points) in crate::db::instance_prices::for_models(conn, models)? {
            known.prices.insert(model, price(points, PriceSource::Set));
        }
    }
    let Some(user) = user else {
        return Ok(known);
    };
    // Later inserts win: own inferred over agreed, own measured over both, settings over all.
    for (model, candidates) in price_learning::candidates(conn, user, models)? {
        match candidates.as_slice() {
            [only] => {
                known
                    .prices
                    .insert(model, price(*only, PriceSource::Inferred));
            }
            _ => {
                known.candidates.insert(model, candidates);
            }
        }
    }
    for (model, points) in prices::own_measurements(conn, user, models)? {
        known
            .prices
            .insert(model, price(points, PriceSource::Measured));
    }
    if with_set {
        for (model, points) in prices::settings(conn, user, models)? {
            known.prices.insert(model, price(points, PriceSource::Set));
        }
    }
    known
        .candidates
        .retain(|model, _| !known.prices.contains_key(model));
    Ok(known)
}

/// Newest first: the first value that a second user's latest measurement agrees with.
fn agreed(latest: &[(UserId, f64)]) -> Option<f64> {
    latest
        .iter()
        .find(|(user, points)| {
            latest
                .iter()
                .any(|(other, theirs)| other != user && milli(*theirs) == milli(*points))
        })
        .map(|(_, points)| *points)
}

fn price(points: f64, source: PriceSource) -> Price {
    Price { points, source }
}

#[derive(Debug, thiserror::Error)]
pub enum PriceError {
    #[error("a price is one of 0.2, 0.5, 1 or 2 points")]
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

/// Sets or forgets several of the user's own prices at once (a price table saved whole):
/// every row is checked first, so one bad row writes nothing; the writes are one transaction.
pub async fn set_prices(
    db: &Db,
    user: UserId,
    rows: Vec<(String, Option<f64>)>,
) -> Result<(), PriceError> {
    let mut checked = Vec::with_capacity(rows.len());
    for (model, points) in rows {
        crate::modelscope::validate_model_id(&model).map_err(|_| PriceError::BadModel)?;
        let points = match points {
            Some(points) => Some(tier(points).ok_or(PriceError::NotATier)?),
            None => None,
        };
        checked.push((model, points));
    }
    db.run(move |conn| {
        let tx = conn.transaction()?;
        for (model, points) in &checked {
            match points {
                Some(points) => prices::set(&tx, user, model, *points)?,
                None => prices::clear(&tx, user, model)?,
            }
        }
        tx.commit()?;
        Ok(())
    })
    .await?;
    Ok(())
}

/// Every price the user set, by model.
pub async fn settings(db: &Db, user: UserId) -> Result<Vec<(String, f64)>, DbError> {
    db.run(move |conn| prices::settings_for_user(conn, user))
        .await
}

/// The newest price change of each of `models` (rows and presets show it).
pub async fn latest_changes(
    db: &Db,
    user: UserId,
    models: Vec<String>,
) -> Result<HashMap<String, price_learning::PriceChange>, DbError> {
    if models.is_empty() {
        return Ok(HashMap::new());
    }
    db.run(move |conn| price_learning::latest_changes(conn, user, &models))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn possible_prices_narrow_to_the_sites_tiers() {
        let tiers = Tiers::default();
        let mut known = Known::default();
        assert_eq!(known.possible("a/b", &tiers), [0.2, 0.5, 1.0, 2.0]);
        known.candidates.insert("a/b".into(), vec![1.0, 2.0]);
        assert_eq!(known.bounds("a/b", &tiers), (1.0, 2.0));
        assert_eq!(known.candidates_of("a/b", &tiers), Some(vec![1.0, 2.0]));
        // Candidates the site's table no longer has are no narrowing.
        let other = Tiers::from_prices([0.3, 3.0]).unwrap();
        assert_eq!(known.possible("a/b", &other), [0.3, 3.0]);
        known.prices.insert(
            "a/b".into(),
            Price {
                points: 2.0,
                source: PriceSource::Inferred,
            },
        );
        assert_eq!(known.possible("a/b", &tiers), [2.0]);
        assert_eq!(known.candidates_of("a/b", &tiers), None);
    }
}
