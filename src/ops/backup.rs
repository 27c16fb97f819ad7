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

use std::fmt;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};

use crate::config::AppConfig;
use crate::crypto::master_key::MasterKey;
use crate::db::{self, Schema};
use crate::ops::data_lock::DataDirLock;

/// A busy source is retried this often, 100 ms apart.
const BUSY_RETRIES: u32 = 100;
const BUSY_PAUSE: Duration = Duration::from_millis(100);

/// What a finished backup holds.
#[derive(Debug)]
pub struct BackupReport {
    pub file: PathBuf,
    pub bytes: u64,
    pub users: i64,
    pub runs: i64,
    pub keys: MasterKeyNeed,
}

/// What a finished restore did.
#[derive(Debug)]
pub struct RestoreReport {
    pub database: PathBuf,
    /// The database that was replaced, kept.
    pub previous: Option<PathBuf>,
    pub users: i64,
    pub runs: i64,
    pub keys: MasterKeyNeed,
}

/// Which master key the saved keys of a database need, and whether the key file has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MasterKeyNeed {
    pub key_file: PathBuf,
    /// Master key ids the saved keys were sealed with, most used first.
    pub needed: Vec<String>,
    /// The id of the key file in place, if it could be read.
    pub present: Result<String, String>,
}

impl MasterKeyNeed {
    fn read(conn: &Connection, key_file: &Path) -> Result<Self, String> {
        let needed = db::api_keys::master_key_ids(conn)
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        let present = MasterKey::load(key_file)
            .map(|key| key.id().to_owned())
            .map_err(|e| e.to_string());
        Ok(Self {
            key_file: key_file.to_path_buf(),
            needed,
            present,
        })
    }

    /// The key file in place opens every saved key (or there is none).
    pub fn satisfied(&self) -> bool {
        match &self.present {
            _ if self.needed.is_empty() => true,
            Ok(id) => self.needed.iter().all(|needed| needed == id),
            Err(_) => false,
        }
    }
}

impl fmt::Display for BackupReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Backed up {} user{} and {} stored run{} to {} ({} bytes, integrity ok).",
            self.users,
            plural(self.users),
            self.runs,
            plural(self.runs),
            self.file.display(),
            self.bytes
        )?;
        if self.keys.needed.is_empty() {
            write!(
                f,
                "No saved API key is in it. Back up the master key file {} too all the same \
                 (keys saved later are sealed with it).",
                self.keys.key_file.display()
            )
        } else {
            write!(
                f,
                "The master key file is NOT in the backup: the saved API keys in it open only \
                 with master key {}. Back up {} as well (e.g. `install -m 0600 {} \
                 <backup dir>/master.key`), keep it as private as the key, and restore both \
                 together.",
                self.keys.needed.join(", "),
                self.keys.key_file.display(),
                self.keys.key_file.display()
            )
        }
    }
}

impl fmt::Display for RestoreReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Restored {} user{} and {} stored run{} into {}.",
            self.users,
            plural(self.users),
            self.runs,
            plural(self.runs),
            self.database.display()
        )?;
        if let Some(previous) = &self.previous {
            writeln!(
                f,
                "The database it replaced is kept as {}.",
                previous.display()
            )?;
        }
        let keys = &self.keys;
        if keys.satisfied() {
            write!(
                f,
                "The master key file {} opens the saved API keys. Start the server.",
                keys.key_file.display()
            )
        } else {
            let present = match &keys.present {
                Ok(id) => format!("holds master key {id}"),
                Err(problem) => problem.clone(),
            };
            write!(
                f,
                "The saved API keys need master key {}, but {} {}: copy the key file from the \
                 same backup to {} (mode 0600, owned by the server's user) before starting the \
                 server, or it refuses to start.",
                keys.needed.join(", "),
                keys.key_file.display(),
                present,
                keys.key_file.display()
            )
        }
    }
}

fn plural(n: i64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

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
    drop(source);
    integrity_ok(&copy, partial.path())?;
    // One self-contained file, whatever the journal mode of the live database.
    copy.query_row("PRAGMA journal_mode = DELETE", [], |_| Ok(()))
        .map_err(|e| format!("database: {e}"))?;
    let (users, runs) = counts(&copy)?;
    drop(copy);
    let bytes = partial.persist(dest)?;
    Ok(BackupReport {
        file: dest.to_path_buf(),
        bytes,
        users,
        runs,
        keys,
    })
}

