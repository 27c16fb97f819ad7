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
//! - **Time is injected** ([`crate::clock::Clock`]): tests move a manual clock instead of
//!   sleeping.

mod alert;
pub mod cost;
mod deliver;
mod run;

use std::future::Future;
use std::sync::Arc;

use tokio::sync::{Notify, Semaphore};

use crate::clock::SharedClock;
use crate::db::monitors as rows;
use crate::db::{Db, DbError};
use crate::ids::{ChannelId, MonitorId, UserId};
use crate::monitors::run_now::{self, RunNow, RunNowLimits};
use crate::monitors::{self, CheckKind, MonitorAsk, MonitorError, MonitorLimits};
use crate::notify::deliveries::LogRules;
use crate::notify::throttle::TestLimits;
use crate::notify::{ChannelError, Channels, Notifier};
use crate::runs::engine::QueryEngine;
use crate::runs::planner::Planner;

/// How long a run holds its monitor without renewing (it renews every third of this).
pub const LEASE_SECS: i64 = 120;
/// The longest the loop sleeps without looking again.
const IDLE_SECS: i64 = 60;
/// Messages sent at once (of one user's at most `notify::deliveries::SENDS_PER_USER`, and one
/// per channel).
const SENDS_AT_ONCE: usize = 8;
/// Daily summaries handled per tick.
const SUMMARIES_PER_TICK: usize = 32;

#[derive(Debug, Clone)]
pub struct SchedulerConfig {
    /// Scheduled runs at once.
    pub concurrency: usize,
    /// Of those, one user's at most (on every server together).
    pub runs_per_user: i64,
    /// What one user may have, and how often they may ask for a run now.
    pub limits: MonitorLimits,
    pub run_now: RunNowLimits,
    /// The delivery log's hourly cap per channel and its bound per user.
    pub log: LogRules,
    /// How many test messages one user may send.
    pub tests: TestLimits,
    pub public_url: Option<String>,
}

/// The handle the pages use (run now, create, test a channel) and the loop runs on.
#[derive(Clone)]
pub struct Scheduler {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    engine: QueryEngine,
    planner: Planner,
    channels: Channels,
    notifier: Notifier,
    clock: SharedClock,
    wake: Notify,
    runs: Arc<Semaphore>,
    probes: Semaphore,
    sends: Arc<Semaphore>,
    /// Deliveries this server is trying right now: never claimed again meanwhile, even when
    /// the clock jumps past their lease.
    sending: Arc<deliver::Sending>,
    config: SchedulerConfig,
}

impl Scheduler {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        db: Db,
        engine: QueryEngine,
        planner: Planner,
        channels: Channels,
        notifier: Notifier,
        clock: SharedClock,
        config: SchedulerConfig,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                runs: Arc::new(Semaphore::new(config.concurrency.max(1))),
                probes: Semaphore::new(1),
                sends: Arc::new(Semaphore::new(SENDS_AT_ONCE)),
                sending: Arc::default(),
                db,
                engine,
                planner,
                channels,
                notifier,
                clock,
                wake: Notify::new(),
                config,
            }),
        }
    }

    /// The scheduler's time, unix seconds.
    pub fn now(&self) -> i64 {
        self.inner.clock.now()
    }

    pub fn channels(&self) -> &Channels {
        &self.inner.channels
    }

    /// Looks again at once (something changed).
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }

    /// Starts the loop; it ends when `shutdown` resolves.
    pub fn spawn(&self, shutdown: impl Future<Output = ()> + Send + 'static) {
        let me = self.clone();
        tokio::spawn(async move {
            tokio::select! {
                () = shutdown => {}
                () = me.run_loop() => {}
            }
        });
    }

    async fn run_loop(&self) {
        let mut last_cleanup: Option<i64> = None;
        loop {
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
                if let Err(error) = run_now::forget_old(&self.inner.db, now).await {
                    tracing::warn!(%error, "forgetting old run-now requests failed");
                }
            }
            let next = next.clamp(now, now + IDLE_SECS);
            let inner = &self.inner;
            tokio::select! {
                () = inner.clock.sleep_until(next.saturating_mul(1000)) => {}
                () = inner.wake.notified() => {}
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
        let per_user = self.inner.config.runs_per_user;
        let claimed = self
            .inner
            .db
            .run(move |conn| rows::claim_due(conn, now, now + LEASE_SECS, limit, per_user))
            .await?;
        let all_taken = claimed.len() == limit;
        for (claim, permit) in claimed.into_iter().zip(permits) {
            let me = self.clone();
            tokio::spawn(async move {
                me.run_claimed(claim).await;
                drop(permit);
                me.wake();
            });
        }
        if all_taken {
            return Ok(Some(now));
        }
        self.inner
            .db
            .run(move |conn| rows::next_wanted(conn, now, per_user))
            .await
    }

    // -- what the pages ask for --------------------------------------------------------------

    /// Checks, prices and stores a monitor, then looks at once.
    pub async fn create_monitor(
        &self,
        user: UserId,
        ask: &MonitorAsk,
    ) -> Result<MonitorId, MonitorError> {
        let limits = self.inner.config.limits;
        let new = monitors::check_monitor(ask, &limits)?;
        if new.kind == CheckKind::Probe
            && let (Some(preset), Some(cap)) = (new.preset, new.daily_cost_cap)
        {
            let models = monitors::preset_models(&self.inner.db, user, preset).await?;
            let per_run = cost::per_run(&self.inner.db, user, &models).await;
            let daily = cost::per_day(per_run, new.keys.len(), &new.schedule);
            if daily.max > cap + 1e-9 {
                return Err(MonitorError::OverCap {
                    min: daily.min,
                    max: daily.max,
                    cap,
                });
            }
        }
        let jitter = monitors::schedule::random_jitter(&new.schedule);
        let id = monitors::create(&self.inner.db, user, &new, &limits, jitter, self.now()).await?;
        self.wake();
        Ok(id)
    }

    /// "Run now": in its turn, without moving the schedule; limited per monitor and per user,
    /// and nothing when the monitor is queued or running already.
    pub async fn run_now(&self, user: UserId, id: MonitorId) -> Result<RunNow, MonitorError> {
        let limits = self.inner.config.run_now;
        let asked = run_now::request_run(&self.inner.db, user, id, limits, self.now()).await?;
        if asked == RunNow::Asked {
            self.wake();
        }
        Ok(asked)
    }

    pub async fn resume(&self, user: UserId, id: MonitorId) -> Result<(), MonitorError> {
        monitors::resume(&self.inner.db, user, id, self.now()).await?;
        self.wake();
        Ok(())
    }

    pub async fn add_rule(
        &self,
        user: UserId,
        monitor: MonitorId,
        ask: monitors::rules::RuleAsk,
    ) -> Result<crate::ids::RuleId, MonitorError> {
        let limits = self.inner.config.limits;
        let id =
            monitors::add_rule(&self.inner.db, user, monitor, ask, &limits, self.now()).await?;
        self.wake();
        Ok(id)
    }

    /// Sends a test message to one of the user's channels now (one try), logged like any
    /// other. Answers whether it arrived (with the logged error when not).
    pub async fn send_test(
        &self,
        user: UserId,
        channel: ChannelId,
    ) -> Result<Result<(), String>, ChannelError> {
        deliver::send_test(self, user, channel).await
    }
}
