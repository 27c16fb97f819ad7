//! The batch engine: probe a run's models concurrently under per-query and server-wide limits
//! and one deadline, and report every row in order. Anonymous work and scheduled work each have
//! their own bounded share of the server-wide slots (anonymous work also a per-address cap), so
//! signed-in runs always have room.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::{Stream, StreamExt};
use tokio_util::task::TaskTracker;

use super::measure::KeyWatch;
use super::slots::{LaneKind, Slots, UpstreamCalls};
use super::tiers::TierBook;
use crate::clock::SharedClock;
use crate::crypto::secret::ApiSecret;
use crate::modelscope::extras::Optional;
use crate::modelscope::{
    AccountBalance, BalanceError, ErrorCode, Failure, ModelEntry, ModelResult, PointsHint, Reason,
    Site, Upstream,
};

#[derive(Debug, Clone, Copy)]
pub struct QueryLimits {
    /// Upstream calls in flight for one query.
    pub per_query: usize,
    pub max_models: usize,
    pub deadline: Duration,
}

/// The server-wide shares of upstream calls.
#[derive(Debug, Clone, Copy)]
pub struct SharedLimits {
    /// Upstream calls in flight for the whole server.
    pub global: usize,
    /// Of those, the most anonymous work may hold at once.
    pub anonymous: usize,
    /// Of those, the most scheduled runs may hold at once (below `global`: see `AppConfig`).
    pub scheduled: usize,
    /// Anonymous runs going at once from one client address.
    pub anonymous_per_address: usize,
}

/// What the probes of one run may know about the points: the available balance read before
/// the run, and the known prices by model.
#[derive(Debug, Clone, Default)]
pub struct PointsHints {
    pub available: Option<f64>,
    pub prices: HashMap<String, f64>,
}

impl PointsHints {
    fn for_model(&self, model: &str) -> PointsHint {
        PointsHint {
            available: self.available,
            price: self.prices.get(model).copied(),
        }
    }
}

/// How many of a stream's calls have got their upstream slots and gone out; a run waits on it
/// to read the balance while every call is in flight (`runs::probe`).
#[derive(Default)]
pub struct CallsSent {
    count: std::sync::atomic::AtomicUsize,
    changed: tokio::sync::Notify,
}

impl CallsSent {
    fn one_more(&self) {
        self.count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.changed.notify_waiters();
    }

    /// Resolves once `n` calls have gone out.
    pub async fn reached(&self, n: usize) {
        loop {
            let changed = self.changed.notified();
            if self.count.load(std::sync::atomic::Ordering::SeqCst) >= n {
                return;
            }
            changed.await;
        }
    }
}

/// Whose run it is, for the upstream slots it may use.
pub enum Lane {
    /// A signed-in user or a token holder: the whole server-wide limit.
    Member,
    /// The scheduler: its own share of the server-wide limit, so however many models its
    /// probes ask for, interactive queries keep room.
    Scheduled,
    /// Anyone else; holds one of its address's anonymous run places until the run ends.
    Anonymous(AnonymousTicket),
}

impl Lane {
    fn kind(&self) -> LaneKind {
        match self {
            Self::Member => LaneKind::Member,
            Self::Scheduled => LaneKind::Scheduled,
            Self::Anonymous(_) => LaneKind::Anonymous,
        }
    }
}

/// One anonymous run from one address; dropping it frees the place.
pub struct AnonymousTicket {
    address: String,
    active: Arc<Mutex<HashMap<String, usize>>>,
}

impl Drop for AnonymousTicket {
    fn drop(&mut self) {
        if let Ok(mut active) = self.active.lock()
            && let Some(count) = active.get_mut(&self.address)
        {
            *count = count.saturating_sub(1);
            if *count == 0 {
                active.remove(&self.address);
            }
        }
    }
}

/// The address already has as many anonymous runs going as it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many anonymous queries at once from this address")]
pub struct Busy;

/// Shared by every request: the upstream client and the server-wide call limits.
#[derive(Clone)]
pub struct QueryEngine {
    upstream: Upstream,
    slots: Slots,
    anonymous_per_address: usize,
    active_anonymous: Arc<Mutex<HashMap<String, usize>>>,
    limits: QueryLimits,
    /// Every run in flight (the executor spawns them here), so a graceful shutdown can wait
    /// for them to be stored (`ops::shutdown`).
    runs: TaskTracker,
    /// The time runs are stamped with (tests move a manual clock).
    clock: SharedClock,
    /// Each key's measuring windows (`runs::measure`).
    watch: KeyWatch,
    /// Each site's price tiers (`runs::tiers`).
    tiers: TierBook,
}

