//! What the parts of a run share: the run's context (`Scope`), what a probe run or a census
//! hands back to be finished (`Body`), and the events a watched run reports.

use tokio::sync::mpsc;

use super::calls_left::ExpectedCost;
use super::engine::{Lane, QueryEngine};
use super::judge::Judgement;
use super::learn::Lesson;
use super::prices::Known;
use crate::crypto::ApiSecret;
use crate::db::Db;
use crate::ids::{KeyId, RunId, UserId};
use crate::modelscope::{AccountBalance, BalanceError, ModelEntry, ModelResult, Site, Tiers};

/// What a census learned.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CensusOutcome {
    /// The prices measured, in the order the models were given.
    pub measured: Vec<(String, f64)>,
    /// Models whose price is still unknown (over budget, failed, or spent on by another client).
    pub unmeasured: Vec<String>,
    /// The budget it kept within.
    pub budget: f64,
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

/// Where a run's events go, when someone watches.
pub(super) struct Reporter(pub(super) Option<mpsc::UnboundedSender<RunEvent>>);

impl Reporter {
    pub(super) fn say(&self, event: RunEvent) {
        if let Some(events) = &self.0 {
            // A closed receiver only means nobody is watching any more.
            let _ = events.send(event);
        }
    }
}

/// What the parts of a run share.
pub(super) struct Scope<'a> {
    pub engine: &'a QueryEngine,
    pub db: &'a Db,
    pub site: Site,
    pub key: &'a ApiSecret,
    pub lane: &'a Lane,
    pub user: Option<UserId>,
    pub key_id: Option<KeyId>,
    pub tiers: Tiers,
    pub known: Known,
    pub report: &'a Reporter,
}

/// What a probe run or a census gives back to be finished and stored.
pub(super) struct Body {
    pub results: Vec<ModelResult>,
    pub expected: ExpectedCost,
    pub before: Option<Result<AccountBalance, BalanceError>>,
    pub balance: Result<AccountBalance, BalanceError>,
    pub judgement: Option<Judgement>,
    pub points_short: bool,
    pub lesson: Lesson,
    pub census: Option<CensusOutcome>,
}

impl Body {
    /// The rows and the balance read after them; nothing else known yet.
    pub fn new(results: Vec<ModelResult>, balance: Result<AccountBalance, BalanceError>) -> Self {
        Self {
            results,
            expected: ExpectedCost::default(),
            before: None,
            balance,
            judgement: None,
            points_short: false,
            lesson: Lesson::default(),
            census: None,
        }
    }
}

pub(super) fn valid_ids(entries: &[ModelEntry]) -> impl Iterator<Item = &str> {
    entries.iter().filter_map(|entry| match entry {
        ModelEntry::Valid(id) => Some(id.as_str()),
        ModelEntry::Invalid { .. } => None,
    })
}
