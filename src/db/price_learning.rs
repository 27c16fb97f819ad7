//! What runs taught about prices: equations (a clean run's models and what they cost), the
//! prices each model may still have, measurements waiting for a second one, and price changes.
//! Every lookup takes the models at hand (a JSON array bound as one parameter) and reads the
//! rows of those models only.

use std::collections::HashMap;

use rusqlite::{Connection, params};

use super::Cached;
use super::DbError;
use crate::clock::now;
use crate::ids::UserId;
use crate::modelscope::PriceSource;

/// A stored equation: `Σ price(model) = total` over `models` (repeats kept), in thousandths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEquation {
    pub id: i64,
    pub models: Vec<String>,
    pub total: i64,
}

fn json(models: &[String]) -> String {
    serde_json::Value::from(models.to_vec()).to_string()
}

/// Equations kept per user: the newest. What older ones said lives on in the candidates; they
/// are only needed to find which equation a contradiction came from.
pub const EQUATIONS_KEPT: i64 = 200;

/// Stores an equation, and forgets the user's equations beyond the newest [`EQUATIONS_KEPT`]
/// (so reading a model's equations never walks a long history).
pub fn insert_equation(
    conn: &Connection,
    user_id: UserId,
    models: &[String],
    total: i64,
) -> Result<i64, DbError> {
    conn.cached_execute(
        "DELETE FROM price_equations WHERE user_id = ?1 AND id <= (
             SELECT id FROM price_equations WHERE user_id = ?1
             ORDER BY id DESC LIMIT 1 OFFSET ?2)",
        params![user_id, EQUATIONS_KEPT - 1],
    )?;
    conn.cached_execute(
        "INSERT INTO price_equations (user_id, models, total, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![user_id, json(models), total, now()],
    )?;
    let id = conn.last_insert_rowid();
    conn.cached_execute(
        "INSERT OR IGNORE INTO price_equation_models (user_id, model, equation_id)
         SELECT ?1, value, ?2 FROM json_each(?3)",
        params![user_id, id, json(models)],
    )?;
    Ok(id)
}

