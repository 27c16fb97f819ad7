//! Servers and `rotate-master-key` never run on one data directory at the same time: every
//! server holds a shared lock on `{data_dir}/.lock` for its lifetime, and the rotation needs it
//! exclusively (a running server would keep sealing new keys with the old master key).

use std::fs::{File, OpenOptions, TryLockError};
use std::io;
use std::path::{Path, PathBuf};

/// Why the data directory could not be held.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("cannot open {}: {source}", path.display())]
    Open { path: PathBuf, source: io::Error },
    #[error("{} is in use by a running modelscope-balance server; stop it first", dir.display())]
    InUse { dir: PathBuf },
    #[error("cannot lock {}: {source}", path.display())]
    Lock { path: PathBuf, source: io::Error },
}

/// Held while alive; the operating system releases it when the process ends, however it ends.
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
}

impl DataDirLock {
    /// For a server: any number may share the directory.
    pub fn shared(data_dir: &Path) -> Result<Self, LockError> {
        Self::acquire(data_dir, false)
    }

    /// For maintenance: refused while any server (or other maintenance) holds the directory.
    pub fn exclusive(data_dir: &Path) -> Result<Self, LockError> {
        Self::acquire(data_dir, true)
    }

    fn acquire(data_dir: &Path, exclusive: bool) -> Result<Self, LockError> {
        let path = data_dir.join(".lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|source| LockError::Open {
                path: path.clone(),
                source,
            })?;
        let locked = if exclusive {
            file.try_lock()
        } else {
            file.try_lock_shared()
        };
        match locked {
            Ok(()) => Ok(Self { _file: file }),
            Err(TryLockError::WouldBlock) => Err(LockError::InUse {
                dir: data_dir.to_owned(),
            }),
            Err(TryLockError::Error(source)) => Err(LockError::Lock { path, source }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_share_and_maintenance_waits_for_them() {
        let dir = tempfile::tempdir().unwrap();
        let server = DataDirLock::shared(dir.path()).unwrap();
        let second_server = DataDirLock::shared(dir.path()).unwrap();
        let refused = DataDirLock::exclusive(dir.path()).unwrap_err().to_string();
        assert!(refused.contains("stop it first"), "{refused}");
        drop((server, second_server));
        let maintenance = DataDirLock::exclusive(dir.path()).unwrap();
        assert!(DataDirLock::shared(dir.path()).is_err());
        drop(maintenance);
    }
}
