//! Every page, as a desktop (1280 px) and a phone (390 px) show it, in Chinese and in English,
//! and a few in dark mode. One chromedriver; one browser (its own profile and cookies) per
//! language, signed out first (quick query, sign-in pages), then signed up, walking through
//! keys, presets, a streamed query, the dashboard, history, both trends, the account, the
//! one-time token page, the passkeys page where passkeys cannot work (127.0.0.1: no RP ID;
//! `passkeys.rs` walks them at localhost), the monitoring pages (channels, monitors, the delivery log), the history
//! as a ledger once the monitor has checked the key (`ledger.rs`), the delete
//! confirmations of a preset, a key and a monitor, and the 404 page.
//!
//! On every page, at both widths ([`LAYOUT_JS`]): the bar is one line, nothing scrolls sideways (the page or a box in
//! it), no text breaks into one or two characters a line, no button, badge, date or label wraps,
//! every table has the phone layout and every data cell a `data-label` (a row's model heading is its
//! card's title), nothing is fetched from
//! elsewhere (the favicon is the app's own), the colour scheme is the one asked for, and an English page shows no Chinese outside user data (the fixture's user data
//! is ASCII). Besides: the run buttons are disabled and count "n/N" while a run streams and are
//! themselves again after it; the quick page and the dashboard show the points strip, and the free
//! balance-only check makes no chat-completion call upstream; chart labels stay readable on a
//! phone; deleting a key goes through its confirmation page and the flash names the key.
//!
//! A full-page PNG of every page at both widths is written to `target/screenshots/` on every run
//! (`<lang>-<nn>-<page>-<width>.png`); `docs/screenshots/` holds a curated copy.

use std::cell::Cell;
use std::ops::Deref;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use base64::Engine;
use fantoccini::Locator;
use serde::Deserialize;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::{Context, Driver, STEP_TIMEOUT, Speaks, Step, Tab, browser_tests_run, target_dir};
use crate::harness::two_factor as tf;
use crate::harness::upstream::{
    BALANCE_PATH, CATALOGUE_PATH, CHAT_PATH, MODEL_A, MODEL_B, MODEL_C, QUOTA_A, QUOTA_B, QUOTA_C,
    chat, mount_balance, ok_with_quota,
};
use crate::harness::{PASSWORD, TestApp};
use modelscope_balance::clock::Clock;

const KEY: &str = "ms-87654321-4321-4321-4321-cba987654321";
const KEY_LABEL: &str = "main-key";
const PRESET: &str = "daily-check";
const TOKEN_NAME: &str = "nightly-script";
/// The points the double reports as available ([`crate::harness::upstream::POINTS`]).
const AVAILABLE: &str = "240.5";

/// Each model answers after its own delay, so a run streams for about a second.
const MODELS: [(&str, [i64; 4], u64); 3] = [
    (MODEL_A, QUOTA_A, 300),
    (MODEL_B, QUOTA_B, 900),
    (MODEL_C, QUOTA_C, 600),
];

/// The most a streamed run may take.
const RUN_TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Clone, Copy, Debug)]
pub(super) struct Width {
    pub(super) name: &'static str,
    pub(super) width: u32,
    pub(super) height: u32,
    pub(super) mobile: bool,
}

pub(super) const DESKTOP: Width = Width {
    name: "desktop",
    width: 1280,
    height: 900,
    mobile: false,
};
pub(super) const PHONE: Width = Width {
    name: "phone",
    width: 390,
    height: 844,
    mobile: true,
};

impl Tab {
    /// Emulates a device of `width` (and checks the page sees it).
    pub(super) async fn set_width(&self, width: Width) -> Step<()> {
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({
                "width": width.width,
                "height": width.height,
                "deviceScaleFactor": 1,
                "mobile": width.mobile,
            }),
        )
        .await?;
        let seen: u32 = self.js("return window.innerWidth;", vec![]).await?;
        ensure!(
            seen == width.width,
            "the page is {seen} px wide, not {} px",
            width.width
        );
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_page_fits_a_desktop_and_a_phone_in_both_languages() {
    let started = Instant::now();
    if !browser_tests_run() {
        return;
    }
    // With the OpenID provider of the single sign-on tests where it runs, so the sign-in pages
    // show their "Sign in with …" button and the account page its single sign-on card.
    let app = match crate::oidc::provider() {
        Some(provider) => {
            TestApp::configured(|config| crate::oidc::with_sso(config, &provider.issuer)).await
        }
        None => TestApp::new().await,
    };
    mount_upstream(&app.upstream).await;
    let served = app.serve().await;
    let driver = Driver::start().await;
    let shots = target_dir().join("screenshots");
    std::fs::create_dir_all(&shots)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", shots.display()));
    for speaks in [Speaks::Chinese, Speaks::English] {
        let browser = driver.session(speaks).await;
        let tour = Tour {
            tab: Tab::new(&browser, &served.base).await,
            app: &app,
            upstream: &app.upstream,
            clock: &app.clock,
            speaks,
            shots: shots.clone(),
            shot_count: Cell::new(0),
            dark: Cell::new(false),
        };
        let outcome = tour.run().await;
        tour.finish(&format!("the page tour in {speaks:?}"), outcome)
            .await;
        browser.close().await;
    }
    drop(driver);
    drop(served);
    eprintln!(
        "page tour: {} total; screenshots in {}",
        format_args!("{:.2?}", started.elapsed()),
        shots.display()
    );
}

async fn mount_upstream(server: &MockServer) {
    for (model, quota, delay) in MODELS {
        chat(model)
            .respond_with(ok_with_quota(quota).set_delay(Duration::from_millis(delay)))
            .mount(server)
            .await;
    }
    mount_balance(server).await;
    let catalogue: Vec<_> = MODELS
        .iter()
        .map(|(id, _, _)| json!({"id": id, "object": "model"}))
        .collect();
    Mock::given(method("GET"))
        .and(path(CATALOGUE_PATH))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"object": "list", "data": catalogue})),
        )
        .mount(server)
        .await;
}

