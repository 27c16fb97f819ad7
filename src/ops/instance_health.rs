//! The instance's health for the admin page: version, uptime, the database and its WAL on
//! disk, free space where the data lives, the last backup, the scheduler's backlog and the
//! upstream calls of the last hour by endpoint. Each part is read on its own: one that cannot
//! be read is `None`, never a failed page.
//!
//! Which optional upstream endpoints answer is read from the same hour: an endpoint the
//! upstream client counts (`telemetry::Endpoint`) shows up here by itself, so an endpoint added
//! there (the rates, the ledger, the earn rules) needs nothing more to be listed.

use std::path::Path;
use std::time::Instant;

use crate::config::AppConfig;
use crate::db::{Db, health};
use crate::telemetry::{Endpoint, UpstreamOutcome, recent};

/// When this process started serving (managed state).
pub struct Started(Instant);

impl Started {
    pub fn now() -> Self {
        Self(Instant::now())
    }

    pub fn uptime_secs(&self) -> u64 {
        self.0.elapsed().as_secs()
    }
}

/// One endpoint's calls of the last hour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointHour {
    pub endpoint: Endpoint,
    pub calls: u64,
    pub ok: u64,
    /// Every outcome but `ok` with at least one call.
    pub errors: Vec<(UpstreamOutcome, u64)>,
}

impl EndpointHour {
    /// `answers` (some call succeeded), `failing` (calls, none succeeded) or `unused`.
    pub fn state(&self) -> &'static str {
        match (self.calls, self.ok) {
            (0, _) => "unused",
            (_, 0) => "failing",
            _ => "answers",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    pub version: &'static str,
    pub uptime_secs: u64,
    pub db_bytes: Option<u64>,
    pub wal_bytes: Option<u64>,
    pub free_disk_bytes: Option<u64>,
    /// When, and how many bytes.
    pub last_backup: Option<(i64, u64)>,
    pub due_runs: Option<i64>,
    /// How long the oldest due monitor has waited.
    pub oldest_due_secs: Option<i64>,
    pub upstream: Vec<EndpointHour>,
}

fn file_size(path: &Path) -> Option<u64> {
    std::fs::metadata(path).ok().map(|meta| meta.len())
}

/// Bytes free for an unprivileged writer on the file system holding `dir`.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn free_disk(dir: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    let mut stat = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `path` is a NUL-terminated string and `stat` a buffer statvfs fills on success.
    let done = unsafe { libc::statvfs(path.as_ptr(), stat.as_mut_ptr()) };
    if done != 0 {
        return None;
    }
    // SAFETY: statvfs returned 0, so it filled `stat`.
    let stat = unsafe { stat.assume_init() };
    Some(stat.f_bavail.saturating_mul(stat.f_frsize))
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn free_disk(_dir: &Path) -> Option<u64> {
    None
}

fn upstream_hour() -> Vec<EndpointHour> {
    recent::last_hour()
        .into_iter()
        .map(|(endpoint, outcomes)| {
            let calls = outcomes.iter().map(|(_, n)| n).sum();
            let ok = outcomes
                .iter()
                .find(|(o, _)| *o == UpstreamOutcome::Ok)
                .map_or(0, |(_, n)| *n);
            let errors = outcomes
                .into_iter()
                .filter(|(o, n)| *o != UpstreamOutcome::Ok && *n > 0)
                .collect();
            EndpointHour {
                endpoint,
                calls,
                ok,
                errors,
            }
        })
        .collect()
}

/// Reads everything the panel shows.
pub async fn read(db: &Db, config: &AppConfig, started: &Started) -> Health {
    let database = config.database_path();
    let mut wal = database.clone().into_os_string();
    wal.push("-wal");
    let now = crate::clock::now();
    let from_db = db
        .run(move |conn| Ok((health::due_monitors(conn, now)?, health::last_backup(conn)?)))
        .await;
    let ((due_runs, oldest_due), last_backup) = match from_db {
        Ok(((due, oldest), backup)) => ((Some(due), oldest), backup),
        Err(error) => {
            tracing::warn!(%error, "reading the health panel's database parts failed");
            ((None, None), None)
        }
    };
    Health {
        version: env!("CARGO_PKG_VERSION"),
        uptime_secs: started.uptime_secs(),
        db_bytes: file_size(&database),
        wal_bytes: file_size(Path::new(&wal)),
        free_disk_bytes: free_disk(&config.data_dir),
        last_backup,
        due_runs,
        oldest_due_secs: oldest_due.map(|slot| (now - slot).max(0)),
        upstream: upstream_hour(),
    }
}
