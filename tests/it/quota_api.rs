//! `GET /api/quota`: the token holder's own keys as JSON (checked against the OpenAPI
//! document's schema) or Prometheus text (checked by `promtool check metrics`), the keys ranked
//! for a model, the throttled refresh, bad input, and never a secret nor another user's key.
//! Without `refresh=true` it makes no upstream call at all; nothing here calls a model.

use std::io::Write;
use std::process::{Command, Stdio};

use rocket::http::Status;
use serde_json::{Value, json};

use crate::harness::TestApp;
use crate::harness::api::{api_get, api_get_authorized, assert_error_envelope};
use crate::harness::http::get;
use crate::harness::points::PointsAccount;
use crate::harness::readings::{
    HOUR, key, member, quota, read_balance, set_clock, tomorrow_at_eight,
};
use crate::harness::schema::assert_fits;
use crate::harness::secrets::{KEY, OTHER_KEY};
use crate::harness::upstream::{BALANCE_PATH, MODEL_A, MODEL_B, calls_to};

/// `promtool check metrics` on `text`: `None` when promtool is not installed (outside CI only:
/// in CI it must be), else its verdict and what it said.
fn promtool(text: &str) -> Option<(bool, String)> {
    let child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(_) if std::env::var_os("CI").is_none() => {
            println!(
                "promtool is not installed (Debian package prometheus): the text format check is skipped"
            );
            return None;
        }
        Err(error) => panic!("CI must have promtool (.ci/run installs prometheus): {error}"),
    };
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write to promtool");
    let out = child.wait_with_output().expect("promtool ran");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Some((out.status.success(), said))
}

async fn document(site: &TestApp) -> Value {
    get(&site.start().await, "/api/openapi.json").await.json()
}

/// Two users: alice with keys `main` (100 points, spending) and `spare` (300), bob with one
/// key; alice's readings span three hours.
async fn two_users() -> (TestApp, crate::harness::User, String, PointsAccount) {
    let site = TestApp::new().await;
    let main = PointsAccount::new(100.0, &[(MODEL_A, 1.0), (MODEL_B, 2.0)]);
    main.mount_for_key(&site.upstream, KEY).await;
    let spare = PointsAccount::new(300.0, &[(MODEL_A, 1.0)]);
    spare.mount_for_key(&site.upstream, OTHER_KEY).await;
    let start = tomorrow_at_eight(&site);
    set_clock(&site, start);
    let (alice, token) = member(&site, "alice").await;
    alice.add_key("spare \"B\"\\2", OTHER_KEY).await;
    alice.add_preset("daily", &[MODEL_A, MODEL_B]).await;
    let saved = alice
        .submit("/prices", &[("model", MODEL_A), ("points", "1")])
        .await;
    assert_eq!(saved.status, Status::SeeOther, "{}", saved.body);
    for hour in 0..=3 {
        if hour > 0 {
            main.spend(5.0);
        }
        set_clock(&site, start + hour * HOUR);
        read_balance(&alice, &token, "main").await;
        read_balance(&alice, &token, "spare \"B\"\\2").await;
    }
    let (bob, bob_token) = member(&site, "bob").await;
    read_balance(&bob, &bob_token, "main").await;
    (site, alice, token, main)
}

