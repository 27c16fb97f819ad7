//! SQLite: one file, WAL, a small pool, migrations at start-up. Queries are plain functions on
//! `&Connection` in the files beside this one; `Db::run` moves them off the async threads.

pub mod access_tokens;
pub mod alert_rules;
pub mod api_keys;
pub mod balance_rises;
pub mod channels;
pub mod check_days;
pub mod deliveries;
pub mod health;
pub mod history;
pub mod instance;
pub mod instance_prices;
pub mod invitations;
pub mod key_extras;
pub mod known_models;
pub mod login_failures;
pub mod monitor_keys;
pub mod monitors;
pub(crate) mod owned;
pub mod pace;
pub mod passkeys;
pub mod password_resets;
pub mod pending_sign_ins;
pub mod presets;
pub mod price_learning;
pub mod prices;
pub mod recent;
pub mod run_requests;
pub mod runs;
pub mod sessions;
pub mod sso_identities;
pub mod two_factor;
pub mod users;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, OptionalExtension};
use rusqlite_migration::{M, Migrations};
use tokio::sync::Semaphore;

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
    #[error("no database connection came free in time")]
    Busy,
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
        M::up(include_str!("../../migrations/0003_hardening.sql")),
        M::up(include_str!("../../migrations/0004_points.sql")),
        M::up(include_str!("../../migrations/0005_monitoring.sql")),
        M::up(include_str!("../../migrations/0006_history_indexes.sql")),
        M::up(include_str!("../../migrations/0007_balance_rises.sql")),
        M::up(include_str!(
            "../../migrations/0008_results_by_run_model.sql"
        )),
        M::up(include_str!("../../migrations/0009_price_learning.sql")),
        M::up(include_str!("../../migrations/0010_admins.sql")),
        M::up(include_str!("../../migrations/0011_signup_invitations.sql")),
        M::up(include_str!("../../migrations/0012_instance_prices.sql")),
        M::up(include_str!("../../migrations/0013_session_addresses.sql")),
        M::up_with_hook(
            include_str!("../../migrations/0014_forecasts.sql"),
            |tx: &rusqlite::Transaction<'_>| {
                pace::rebuild_all(tx)
                    .map_err(|e| rusqlite_migration::HookError::Hook(e.to_string()))
            },
        ),
        M::up(include_str!(
            "../../migrations/0015_deliveries_in_flight.sql"
        )),
        M::up(include_str!("../../migrations/0016_fair_scheduling.sql")),
        M::up(include_str!("../../migrations/0017_ledger.sql")),
        M::up(include_str!("../../migrations/0018_two_factor.sql")),
        M::up(include_str!("../../migrations/0019_passkeys.sql")),
        M::up(include_str!("../../migrations/0020_oidc.sql")),
        M::up(include_str!(
            "../../migrations/0021_passkey_ceremony_addresses.sql"
        )),
    ])
}

/// One-statement queries through the connection's statement cache. `Connection::query_row` and
/// `execute` parse their SQL on every call, and parsing was most of what a signed-in page spent
/// in SQLite before it read a row (the session, the key list, the presets).
pub(crate) trait Cached {
    fn cached_row<T, P, F>(&self, sql: &str, params: P, row: F) -> rusqlite::Result<T>
    where
        P: rusqlite::Params,
        F: FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>;

    /// Every row the query reads, each built by `row`, collected (a `Vec`, a `HashMap`, …).
    fn cached_rows<C, T, P, F>(&self, sql: &str, params: P, row: F) -> rusqlite::Result<C>
    where
        C: FromIterator<T>,
        P: rusqlite::Params,
        F: FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>;

    fn cached_execute<P: rusqlite::Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize>;
}

impl Cached for Connection {
    fn cached_row<T, P, F>(&self, sql: &str, params: P, row: F) -> rusqlite::Result<T>
    where
        P: rusqlite::Params,
        F: FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    {
        self.prepare_cached(sql)?.query_row(params, row)
    }

    fn cached_rows<C, T, P, F>(&self, sql: &str, params: P, row: F) -> rusqlite::Result<C>
    where
        C: FromIterator<T>,
        P: rusqlite::Params,
        F: FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    {
        self.prepare_cached(sql)?.query_map(params, row)?.collect()
    }

    fn cached_execute<P: rusqlite::Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize> {
        self.prepare_cached(sql)?.execute(params)
    }
}

/// Whether a database file's schema is one this binary can open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    /// No migration was ever applied: not this app's database (or an empty one).
    Unset,
    /// Made by this version or an older one (the server migrates it at start-up).
    Known(usize),
    /// Made by a newer version of the app.
    Newer(usize),
}

/// The schema of an open database, read without changing anything.
pub fn schema(conn: &Connection) -> Result<Schema, DbError> {
    use rusqlite_migration::SchemaVersion;
    Ok(match migrations().current_version(conn)? {
        SchemaVersion::NoneSet => Schema::Unset,
        SchemaVersion::Inside(v) => Schema::Known(v.get()),
        SchemaVersion::Outside(v) => Schema::Newer(v.get()),
    })
}

/// How long a write waits for another writer before it fails.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// How long an optional write (a last-seen or last-used time) waits: it gives up quickly
/// rather than hold the request.
const OPTIONAL_WRITE_TIMEOUT: Duration = Duration::from_millis(250);

