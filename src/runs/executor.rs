//! Carrying out a planned run. A probe run reads the free balance before the first probe,
//! probes every model, waits (at most a few seconds) for the points held by its calls to settle,
//! reads the balance again and reports the difference as what the run cost; a free check reads
//! the balance only. Every row is then answered from what is known: the headers, or the balance
//! and the model's price. When asked, everything is stored in one transaction.
//!
//! Every run goes through [`execute`] on a task of its own, so a client that disconnects
//! mid-run (which drops the request's future) loses nothing: the run finishes and is stored all
//! the same. The streaming form reports each step as it happens. The tasks are tracked by the
//! engine ([`QueryEngine::runs`]), so a graceful shutdown waits for them to be stored.
//!
//! Each run is logged in one line and counted once for `/metrics` (`observe`).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio::sync::mpsc;

use super::calls_left::ExpectedCost;
use super::engine::{Lane, PointsHints, QueryEngine};
use super::extras;
use super::history::{self, RunKind, Source, StoredRun};
use super::observe;
use super::planner::PlannedRun;
use super::prices;
use crate::db::Db;
use crate::ids::{RunId, UserId};
use crate::modelscope::BatchReport;
use crate::modelscope::{
    AccountBalance, BalanceError, ErrorCode, Failure, ModelEntry, ModelResult, Price,
};
use crate::telemetry::{self, DbOp};

/// The longest a run waits for its calls' frozen points to come back before the last read.
pub const SETTLE_WAIT: Duration = Duration::from_secs(3);
/// How often the balance is read again while waiting.
const SETTLE_POLL: Duration = Duration::from_millis(150);

/// A planned run and what to do around it.
pub struct Execution {
    pub plan: PlannedRun,
    pub kind: RunKind,
    pub source: Source,
    /// Whose prices apply (and who learns a measured one); `None` for an anonymous caller.
    pub user: Option<UserId>,
    /// Store the run in the user's history.
    pub keep: bool,
    pub lane: Lane,
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
    /// Read before the first probe (probe runs only).
    pub before: Option<Result<AccountBalance, BalanceError>>,
    /// Read after the probes settled, or the one reading of a free check.
    pub balance: Result<AccountBalance, BalanceError>,
    /// Points the run cost, when both readings were made and nothing came in between.
    pub points_spent: Option<f64>,
    /// A price this run measured: `(model, points)`.
    pub learned: Option<(String, f64)>,
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
        }
    }
}

/// Progress of a run, in the order it happens.
#[derive(Debug)]
pub enum RunEvent {
    /// The probes' expected cost, before any call.
    Expected(ExpectedCost),
    /// The balance before the first probe.
    Before(Result<AccountBalance, BalanceError>),
    /// One model's answer as it arrives, with the balance known at that moment.
    Row {
        index: usize,
        result: ModelResult,
        available: Option<f64>,
    },
    /// The balance after the probes settled (or a check's reading), and the run's cost.
    Balance {
        balance: Result<AccountBalance, BalanceError>,
        spent: Option<f64>,
    },
    /// Every row as finally answered (from the last balance).
    Final {
        results: Vec<ModelResult>,
        available: Option<f64>,
    },
    Stored {
        id: RunId,
    },
    StoreFailed,
}

type Events = mpsc::UnboundedSender<RunEvent>;

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
            learned: None,
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
    events: Option<Events>,
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
    } = execution;
    let say = |event: RunEvent| {
        if let Some(events) = &events {
            // A closed receiver only means nobody is watching any more.
            let _ = events.send(event);
        }
    };
    let origin = user.filter(|_| keep).map(|user| plan.origin(user, source));
    let known = known_prices(&db, user, &plan.entries).await;
    let PlannedRun {
        key, site, entries, ..
    } = plan;

    let (mut results, expected, before, balance, points_spent) = match kind {
        RunKind::Check => {
            let balance = engine.balance(site, &key, &lane).await;
            let results = checked_rows(&entries, &balance);
            say(RunEvent::Balance {
                balance: balance.clone(),
                spent: None,
            });
            (results, ExpectedCost::default(), None, balance, None)
        }
        RunKind::Probe => {
            let expected = ExpectedCost::of(
                valid_ids(&entries).map(|model| known.get(model).map(|p| p.points)),
            );
            say(RunEvent::Expected(expected));
            let before = engine.balance(site, &key, &lane).await;
            say(RunEvent::Before(before.clone()));
            let available = before.as_ref().ok().map(|b| b.available_balance);
            let hints = PointsHints {
                available,
                prices: known.iter().map(|(m, p)| (m.clone(), p.points)).collect(),
            };
            let mut slots: Vec<Option<ModelResult>> = vec![None; entries.len()];
            let mut rows = std::pin::pin!(engine.stream(site, key.clone(), entries, hints, &lane));
            while let Some((index, mut result)) = rows.next().await {
                answer_from_balance(&mut result, available.is_some());
                result.price = known.get(&result.model).copied();
                say(RunEvent::Row {
                    index,
                    result: result.clone(),
                    available,
                });
                slots[index] = Some(result);
            }
            let results: Vec<ModelResult> = slots.into_iter().flatten().collect();
            let balance = settled_balance(&engine, site, &key, &before, &lane).await;
            let spent = points_spent(&before, &balance);
            say(RunEvent::Balance {
                balance: balance.clone(),
                spent,
            });
            (results, expected, Some(before), balance, spent)
        }
    };
    for result in &mut results {
        result.price = known.get(&result.model).copied();
    }
    let learned = match (user, points_spent) {
        (Some(user), Some(spent)) => learn_price(&db, user, origin.as_ref(), &results, spent).await,
        _ => None,
    };
    if let Some((model, points)) = &learned {
        // The row shows what was just measured.
        for result in results.iter_mut().filter(|r| &r.model == model) {
            result.price = Some(Price {
                points: *points,
                source: crate::modelscope::PriceSource::Measured,
            });
        }
    }
    say(RunEvent::Final {
        results: results.clone(),
        available: balance.as_ref().ok().map(|b| b.available_balance),
    });
    let report = BatchReport {
        results,
        elapsed: clock.elapsed(),
    };
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
            };
            // The optional reads come before the store, so nothing slow follows a stored run.
            let pending = match (record.origin.api_key_id, &record.balance) {
                (Some(saved), Ok(read)) => {
                    let total = read.total_balance;
                    extras::fetch(&engine, &db, saved, site, &key, total, &lane)
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
                    say(RunEvent::Stored { id });
                    Stored::Saved(id)
                }
                Err(error) => {
                    tracing::error!(%error, "storing a run failed");
                    telemetry::record_db_error(DbOp::StoreRun);
                    say(RunEvent::StoreFailed);
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
        learned,
        stored,
    }
}

