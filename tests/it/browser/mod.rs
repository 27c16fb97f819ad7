//! Real-browser tests: Debian's `chromedriver` driving headless `chromium` against the app on a
//! real loopback port, with a wiremock ModelScope. Everything is started here, on free ports.
//!
//! Where they run ([`SWITCH`]): with `MSB_BROWSER_TESTS=1` they must, and FAIL when either
//! binary is missing (`.ci/run` sets it, after installing `chromium chromium-driver` and
//! `fonts-wqy-zenhei` so Chinese pages render in screenshots); with `MSB_BROWSER_TESTS=0` they
//! are skipped; unset, they run where both binaries are installed and are skipped elsewhere, so
//! a plain `cargo test` passes on a machine without a browser. A skip prints one line saying
//! how to run them.
//!
//! - [`daily_loop`]: the daily loop end to end (sign up, save a key, make a preset, watch a
//!   streamed run arrive row by row, open it in history, see the dashboard).
//! - [`tour`]: every page at 1280 px and 390 px, in Chinese and in English, and a few in dark
//!   mode: no sideways scrolling, nothing broken into single characters, busy buttons while a run
//!   streams, the delete confirmation, no Chinese on English pages, readable chart labels. A
//!   full-page PNG of every page lands in `target/screenshots/` on every run.
//! - [`dashboard`]: the tour's dashboard on a phone's first screen, and its cards kept up to date
//!   after a run or a refresh, with JavaScript and without.
//! - [`monitoring`]: a channel, a monitor with a rule, a test message, the delivery log.
//! - [`ledger`]: the tour's history as a ledger: folded scheduled checks, kind and source
//!   filters, a part of a model id.
//! - [`passkeys`]: a passkey added, then signing in with it as the second factor and alone
//!   (a virtual authenticator, the app at `http://localhost`).
//! - [`weight`]: the bytes a 50-row page costs (no browser).
//!
//! On failure the panic names the step, and a screenshot and the page source are saved to
//! `target/browser-failure-<step>.png` / `.html` (chromedriver's log to
//! `target/browser-chromedriver.log`). Browser sessions and chromedriver (with its whole process
//! group, so Chromium too) are ended by guards, also when a test panics.
//!
//! Run alone with timings: `cargo test --test it browser -- --nocapture`.

use std::cell::{Cell, RefCell};
use std::fmt::Display;
use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::wd::{Capabilities, TimeoutConfiguration};
use fantoccini::{Client, ClientBuilder, Locator};
use serde::Deserialize;

use crate::harness::gate::Gate;
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::harness::app::free_port;

/// Turns a failed condition into the step's error message.
macro_rules! ensure {
    ($cond:expr, $($message:tt)+) => {
        if !$cond {
            return Err(format!($($message)+));
        }
    };
}

mod daily_loop;
mod dashboard;
mod ledger;
mod monitoring;
mod passkeys;
mod tour;
mod weight;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// How often the DOM is polled while waiting.
const POLL: Duration = Duration::from_millis(50);
/// The most any one page step (a navigation, a form post) may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(20);

type Step<T> = Result<T, String>;

/// Turns any error into the step's message, naming what was being done.
trait Context<T> {
    fn ctx(self, what: &str) -> Step<T>;
}

impl<T, E: Display> Context<T> for Result<T, E> {
    fn ctx(self, what: &str) -> Step<T> {
        self.map_err(|e| format!("{what}: {e}"))
    }
}

/// The environment variable that says whether the real-browser tests run: `1` they must, `0`
/// they are skipped, unset they run where the browser is installed.
const SWITCH: &str = "MSB_BROWSER_TESTS";

