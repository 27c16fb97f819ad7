//! A stored run: probe, fetch the balance beside it, store everything in one transaction.
//! The streaming form reports rows as they finish and still stores the run when nobody listens.

use std::time::Instant;

use futures::StreamExt;
use tokio::sync::mpsc;

use crate::crypto::secret::ApiSecret;
use crate::db::{Db, DbError};
use crate::modelscope::ModelEntry;
use crate::modelscope::{AccountBalance, BalanceError};
use crate::runs::engine::{BatchReport, ModelResult, QueryEngine};
use crate::runs::history::{self, RunOrigin};

/// What to run, for whom.
pub struct RunRequest {
    pub origin: RunOrigin,
    pub key: ApiSecret,
    pub entries: Vec<ModelEntry>,
}

pub struct FinishedRun {
    pub id: i64,
    pub report: BatchReport,
    pub balance: Result<AccountBalance, BalanceError>,
}

/// Runs and stores on a task of its own, so a client that disconnects mid-query (which drops
/// the request's future) loses nothing: the run still finishes and is stored.
pub async fn run_and_store(
    engine: &QueryEngine,
    db: &Db,
    request: RunRequest,
) -> Result<FinishedRun, DbError> {
    let (engine, db) = (engine.clone(), db.clone());
    tokio::spawn(async move {
        let started_at = crate::db::now();
        let (report, balance) = engine.run_with_balance(request.key, request.entries).await;
        log_run(&request.origin, &report);
        let id = history::store(
            &db,
            request.origin,
            started_at,
            report.clone(),
            Some(balance.clone()),
        )
        .await?;
        Ok(FinishedRun {
            id,
            report,
            balance,
        })
    })
    .await
    .map_err(|_| DbError::Join)?
}

fn log_run(origin: &RunOrigin, report: &BatchReport) {
    tracing::info!(
        source = origin.source.as_str(),
        models = report.results.len(),
        ok = report.ok_count(),
        failed = report.failed_count(),
        duration_ms = report.elapsed.as_millis() as u64,
        "balance query"
    );
}

/// Progress of a streamed run, in the order it happens.
#[derive(Debug)]
pub enum RunEvent {
    Row { index: usize, result: ModelResult },
    Balance(Result<AccountBalance, BalanceError>),
    Stored { id: i64 },
    StoreFailed,
}

/// Starts the run on its own task and returns its events. Dropping the receiver (a closed tab)
/// does not stop the run: it finishes and is stored all the same.
pub fn spawn_streaming(
    engine: QueryEngine,
    db: Db,
    request: RunRequest,
) -> mpsc::UnboundedReceiver<RunEvent> {
    let (events, receiver) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let started_at = crate::db::now();
        let clock = Instant::now();
        let RunRequest {
            origin,
            key,
            entries,
        } = request;
        let mut slots: Vec<Option<ModelResult>> = vec![None; entries.len()];
        let balance_key = key.clone();
        let rows = async {
            let mut stream = std::pin::pin!(engine.stream(key, entries));
            while let Some((index, result)) = stream.next().await {
                let _ = events.send(RunEvent::Row {
                    index,
                    result: result.clone(),
                });
                slots[index] = Some(result);
            }
        };
        let balance = async {
            let balance = engine.balance(&balance_key).await;
            let _ = events.send(RunEvent::Balance(balance.clone()));
            balance
        };
        let ((), balance) = futures::join!(rows, balance);
        let report = BatchReport {
            results: slots.into_iter().flatten().collect(),
            elapsed: clock.elapsed(),
        };
        log_run(&origin, &report);
        match history::store(&db, origin, started_at, report, Some(balance)).await {
            Ok(id) => {
                let _ = events.send(RunEvent::Stored { id });
            }
            Err(error) => {
                tracing::error!(%error, "storing a streamed run failed");
                let _ = events.send(RunEvent::StoreFailed);
            }
        }
    });
    receiver
}
