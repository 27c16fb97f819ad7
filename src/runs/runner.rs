//! The one handle a face starts a run through (the pages, the JSON API): plan what it was
//! given, take a lane for its upstream calls, then run it and wait, or watch it as it goes.
//! It holds the planner, the engine and the store; cheap to clone.

use tokio::sync::mpsc;

use super::engine::{Busy, Lane, QueryEngine};
use super::executor::{self, Execution, FinishedRun, RunEvent};
use super::planner::{PlanError, PlannedRun, Planner, RunAsk};
use super::tiers::TierBook;
use crate::db::Db;
use crate::ids::UserId;

#[derive(Clone)]
pub struct Runner {
    planner: Planner,
    engine: QueryEngine,
    db: Db,
}

impl Runner {
    pub fn new(planner: Planner, engine: QueryEngine, db: Db) -> Self {
        Self {
            planner,
            engine,
            db,
        }
    }

    /// The most models one run may name.
    pub fn max_models(&self) -> usize {
        self.planner.max_models()
    }

    /// Each site's price tiers, as the runs learned them.
    pub fn tiers(&self) -> &TierBook {
        self.engine.tiers()
    }

    pub async fn plan(&self, ask: RunAsk) -> Result<PlannedRun, PlanError> {
        self.planner.plan(ask).await
    }

    /// The lane of an interactive run: a signed-in user's or a token holder's is a member's;
    /// anyone else takes one of their address's anonymous places, or is `Busy`.
    pub fn admit(&self, user: Option<UserId>, address: &str) -> Result<Lane, Busy> {
        match user {
            Some(_) => Ok(Lane::Member),
            None => self.engine.admit_anonymous(address),
        }
    }

    /// Runs it on a task of its own and waits for the end.
    pub async fn run(&self, execution: Execution) -> FinishedRun {
        executor::run(&self.engine, &self.db, execution).await
    }

    /// Runs it on a task of its own; its events as they happen.
    pub fn watch(&self, execution: Execution) -> mpsc::UnboundedReceiver<RunEvent> {
        executor::spawn_streaming(&self.engine, &self.db, execution)
    }
}
