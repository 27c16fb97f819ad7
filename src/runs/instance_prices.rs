//! Prices an admin sets for the whole instance: a person's word about a model, for everyone
//! (signed out too). A user's own setting and their own measurements come first; see
//! `runs::prices`, which reads these with the rest.

use crate::db::{Db, DbError, instance_prices};
use crate::ids::UserId;
use crate::modelscope::tier;

use super::prices::PriceError;

/// Sets (or, with `None`, clears) the instance's price of `model`.
pub async fn set(db: &Db, by: UserId, model: &str, points: Option<f64>) -> Result<(), PriceError> {
    crate::modelscope::validate_model_id(model).map_err(|_| PriceError::BadModel)?;
    let model = model.to_owned();
    match points {
        Some(points) => {
            let points = tier(points).ok_or(PriceError::NotATier)?;
            db.run(move |conn| instance_prices::set(conn, &model, points, by))
                .await?
        }
        None => {
            db.run(move |conn| instance_prices::clear(conn, &model))
                .await?
        }
    }
    Ok(())
}

/// Every instance price, by model.
pub async fn all(db: &Db) -> Result<Vec<(String, f64)>, DbError> {
    db.run(|conn| instance_prices::all(conn)).await
}
