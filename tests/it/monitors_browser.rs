//! One real-browser test of monitoring, as a user does it with plain forms: sign up, save a
//! key, add a webhook channel, add a monitor and an alert rule on it, send the channel a test,
//! and find that test (sent) in the delivery log. Uses the chromedriver of `browser.rs`.

use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};
use serde_json::Value;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::browser::{CHROMEDRIVER, CHROMIUM, Driver, save_failure};
use crate::harness::upstream::mount_balance;
use crate::harness::{PASSWORD, TestApp};

const KEY: &str = "ms-e1e1e1e1-2222-4333-8444-55556666beef";
const HOOK_SECRET: &str = "browser-hook-secret-0042";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_user_sets_up_an_alert_and_sees_the_test_message_in_the_log() {
    for binary in [CHROMIUM, CHROMEDRIVER] {
        assert!(
            std::path::Path::new(binary).exists(),
            "{binary} is missing: apt-get install -y chromium chromium-driver (.ci/run does)"
        );
    }
    let app = TestApp::configured(|c| c.merge(("allow_private_webhooks", true))).await;
    mount_balance(&app.upstream).await;
    let hooks = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/alerts"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&hooks)
        .await;
    let served = app.serve().await;
    let driver = Driver::start().await;
    let client = driver.session().await;
    let flow = Flow {
        client: client.clone(),
        base: served.base.clone(),
        step: std::cell::Cell::new("start"),
    };
    let outcome = flow.run(&format!("{}/alerts", hooks.uri())).await;
    if let Err(message) = outcome {
        let step = flow.step.get();
        let saved = save_failure(&client, step).await;
        let _ = tokio::time::timeout(Duration::from_secs(5), client.close()).await;
        drop(driver);
        panic!("monitoring browser test failed at `{step}`: {message}\n{saved}");
    }
    let _ = tokio::time::timeout(Duration::from_secs(5), client.close()).await;
    drop(driver);
    drop(served);

    let received = hooks.received_requests().await.unwrap_or_default();
    assert_eq!(received.len(), 1, "the receiver got one test message");
    let body: Value = serde_json::from_slice(&received[0].body).unwrap();
    assert_eq!(body["event"], "test");
    assert!(received[0].headers.get("x-signature").is_some());
}

struct Flow {
    client: Client,
    base: String,
    step: std::cell::Cell<&'static str>,
}

type Step<T> = Result<T, String>;