impl QueryEngine {
    pub fn new(
        upstream: Upstream,
        shared: SharedLimits,
        limits: QueryLimits,
        clock: SharedClock,
    ) -> Self {
        Self {
            clock,
            upstream,
            slots: Slots::new(shared.global, shared.anonymous, shared.scheduled),
            anonymous_per_address: shared.anonymous_per_address,
            active_anonymous: Arc::default(),
            limits,
            runs: TaskTracker::new(),
            watch: KeyWatch::default(),
            tiers: TierBook::default(),
        }
    }

    pub fn watch(&self) -> &KeyWatch {
        &self.watch
    }

    pub fn tiers(&self) -> &TierBook {
        &self.tiers
    }

    pub fn limits(&self) -> QueryLimits {
        self.limits
    }

    pub fn upstream(&self) -> &Upstream {
        &self.upstream
    }

    /// The app's clock: runs are stamped with it.
    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    /// The runs in flight.
    pub fn runs(&self) -> &TaskTracker {
        &self.runs
    }

    /// The upstream calls in flight and waiting for a slot, by lane.
    pub fn upstream_calls(&self) -> UpstreamCalls {
        self.slots.calls()
    }

    /// A place for one more anonymous run from `address`, or `Busy`.
    pub fn admit_anonymous(&self, address: &str) -> Result<Lane, Busy> {
        let mut active = self.active_anonymous.lock().map_err(|_| Busy)?;
        let count = active.entry(address.to_owned()).or_insert(0);
        if *count >= self.anonymous_per_address {
            return Err(Busy);
        }
        *count += 1;
        Ok(Lane::Anonymous(AnonymousTicket {
            address: address.to_owned(),
            active: self.active_anonymous.clone(),
        }))
    }

    /// Rows as each model finishes, tagged with its input position. Exactly one probe per
    /// valid entry; invalid entries come first, at once, without a call. Every row arrives by
    /// the deadline: a call still waiting or running then becomes a `timeout` row.
    pub fn stream(
        &self,
        site: Site,
        token: ApiSecret,
        entries: Vec<ModelEntry>,
        hints: PointsHints,
        lane: &Lane,
        sent: Arc<CallsSent>,
    ) -> impl Stream<Item = (usize, ModelResult)> + Send + 'static {
        let deadline = tokio::time::Instant::now() + self.limits.deadline;
        let started = Instant::now();
        let mut refused = Vec::new();
        let mut valid = Vec::new();
        for (index, entry) in entries.into_iter().enumerate() {
            match entry {
                ModelEntry::Valid(id) => valid.push((index, id)),
                ModelEntry::Invalid { id, reason } => {
                    let failure = Failure::because(ErrorCode::InvalidModel, Reason::from(reason));
                    refused.push((
                        index,
                        ModelResult::unprobed(id, Some(failure), Duration::ZERO),
                    ));
                }
            }
        }
        let refused = futures::stream::iter(refused);
        let upstream = self.upstream.clone();
        let slots = self.slots.clone();
        let lane = lane.kind();
        let token = Arc::new(token);
        let hints = Arc::new(hints);
        let sent = sent.clone();
        let probes = futures::stream::iter(valid)
            .map(move |(index, model): (usize, String)| {
                let (upstream, slots) = (upstream.clone(), slots.clone());
                let (token, hints, sent) = (token.clone(), hints.clone(), sent.clone());
                async move {
                    let call = async {
                        let _slots = slots.take(lane).await;
                        sent.one_more();
                        upstream
                            .probe(site, &token, &model, hints.for_model(&model))
                            .await
                    };
                    let row = match tokio::time::timeout_at(deadline, call).await {
                        Ok(report) => ModelResult::from_probe(model, report),
                        Err(_) => ModelResult::timed_out(model, started.elapsed()),
                    };
                    (index, row)
                }
            })
            .buffer_unordered(self.limits.per_query);
        refused.chain(probes)
    }

    /// The points balance (free), bounded by the same deadline as the probes. It is an upstream
    /// call like a probe, so it holds a slot of the lane's share and a server-wide one: free
    /// checks from many addresses cannot open more calls than the limits allow.
    pub async fn balance(
        &self,
        site: Site,
        token: &ApiSecret,
        lane: &Lane,
    ) -> Result<AccountBalance, BalanceError> {
        let call = async {
            let _slots = self.slots.take(lane.kind()).await;
            self.upstream.balance(site, token).await
        };
        tokio::time::timeout(self.limits.deadline, call)
            .await
            .unwrap_or(Err(BalanceError::Timeout))
    }

    /// A call of one of ModelScope's optional endpoints (free: see `runs::extras`), holding a
    /// slot like a balance read and bounded by the same deadline.
    pub async fn optional<T>(
        &self,
        lane: &Lane,
        call: impl std::future::Future<Output = Optional<T>>,
    ) -> Optional<T> {
        let held = async {
            let _slots = self.slots.take(lane.kind()).await;
            call.await
        };
        tokio::time::timeout(self.limits.deadline, held)
            .await
            .unwrap_or(Optional::Failed)
    }
}