// ---------------------------------------------------------------------------------------------
// What is checked on every page

/// Answers a list of problems (empty: all is well). Arguments: whether the page is meant to be
/// English, whether dark mode is emulated.
pub(super) const LAYOUT_JS: &str = r##"
const [english, dark] = arguments;
const problems = [];
const name = (el) => {
  let s = el.tagName.toLowerCase();
  if (el.id) s += "#" + el.id;
  if (el.classList && el.classList.length) s += "." + Array.from(el.classList).join(".");
  return s;
};
const W = window.innerWidth;
const doc = document.documentElement;

// 1. Nothing scrolls sideways: neither the page nor any box in it.
if (doc.scrollWidth > W) {
  const wide = Array.from(document.querySelectorAll("body *"))
    .filter((el) => { const r = el.getBoundingClientRect(); return r.width > 0 && r.right > W + 1; })
    .slice(-4).map(name);
  problems.push(`the page scrolls sideways (${doc.scrollWidth} px in ${W}): ${wide.join(", ")}`);
}
for (const el of document.querySelectorAll("body *")) {
  if (el.matches("input, textarea, select, option")) continue;
  const overflow = getComputedStyle(el).overflowX;
  if ((overflow === "auto" || overflow === "scroll") && el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 1) {
    problems.push(`${name(el)} scrolls sideways inside (${el.scrollWidth} px in ${el.clientWidth})`);
  }
}

// 2. No text broken into one or two characters a line; nothing that must stay on one line wraps.
const linesOf = (node) => {
  const range = document.createRange();
  range.selectNodeContents(node);
  const tops = [];
  for (const r of range.getClientRects()) {
    if (r.width < 1 || r.height < 1) continue;
    if (!tops.some((t) => Math.abs(t - r.top) < r.height / 2)) tops.push(r.top);
  }
  return tops.length;
};
const oneLine = "button, .button, time, .nowrap, .badge, dt, thead th, header.site nav a, .tier";
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
for (let node = walker.nextNode(); node; node = walker.nextNode()) {
  const text = node.textContent.replace(/\s+/g, "");
  const parent = node.parentElement;
  if (text.length < 2 || !parent || parent.closest("script, style, template, svg, textarea, select")) continue;
  const lines = linesOf(node);
  if (lines < 2) continue;
  const single = parent.closest(oneLine);
  if (single) {
    problems.push(`"${text.slice(0, 40)}" in ${name(single)} wraps onto ${lines} lines`);
  } else if (text.length / lines < 3) {
    problems.push(`"${text.slice(0, 40)}" in ${name(parent)} breaks into ${lines} lines of ${(text.length / lines).toFixed(1)} characters`);
  }
}

// 3. Every table has the phone layout, and every data cell says what it is.
for (const table of document.querySelectorAll("main table")) {
  if (!table.classList.contains("cards")) problems.push(`${name(table)} has no phone layout (class cards)`);
  for (const cell of table.querySelectorAll("tbody td, tbody th")) {
    // A row's model heading is its card's title on a phone (its label would never show).
    if (cell.dataset.label || cell.matches("th.model[scope=row]") || cell.classList.contains("actions-cell") || !cell.textContent.trim()) continue;
    problems.push(`a cell of ${name(table)} has no data-label: "${cell.textContent.trim().slice(0, 40)}"`);
  }
}

// 4. Nothing is fetched from anywhere but the app (the favicon included).
const icon = document.querySelector('link[rel="icon"]');
if (!icon || new URL(icon.href).origin !== location.origin) problems.push("no favicon of the app's own");
for (const entry of performance.getEntriesByType("resource")) {
  if (new URL(entry.name).origin !== location.origin) problems.push(`an external request: ${entry.name}`);
}

// 5. The colour scheme asked for: light text on a dark page, or the other way round.
const rgb = (c) => (c.match(/[\d.]+/g) || []).slice(0, 3).map(Number);
const lum = ([r, g, b]) => {
  const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
  return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
};
const bg = lum(rgb(getComputedStyle(doc).backgroundColor));
const fg = lum(rgb(getComputedStyle(document.body).color));
if (dark ? !(bg < 0.05 && fg > 0.5) : !(bg > 0.8 && fg < 0.05)) {
  problems.push(`not ${dark ? "dark" : "light"}: page background luminance ${bg.toFixed(3)}, text ${fg.toFixed(3)}`);
}

// 6. An English page has no Chinese outside elements marked with another language.
if (english) {
  const cjk = /[\u2e80-\u2fff\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef]/;
  const found = [];
  const consider = (where, text) => { if (text && cjk.test(text)) found.push(`${where}: "${text.trim().slice(0, 60)}"`); };
  const attributes = ["placeholder", "aria-label", "title", "data-label", "data-busy", "data-check", "data-copied", "alt", "value"];
  const look = (el, where) => {
    if (el.closest && el.closest('[lang]:not([lang^="en"])')) return;
    for (const child of el.childNodes) if (child.nodeType === 3) consider(where + name(el), child.textContent);
    for (const attribute of attributes) consider(`${where}${name(el)}[${attribute}]`, el.getAttribute(attribute));
  };
  consider("title", document.title);
  for (const el of document.querySelectorAll("body *")) look(el, "");
  for (const t of document.querySelectorAll("template")) for (const el of t.content.querySelectorAll("*")) look(el, "template ");
  if (found.length) problems.push(`Chinese on an English page: ${found.slice(0, 8).join("; ")}`);
}
// 7. The bar is one line (on a phone the signed-in links are behind "Menu").
const bar = document.querySelector("header.site");
if (bar && bar.getBoundingClientRect().height > 64) problems.push(`the bar is ${bar.getBoundingClientRect().height} px high`);
return problems;
"##;

/// A streamed run's state, read in one script call per poll.
#[derive(Debug, Deserialize)]
struct RunState {
    path: String,
    disabled: bool,
    every_run_button_disabled: bool,
    text: String,
    busy: String,
    finished: bool,
    failed: bool,
    rows: usize,
    pending: usize,
}

