//! Carrying out a planned run. A free check reads the balance only. A probe run reads the free
//! balance, calls the models the points can pay for, reads the balance once more while the
//! calls are in flight, waits (at most a few seconds) for the points they hold to settle, reads
//! it again, judges whether the difference is its own (`judge`) and learns from a clean one
//! (`learn`): `probe.rs`. A price census calls the models whose price is unknown one at a time
//! under a budget: `census.rs`. Every row is then answered from what is known: the headers, or
//! the balance and the model's price (or the prices it may still have). When asked, everything
//! is stored in one transaction.
//!
//! Every run goes through [`execute`] on a task of its own, so a client that disconnects
//! mid-run (which drops the request's future) loses nothing: the run finishes and is stored all
//! the same. The streaming form reports each step as it happens. The tasks are tracked by the
//! engine ([`QueryEngine::runs`]), so a graceful shutdown waits for them to be stored.
//!
//! Each run is logged in one line and counted once for `/metrics` (`observe`).

use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::calls_left::ExpectedCost;
use super::engine::{Lane, QueryEngine};
use super::extras;
use super::history::{self, RunKind, Source, StoredRun};
use super::judge::Unclean;
use super::learn::Lesson;
use super::observe;
use super::planner::PlannedRun;
use super::prices::{self, Known};
use super::scope::{Body, Reporter, Scope, valid_ids};
use super::{census, probe};

pub use super::probe::SETTLE_WAIT;
pub use super::scope::{CensusOutcome, RunEvent};
use crate::db::Db;
use crate::ids::{RunId, UserId};
use crate::modelscope::{
    AccountBalance, BalanceError, BatchReport, ErrorCode, Failure, ModelEntry, ModelResult, Tiers,
};
use crate::telemetry::{self, DbOp};

/// A planned run and what to do around it.
pub struct Execution {
    pub plan: PlannedRun,
    pub kind: RunKind,
    pub source: Source,
    /// Whose prices apply (and who learns from the run); `None` for an anonymous caller.
    pub user: Option<UserId>,
    /// Store the run in the user's history.
    pub keep: bool,
    pub lane: Lane,
    /// A census's budget in points (`None`: the available balance).
    pub budget: Option<f64>,
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
    pub kind: RunKind,
    pub report: BatchReport,
    /// What the probes were expected to cost (zero for a free check).
    pub expected: ExpectedCost,
    /// Read before the first probe (probe runs and censuses).
    pub before: Option<Result<AccountBalance, BalanceError>>,
    /// Read after the probes settled, or the one reading of a free check.
    pub balance: Result<AccountBalance, BalanceError>,
    /// Points the run cost, when it can say (see `judge`).
    pub points_spent: Option<f64>,
    /// The points a window shared with other spending lost, when the run cannot claim them.
    pub shared_points_spent: Option<f64>,
    /// Why the difference taught nothing, when it did not.
    pub unclean: Option<Unclean>,
    /// The points did not cover any model's lowest possible price: no model was called.
    pub points_short: bool,
    /// What the run taught (signed-in runs).
    pub lesson: Lesson,
    pub census: Option<CensusOutcome>,
    /// The site's price tiers the rows were answered with.
    pub tiers: Tiers,
    pub stored: Stored,
}

impl FinishedRun {
    /// The balance the rows are answered from.
    pub fn available(&self) -> Option<f64> {
        self.balance.as_ref().ok().map(|b| b.available_balance)
    }

    /// Every model answered as a healthy model and, for a free check, the balance was read.
    pub fn success(&self) -> bool {
        match self.kind {
            RunKind::Check => self.balance.is_ok() && self.report.failed_count() == 0,
            RunKind::Probe => self.report.failed_count() == 0,
            RunKind::Census => {
                self.balance.is_ok() && self.report.results.iter().all(|r| !r.checked || r.is_ok())
            }
        }
    }
}

