//! What a call of a model costs in points: measured by one-model runs, or set by a user.

use std::collections::HashMap;

use rusqlite::{Connection, params};

use super::{Cached, DbError};
use crate::clock::now;
use crate::ids::{KeyId, UserId};

pub fn insert_measurement(
    conn: &Connection,
    user_id: UserId,
    api_key_id: Option<KeyId>,
    model: &str,
    points: f64,
) -> Result<(), DbError> {
    conn.cached_execute(
        "INSERT INTO price_measurements (model, user_id, api_key_id, points, measured_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![model, user_id, api_key_id, points, now()],
    )?;
    Ok(())
}

// The lookups below take every model of a run at once (a JSON array bound as one parameter), so
// a run costs one statement per kind of price, however many models it has.

/// The user's own latest measurement of each of `models` that has one.
pub fn own_measurements(
    conn: &Connection,
    user_id: UserId,
    models: &[String],
) -> Result<HashMap<String, f64>, DbError> {
    Ok(conn.cached_rows(
        "SELECT m.model, (SELECT points FROM price_measurements
                          WHERE model = m.model AND user_id = ?1
                          ORDER BY measured_at DESC, id DESC LIMIT 1)
         FROM (SELECT DISTINCT value AS model FROM json_each(?2)) AS m
         WHERE EXISTS (SELECT 1 FROM price_measurements WHERE model = m.model AND user_id = ?1)",
        params![user_id, models_json(models)],
        pair,
    )?)
}

/// Per model of `models`, each user's latest measurement, newest first (at most 50 users a
/// model): `model -> [(user, points)]`.
pub fn latest_per_user(
    conn: &Connection,
    models: &[String],
) -> Result<HashMap<String, Vec<(UserId, f64)>>, DbError> {
    let mut statement = conn.prepare_cached(
        "SELECT model, user_id, points, max(measured_at) FROM price_measurements
         WHERE model IN (SELECT value FROM json_each(?1))
         GROUP BY model, user_id ORDER BY model, 4 DESC",
    )?;
    let mut latest: HashMap<String, Vec<(UserId, f64)>> = HashMap::new();
    let rows = statement.query_map([models_json(models)], |row| {
        Ok((row.get::<_, String>(0)?, row.get(1)?, row.get(2)?))
    })?;
    for row in rows {
        let (model, user, points) = row?;
        let of_model = latest.entry(model).or_default();
        if of_model.len() < 50 {
            of_model.push((user, points));
        }
    }
    Ok(latest)
}

/// The user's own setting for each of `models` that has one.
pub fn settings(
    conn: &Connection,
    user_id: UserId,
    models: &[String],
) -> Result<HashMap<String, f64>, DbError> {
    Ok(conn.cached_rows(
        "SELECT model, points FROM price_settings
         WHERE user_id = ?1 AND model IN (SELECT value FROM json_each(?2))",
        params![user_id, models_json(models)],
        pair,
    )?)
}

/// A (model, points) row.
fn pair(row: &rusqlite::Row<'_>) -> rusqlite::Result<(String, f64)> {
    Ok((row.get(0)?, row.get(1)?))
}

fn models_json(models: &[String]) -> String {
    serde_json::Value::from(models.to_vec()).to_string()
}

/// Every price the user has set, by model.
pub fn settings_for_user(
    conn: &Connection,
    user_id: UserId,
) -> Result<Vec<(String, f64)>, DbError> {
    Ok(conn.cached_rows(
        "SELECT model, points FROM price_settings WHERE user_id = ?1 ORDER BY model",
        [user_id],
        pair,
    )?)
}

pub fn set(conn: &Connection, user_id: UserId, model: &str, points: f64) -> Result<(), DbError> {
    conn.cached_execute(
        "INSERT INTO price_settings (user_id, model, points, set_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (user_id, model) DO UPDATE SET points = excluded.points, set_at = excluded.set_at",
        params![user_id, model, points, now()],
    )?;
    Ok(())
}

pub fn clear(conn: &Connection, user_id: UserId, model: &str) -> Result<(), DbError> {
    conn.cached_execute(
        "DELETE FROM price_settings WHERE user_id = ?1 AND model = ?2",
        params![user_id, model],
    )?;
    Ok(())
}