/// Prepared statements kept per connection.
const STATEMENT_CACHE: usize = 128;

/// Applied to every pooled connection. `secure_delete` overwrites deleted content (a deleted
/// account's labels and names) instead of leaving it in free pages. Each connection caches at
/// most 1 MiB of pages (SQLite's default is 2 MiB): a page of history reads a few dozen pages,
/// the operating system caches the file anyway, and 8 full caches were most of the app's memory
/// after a long walk (an old `?page=N` link, an export).
fn configure(conn: &mut Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // The history listings alone are a statement per filter shape and direction: rusqlite's
    // default of 16 cached statements had them parsed again on most requests.
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    // Plans never depend on bound values: without this, a statement with `LIMIT ?` (every
    // history listing) was compiled again on each run, since SQLite plans around the limit's
    // value and a new binding throws the plan away.
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = NORMAL;
         PRAGMA foreign_keys = ON;
         PRAGMA secure_delete = ON;
         PRAGMA temp_store = MEMORY;
         PRAGMA wal_autocheckpoint = 10000;
         PRAGMA cache_size = -1024;",
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

/// Creates the database file owner-only (0600) before SQLite opens it, and narrows the modes
/// of files left by an older version. SQLite gives `-wal` and `-shm` the database file's mode.
fn owner_only(path: &Path) -> Result<(), DbError> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let io = |source| DbError::Io {
        path: path.display().to_string(),
        source,
    };
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .map_err(io)?;
    for suffix in ["", "-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let file = Path::new(&name);
        if let Ok(meta) = std::fs::metadata(file)
            && meta.permissions().mode() & 0o077 != 0
        {
            std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
        }
    }
    Ok(())
}

/// Runs an optional write (a last-seen or last-used time): it waits a moment at most for a
/// busy database, and a failure is logged, never returned, so it cannot fail the request.
pub fn best_effort(
    conn: &Connection,
    what: &'static str,
    write: impl FnOnce(&Connection) -> rusqlite::Result<usize>,
) {
    let _ = conn.busy_timeout(OPTIONAL_WRITE_TIMEOUT);
    if let Err(error) = write(conn) {
        tracing::warn!(%error, what, "optional write skipped");
    }
    let _ = conn.busy_timeout(BUSY_TIMEOUT);
}

/// Folds the WAL into the database file and empties it, so deleted content (a deleted
/// account's names and labels) keeps no copy there. A checkpoint held off by another
/// connection's checkpoint (each instance runs one a second) or read answers "busy" instead of
/// completing: it is tried again for up to [`BUSY_TIMEOUT`]. Answers whether it completed.
pub fn truncate_wal(conn: &Connection) -> bool {
    let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
    loop {
        // The first column is 1 when the checkpoint could not complete.
        let tried = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
            r.get::<_, i64>(0)
        });
        if matches!(tried, Ok(0)) {
            return true;
        }
        if std::time::Instant::now() >= deadline {
            tracing::warn!(
                ?tried,
                "the WAL could not be emptied after an erasing write"
            );
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Connections in the pool, and database tasks running at once.
const POOL_SIZE: u32 = 8;
/// How long a task waits for a connection (as r2d2's `connection_timeout`).
const CONNECTION_WAIT: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct Db {
    pool: Pool,
    /// One permit a connection: a task waits for its turn here, asynchronously, instead of on a
    /// blocking thread parked in `pool.get()`. Under load the blocking pool then holds about
    /// `POOL_SIZE` threads instead of one per waiting request, each with its own stack and
    /// allocator arena (measured after the 200,000-run page loads: 39 threads instead of 73).
    permits: Arc<Semaphore>,
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
        owner_only(path)?;
        let manager = SqliteConnectionManager::file(path).with_init(configure);
        let pool = r2d2::Pool::builder()
            .max_size(POOL_SIZE)
            // A SQLite connection is a file handle, not a socket: it does not go stale, so the
            // check query r2d2 runs on every checkout is pure cost (a query on every request).
            .test_on_check_out(false)
            .connection_timeout(CONNECTION_WAIT)
            .build(manager)?;
        let mut conn = pool.get()?;
        migrate(&mut conn)?;
        Ok(Self {
            pool,
            permits: Arc::new(Semaphore::new(POOL_SIZE as usize)),
        })
    }

    /// Runs blocking database work on the blocking thread pool.
    pub async fn run<T, F>(&self, work: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, DbError> + Send + 'static,
    {
        let permit = tokio::time::timeout(CONNECTION_WAIT, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| DbError::Busy)?
            .map_err(|_| DbError::Busy)?;
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
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

    /// Whether the database still takes a write (for `/health`): rewrites one row, waiting a
    /// second at most for another writer. Fails on a full disk, a read-only file or a lock.
    pub async fn check_write(&self) -> Result<(), DbError> {
        self.run(|conn| {
            conn.busy_timeout(Duration::from_secs(1))?;
            let written = conn.execute(
                "INSERT INTO health_probe (id, at) VALUES (1, ?1)
                 ON CONFLICT (id) DO UPDATE SET at = excluded.at",
                [crate::clock::now()],
            );
            conn.busy_timeout(BUSY_TIMEOUT)?;
            written?;
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
mod test_support;
#[cfg(test)]
mod tests;
