//! The app under test: a temporary data directory and a ModelScope double that outlive any one
//! start of the app. Each [`TestApp::start`] ignites another instance on the same data (a
//! tracked Rocket client, so a browser with a cookie jar of its own); dropping a client stops
//! that instance, so a test can stop the app, change its files and start it again.
//!
//! Nothing here sleeps to let the app catch up: the site keeps a watch on every instance's
//! scheduler and query engine, so a test moves the clock and waits for the passes that follow
//! ([`TestApp::settle`]), and reads the upstream calls held and queued
//! ([`TestApp::engine_calls`]).

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use modelscope_balance::clock::{Clock, ManualClock, SystemClock};
use modelscope_balance::runs::engine::QueryEngine;
use modelscope_balance::runs::slots::{LaneCalls, UpstreamCalls};
use modelscope_balance::scheduler::{Passes, Scheduler};
use rocket::figment::Figment;
use rocket::local::asynchronous::Client;
use rocket::{Rocket, Shutdown};
use rusqlite::Connection;
use tempfile::TempDir;
use wiremock::MockServer;

use super::users::User;
use super::{db, upstream};

/// One site: a data directory, a ModelScope double and the configuration every start uses.
pub struct TestApp {
    dir: TempDir,
    pub upstream: MockServer,
    config: Figment,
    /// The scheduler's clock, shared by every start: tests move it instead of sleeping.
    pub clock: ManualClock,
    /// Every instance started on this site, stopped ones too (their last jobs may still run).
    instances: Mutex<Vec<Instance>>,
}

/// What the site watches of one instance.
#[derive(Clone)]
struct Instance {
    passes: Passes,
    engine: QueryEngine,
}

/// How long [`TestApp::settle`] waits for a scheduler with work going (runs against the double
/// take milliseconds; this bound only turns a hang into a failure).
const SETTLE_WITHIN: Duration = Duration::from_secs(60);

impl TestApp {
    /// A fresh site with the default test configuration (see [`TestApp::config`]).
    pub async fn new() -> Self {
        Self::configured(|config| config).await
    }

