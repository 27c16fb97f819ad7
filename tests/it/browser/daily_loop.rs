//! One real-browser test of the daily loop, end to end, as a user does it: sign up, save a key,
//! make a preset, run it on `/query` and watch the rows arrive one by one under the progress
//! bar, open the stored run, and see the dashboard's latest numbers.
//!
//! Everything runs on free loopback ports and is started here: a wiremock ModelScope (each model
//! answers after a different delay, so rows finish at visibly different times), the app itself
//! (`rocket.launch()` on a real socket) and Debian's `chromedriver` driving headless `chromium`.
//! It runs where both binaries are installed or `MSB_BROWSER_TESTS=1` (then it FAILS without
//! them: `apt-get install -y chromium chromium-driver`; `.ci/run` installs them); see `browser`.
//!
//! On failure the panic names the step, and a screenshot and the page source are saved to
//! `target/browser-failure-<step>.png` / `.html` (chromedriver's log to
//! `target/browser-chromedriver.log`). The browser session and chromedriver (with the whole
//! process group, so Chromium too) are ended by guards, also when the test panics.
//!
//! Run alone with timings: `cargo test --test it browser::daily_loop -- --nocapture`.

use std::ops::Deref;
use std::time::{Duration, Instant};

use fantoccini::Locator;
use serde::Deserialize;
use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::{Context, Driver, Speaks, Step, Tab, browser_tests_run};
use crate::harness::upstream::{
    BALANCE_PATH, CATALOGUE_PATH, CHAT_PATH, MODEL_REQUESTS_LIMIT, MODEL_REQUESTS_REMAINING,
    REQUESTS_LIMIT, REQUESTS_REMAINING,
};
use crate::harness::{PASSWORD, TestApp};

const KEY: &str = "ms-12345678-1234-1234-1234-123456789abc";
const KEY_MASKED: &str = "ms-…9abc";
const KEY_LABEL: &str = "主账号";
const USERNAME: &str = "browser_user";
const PRESET_NAME: &str = "每日必查";

/// The preset's models in their saved order, each with the upstream's delay. The order is not
/// the delay order, so rows finish out of position: index 1 first, then 3, 0 and 2. They are
/// 2 s apart first to last, so a busy machine that delays a row a while cannot run them together.
const MODELS: [(&str, u64); 4] = [
    ("ZhipuAI/GLM-4.7", 1550),
    ("Qwen/Qwen2.5-72B-Instruct", 250),
    ("moonshotai/Kimi-K2-Instruct", 2250),
    ("deepseek-ai/DeepSeek-V3", 900),
];
/// The last model is not typed into the list but picked in the catalogue box.
const TYPED_MODELS: usize = 3;

/// How often the live section is read while the query streams.
const POLL: Duration = Duration::from_millis(50);
/// The most the streamed query may take (the slowest model answers after 2.25 s).
const QUERY_TIMEOUT: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_user_runs_a_preset_and_watches_rows_arrive() {
    let started = Instant::now();
    if !browser_tests_run() {
        return;
    }
    let app = TestApp::new().await;
    mount_upstream(&app.upstream).await;
    let served = app.serve().await;
    let driver = Driver::start().await;
    let browser = driver.session(Speaks::Chinese).await;
    eprintln!("daily loop setup {:.2?}", started.elapsed());

    let flow = Flow {
        tab: Tab::new(&browser, &served.base).await,
        upstream: &app.upstream,
    };
    let outcome = flow.run().await;
    flow.finish("the daily loop", outcome).await;
    browser.close().await;
    drop(driver);
    drop(served);
    eprintln!("  total                  {:>9.2?}", started.elapsed());
}

// ---------------------------------------------------------------------------------------------
// The flow

struct Flow<'a> {
    tab: Tab,
    upstream: &'a MockServer,
}

impl Deref for Flow<'_> {
    type Target = Tab;

    fn deref(&self) -> &Tab {
        &self.tab
    }
}

#[derive(Debug, Deserialize)]
struct LiveState {
    path: String,
    count: String,
    rows: Vec<LiveRow>,
    balance_visible: bool,
    total: String,
    available: String,
    frozen: String,
    done: bool,
    href: Option<String>,
    failed: bool,
    alert: Option<String>,
}

#[derive(Debug, Deserialize)]
struct LiveRow {
    model: String,
    status: String,
    ok: bool,
    /// The "calls left" cell: the number and where it comes from.
    calls: String,
}