/// The user's newest equations that name any of `models` (at most `limit`), oldest first.
pub fn equations_naming(
    conn: &Connection,
    user_id: UserId,
    models: &[String],
    limit: usize,
) -> Result<Vec<StoredEquation>, DbError> {
    let mut statement = conn.prepare_cached(
        "SELECT e.id, e.models, e.total FROM price_equations e
         WHERE e.id IN (SELECT equation_id FROM price_equation_models
                        WHERE user_id = ?1 AND model IN (SELECT value FROM json_each(?2))
                        ORDER BY equation_id DESC LIMIT ?3)
         ORDER BY e.id",
    )?;
    let rows = statement.query_map(
        params![
            user_id,
            json(models),
            i64::try_from(limit).unwrap_or(i64::MAX)
        ],
        |row| {
            let models: String = row.get(1)?;
            Ok(StoredEquation {
                id: row.get(0)?,
                models: serde_json::from_str(&models).unwrap_or_default(),
                total: row.get(2)?,
            })
        },
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn delete_equation(conn: &Connection, user_id: UserId, id: i64) -> Result<(), DbError> {
    conn.cached_execute(
        "DELETE FROM price_equations WHERE id = ?1 AND user_id = ?2",
        params![id, user_id],
    )?;
    Ok(())
}

/// The stored candidates of each of `models` that has a row.
pub fn candidates(
    conn: &Connection,
    user_id: UserId,
    models: &[String],
) -> Result<HashMap<String, Vec<f64>>, DbError> {
    let mut statement = conn.prepare_cached(
        "SELECT model, candidates FROM price_candidates
         WHERE user_id = ?1 AND model IN (SELECT value FROM json_each(?2))",
    )?;
    let rows = statement.query_map(params![user_id, json(models)], |row| {
        let text: String = row.get(1)?;
        Ok((row.get::<_, String>(0)?, text))
    })?;
    let mut found = HashMap::new();
    for row in rows {
        let (model, text) = row?;
        // A row that does not parse is as good as none: every tier is possible.
        if let Ok(prices) = serde_json::from_str::<Vec<f64>>(&text) {
            found.insert(model, prices);
        }
    }
    Ok(found)
}

pub fn set_candidates(
    conn: &Connection,
    user_id: UserId,
    model: &str,
    prices: &[f64],
) -> Result<(), DbError> {
    conn.cached_execute(
        "INSERT INTO price_candidates (user_id, model, candidates, updated_at)
         VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (user_id, model) DO UPDATE SET candidates = excluded.candidates,
            updated_at = excluded.updated_at",
        params![
            user_id,
            model,
            serde_json::Value::from(prices.to_vec()).to_string(),
            now()
        ],
    )?;
    Ok(())
}

/// Forgets what equations said of `model` (a measurement now says more).
pub fn clear_candidates(conn: &Connection, user_id: UserId, model: &str) -> Result<(), DbError> {
    conn.cached_execute(
        "DELETE FROM price_candidates WHERE user_id = ?1 AND model = ?2",
        params![user_id, model],
    )?;
    Ok(())
}

pub fn pending(conn: &Connection, user_id: UserId, model: &str) -> Result<Option<f64>, DbError> {
    use rusqlite::OptionalExtension;
    Ok(conn
        .cached_row(
            "SELECT points FROM price_pending WHERE user_id = ?1 AND model = ?2",
            params![user_id, model],
            |row| row.get(0),
        )
        .optional()?)
}

pub fn set_pending(
    conn: &Connection,
    user_id: UserId,
    model: &str,
    points: Option<f64>,
) -> Result<(), DbError> {
    match points {
        Some(points) => conn.cached_execute(
            "INSERT INTO price_pending (user_id, model, points, seen_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (user_id, model) DO UPDATE SET points = excluded.points,
                seen_at = excluded.seen_at",
            params![user_id, model, points, now()],
        )?,
        None => conn.cached_execute(
            "DELETE FROM price_pending WHERE user_id = ?1 AND model = ?2",
            params![user_id, model],
        )?,
    };
    Ok(())
}

/// A price change as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceChange {
    pub id: i64,
    pub model: String,
    pub old_points: f64,
    pub new_points: f64,
    /// How the new price is known (measured or inferred).
    pub source: PriceSource,
    pub changed_at: i64,
}

pub fn insert_change(
    conn: &Connection,
    user_id: UserId,
    model: &str,
    old_points: f64,
    new_points: f64,
    source: PriceSource,
) -> Result<i64, DbError> {
    conn.cached_execute(
        "INSERT INTO price_changes (user_id, model, old_points, new_points, source, changed_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![user_id, model, old_points, new_points, source, now()],
    )?;
    Ok(conn.last_insert_rowid())
}

fn change_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<PriceChange> {
    Ok(PriceChange {
        id: row.get(0)?,
        model: row.get(1)?,
        old_points: row.get(2)?,
        new_points: row.get(3)?,
        source: row.get(4)?,
        changed_at: row.get(5)?,
    })
}

/// The newest change of each of `models` that has one.
pub fn latest_changes(
    conn: &Connection,
    user_id: UserId,
    models: &[String],
) -> Result<HashMap<String, PriceChange>, DbError> {
    let mut statement = conn.prepare_cached(
        "SELECT c.id, c.model, c.old_points, c.new_points, c.source, c.changed_at
         FROM (SELECT DISTINCT value AS model FROM json_each(?2)) AS m
         JOIN price_changes c ON c.id = (SELECT id FROM price_changes
                                         WHERE user_id = ?1 AND model = m.model
                                         ORDER BY id DESC LIMIT 1)",
    )?;
    let rows = statement.query_map(params![user_id, json(models)], change_from_row)?;
    let mut found = HashMap::new();
    for row in rows {
        let change = row?;
        found.insert(change.model.clone(), change);
    }
    Ok(found)
}

/// The user's changes after `after` (an id), oldest first, at most `limit`; of one model when
/// `model` is given.
pub fn changes_after(
    conn: &Connection,
    user_id: UserId,
    after: i64,
    model: Option<&str>,
    limit: usize,
) -> Result<Vec<PriceChange>, DbError> {
    let mut statement = conn.prepare_cached(
        "SELECT id, model, old_points, new_points, source, changed_at FROM price_changes
         WHERE user_id = ?1 AND id > ?2 AND (?3 IS NULL OR model = ?3)
         ORDER BY id LIMIT ?4",
    )?;
    let rows = statement.query_map(
        params![
            user_id,
            after,
            model,
            i64::try_from(limit).unwrap_or(i64::MAX)
        ],
        change_from_row,
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The id of the user's newest change (0 when none).
pub fn newest_change_id(conn: &Connection, user_id: UserId) -> Result<i64, DbError> {
    Ok(conn.cached_row(
        "SELECT coalesce(max(id), 0) FROM price_changes WHERE user_id = ?1",
        [user_id],
        |row| row.get(0),
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn database() -> Connection {
        crate::db::test_support::database_with(
            "INSERT INTO users (id, username, password_hash, created_at) VALUES (7, 'a', 'x', 0);
             INSERT INTO users (id, username, password_hash, created_at) VALUES (8, 'b', 'x', 0);",
        )
    }

    #[test]
    fn only_the_newest_equations_are_kept_and_a_models_are_found() {
        let conn = database();
        let models = ["a/b".to_owned(), "c/d".to_owned()];
        for total in 0..(EQUATIONS_KEPT + 5) {
            insert_equation(&conn, UserId(7), &models, total).unwrap();
        }
        insert_equation(&conn, UserId(8), &models[..1], 1000).unwrap();
        let kept: i64 = conn
            .query_row(
                "SELECT count(*) FROM price_equations WHERE user_id = 7",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(kept, EQUATIONS_KEPT);
        let found = equations_naming(&conn, UserId(7), &models[1..], 3).unwrap();
        let totals: Vec<i64> = found.iter().map(|e| e.total).collect();
        assert_eq!(
            totals,
            [EQUATIONS_KEPT + 2, EQUATIONS_KEPT + 3, EQUATIONS_KEPT + 4]
        );
        assert_eq!(found[0].models, models);
        assert!(
            equations_naming(&conn, UserId(8), &models[1..], 3)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn changes_are_read_newest_per_model_and_after_a_mark() {
        let conn = database();
        let first =
            insert_change(&conn, UserId(7), "a/b", 1.0, 2.0, PriceSource::Measured).unwrap();
        insert_change(&conn, UserId(7), "c/d", 0.5, 1.0, PriceSource::Inferred).unwrap();
        let last = insert_change(&conn, UserId(7), "a/b", 2.0, 1.0, PriceSource::Measured).unwrap();
        let latest = latest_changes(&conn, UserId(7), &["a/b".to_owned()]).unwrap();
        assert_eq!(latest["a/b"].id, last);
        let after = changes_after(&conn, UserId(7), first, Some("a/b"), 10).unwrap();
        assert_eq!(after.len(), 1);
        assert_eq!(
            changes_after(&conn, UserId(7), 0, None, 10).unwrap().len(),
            3
        );
        assert_eq!(newest_change_id(&conn, UserId(7)).unwrap(), last);
        assert_eq!(newest_change_id(&conn, UserId(8)).unwrap(), 0);
    }
}
