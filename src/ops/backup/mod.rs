//! `backup <file>` and `restore <file>`.
//!
//! A backup is SQLite's online backup API copying the whole database in one step, that is in
//! one read transaction: in WAL mode readers never block the server's writers, and the copy is
//! one consistent snapshot (a run stored before the backup began is in it; one stored while it
//! copies is in it whole or not at all). The file is written beside its name, checked with
//! `integrity_check`, switched to a rollback journal (one self-contained file), synced, then
//! renamed into place; it is owner-only, like the database. It never replaces or deletes a
//! file it did not make: it writes under a name of its own, created exclusively, and publishes
//! with a rename that refuses to replace (a file that appears at the name while it copies
//! stays, and the backup says so).
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
use partial::Partial;
pub use report::{BackupReport, MasterKeyNeed, RestoreReport};
pub use restore::restore;

/// A busy source is retried this often, 100 ms apart.
const BUSY_RETRIES: u32 = 100;
const BUSY_PAUSE: Duration = Duration::from_millis(100);

/// Copies the live database to `dest` (which must not exist), while a server may be running.
pub fn backup(config: &AppConfig, dest: &Path) -> Result<BackupReport, String> {
    let copy = prepare(config, dest)?;
    copy.publish(dest)
}

/// A whole, checked copy under its own name, not yet published.
struct Prepared {
    partial: Partial,
    /// The live database, where the backup is recorded once published.
    source: Connection,
    users: i64,
    runs: i64,
    keys: MasterKeyNeed,
}

impl Prepared {
    /// Publishes the copy as `dest`, unless a file appeared there meanwhile.
    fn publish(self, dest: &Path) -> Result<BackupReport, String> {
        let bytes = self.partial.persist(dest)?;
        // For the admin's health panel. Optional: the backup is made whatever this says.
        if let Err(error) =
            crate::db::health::record_backup(&self.source, crate::clock::now(), bytes)
        {
            tracing::warn!(%error, "the backup was made, but recording it for /admin failed");
        }
        Ok(BackupReport {
            file: dest.to_path_buf(),
            bytes,
            users: self.users,
            runs: self.runs,
            keys: self.keys,
        })
    }
}

fn prepare(config: &AppConfig, dest: &Path) -> Result<Prepared, String> {
    let source_path = config.database_path();
    let source_meta = std::fs::metadata(&source_path).map_err(|e| {
        format!(
            "cannot read the database {}: {e} (check data_dir and database_path; run as the \
             server's user)",
            source_path.display()
        )
    })?;
    if dest.symlink_metadata().is_ok() {
        return Err(format!(
            "{} exists already: a backup never overwrites a file, choose a new name",
            dest.display()
        ));
    }
    let partial = Partial::beside(dest)?;
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
    Ok(Prepared {
        partial,
        source,
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

    fn live_site(dir: &Path) -> AppConfig {
        let config = config(dir);
        crate::db::Db::open(&config.database_path()).unwrap();
        config
    }

    /// The names in `dir`, sorted.
    fn names_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// Issue 19, item 4: a file made at the backup's name while it copies is never replaced;
    /// the backup says so and leaves nothing of its own behind.
    #[test]
    fn a_file_created_while_the_backup_runs_survives() {
        let live = tempfile::tempdir().unwrap();
        let config = live_site(live.path());
        let out = tempfile::tempdir().unwrap();
        let file = out.path().join("backup.db");
        let copy = prepare(&config, &file).unwrap();
        std::fs::write(&file, b"made by someone else meanwhile").unwrap();
        let refused = copy.publish(&file).unwrap_err();
        assert!(refused.contains("left as it is"), "{refused}");
        assert_eq!(
            std::fs::read(&file).unwrap(),
            b"made by someone else meanwhile"
        );
        assert_eq!(names_in(out.path()), ["backup.db"]);
    }

    /// Issue 19, item 4: `<file>.partial` and its side files are someone else's: left alone.
    #[test]
    fn a_foreign_partial_file_is_left_alone() {
        let live = tempfile::tempdir().unwrap();
        let config = live_site(live.path());
        let out = tempfile::tempdir().unwrap();
        let file = out.path().join("backup.db");
        let foreign = [
            "backup.db.partial",
            "backup.db.partial-journal",
            "backup.db.partial-wal",
        ];
        for name in foreign {
            std::fs::write(out.path().join(name), name.as_bytes()).unwrap();
        }
        backup(&config, &file).unwrap();
        for name in foreign {
            assert_eq!(
                std::fs::read(out.path().join(name)).unwrap(),
                name.as_bytes(),
                "{name}"
            );
        }
        let mut expected = vec!["backup.db"];
        expected.extend(foreign);
        expected.sort();
        assert_eq!(names_in(out.path()), expected);
    }

    #[test]
    fn publishing_never_replaces_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let (from, to) = (dir.path().join("a"), dir.path().join("b"));
        std::fs::write(&from, b"new").unwrap();
        std::fs::write(&to, b"old").unwrap();
        let refused = partial::rename_no_replace(&from, &to).unwrap_err();
        assert_eq!(refused.kind(), std::io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&to).unwrap(), b"old");
        std::fs::remove_file(&to).unwrap();
        partial::rename_no_replace(&from, &to).unwrap();
        assert_eq!(std::fs::read(&to).unwrap(), b"new");
        assert!(!from.exists());
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