/// What [`RECORD_LIVE_JS`] recorded.
#[derive(Debug, Deserialize)]
struct LiveLog {
    counts: Vec<LiveCount>,
    rows: Vec<LiveArrival>,
}

#[derive(Debug, Deserialize)]
struct LiveCount {
    t: f64,
    count: String,
}

#[derive(Debug, Deserialize)]
struct LiveArrival {
    index: usize,
}

/// A results table row as a stored page shows it.
#[derive(Debug, Deserialize)]
struct TableRow {
    model: String,
    cells: Vec<String>,
    ok: bool,
}

const LIVE_STATE_JS: &str = r##"
const q = (s) => document.querySelector(s);
const text = (e) => (e ? e.textContent.trim() : "");
const rows = Array.from(document.querySelectorAll("#live-results [data-field=rows] tr")).map((tr) => {
  const status = tr.querySelector("[data-field=status]");
  return {
    model: text(tr.querySelector("th")),
    status: text(status),
    ok: !!(status && status.querySelector(".badge.ok")),
    calls: text(tr.querySelector("[data-field=calls]")),
  };
});
const balance = q("#live-results [data-part=balance]");
const done = q("#live-results [data-part=done]");
const failed = q("#live-results [data-part=failed]");
const alert = q("[role=alert]");
return {
  path: location.pathname,
  count: text(q("#live-results [data-field=count]")),
  rows,
  balance_visible: !!balance && !balance.hidden,
  total: text(q("#live-results [data-field=total]")),
  available: text(q("#live-results [data-field=available]")),
  frozen: text(q("#live-results [data-field=frozen]")),
  done: !!done && !done.hidden,
  href: done ? done.getAttribute("href") : null,
  failed: !!failed && !failed.hidden,
  alert: alert ? text(alert) : null,
};
"##;

/// Starts recording, in the page, every value the live count is set to and every row that
/// turns from pending (`window.__msbLive`), each with the page's clock (ms).
const RECORD_LIVE_JS: &str = r##"
const section = document.querySelector("#live-results");
if (!section) return false;
const log = { counts: [], rows: [] };
window.__msbLive = log;
new MutationObserver((records) => {
  const t = performance.now();
  for (const r of records) {
    if (r.type === "childList" && r.target.matches("[data-field=count]")) {
      for (const node of r.addedNodes) log.counts.push({ t, count: node.textContent.trim() });
    } else if (r.type === "attributes" && r.oldValue === "row-pending" && r.target.dataset.index !== undefined) {
      log.rows.push({ t, index: Number(r.target.dataset.index) });
    }
  }
}).observe(section, { subtree: true, childList: true, attributes: true, attributeFilter: ["class"], attributeOldValue: true });
return true;
"##;

const TABLE_ROWS_JS: &str = r#"
const selector = arguments[0];
return Array.from(document.querySelectorAll(selector)).map((tr) => ({
  model: tr.querySelector("th").textContent.trim(),
  cells: Array.from(tr.querySelectorAll("td")).map((td) => td.textContent.replace(/\s+/g, " ").trim()),
  ok: !!tr.querySelector(".badge.ok"),
}));
"#;

