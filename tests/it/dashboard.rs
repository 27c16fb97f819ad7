//! The dashboard, `GET /` signed in: the latest numbers per saved key and model from history
//! (never an upstream call), how old they are, the time to the daily reset, a run form per
//! preset, escaping, and one user never seeing another's keys or numbers.

use std::time::{SystemTime, UNIX_EPOCH};

use rocket::http::Status;

use crate::harness::db::stored_run;
use crate::harness::html::{html_unescape, visible_text};
use crate::harness::secrets::{KEY, OTHER_KEY};
use crate::harness::upstream::{
    MODEL_A, MODEL_B, QUOTA_A, QUOTA_B, mount_balance, mount_ok, mount_ok_for_key,
};
use crate::harness::{TestApp, User};

/// One key panel of the dashboard: the label in its heading and its HTML.
struct Panel {
    label: String,
    html: String,
}

impl Panel {
    /// The visible text of the table row of `model`, if the panel has one.
    fn row(&self, model: &str) -> Option<String> {
        self.html
            .split("<tr>")
            .skip(1)
            .find(|row| row.contains(&format!(">{model}</a>")))
            .map(|row| visible_text(&row[..row.find("</tr>").unwrap_or(row.len())]))
    }
}

fn panels(html: &str) -> Vec<Panel> {
    let marker = r#"<section class="card key-panel" id="key-"#;
    html.split(marker)
        .skip(1)
        .map(|rest| {
            let section = &rest[..rest.find("</section>").expect("panel end")];
            let heading = &section[section.find("<h2>").expect("panel heading") + 4..];
            let label = heading[..heading.find("<code").expect("masked key")].trim();
            Panel {
                label: html_unescape(label),
                html: section.to_owned(),
            }
        })
        .collect()
}

async fn dashboard(user: &User) -> String {
    let page = user.get("/").await;
    assert_eq!(page.status, Status::Ok, "{}", page.body);
    assert!(
        page.body.contains("概览"),
        "not the dashboard: {}",
        page.body
    );
    page.body
}

fn panel(html: &str, label: &str) -> Panel {
    panels(html)
        .into_iter()
        .find(|p| p.label == label)
        .unwrap_or_else(|| panic!("no panel for {label:?}: {html}"))
}

/// A user who ran the preset `daily` (A, B) with the saved key `main`.
async fn after_a_run() -> (TestApp, User) {
    let site = TestApp::new().await;
    mount_balance(&site.upstream).await;
    mount_ok(&site.upstream, MODEL_A, QUOTA_A, 1).await;
    mount_ok(&site.upstream, MODEL_B, QUOTA_B, 1).await;
    let user = site.user("alice").await;
    let key = user.add_key("main", KEY).await.to_string();
    let preset = user
        .add_preset("daily", &[MODEL_A, MODEL_B])
        .await
        .to_string();
    user.run_query_ok(&[("key_id", &key), ("preset_id", &preset)])
        .await;
    (site, user)
}

#[tokio::test]
async fn shows_the_latest_numbers_per_key_and_model_with_their_age() {
    let (_site, user) = after_a_run().await;

    let html = dashboard(&user).await;

    let main = panel(&html, "main");
    let a = main.row(MODEL_A).expect("a row for model A");
    assert!(a.contains("1995 / 2000"), "{a}");
    assert!(a.contains("498 / 500"), "{a}");
    assert!(a.contains("秒前"), "{a}");
    let b = main.row(MODEL_B).expect("a row for model B");
    assert!(b.contains("1994 / 2000"), "{b}");
    assert!(b.contains("42 / 100"), "{b}");
    assert!(b.contains("秒前"), "{b}");
}

#[tokio::test]
async fn makes_no_upstream_call() {
    let (site, user) = after_a_run().await;
    site.no_more_upstream_calls().await;

    dashboard(&user).await;
    dashboard(&user).await;

    site.verify().await;
}

#[tokio::test]
async fn says_how_many_minutes_old_the_numbers_are() {
    let (site, user) = after_a_run().await;
    site.db()
        .execute(
            "UPDATE latest_results SET checked_at = checked_at - 600",
            [],
        )
        .unwrap();

    let html = dashboard(&user).await;

    let a = panel(&html, "main").row(MODEL_A).unwrap();
    assert!(a.contains("10 分钟前"), "{a}");
}

#[tokio::test]
async fn says_how_long_until_the_daily_reset() {
    let site = TestApp::new().await;
    let user = site.user("alice").await;

    let html = dashboard(&user).await;

    let text = visible_text(&html);
    let after = &text[text
        .find("距北京时间 00:00 还有")
        .expect("the reset sentence")
        + "距北京时间 00:00 还有".len()..];
    let words: Vec<&str> = after
        .split_whitespace()
        .take(4)
        .map(|word| word.trim_end_matches('。'))
        .collect();
    assert_eq!((words[1], words[3]), ("小时", "分钟"), "{text}");
    let shown: i64 = words[0].parse::<i64>().unwrap() * 60 + words[2].parse::<i64>().unwrap();
    // Beijing midnight is 16:00 UTC.
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let expected = (86_400 - (now + 8 * 3600).rem_euclid(86_400)) / 60;
    let close = (shown - expected).abs() <= 1 || (shown - expected).abs() >= 1439;
    assert!(close, "shown {shown} minutes, expected about {expected}");
}