/// A state of the page [`record_run_js`] kept, with the page's clock (ms).
#[derive(Debug, Deserialize)]
struct Recorded {
    t: f64,
    state: RunState,
}

/// Starts recording [`RUN_STATE_JS`] for the button `arguments[0]` after every change to the
/// page (`window.__msbRun`), and once now.
fn record_run_js() -> String {
    format!(
        "const selector = arguments[0];
         const snapshot = function () {{ {RUN_STATE_JS} }};
         const states = [];
         window.__msbRun = states;
         const take = () => states.push({{ t: performance.now(), state: snapshot(selector) }});
         take();
         new MutationObserver(take).observe(document.body,
           {{ subtree: true, childList: true, attributes: true, characterData: true }});
         return true;"
    )
}

const RUN_STATE_JS: &str = r##"
const button = document.querySelector(arguments[0]);
const part = (name) => document.querySelector(`#live-results [data-part=${name}]`);
const shown = (el) => !!el && !el.hidden;
const rows = Array.from(document.querySelectorAll("#live-results [data-field=rows] tr"));
return {
  path: location.pathname,
  disabled: !!button && button.disabled,
  every_run_button_disabled: Array.from(document.querySelectorAll("form[data-stream-url] button[type=submit]")).every((b) => b.disabled),
  text: button ? button.textContent.trim() : "",
  busy: button ? button.dataset.busy || "" : "",
  finished: shown(part("after")),
  failed: shown(part("failed")),
  rows: rows.length,
  pending: rows.filter((tr) => tr.className === "row-pending").length,
};
"##;

/// Whether a disabled run button reads its busy word and a count, "查询中… 1/3".
fn counts(state: &RunState) -> bool {
    let counter = state.text.strip_prefix(state.busy.as_str()).map(str::trim);
    !state.busy.is_empty()
        && counter.is_some_and(|c| {
            c.split_once('/').is_some_and(|(done, total)| {
                done.parse::<u32>().is_ok() && total.parse::<u32>().is_ok()
            })
        })
}

/// What the live points strip shows.
#[derive(Debug, Deserialize)]
struct LiveStrip {
    visible: bool,
    available: String,
    title: String,
    check_title: String,
}

const LIVE_STRIP_JS: &str = r##"
const strip = document.querySelector("#live-results [data-part=balance]");
const title = document.querySelector("#live-results [data-field=title]");
return {
  visible: !!strip && !strip.hidden && strip.getBoundingClientRect().height > 0,
  available: (document.querySelector("#live-results [data-field=available]") || {}).textContent || "",
  title: title ? title.textContent.trim() : "",
  check_title: title ? title.dataset.check || "" : "",
};
"##;

/// What the rows of a free check show: nothing called, so nothing healthy, no latency, no
/// progress count and nothing to retry.
#[derive(Debug, Deserialize)]
struct CheckedRows {
    rows: usize,
    unchecked: usize,
    green: usize,
    statuses_say_unchecked: bool,
    latencies: Vec<String>,
    progress_hidden: bool,
    retry_hidden: bool,
}

const CHECKED_ROWS_JS: &str = r##"
const s = document.getElementById("live-results");
const rows = Array.from(s.querySelectorAll("tbody[data-field=rows] tr"));
const words = document.getElementById("live-words");
const unchecked = words.content.querySelector("[data-code=unchecked]").textContent.trim();
return {
  rows: rows.length,
  unchecked: rows.filter((tr) => tr.className === "row-unchecked").length,
  green: s.querySelectorAll("tbody .badge.ok").length,
  statuses_say_unchecked: rows.every((tr) => tr.querySelector("[data-field=status]").textContent.trim().startsWith(unchecked)),
  latencies: rows.map((tr) => tr.querySelector("[data-field=latency]").textContent.trim()),
  progress_hidden: s.querySelector("[data-part=progress]").hidden,
  retry_hidden: s.querySelector("[data-action=retry]").hidden,
};
"##;

/// What a chart page shows, for the readability checks.
#[derive(Debug, Deserialize)]
struct ChartState {
    labels: usize,
    smallest_label_px: f64,
    lines: usize,
    legend: Vec<String>,
    table_rows: usize,
}

const CHART_JS: &str = r##"
const labels = Array.from(document.querySelectorAll("svg.trend text"));
return {
  labels: labels.length,
  smallest_label_px: Math.min(...labels.map((t) => t.getBoundingClientRect().height)),
  lines: document.querySelectorAll("svg.trend polyline.line").length,
  legend: Array.from(document.querySelectorAll("figure.chart .legend li")).map((li) => li.textContent.trim()),
  table_rows: document.querySelectorAll("figure.chart ~ .table-wrap tbody tr").length,
};
"##;

// ---------------------------------------------------------------------------------------------
// The tour

/// (The passkeys' tour, `passkeys.rs`, walks its own pages with these checks.)
pub(super) struct Tour<'a> {
    pub(super) tab: Tab,
    pub(super) app: &'a TestApp,
    pub(super) upstream: &'a MockServer,
    /// The app's clock: the forecast step moves it between readings.
    pub(super) clock: &'a modelscope_balance::clock::ManualClock,
    pub(super) speaks: Speaks,
    pub(super) shots: PathBuf,
    pub(super) shot_count: Cell<u32>,
    /// Whether dark mode is emulated right now.
    pub(super) dark: Cell<bool>,
}

impl Deref for Tour<'_> {
    type Target = Tab;

    fn deref(&self) -> &Tab {
        &self.tab
    }
}

