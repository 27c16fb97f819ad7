//! Cleanup that runs by itself: expired sessions, old login failures, and history past its
//! retention.

use std::time::Duration;

use crate::auth::accounts;
use crate::config::AppConfig;
use crate::db::Db;
use crate::telemetry::{self, DbOp};

const EVERY: Duration = Duration::from_secs(3600);

const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// Runs once at start-up, then hourly, for the life of the server; checkpoints the WAL every
/// second.
pub fn spawn(db: Db, config: Option<AppConfig>) {
    let retention_days = config.map_or(90, |c| c.history_retention_days);
    let checkpoints = db.clone();
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(CHECKPOINT_EVERY);
        loop {
            ticker.tick().await;
            if let Err(error) = checkpoints.checkpoint().await {
                tracing::warn!(%error, "WAL checkpoint failed");
                telemetry::record_db_error(DbOp::Housekeeping);
            }
        }
    });
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(EVERY);
        loop {
            ticker.tick().await;
            run_once(&db, retention_days).await;
        }
    });
}

pub async fn run_once(db: &Db, retention_days: u32) {
    match accounts::clean_up(db).await {
        Ok((sessions, failures)) => {
            tracing::debug!(
                sessions,
                failures,
                "expired sessions and login failures removed"
            )
        }
        Err(error) => {
            tracing::warn!(%error, "session cleanup failed");
            telemetry::record_db_error(DbOp::Housekeeping);
        }
    }
    match crate::runs::history::delete_older_than_days(db, retention_days).await {
        Ok(removed) if removed > 0 => tracing::info!(removed, "old history removed"),
        Ok(_) => {}
        Err(error) => {
            tracing::warn!(%error, "history cleanup failed");
            telemetry::record_db_error(DbOp::Housekeeping);
        }
    }
}
