//! The master key file: 32 random bytes that only their owner may read, created once and never
//! overwritten; rotation keeps the old file as a dated backup.
//!
//! The key is never used directly: the vault derives one AES-256-GCM key per purpose from it.

use std::fmt;
use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

pub(super) const KEY_LEN: usize = 32;

/// Everything that can go wrong with the master key file or with sealing and opening.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("master key file {} does not exist", path.display())]
    Missing { path: PathBuf },
    #[error("master key file {} is not a regular file", path.display())]
    NotAFile { path: PathBuf },
    #[error(
        "master key file {path} has mode {mode:04o}; run chmod 600 {path}",
        path = path.display()
    )]
    InsecurePermissions { path: PathBuf, mode: u32 },
    #[error(
        "master key file {} is {len} bytes, expected exactly {KEY_LEN}: it is damaged or not a \
         master key; restore it from a backup (replacing it makes every saved API key unreadable)",
        path.display()
    )]
    WrongSize { path: PathBuf, len: u64 },
    #[error("backup file {} already exists; move it away or pick another label", path.display())]
    BackupExists { path: PathBuf },
    #[error(
        "{} already exists, probably left by an interrupted key rotation; check that {} still \
         opens your keys, then delete it",
        tmp.display(),
        path.display()
    )]
    LeftoverTemp { tmp: PathBuf, path: PathBuf },
    #[error("invalid backup label {0:?}: use letters, digits, '-', '_' or '.'")]
    InvalidLabel(String),
    // getrandom 0.3's error only implements `std::error::Error` with its `std` feature, so it is
    // displayed rather than chained as a source.
    #[error("the operating system's random number generator failed: {0}")]
    Random(getrandom::Error),
    #[error("this API key was sealed with master key {id}, which is not loaded")]
    UnknownMasterKey { id: String },
    #[error(
        "the saved API key cannot be decrypted: it was altered, moved to another row, or sealed \
         with a different master key"
    )]
    CannotOpen,
    #[error("the API key cannot be encrypted")]
    CannotSeal,
}

fn io_err(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> VaultError {
    let path = path.to_path_buf();
    move |source| VaultError::Io {
        action,
        path,
        source,
    }
}

/// The 32-byte master key, wiped from memory on drop. `Debug` shows only its id.
pub struct MasterKey {
    pub(super) bytes: Zeroizing<[u8; KEY_LEN]>,
    pub(super) id: String,
}

impl MasterKey {
    pub(super) fn from_bytes(bytes: Zeroizing<[u8; KEY_LEN]>) -> Self {
        let digest = Sha256::digest(&bytes[..]);
        let id = hex::encode(&digest[..8]);
        Self { bytes, id }
    }

    /// A new random key held only in memory (tests, and the body of [`Self::load_or_create`]).
    pub fn generate() -> Result<Self, VaultError> {
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        getrandom::fill(&mut bytes[..]).map_err(VaultError::Random)?;
        Ok(Self::from_bytes(bytes))
    }

    /// First 16 hex characters of SHA-256 of the key: names the key in the database without
    /// revealing anything usable about it.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Loads the key file, or creates it (mode 0600, parent directories 0700) when it does not
    /// exist. An existing file is never overwritten; one that is readable by group or others, or
    /// is not exactly 32 bytes, is refused.
    pub fn load_or_create(path: &Path) -> Result<Self, VaultError> {
        match Self::load(path) {
            Err(VaultError::Missing { .. }) => {}
            other => return other,
        }
        if let Some(parent) = non_empty_parent(path) {
            DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(parent)
                .map_err(io_err("create directory", parent))?;
        }
        let key = Self::generate()?;
        match write_new_key_file(path, &key) {
            // Another process created it between our check and our write: use theirs.
            Err(VaultError::Io { source, .. }) if source.kind() == io::ErrorKind::AlreadyExists => {
                Self::load(path)
            }
            Err(e) => Err(e),
            Ok(()) => {
                sync_parent_dir(path)?;
                Ok(key)
            }
        }
    }

    /// Loads an existing key file, with the same checks as [`Self::load_or_create`].
    pub fn load(path: &Path) -> Result<Self, VaultError> {
        let mut file = match File::open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(VaultError::Missing {
                    path: path.to_path_buf(),
                });
            }
            Err(e) => return Err(io_err("open master key file", path)(e)),
        };
        // Checked on the open handle, so the file cannot be swapped between check and read.
        let meta = file
            .metadata()
            .map_err(io_err("inspect master key file", path))?;
        if !meta.is_file() {
            return Err(VaultError::NotAFile {
                path: path.to_path_buf(),
            });
        }
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            return Err(VaultError::InsecurePermissions {
                path: path.to_path_buf(),
                mode,
            });
        }
        if meta.len() != KEY_LEN as u64 {
            return Err(VaultError::WrongSize {
                path: path.to_path_buf(),
                len: meta.len(),
            });
        }
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        file.read_exact(&mut bytes[..])
            .map_err(io_err("read master key file", path))?;
        // The file may have grown after the metadata check; a key file is exactly 32 bytes.
        let mut extra = [0u8; 1];
        if file
            .read(&mut extra)
            .map_err(io_err("read master key file", path))?
            != 0
        {
            let len = file.metadata().map_or(KEY_LEN as u64 + 1, |m| m.len());
            return Err(VaultError::WrongSize {
                path: path.to_path_buf(),
                len,
            });
        }
        Ok(Self::from_bytes(bytes))
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MasterKey({})", self.id)
    }
}

