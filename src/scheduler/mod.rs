//! The scheduler: one task in the server that runs monitors when they are due, sends daily
//! summaries, and works through the delivery log.
//!
//! - **State in SQLite.** Each monitor's next slot is stored; a restart resumes from there. A
//!   monitor that missed slots while the server was down runs once, then goes on at its next
//!   slot on the same grid.
//! - **Never two runs of one monitor.** A run claims its monitor with a lease in one UPDATE
//!   (so two servers on one database cannot both take it) and renews it while it goes.
//! - **Deleted things stop.** A run re-reads its monitor and opens each key through the
//!   planner: a deleted monitor, key or user simply is not there any more.
//! - **Interactive first.** At most `scheduler_concurrency` scheduled runs go at once,
//!   scheduled probes one at a time, and their upstream calls hold at most
//!   `scheduler_concurrency` of the global slots (`global_concurrency`, always more) however
//!   many models a preset has, so interactive queries always find room.
//! - **Fair shares.** Due monitors are claimed in turns by user (each user's first before
//!   anyone's second), at most `runs_per_user` of one user's running; deliveries likewise, one
//!   attempt per channel (`deliver.rs`). One user's many monitors or dead receivers delay only
//!   their own.
//! - **Time is injected** ([`crate::clock::Clock`]): tests move a manual clock instead of
//!   sleeping, then wait for a pass that began after the move ([`Passes::settle`]).
//! - **Woken, never called.** Pages change monitors through [`Monitors`], which notifies the
//!   signal both were given; the loop then looks again at once.

mod alert;
mod deliver;
mod progress;
mod run;

pub use progress::{Passes, Progress};

use std::future::Future;
use std::sync::Arc;

use tokio::sync::{Notify, Semaphore};

use crate::clock::SharedClock;
use crate::db::monitors as rows;
use crate::db::{Db, DbError};
use crate::monitors::{Monitors, run_now};
use crate::notify::Outbox;
use crate::runs::runner::Runner;

/// How long a run holds its monitor without renewing (it renews every third of this).
pub const LEASE_SECS: i64 = 120;
/// The longest the loop sleeps without looking again.
const IDLE_SECS: i64 = 60;
/// Messages sent at once (of one user's at most `notify::deliveries::SENDS_PER_USER`, and one
/// per channel).
const SENDS_AT_ONCE: usize = 8;
/// Daily summaries handled per tick.
const SUMMARIES_PER_TICK: usize = 32;

/// What the scheduler works with. `wake` is the signal the pages' handles ([`Monitors`]) give
/// when something changed: the loop looks again at once.
pub struct SchedulerParts {
    pub db: Db,
    /// Plans and runs each key's check or probe (stored with source `schedule`).
    pub runner: Runner,
    pub monitors: Monitors,
    pub outbox: Outbox,
    pub clock: SharedClock,
    pub wake: Arc<Notify>,
    /// Scheduled runs at once.
    pub concurrency: usize,
    /// Of those, one user's at most (on every server together): a user with many monitors
    /// never holds every place.
    pub runs_per_user: i64,
}

/// The loop that runs monitors, sends summaries and works through the delivery log.
#[derive(Clone)]
pub struct Scheduler {
    inner: Arc<Inner>,
}

struct Inner {
    parts: SchedulerParts,
    tracker: Arc<progress::Tracker>,
    runs: Arc<Semaphore>,
    probes: Semaphore,
    sends: Arc<Semaphore>,
}

impl Scheduler {
    pub fn new(parts: SchedulerParts) -> Self {
        Self {
            inner: Arc::new(Inner {
                runs: Arc::new(Semaphore::new(parts.concurrency.max(1))),
                probes: Semaphore::new(1),
                sends: Arc::new(Semaphore::new(SENDS_AT_ONCE)),
                tracker: Arc::new(progress::Tracker::new(parts.wake.clone())),
                parts,
            }),
        }
    }

    fn parts(&self) -> &SchedulerParts {
        &self.inner.parts
    }

    /// The scheduler's time, unix seconds.
    pub fn now(&self) -> i64 {
        self.parts().clock.now()
    }

    /// Looks again at once (something changed).
    fn wake(&self) {
        self.inner.tracker.wake();
    }

    /// Starts the loop; it ends when `shutdown` resolves.
    pub fn spawn(&self, shutdown: impl Future<Output = ()> + Send + 'static) {
        let me = self.clone();
        self.inner.tracker.set_running(true);
        tokio::spawn(async move {
            me.run_loop(shutdown).await;
            me.inner.tracker.set_running(false);
        });
    }

    /// Passes until `shutdown`, which is heeded between passes only: a pass cut short after
    /// claiming monitors would leave them leased, and not run, until the lease ran out.
    async fn run_loop(&self, shutdown: impl Future<Output = ()>) {
        let mut shutdown = std::pin::pin!(shutdown);
        let mut last_cleanup: Option<i64> = None;
        loop {
            let seen = self.inner.tracker.pass_begins();
            let now = self.now();
            let next = match self.tick(now).await {
                Ok(next) => next,
                Err(error) => {
                    tracing::error!(%error, "the scheduler could not read its state");
                    now + 5
                }
            };
            if last_cleanup.is_none_or(|at| now - at >= 3600) {
                last_cleanup = Some(now);
                deliver::clean_up(self, now).await;
                if let Err(error) = run_now::forget_old(&self.parts().db, now).await {
                    tracing::warn!(%error, "forgetting old run-now requests failed");
                }
            }
            self.inner.tracker.pass_ends(seen);
            let next = next.clamp(now, now + IDLE_SECS);
            let parts = self.parts();
            tokio::select! {
                biased;
                () = &mut shutdown => return,
                () = parts.clock.sleep_until(next.saturating_mul(1000)) => {}
                () = self.inner.tracker.woken() => {}
            }
        }
    }

    /// Starts whatever is due; answers when to look next.
    async fn tick(&self, now: i64) -> Result<i64, DbError> {
        let mut next = now + IDLE_SECS;
        if let Some(at) = self.start_due_runs(now).await? {
            next = next.min(at);
        }
        if let Some(at) = deliver::start_due(self, now).await? {
            next = next.min(at);
        }
        Ok(next)
    }

    /// Claims as many due monitors as there are free run places and starts them; answers when
    /// the next one is wanted (nothing while every place is taken: a finishing run wakes us).
    async fn start_due_runs(&self, now: i64) -> Result<Option<i64>, DbError> {
        let mut permits = Vec::new();
        while let Ok(permit) = self.inner.runs.clone().try_acquire_owned() {
            permits.push(permit);
        }
        if permits.is_empty() {
            return Ok(None);
        }
        let limit = permits.len();
        let per_user = self.parts().runs_per_user;
        let claimed = self
            .parts()
            .db
            .run(move |conn| rows::claim_due(conn, now, now + LEASE_SECS, limit, per_user))
            .await?;
        let all_taken = claimed.len() == limit;
        for (claim, permit) in claimed.into_iter().zip(permits) {
            let me = self.clone();
            // Its end wakes the loop: a place is free again.
            self.spawn_job(async move {
                me.run_claimed(claim).await;
                drop(permit);
            });
        }
        if all_taken {
            return Ok(Some(now));
        }
        self.parts()
            .db
            .run(move |conn| rows::next_wanted(conn, now, per_user))
            .await
    }
}