#[tokio::test]
async fn the_json_fits_its_schema_and_names_no_secret() {
    let (site, alice, token, main) = two_users().await;
    site.no_more_upstream_calls().await;

    let answer = quota(&alice, &token, "").await;

    let doc = document(&site).await;
    assert_fits(&doc, "QuotaResponse", &answer);
    let keys = answer["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2, "alice's keys only: {answer}");
    let first = key(&answer, "main");
    assert_eq!(first["last_four"], json!(&KEY[KEY.len() - 4..]));
    assert_eq!(first["balance"]["available"], json!(85));
    assert_eq!(first["burn_per_hour"], json!(5));
    let models: Vec<&Value> = first["models"].as_array().unwrap().iter().collect();
    let a = models
        .iter()
        .find(|m| m["model"] == json!(MODEL_A))
        .unwrap();
    assert_eq!(a["calls_left"], json!(85));
    assert_eq!(a["price_source"], json!("set"));
    assert_eq!(a["calls_per_day"], json!(120.0));
    let b = models
        .iter()
        .find(|m| m["model"] == json!(MODEL_B))
        .unwrap();
    assert_eq!(b["calls_left"], Value::Null, "B's price is unknown");
    // 85 points at the dearest tier (2) and at the cheapest (0.2).
    assert_eq!(b["calls_left_range"], json!([42, 425]));
    let text = answer.to_string();
    for secret in [KEY, OTHER_KEY, token.as_str()] {
        assert!(!text.contains(secret), "a secret in {text}");
    }
    site.verify().await;
    assert_eq!(main.chat_calls(), 0);
}

#[tokio::test]
async fn a_model_ranks_the_keys_most_calls_first() {
    let (site, alice, token, _) = two_users().await;
    site.no_more_upstream_calls().await;

    let answer = quota(&alice, &token, &format!("?model={MODEL_A}")).await;

    assert_fits(&document(&site).await, "QuotaResponse", &answer);
    assert_eq!(answer["model"], json!(MODEL_A));
    let order: Vec<(&str, i64, i64)> = answer["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["label"].as_str().unwrap(),
                k["rank"].as_i64().unwrap(),
                k["models"][0]["calls_left"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(order, [("spare \"B\"\\2", 1, 300), ("main", 2, 85)]);
    for k in answer["keys"].as_array().unwrap() {
        assert_eq!(k["models"].as_array().unwrap().len(), 1);
    }
}

#[tokio::test]
async fn on_a_tie_the_key_whose_points_expire_first_ranks_first() {
    let site = TestApp::new().await;
    let first = PointsAccount::new(100.0, &[(MODEL_A, 1.0)]);
    first.mount_for_key(&site.upstream, KEY).await;
    let second = PointsAccount::new(0.0, &[(MODEL_A, 1.0)]);
    second.mount_for_key(&site.upstream, OTHER_KEY).await;
    let start = tomorrow_at_eight(&site);
    set_clock(&site, start);
    let (alice, token) = member(&site, "alice").await;
    alice.add_key("second", OTHER_KEY).await;
    read_balance(&alice, &token, "main").await;
    read_balance(&alice, &token, "second").await;
    // The second key gets 100 short-term points: the same calls, but they expire.
    second.grant(100.0);
    set_clock(&site, start + HOUR);
    read_balance(&alice, &token, "main").await;
    read_balance(&alice, &token, "second").await;

    let answer = quota(&alice, &token, &format!("?model={MODEL_A}")).await;
    let labels: Vec<&str> = answer["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["second", "main"], "{answer}");
}

#[tokio::test]
async fn prometheus_text_passes_promtool_with_the_callers_keys_only() {
    let (site, alice, token, _) = two_users().await;
    site.no_more_upstream_calls().await;

    let answer = api_get(&alice.client, Some(&token), "/api/quota?format=prometheus").await;

    assert_eq!(answer.status, Status::Ok, "{}", answer.body);
    assert!(
        answer
            .header("Content-Type")
            .is_some_and(|t| t.starts_with("text/plain; version=0.0.4")),
        "{:?}",
        answer.header("Content-Type")
    );
    let text = answer.body.clone();
    assert!(
        text.contains(r#"msb_key_points_available{key="main",site="cn"} 85"#),
        "{text}"
    );
    assert!(
        text.contains(r#"msb_key_points_available{key="spare \"B\"\\2",site="cn"} 300"#),
        "label values escaped: {text}"
    );
    assert!(text.contains(r#"msb_key_burn_per_hour{key="main",site="cn"} 5"#));
    assert!(
        text.contains(&format!(
            r#"msb_model_calls_left{{key="main",site="cn",model="{MODEL_A}"}} 85"#
        )),
        "{text}"
    );
    assert!(text.contains("msb_key_points_expiring{"));
    assert_eq!(
        text.matches("msb_key_points_available{").count(),
        2,
        "bob's key is not alice's: {text}"
    );
    for secret in [KEY, OTHER_KEY, token.as_str()] {
        assert!(!text.contains(secret));
    }
    if let Some((ok, said)) = promtool(&text) {
        assert!(ok, "promtool: {said}\n{text}");
    }
}

#[tokio::test]
async fn the_metrics_endpoint_passes_promtool_too() {
    let site = TestApp::configured(|c| c.merge(("metrics_token", "metrics-secret-123"))).await;
    let client = site.start().await;
    let answer = api_get_authorized(&client, Some("Bearer metrics-secret-123"), "/metrics").await;
    assert_eq!(answer.status, Status::Ok, "{}", answer.body);
    if let Some((ok, said)) = promtool(&answer.body) {
        assert!(ok, "promtool: {said}\n{}", answer.body);
    }
}

#[tokio::test]
async fn refresh_reads_every_balance_once_a_minute_and_calls_no_model() {
    let (site, alice, token, main) = two_users().await;
    let before = calls_to(&site.upstream, BALANCE_PATH).await;
    main.spend(5.0);

    let answer = quota(&alice, &token, "?refresh=true").await;

    assert_eq!(answer["refreshed"], json!(true));
    assert_eq!(calls_to(&site.upstream, BALANCE_PATH).await, before + 2);
    assert_eq!(key(&answer, "main")["balance"]["available"], json!(80));
    assert_fits(&document(&site).await, "QuotaResponse", &answer);

    let again = quota(&alice, &token, "?refresh=true").await;
    assert_eq!(again["refreshed"], json!(false));
    assert!(again["refresh_after"].is_string(), "{again}");
    assert_eq!(calls_to(&site.upstream, BALANCE_PATH).await, before + 2);

    site.clock.advance(std::time::Duration::from_secs(61));
    let later = quota(&alice, &token, "?refresh=true&key=main").await;
    assert_eq!(later["refreshed"], json!(true));
    assert_eq!(later["keys"].as_array().unwrap().len(), 1);
    assert_eq!(calls_to(&site.upstream, BALANCE_PATH).await, before + 3);
    assert_eq!(main.chat_calls(), 0);
}

#[tokio::test]
async fn bad_input_is_a_4xx_that_says_what_to_fix() {
    let (site, alice, token, _) = two_users().await;
    site.no_more_upstream_calls().await;
    let bob_key = {
        let db = site.db();
        db.query_row(
            "SELECT k.id FROM api_keys k JOIN users u ON u.id = k.user_id WHERE u.username = 'bob'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .unwrap()
    };
    let anonymous = api_get(&alice.client, None, "/api/quota").await;
    assert_eq!(anonymous.status, Status::Unauthorized);
    assert_error_envelope(&anonymous);
    for (query, status, words) in [
        ("?format=xml", Status::BadRequest, "xml"),
        ("?format=json&format=json", Status::BadRequest, "format"),
        ("?refresh=maybe", Status::BadRequest, "refresh"),
        ("?model=not-a-model", Status::BadRequest, "not-a-model"),
        ("?key=nobody", Status::NotFound, "key"),
        (&format!("?key={bob_key}"), Status::NotFound, "key"),
    ] {
        let answer = api_get(&alice.client, Some(&token), &format!("/api/quota{query}")).await;
        assert_eq!(answer.status, status, "{query}: {}", answer.body);
        let envelope = assert_error_envelope(&answer);
        assert!(
            envelope["message"].as_str().unwrap_or("").contains(words),
            "{query}: {envelope}"
        );
    }
    site.verify().await;
}