fn valid_ids(entries: &[ModelEntry]) -> impl Iterator<Item = &str> {
    entries.iter().filter_map(|entry| match entry {
        ModelEntry::Valid(id) => Some(id.as_str()),
        ModelEntry::Invalid { .. } => None,
    })
}

/// The prices of the run's models; a failed read only costs the run its price hints.
async fn known_prices(
    db: &Db,
    user: Option<UserId>,
    entries: &[ModelEntry],
) -> HashMap<String, Price> {
    let models: Vec<String> = valid_ids(entries).map(str::to_owned).collect();
    match prices::prices_for(db, user, models).await {
        Ok(known) => known,
        Err(error) => {
            tracing::warn!(%error, "reading model prices failed");
            HashMap::new()
        }
    }
}

/// A healthy answer without rate-limit headers rests on the balance; with no balance either,
/// nothing is known and the row says so.
fn answer_from_balance(result: &mut ModelResult, balance_known: bool) {
    let healthy = result.failure.is_none() && result.status.is_some();
    if healthy && result.quota.is_empty() && !balance_known {
        result.failure = Some(Failure::new(ErrorCode::NoQuotaData, None));
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

/// The balance once the points held for the run's calls are back where they were before it
/// (or after `SETTLE_WAIT`, whichever comes first).
async fn settled_balance(
    engine: &QueryEngine,
    site: crate::modelscope::Site,
    key: &crate::crypto::ApiSecret,
    before: &Result<AccountBalance, BalanceError>,
    lane: &Lane,
) -> Result<AccountBalance, BalanceError> {
    let waited = Instant::now();
    loop {
        let balance = engine.balance(site, key, lane).await;
        let held = match (before, &balance) {
            (Ok(before), Ok(now)) => now.frozen_amount > before.frozen_amount + 1e-9,
            _ => false,
        };
        if !held || waited.elapsed() + SETTLE_POLL > SETTLE_WAIT {
            return balance;
        }
        tokio::time::sleep(SETTLE_POLL).await;
    }
}

/// `before - after` of the available points; `None` when either reading failed or the balance
/// grew (a grant came in between, so the difference says nothing about the run).
fn points_spent(
    before: &Result<AccountBalance, BalanceError>,
    after: &Result<AccountBalance, BalanceError>,
) -> Option<f64> {
    let (Ok(before), Ok(after)) = (before, after) else {
        return None;
    };
    let spent = before.available_balance - after.available_balance;
    // Balances are decimals sent as floats: round to a thousandth of a point.
    let spent = (spent * 1000.0).round() / 1000.0;
    (spent >= 0.0).then_some(spent)
}

/// A run that probed exactly one model, which answered healthily, measured its price.
async fn learn_price(
    db: &Db,
    user: UserId,
    origin: Option<&history::RunOrigin>,
    results: &[ModelResult],
    spent: f64,
) -> Option<(String, f64)> {
    let [only] = results else {
        return None;
    };
    if !only.is_ok() || only.status.is_none() {
        return None;
    }
    let key = origin.and_then(|o| o.api_key_id);
    match prices::record_measurement(db, user, key, only.model.clone(), spent).await {
        Ok(Some(points)) => Some((only.model.clone(), points)),
        Ok(None) => None,
        Err(error) => {
            // Optional: the run itself is fine without it.
            tracing::warn!(%error, "recording a measured price failed");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn balance(available: f64, frozen: f64) -> Result<AccountBalance, BalanceError> {
        Ok(AccountBalance {
            total_balance: available + frozen,
            available_balance: available,
            frozen_amount: frozen,
        })
    }

    #[test]
    fn the_cost_is_the_drop_in_available_points() {
        assert_eq!(
            points_spent(&balance(250.0, 0.0), &balance(242.5, 0.0)),
            Some(7.5)
        );
        assert_eq!(
            points_spent(&balance(1.1, 0.0), &balance(0.6, 0.0)),
            Some(0.5)
        );
        assert_eq!(
            points_spent(&balance(10.0, 0.0), &balance(260.0, 0.0)),
            None
        );
        assert_eq!(
            points_spent(&balance(10.0, 0.0), &Err(BalanceError::Timeout)),
            None
        );
    }
}
