//! A file being written beside its final name, owner-only, renamed into place only when whole.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// A WAL left beside a database that is not its own would be replayed into it.
pub(super) fn remove_sidecars(target: &Path) -> Result<(), String> {
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

pub(super) fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// A file being written: owner-only, removed (with any journal SQLite left) unless persisted.
pub(super) struct Partial {
    path: PathBuf,
    done: bool,
}

impl Partial {
    pub(super) fn create(path: &Path) -> Result<Self, String> {
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

    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// The user this process writes files as.
    pub(super) fn owner(&self) -> Result<u32, String> {
        std::fs::metadata(&self.path)
            .map(|meta| meta.uid())
            .map_err(|e| format!("{}: {e}", self.path.display()))
    }

    /// Syncs the file, renames it to `dest` and syncs the directory; returns its size.
    pub(super) fn persist(mut self, dest: &Path) -> Result<u64, String> {
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
