//! Stored runs: what was seen, when, with which key and preset.

use crate::db::history::{self, NewRun, StoredBalance};
use crate::db::{Db, DbError};
use crate::ids::{KeyId, PresetId, RunId, UserId};
use crate::modelscope::{AccountBalance, BalanceError};
use crate::runs::engine::BatchReport;

/// Where a stored run came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Web,
    Api,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Web => "web",
            Self::Api => "api",
        }
    }
}

/// Who ran it, with which saved key (if any) and preset (if any).
#[derive(Debug, Clone)]
pub struct RunOrigin {
    pub user_id: UserId,
    pub api_key_id: Option<KeyId>,
    pub key_label: Option<String>,
    pub preset_id: Option<PresetId>,
    pub preset_name: Option<String>,
    pub source: Source,
}

pub fn stored_balance(balance: &Result<AccountBalance, BalanceError>) -> StoredBalance {
    match balance {
        Ok(b) => StoredBalance {
            total: Some(b.total_balance),
            available: Some(b.available_balance),
            frozen: Some(b.frozen_amount),
            error: None,
        },
        Err(error) => StoredBalance {
            total: None,
            available: None,
            frozen: None,
            error: Some(error.code().as_str().to_owned()),
        },
    }
}

/// Stores a finished run in one transaction; returns its id.
pub async fn store(
    db: &Db,
    origin: RunOrigin,
    started_at: i64,
    report: BatchReport,
    balance: Option<Result<AccountBalance, BalanceError>>,
) -> Result<RunId, DbError> {
    db.run(move |conn| {
        let run = NewRun {
            user_id: origin.user_id,
            api_key_id: origin.api_key_id,
            key_label: origin.key_label.as_deref(),
            preset_id: origin.preset_id,
            preset_name: origin.preset_name.as_deref(),
            source: origin.source.as_str(),
            started_at,
            duration_ms: i64::try_from(report.elapsed.as_millis()).unwrap_or(i64::MAX),
            balance: balance.as_ref().map(stored_balance),
            results: &report.results,
        };
        history::insert_run(conn, &run)
    })
    .await
}

/// Removes runs older than the retention setting (0 keeps everything).
pub async fn delete_older_than_days(db: &Db, days: u32) -> Result<usize, DbError> {
    if days == 0 {
        return Ok(0);
    }
    let cutoff = crate::clock::now() - i64::from(days) * 86_400;
    db.run(move |conn| history::delete_before(conn, cutoff))
        .await
}
