//! `backup <file>` and `restore <file>`.
//!
//! A backup is SQLite's online backup API copying the whole database in one step, that is in
//! one read transaction: in WAL mode readers never block the server's writers, and the copy is
//! one consistent snapshot (a run stored before the backup began is in it; one stored while it
//! copies is in it whole or not at all). The file is written beside its name, checked with
//! `integrity_check`, switched to a rollback journal (one self-contained file), synced, then
//! renamed into place; it is owner-only, like the database. It never overwrites a file.
//!
//! The master key is **not** in the backup, on purpose: the database holds the saved keys
//! sealed, the key file opens them; keep them apart and both private. The report says which
//! master key the backup needs.
//!
//! A restore needs the data directory to itself (the lock every server holds shared): it
//! refuses while a server runs. It checks the file (integrity, an app schema this binary
//! knows), copies it in beside the database, keeps the database it replaces as
//! `<database>.<UTC time>.before-restore` (with its WAL), and says whether the master key file
//! in place opens the restored keys.
//!
//! Both run as the owner of the data (e.g. `sudo -u modelscope-balance …`): files made by
//! another user (root) would leave the server unable to open its own database.

mod partial;
mod report;
mod restore;

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::Duration;

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};

use crate::config::AppConfig;
use partial::{Partial, with_suffix};
pub use report::{BackupReport, MasterKeyNeed, RestoreReport};
pub use restore::restore;

/// A busy source is retried this often, 100 ms apart.
const BUSY_RETRIES: u32 = 100;
const BUSY_PAUSE: Duration = Duration::from_millis(100);

/// Copies the live database to `dest` (which must not exist), while a server may be running.
pub fn backup(config: &AppConfig, dest: &Path) -> Result<BackupReport, String> {
    let source_path = config.database_path();
    let source_meta = std::fs::metadata(&source_path).map_err(|e| {
        format!(
            "cannot read the database {}: {e} (check data_dir and database_path; run as the \
             server's user)",
            source_path.display()
        )
    })?;
    if dest.exists() {
        return Err(format!(
            "{} exists already: a backup never overwrites a file, choose a new name",
            dest.display()
        ));
    }
    let partial = Partial::create(&with_suffix(dest, ".partial"))?;
    if partial.owner()? != source_meta.uid() {
        return Err(format!(
            "run the backup as the owner of {} (e.g. sudo -u modelscope-balance …): files \
             SQLite makes for another user would lock the server out of its own database",
            source_path.display()
        ));
    }
    let source = Connection::open_with_flags(
        &source_path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| format!("cannot open {}: {e}", source_path.display()))?;
    source
        .busy_timeout(Duration::from_secs(5))
        .map_err(|e| format!("database: {e}"))?;
    let mut copy = Connection::open(partial.path())
        .map_err(|e| format!("cannot write {}: {e}", partial.path().display()))?;
    copy_database(&source, &mut copy)?;
    let keys = MasterKeyNeed::read(&source, &config.master_key_file())?;
    integrity_ok(&copy, partial.path())?;
    // One self-contained file, whatever the journal mode of the live database.
    copy.query_row("PRAGMA journal_mode = DELETE", [], |_| Ok(()))
        .map_err(|e| format!("database: {e}"))?;
    let (users, runs) = counts(&copy)?;
    drop(copy);
    let bytes = partial.persist(dest)?;
    // For the admin's health panel. Optional: the backup is made whatever this says.
    if let Err(error) = crate::db::health::record_backup(&source, crate::clock::now(), bytes) {
        tracing::warn!(%error, "the backup was made, but recording it for /admin failed");
    }
    drop(source);
    Ok(BackupReport {
        file: dest.to_path_buf(),
        bytes,
        users,
        runs,
        keys,
    })
}

/// The whole database in one step (one read transaction: a consistent snapshot), retried
/// while the source is busy.
pub(super) fn copy_database(from: &Connection, to: &mut Connection) -> Result<(), String> {
    let backup = Backup::new(from, to).map_err(|e| format!("starting the copy: {e}"))?;
    for _ in 0..BUSY_RETRIES {
        match backup.step(-1) {
            Ok(StepResult::Done) => return Ok(()),
            Ok(_) => std::thread::sleep(BUSY_PAUSE),
            Err(e) => return Err(format!("copying the database: {e}")),
        }
    }
    Err("the database stayed busy for 10 s; try again".into())
}

pub(super) fn integrity_ok(conn: &Connection, path: &Path) -> Result<(), String> {
    let verdict: String = conn
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if verdict == "ok" {
        Ok(())
    } else {
        Err(format!(
            "{} fails SQLite's integrity check: {verdict}",
            path.display()
        ))
    }
}

pub(super) fn counts(conn: &Connection) -> Result<(i64, i64), String> {
    let count = |table: &str| {
        conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |row| {
            row.get::<_, i64>(0)
        })
        .map_err(|e| format!("database: {e}"))
    };
    Ok((count("users")?, count("queries")?))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::ops::data_lock::DataDirLock;

    fn config(dir: &Path) -> AppConfig {
        rocket::figment::Figment::new()
            .merge(("data_dir", dir))
            .extract::<AppConfig>()
            .unwrap()
    }

    #[test]
    fn a_backup_restores_into_a_fresh_directory_and_never_overwrites() {
        let live = tempfile::tempdir().unwrap();
        let config = config(live.path());
        let db = crate::db::Db::open(&config.database_path()).unwrap();
        db.connection()
            .unwrap()
            .execute(
                "INSERT INTO users (username, password_hash, created_at) VALUES ('ann', 'x', 1)",
                [],
            )
            .unwrap();
        let out = tempfile::tempdir().unwrap();
        let file = out.path().join("backup.db");
        let report = backup(&config, &file).unwrap();
        assert_eq!(report.users, 1);
        assert!(report.to_string().contains("master key file"), "{report}");
        let again = backup(&config, &file).unwrap_err();
        assert!(again.contains("never overwrites"), "{again}");

        // Refused while a server holds the directory.
        let held = DataDirLock::shared(live.path()).unwrap();
        let refused = restore(&config, &file, "T").unwrap_err();
        assert!(refused.contains("stop it first"), "{refused}");
        drop(held);

        let fresh = tempfile::tempdir().unwrap();
        let fresh_config = config_in(fresh.path().join("new"));
        let restored = restore(&fresh_config, &file, "T").unwrap();
        assert_eq!(restored.users, 1);
        assert!(restored.previous.is_none());
        assert!(restored.keys.satisfied(), "no saved key needs a master key");

        // Restoring over an existing database keeps the old one.
        let again = restore(&fresh_config, &file, "T2").unwrap();
        let kept = again.previous.unwrap();
        assert!(kept.to_string_lossy().ends_with(".T2.before-restore"));
        assert!(kept.exists());
    }

    fn config_in(dir: PathBuf) -> AppConfig {
        config(&dir)
    }

    #[test]
    fn a_file_that_is_no_app_database_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("other.db");
        Connection::open(&file)
            .unwrap()
            .execute_batch("CREATE TABLE t (x);")
            .unwrap();
        let refused = restore(&config(&dir.path().join("data")), &file, "T").unwrap_err();
        assert!(
            refused.contains("not a modelscope-balance database"),
            "{refused}"
        );
        std::fs::write(dir.path().join("junk.db"), b"not sqlite at all, just bytes").unwrap();
        assert!(
            restore(
                &config(&dir.path().join("data")),
                &dir.path().join("junk.db"),
                "T"
            )
            .is_err()
        );
    }
}
