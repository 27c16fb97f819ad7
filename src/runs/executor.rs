//! Carrying out a planned run: probe, fetch the balance beside it, and (when asked) store
//! everything in one transaction. Every run goes through [`execute`], on a task of its own, so a
//! client that disconnects mid-run (which drops the request's future) loses nothing: the run
//! finishes and is stored all the same. The streaming form reports each step as it happens.

use std::time::Instant;

use futures::StreamExt;
use tokio::sync::mpsc;

use super::engine::{BatchReport, ModelResult, QueryEngine};
use super::history::{self, Source};
use super::planner::PlannedRun;
use crate::db::Db;
use crate::ids::{RunId, UserId};
use crate::modelscope::{AccountBalance, BalanceError};

/// A planned run and what to do around it.
pub struct Execution {
    pub plan: PlannedRun,
    pub source: Source,
    /// Store the run in this user's history; `None` runs it without a trace.
    pub keep_for: Option<UserId>,
    /// Fetch the free points balance beside the probes.
    pub with_balance: bool,
}

/// What happened to the history row of a finished run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// The run was not to be kept.
    NotAsked,
    Saved(RunId),
    /// Storing failed (logged); the results are still the user's.
    Failed,
}

pub struct FinishedRun {
    pub report: BatchReport,
    pub balance: Option<Result<AccountBalance, BalanceError>>,
    pub stored: Stored,
}

/// Progress of a run, in the order it happens.
#[derive(Debug)]
pub enum RunEvent {
    Row { index: usize, result: ModelResult },
    Balance(Result<AccountBalance, BalanceError>),
    Stored { id: RunId },
    StoreFailed,
}

type Events = mpsc::UnboundedSender<RunEvent>;

/// Runs to the end on its own task and returns the outcome.
pub async fn run(engine: &QueryEngine, db: &Db, execution: Execution) -> FinishedRun {
    let (engine, db) = (engine.clone(), db.clone());
    let task = tokio::spawn(async move { execute(engine, db, execution, None).await });
    match task.await {
        Ok(finished) => finished,
        // Only a panic inside the run gets here; nothing was stored.
        Err(_) => FinishedRun {
            report: BatchReport {
                results: Vec::new(),
                elapsed: std::time::Duration::ZERO,
            },
            balance: None,
            stored: Stored::Failed,
        },
    }
}

/// Starts the run on its own task and returns its events. Dropping the receiver (a closed tab)
/// does not stop the run.
pub fn spawn_streaming(
    engine: &QueryEngine,
    db: &Db,
    execution: Execution,
) -> mpsc::UnboundedReceiver<RunEvent> {
    let (events, receiver) = mpsc::unbounded_channel();
    let (engine, db) = (engine.clone(), db.clone());
    tokio::spawn(async move { execute(engine, db, execution, Some(events)).await });
    receiver
}

async fn execute(
    engine: QueryEngine,
    db: Db,
    execution: Execution,
    events: Option<Events>,
) -> FinishedRun {
    let started_at = crate::clock::now();
    let clock = Instant::now();
    let Execution {
        plan,
        source,
        keep_for,
        with_balance,
    } = execution;
    let origin = keep_for.map(|user| plan.origin(user, source));
    let say = |event: RunEvent| {
        if let Some(events) = &events {
            // A closed receiver only means nobody is watching any more.
            let _ = events.send(event);
        }
    };
    let mut slots: Vec<Option<ModelResult>> = vec![None; plan.entries.len()];
    let balance_key = plan.key.clone();
    let rows = async {
        let mut stream = std::pin::pin!(engine.stream(plan.key, plan.entries));
        while let Some((index, result)) = stream.next().await {
            say(RunEvent::Row {
                index,
                result: result.clone(),
            });
            slots[index] = Some(result);
        }
    };
    let balance = async {
        if !with_balance {
            return None;
        }
        let balance = engine.balance(&balance_key).await;
        say(RunEvent::Balance(balance.clone()));
        Some(balance)
    };
    let ((), balance) = futures::join!(rows, balance);
    let report = BatchReport {
        results: slots.into_iter().flatten().collect(),
        elapsed: clock.elapsed(),
    };
    log_run(source, keep_for.is_some(), &report);
    let stored = match origin {
        None => Stored::NotAsked,
        Some(origin) => {
            match history::store(&db, origin, started_at, report.clone(), balance.clone()).await {
                Ok(id) => {
                    say(RunEvent::Stored { id });
                    Stored::Saved(id)
                }
                Err(error) => {
                    tracing::error!(%error, "storing a run failed");
                    say(RunEvent::StoreFailed);
                    Stored::Failed
                }
            }
        }
    };
    FinishedRun {
        report,
        balance,
        stored,
    }
}

/// The one line logged per run: counts and duration, never a key or a model list.
fn log_run(source: Source, kept: bool, report: &BatchReport) {
    tracing::info!(
        source = source.as_str(),
        kept,
        models = report.results.len(),
        ok = report.ok_count(),
        failed = report.failed_count(),
        duration_ms = u64::try_from(report.elapsed.as_millis()).unwrap_or(u64::MAX),
        "balance query"
    );
}
