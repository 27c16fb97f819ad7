//! `rotate-master-key`: a new master key file, and every saved API key re-sealed with it in one
//! transaction (run it while the server is stopped).

use std::fmt;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use rocket::figment::Figment;

use crate::config::AppConfig;
use crate::crypto::master_key;
use crate::crypto::vault::Vault;
use crate::db::Db;
use crate::keyring;

use super::plural;

/// The outcome of a successful rotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    /// Saved keys now sealed with the new master key.
    pub resealed: usize,
    /// Saved keys that could not be opened (already unreadable before the rotation: tampered,
    /// or sealed with a key that is gone); left exactly as they were.
    pub unreadable: usize,
    /// The new key file.
    pub key_file: PathBuf,
    /// The old key file, renamed.
    pub backup: PathBuf,
}

impl fmt::Display for Rotation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "New master key written to {}.", self.key_file.display())?;
        writeln!(
            f,
            "Re-encrypted {} saved API key{} with it.",
            self.resealed,
            plural(self.resealed)
        )?;
        if self.unreadable > 0 {
            writeln!(
                f,
                "{} saved API key{} could not be opened and {} left as {} {}: their users must \
                 re-enter them on the keys page.",
                self.unreadable,
                plural(self.unreadable),
                if self.unreadable == 1 { "was" } else { "were" },
                if self.unreadable == 1 { "it" } else { "they" },
                if self.unreadable == 1 { "was" } else { "were" },
            )?;
        } else {
            writeln!(f, "No saved API key was left unreadable.")?;
        }
        writeln!(
            f,
            "The old master key is kept in {}.",
            self.backup.display()
        )?;
        write!(
            f,
            "Keep the backup until you have verified the server starts and opens the keys; \
             the database is useless without its key file, so back up the key file together \
             with the database, and keep both as private as the key."
        )
    }
}

/// Runs the rotation and reports on `out` (success) or `err` (failure).
pub fn run_rotation(figment: &Figment, out: &mut dyn Write, err: &mut dyn Write) -> ExitCode {
    match rotate_master_key(figment) {
        Ok(rotation) => {
            // Nothing sensible to do if the terminal is gone: the rotation itself is done.
            let _ = writeln!(out, "{rotation}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            let _ = writeln!(err, "modelscope-balance rotate-master-key: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The UTC time as `20261128T153000Z`, for the backup file name.
pub fn utc_label() -> String {
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    time::OffsetDateTime::now_utc()
        .format(&format)
        .unwrap_or_else(|_| time::OffsetDateTime::now_utc().unix_timestamp().to_string())
}

/// [`rotate_master_key_labelled`] with the current UTC time as the backup label.
pub fn rotate_master_key(figment: &Figment) -> Result<Rotation, String> {
    rotate_master_key_labelled(figment, &utc_label())
}

/// Reads the configuration exactly as the server does, writes a new master key file (the old
/// one becomes `<master_key_file>.<label>.bak`) and re-seals every saved key in one
/// transaction. If re-sealing fails, the old key file is put back and nothing has changed.
pub fn rotate_master_key_labelled(figment: &Figment, label: &str) -> Result<Rotation, String> {
    let config = AppConfig::load(figment).map_err(|e| e.to_string())?;
    let key_file = config.master_key_file();
    if !key_file.exists() {
        return Err(format!(
            "master key file {} does not exist: there is nothing to rotate (check data_dir and \
             master_key_file; the server creates the key on its first start)",
            key_file.display()
        ));
    }
    // A running server would go on sealing new keys with the old master key.
    let _lock = crate::ops::data_lock::DataDirLock::exclusive(&config.data_dir)
        .map_err(|e| e.to_string())?;
    // Opened before the key file is touched, so a bad database changes nothing.
    let db = Db::open(&config.database_path()).map_err(|e| e.to_string())?;
    let mut conn = db.connection().map_err(|e| e.to_string())?;

    let (old, new, backup) =
        master_key::rotate_key_file(&key_file, label).map_err(|e| e.to_string())?;
    let vault = Vault::with_previous(new, vec![old]);
    let resealed = (|| -> Result<(usize, usize), String> {
        // The new rows must reach the disk before we say the old key file is only a backup.
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(|e| format!("database: {e}"))?;
        // Saved keys and channel secrets (sealed under the same master key, each with its own
        // derived key) are re-sealed in one transaction.
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| format!("database: {e}"))?;
        let counts = keyring::reseal_keys(&tx, &vault).map_err(|e| e.to_string())?;
        crate::notify::channel_store::reseal_all(&tx, &vault).map_err(|e| e.to_string())?;
        crate::auth::two_factor::reseal_all(&tx, &vault).map_err(|e| e.to_string())?;
        tx.commit().map_err(|e| format!("database: {e}"))?;
        // Best effort: moves the re-sealed rows from the WAL into the database file itself.
        let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
        Ok(counts)
    })();
    drop(conn);
    drop(db);
    match resealed {
        Ok((resealed, unreadable)) => Ok(Rotation {
            resealed,
            unreadable,
            key_file,
            backup,
        }),
        Err(problem) => match master_key::restore_backup(&key_file, &backup) {
            Ok(_) => Err(format!(
                "re-encrypting the saved keys failed: {problem}. The old master key file was \
                 put back in {}; nothing has changed.",
                key_file.display()
            )),
            Err(restore) => Err(format!(
                "re-encrypting the saved keys failed: {problem}. Putting the old master key \
                 back also failed: {restore}. The database still needs the OLD key: copy {} to \
                 {} (mode 0600) before starting the server.",
                backup.display(),
                key_file.display()
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_is_a_utc_timestamp() {
        let label = utc_label();
        assert_eq!(label.len(), 16, "{label}");
        assert_eq!(&label[8..9], "T");
        assert!(label.ends_with('Z'));
        assert!(
            label[..8]
                .chars()
                .chain(label[9..15].chars())
                .all(|c| c.is_ascii_digit()),
            "{label}"
        );
    }

    #[test]
    fn report_says_what_to_do() {
        let rotation = Rotation {
            resealed: 3,
            unreadable: 1,
            key_file: PathBuf::from("data/master.key"),
            backup: PathBuf::from("data/master.key.20261128T153000Z.bak"),
        };
        let text = rotation.to_string();
        assert!(text.contains("Re-encrypted 3 saved API keys"), "{text}");
        assert!(
            text.contains("1 saved API key could not be opened"),
            "{text}"
        );
        assert!(text.contains("re-enter"), "{text}");
        assert!(
            text.contains("data/master.key.20261128T153000Z.bak"),
            "{text}"
        );
        assert!(text.contains("Keep the backup until you have verified the server starts"));
        assert!(text.contains("the database is useless without its key file"));
    }
}