/// Whether this real-browser test runs here. Panics when it must run and cannot (`1` without
/// the browser) or the switch holds anything but `1` or `0`.
fn browser_tests_run() -> bool {
    static SAID: std::sync::Once = std::sync::Once::new();
    let missing: Vec<String> = [CHROMIUM, CHROMEDRIVER]
        .into_iter()
        .filter(|binary| !Path::new(binary).exists())
        .map(str::to_owned)
        .collect();
    Gate {
        switch: SWITCH,
        name: "browser tests",
        install: "`apt-get install -y chromium chromium-driver` (Debian's Chromium)",
        run: "cargo test --test it browser::",
        said: &SAID,
    }
    .runs(&missing)
}

// ---------------------------------------------------------------------------------------------
// One browser tab on the app, with the step it is at and how long each step took

struct Tab {
    client: Client,
    base: String,
    /// chromedriver's address and this session's id, for Chrome DevTools commands.
    cdp_url: String,
    step: Cell<&'static str>,
    step_started: Cell<Instant>,
    timings: RefCell<Vec<(&'static str, Duration)>>,
}

impl Tab {
    async fn new(browser: &Browser, base: &str) -> Self {
        let id = browser
            .client
            .session_id()
            .await
            .ok()
            .flatten()
            .expect("the WebDriver session has an id");
        Self {
            client: browser.client.clone(),
            base: base.to_owned(),
            cdp_url: format!("{}/session/{id}/goog/cdp/execute", browser.driver_url),
            step: Cell::new("start"),
            step_started: Cell::new(Instant::now()),
            timings: RefCell::new(Vec::new()),
        }
    }

    /// Ends the last step and prints every step's timing (`--nocapture` shows them); if
    /// `outcome` failed, saves a screenshot and the page source and panics naming the step.
    async fn finish(&self, what: &str, outcome: Step<()>) {
        self.end_step();
        eprintln!("{what} timings:");
        for (step, took) in self.timings.borrow().iter() {
            eprintln!("  {step:<22} {took:>9.2?}");
        }
        if let Err(message) = outcome {
            let step = self.step.get();
            let saved = save_failure(&self.client, step).await;
            panic!(
                "{what} failed at step `{step}`: {message}\n{saved}\n\
                 chromedriver log: {}",
                target_dir().join("browser-chromedriver.log").display()
            );
        }
    }

    /// Sends a Chrome DevTools Protocol command through chromedriver (`goog/cdp/execute`).
    async fn cdp(&self, cmd: &str, params: Value) -> Step<Value> {
        let http = reqwest::Client::builder()
            .timeout(STEP_TIMEOUT)
            .build()
            .ctx("an HTTP client")?;
        let answer: Value = http
            .post(&self.cdp_url)
            .json(&json!({ "cmd": cmd, "params": params }))
            .send()
            .await
            .ctx(&format!("send {cmd}"))?
            .json()
            .await
            .ctx(&format!("read the answer to {cmd}"))?;
        ensure!(
            answer["value"].get("error").is_none(),
            "{cmd} failed: {answer}"
        );
        Ok(answer["value"].clone())
    }

    fn begin(&self, step: &'static str) {
        self.end_step();
        self.step.set(step);
        self.step_started.set(Instant::now());
    }

