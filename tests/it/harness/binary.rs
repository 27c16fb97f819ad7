//! The real binary serving on a loopback port, as an operator runs it: a working directory of
//! its own, only the `ROCKET_*`/`RUST_LOG` variables a test gives (every inherited one removed),
//! stdout and stderr in files, killed when dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The binary in `dir`, with every inherited `ROCKET_*`/`RUST_LOG` variable removed.
pub fn command(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_modelscope-balance"));
    for (name, _) in std::env::vars() {
        if name.starts_with("ROCKET_") || name == "RUST_LOG" {
            command.env_remove(name);
        }
    }
    command.current_dir(dir);
    command
}

pub struct Binary {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    out: PathBuf,
    err: PathBuf,
}

impl Binary {
    /// Runs the binary in `dir` with `vars` on `port` (see [`Binary::serve`]).
    pub async fn start(dir: &Path, port: u16, vars: &[(&str, &str)]) -> Self {
        let mut binary = command(dir);
        binary.envs(vars.iter().copied());
        Self::serve(binary, port, dir).await
    }

    /// Runs `command` (see [`command`]) on `port` of loopback, its output in
    /// `stdout-<port>.log` and `stderr-<port>.log` of `logs_dir`, and waits until `GET /health`
    /// answers; panics if it exits first or is not up within 60 s.
    pub async fn serve(mut command: Command, port: u16, logs_dir: &Path) -> Self {
        let out = logs_dir.join(format!("stdout-{port}.log"));
        let err = logs_dir.join(format!("stderr-{port}.log"));
        let child = command
            .env("ROCKET_PORT", port.to_string())
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).expect("stdout file"))
            .stderr(std::fs::File::create(&err).expect("stderr file"))
            .spawn()
            .expect("spawn the binary");
        let mut binary = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            out,
            err,
        };
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client");
        let started = Instant::now();
        loop {
            if let Ok(answer) = http.get(format!("{}/health", binary.base)).send().await
                && answer.status().is_success()
            {
                return binary;
            }
            if let Ok(Some(status)) = binary.child.try_wait() {
                panic!("the binary exited ({status}): {}", binary.logs());
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the binary did not start: {}",
                binary.logs()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// What it wrote to stderr (its log).
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.err).unwrap_or_default()
    }

    /// Everything it printed, stdout and stderr.
    pub fn logs(&self) -> String {
        let stdout = std::fs::read_to_string(&self.out).unwrap_or_default();
        format!("{stdout}{}", self.stderr())
    }

    /// Asks it to shut down gracefully (SIGTERM).
    pub fn sigterm(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed");
    }

    /// Waits for the process to end on its own; panics after `within`.
    pub async fn exit_status(&mut self, within: Duration) -> ExitStatus {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(
                started.elapsed() < within,
                "still running {within:?} after SIGTERM: {}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Kills it and waits for it (its logs stay readable).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        self.stop();
    }
}