/// Runs to the end on its own task and returns the outcome.
pub async fn run(engine: &QueryEngine, db: &Db, execution: Execution) -> FinishedRun {
    let (tracker, engine, db) = (engine.runs().clone(), engine.clone(), db.clone());
    let kind = execution.kind;
    let task = tracker.spawn(async move { execute(engine, db, execution, None).await });
    match task.await {
        Ok(finished) => finished,
        // Only a panic inside the run gets here; nothing was stored.
        Err(_) => FinishedRun {
            kind,
            report: BatchReport {
                results: Vec::new(),
                elapsed: Duration::ZERO,
            },
            expected: ExpectedCost::default(),
            before: None,
            balance: Err(BalanceError::BadResponse),
            points_spent: None,
            shared_points_spent: None,
            unclean: None,
            points_short: false,
            lesson: Lesson::default(),
            census: None,
            tiers: Tiers::default(),
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
    let (tracker, engine, db) = (engine.runs().clone(), engine.clone(), db.clone());
    tracker.spawn(async move { execute(engine, db, execution, Some(events)).await });
    receiver
}

async fn execute(
    engine: QueryEngine,
    db: Db,
    execution: Execution,
    events: Option<mpsc::UnboundedSender<RunEvent>>,
) -> FinishedRun {
    let started_at = engine.clock().now();
    let clock = Instant::now();
    let Execution {
        plan,
        kind,
        source,
        user,
        keep,
        lane,
        budget,
    } = execution;
    let reporter = Reporter(events);
    let origin = user.filter(|_| keep).map(|user| plan.origin(user, source));
    let models: Vec<String> = valid_ids(&plan.entries).map(str::to_owned).collect();
    let known = known(&db, user, &models).await;
    let PlannedRun {
        key,
        site,
        entries,
        saved_key,
        ..
    } = plan;
    let tiers = engine.tiers().tiers(site);
    let (body, known) = {
        let scope = Scope {
            engine: &engine,
            db: &db,
            site,
            key: &key,
            lane: &lane,
            user,
            key_id: saved_key.map(|(id, _)| id),
            tiers: tiers.clone(),
            known,
            report: &reporter,
        };
        let body = match kind {
            RunKind::Check => check(&scope, &entries).await,
            RunKind::Probe => probe::run(&scope, entries).await,
            RunKind::Census => census::run(&scope, entries, budget).await,
        };
        (body, scope.known)
    };
    // Only a stored run's optional reads (below) still need the lane: an anonymous run's
    // place is free from here.
    let lane = origin.is_some().then_some(lane);
    // A run that taught something answers its rows with what it taught.
    let known = match (body.lesson != Lesson::default(), user) {
        (true, Some(_)) => self::known(&db, user, &models).await,
        _ => known,
    };
    // The site's table may have come from its rates endpoint while the run went on.
    let tiers = engine.tiers().tiers(site);
    let Body {
        mut results,
        expected,
        before,
        balance,
        judgement,
        points_short,
        lesson,
        census,
    } = body;
    for result in results
        .iter_mut()
        .filter(|r| r.error_code() != Some(ErrorCode::InvalidModel))
    {
        result.price = known.price(&result.model);
        result.candidates = known.candidates_of(&result.model, &tiers);
    }
    reporter.say(RunEvent::Final {
        results: results.clone(),
        available: balance.as_ref().ok().map(|b| b.available_balance),
    });
    let report = BatchReport {
        results,
        elapsed: clock.elapsed(),
    };
    let points_spent = match (points_short, judgement) {
        (true, _) => Some(0.0),
        (false, Some(judged)) => judged.points_spent(),
        (false, None) => None,
    };
    let unclean = judgement.and_then(|j| j.unclean);
    let shared_points_spent = judgement.and_then(|j| j.shared_points_spent());
    observe::finished(
        source,
        kind,
        origin.is_some(),
        &report,
        &balance,
        points_spent,
    );
    let stored = match origin {
        None => Stored::NotAsked,
        Some(origin) => {
            let record = StoredRun {
                origin,
                kind,
                site,
                started_at,
                report: report.clone(),
                before: before.clone(),
                balance: balance.clone(),
                points_spent,
                shared_points_spent,
                unclean,
            };
            // The optional reads come before the store, so nothing slow follows a stored run.
            let pending = match (record.origin.api_key_id, &record.balance, &lane) {
                (Some(saved), Ok(read), Some(lane)) => {
                    let total = read.total_balance;
                    extras::fetch(&engine, &db, saved, site, &key, total, lane)
                        .await
                        .map(|pending| (saved, pending))
                }
                _ => None,
            };
            match history::store(&db, record).await {
                Ok(id) => {
                    if let Some((saved, pending)) = pending {
                        extras::save(&db, saved, pending).await;
                    }
                    reporter.say(RunEvent::Stored { id });
                    Stored::Saved(id)
                }
                Err(error) => {
                    tracing::error!(%error, "storing a run failed");
                    telemetry::record_db_error(DbOp::StoreRun);
                    reporter.say(RunEvent::StoreFailed);
                    Stored::Failed
                }
            }
        }
    };
    FinishedRun {
        kind,
        report,
        expected,
        before,
        balance,
        points_spent,
        shared_points_spent,
        unclean,
        points_short,
        lesson,
        census,
        tiers,
        stored,
    }
}

/// A free check: the balance only, every valid row answered from it (unchecked), or failed with
/// its error when the balance could not be read.
async fn check(scope: &Scope<'_>, entries: &[ModelEntry]) -> Body {
    let balance = scope
        .engine
        .balance(scope.site, scope.key, scope.lane)
        .await;
    if let Ok(reading) = &balance {
        let watch = scope.engine.watch();
        watch.note_reading(watch.mark(scope.site, scope.key), reading);
    }
    let results = checked_rows(entries, &balance);
    scope.report.say(RunEvent::Balance {
        balance: balance.clone(),
        spent: None,
    });
    Body::new(results, balance)
}

/// What is known of the run's prices; a failed read only costs the run its price hints.
async fn known(db: &Db, user: Option<UserId>, models: &[String]) -> Known {
    match prices::known_for(db, user, models.to_vec()).await {
        Ok(known) => known,
        Err(error) => {
            tracing::warn!(%error, "reading model prices failed");
            Known::default()
        }
    }
}

/// The rows of a free check: no call; invalid ids refused as always; every valid row answered
/// from the balance, or failed with its error when the balance could not be read.
fn checked_rows(
    entries: &[ModelEntry],
    balance: &Result<AccountBalance, BalanceError>,
) -> Vec<ModelResult> {
    entries
        .iter()
        .map(|entry| match entry {
            ModelEntry::Invalid { id, reason } => ModelResult::unprobed(
                id.clone(),
                Some(Failure::because(
                    ErrorCode::InvalidModel,
                    crate::modelscope::Reason::from(*reason),
                )),
                Duration::ZERO,
            ),
            ModelEntry::Valid(id) => ModelResult::unprobed(
                id.clone(),
                balance
                    .as_ref()
                    .err()
                    .map(|error| Failure::new(error.code(), error.detail().map(str::to_owned))),
                Duration::ZERO,
            ),
        })
        .collect()
}
