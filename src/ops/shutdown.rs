//! Graceful shutdown. On SIGTERM (or Ctrl-C) Rocket stops serving new connections and gives
//! the requests in flight `shutdown.grace` seconds (built in: 50) before it cuts their I/O.
//! This fairing, run as the shutdown begins, waits for every run in flight to finish and be
//! stored (the executor's tasks, tracked by the engine) and for every request in flight to be
//! answered, for at most the query deadline plus the balance settling and a margin; a run still
//! going then is given up, and the log says so. The process then exits 0.
//!
//! Why wait here rather than leave it to the grace: once its accept loop ends, Rocket 0.5 waits
//! the *whole* grace period if any connection is still open at that moment, however soon it
//! would close. Waiting here until the work is done (and, for the real server, a moment more
//! for the connections to close, [`Linger`]) lets a shutdown take as long as its slowest run,
//! not 50 s.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rocket::fairing::{Fairing, Info, Kind};
use rocket::{Data, Orbit, Request, Rocket};

use crate::config::AppConfig;
use crate::runs::engine::QueryEngine;
use crate::runs::executor::SETTLE_WAIT;

/// Room for storing the run after its last call.
const MARGIN: Duration = Duration::from_secs(5);
/// How often the count of requests in flight is looked at while waiting.
const POLL: Duration = Duration::from_millis(20);

/// The longest the shutdown waits for the work in flight.
pub fn drain_limit(config: &AppConfig) -> Duration {
    config.query_deadline() + SETTLE_WAIT + MARGIN
}

/// Managed by the real server only (`cli`): after the work is done, wait this long for the
/// last answers to be written and their connections to close.
#[derive(Debug, Clone, Copy)]
pub struct Linger(pub Duration);

impl Linger {
    pub const SERVER: Linger = Linger(Duration::from_millis(300));
}

/// Counts the requests in flight and waits for them, and for the runs, at shutdown.
#[derive(Default)]
pub struct GracefulShutdown {
    requests: Arc<AtomicUsize>,
}

/// One request in flight: counted from its arrival until Rocket drops it (after its body was
/// sent, or when its client went away).
struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    fn enter(count: &Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        Self(count.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[rocket::async_trait]
impl Fairing for GracefulShutdown {
    fn info(&self) -> Info {
        Info {
            name: "graceful shutdown: wait for runs and requests in flight",
            kind: Kind::Request | Kind::Shutdown,
        }
    }

    async fn on_request(&self, request: &mut Request<'_>, _: &mut Data<'_>) {
        request.local_cache(|| InFlight::enter(&self.requests));
    }

    async fn on_shutdown(&self, rocket: &Rocket<Orbit>) {
        let (Some(engine), Some(config)) =
            (rocket.state::<QueryEngine>(), rocket.state::<AppConfig>())
        else {
            return;
        };
        let waited = drain(engine, &self.requests, drain_limit(config)).await;
        if waited && let Some(Linger(linger)) = rocket.state::<Linger>() {
            tokio::time::sleep(*linger).await;
        }
    }
}

/// Waits until no run and no request is in flight, or `limit` has passed; logs what it
/// waited for. Returns whether there was anything to wait for.
pub async fn drain(engine: &QueryEngine, requests: &AtomicUsize, limit: Duration) -> bool {
    let runs = engine.runs();
    runs.close();
    let (waiting_runs, waiting_requests) = (runs.len(), requests.load(Ordering::SeqCst));
    if waiting_runs == 0 && waiting_requests == 0 {
        return false;
    }
    tracing::info!(
        runs = waiting_runs,
        requests = waiting_requests,
        limit_secs = limit.as_secs(),
        "shutting down: waiting for the work in flight"
    );
    let started = Instant::now();
    let deadline = tokio::time::Instant::now() + limit;
    let finished = tokio::time::timeout_at(deadline, runs.wait()).await.is_ok();
    while requests.load(Ordering::SeqCst) > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(POLL).await;
    }
    let open = requests.load(Ordering::SeqCst);
    if finished && open == 0 {
        tracing::info!(
            runs = waiting_runs,
            waited_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            "shutting down: every run in flight was finished and stored"
        );
    } else {
        tracing::warn!(
            unfinished_runs = runs.len(),
            open_requests = open,
            "shutting down: work still going after the limit is given up"
        );
    }
    true
}
