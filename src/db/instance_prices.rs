//! `instance_prices`: the price of a model an admin set for everyone.

use std::collections::HashMap;

use rusqlite::{Connection, params};

use super::Cached;
use super::DbError;
use crate::clock::now;
use crate::ids::UserId;

/// The instance's price of each of `models` that has one.
pub fn for_models(conn: &Connection, models: &[String]) -> Result<HashMap<String, f64>, DbError> {
    let mut statement = conn.prepare_cached(
        "SELECT model, points FROM instance_prices
         WHERE model IN (SELECT value FROM json_each(?1))",
    )?;
    let json = serde_json::Value::from(models.to_vec()).to_string();
    let rows = statement
        .query_map([json], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Every instance price, by model.
pub fn all(conn: &Connection) -> Result<Vec<(String, f64)>, DbError> {
    let mut statement =
        conn.prepare_cached("SELECT model, points FROM instance_prices ORDER BY model")?;
    let rows = statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

pub fn set(conn: &Connection, model: &str, points: f64, by: UserId) -> Result<(), DbError> {
    conn.cached_execute(
        "INSERT INTO instance_prices (model, points, set_by, set_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (model) DO UPDATE SET points = excluded.points, set_by = excluded.set_by,
                                           set_at = excluded.set_at",
        params![model, points, by, now()],
    )?;
    Ok(())
}

pub fn clear(conn: &Connection, model: &str) -> Result<(), DbError> {
    conn.cached_execute("DELETE FROM instance_prices WHERE model = ?1", [model])?;
    Ok(())
}
