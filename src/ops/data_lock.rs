//! Servers and `rotate-master-key` never run on one data directory at the same time: every
//! server holds a shared lock on `{data_dir}/.lock` for its lifetime, and the rotation needs it
//! exclusively (a running server would keep sealing new keys with the old master key).

use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;

/// Held while alive; the operating system releases it when the process ends, however it ends.
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
}

impl DataDirLock {
    /// For a server: any number may share the directory.
    pub fn shared(data_dir: &Path) -> Result<Self, String> {
        Self::acquire(data_dir, false)
    }

    /// For maintenance: refused while any server (or other maintenance) holds the directory.
    pub fn exclusive(data_dir: &Path) -> Result<Self, String> {
        Self::acquire(data_dir, true)
    }

    fn acquire(data_dir: &Path, exclusive: bool) -> Result<Self, String> {
        let path = data_dir.join(".lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        let locked = if exclusive {
            file.try_lock()
        } else {
            file.try_lock_shared()
        };
        match locked {
            Ok(()) => Ok(Self { _file: file }),
            Err(TryLockError::WouldBlock) => Err(format!(
                "{} is in use by a running modelscope-balance server; stop it first",
                data_dir.display()
            )),
            Err(TryLockError::Error(e)) => Err(format!("cannot lock {}: {e}", path.display())),
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
        let refused = DataDirLock::exclusive(dir.path()).unwrap_err();
        assert!(refused.contains("stop it first"), "{refused}");
        drop((server, second_server));
        let maintenance = DataDirLock::exclusive(dir.path()).unwrap();
        assert!(DataDirLock::shared(dir.path()).is_err());
        drop(maintenance);
    }
}
