//! The `queries`, `query_results` and `latest_results` tables.

use rusqlite::Connection;

use super::DbError;

/// Deletes runs that started before `cutoff` (their results cascade away).
pub fn delete_before(conn: &Connection, cutoff: i64) -> Result<usize, DbError> {
    Ok(conn.execute("DELETE FROM queries WHERE started_at < ?1", [cutoff])?)
}
