//! The history as a ledger, as the tour sees it (issue 20, item 1): the monitor made on the
//! monitors page checks the key a few times; `/history` folds those checks into one row a key
//! and day whose link lists each of them; the kind and source filters keep to their kind and
//! source; a part of a model id in upper case finds its runs and keeps the chosen key.

use std::time::Duration;

use serde::Deserialize;
use serde_json::json;

use super::{STEP_TIMEOUT, Step, Tab};
use crate::harness::monitoring::schedule_runs;
use crate::harness::{TestApp, db, eventually};

/// How many times the monitor checks the key.
const CHECKS: i64 = 2;

/// One row of the history table.
#[derive(Debug, Deserialize)]
struct Row {
    day: bool,
    kind: String,
    source: String,
    /// A folded day's link to each of its checks.
    link: Option<String>,
}

/// What the history page shows: its query, the filter form and the rows.
#[derive(Debug, Deserialize)]
struct Shown {
    query: String,
    key: String,
    model: String,
    probe_word: String,
    schedule_word: String,
    alert: Option<String>,
    rows: Vec<Row>,
}

const SHOWN_JS: &str = r##"
const value = (s) => document.querySelector(s).value;
const word = (s) => document.querySelector(s).textContent.trim();
const alert = document.querySelector("[role=alert]");
return {
  query: location.search,
  key: value("#filter-key"),
  model: value("#filter-model"),
  probe_word: word("#filter-kind option[value=probe]"),
  schedule_word: word("#filter-source option[value=schedule]"),
  alert: alert ? alert.textContent.trim() : null,
  rows: Array.from(document.querySelectorAll("table.history-table tbody tr")).map((tr) => ({
    day: tr.classList.contains("day"),
    kind: tr.cells[2].textContent.trim(),
    source: tr.cells[3].textContent.trim(),
    link: tr.classList.contains("day") ? tr.cells[4].querySelector("a").getAttribute("href") : null,
  })),
};
"##;

/// Fills the filter form (`[(field id, value)]`, the others emptied) and submits it like a
/// person; answers the page it lands on once its address has `expect` in its query.
const FILL_JS: &str = r##"
const [fields] = arguments;
for (const id of ["filter-key", "filter-preset", "filter-model", "filter-from", "filter-to", "filter-kind", "filter-source", "filter-status"]) {
  document.getElementById(id).value = "";
}
document.getElementById("filter-checks").value = "day";
for (const [id, v] of fields) document.getElementById(id).value = v;
document.querySelector("form[action='/history'] button[type=submit]").click();
"##;

impl Tab {
    async fn shown(&self) -> Step<Shown> {
        self.js(SHOWN_JS, vec![]).await
    }

    async fn filter(&self, fields: &[(&str, &str)], expect: &str) -> Step<Shown> {
        self.js::<serde_json::Value>(FILL_JS, vec![json!(fields)])
            .await?;
        self.wait_for(&format!("the list filtered by {expect}"), STEP_TIMEOUT, async || {
            let ready: bool = self
                .js(
                    "return document.readyState === 'complete' && location.search.includes(arguments[0]);",
                    vec![json!(expect)],
                )
                .await?;
            Ok(ready.then_some(()))
        })
        .await?;
        self.shown().await
    }
}

/// Moves the scheduler's clock past the monitor's next slot `CHECKS` times, each time waiting
/// for the check to be stored; answers how many scheduled checks `username` has.
pub(super) async fn let_the_monitor_check(app: &TestApp, username: &str) -> Step<i64> {
    let conn = app.db();
    let user = db::user_id(&conn, username).ok_or("the tour's user is not stored")?;
    let before = schedule_runs(&conn, user);
    for n in 1..=CHECKS {
        app.advance(Duration::from_secs(6 * 60)).await;
        let stored = eventually(STEP_TIMEOUT, || schedule_runs(&conn, user) >= before + n).await;
        ensure!(
            stored,
            "the monitor's check {n} was not stored within {STEP_TIMEOUT:?}"
        );
    }
    Ok(before + CHECKS)
}

/// The folded list (the tour has opened `/history`): the scheduled checks of the key are one
/// row a day, whose links list `checks` checks in all; then the filters.
pub(super) async fn folded_and_filtered(tab: &Tab, key_id: &str, checks: i64) -> Step<()> {
    let shown = tab.shown().await?;
    let days: Vec<&Row> = shown.rows.iter().filter(|r| r.day).collect();
    ensure!(
        !days.is_empty() && days.len() <= 2,
        "the monitor's checks are one row a day (two if midnight passed): {shown:#?}"
    );
    ensure!(
        days.iter().all(|d| d.source == shown.schedule_word),
        "a folded day comes from the schedule: {days:#?}"
    );
    ensure!(
        shown
            .rows
            .iter()
            .any(|r| !r.day && r.kind == shown.probe_word),
        "the probe stays visible beside the folded checks: {shown:#?}"
    );
    let links: Vec<String> = days.iter().filter_map(|d| d.link.clone()).collect();
    let mut listed = 0;
    for link in links {
        tab.client
            .goto(&tab.url(&link))
            .await
            .map_err(|e| format!("open {link}: {e}"))?;
        tab.wait_for_elements("/history", "table.history-table", 1)
            .await?;
        let each = tab.shown().await?;
        ensure!(
            each.rows
                .iter()
                .all(|r| !r.day && r.source == each.schedule_word),
            "{link} lists each scheduled check on its own row: {each:#?}"
        );
        listed += each.rows.len() as i64;
    }
    ensure!(
        listed == checks,
        "the days' links list {listed} checks, the monitor made {checks}"
    );

    // Kind and source filters, chosen in the form.
    tab.goto("/history").await?;
    let probes = tab
        .filter(&[("filter-kind", "probe")], "kind=probe")
        .await?;
    ensure!(
        !probes.rows.is_empty()
            && probes
                .rows
                .iter()
                .all(|r| !r.day && r.kind == probes.probe_word),
        "kind=probe lists probes only: {probes:#?}"
    );
    let scheduled = tab
        .filter(&[("filter-source", "schedule")], "source=schedule")
        .await?;
    ensure!(
        !scheduled.rows.is_empty()
            && scheduled
                .rows
                .iter()
                .all(|r| r.source == scheduled.schedule_word),
        "source=schedule lists the schedule's runs only: {scheduled:#?}"
    );
    ensure!(
        scheduled.rows.iter().filter(|r| r.day).count() == days.len(),
        "the folded days again: {scheduled:#?}"
    );

    // A part of a model id in upper case, with the key chosen: found, and the key stays.
    let part = crate::harness::upstream::MODEL_B
        .split('/')
        .nth(1)
        .unwrap_or_default()
        .to_ascii_uppercase();
    let by_model = tab
        .filter(
            &[("filter-key", key_id), ("filter-model", &part)],
            &format!("model={part}"),
        )
        .await?;
    ensure!(
        by_model.alert.is_none(),
        "the model part {part} was refused: {:?}",
        by_model.alert
    );
    ensure!(
        by_model.key == key_id && by_model.model == part,
        "the form lost what was asked (key {key_id}, model {part}): {by_model:#?}"
    );
    ensure!(
        by_model.query.contains(&format!("key={key_id}")) && !by_model.rows.is_empty(),
        "the key's runs of {part}: {by_model:#?}"
    );
    Ok(())
}
