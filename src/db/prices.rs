//! What a call of a model costs in points: measured by one-model runs, or set by a user.

use rusqlite::{Connection, OptionalExtension, params};

use super::DbError;
use crate::clock::now;
use crate::ids::{KeyId, UserId};

pub fn insert_measurement(
    conn: &Connection,
    user_id: UserId,
    api_key_id: Option<KeyId>,
    model: &str,
    points: f64,
) -> Result<(), DbError> {
    conn.execute(
        "INSERT INTO price_measurements (model, user_id, api_key_id, points, measured_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![model, user_id, api_key_id, points, now()],
    )?;
    Ok(())
}

/// The user's own latest measurement of `model`.
pub fn own_measurement(
    conn: &Connection,
    user_id: UserId,
    model: &str,
) -> Result<Option<(f64, i64)>, DbError> {
    Ok(conn
        .query_row(
            "SELECT points, measured_at FROM price_measurements
             WHERE model = ?1 AND user_id = ?2 ORDER BY measured_at DESC, id DESC LIMIT 1",
            params![model, user_id],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?)
}

/// Each user's latest measurement of `model`, newest first: `(user, points, measured_at)`.
pub fn latest_per_user(conn: &Connection, model: &str) -> Result<Vec<(UserId, f64, i64)>, DbError> {
    let mut statement = conn.prepare_cached(
        "SELECT user_id, points, max(measured_at) FROM price_measurements
         WHERE model = ?1 GROUP BY user_id ORDER BY 3 DESC LIMIT 50",
    )?;
    let rows = statement
        .query_map([model], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// The user's own setting for `model`.
pub fn setting(conn: &Connection, user_id: UserId, model: &str) -> Result<Option<f64>, DbError> {
    Ok(conn
        .query_row(
            "SELECT points FROM price_settings WHERE user_id = ?1 AND model = ?2",
            params![user_id, model],
            |row| row.get(0),
        )
        .optional()?)
}

/// Every price the user has set, by model.
pub fn settings_for_user(
    conn: &Connection,
    user_id: UserId,
) -> Result<Vec<(String, f64)>, DbError> {
    let mut statement = conn.prepare_cached(
        "SELECT model, points FROM price_settings WHERE user_id = ?1 ORDER BY model",
    )?;
    let rows = statement
        .query_map([user_id], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

pub fn set(conn: &Connection, user_id: UserId, model: &str, points: f64) -> Result<(), DbError> {
    conn.execute(
        "INSERT INTO price_settings (user_id, model, points, set_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (user_id, model) DO UPDATE SET points = excluded.points, set_at = excluded.set_at",
        params![user_id, model, points, now()],
    )?;
    Ok(())
}

pub fn clear(conn: &Connection, user_id: UserId, model: &str) -> Result<(), DbError> {
    conn.execute(
        "DELETE FROM price_settings WHERE user_id = ?1 AND model = ?2",
        params![user_id, model],
    )?;
    Ok(())
}