    fn end_step(&self) {
        let step = self.step.get();
        if step != "start" && !self.timings.borrow().iter().any(|(s, _)| *s == step) {
            self.timings
                .borrow_mut()
                .push((step, self.step_started.get().elapsed()));
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn goto(&self, path: &str) -> Step<()> {
        self.client
            .goto(&self.url(path))
            .await
            .ctx(&format!("open {path}"))?;
        let here = self.path().await?;
        // The query stays out of the comparison: the browser's path has none.
        ensure!(
            here == path.split('?').next().unwrap_or(path),
            "opened {path} but the browser is at {here} (signed out?)"
        );
        Ok(())
    }

    async fn path(&self) -> Step<String> {
        Ok(self
            .client
            .current_url()
            .await
            .ctx("read the current URL")?
            .path()
            .to_owned())
    }

    async fn js<T: for<'de> Deserialize<'de>>(&self, script: &str, args: Vec<Value>) -> Step<T> {
        let value = self
            .client
            .execute(script, args)
            .await
            .ctx("run a script in the page")?;
        serde_json::from_value(value).ctx("read the script's answer")
    }

    async fn source(&self) -> Step<String> {
        self.client.source().await.ctx("read the page source")
    }

    async fn type_into(&self, selector: &str, text: &str) -> Step<()> {
        let field = self
            .client
            .find(Locator::Css(selector))
            .await
            .ctx(&format!("find the field {selector}"))?;
        field.clear().await.ctx(&format!("clear {selector}"))?;
        field
            .send_keys(text)
            .await
            .ctx(&format!("type into {selector}"))
    }

    async fn click(&self, selector: &str) -> Step<()> {
        self.client
            .find(Locator::Css(selector))
            .await
            .ctx(&format!("find {selector}"))?
            .click()
            .await
            .ctx(&format!("click {selector}"))
    }

    /// Polls `probe` every 50 ms until it yields a value, for at most `timeout`. A form error
    /// on the page (`[role=alert]`) ends the wait at once with its text.
    async fn wait_for<T>(
        &self,
        what: &str,
        timeout: Duration,
        mut probe: impl AsyncFnMut() -> Step<Option<T>>,
    ) -> Step<T> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(value) = probe().await? {
                return Ok(value);
            }
            let alert: Option<String> = self
                .js(
                    r#"const a = document.querySelector("[role=alert]");
                       return a ? a.textContent.trim() : null;"#,
                    vec![],
                )
                .await
                .unwrap_or(None);
            if let Some(alert) = alert {
                return Err(format!("{what}: the page shows an error: {alert}"));
            }
            if Instant::now() >= deadline {
                return Err(format!("{what}: still not there after {timeout:?}"));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until `selector` matches at least `n` elements on a page at `path`.
    async fn wait_for_elements(&self, path: &str, selector: &str, n: usize) -> Step<()> {
        let what = format!("wait for {n} × {selector} on {path}");
        self.wait_for(&what, STEP_TIMEOUT, async || {
            let (here, found): (String, usize) = self
                .js(
                    "return [location.pathname, document.readyState === 'complete' \
                     ? document.querySelectorAll(arguments[0]).length : 0];",
                    vec![json!(selector)],
                )
                .await?;
            Ok((here == path && found >= n).then_some(()))
        })
        .await
    }
}

// ---------------------------------------------------------------------------------------------
// chromedriver and the browser session

/// chromedriver in its own process group; the whole group (Chromium included) is killed on
/// drop, so nothing outlives the test even when it panics.
struct Driver {
    child: Child,
    url: String,
}

/// What a browser's user speaks: the `--lang` switch and the `Accept-Language` it sends.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Speaks {
    Chinese,
    English,
}

impl Speaks {
    fn lang_switch(self) -> &'static str {
        match self {
            Self::Chinese => "--lang=zh-CN",
            Self::English => "--lang=en-US",
        }
    }

    fn accept_languages(self) -> &'static str {
        match self {
            Self::Chinese => "zh-CN,zh",
            Self::English => "en-US,en",
        }
    }
}

/// One browser session with a profile of its own (its own cookies), closed on [`Browser::close`];
/// chromedriver's guard ends it anyway.
struct Browser {
    client: Client,
    driver_url: String,
    _profile: TempDir,
}

impl Browser {
    async fn close(self) {
        let _ = tokio::time::timeout(Duration::from_secs(5), self.client.close()).await;
    }
}

impl Driver {
    async fn start() -> Self {
        let port = free_port();
        let log_path = target_dir().join("browser-chromedriver.log");
        let log = File::create(&log_path)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", log_path.display()));
        let log_err = log.try_clone().expect("clone the log file handle");
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {CHROMEDRIVER}: {e}; install it with \
                     `apt-get install -y chromium chromium-driver`"
                )
            });
        let mut driver = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        driver.wait_until_ready().await;
        driver
    }

    /// Polls chromedriver's `/status` until it reports ready, for at most 15 s.
    async fn wait_until_ready(&mut self) {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .expect("an HTTP client");
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "chromedriver exited at start ({status}); see {}",
                    target_dir().join("browser-chromedriver.log").display()
                );
            }
            let ready = match http.get(format!("{}/status", self.url)).send().await {
                Ok(response) => response
                    .json::<Value>()
                    .await
                    .is_ok_and(|status| status["value"]["ready"] == true),
                Err(_) => false,
            };
            if ready {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not become ready on {} within 15 s",
                self.url
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// A new browser whose user speaks `speaks` (the app answers in its Accept-Language).
    async fn session(&self, speaks: Speaks) -> Browser {
        let profile = tempfile::tempdir().expect("a temporary browser profile");
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--window-size=1280,900",
            "--hide-scrollbars",
            "--font-render-hinting=none",
            speaks.lang_switch(),
        ]
        .into_iter()
        .map(str::to_owned)
        .chain(std::iter::once(format!(
            "--user-data-dir={}",
            profile.path().display()
        )))
        .collect::<Vec<_>>();
        let mut capabilities = Capabilities::new();
        capabilities.insert("browserName".into(), json!("chrome"));
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": CHROMIUM,
                "args": args,
                "prefs": { "intl.accept_languages": speaks.accept_languages() },
            }),
        );
        let connect = async {
            ClientBuilder::rustls()
                .expect("a rustls connector")
                .capabilities(capabilities)
                .connect(&self.url)
                .await
        };
        let client = tokio::time::timeout(Duration::from_secs(60), connect)
            .await
            .unwrap_or_else(|_| panic!("no browser session from {} within 60 s", self.url))
            .unwrap_or_else(|e| {
                panic!(
                    "chromedriver could not start {CHROMIUM}: {e}; see {}",
                    target_dir().join("browser-chromedriver.log").display()
                )
            });
        client
            .update_timeouts(TimeoutConfiguration::new(
                Some(Duration::from_secs(10)),
                Some(STEP_TIMEOUT),
                Some(Duration::ZERO),
            ))
            .await
            .expect("set the WebDriver timeouts");
        Browser {
            client,
            driver_url: self.url.clone(),
            _profile: profile,
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // The negative id is the process group chromedriver leads (and Chromium joined).
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------------
// Failure artifacts

/// `target/` (or `CARGO_TARGET_DIR`): the parent of the integration tests' temporary dir.
fn target_dir() -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let dir = tmp.parent().unwrap_or(tmp).to_path_buf();
    let _ = std::fs::create_dir_all(&dir);
    dir
}

/// Saves a screenshot and the page source for `step`; answers a line naming both files.
async fn save_failure(client: &Client, step: &str) -> String {
    let name: String = step
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let png = target_dir().join(format!("browser-failure-{name}.png"));
    let html = target_dir().join(format!("browser-failure-{name}.html"));
    let limit = Duration::from_secs(10);
    let shot = match tokio::time::timeout(limit, client.screenshot()).await {
        Ok(Ok(bytes)) => std::fs::write(&png, bytes)
            .map(|()| png.display().to_string())
            .unwrap_or_else(|e| format!("(could not write {}: {e})", png.display())),
        Ok(Err(e)) => format!("(no screenshot: {e})"),
        Err(_) => "(no screenshot: timed out)".to_owned(),
    };
    let source = match tokio::time::timeout(limit, client.source()).await {
        Ok(Ok(text)) => std::fs::write(&html, text)
            .map(|()| html.display().to_string())
            .unwrap_or_else(|e| format!("(could not write {}: {e})", html.display())),
        Ok(Err(e)) => format!("(no page source: {e})"),
        Err(_) => "(no page source: timed out)".to_owned(),
    };
    format!("screenshot: {shot}\npage source: {source}")
}
