//! What `backup` and `restore` report: counts, and which master key the saved keys need.

use std::fmt;
use std::path::{Path, PathBuf};

use rusqlite::Connection;

use crate::crypto::master_key::MasterKey;
use crate::db;

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
    pub(super) fn read(conn: &Connection, key_file: &Path) -> Result<Self, String> {
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