/// Replaces the database with the backup `source`; refused while a server runs.
pub fn restore(config: &AppConfig, source: &Path, label: &str) -> Result<RestoreReport, String> {
    if !source.is_file() {
        return Err(format!("{} is not a file", source.display()));
    }
    std::os::unix::fs::DirBuilderExt::mode(std::fs::DirBuilder::new().recursive(true), 0o700)
        .create(&config.data_dir)
        .map_err(|e| format!("cannot create data_dir {}: {e}", config.data_dir.display()))?;
    let _lock = DataDirLock::exclusive(&config.data_dir)?;
    let backup = Connection::open_with_flags(
        source,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| format!("cannot open {}: {e}", source.display()))?;
    integrity_ok(&backup, source)?;
    match db::schema(&backup).map_err(|e| format!("{}: {e}", source.display()))? {
        Schema::Known(_) => {}
        Schema::Unset => {
            return Err(format!(
                "{} is not a modelscope-balance database",
                source.display()
            ));
        }
        Schema::Newer(version) => {
            return Err(format!(
                "{} was made by a newer version of modelscope-balance (schema {version}); \
                 restore it with that version",
                source.display()
            ));
        }
    }
    let target = config.database_path();
    let partial = Partial::create(&with_suffix(&target, ".restoring"))?;
    let data_owner = std::fs::metadata(&config.data_dir)
        .map_err(|e| format!("{}: {e}", config.data_dir.display()))?
        .uid();
    if partial.owner()? != data_owner {
        return Err(format!(
            "run the restore as the owner of {} (e.g. sudo -u modelscope-balance …), so the \
             server can open the restored database",
            config.data_dir.display()
        ));
    }
    let mut copy = Connection::open(partial.path())
        .map_err(|e| format!("cannot write {}: {e}", partial.path().display()))?;
    copy_database(&backup, &mut copy)?;
    drop(backup);
    integrity_ok(&copy, partial.path())?;
    let (users, runs) = counts(&copy)?;
    let keys = MasterKeyNeed::read(&copy, &config.master_key_file())?;
    drop(copy);
    let previous = set_aside(&target, label)?;
    partial.persist(&target)?;
    Ok(RestoreReport {
        database: target,
        previous,
        users,
        runs,
        keys,
    })
}

/// The whole database in one step (one read transaction: a consistent snapshot), retried
/// while the source is busy.
fn copy_database(from: &Connection, to: &mut Connection) -> Result<(), String> {
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

fn integrity_ok(conn: &Connection, path: &Path) -> Result<(), String> {
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

fn counts(conn: &Connection) -> Result<(i64, i64), String> {
    let count = |table: &str| {
        conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |row| {
            row.get::<_, i64>(0)
        })
        .map_err(|e| format!("database: {e}"))
    };
    Ok((count("users")?, count("queries")?))
}

/// Moves the database being replaced (and its WAL, so it stays whole) out of the way.
fn set_aside(target: &Path, label: &str) -> Result<Option<PathBuf>, String> {
    if !target.exists() {
        remove_sidecars(target)?;
        return Ok(None);
    }
    let kept = with_suffix(target, &format!(".{label}.before-restore"));
    for suffix in ["-wal", "-shm"] {
        let from = with_suffix(target, suffix);
        if from.exists() {
            let to = with_suffix(&kept, suffix);
            std::fs::rename(&from, &to)
                .map_err(|e| format!("cannot move {}: {e}", from.display()))?;
        }
    }
    std::fs::rename(target, &kept).map_err(|e| format!("cannot move {}: {e}", target.display()))?;
    Ok(Some(kept))
}

/// A WAL left beside a database that is not its own would be replayed into it.
fn remove_sidecars(target: &Path) -> Result<(), String> {
    for suffix in ["-wal", "-shm", "-journal"] {
        let path = with_suffix(target, suffix);
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("cannot remove {}: {e}", path.display())),
        }
    }
    Ok(())
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// A file being written: owner-only, removed (with any journal SQLite left) unless persisted.
struct Partial {
    path: PathBuf,
    done: bool,
}

impl Partial {
    fn create(path: &Path) -> Result<Self, String> {
        // A partial file left by a crash is ours to replace.
        let _ = std::fs::remove_file(path);
        remove_sidecars(path)?;
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        Ok(Self {
            path: path.to_path_buf(),
            done: false,
        })
    }

    fn path(&self) -> &Path {
        &self.path
    }

    /// The user this process writes files as.
    fn owner(&self) -> Result<u32, String> {
        std::fs::metadata(&self.path)
            .map(|meta| meta.uid())
            .map_err(|e| format!("{}: {e}", self.path.display()))
    }

    /// Syncs the file, renames it to `dest` and syncs the directory; returns its size.
    fn persist(mut self, dest: &Path) -> Result<u64, String> {
        let file = File::open(&self.path).map_err(|e| format!("{}: {e}", self.path.display()))?;
        file.sync_all()
            .map_err(|e| format!("{}: {e}", self.path.display()))?;
        let bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
        drop(file);
        std::fs::rename(&self.path, dest)
            .map_err(|e| format!("cannot move into {}: {e}", dest.display()))?;
        self.done = true;
        if let Some(dir) = dest.parent().filter(|p| !p.as_os_str().is_empty()) {
            // Best effort: the rename is durable once the directory is.
            let _ = File::open(dir).and_then(|d| d.sync_all());
        }
        Ok(bytes)
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.path);
            let _ = remove_sidecars(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
