//! Stored runs: what was seen, when, with which key and preset.

use crate::db::history::StoredBalance;
pub use crate::db::history::{RunKind, Source};
use crate::db::runs::{self, NewRun};
use crate::db::{Db, DbError};
use crate::ids::{KeyId, PresetId, RunId, UserId};
use crate::modelscope::BatchReport;
use crate::modelscope::{AccountBalance, BalanceError, Site};
use crate::runs::judge::Unclean;

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
            error: Some(error.code()),
        },
    }
}

/// What to store about a finished run besides its rows.
pub struct StoredRun {
    pub origin: RunOrigin,
    pub kind: RunKind,
    pub site: Site,
    pub started_at: i64,
    pub report: BatchReport,
    pub before: Option<Result<AccountBalance, BalanceError>>,
    pub balance: Result<AccountBalance, BalanceError>,
    pub points_spent: Option<f64>,
    pub shared_points_spent: Option<f64>,
    pub unclean: Option<Unclean>,
}

/// Stores a finished run in one transaction; returns its id.
pub async fn store(db: &Db, run: StoredRun) -> Result<RunId, DbError> {
    db.run(move |conn| {
        let origin = &run.origin;
        let new = NewRun {
            user_id: origin.user_id,
            api_key_id: origin.api_key_id,
            key_label: origin.key_label.as_deref(),
            preset_id: origin.preset_id,
            preset_name: origin.preset_name.as_deref(),
            source: origin.source,
            kind: run.kind,
            site: run.site,
            started_at: run.started_at,
            duration_ms: i64::try_from(run.report.elapsed.as_millis()).unwrap_or(i64::MAX),
            balance: Some(stored_balance(&run.balance)),
            before: run.before.as_ref().map(stored_balance),
            points_spent: run.points_spent,
            shared_points_spent: run.shared_points_spent,
            unclean: run.unclean,
            results: &run.report.results,
        };
        runs::insert_run(conn, &new)
    })
    .await
}

/// Removes runs older than the retention setting (0 keeps everything).
pub async fn delete_older_than_days(db: &Db, days: u32) -> Result<usize, DbError> {
    if days == 0 {
        return Ok(0);
    }
    let cutoff = crate::clock::now() - i64::from(days) * 86_400;
    db.run(move |conn| runs::delete_before(conn, cutoff)).await
}