/// Replaces the master key file with a new random key, keeping the old one as
/// `<path>.<now_label>.bak` (refused if that backup already exists). Returns
/// `(old key, new key, backup path)`.
///
/// At every moment `path` holds a complete key, old or new: the old file is first hard-linked to
/// the backup name, then a fully written new file is renamed over `path`.
///
/// Run this while the server is stopped. The caller must then re-seal every row with
/// `Vault::with_previous(new, vec![old])` in one database transaction. If that transaction fails
/// (or anything else goes wrong before it commits), the caller must call
/// [`restore_backup`]`(path, &backup)` to put the old key back, otherwise the rows stay sealed
/// with a key that is only in the backup file. After a successful commit the backup is no longer
/// needed by the app, but it still opens older database backups: keep it as safe as the key.
pub fn rotate_key_file(
    path: &Path,
    now_label: &str,
) -> Result<(MasterKey, MasterKey, PathBuf), VaultError> {
    let valid_label = !now_label.is_empty()
        && now_label
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !valid_label || now_label.starts_with('.') {
        return Err(VaultError::InvalidLabel(now_label.to_owned()));
    }
    let old = MasterKey::load(path)?;
    let backup = with_suffix(path, &format!(".{now_label}.bak"));
    let tmp = with_suffix(path, ".new");
    if backup.symlink_metadata().is_ok() {
        return Err(VaultError::BackupExists { path: backup });
    }

    let new = MasterKey::generate()?;
    match write_new_key_file(&tmp, &new) {
        Err(VaultError::Io { source, .. }) if source.kind() == io::ErrorKind::AlreadyExists => {
            return Err(VaultError::LeftoverTemp {
                tmp,
                path: path.to_path_buf(),
            });
        }
        other => other?,
    }
    // `hard_link` never replaces an existing file, unlike `rename`.
    if let Err(e) = fs::hard_link(path, &backup) {
        let _ = fs::remove_file(&tmp);
        return Err(if e.kind() == io::ErrorKind::AlreadyExists {
            VaultError::BackupExists { path: backup }
        } else {
            io_err("back up master key file to", &backup)(e)
        });
    }
    if let Err(e) = fs::rename(&tmp, path) {
        let _ = fs::remove_file(&tmp);
        let _ = fs::remove_file(&backup);
        return Err(io_err("replace master key file", path)(e));
    }
    // Best effort: the swap is done, and an error here would make the caller believe it was not.
    let _ = sync_parent_dir(path);
    Ok((old, new, backup))
}

