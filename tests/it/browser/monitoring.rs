//! Monitoring as a user sets it up with plain forms: sign up, save a key, add a webhook
//! channel, add a monitor and an alert rule on it, send the channel a test, and find that test
//! (sent) in the delivery log; the receiver got it signed.

use std::ops::Deref;

use fantoccini::Locator;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::{Context, Driver, STEP_TIMEOUT, Speaks, Step, Tab, require_browser};
use crate::harness::upstream::mount_balance;
use crate::harness::{PASSWORD, TestApp};

const KEY: &str = "ms-e1e1e1e1-2222-4333-8444-55556666beef";
const HOOK_SECRET: &str = "browser-hook-secret-0042";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_user_sets_up_an_alert_and_sees_the_test_message_in_the_log() {
    require_browser();
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
    let browser = driver.session(Speaks::Chinese).await;
    let flow = Flow {
        tab: Tab::new(&browser, &served.base).await,
    };
    let outcome = flow.run(&format!("{}/alerts", hooks.uri())).await;
    flow.finish("monitoring", outcome).await;
    browser.close().await;
    drop(driver);
    drop(served);

    let received = hooks.received_requests().await.unwrap_or_default();
    assert_eq!(received.len(), 1, "the receiver got one test message");
    let body: Value = serde_json::from_slice(&received[0].body).unwrap();
    assert_eq!(body["event"], "test");
    assert!(received[0].headers.get("x-signature").is_some());
}

struct Flow {
    tab: Tab,
}

impl Deref for Flow {
    type Target = Tab;

    fn deref(&self) -> &Tab {
        &self.tab
    }
}

impl Flow {
    async fn run(&self, hook_url: &str) -> Step<()> {
        self.begin("sign up");
        self.goto("/signup").await?;
        self.type_into("#username", "monitor_user").await?;
        self.type_into("#password", PASSWORD).await?;
        self.type_into("#password_confirm", PASSWORD).await?;
        self.click("form[action='/signup'] button[type=submit]")
            .await?;
        self.wait_for_elements("/", "header a.who", 1).await?;

        self.begin("save key");
        self.goto("/keys").await?;
        self.type_into("#label", "主账号").await?;
        self.type_into("#api_key", KEY).await?;
        self.click("form[action='/keys'] button[type=submit]")
            .await?;
        self.wait_for_elements("/keys", "table.keys-table tbody tr", 1)
            .await?;

        self.begin("add channel");
        self.goto("/channels").await?;
        self.client
            .find(Locator::Css("#kind"))
            .await
            .ctx("find #kind")?
            .select_by_value("webhook")
            .await
            .ctx("pick the webhook kind")?;
        self.type_into("#name", "我的 Webhook").await?;
        self.type_into("#url", hook_url).await?;
        self.type_into("#secret", HOOK_SECRET).await?;
        self.click("form[action='/channels'] button[type=submit]")
            .await?;
        self.wait_for_elements("/channels", "table.channels-table tbody tr", 1)
            .await?;

        self.begin("add monitor");
        self.goto("/monitors").await?;
        // One saved key: it is ticked already; the balance check and every 5 minutes are the
        // defaults.
        self.click("#monitor-form button[type=submit]").await?;
        self.wait_for_elements("/monitors", "section.monitor", 1)
            .await?;
        let text = self.text("section.monitor").await?;
        if !text.contains('5') || !text.contains("主账号") || !text.contains("ms-…beef") {
            return Err(format!("the monitor reads {text:?}"));
        }

        self.begin("add rule");
        self.click("section.monitor details summary").await?;
        self.type_into("section.monitor input[name=threshold]", "20")
            .await?;
        self.click("section.monitor form.rule-form button[type=submit]")
            .await?;
        self.wait_for_elements("/monitors", "ul.rules li", 1)
            .await?;
        let rules = self.text("ul.rules").await?;
        if !rules.contains("20") || !rules.contains("我的 Webhook") {
            return Err(format!("the rule reads {rules:?}"));
        }

        self.begin("send a test");
        self.goto("/channels").await?;
        self.click("form[action$='/test'] button[type=submit]")
            .await?;
        // The page after the post is at the form's address, `/channels/<id>/test`.
        let shown = self
            .wait_for("the test's result", STEP_TIMEOUT, async || {
                let shown = self.text("[data-field=test]").await?;
                Ok((!shown.is_empty()).then_some(shown))
            })
            .await?;
        if self.text("[data-field=test] .badge.ok").await?.is_empty() {
            return Err(format!("the test reads {shown:?}"));
        }

        self.begin("delivery log");
        self.goto("/monitors/deliveries").await?;
        self.wait_for_elements("/monitors/deliveries", "tr[data-event=test]", 1)
            .await?;
        let row = self.text("tr[data-event=test]").await?;
        // The message is in the channel's language (Chinese, the default).
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
        let source = self.source().await?;
        if source.contains(HOOK_SECRET) || source.contains(KEY) {
            return Err("a secret is in the page".into());
        }
        Ok(())
    }

    /// The text of the first match of `selector`, spaces folded; empty when none matches.
    async fn text(&self, selector: &str) -> Step<String> {
        self.js(
            "const e = document.querySelector(arguments[0]);\
             return e ? e.textContent.replace(/\\s+/g, ' ').trim() : '';",
            vec![json!(selector)],
        )
        .await
    }
}
