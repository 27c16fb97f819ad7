//! Monitoring as a user sets it up with plain forms: sign up, save a key, add a webhook
//! channel, add a monitor and an alert rule on it, send the channel a test, and find that test
//! (sent) in the delivery log; the receiver got it signed. Then it is taken down through the
//! confirmation pages: at the desktop width each delete link asks and "cancel" keeps the thing;
//! at the phone width each is confirmed, the notice names it and it is gone. Every confirmation
//! page passes the tour's layout checks at its width.

use std::ops::Deref;

use fantoccini::Locator;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::tour::{DESKTOP, LAYOUT_JS, PHONE, Width};
use super::{Context, Driver, STEP_TIMEOUT, Speaks, Step, Tab, browser_tests_run};
use crate::harness::upstream::mount_balance;
use crate::harness::{PASSWORD, TestApp};

const KEY: &str = "ms-e1e1e1e1-2222-4333-8444-55556666beef";
const HOOK_SECRET: &str = "browser-hook-secret-0042";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_user_sets_up_an_alert_and_sees_the_test_message_in_the_log() {
    if !browser_tests_run() {
        return;
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

/// Something the flow deletes: where it is listed, its row there, its delete link, and words
/// its confirmation page and the notice after it name it by.
struct Thing {
    what: &'static str,
    list: &'static str,
    row: &'static str,
    link: &'static str,
    name: &'static str,
    also: &'static str,
}

/// In this order: the rule, then its monitor, then the channel.
const THINGS: [Thing; 3] = [
    Thing {
        what: "rule",
        list: "/monitors",
        row: "ul.rules li",
        link: "ul.rules li a[href$='/delete']",
        name: "可用魔粒低于 20",
        also: "我的 Webhook",
    },
    Thing {
        what: "monitor",
        list: "/monitors",
        row: "section.monitor",
        link: "section.monitor .actions a[href$='/delete']",
        name: "余额检查（免费） · 每 5 分钟",
        also: "主账号",
    },
    Thing {
        what: "channel",
        list: "/channels",
        row: "table.channels-table tbody tr",
        link: "table.channels-table a[href$='/delete']",
        name: "我的 Webhook",
        also: "Webhook)",
    },
];

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
    /// The rule form shows the chosen condition's fields only: the forecast rules an hours
    /// threshold, "points expiring" its points and hours, the grant reminder a time. It ends
    /// on "points below", the form's first choice, as a user finds it.
    async fn rule_form_shows_its_condition(&self) -> Step<()> {
        let shown: Vec<Vec<String>> = self
            .js(
                r#"const form = document.querySelector("section.monitor form.rule-form");
                const condition = form.elements["condition"];
                const visible = () => ["threshold", "within_hours", "model", "at_time"]
                    .filter((name) => form.elements[name].offsetParent !== null);
                const pick = (value) => {
                    condition.value = value;
                    condition.dispatchEvent(new Event("change", { bubbles: true }));
                    return visible();
                };
                return [pick("runs_out_within"), pick("points_expiring"),
                    pick("grant_unclaimed"), pick("price_changed"), pick("points_below")];"#,
                vec![],
            )
            .await?;
        let expected: [&[&str]; 5] = [
            &["threshold"],
            &["threshold", "within_hours"],
            &["at_time"],
            &["model"],
            &["threshold"],
        ];
        for (got, want) in shown.iter().zip(expected) {
            ensure!(got == want, "rule form fields: {shown:?}");
        }
        Ok(())
    }

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
        self.rule_form_shows_its_condition().await?;
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

        self.begin("ask, then cancel");
        self.set_width(DESKTOP).await?;
        for thing in &THINGS {
            self.ask_to_delete(thing, DESKTOP).await?;
            self.click("main form a[href]").await?;
            self.wait_for_elements(thing.list, thing.row, 1).await?;
        }
        self.begin("confirm on a phone");
        self.set_width(PHONE).await?;
        for thing in &THINGS {
            self.ask_to_delete(thing, PHONE).await?;
            self.click("main form button[type=submit]").await?;
            self.wait_for_elements(thing.list, ".flash", 1).await?;
            let flash = self.text(".flash").await?;
            ensure!(
                flash.contains(thing.name),
                "the notice does not name the {}: {flash:?}",
                thing.what
            );
            ensure!(
                self.text(thing.row).await?.is_empty(),
                "the deleted {} is still listed",
                thing.what
            );
        }
        Ok(())
    }

    /// From its list, follows the thing's delete link to the confirmation page, which names
    /// it, posts the delete with the CSRF token, and fits `width`.
    async fn ask_to_delete(&self, thing: &Thing, width: Width) -> Step<()> {
        self.goto(thing.list).await?;
        self.click(thing.link).await?;
        self.wait_for_elements_matching("main form[method=post] button.danger")
            .await?;
        let asked = self.text("main").await?;
        ensure!(
            asked.contains(thing.name) && asked.contains(thing.also),
            "the confirmation for the {} reads {asked:?}",
            thing.what
        );
        let action: String = self
            .js(
                "return document.querySelector('main form[method=post]').getAttribute('action');",
                vec![],
            )
            .await?;
        ensure!(
            action == self.path().await?,
            "the confirmation at {} posts to {action}",
            self.path().await?
        );
        let csrf: usize = self
            .js(
                "return document.querySelectorAll('main form input[name=csrf_token][value]').length;",
                vec![],
            )
            .await?;
        ensure!(csrf == 1, "the confirmation form has no CSRF token");
        let problems: Vec<String> = self.js(LAYOUT_JS, vec![json!(false), json!(false)]).await?;
        ensure!(
            problems.is_empty(),
            "the {} confirmation at {} px:\n  {}",
            thing.what,
            width.width,
            problems.join("\n  ")
        );
        ensure!(
            !self.source().await?.contains(HOOK_SECRET),
            "a secret is in the confirmation page"
        );
        Ok(())
    }

    /// Waits for `selector` on whatever page the last click led to.
    async fn wait_for_elements_matching(&self, selector: &str) -> Step<()> {
        let path = self.path().await?;
        self.wait_for_elements(&path, selector, 1).await
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