/// Puts the backup made by [`rotate_key_file`] back in place of `path` (atomically), after
/// checking that it is a valid key file. Returns the restored key.
pub fn restore_backup(path: &Path, backup: &Path) -> Result<MasterKey, VaultError> {
    let key = MasterKey::load(backup)?;
    fs::rename(backup, path).map_err(io_err("restore master key file", path))?;
    // Best effort, as in `rotate_key_file`: the key is back in place either way.
    let _ = sync_parent_dir(path);
    Ok(key)
}

/// Writes `key` to a file that must not exist yet, mode 0600, flushed to disk. A partial file
/// left by a failed write is removed.
fn write_new_key_file(path: &Path, key: &MasterKey) -> Result<(), VaultError> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io_err("create master key file", path))?;
    let written = (|| {
        // The umask can only clear bits; this makes the mode exactly 0600 whatever it is.
        file.set_permissions(fs::Permissions::from_mode(0o600))?;
        file.write_all(&key.bytes[..])?;
        file.sync_all()
    })();
    if let Err(e) = written {
        drop(file);
        // We created this file (create_new), so removing it cannot destroy anything else.
        let _ = fs::remove_file(path);
        return Err(io_err("write master key file", path)(e));
    }
    Ok(())
}

/// Makes a create, link or rename durable: they live in the directory, not the file.
fn sync_parent_dir(path: &Path) -> Result<(), VaultError> {
    let dir = non_empty_parent(path).unwrap_or(Path::new("."));
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err("sync directory", dir))
}

