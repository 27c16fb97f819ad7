//! Passkeys in Chromium, with the W3C WebAuthn WebDriver extension's virtual authenticator (a
//! CTAP2 platform authenticator that keeps resident keys and verifies its user): a passkey
//! registered on `/account/passkeys`, then signing out and in with the password and the
//! passkey as the second factor, then out and in again with the passkey alone. The app is
//! opened at `http://localhost:<port>` (IP addresses are no WebAuthn RP IDs); every page and
//! state on the way gets the tour's layout checks and screenshots at 1280 and 390 px, in
//! Chinese and in English.

use std::cell::Cell;

use serde_json::{Value, json};

use super::tour::Tour;
use super::{Context, Driver, STEP_TIMEOUT, Speaks, Step, Tab, browser_tests_run, target_dir};
use crate::harness::{PASSWORD, TestApp};

impl Tab {
    /// Adds a virtual authenticator to this session (`POST /session/{id}/webauthn/authenticator`).
    async fn add_virtual_authenticator(&self) -> Step<String> {
        let base = self
            .cdp_url
            .strip_suffix("/goog/cdp/execute")
            .ok_or("no session URL")?;
        let http = reqwest::Client::builder()
            .timeout(STEP_TIMEOUT)
            .build()
            .ctx("an HTTP client")?;
        let answer: Value = http
            .post(format!("{base}/webauthn/authenticator"))
            .json(&json!({
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": true,
                "hasUserVerification": true,
                "isUserVerified": true,
            }))
            .send()
            .await
            .ctx("add a virtual authenticator")?
            .json()
            .await
            .ctx("read the authenticator's id")?;
        answer["value"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("no virtual authenticator: {answer}"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_passkey_is_added_then_signs_in_as_second_factor_and_alone() {
    if !browser_tests_run() {
        return;
    }
    let app = TestApp::new().await;
    let served = app.serve().await;
    let base = served.base.replace("127.0.0.1", "localhost");
    let driver = Driver::start().await;
    let shots = target_dir().join("screenshots");
    std::fs::create_dir_all(&shots)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", shots.display()));
    for speaks in [Speaks::Chinese, Speaks::English] {
        let browser = driver.session(speaks).await;
        let tour = Tour {
            tab: Tab::new(&browser, &base).await,
            app: &app,
            upstream: &app.upstream,
            clock: &app.clock,
            speaks,
            shots: shots.clone(),
            shot_count: Cell::new(100),
            dark: Cell::new(false),
        };
        let outcome = walk(&tour).await;
        tour.finish(&format!("the passkeys in {speaks:?}"), outcome)
            .await;
        browser.close().await;
    }
    drop(driver);
    drop(served);
}

async fn walk(tour: &Tour<'_>) -> Step<()> {
    let name = format!("passkey_{}", tour.lang());
    tour.begin("authenticator");
    tour.add_virtual_authenticator().await?;
    tour.begin("sign up");
    tour.goto("/signup").await?;
    tour.type_into("#username", &name).await?;
    tour.type_into("#password", PASSWORD).await?;
    tour.type_into("#password_confirm", PASSWORD).await?;
    tour.click("form[action='/signup'] button[type=submit]")
        .await?;
    tour.wait_for_elements("/", "header a.who", 1).await?;

    tour.begin("add a passkey");
    tour.goto("/account/passkeys").await?;
    tour.wait_for_selector("#passkey-register:not([hidden])")
        .await?;
    tour.check_page("passkeys-empty").await?;
    tour.type_into("#passkey_name", "Chromium").await?;
    tour.click("#passkey-register button[type=submit]").await?;
    tour.wait_for_elements("/account/passkeys", "tr.passkey-row", 1)
        .await?;
    tour.check_page("passkeys").await?;
    let delete: String = tour
        .js(
            "return document.querySelector(\"tr.passkey-row a[href$='/delete']\").getAttribute('href');",
            vec![],
        )
        .await?;
    tour.goto(&delete).await?;
    tour.check_page("passkey-delete").await?;

    tour.begin("password + passkey");
    sign_out(tour).await?;
    tour.type_into("#username", &name).await?;
    tour.type_into("#password", PASSWORD).await?;
    tour.click("form[action='/login'] button[type=submit]")
        .await?;
    tour.wait_for_elements("/login/two-factor", "#passkey-second-factor button", 1)
        .await?;
    let code_form: bool = tour
        .js(
            "return !!document.querySelector(\"form[action='/login/two-factor']\");",
            vec![],
        )
        .await?;
    ensure!(!code_form, "a passkey-only account is asked for a code");
    tour.check_page("login-two-factor-passkey").await?;
    tour.click("#passkey-second-factor button").await?;
    tour.wait_for_elements("/", "header a.who", 1).await?;

    tour.begin("passkey alone");
    sign_out(tour).await?;
    tour.wait_for_selector("#passkey-sign-in:not([hidden]) button")
        .await?;
    tour.check_page("login-passkey").await?;
    tour.click("#passkey-sign-in button").await?;
    tour.wait_for_elements("/", "header a.who", 1).await?;
    let who = tour.text_of("header a.who").await?;
    ensure!(who.contains(&name), "signed in as {who:?}, not {name}");
    // The passkey was used twice: its "last used" is set.
    tour.goto("/account/passkeys").await?;
    let never = tour.text_of("tr.passkey-row td:nth-child(3)").await?;
    let never_word = if tour.lang() == "zh" {
        "从未"
    } else {
        "never"
    };
    ensure!(never != never_word, "last used still says {never:?}");
    Ok(())
}

async fn sign_out(tour: &Tour<'_>) -> Step<()> {
    tour.js::<Value>(
        "document.querySelector(\"form[action='/logout']\").submit(); return null;",
        vec![],
    )
    .await?;
    tour.wait_for_elements("/login", "form[action='/login']", 1)
        .await
}
