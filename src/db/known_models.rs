//! The model ids a user has used, newest first: the latest answers of their saved keys and the
//! models of their presets. Suggestions in model fields read it (a few index probes, never the
//! run history itself).

use rusqlite::{Connection, params};

use super::{Cached, DbError};
use crate::ids::UserId;

/// At most `limit` distinct ids, the most recently used first.
pub fn used_by(conn: &Connection, user_id: UserId, limit: usize) -> Result<Vec<String>, DbError> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    Ok(conn.cached_rows(
        "SELECT model FROM (
             SELECT l.model AS model, l.checked_at AS at
             FROM latest_results l JOIN api_keys k ON k.id = l.api_key_id WHERE k.user_id = ?1
             UNION ALL
             SELECT j.value, p.updated_at FROM presets p, json_each(p.models) j
             WHERE p.user_id = ?1 AND j.type = 'text')
         GROUP BY model ORDER BY MAX(at) DESC, model LIMIT ?2",
        params![user_id, limit],
        |row| row.get(0),
    )?)
}