impl Flow {
    async fn run(&self, hook_url: &str) -> Step<()> {
        self.step.set("sign up");
        self.goto("/signup").await?;
        self.fill("#username", "monitor_user").await?;
        self.fill("#password", PASSWORD).await?;
        self.fill("#password_confirm", PASSWORD).await?;
        self.click("form[action='/signup'] button[type=submit]")
            .await?;
        self.wait_for("/", "header a.who").await?;

        self.step.set("save key");
        self.goto("/keys").await?;
        self.fill("#label", "主账号").await?;
        self.fill("#api_key", KEY).await?;
        self.click("form[action='/keys'] button[type=submit]")
            .await?;
        self.wait_for("/keys", "table.keys-table tbody tr").await?;

        self.step.set("add channel");
        self.goto("/channels").await?;
        self.client
            .find(Locator::Css("#kind"))
            .await
            .map_err(|e| e.to_string())?
            .select_by_value("webhook")
            .await
            .map_err(|e| e.to_string())?;
        self.fill("#name", "我的 Webhook").await?;
        self.fill("#url", hook_url).await?;
        self.fill("#secret", HOOK_SECRET).await?;
        self.click("form[action='/channels'] button[type=submit]")
            .await?;
        self.wait_for("/channels", "table.channels-table tbody tr")
            .await?;

        self.step.set("add monitor");
        self.goto("/monitors").await?;
        // One saved key: it is ticked already; the balance check and every 5 minutes are the
        // defaults.
        self.click("#monitor-form button[type=submit]").await?;
        self.wait_for("/monitors", "section.monitor").await?;
        let text = self.text("section.monitor").await?;
        // The browser asks for English; the words do not matter here, the facts do.
        if !text.contains('5') || !text.contains("主账号") || !text.contains("ms-…beef") {
            return Err(format!("the monitor reads {text:?}"));
        }

        self.step.set("add rule");
        self.click("section.monitor details summary").await?;
        self.fill("section.monitor input[name=threshold]", "20")
            .await?;
        self.click("section.monitor form.rule-form button[type=submit]")
            .await?;
        self.wait_for("/monitors", "ul.rules li").await?;
        let rules = self.text("ul.rules").await?;
        if !rules.contains("20") || !rules.contains("我的 Webhook") {
            return Err(format!("the rule reads {rules:?}"));
        }

        self.step.set("send a test");
        self.goto("/channels").await?;
        self.click("form[action$='/test'] button[type=submit]")
            .await?;
        // The page after the post is at the form's address, `/channels/<id>/test`.
        self.wait_for("", "[data-field=test]").await?;
        let result = self.text("[data-field=test] .badge.ok").await?;
        if result.is_empty() {
            let shown = self.text("[data-field=test]").await?;
            return Err(format!("the test reads {shown:?}"));
        }

        self.step.set("delivery log");
        self.goto("/monitors/deliveries").await?;
        self.wait_for("/monitors/deliveries", "tr[data-event=test]")
            .await?;
        let row = self.text("tr[data-event=test]").await?;
        // The message itself is in the channel's language (Chinese, the default).
        if !(row.contains("我的 Webhook") && row.contains("测试消息")) {
            return Err(format!("the log row reads {row:?}"));
        }
        if self
            .text("tr[data-event=test][data-status=sent]")
            .await?
            .is_empty()
        {
            return Err("the test is not logged as sent".into());
        }
        let source = self.client.source().await.map_err(|e| e.to_string())?;
        if source.contains(HOOK_SECRET) || source.contains(KEY) {
            return Err("a secret is in the page".into());
        }
        Ok(())
    }

    async fn goto(&self, at: &str) -> Step<()> {
        self.client
            .goto(&format!("{}{at}", self.base))
            .await
            .map_err(|e| format!("open {at}: {e}"))
    }

    async fn fill(&self, selector: &str, text: &str) -> Step<()> {
        let field = self
            .client
            .find(Locator::Css(selector))
            .await
            .map_err(|e| format!("find {selector}: {e}"))?;
        field.clear().await.map_err(|e| e.to_string())?;
        field.send_keys(text).await.map_err(|e| e.to_string())
    }

    async fn click(&self, selector: &str) -> Step<()> {
        self.client
            .find(Locator::Css(selector))
            .await
            .map_err(|e| format!("find {selector}: {e}"))?
            .click()
            .await
            .map_err(|e| format!("click {selector}: {e}"))
    }

    async fn text(&self, selector: &str) -> Step<String> {
        let value = self
            .client
            .execute(
                "const e = document.querySelector(arguments[0]);\
                 return e ? e.textContent.replace(/\\s+/g, ' ').trim() : '';",
                vec![Value::from(selector)],
            )
            .await
            .map_err(|e| e.to_string())?;
        Ok(value.as_str().unwrap_or_default().to_owned())
    }

    /// Waits (up to 15 s) for `selector` on a page at `at`; an error on the page ends it.
    async fn wait_for(&self, at: &str, selector: &str) -> Step<()> {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let state = self
                .client
                .execute(
                    "return [location.pathname, document.readyState === 'complete' && \
                     !!document.querySelector(arguments[0]), \
                     (document.querySelector('[role=alert]') || {}).textContent || null];",
                    vec![Value::from(selector)],
                )
                .await
                .map_err(|e| e.to_string())?;
            if let Some(alert) = state[2].as_str() {
                return Err(format!("the page shows an error: {}", alert.trim()));
            }
            if (at.is_empty() || state[0] == at) && state[1] == true {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "{selector} on {at}: not there after 15 s (at {})",
                    state[0]
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
