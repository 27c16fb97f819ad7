//! The app under test: a temporary data directory and a ModelScope double that outlive any one
//! start of the app. Each [`TestApp::start`] ignites another instance on the same data (a
//! tracked Rocket client, so a browser with a cookie jar of its own); dropping a client stops
//! that instance, so a test can stop the app, change its files and start it again.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use modelscope_balance::clock::{Clock, ManualClock, SystemClock};
use rocket::Shutdown;
use rocket::figment::Figment;
use rocket::local::asynchronous::Client;
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
}

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
        }
    }

    /// Moves the scheduler's clock on by `by` and lets the app's tasks see it.
    pub async fn advance(&self, by: Duration) {
        self.clock.advance(by);
        tokio::time::sleep(Duration::from_millis(20)).await;
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
        Client::tracked(modelscope_balance::rocket_with_clock(
            tweak(self.config()),
            Arc::new(self.clock.clone()),
        ))
        .await
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

    /// How many requests the double has received so far.
    pub async fn upstream_calls(&self) -> usize {
        self.upstream
            .received_requests()
            .await
            .map_or(0, |requests| requests.len())
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