    /// A fresh site whose every start uses `tweak`ed configuration, e.g.
    /// `|c| c.merge(("history_retention_days", 0))`.
    pub async fn configured(tweak: impl FnOnce(Figment) -> Figment) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let upstream = MockServer::start().await;
        let config = tweak(
            rocket::Config::figment()
                .merge(("data_dir", dir.path()))
                .merge(("log_level", "off"))
                // As behind a reverse proxy that sets X-Real-IP, so tests can vary the client
                // address (Rocket.toml's own setting is `false`).
                .merge(("ip_header", "X-Real-IP"))
                .merge(("modelscope_api_base", format!("{}/v1", upstream.uri())))
                .merge(("modelscope_hub_base", upstream.uri())),
        );
        Self {
            dir,
            upstream,
            config,
            clock: ManualClock::starting_at(SystemClock.now_ms()),
            instances: Mutex::default(),
        }
    }

    /// Moves the scheduler's clock on by `by`, then waits until every scheduler has looked at
    /// the new time and finished what it started ([`TestApp::settle`]).
    pub async fn advance(&self, by: Duration) {
        self.clock.advance(by);
        self.settle().await;
    }

    /// Waits until every instance's scheduler has finished a pass that began after this call,
    /// with no run or send left going, and again while a round started any (one server's run
    /// can leave work for another). After it, whatever the schedulers were going to do at this
    /// clock time is done, so "nothing happened" is a fact, not a guess.
    pub async fn settle(&self) {
        for _ in 0..20 {
            let passes: Vec<Passes> = self.instances().into_iter().map(|i| i.passes).collect();
            let started =
                |passes: &[Passes]| -> u64 { passes.iter().map(|p| p.now().started).sum() };
            let before = started(&passes);
            let rounds = futures::future::join_all(passes.iter().map(Passes::settle));
            if tokio::time::timeout(SETTLE_WITHIN, rounds).await.is_err() {
                let states: Vec<_> = passes.iter().map(Passes::now).collect();
                panic!("the schedulers did not settle within {SETTLE_WITHIN:?}: {states:?}");
            }
            if started(&passes) == before {
                return;
            }
        }
        panic!("the schedulers kept starting work for 20 rounds");
    }

    /// Waits until every instance's scheduler has finished a pass that began after this call,
    /// whatever runs or sends are still going: for a test whose work hangs on purpose (a dead
    /// receiver, a slow upstream), after which what a pass would have claimed is claimed.
    pub async fn look(&self) {
        let passes: Vec<Passes> = self.instances().into_iter().map(|i| i.passes).collect();
        let looks = futures::future::join_all(passes.iter().map(Passes::look));
        if tokio::time::timeout(SETTLE_WITHIN, looks).await.is_err() {
            let states: Vec<_> = passes.iter().map(Passes::now).collect();
            panic!("the schedulers made no pass within {SETTLE_WITHIN:?}: {states:?}");
        }
    }

    /// Stops an instance (as a server stopping: its scheduler is told to stop) and waits until
    /// its scheduler's loop has ended, so a clock moved after this is one it never reads.
    pub async fn stop(&self, client: Client) {
        let passes = client
            .rocket()
            .state::<Scheduler>()
            .expect("a scheduler")
            .passes();
        drop(client.terminate().await);
        if tokio::time::timeout(SETTLE_WITHIN, passes.stopped())
            .await
            .is_err()
        {
            panic!(
                "the scheduler did not stop within {SETTLE_WITHIN:?}: {:?}",
                passes.now()
            );
        }
    }

    /// The upstream calls every instance's engine holds and queues now, by lane.
    pub fn engine_calls(&self) -> UpstreamCalls {
        self.instances()
            .iter()
            .map(|i| i.engine.upstream_calls())
            .fold(UpstreamCalls::default(), add_calls)
    }

    fn instances(&self) -> Vec<Instance> {
        self.instances.lock().expect("the instance list").clone()
    }

    /// Watches a started instance's scheduler and engine.
    fn watch(&self, rocket: &Rocket<impl rocket::Phase>) {
        let scheduler = rocket.state::<Scheduler>().expect("a scheduler");
        let engine = rocket.state::<QueryEngine>().expect("a query engine");
        self.instances
            .lock()
            .expect("the instance list")
            .push(Instance {
                passes: scheduler.passes(),
                engine: engine.clone(),
            });
    }

    /// The configuration the app starts with: the repository's `Rocket.toml` (so the real body
    /// limits apply), this data dir, the upstream double, no logging, `X-Real-IP` trusted, and
    /// whatever [`TestApp::configured`] added.
    pub fn config(&self) -> Figment {
        self.config.clone()
    }

    /// Starts an instance of the app (a new browser); panics if it does not ignite.
    pub async fn start(&self) -> Client {
        self.start_with(|config| config).await
    }

    /// Starts an instance with extra configuration for this start only.
    pub async fn start_with(&self, tweak: impl FnOnce(Figment) -> Figment) -> Client {
        self.try_start_with(tweak).await.expect("the app ignites")
    }

    /// Starts an instance, or says why the app refused to.
    pub async fn try_start_with(
        &self,
        tweak: impl FnOnce(Figment) -> Figment,
    ) -> Result<Client, rocket::Error> {
        let client = Client::tracked(modelscope_balance::rocket_with_clock(
            tweak(self.config()),
            Arc::new(self.clock.clone()),
        ))
        .await?;
        self.watch(client.rocket());
        Ok(client)
    }

    /// Runs the real binary on this data dir (loopback, any free port, plus `vars`) and waits
    /// for it to stop on its own, as it must when it refuses to start; returns its exit status
    /// and stderr. Panics if it is still running after 60 s.
    pub fn run_binary_until_exit(&self, vars: &[(&str, &str)]) -> (ExitStatus, String) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_modelscope-balance"))
            .current_dir(self.data_dir())
            .env("ROCKET_DATA_DIR", self.data_dir())
            .env("ROCKET_PORT", "0")
            .env("ROCKET_ADDRESS", "127.0.0.1")
            .envs(vars.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn the binary");
        let started = Instant::now();
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                let mut stderr = String::new();
                use std::io::Read;
                child
                    .stderr
                    .take()
                    .expect("piped stderr")
                    .read_to_string(&mut stderr)
                    .expect("read stderr");
                return (status, stderr);
            }
            if started.elapsed() > Duration::from_secs(60) {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the binary started (it was expected to refuse)");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Runs a command of the real binary (`admin grant bob`) on this data dir, as a person at the
    /// server's shell would, while the app may be running; answers exit status, stdout, stderr.
    pub fn cli(&self, args: &[&str]) -> (ExitStatus, String, String) {
        self.cli_with(args, &[])
    }

    /// [`TestApp::cli`] with more environment variables (`ROCKET_PUBLIC_URL`).
    pub fn cli_with(&self, args: &[&str], vars: &[(&str, &str)]) -> (ExitStatus, String, String) {
        let output = Command::new(env!("CARGO_BIN_EXE_modelscope-balance"))
            .args(args)
            .current_dir(self.data_dir())
            .env("ROCKET_DATA_DIR", self.data_dir())
            .env("ROCKET_LOG_LEVEL", "off")
            .envs(vars.iter().copied())
            .output()
            .expect("run the binary");
        (
            output.status,
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }

    /// Launches the app on a real loopback port (for a real browser) and waits until it answers
    /// `GET /health`.
    pub async fn serve(&self) -> Served {
        let port = free_port();
        let config = self
            .config()
            .merge(("port", port))
            .merge(("address", "127.0.0.1"))
            .merge(("secure_cookies", false));
        let rocket = modelscope_balance::rocket_with_clock(config, Arc::new(self.clock.clone()))
            .ignite()
            .await
            .expect("the app ignites");
        self.watch(&rocket);
        let shutdown = rocket.shutdown();
        let task = tokio::spawn(rocket.launch());
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .expect("an HTTP client");
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(response) = http.get(format!("{base}/health")).send().await
                && response.status().is_success()
            {
                break;
            }
            if task.is_finished() {
                panic!(
                    "the app stopped while starting on port {port}: {:?}",
                    task.await
                );
            }
            assert!(
                Instant::now() < deadline,
                "the app did not answer GET {base}/health within 15 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Served { base, shutdown }
    }

    /// A new browser with a new account, signed in.
    pub async fn user(&self, name: &str) -> User {
        User::sign_up(self.start().await, name, self.database_path()).await
    }

    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// Where the app keeps its SQLite file by default.
    pub fn database_path(&self) -> PathBuf {
        self.data_dir().join("modelscope-balance.db")
    }

    pub fn key_file(&self) -> PathBuf {
        self.data_dir().join("master.key")
    }

    /// A direct connection to the app's database (the app may be running: WAL allows it).
    pub fn db(&self) -> Connection {
        db::open(&self.database_path())
    }

    /// The bytes of the database and its `-wal`, `-shm` and `-journal` files: everything SQLite
    /// keeps.
    pub fn db_bytes(&self) -> Vec<u8> {
        let main = self.database_path();
        let mut bytes = std::fs::read(&main).expect("read the database file");
        for suffix in ["-wal", "-shm", "-journal"] {
            let mut name = main.clone().into_os_string();
            name.push(suffix);
            if let Ok(more) = std::fs::read(PathBuf::from(name)) {
                bytes.extend(more);
            }
        }
        bytes
    }

    /// Every regular file under the data dir, with its bytes.
    pub fn all_files(&self) -> Vec<(PathBuf, Vec<u8>)> {
        fn walk(dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
            for entry in std::fs::read_dir(dir).expect("read_dir").flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, out);
                } else if let Ok(bytes) = std::fs::read(&path) {
                    out.push((path, bytes));
                }
            }
        }
        let mut out = Vec::new();
        walk(self.data_dir(), &mut out);
        out
    }

    /// Checks every mounted expectation now, then forgets all mocks and forbids any further
    /// upstream call (checked when the site drops, or at the next [`TestApp::verify`]).
    pub async fn no_more_upstream_calls(&self) {
        self.upstream.verify().await;
        self.upstream.reset().await;
        upstream::forbid_any_call(&self.upstream).await;
    }

    pub async fn verify(&self) {
        self.upstream.verify().await;
    }

    /// How many requests the double has received so far, the free keyless catalogue (read
    /// for model suggestions) not counted.
    pub async fn upstream_calls(&self) -> usize {
        self.upstream
            .received_requests()
            .await
            .map_or(0, |requests| {
                requests
                    .iter()
                    .filter(|r| r.url.path() != upstream::CATALOGUE_PATH)
                    .count()
            })
    }
}

fn add_calls(sum: UpstreamCalls, more: UpstreamCalls) -> UpstreamCalls {
    let lane = |a: LaneCalls, b: LaneCalls| LaneCalls {
        in_flight: a.in_flight + b.in_flight,
        waiting: a.waiting + b.waiting,
        waited: a.waited + b.waited,
        peak: a.peak.max(b.peak),
    };
    UpstreamCalls {
        member: lane(sum.member, more.member),
        anonymous: lane(sum.anonymous, more.anonymous),
        scheduled: lane(sum.scheduled, more.scheduled),
    }
}

/// The app launched on a real port; asks Rocket to shut down when dropped.
pub struct Served {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    shutdown: Shutdown,
}

impl Drop for Served {
    fn drop(&mut self) {
        self.shutdown.clone().notify();
    }
}

/// A port nothing listens on right now (bound, read and released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
        .port()
}
