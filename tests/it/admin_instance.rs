//! The instance on `/admin`: the health panel (version, uptime, database and WAL, free disk,
//! the last backup `backup` recorded, the scheduler's backlog, upstream calls by endpoint in
//! the last hour) and the prices an admin sets for everyone, below each user's own.

use rocket::http::Status;
use serde_json::{Value, json};

use crate::harness::api::{api_balance, rows};
use crate::harness::html::form_error;
use crate::harness::points::PointsAccount;
use crate::harness::secrets::{KEY, OTHER_KEY};
use crate::harness::upstream::{MODEL_B, mount_balance};
use crate::harness::{TestApp, User};

async fn member(site: &TestApp, name: &str, key: &str) -> (User, String) {
    let user = site.user(name).await;
    user.add_key("main", key).await;
    let token = user.create_token("script").await;
    (user, token)
}

/// A free check of MODEL_B with the user's saved key: its one row.
async fn price_row(user: &User, token: &str) -> Value {
    let body = json!({"key_id": "main", "models": [MODEL_B], "probe": false});
    let answer = api_balance(&user.client, Some(token), &body).await;
    assert_eq!(answer.status, Status::Ok, "{}", answer.body);
    rows(&answer.json())[0].clone()
}

/// The text of the health card.
async fn health(admin: &User) -> String {
    let page = admin.get("/admin").await;
    page.assert_status(Status::Ok);
    let body = &page.body;
    let start = body.find(r#"id="health""#).expect("the health card");
    let end = start + body[start..].find("</section>").expect("its end");
    crate::harness::html::visible_text(&body[start..end])
}

#[tokio::test]
async fn the_health_panel_says_what_the_instance_is_doing() {
    let site = TestApp::new().await;
    mount_balance(&site.upstream).await;
    let (root, _) = member(&site, "root", KEY).await;
    let before = health(&root).await;
    assert!(before.contains(env!("CARGO_PKG_VERSION")), "{before}");
    assert!(before.contains("没有记录"), "no backup yet: {before}");
    assert!(
        before.contains("MB") || before.contains("KB"),
        "sizes: {before}"
    );
    assert!(before.contains("无：没有等待的任务"), "{before}");

    // A free check calls the balance endpoint: it answers, and is counted.
    let key = root.saved_key_id("main").to_string();
    root.submit(&format!("/keys/{key}/check"), &[]).await;
    let page = root.get("/admin").await;
    let row = page
        .body
        .split(r#"id="endpoint-balance""#)
        .nth(1)
        .and_then(|rest| rest.split("</tr>").next())
        .expect("the balance endpoint's row");
    let text = crate::harness::html::visible_text(row);
    assert!(text.contains("可用"), "{text}");

    // `backup` records itself for the panel (the server keeps running).
    let file = site.data_dir().join("nightly.db");
    let (status, out, err) = site.cli(&["backup", file.to_str().unwrap()]);
    assert!(status.success(), "{out}{err}");
    let after = health(&root).await;
    assert!(!after.contains("没有记录"), "{after}");
    let bytes = std::fs::metadata(&file).unwrap().len();
    assert!(bytes > 0);
}

#[tokio::test]
async fn an_instance_price_counts_for_everyone_below_their_own() {
    let site = TestApp::new().await;
    PointsAccount::new(40.0, &[(MODEL_B, 2.0)])
        .mount(&site.upstream)
        .await;
    let (root, _) = member(&site, "root", KEY).await;
    let (bob, bob_token) = member(&site, "bob", OTHER_KEY).await;
    assert_eq!(
        price_row(&bob, &bob_token).await["points_per_call"],
        Value::Null
    );

    root.submit("/admin/prices", &[("model", MODEL_B), ("points", "2")])
        .await
        .assert_redirect_to("/admin#prices");
    let row = price_row(&bob, &bob_token).await;
    assert_eq!(row["points_per_call"], json!(2), "{row}");
    assert_eq!(row["price_source"], json!("set"));
    assert_eq!(row["calls_left"], json!(20));

    // His own word wins over the admin's.
    bob.submit("/prices", &[("model", MODEL_B), ("points", "0.5")])
        .await
        .assert_status(Status::SeeOther);
    assert_eq!(
        price_row(&bob, &bob_token).await["points_per_call"],
        json!(0.5)
    );
    bob.submit("/prices", &[("model", MODEL_B), ("points", "")])
        .await
        .assert_status(Status::SeeOther);
    assert_eq!(
        price_row(&bob, &bob_token).await["points_per_call"],
        json!(2)
    );

    // Cleared: nobody's price any more.
    root.submit("/admin/prices", &[("model", MODEL_B), ("points", "")])
        .await
        .assert_redirect_to("/admin#prices");
    assert_eq!(
        price_row(&bob, &bob_token).await["points_per_call"],
        Value::Null
    );

    // Bad input is refused with words; an ordinary user cannot reach the form at all.
    for (model, points) in [(MODEL_B, "3"), (MODEL_B, "two"), ("not a model", "1")] {
        let bad = root
            .submit("/admin/prices", &[("model", model), ("points", points)])
            .await;
        bad.assert_status(Status::UnprocessableEntity);
        assert!(form_error(&bad.body).is_some(), "{model} {points}");
    }
    bob.submit("/admin/prices", &[("model", MODEL_B), ("points", "1")])
        .await
        .assert_status(Status::NotFound);
    assert_eq!(
        price_row(&bob, &bob_token).await["points_per_call"],
        Value::Null
    );
}