impl Flow<'_> {
    async fn run(&self) -> Step<()> {
        self.begin("signup");
        self.sign_up().await?;
        self.begin("save key");
        self.save_key().await?;
        self.begin("make preset");
        let preset_id = self.make_preset().await?;
        self.begin("run query");
        let href = self.run_query(&preset_id).await?;
        self.begin("sort the results");
        self.sort_by_latency().await?;
        self.begin("history entry");
        self.open_history_entry(&href).await?;
        self.begin("history list");
        self.history_list().await?;
        self.begin("dashboard");
        self.dashboard().await?;
        self.begin("upstream calls");
        self.upstream_calls().await
    }

    async fn ensure_key_not_in_source(&self, page: &str) -> Step<()> {
        let source = self.source().await?;
        ensure!(
            !source.contains(KEY) && !source.contains(&KEY[3..]),
            "the plaintext key appears in the source of {page}"
        );
        Ok(())
    }

    // -- the steps ------------------------------------------------------------------------

    async fn sign_up(&self) -> Step<()> {
        self.goto("/signup").await?;
        self.type_into("#username", USERNAME).await?;
        self.type_into("#password", PASSWORD).await?;
        self.type_into("#password_confirm", PASSWORD).await?;
        self.click("form[action='/signup'] button[type=submit]")
            .await?;
        // Signed in: the dashboard, with the account link in the header.
        self.wait_for_elements("/", "header a.who", 1).await?;
        let who: String = self
            .js(
                "return document.querySelector('header a.who').textContent.trim();",
                vec![],
            )
            .await?;
        ensure!(
            who == USERNAME,
            "the header names {who:?}, not {USERNAME:?}"
        );
        Ok(())
    }

    async fn save_key(&self) -> Step<()> {
        self.goto("/keys").await?;
        self.type_into("#label", KEY_LABEL).await?;
        self.type_into("#api_key", KEY).await?;
        self.click("form[action='/keys'] button[type=submit]")
            .await?;
        self.wait_for_elements("/keys", "table.keys-table tbody tr", 1)
            .await?;
        let shown: Vec<String> = self
            .js(
                "return Array.from(document.querySelectorAll('table.keys-table tbody tr'))\
                 .map((tr) => tr.textContent.replace(/\\s+/g, ' ').trim());",
                vec![],
            )
            .await?;
        ensure!(
            shown.len() == 1,
            "expected one saved key, the page lists {shown:?}"
        );
        ensure!(
            shown[0].contains(KEY_LABEL) && shown[0].contains(KEY_MASKED),
            "the saved key should show as {KEY_LABEL} {KEY_MASKED}; the row reads {:?}",
            shown[0]
        );
        self.ensure_key_not_in_source("/keys").await?;
        // The password field of the add form is empty again after the redirect.
        let typed: String = self
            .js("return document.querySelector('#api_key').value;", vec![])
            .await?;
        ensure!(typed.is_empty(), "the key field still holds {typed:?}");
        Ok(())
    }

    /// Creates the preset (three models typed, the fourth picked in the catalogue box) and
    /// answers its id.
    async fn make_preset(&self) -> Step<String> {
        self.goto("/presets").await?;
        let catalogue: Vec<String> = self
            .js(
                "return Array.from(document.querySelectorAll('#model-catalogue option'))\
                 .map((o) => o.value);",
                vec![],
            )
            .await?;
        ensure!(
            MODELS.iter().all(|(m, _)| catalogue.iter().any(|c| c == m)),
            "the catalogue suggestions should list the upstream's models; they are {catalogue:?}"
        );
        self.type_into("form[action='/presets'] #name", PRESET_NAME)
            .await?;
        let typed: Vec<&str> = MODELS[..TYPED_MODELS].iter().map(|(m, _)| *m).collect();
        self.type_into("form[action='/presets'] #models", &typed.join("\n"))
            .await?;
        self.type_into("form[action='/presets'] #add_model", MODELS[TYPED_MODELS].0)
            .await?;
        self.click("form[action='/presets'] button[type=submit]")
            .await?;
        self.wait_for_elements("/presets", "table.presets-table tbody tr", 1)
            .await?;
        let (id, name, models): (String, String, Vec<String>) = self
            .js(
                "const tr = document.querySelector('table.presets-table tbody tr');\
                 return [tr.id.replace('preset-', ''), tr.querySelector('td').textContent.trim(),\
                   Array.from(tr.querySelectorAll('td:nth-child(2) code')).map((c) => c.textContent)];",
                vec![],
            )
            .await?;
        ensure!(
            name.starts_with(PRESET_NAME),
            "the preset is named {name:?}, not {PRESET_NAME:?}"
        );
        let expected: Vec<&str> = MODELS.iter().map(|(m, _)| *m).collect();
        ensure!(
            models == expected,
            "the preset should hold {expected:?} in order; it holds {models:?}"
        );
        ensure!(
            !id.is_empty() && id.chars().all(|c| c.is_ascii_digit()),
            "the preset row has no usable id ({id:?})"
        );
        Ok(id)
    }

    /// Runs the preset with the saved key and watches the rows arrive. Answers the stored
    /// run's address from the "done" link.
    async fn run_query(&self, preset_id: &str) -> Step<String> {
        self.goto("/query").await?;
        self.ensure_key_not_in_source("/query").await?;
        let key_select = self
            .client
            .find(Locator::Css("#key_id"))
            .await
            .ctx("find the key select")?;
        let key_value: String = self
            .js(
                "return Array.from(document.querySelectorAll('#key_id option'))\
                 .find((o) => o.textContent.includes(arguments[0]))?.value ?? '';",
                vec![json!(KEY_LABEL)],
            )
            .await?;
        ensure!(!key_value.is_empty(), "no option for the key {KEY_LABEL:?}");
        key_select
            .select_by_value(&key_value)
            .await
            .ctx("choose the key")?;
        self.client
            .find(Locator::Css("#preset_id"))
            .await
            .ctx("find the preset select")?
            .select_by_value(preset_id)
            .await
            .ctx("choose the preset")?;
        let models_typed: String = self
            .js("return document.querySelector('#models').value;", vec![])
            .await?;
        ensure!(
            models_typed.trim().is_empty(),
            "the models box should be empty so the preset is used; it holds {models_typed:?}"
        );
        // The page records every count it shows and the moment each row turns from pending,
        // as they happen (a MutationObserver), so nothing depends on a poll catching them.
        let recording: bool = self.js(RECORD_LIVE_JS, vec![]).await?;
        ensure!(recording, "no live section to watch on /query");
        self.click("#query-form button[type=submit]").await?;

        // Wait for the end (polled: it must come), failing early on an error the page shows.
        let deadline = Instant::now() + QUERY_TIMEOUT;
        let state = loop {
            let state: LiveState = self.js(LIVE_STATE_JS, vec![]).await?;
            ensure!(
                state.path == "/query",
                "the page left /query for {} (the script fell back to a plain post?)",
                state.path
            );
            ensure!(!state.failed, "the page says the stream failed");
            if let Some(alert) = &state.alert {
                return Err(format!("the query form shows an error: {alert}"));
            }
            if state.done {
                break state;
            }
            ensure!(
                Instant::now() < deadline,
                "the query did not finish within {QUERY_TIMEOUT:?}; last state: {state:?}"
            );
            tokio::time::sleep(POLL).await;
        };
        let log: LiveLog = self.js("return window.__msbLive;", vec![]).await?;
        let counts: Vec<(Duration, &str)> = log
            .counts
            .iter()
            .map(|c| (Duration::from_secs_f64(c.t / 1000.0), c.count.as_str()))
            .collect();
        eprintln!("live counts as the page showed them: {counts:?}");

        // The progress went through every intermediate value, in order, ending at 4 / 4.
        let seen: Vec<&str> = counts.iter().map(|(_, c)| *c).collect();
        let steps = ["0 / 4", "1 / 4", "2 / 4", "3 / 4", "4 / 4"];
        let mut position = 0;
        for count in &seen {
            match steps[position..].iter().position(|s| s == count) {
                Some(offset) => position += offset,
                None => return Err(format!("the count went backwards or off: {seen:?}")),
            }
        }
        for step in &steps[1..] {
            ensure!(
                seen.contains(step),
                "the count skipped {step}: rows did not arrive one by one ({counts:?})"
            );
        }
        let at = |label: &str| counts.iter().find(|(_, c)| *c == label).map(|(t, _)| *t);
        if let (Some(first), Some(last)) = (at("1 / 4"), at("4 / 4")) {
            ensure!(
                last.saturating_sub(first) >= Duration::from_millis(600),
                "the rows arrived within {:?}, although the upstream answers 2 s apart: \
                 the stream is buffered ({counts:?})",
                last.saturating_sub(first)
            );
        }

        // Rows finished in the order of their upstream delays, not their position.
        let mut by_delay: Vec<usize> = (0..MODELS.len()).collect();
        by_delay.sort_by_key(|&i| MODELS[i].1);
        let mut by_arrival: Vec<usize> = Vec::new();
        for row in &log.rows {
            if !by_arrival.contains(&row.index) {
                by_arrival.push(row.index);
            }
        }
        ensure!(
            by_arrival == by_delay,
            "rows should finish fastest model first ({by_delay:?}); they finished as \
             {by_arrival:?}"
        );

        // The final table: every model, in the preset's order, ok, with the upstream's numbers.
        ensure!(
            state.rows.len() == MODELS.len(),
            "expected {} rows, the table has {}",
            MODELS.len(),
            state.rows.len()
        );
        for (row, (model, _)) in state.rows.iter().zip(MODELS) {
            ensure!(row.model == model, "row {:?} should be {model}", row.model);
            ensure!(
                row.ok && row.status.contains("正常"),
                "row {model} should show the 正常 badge; it shows {:?}",
                row.status
            );
            ensure!(
                row.calls.starts_with("495")
                    && row.calls.contains("1990 / 2000")
                    && row.calls.contains("495 / 500"),
                "row {model} shows {:?}",
                row.calls
            );
        }
        ensure!(
            state.count == "4 / 4",
            "the count ends at {:?}",
            state.count
        );
        ensure!(state.balance_visible, "the points balance is not shown");
        ensure!(
            (
                state.total.as_str(),
                state.available.as_str(),
                state.frozen.as_str()
            ) == ("250", "240.5", "9.5"),
            "the balance shows {} / {} / {}",
            state.total,
            state.available,
            state.frozen
        );
        let href = state.href.unwrap_or_default();
        ensure!(
            href.strip_prefix("/history/")
                .is_some_and(|id| !id.is_empty() && id.chars().all(|c| c.is_ascii_digit())),
            "the done link points to {href:?}"
        );
        self.ensure_key_not_in_source("/query after the run")
            .await?;
        Ok(href)
    }

    /// The finished live table sorts by its time column, then the other way, and the rows
    /// keep their contents (the stream finds a row by its index, not its position).
    async fn sort_by_latency(&self) -> Step<()> {
        let mut by_delay: Vec<&str> = MODELS.iter().map(|(m, _)| *m).collect();
        by_delay.sort_by_key(|m| MODELS.iter().find(|(n, _)| n == m).map(|(_, d)| *d));
        let heading = "#live-results thead th:nth-child(5)";
        for (press, expected, order) in [
            (1, by_delay.clone(), "ascending"),
            (2, by_delay.iter().rev().copied().collect(), "descending"),
        ] {
            self.click(&format!("{heading} button.sort")).await?;
            let rows: Vec<TableRow> = self
                .js(TABLE_ROWS_JS, vec![json!("#live-results tbody tr")])
                .await?;
            let models: Vec<&str> = rows.iter().map(|r| r.model.as_str()).collect();
            ensure!(
                models == expected,
                "after {press} press(es) of the time heading the rows read {models:?}, not {expected:?}"
            );
            ensure!(
                rows.iter().all(|r| r.ok),
                "sorting lost a row's status: {rows:?}"
            );
            let aria: String = self
                .js(
                    "return document.querySelector(arguments[0]).getAttribute('aria-sort') || '';",
                    vec![json!(heading)],
                )
                .await?;
            ensure!(
                aria == order,
                "the time heading says aria-sort={aria:?}, not {order}"
            );
        }
        Ok(())
    }

    async fn open_history_entry(&self, href: &str) -> Step<()> {
        self.click("#live-results a[data-part=done]").await?;
        self.wait_for_elements(href, ".results-table tbody tr", MODELS.len())
            .await?;
        let rows: Vec<TableRow> = self
            .js(TABLE_ROWS_JS, vec![json!(".results-table tbody tr")])
            .await?;
        let models: Vec<&str> = rows.iter().map(|r| r.model.as_str()).collect();
        let expected: Vec<&str> = MODELS.iter().map(|(m, _)| *m).collect();
        ensure!(
            models == expected,
            "the stored run lists {models:?}, not {expected:?}"
        );
        for row in &rows {
            ensure!(
                row.ok
                    && row.cells.first().is_some_and(|c| {
                        c.starts_with("495") && c.contains("1990 / 2000") && c.contains("495 / 500")
                    })
                    && row.cells.get(2).is_some_and(|c| c.contains("正常")),
                "the stored row {} reads {:?}",
                row.model,
                row.cells
            );
        }
        let (balance, meta): (Vec<String>, String) = self
            .js(
                "return [Array.from(document.querySelectorAll('.balance dd'))\
                 .map((d) => d.textContent.trim()),\
                 document.querySelector('.run-meta').textContent.replace(/\\s+/g, ' ')];",
                vec![],
            )
            .await?;
        // Available, frozen (still held), spent, total.
        ensure!(
            balance == ["240.5", "9.5", "0", "250"],
            "the stored points read {balance:?}"
        );
        ensure!(
            meta.contains(KEY_LABEL) && meta.contains(PRESET_NAME),
            "the run's details should name the key and the preset: {meta:?}"
        );
        self.ensure_key_not_in_source(href).await
    }

    async fn history_list(&self) -> Step<()> {
        self.goto("/history").await?;
        let runs: Vec<String> = self
            .js(
                "return Array.from(document.querySelectorAll('tr[id^=run-]'))\
                 .map((tr) => tr.textContent.replace(/\\s+/g, ' ').trim());",
                vec![],
            )
            .await?;
        ensure!(
            runs.len() == 1,
            "one run should be stored (no second run from a fallback post): {runs:?}"
        );
        ensure!(
            runs[0].contains(KEY_LABEL) && runs[0].contains(PRESET_NAME),
            "the history row reads {:?}",
            runs[0]
        );
        Ok(())
    }

    async fn dashboard(&self) -> Step<()> {
        self.goto("/").await?;
        let heading: String = self
            .js(
                "const h = document.querySelector('.key-panel h2');\
                 return h ? h.textContent.replace(/\\s+/g, ' ').trim() : '';",
                vec![],
            )
            .await?;
        ensure!(
            heading.contains(KEY_LABEL) && heading.contains(KEY_MASKED),
            "the dashboard's key panel is headed {heading:?}"
        );
        let rows: Vec<TableRow> = self
            .js(
                TABLE_ROWS_JS,
                vec![json!(".key-panel .results-table tbody tr")],
            )
            .await?;
        let mut models: Vec<&str> = rows.iter().map(|r| r.model.as_str()).collect();
        models.sort_unstable();
        let mut expected: Vec<&str> = MODELS.iter().map(|(m, _)| *m).collect();
        expected.sort_unstable();
        ensure!(
            models == expected,
            "the dashboard lists {models:?}, not {expected:?}"
        );
        for row in &rows {
            ensure!(
                row.ok
                    && row.cells.first().is_some_and(|c| {
                        c.starts_with("495") && c.contains("1990 / 2000") && c.contains("495 / 500")
                    })
                    && row
                        .cells
                        .get(3)
                        .is_some_and(|c| c.contains("秒前") || c.contains("分钟前")),
                "the dashboard row {} reads {:?}",
                row.model,
                row.cells
            );
        }
        self.ensure_key_not_in_source("/").await
    }

    /// Each model was probed exactly once, with the saved key; the balance was fetched.
    async fn upstream_calls(&self) -> Step<()> {
        let requests = self
            .upstream
            .received_requests()
            .await
            .ok_or("wiremock did not record requests")?;
        let auth = format!("Bearer {KEY}");
        for (model, _) in MODELS {
            let calls = requests
                .iter()
                .filter(|r| r.url.path() == CHAT_PATH)
                .filter(|r| {
                    serde_json::from_slice::<Value>(&r.body)
                        .is_ok_and(|body| body["model"] == model)
                })
                .collect::<Vec<_>>();
            ensure!(
                calls.len() == 1,
                "{model} was probed {} times, not once",
                calls.len()
            );
            ensure!(
                calls[0]
                    .headers
                    .get("authorization")
                    .is_some_and(|v| v.as_bytes() == auth.as_bytes()),
                "{model} was not probed with the saved key"
            );
        }
        let balance = requests
            .iter()
            .filter(|r| r.url.path() == BALANCE_PATH)
            .count();
        ensure!(
            balance >= 1,
            "the points balance was never fetched upstream"
        );
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// The ModelScope double

async fn mount_upstream(server: &MockServer) {
    for (model, delay) in MODELS {
        Mock::given(method("POST"))
            .and(path(CHAT_PATH))
            .and(header("Authorization", format!("Bearer {KEY}").as_str()))
            .and(body_partial_json(json!({ "model": model })))
            .respond_with(
                ResponseTemplate::new(200)
                    .insert_header(REQUESTS_LIMIT, "2000")
                    .insert_header(REQUESTS_REMAINING, "1990")
                    .insert_header(MODEL_REQUESTS_LIMIT, "500")
                    .insert_header(MODEL_REQUESTS_REMAINING, "495")
                    .set_body_json(json!({
                        "id": "chatcmpl-browser",
                        "object": "chat.completion",
                        "model": model,
                        "choices": [{
                            "index": 0,
                            "message": {"role": "assistant", "content": "hi"},
                            "finish_reason": "length"
                        }],
                        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
                    }))
                    .set_delay(Duration::from_millis(delay)),
            )
            .mount(server)
            .await;
    }
    Mock::given(method("GET"))
        .and(path(BALANCE_PATH))
        .and(header("Authorization", format!("Bearer {KEY}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "success": true,
            "request_id": "r",
            "data": {"total_balance": 250, "available_balance": 240.5, "frozen_amount": 9.5}
        })))
        .mount(server)
        .await;
    let catalogue: Vec<Value> = MODELS
        .iter()
        .map(|(id, _)| json!({"id": id, "object": "model", "owned_by": "system"}))
        .chain(std::iter::once(
            json!({"id": "Qwen/Qwen3-8B", "object": "model"}),
        ))
        .collect();
    Mock::given(method("GET"))
        .and(path(CATALOGUE_PATH))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"object": "list", "data": catalogue})),
        )
        .mount(server)
        .await;
}
