//! Why the app would not start. Each variant says what to fix; `lib.rs` logs it and prints it
//! on stderr, and Rocket refuses to launch.

use std::io;
use std::path::{Path, PathBuf};

use crate::config::ConfigError;
use crate::crypto::VaultError;
use crate::db::DbError;
use crate::modelscope::UpstreamSetupError;
use crate::ops::data_lock::LockError;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// A setting is unreadable or one the app cannot run with (the message names the key).
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot create data_dir {}: {source}", path.display())]
    DataDir { path: PathBuf, source: io::Error },
    /// Another process holds the data directory (or its lock file cannot be made).
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error(transparent)]
    Database(#[from] DbError),
    /// The key file is gone while saved keys were sealed under it.
    #[error(
        "master key file {} is missing, but {saved} saved API key(s) were sealed with master \
         key {ids}; a new key would leave them all unreadable. {}",
        path.display(),
        how_to_restore(path)
    )]
    MasterKeyMissing {
        path: PathBuf,
        saved: usize,
        ids: String,
    },
    /// The key file holds another key than the one saved keys were sealed under.
    #[error(
        "master key file {} holds master key {found}, but the {saved} saved API key(s) were \
         sealed with master key {ids}: the file was replaced. {}",
        path.display(),
        how_to_restore(path)
    )]
    MasterKeyReplaced {
        path: PathBuf,
        found: String,
        saved: usize,
        ids: String,
    },
    /// The key file cannot be read or made (its own message says how to mend it).
    #[error(transparent)]
    MasterKey(#[from] VaultError),
    #[error("notification HTTP client: {0}")]
    Notifier(reqwest::Error),
    #[error(transparent)]
    Upstream(#[from] UpstreamSetupError),
    #[error("{0}; unset metrics_token to start without /metrics")]
    Metrics(String),
}

/// The way out of a missing or replaced master key file.
fn how_to_restore(path: &Path) -> String {
    format!(
        "Restore the original file from your backup (its id is the first 16 hex digits of \
         `sha256sum {path}`), or, to start with a new master key and have every user re-enter \
         their saved keys, set accept_new_master_key = true (ROCKET_ACCEPT_NEW_MASTER_KEY=true) \
         once.",
        path = path.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_key_file_says_how_to_restore_or_accept() {
        let missing = StartupError::MasterKeyMissing {
            path: PathBuf::from("/data/master.key"),
            saved: 2,
            ids: "0123456789abcdef".into(),
        }
        .to_string();
        for expected in [
            "master key file /data/master.key is missing",
            "2 saved API key(s)",
            "0123456789abcdef",
            "`sha256sum /data/master.key`",
            "accept_new_master_key = true",
        ] {
            assert!(missing.contains(expected), "{expected:?} not in {missing}");
        }
        let metrics = StartupError::Metrics("metrics recorder: taken".into()).to_string();
        assert!(metrics.contains("unset metrics_token"), "{metrics}");
    }
}
