//! The dashboard as the tour sees it (issue 20, items 2 and 3): on a phone the first screen
//! holds each key's available points and what they buy, under a one-line bar and a one-line
//! daily-grant note; a free check from a preset's row, and the card's own refresh, update that
//! key's card in place with JavaScript, and without it the post comes back to the card.

use std::time::Duration;

use serde::Deserialize;
use serde_json::json;

use super::{STEP_TIMEOUT, Step, Tab};
use crate::harness::TestApp;

/// How far the clock moves before each update, so the card's age says hours until it is read
/// again.
const LATER: Duration = Duration::from_secs(2 * 3600);

/// The phone's first screen on the dashboard.
#[derive(Debug, Deserialize)]
struct FirstScreen {
    viewport: f64,
    bar: f64,
    grant: f64,
    line: f64,
    /// Each headline's label, and where its available points end (px from the top).
    heads: Vec<(String, f64)>,
    /// The points of each headline.
    points: Vec<String>,
}

const FIRST_SCREEN_JS: &str = r##"
window.scrollTo(0, 0);
const grant = document.querySelector(".grant summary");
return {
  viewport: window.innerHeight,
  bar: document.querySelector("header.site").getBoundingClientRect().height,
  grant: grant ? grant.getBoundingClientRect().height : 1e9,
  line: parseFloat(getComputedStyle(grant || document.body).lineHeight),
  heads: Array.from(document.querySelectorAll(".headline li")).map((li) => {
    const points = li.querySelector("strong") || li;
    const buys = li.querySelector(".buys") || points;
    return [li.querySelector("a").textContent.trim(),
            Math.max(points.getBoundingClientRect().bottom, buys.getBoundingClientRect().bottom)];
  }),
  points: Array.from(document.querySelectorAll(".headline strong")).map((p) => p.textContent.trim()),
};
"##;

/// At the phone width on the dashboard: the bar is one line, the grant note one line, and
/// every key's points and what they buy are above the fold.
pub(super) async fn phone_first(tab: &Tab, available: &str) -> Step<()> {
    let shown: FirstScreen = tab.js(FIRST_SCREEN_JS, vec![]).await?;
    ensure!(
        !shown.heads.is_empty() && shown.points.iter().all(|p| p == available),
        "the headline shows each key's points: {shown:?}"
    );
    ensure!(
        shown
            .heads
            .iter()
            .all(|(_, bottom)| *bottom <= shown.viewport),
        "every key's points and what they buy fit the first screen: {shown:?}"
    );
    ensure!(
        shown.bar <= 64.0 && shown.grant <= shown.line * 1.5,
        "the bar and the daily-grant note are one line each: {shown:?}"
    );
    Ok(())
}

/// The card of key `key` as the page shows it: how old its balance is, whether it says it was
/// never read, its confirmation (if the page put one there), and whether this is still the page
/// the test marked (no reload).
#[derive(Debug, Deserialize, PartialEq)]
struct Card {
    read: String,
    never: bool,
    flash: bool,
    same_page: bool,
    path: String,
    hash: String,
}

const CARD_JS: &str = r##"
const card = document.getElementById("key-" + arguments[0]);
const read = card && card.querySelector(":scope > .strip + .hint");
return {
  read: read ? read.textContent.trim() : "",
  never: !read,
  flash: !!document.querySelector("#key-" + arguments[0] + " .flash, main > .flash"),
  same_page: window.__msbStay === true,
  path: location.pathname,
  hash: location.hash,
};
"##;

async fn card(tab: &Tab, key: &str) -> Step<Card> {
    tab.js(CARD_JS, vec![json!(key)]).await
}

/// Waits until the card of `key` reads newer than `before` (and `still` says whether the page
/// must be the one marked before).
async fn updated(tab: &Tab, key: &str, before: &Card, what: &str, still: bool) -> Step<Card> {
    let last = std::cell::RefCell::new(None);
    tab.wait_for(what, STEP_TIMEOUT, async || {
        let now = card(tab, key).await?;
        let fresh = !now.never && now.read != before.read;
        if fresh && now.same_page == still {
            return Ok(Some(now));
        }
        *last.borrow_mut() = Some(now);
        Ok(None)
    })
    .await
    .map_err(|e| format!("{e}; before {before:?}, last {:?}", last.borrow()))
}

/// Moves the clock on (the pages and the runs read it) and opens the dashboard afresh: the
/// card's balance reads hours old.
async fn later(tab: &Tab, app: &TestApp, key: &str) -> Step<Card> {
    app.advance(LATER).await;
    tab.goto("/").await?;
    tab.js::<bool>("window.__msbStay = true; return true;", vec![])
        .await?;
    let before = card(tab, key).await?;
    ensure!(
        !before.never && before.same_page,
        "the card was read before: {before:?}"
    );
    Ok(before)
}

/// A free check from the preset's row and the card's own refresh update the card in place;
/// without JavaScript the free check's post comes back to the card, which shows it.
pub(super) async fn cards_follow_runs(tab: &Tab, app: &TestApp, key: &str) -> Step<()> {
    let before = later(tab, app, key).await?;
    tab.click("form.preset-run button[name=probe][value=false]")
        .await?;
    updated(
        tab,
        key,
        &before,
        "the card after a streamed free check",
        true,
    )
    .await?;

    let before = later(tab, app, key).await?;
    tab.click(&format!("#key-{key} form[data-card] button"))
        .await?;
    let after = updated(tab, key, &before, "the card after its refresh", true).await?;
    ensure!(after.flash, "the refresh says it is done: {after:?}");

    let before = later(tab, app, key).await?;
    tab.js::<bool>(
        "document.querySelector('form.preset-run').dataset.plain = 'yes'; return true;",
        vec![],
    )
    .await?;
    tab.click("form.preset-run button[name=probe][value=false]")
        .await?;
    let after = updated(tab, key, &before, "the card after a plain post", false).await?;
    ensure!(
        after.path == "/" && after.hash == format!("#key-{key}") && after.flash,
        "the plain post comes back to the card with a confirmation: {after:?}"
    );
    Ok(())
}
