//! SQLite: one file, WAL, a small pool, migrations at start-up. Queries are plain functions on
//! `&Connection` in the files beside this one; `Db::run` moves them off the async threads.

pub mod access_tokens;
pub mod api_keys;
pub mod channels;
pub mod deliveries;
pub mod history;
pub mod login_failures;
pub mod monitors;
pub mod presets;
pub mod prices;
pub mod runs;
pub mod sessions;
pub mod users;

use std::path::Path;
use std::time::Duration;

use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, OptionalExtension};
use rusqlite_migration::{M, Migrations};

pub type Pool = r2d2::Pool<SqliteConnectionManager>;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database pool: {0}")]
    Pool(#[from] r2d2::Error),
    #[error("database migration: {0}")]
    Migration(#[from] rusqlite_migration::Error),
    #[error("database task failed")]
    Join,
    #[error("the database has rows in {0} whose references are broken")]
    BrokenReferences(String),
    #[error("cannot create {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(include_str!("../../migrations/0001_init.sql")),
        M::up(include_str!("../../migrations/0002_error_reason.sql")),
        M::up(include_str!("../../migrations/0004_points.sql")),
        M::up(include_str!("../../migrations/0005_monitoring.sql")),
    ])
}

/// Applied to every pooled connection.
fn configure(conn: &mut Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = NORMAL;
         PRAGMA foreign_keys = ON;
         PRAGMA temp_store = MEMORY;
         PRAGMA wal_autocheckpoint = 10000;",
    )
}

/// Applies every migration with foreign keys off (a table rebuild must not cascade), then
/// checks that every reference still holds before turning them back on.
fn migrate(conn: &mut Connection) -> Result<(), DbError> {
    conn.execute_batch("PRAGMA foreign_keys = OFF;")?;
    let migrated = migrations().to_latest(conn);
    let broken: Option<String> = conn
        .query_row("PRAGMA foreign_key_check", [], |row| row.get(0))
        .optional()?;
    conn.execute_batch("PRAGMA foreign_keys = ON;")?;
    migrated?;
    match broken {
        Some(table) => Err(DbError::BrokenReferences(table)),
        None => Ok(()),
    }
}

#[derive(Clone)]
pub struct Db {
    pool: Pool,
}

impl Db {
    /// Opens (creating the directory and file if needed) and migrates the database.
    pub fn open(path: &Path) -> Result<Self, DbError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| DbError::Io {
                path: parent.display().to_string(),
                source,
            })?;
        }
        let manager = SqliteConnectionManager::file(path).with_init(configure);
        let pool = r2d2::Pool::builder()
            .max_size(8)
            .connection_timeout(Duration::from_secs(10))
            .build(manager)?;
        let mut conn = pool.get()?;
        migrate(&mut conn)?;
        Ok(Self { pool })
    }

    /// Runs blocking database work on the blocking thread pool.
    pub async fn run<T, F>(&self, work: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, DbError> + Send + 'static,
    {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get()?;
            work(&mut conn)
        })
        .await
        .map_err(|_| DbError::Join)?
    }

    /// Folds the WAL back into the database without waiting for readers or writers. Run every
    /// second in the background, so a commit never pays for a checkpoint's fsyncs (the
    /// automatic one, at 10,000 pages, is only a safety net).
    pub async fn checkpoint(&self) -> Result<(), DbError> {
        self.run(|conn| {
            conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
            Ok(())
        })
        .await
    }

    /// A cheap read that proves the database is usable (for `/health`).
    pub async fn check(&self) -> Result<(), DbError> {
        self.run(|conn| {
            conn.query_row("SELECT count(*) FROM users", [], |row| row.get::<_, i64>(0))?;
            Ok(())
        })
        .await
    }

    /// For the CLI and tests: one connection outside the async world.
    pub fn connection(&self) -> Result<r2d2::PooledConnection<SqliteConnectionManager>, DbError> {
        Ok(self.pool.get()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_valid() {
        migrations().validate().unwrap();
    }

    #[test]
    fn opens_with_wal_and_foreign_keys() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("nested/app.db")).unwrap();
        let conn = db.connection().unwrap();
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let fk: i64 = conn
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .unwrap();
        assert_eq!(fk, 1);
    }
}
