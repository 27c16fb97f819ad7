//! `restore <file>`: refused while a server holds the data directory; the file checked, copied
//! in beside the database, the database it replaces kept.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

use super::partial::{Partial, remove_sidecars, rename_no_replace, with_suffix};
use super::{MasterKeyNeed, RestoreReport, copy_database, counts, integrity_ok};
use crate::config::AppConfig;
use crate::db::{self, Schema};
use crate::ops::data_lock::DataDirLock;

/// Replaces the database with the backup `source`; refused while a server runs.
pub fn restore(config: &AppConfig, source: &Path, label: &str) -> Result<RestoreReport, String> {
    if !source.is_file() {
        return Err(format!("{} is not a file", source.display()));
    }
    std::os::unix::fs::DirBuilderExt::mode(std::fs::DirBuilder::new().recursive(true), 0o700)
        .create(&config.data_dir)
        .map_err(|e| format!("cannot create data_dir {}: {e}", config.data_dir.display()))?;
    let _lock = DataDirLock::exclusive(&config.data_dir).map_err(|e| e.to_string())?;
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
    let partial = Partial::beside(&target)?;
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

/// Moves the database being replaced (and its WAL, so it stays whole) out of the way, never
/// over a file that is there.
fn set_aside(target: &Path, label: &str) -> Result<Option<PathBuf>, String> {
    if !target.exists() {
        remove_sidecars(target)?;
        return Ok(None);
    }
    let kept = with_suffix(target, &format!(".{label}.before-restore"));
    let moves: Vec<(PathBuf, PathBuf)> = ["", "-wal", "-shm"]
        .into_iter()
        .map(|suffix| (with_suffix(target, suffix), with_suffix(&kept, suffix)))
        .filter(|(from, _)| from.exists())
        .collect();
    // All or nothing: a database must not lose its WAL to a name that was taken.
    if let Some((_, taken)) = moves.iter().find(|(_, to)| to.symlink_metadata().is_ok()) {
        return Err(format!(
            "{} exists already; move it away or restore with another label",
            taken.display()
        ));
    }
    // Side files first, then the database, as SQLite would find them.
    for (from, to) in moves.iter().rev() {
        rename_no_replace(from, to).map_err(|e| format!("cannot move {}: {e}", from.display()))?;
    }
    Ok(Some(kept))
}
