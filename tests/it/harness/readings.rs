//! Balance readings at chosen times: the app's clock is a [`ManualClock`] the test sets, and a
//! free check through the API stores one reading at the clock's time. No sleeping.
//!
//! [`ManualClock`]: modelscope_balance::clock::ManualClock

use rocket::http::Status;
use serde_json::{Value, json};

use super::api::{api_balance, api_get};
use super::users::User;
use super::{TestApp, secrets};

pub const HOUR: i64 = 3600;

/// Tomorrow 08:00 in Beijing (unix seconds), after whatever the clock reads now: a day whose
/// midnight and hours a test knows.
pub fn tomorrow_at_eight(site: &TestApp) -> i64 {
    use modelscope_balance::clock::{Clock, last_midnight};
    last_midnight(site.clock.now()) + 86_400 + 8 * HOUR
}

/// Moves the app's clock to `at` (unix seconds; never backwards).
pub fn set_clock(site: &TestApp, at: i64) {
    site.clock.set(at * 1000);
}

/// A user with the saved key `main` (the first test key) and an API token.
pub async fn member(site: &TestApp, name: &str) -> (User, String) {
    let user = site.user(name).await;
    user.add_key("main", secrets::KEY).await;
    let token = user.create_token("script").await;
    (user, token)
}

/// A free check of the saved key `label` now: one stored reading, no model called.
pub async fn read_balance(user: &User, token: &str, label: &str) {
    let answer = api_balance(
        &user.client,
        Some(token),
        &json!({"key_id": label, "probe": false}),
    )
    .await;
    assert_eq!(answer.status, Status::Ok, "{}", answer.body);
    assert_eq!(answer.json()["success"], json!(true), "{}", answer.body);
}

/// `GET /api/quota{query}` as the token holder; the JSON, which must be a 200.
pub async fn quota(user: &User, token: &str, query: &str) -> Value {
    let answer = api_get(&user.client, Some(token), &format!("/api/quota{query}")).await;
    assert_eq!(answer.status, Status::Ok, "{}", answer.body);
    answer.json()
}

/// The key labelled `label` in a `/api/quota` answer.
pub fn key<'a>(answer: &'a Value, label: &str) -> &'a Value {
    answer["keys"]
        .as_array()
        .and_then(|keys| keys.iter().find(|k| k["label"] == json!(label)))
        .unwrap_or_else(|| panic!("no key {label}: {answer}"))
}

/// An RFC 3339 time as unix seconds.
pub fn unix(value: &Value) -> i64 {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("not a time: {value}"));
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .unix_timestamp()
}
