//! What the admin's health panel reads from the database: the scheduler's backlog and the
//! last backup (recorded by `backup` in `instance_settings`).

use rusqlite::Connection;

use super::Cached;
use super::DbError;

/// The `instance_settings` row `backup` writes: `<unix time> <bytes>`.
pub const LAST_BACKUP: &str = "last_backup";

/// Monitors due at `now` and not running, and the slot the oldest of them was due at (disabled
/// accounts' monitors are not due).
pub fn due_monitors(conn: &Connection, now: i64) -> Result<(i64, Option<i64>), DbError> {
    Ok(conn.cached_row(
        "SELECT count(*), min(next_run_at) FROM monitors
         WHERE paused = 0 AND next_run_at <= ?1
           AND (lease_until IS NULL OR lease_until <= ?1)
           AND user_id NOT IN (SELECT id FROM users WHERE disabled_at IS NOT NULL)",
        [now],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?)
}

/// When the last backup was made and how big it was.
pub fn last_backup(conn: &Connection) -> Result<Option<(i64, u64)>, DbError> {
    Ok(super::instance::get(conn, LAST_BACKUP)?.and_then(|text| {
        let (at, bytes) = text.split_once(' ')?;
        Some((at.parse().ok()?, bytes.parse().ok()?))
    }))
}

/// Records a finished backup (on the live database, after the copy: the backup itself does
/// not hold its own record).
pub fn record_backup(conn: &Connection, at: i64, bytes: u64) -> Result<(), DbError> {
    super::instance::set(conn, LAST_BACKUP, &format!("{at} {bytes}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Db;

    #[test]
    fn due_monitors_count_the_enabled_unleased_ones_and_the_oldest_slot() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("t.db")).unwrap();
        let conn = db.connection().unwrap();
        conn.execute_batch(
            "INSERT INTO users (id, username, password_hash, created_at) VALUES
                 (1, 'a', 'x', 0), (2, 'b', 'x', 0);
             UPDATE users SET disabled_at = 5 WHERE id = 2;
             INSERT INTO monitors (user_id, kind, every_minutes, created_at, next_run_at,
                                   paused, lease_until) VALUES
                 (1, 'check', 5, 0, 100, 0, NULL),
                 (1, 'check', 5, 0, 400, 0, NULL),
                 (1, 'check', 5, 0, 50, 1, NULL),
                 (1, 'check', 5, 0, 60, 0, 9999),
                 (1, 'check', 5, 0, 2000, 0, NULL),
                 (2, 'check', 5, 0, 10, 0, NULL);",
        )
        .unwrap();
        assert_eq!(due_monitors(&conn, 1000).unwrap(), (2, Some(100)));
        assert_eq!(due_monitors(&conn, 10).unwrap(), (0, None));
        assert_eq!(last_backup(&conn).unwrap(), None);
        record_backup(&conn, 1_700_000_000, 12_345).unwrap();
        assert_eq!(last_backup(&conn).unwrap(), Some((1_700_000_000, 12_345)));
    }
}