impl Tour<'_> {
    async fn run(&self) -> Step<()> {
        self.begin("quick page");
        self.goto("/").await?;
        self.check_page("quick").await?;
        self.begin("quick run");
        self.quick_runs().await?;
        self.begin("sign-in pages");
        self.goto("/login").await?;
        if crate::oidc::provider().is_some() {
            self.wait_for_elements("/login", "#sso-button", 1).await?;
        }
        self.check_page("login").await?;
        self.goto("/signup").await?;
        self.check_page("signup").await?;
        self.begin("sign up");
        self.sign_up().await?;
        self.begin("keys");
        let key_id = self.save_and_check_key().await?;
        self.begin("presets");
        let preset_id = self.make_preset().await?;
        self.begin("query");
        let run_href = self.query(&key_id, &preset_id).await?;
        self.begin("dashboard");
        self.dashboard().await?;
        self.begin("forecast and expiry");
        self.forecast(&key_id).await?;
        self.begin("the dashboard's cards");
        super::dashboard::cards_follow_runs(self, self.app, &key_id).await?;
        self.begin("history");
        self.goto("/history").await?;
        self.check_page("history").await?;
        self.goto(&run_href).await?;
        self.check_page("history-detail").await?;
        self.begin("model trend");
        self.goto(&format!("/history/model/{MODEL_B}")).await?;
        self.check_page("trend").await?;
        self.chart_is_readable("the model trend").await?;
        self.begin("balance trend");
        self.goto("/history/balance").await?;
        self.check_page("balance-trend").await?;
        self.trend_switch().await?;
        self.begin("account");
        self.goto("/account").await?;
        self.check_page("account").await?;
        self.new_token().await?;
        self.begin("passkeys");
        self.goto("/account/passkeys").await?;
        if crate::oidc::provider().is_some() {
            // Single sign-on sets public_url: passkeys are offered for its domain.
            self.wait_for_selector("#passkey-register").await?;
            self.check_page("passkeys").await?;
        } else {
            // Without public_url, 127.0.0.1 (not a name a passkey can belong to) says so.
            self.wait_for_selector("#passkeys-unavailable").await?;
            self.check_page("passkeys-no-public-url").await?;
        }
        self.begin("two-factor sign-in");
        self.two_factor().await?;
        self.begin("admin pages");
        self.admin_pages().await?;
        self.begin("monitoring pages");
        self.monitoring_pages().await?;
        self.begin("history as a ledger");
        self.ledger(&key_id).await?;
        self.begin("confirmations");
        self.goto(&format!("/presets/{preset_id}/delete")).await?;
        self.check_page("preset-delete").await?;
        self.goto(&format!("/keys/{key_id}/delete")).await?;
        self.check_page("key-delete").await?;
        // The monitor's, reached from its delete link (a monitor is named by what it checks,
        // when, and its keys: the longest name a confirmation shows).
        self.goto("/monitors").await?;
        let monitor_delete: String = self
            .js(
                "return document.querySelector(\"section.monitor a[href$='/delete']\")\
                 .getAttribute('href');",
                vec![],
            )
            .await?;
        self.goto(&monitor_delete).await?;
        self.check_page("monitor-delete").await?;
        self.begin("not found");
        self.goto("/no-such-page").await?;
        let heading: String = self
            .js(
                "return document.querySelector('main h1').textContent.trim();",
                vec![],
            )
            .await?;
        ensure!(heading == "404", "the missing page is headed {heading:?}");
        self.check_page("not-found").await?;
        self.begin("dark mode");
        self.dark_mode(&run_href).await?;
        self.begin("delete the key");
        self.delete_key(&key_id).await
    }

    pub(super) fn lang(&self) -> &'static str {
        match self.speaks {
            Speaks::Chinese => "zh",
            Speaks::English => "en",
        }
    }

    // -- the checks -----------------------------------------------------------------------

    /// Emulates a screen `width` wide (a phone's also as a mobile viewport).
    /// The layout checks at both widths, with a screenshot of each; ends at the phone width.
    /// The channels page, the monitors page empty and with a monitor on the saved key (ticked
    /// already: it is the only one), and the empty delivery log.
    async fn monitoring_pages(&self) -> Step<()> {
        self.goto("/channels").await?;
        self.channel_form_shows_its_kind().await?;
        self.check_page("channels").await?;
        self.goto("/monitors").await?;
        self.check_page("monitors-empty").await?;
        self.click("#monitor-form button[type=submit]").await?;
        self.wait_for_elements("/monitors", "section.monitor", 1)
            .await?;
        self.check_page("monitors").await?;
        self.goto("/monitors/deliveries").await?;
        self.check_page("deliveries").await
    }

    /// The channel form shows the chosen kind's fields only: a webhook no SMTP or bot field,
    /// an email no URL.
    async fn channel_form_shows_its_kind(&self) -> Step<()> {
        let shown: Vec<Vec<String>> = self
            .js(
                r#"const kind = document.getElementById("kind");
                const visible = () => ["url", "secret", "chat_id", "smtp_host", "smtp_password"]
                    .filter((id) => document.getElementById(id).offsetParent !== null);
                const pick = (value) => {
                    kind.value = value;
                    kind.dispatchEvent(new Event("change", { bubbles: true }));
                    return visible();
                };
                return [pick("webhook"), pick("telegram"), pick("email"), pick("webhook")];"#,
                vec![],
            )
            .await?;
        let expected: [&[&str]; 4] = [
            &["url", "secret"],
            &["url", "secret", "chat_id"],
            &["smtp_host", "smtp_password"],
            &["url", "secret"],
        ];
        for (got, want) in shown.iter().zip(expected) {
            ensure!(got == want, "channel form fields: {shown:?}");
        }
        Ok(())
    }

    /// The monitor made on the monitors page checks the key; the history folds its checks into
    /// a row a day and filters by kind, source and a part of a model id (`ledger.rs`).
    async fn ledger(&self, key_id: &str) -> Step<()> {
        let user = format!("tour_{}", self.lang());
        let checks = super::ledger::let_the_monitor_check(self.app, &user).await?;
        self.goto("/history").await?;
        self.check_page("history-ledger").await?;
        super::ledger::folded_and_filtered(&self.tab, key_id, checks).await
    }

    pub(super) async fn check_page(&self, page: &str) -> Step<()> {
        for width in [DESKTOP, PHONE] {
            self.set_width(width).await?;
            let problems: Vec<String> = self
                .js(
                    LAYOUT_JS,
                    vec![
                        json!(self.speaks == Speaks::English),
                        json!(self.dark.get()),
                    ],
                )
                .await?;
            ensure!(
                problems.is_empty(),
                "{page} at {} px:\n  {}",
                width.width,
                problems.join("\n  ")
            );
            let scheme = if self.dark.get() { "dark-" } else { "" };
            self.screenshot(&format!("{scheme}{page}-{}", width.name))
                .await?;
        }
        Ok(())
    }

    /// A full-page PNG in `target/screenshots/`.
    async fn screenshot(&self, name: &str) -> Step<()> {
        let shot = self
            .cdp(
                "Page.captureScreenshot",
                json!({"format": "png", "captureBeyondViewport": true}),
            )
            .await?;
        let data = shot["data"].as_str().ok_or("no screenshot data")?;
        let png = base64::engine::general_purpose::STANDARD
            .decode(data)
            .ctx("decode the screenshot")?;
        let n = self.shot_count.get() + 1;
        self.shot_count.set(n);
        let file = self
            .shots
            .join(format!("{}-{n:02}-{name}.png", self.lang()));
        std::fs::write(&file, png).ctx(&format!("write {}", file.display()))
    }

    async fn chat_calls(&self) -> Step<usize> {
        let requests = self
            .upstream
            .received_requests()
            .await
            .ok_or("wiremock did not record requests")?;
        Ok(requests
            .iter()
            .filter(|r| r.url.path() == CHAT_PATH)
            .count())
    }

    /// Clicks `button` of a streaming form and watches the run: the run buttons are disabled
    /// and the pressed one counts "n/N" while it streams (when `watch_busy`), and all are
    /// themselves again after it. Answers how many rows the run showed.
    async fn run_and_watch(&self, button: &str, watch_busy: bool) -> Step<usize> {
        let before: RunState = self.js(RUN_STATE_JS, vec![json!(button)]).await?;
        ensure!(
            !before.disabled && !before.text.is_empty(),
            "the button {button} is not ready: {before:?}"
        );
        let label = before.text.clone();
        let path = before.path.clone();
        // The page records its state after every change (a MutationObserver), so the busy
        // count is seen however briefly it shows and however slowly this loop polls.
        let recording: bool = self.js(&record_run_js(), vec![json!(button)]).await?;
        ensure!(recording, "could not watch {button}");
        self.click(button).await?;
        // Wait for the end (polled: it must come), failing early if the page gives up.
        let deadline = Instant::now() + RUN_TIMEOUT;
        let state = loop {
            let state: RunState = self.js(RUN_STATE_JS, vec![json!(button)]).await?;
            ensure!(
                state.path == path,
                "the page left {path} for {} (the script fell back to a plain post?)",
                state.path
            );
            ensure!(!state.failed, "the page says the stream failed");
            if state.finished && !state.disabled {
                break state;
            }
            ensure!(
                Instant::now() < deadline,
                "the run did not finish within {RUN_TIMEOUT:?}: {state:?}"
            );
            tokio::time::sleep(Duration::from_millis(30)).await;
        };
        let states: Vec<Recorded> = self.js("return window.__msbRun;", vec![]).await?;
        let streaming = || {
            states
                .iter()
                .filter(|r| r.state.disabled && !r.state.finished)
        };
        let busy_seen = streaming().find(|r| counts(&r.state)).map(|r| &r.state);
        let disabled_seen = streaming().next().map(|r| &r.state);
        // In the page's own clock: how long it read "finished" with the button still disabled
        // (from the run's start on: until then the last run's end may still show).
        let run = &states[states.iter().position(|r| !r.state.finished).unwrap_or(0)..];
        let finished_at = run.iter().find(|r| r.state.finished).map(|r| r.t);
        let enabled_at = run
            .iter()
            .find(|r| r.state.finished && !r.state.disabled)
            .map(|r| r.t);
        if let (Some(finished), Some(enabled)) = (finished_at, enabled_at) {
            let disabled_for = Duration::from_secs_f64((enabled - finished).max(0.0) / 1000.0);
            ensure!(
                disabled_for < Duration::from_secs(3),
                "the run finished and the button stayed disabled for {disabled_for:?}"
            );
        }
        if watch_busy {
            let busy = busy_seen.ok_or_else(|| {
                format!(
                    "the button never counted \"n/N\" while the run streamed (disabled: \
                     {disabled_seen:?})"
                )
            })?;
            ensure!(
                busy.every_run_button_disabled,
                "while streaming, every run button should be disabled: {busy:?}"
            );
        }
        ensure!(
            state.text == label && !state.every_run_button_disabled,
            "after the run the button reads {:?} (was {label:?}); all disabled: {}",
            state.text,
            state.every_run_button_disabled
        );
        ensure!(state.pending == 0, "rows still pending: {state:?}");
        Ok(state.rows)
    }

    /// The free balance-only check on `form` at `width`: no chat completion upstream, the
    /// points strip shown.
    async fn check_only(&self, form: &str, width: Width) -> Step<()> {
        self.set_width(width).await?;
        let calls = self.chat_calls().await?;
        self.run_and_watch(&format!("{form} button[name=probe][value=false]"), false)
            .await?;
        let after = self.chat_calls().await?;
        ensure!(
            after == calls,
            "the balance-only check at {} px made {} chat-completion calls upstream",
            width.width,
            after - calls
        );
        let strip: LiveStrip = self.js(LIVE_STRIP_JS, vec![]).await?;
        ensure!(
            strip.visible && strip.available == AVAILABLE && strip.title == strip.check_title,
            "after the balance-only check at {} px the strip reads {strip:?}",
            width.width
        );
        let rows: CheckedRows = self.js(CHECKED_ROWS_JS, vec![]).await?;
        ensure!(
            rows.rows > 0
                && rows.unchecked == rows.rows
                && rows.green == 0
                && rows.statuses_say_unchecked
                && rows.latencies.iter().all(|l| l == "—")
                && rows.progress_hidden
                && rows.retry_hidden,
            "a free check's rows say \"未检测\", no green badge, no latency, no \"0 / 0\", no \
             retry: {rows:?}"
        );
        Ok(())
    }

    pub(super) async fn wait_for_selector(&self, selector: &str) -> Step<()> {
        let what = format!("wait for {selector}");
        self.wait_for(&what, STEP_TIMEOUT, async || {
            let found: bool = self
                .js(
                    "return document.readyState === 'complete' && !!document.querySelector(arguments[0]);",
                    vec![json!(selector)],
                )
                .await?;
            Ok(found.then_some(()))
        })
        .await
    }

    pub(super) async fn text_of(&self, selector: &str) -> Step<String> {
        self.js(
            "const e = document.querySelector(arguments[0]); \
             return e ? e.textContent.replace(/\\s+/g, ' ').trim() : '';",
            vec![json!(selector)],
        )
        .await
    }

    async fn chart_is_readable(&self, what: &str) -> Step<()> {
        for width in [DESKTOP, PHONE] {
            self.set_width(width).await?;
            let chart: ChartState = self.js(CHART_JS, vec![]).await?;
            ensure!(
                chart.labels >= 3 && chart.smallest_label_px >= 11.0,
                "{what} at {} px: the smallest of {} labels is {:.1} px tall",
                width.width,
                chart.labels,
                chart.smallest_label_px
            );
            ensure!(
                chart.lines == 1 && chart.legend == [KEY_LABEL],
                "{what}: one line per key, named in the legend: {chart:?}"
            );
            ensure!(
                chart.table_rows >= 1,
                "{what}: no table of the points under the chart: {chart:?}"
            );
        }
        Ok(())
    }

    // -- the steps ------------------------------------------------------------------------

    /// Signed out: a query streamed at desktop width, then the free check on a phone.
    async fn quick_runs(&self) -> Step<()> {
        self.set_width(DESKTOP).await?;
        self.type_into("#api_key", KEY).await?;
        let models: Vec<&str> = MODELS.iter().map(|(m, _, _)| *m).collect();
        self.type_into("#models", &models.join("\n")).await?;
        let calls = self.chat_calls().await?;
        let rows = self
            .run_and_watch(
                "form[action='/quick'] button[type=submit]:not([name])",
                true,
            )
            .await?;
        ensure!(rows == MODELS.len(), "the quick run shows {rows} rows");
        let made = self.chat_calls().await? - calls;
        ensure!(made == MODELS.len(), "the quick run made {made} chat calls");
        let strip: LiveStrip = self.js(LIVE_STRIP_JS, vec![]).await?;
        ensure!(
            strip.visible && strip.available == AVAILABLE,
            "the quick result's strip reads {strip:?}"
        );
        self.check_page("quick-result").await?;
        self.check_only("form[action='/quick']", PHONE).await?;
        self.check_only("form[action='/quick']", DESKTOP).await
    }

    async fn sign_up(&self) -> Step<()> {
        self.goto("/signup").await?;
        self.type_into("#username", &format!("tour_{}", self.lang()))
            .await?;
        self.type_into("#password", PASSWORD).await?;
        self.type_into("#password_confirm", PASSWORD).await?;
        self.click("form[action='/signup'] button[type=submit]")
            .await?;
        self.wait_for_elements("/", "header a.who", 1).await?;
        self.check_page("dashboard-empty").await
    }

    /// Saves the key, checks it for free, and answers its id.
    async fn save_and_check_key(&self) -> Step<String> {
        self.goto("/keys").await?;
        self.type_into("#label", KEY_LABEL).await?;
        self.type_into("#api_key", KEY).await?;
        self.click("form[action='/keys'] button[type=submit]")
            .await?;
        self.wait_for_elements("/keys", "table.keys-table tbody tr", 1)
            .await?;
        let id: String = self
            .js(
                "return document.querySelector('table.keys-table tbody tr').id.replace('key-', '');",
                vec![],
            )
            .await?;
        ensure!(
            !id.is_empty() && id.chars().all(|c| c.is_ascii_digit()),
            "the key row has no id ({id:?})"
        );
        let calls = self.chat_calls().await?;
        self.click(&format!("form[action='/keys/{id}/check'] button"))
            .await?;
        self.wait_for_selector(".check-result .badge.ok").await?;
        ensure!(
            self.chat_calls().await? == calls,
            "checking a key made a chat call"
        );
        self.check_page("keys").await?;
        Ok(id)
    }

    async fn make_preset(&self) -> Step<String> {
        self.goto("/presets").await?;
        self.type_into("form[action='/presets'] #name", PRESET)
            .await?;
        let models: Vec<&str> = MODELS.iter().map(|(m, _, _)| *m).collect();
        self.type_into("form[action='/presets'] #models", &models.join("\n"))
            .await?;
        self.click("form[action='/presets'] button[type=submit]")
            .await?;
        self.wait_for_elements("/presets", "table.presets-table tbody tr", 1)
            .await?;
        let id: String = self
            .js(
                "return document.querySelector('table.presets-table tbody tr').id.replace('preset-', '');",
                vec![],
            )
            .await?;
        self.check_page("presets").await?;
        Ok(id)
    }

    /// Runs the preset on `/query` at desktop width; answers the stored run's address.
    async fn query(&self, key_id: &str, preset_id: &str) -> Step<String> {
        self.goto("/query").await?;
        self.set_width(DESKTOP).await?;
        self.client
            .find(Locator::Css("#key_id"))
            .await
            .ctx("find the key select")?
            .select_by_value(key_id)
            .await
            .ctx("choose the key")?;
        self.client
            .find(Locator::Css("#preset_id"))
            .await
            .ctx("find the preset select")?
            .select_by_value(preset_id)
            .await
            .ctx("choose the preset")?;
        let rows = self
            .run_and_watch("#query-form button[type=submit]:not([name])", true)
            .await?;
        ensure!(rows == MODELS.len(), "the run shows {rows} rows");
        let href: String = self
            .js(
                "const a = document.querySelector('#live-results a[data-part=done]'); \
                 return a && !a.hidden ? a.getAttribute('href') : '';",
                vec![],
            )
            .await?;
        ensure!(
            href.starts_with("/history/"),
            "no link to the stored run: {href:?}"
        );
        self.check_page("query-result").await?;
        Ok(href)
    }

    /// The dashboard's latest numbers with the key's points strip, the phone's first screen
    /// (`dashboard.rs`); the free check from it at both widths.
    async fn dashboard(&self) -> Step<()> {
        self.goto("/").await?;
        let available = self
            .text_of(".key-panel .strip [data-field=available]")
            .await?;
        ensure!(
            available == AVAILABLE,
            "the dashboard's points strip reads {available:?}"
        );
        self.check_page("dashboard").await?;
        super::dashboard::phone_first(self, AVAILABLE).await?;
        let census = self
            .text_of("form.preset-run button[name=measure_prices]")
            .await?;
        ensure!(
            census.contains("测出单价") || census.contains("Measure prices"),
            "the dashboard offers a census of the unknown prices, with its cost: {census:?}"
        );
        self.check_only("form.preset-run", PHONE).await?;
        self.check_only("form.preset-run", DESKTOP).await?;
        self.check_page("dashboard-checked").await
    }

    /// Readings an hour apart that spend, then a grant: the strip says when the points run out
    /// at that pace and which points expire when (an estimate). Each reading is the free
    /// refresh, with the clock moved and the balance double answering the next balance once.
    async fn forecast(&self, key_id: &str) -> Step<()> {
        for (minutes, available) in [(60, 230.5), (120, 220.5), (150, 420.5)] {
            Mock::given(method("GET"))
                .and(path(BALANCE_PATH))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                    "success": true, "request_id": "r",
                    "data": {"total_balance": available + 9.5, "available_balance": available,
                             "frozen_amount": 9.5}
                })))
                .with_priority(1)
                .up_to_n_times(1)
                .mount(self.upstream)
                .await;
            let step = if minutes == 150 { 1800 } else { 3600 };
            self.clock.advance(Duration::from_secs(step));
            self.goto("/").await?;
            let calls = self.chat_calls().await?;
            self.click(&format!("form[action='/keys/{key_id}/refresh'] button"))
                .await?;
            let expected = available.to_string();
            self.wait_for("the refreshed balance", STEP_TIMEOUT, async || {
                let shown: Option<String> = self
                    .js(
                        "const f = document.querySelector('.key-panel .strip [data-field=available]');\
                         return f ? f.textContent.trim() : null;",
                        vec![],
                    )
                    .await?;
                Ok((shown.as_deref() == Some(expected.as_str())).then_some(()))
            })
            .await?;
            ensure!(
                self.chat_calls().await? == calls,
                "the refresh made a chat call"
            );
        }
        self.wait_for_selector(".strip .forecast[data-basis=pace]")
            .await?;
        self.wait_for_selector(".strip .expiring[data-exact=false]")
            .await?;
        self.check_page("dashboard-forecast").await
    }

    /// The balance trend's today / 7 days / 30 days switch.
    async fn trend_switch(&self) -> Step<()> {
        for range in ["30d", "today", "7d"] {
            self.click(&format!(".range-switch a[href$='range={range}']"))
                .await?;
            self.wait_for_elements(
                "/history/balance",
                &format!(".range-switch a[href$='range={range}'][aria-current=page]"),
                1,
            )
            .await?;
            self.check_page(&format!("balance-trend-{range}")).await?;
        }
        // Seven days, whatever the hour: the tour's clock moves, and may cross midnight.
        self.chart_is_readable("the balance trend").await?;
        ensure!(
            self.source().await?.contains("class=\"line forecast\""),
            "the balance trend draws the forecast dashed"
        );
        Ok(())
    }

    /// Makes a token; the page it lands on shows it once.
    async fn new_token(&self) -> Step<()> {
        self.type_into("#token_name", TOKEN_NAME).await?;
        self.click("form[action='/account/tokens'] button[type=submit]")
            .await?;
        self.wait_for_selector(".secret-once").await?;
        let here = self.path().await?;
        ensure!(
            here.starts_with("/account/tokens/new/"),
            "the new token is shown at {here}"
        );
        let token = self.text_of(".secret-once").await?;
        ensure!(token.starts_with("msb_"), "the page shows {token:?}");
        self.check_page("token").await
    }

    /// Two-factor sign-in: the page while off, the enrolment (QR code, link, secret), the
    /// recovery codes shown once, the page while on, ten new recovery codes; then signing out
    /// and in again through the second step with a new recovery code.
    async fn two_factor(&self) -> Step<()> {
        self.goto(tf::PAGE).await?;
        self.check_page("two-factor-off").await?;
        self.click("form[action='/account/two-factor/start'] button[type=submit]")
            .await?;
        self.wait_for_selector("#totp-secret").await?;
        self.check_page("two-factor-enrol").await?;
        let uri: String = self
            .js(
                "return document.getElementById('totp-uri').getAttribute('href');",
                vec![],
            )
            .await?;
        let code = tf::code_at(&uri, self.app.clock.now());
        self.type_into("#code", &code).await?;
        self.click("form[action='/account/two-factor/confirm'] button[type=submit]")
            .await?;
        self.wait_for_selector("#recovery-codes").await?;
        self.check_page("two-factor-codes").await?;
        let codes = self.text_of("#recovery-codes").await?;
        let first = codes
            .split_whitespace()
            .next()
            .ok_or("no recovery code shown")?
            .to_owned();
        self.goto(tf::PAGE).await?;
        self.check_page("two-factor-on").await?;
        // Ten new recovery codes, with the password and one of the old codes.
        self.type_into("#codes_password", PASSWORD).await?;
        self.type_into("#codes_code", &first).await?;
        self.click("form[action='/account/two-factor/recovery-codes'] button[type=submit]")
            .await?;
        self.wait_for_selector("#recovery-codes").await?;
        self.check_page("two-factor-new-codes").await?;
        let codes = self.text_of("#recovery-codes").await?;
        let recovery = codes
            .split_whitespace()
            .next()
            .ok_or("no new recovery code shown")?
            .to_owned();
        ensure!(recovery != first, "the recovery codes were not replaced");
        // Out, and in again: the password, then the second step.
        self.js::<serde_json::Value>(
            "document.querySelector(\"form[action='/logout']\").submit(); return null;",
            vec![],
        )
        .await?;
        self.wait_for_elements("/login", "form[action='/login']", 1)
            .await?;
        self.type_into("#username", &format!("tour_{}", self.lang()))
            .await?;
        self.type_into("#password", PASSWORD).await?;
        self.click("form[action='/login'] button[type=submit]")
            .await?;
        self.wait_for_elements(tf::SECOND_STEP, "form[action='/login/two-factor']", 1)
            .await?;
        self.check_page("login-two-factor").await?;
        self.type_into("#code", &recovery).await?;
        self.click("form[action='/login/two-factor'] button[type=submit]")
            .await?;
        self.wait_for_elements("/", "header a.who", 1).await
    }

    /// The admin page (the Chinese tour's account is the first, so the admin; the English one
    /// is granted admin on the command line), a reset link shown once, the reset form it
    /// opens, and the confirmation before deleting an account.
    async fn admin_pages(&self) -> Step<()> {
        let me = format!("tour_{}", self.lang());
        if self.speaks == Speaks::English {
            let (status, out, err) = self.app.cli(&["admin", "grant", &me]);
            ensure!(status.success(), "admin grant: {out}{err}");
        }
        // A price for everyone, so the page lists one.
        self.goto("/admin").await?;
        self.type_into("#price-model", MODEL_A).await?;
        self.click("#prices form.price-form button[type=submit]")
            .await?;
        self.wait_for_selector("p.flash").await?;
        self.goto("/admin").await?;
        self.check_page("admin").await?;
        let row = format!("tr#user-{}", self.user_id(&me)?);
        self.click(&format!("{row} form[action$='/reset-link'] button"))
            .await?;
        self.wait_for_selector("#new-reset-link").await?;
        self.check_page("admin-reset-link").await?;
        let link = self.text_of("#new-reset-link").await?;
        let path = link[link.find("/reset/").ok_or("no reset path in the link")?..].to_owned();
        self.goto(&path).await?;
        self.check_page("reset").await?;
        self.goto(&format!("/admin/users/{}/delete", self.user_id(&me)?))
            .await?;
        self.check_page("user-delete").await?;
        // An invitation, shown once, and the sign-up page it opens.
        self.goto("/admin").await?;
        self.click("form[action='/admin/invitations'] button[type=submit]")
            .await?;
        self.wait_for_selector("#new-invitation").await?;
        self.check_page("admin-invitation").await?;
        let link = self.text_of("#new-invitation").await?;
        let path = link[link.find("/signup?").ok_or("no sign-up path in the link")?..].to_owned();
        self.goto(&path).await?;
        self.check_page("signup-invited").await?;
        // Sign-up closed, as a visitor reads it; then open again for the next tour.
        for (mode, page) in [("closed", Some("signup-closed")), ("open", None)] {
            self.goto("/admin").await?;
            self.click(&format!("#signup input[value={mode}]")).await?;
            self.click("form[action='/admin/signup'] button[type=submit]")
                .await?;
            self.wait_for_selector("p.flash").await?;
            if let Some(page) = page {
                self.goto("/signup").await?;
                self.check_page(page).await?;
            }
        }
        Ok(())
    }

    fn user_id(&self, name: &str) -> Step<i64> {
        crate::harness::db::user_id(&self.app.db(), name).ok_or_else(|| format!("no user {name}"))
    }

    async fn dark_mode(&self, run_href: &str) -> Step<()> {
        self.cdp(
            "Emulation.setEmulatedMedia",
            json!({"features": [{"name": "prefers-color-scheme", "value": "dark"}]}),
        )
        .await?;
        self.dark.set(true);
        let outcome = async {
            self.goto("/").await?;
            self.check_page("dashboard").await?;
            self.goto(run_href).await?;
            self.check_page("history-detail").await?;
            self.goto(&format!("/history/model/{MODEL_B}")).await?;
            self.check_page("trend").await
        }
        .await;
        self.cdp(
            "Emulation.setEmulatedMedia",
            json!({"features": [{"name": "prefers-color-scheme", "value": ""}]}),
        )
        .await?;
        self.dark.set(false);
        outcome
    }

    /// Deleting a key asks first: the confirmation page names it, the post deletes it, the
    /// flash on `/keys` names it and its row is gone.
    async fn delete_key(&self, key_id: &str) -> Step<()> {
        self.goto(&format!("/keys/{key_id}/delete")).await?;
        let asked = self.text_of("main").await?;
        ensure!(
            asked.contains(KEY_LABEL),
            "the confirmation does not name the key: {asked:?}"
        );
        self.goto("/keys").await?;
        ensure!(
            self.text_of(&format!("#key-{key_id}"))
                .await?
                .contains(KEY_LABEL),
            "opening the confirmation page deleted the key"
        );
        self.goto(&format!("/keys/{key_id}/delete")).await?;
        self.click(&format!(
            "form[action='/keys/{key_id}/delete'] button[type=submit]"
        ))
        .await?;
        self.wait_for_elements("/keys", ".flash", 1).await?;
        let flash = self.text_of(".flash").await?;
        ensure!(
            flash.contains(KEY_LABEL),
            "the flash does not name the deleted key: {flash:?}"
        );
        let left: usize = self
            .js(
                "return document.querySelectorAll('#key-' + arguments[0]).length;",
                vec![json!(key_id)],
            )
            .await?;
        ensure!(left == 0, "the deleted key is still listed");
        self.check_page("key-deleted").await
    }
}