fn non_empty_parent(path: &Path) -> Option<&Path> {
    path.parent().filter(|p| !p.as_os_str().is_empty())
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{ApiSecret, Vault};
    use crate::ids::{KeyId, UserId};

    const TOKEN: &str = "ms-12345678-aaaa-bbbb-cccc-1234567890ab";

    fn mode_of(path: &Path) -> u32 {
        fs::metadata(path).expect("metadata").permissions().mode() & 0o777
    }

    #[test]
    fn id_is_16_hex_chars_of_sha256() {
        let bytes = Zeroizing::new([7u8; KEY_LEN]);
        let expected = hex::encode(&Sha256::digest([7u8; KEY_LEN])[..8]);
        let key = MasterKey::from_bytes(bytes);
        assert_eq!(key.id(), expected);
        assert_eq!(key.id().len(), 16);
        assert_eq!(format!("{key:?}"), format!("MasterKey({expected})"));
    }

    #[test]
    fn load_or_create_makes_0600_file_and_reuses_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("data").join("master.key");
        let first = MasterKey::load_or_create(&path).expect("create");
        assert_eq!(mode_of(&path), 0o600);
        assert_eq!(fs::read(&path).expect("read").len(), KEY_LEN);
        assert_eq!(mode_of(path.parent().expect("parent")), 0o700);

        let second = MasterKey::load_or_create(&path).expect("load");
        assert_eq!(first.id(), second.id());
        assert_eq!(&first.bytes[..], &second.bytes[..]);
        let third = MasterKey::load(&path).expect("load");
        assert_eq!(first.id(), third.id());
    }

    #[test]
    fn load_requires_existing_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("master.key");
        let err = MasterKey::load(&path).expect_err("missing");
        assert!(matches!(err, VaultError::Missing { .. }));
        assert!(err.to_string().contains(&path.display().to_string()));
        assert!(!path.exists());
    }

    #[test]
    fn wrong_size_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        for len in [0, 31, 33, 64] {
            let path = dir.path().join(format!("master-{len}.key"));
            fs::write(&path, vec![0u8; len]).expect("write");
            fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).expect("chmod");
            let err = MasterKey::load_or_create(&path).expect_err("wrong size");
            assert!(matches!(err, VaultError::WrongSize { .. }), "{err}");
            let text = err.to_string();
            assert!(text.contains(&path.display().to_string()), "{text}");
            assert!(text.contains(&format!("{len} bytes")), "{text}");
            // Never overwritten.
            assert_eq!(fs::read(&path).expect("read").len(), len);
        }
    }

    #[test]
    fn group_or_other_access_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("master.key");
        MasterKey::load_or_create(&path).expect("create");
        let before = fs::read(&path).expect("read");
        for mode in [0o644, 0o640, 0o604, 0o610] {
            fs::set_permissions(&path, fs::Permissions::from_mode(mode)).expect("chmod");
            let err = MasterKey::load_or_create(&path).expect_err("insecure");
            let text = err.to_string();
            let shown = path.display().to_string();
            assert_eq!(
                text,
                format!("master key file {shown} has mode {mode:04o}; run chmod 600 {shown}")
            );
        }
        assert_eq!(fs::read(&path).expect("read"), before);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o400)).expect("chmod");
        MasterKey::load(&path).expect("owner read-only is fine");
    }

    #[test]
    fn directory_is_not_a_key_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("master.key");
        DirBuilder::new().mode(0o700).create(&path).expect("mkdir");
        assert!(matches!(
            MasterKey::load_or_create(&path),
            Err(VaultError::NotAFile { .. })
        ));
    }

    #[test]
    fn rotate_keeps_backup_and_writes_new_0600_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("master.key");
        let original = MasterKey::load_or_create(&path).expect("create");
        let old_bytes = fs::read(&path).expect("read");

        let (old, new, backup) = rotate_key_file(&path, "20250101T000000Z").expect("rotate");
        assert_eq!(backup, dir.path().join("master.key.20250101T000000Z.bak"));
        assert_eq!(old.id(), original.id());
        assert_ne!(new.id(), old.id());
        assert_eq!(fs::read(&backup).expect("read backup"), old_bytes);
        assert_eq!(mode_of(&backup), 0o600);
        assert_eq!(mode_of(&path), 0o600);
        assert_eq!(MasterKey::load(&path).expect("load").id(), new.id());
        assert!(!with_suffix(&path, ".new").exists());

        // Re-seal a row written under the old key, as the caller would.
        let sealed = Vault::new(MasterKey::load(&backup).expect("backup"))
            .seal_api_key(UserId(1), KeyId(2), &ApiSecret::new(TOKEN))
            .expect("seal");
        let vault = Vault::with_previous(new, vec![old]);
        let secret = vault
            .open_api_key(UserId(1), KeyId(2), &sealed)
            .expect("open old row");
        let resealed = vault
            .seal_api_key(UserId(1), KeyId(2), &secret)
            .expect("reseal");
        assert_eq!(resealed.master_key_id, vault.current_key_id());

        // The same label again would overwrite the backup: refused, nothing changes.
        let current = fs::read(&path).expect("read");
        let err = rotate_key_file(&path, "20250101T000000Z").expect_err("backup exists");
        assert!(matches!(err, VaultError::BackupExists { .. }));
        assert_eq!(fs::read(&path).expect("read"), current);
        assert_eq!(fs::read(&backup).expect("read"), old_bytes);
        assert!(!with_suffix(&path, ".new").exists());
    }

    #[test]
    fn restore_backup_puts_old_key_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("master.key");
        let original = MasterKey::load_or_create(&path).expect("create");
        let (_old, _new, backup) = rotate_key_file(&path, "t1").expect("rotate");
        let restored = restore_backup(&path, &backup).expect("restore");
        assert_eq!(restored.id(), original.id());
        assert_eq!(MasterKey::load(&path).expect("load").id(), original.id());
        assert!(!backup.exists());
        assert_eq!(mode_of(&path), 0o600);
    }

    #[test]
    fn rotate_refuses_bad_labels_and_leftovers() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("master.key");
        MasterKey::load_or_create(&path).expect("create");
        for label in ["", "a/b", "../x", ".hidden", "a b", "t\0"] {
            assert!(
                matches!(
                    rotate_key_file(&path, label),
                    Err(VaultError::InvalidLabel(_))
                ),
                "{label:?}"
            );
        }
        fs::write(with_suffix(&path, ".new"), b"junk").expect("write");
        assert!(matches!(
            rotate_key_file(&path, "t2"),
            Err(VaultError::LeftoverTemp { .. })
        ));
        assert!(!with_suffix(&path, ".t2.bak").exists());
    }
}