#[tokio::test]
async fn offers_a_run_form_per_preset() {
    let site = TestApp::new().await;
    let user = site.user("alice").await;
    let key = user.add_key("main", KEY).await;
    let daily = user.add_preset("daily", &[MODEL_A]).await;
    let weekly = user.add_preset("weekly", &[MODEL_A, MODEL_B]).await;

    let html = dashboard(&user).await;

    let forms: Vec<&str> = html
        .split(r#"<form method="post" action="/query" class="preset-run" data-stream-url="/query/stream">"#)
        .skip(1)
        .map(|rest| &rest[..rest.find("</form>").unwrap()])
        .collect();
    assert_eq!(forms.len(), 2, "{html}");
    for (form, preset) in forms.iter().zip([daily, weekly]) {
        assert!(
            form.contains(&format!(r#"name="preset_id" value="{preset}""#)),
            "{form}"
        );
        assert!(
            form.contains(&format!(r#"name="csrf_token" value="{}""#, user.csrf)),
            "{form}"
        );
        assert!(
            form.contains(&format!(r#"<option value="{key}">"#)),
            "{form}"
        );
        assert!(form.contains(r#"<button type="submit" "#), "{form}");
        assert!(
            form.contains(r#"name="probe" value="false""#),
            "a free balance check beside the run: {form}"
        );
    }
}

/// The headline of the dashboard: each key's label, available points and what they buy.
fn headline(html: &str) -> String {
    let start = html.find(r#"<ul class="headline">"#).expect("a headline");
    visible_text(&html[start..start + html[start..].find("</ul>").expect("its end")])
}

#[tokio::test]
async fn each_keys_points_and_what_they_buy_come_first() {
    let (_site, user) = after_a_run().await;
    user.add_key("spare", OTHER_KEY).await;
    let html = dashboard(&user).await;
    let head = headline(&html);
    assert!(head.contains("main 240.5 可用"), "{head}");
    assert!(head.contains("旗舰（2/次） 120 次"), "{head}");
    assert!(head.contains("spare 还没有读过这个 Key 的余额"), "{head}");
    // Before the run forms and the cards (a phone's first screen).
    let at = html.find(r#"class="headline""#).unwrap();
    assert!(at < html.find(r#"class="preset-run""#).unwrap());
    assert!(at < html.find(r#"class="card key-panel""#).unwrap());
    // The daily-grant note is one line that opens to the whole text.
    assert!(
        html.contains(r#"<details class="notice grant"><summary>登录魔粒："#),
        "{html}"
    );
}

#[tokio::test]
async fn a_run_or_a_free_check_from_the_dashboard_comes_back_to_its_card() {
    let site = TestApp::new().await;
    mount_balance(&site.upstream).await;
    // One probe from the dashboard, none for the free check, one from elsewhere.
    mount_ok(&site.upstream, MODEL_A, QUOTA_A, 2).await;
    let user = site.user("alice").await;
    let key = user.add_key("main", KEY).await.to_string();
    let preset = user.add_preset("daily", &[MODEL_A]).await.to_string();
    let before = dashboard(&user).await;
    assert!(
        panel(&before, "main")
            .html
            .contains("还没有读过这个 Key 的余额")
    );

    // Without JavaScript the dashboard's form posts to /query with `back`: the answer is the
    // dashboard again, at the card, which shows what the run read.
    for probe in ["true", "false"] {
        let answer = user
            .submit(
                "/query",
                &[
                    ("preset_id", &preset),
                    ("back", "dashboard"),
                    ("key_id", &key),
                    ("probe", probe),
                ],
            )
            .await;
        answer.assert_redirect_to(&format!("/#key-{key}"));
        let page = dashboard(&user).await;
        assert!(
            page.contains("下方这个 Key 的卡片"),
            "the confirmation: {page}"
        );
        let main = panel(&page, "main");
        assert!(
            !page.contains("还没有读过这个 Key 的余额"),
            "{probe}: {page}"
        );
        assert!(
            main.html.contains(r#"data-field="available">240.5<"#),
            "{}",
            main.html
        );
        assert!(main.row(MODEL_A).is_some(), "{}", main.html);
        assert!(headline(&page).contains("main 240.5"));
    }
    assert_eq!(crate::harness::db::run_ids(&site.db(), user.id).len(), 2);
    // From elsewhere (no `back`), a run still opens its stored page.
    let answer = user
        .submit("/query", &[("preset_id", &preset), ("key_id", &key)])
        .await;
    assert!(
        answer
            .location()
            .is_some_and(|l| l.starts_with("/history/")),
        "{:?}",
        answer.location()
    );
}

#[tokio::test]
async fn a_preset_run_form_runs_the_preset() {
    let site = TestApp::new().await;
    mount_balance(&site.upstream).await;
    mount_ok(&site.upstream, MODEL_A, QUOTA_A, 1).await;
    let user = site.user("alice").await;
    let key = user.add_key("main", KEY).await.to_string();
    let preset = user.add_preset("daily", &[MODEL_A]).await.to_string();
    dashboard(&user).await;

    // Exactly the fields the dashboard's form sends.
    let id = user
        .run_query_ok(&[("preset_id", &preset), ("key_id", &key)])
        .await;

    let run = stored_run(&site.db(), id).unwrap();
    assert_eq!(run.preset_name.as_deref(), Some("daily"));
    site.verify().await;
}

#[tokio::test]
async fn keeps_numbers_under_the_key_they_were_seen_with() {
    let site = TestApp::new().await;
    mount_balance(&site.upstream).await;
    mount_ok_for_key(&site.upstream, MODEL_A, KEY, QUOTA_A, 1).await;
    let other_quota = [1000, 321, 50, 12];
    mount_ok_for_key(&site.upstream, MODEL_A, OTHER_KEY, other_quota, 1).await;
    let user = site.user("alice").await;
    let first = user.add_key("first", KEY).await.to_string();
    let second = user.add_key("second", OTHER_KEY).await.to_string();
    user.run_query_ok(&[("key_id", &first), ("models", MODEL_A)])
        .await;
    user.run_query_ok(&[("key_id", &second), ("models", MODEL_A)])
        .await;

    let html = dashboard(&user).await;

    let first_row = panel(&html, "first").row(MODEL_A).unwrap();
    assert!(first_row.contains("1995 / 2000"), "{first_row}");
    assert!(first_row.contains("498 / 500"), "{first_row}");
    let second_row = panel(&html, "second").row(MODEL_A).unwrap();
    assert!(second_row.contains("321 / 1000"), "{second_row}");
    assert!(second_row.contains("12 / 50"), "{second_row}");
    site.verify().await;
}

#[tokio::test]
async fn shows_the_newest_run_not_an_older_one() {
    let (site, user) = after_a_run().await;
    site.upstream.verify().await;
    site.upstream.reset().await;
    mount_balance(&site.upstream).await;
    mount_ok(&site.upstream, MODEL_A, [2000, 1500, 500, 250], 1).await;
    let key = user.saved_key_id("main").to_string();
    user.run_query_ok(&[("key_id", &key), ("models", MODEL_A)])
        .await;

    let html = dashboard(&user).await;

    let main = panel(&html, "main");
    let a = main.row(MODEL_A).unwrap();
    assert!(a.contains("1500 / 2000") && a.contains("250 / 500"), "{a}");
    let b = main.row(MODEL_B).expect("B's numbers from the first run");
    assert!(b.contains("42 / 100"), "{b}");
}

#[tokio::test]
async fn another_users_keys_and_numbers_never_show() {
    let site = TestApp::new().await;
    mount_balance(&site.upstream).await;
    mount_ok(&site.upstream, MODEL_A, [7777, 6543, 888, 321], 1).await;
    let alice = site.user("alice").await;
    let alice_key = alice.add_key("alice-secret-label", KEY).await.to_string();
    alice.add_preset("alice-preset", &[MODEL_A]).await;
    alice
        .run_query_ok(&[("key_id", &alice_key), ("models", MODEL_A)])
        .await;
    let bob = site.user("bob").await;
    bob.add_key("bob-key", OTHER_KEY).await;

    let html = dashboard(&bob).await;

    for alices in [
        "alice-secret-label",
        "alice-preset",
        "6543",
        "7777",
        "321 / 888",
    ] {
        assert!(!html.contains(alices), "bob sees {alices:?}: {html}");
    }
    let labels: Vec<String> = panels(&html).into_iter().map(|p| p.label).collect();
    assert_eq!(labels, ["bob-key"]);
    assert!(panel(&html, "bob-key").html.contains("还没有查询记录"));
    assert!(!html.contains(MODEL_A), "{html}");
}

#[tokio::test]
async fn hostile_key_labels_and_preset_names_render_escaped() {
    let site = TestApp::new().await;
    mount_balance(&site.upstream).await;
    mount_ok(&site.upstream, MODEL_A, QUOTA_A, 1).await;
    let user = site.user("alice").await;
    let label = "<script>alert(1)</script>";
    let name = r#"<img src=x onerror=alert(2)>""#;
    let key = user.add_key(label, KEY).await.to_string();
    let preset = user.add_preset(name, &[MODEL_A]).await.to_string();
    user.run_query_ok(&[("key_id", &key), ("preset_id", &preset)])
        .await;

    let html = dashboard(&user).await;

    assert!(!html.contains("<script>alert"), "{html}");
    assert!(!html.contains("<img src=x"), "{html}");
    let text = html_unescape(&html);
    assert!(text.contains(label) && text.contains("<img src=x onerror=alert(2)>"));
    assert!(panel(&html, label).row(MODEL_A).is_some());
}
