//! A file being written beside its final name, owner-only, published only when whole. Its
//! name is its own (`<final>.<pid>-<random>.partial`, created exclusively), so nothing another
//! program or person keeps beside it is ever removed; it is published with a rename that never
//! replaces, so a file that appeared at the final name meanwhile stays as it is.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// SQLite's side files of a database.
const SIDECARS: [&str; 3] = ["-wal", "-shm", "-journal"];
/// Fresh names tried before giving up (each is 48 random bits: a clash means something odd).
const NAME_TRIES: usize = 8;

/// A WAL left beside a database that is not its own would be replayed into it.
pub(super) fn remove_sidecars(target: &Path) -> Result<(), String> {
    for suffix in SIDECARS {
        let path = with_suffix(target, suffix);
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
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

/// Moves `from` to `to` unless `to` exists (then `AlreadyExists`, and nothing changed).
pub(super) fn rename_no_replace(from: &Path, to: &Path) -> io::Result<()> {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    match renameat2_no_replace(from, to) {
        // The file system cannot do it in one step: a hard link then an unlink.
        Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL | libc::ENOSYS)) => {}
        done => return done,
    }
    // A hard link is never made over an existing name. The old name goes after (the
    // `Partial` removes it again when dropped, should this fail).
    std::fs::hard_link(from, to)?;
    let _ = std::fs::remove_file(from);
    Ok(())
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn renameat2_no_replace(from: &Path, to: &Path) -> io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let c_path = |path: &Path| {
        CString::new(path.as_os_str().as_bytes())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a NUL in a file name"))
    };
    let (from, to) = (c_path(from)?, c_path(to)?);
    // SAFETY: both are NUL-terminated paths that live across the call; AT_FDCWD resolves
    // them like `rename` does.
    let done = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            from.as_ptr(),
            libc::AT_FDCWD,
            to.as_ptr(),
            libc::RENAME_NOREPLACE,
        )
    };
    if done == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// A file being written: owner-only, removed (with the journal SQLite made for it) unless
/// published.
pub(super) struct Partial {
    path: PathBuf,
    done: bool,
}

impl Partial {
    /// A new empty file beside `target`, under a name no one else has.
    pub(super) fn beside(target: &Path) -> Result<Self, String> {
        for _ in 0..NAME_TRIES {
            let mut random = [0u8; 6];
            getrandom::fill(&mut random).map_err(|e| format!("no random name: {e}"))?;
            let suffix = format!(".{}-{}.partial", std::process::id(), hex::encode(random));
            let path = with_suffix(target, &suffix);
            // Side files under the name would be someone else's: take another name.
            if SIDECARS
                .iter()
                .any(|s| with_suffix(&path, s).symlink_metadata().is_ok())
            {
                continue;
            }
            match OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
            {
                Ok(_) => return Ok(Self { path, done: false }),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(format!("cannot create {}: {e}", path.display())),
            }
        }
        Err(format!(
            "cannot find a free name beside {} to write to",
            target.display()
        ))
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

    /// Syncs the file, publishes it as `dest` unless `dest` exists, and syncs the directory;
    /// returns its size.
    pub(super) fn persist(mut self, dest: &Path) -> Result<u64, String> {
        let file = File::open(&self.path).map_err(|e| format!("{}: {e}", self.path.display()))?;
        file.sync_all()
            .map_err(|e| format!("{}: {e}", self.path.display()))?;
        let bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
        drop(file);
        rename_no_replace(&self.path, dest).map_err(|e| {
            if e.kind() == io::ErrorKind::AlreadyExists {
                format!(
                    "{} was created by something else meanwhile; it is left as it is, and \
                     nothing was written: choose a new name",
                    dest.display()
                )
            } else {
                format!("cannot move into {}: {e}", dest.display())
            }
        })?;
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
        // Only what this run made: its own uniquely named file and SQLite's journal of it.
        let _ = std::fs::remove_file(&self.path);
        if !self.done {
            let _ = remove_sidecars(&self.path);
        }
    }
}
