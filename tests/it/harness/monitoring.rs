//! Helpers for the monitoring tests: reading what the scheduler did from the database, and
//! waiting for it (the scheduler runs on its own task; the test moves its clock and waits for
//! the passes that follow, never for a length of time).

use rusqlite::Connection;

use super::TestApp;

/// Scheduled runs stored for `user_id`.
pub fn schedule_runs(conn: &Connection, user_id: i64) -> i64 {
    conn.query_row(
        "SELECT count(*) FROM queries WHERE user_id = ?1 AND source = 'schedule'",
        [user_id],
        |r| r.get(0),
    )
    .expect("count scheduled runs")
}

/// The deliveries of `user_id`: (event, status, attempts, message, payload, last_error).
pub fn deliveries(
    conn: &Connection,
    user_id: i64,
) -> Vec<(String, String, i64, String, String, Option<String>)> {
    let mut statement = conn
        .prepare(
            "SELECT event, status, attempts, message, payload, last_error FROM deliveries
             WHERE user_id = ?1 ORDER BY id",
        )
        .expect("prepare");
    statement
        .query_map([user_id], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("read deliveries")
}

/// The id of the user's only (or newest) monitor.
pub fn newest_monitor(conn: &Connection, user_id: i64) -> i64 {
    conn.query_row(
        "SELECT id FROM monitors WHERE user_id = ?1 ORDER BY id DESC LIMIT 1",
        [user_id],
        |r| r.get(0),
    )
    .expect("a monitor")
}

pub fn newest_channel(conn: &Connection, user_id: i64) -> i64 {
    conn.query_row(
        "SELECT id FROM channels WHERE user_id = ?1 ORDER BY id DESC LIMIT 1",
        [user_id],
        |r| r.get(0),
    )
    .expect("a channel")
}

/// Lets every scheduler finish what it has to do now ([`TestApp::settle`]), then checks
/// `count()` has reached `n`; panics naming `what`.
pub async fn wait_for_count(app: &TestApp, what: &str, n: i64, count: impl FnOnce() -> i64) {
    app.settle().await;
    let now = count();
    assert!(
        now >= n,
        "{what}: expected {n}, still {now} after the schedulers settled"
    );
}

/// Lets every scheduler finish what it has to do now, then checks `count()` is still `n`.
pub async fn stays(app: &TestApp, what: &str, n: i64, count: impl FnOnce() -> i64) {
    app.settle().await;
    assert_eq!(count(), n, "{what}");
}

// ---------------------------------------------------------------------------------------------
// A ModelScope double whose points balance the test controls

use std::sync::{Arc, Mutex};

use serde_json::json;
use wiremock::{MockServer, Request, Respond, ResponseTemplate};

use super::upstream::{any_chat, balance, completion};

/// The balance the double answers with (and how), shared with the test.
#[derive(Clone)]
pub struct Points {
    state: Arc<Mutex<(u16, f64)>>,
}

impl Points {
    /// Answers 200 with `available` points (nothing frozen).
    pub fn set(&self, available: f64) {
        if let Ok(mut state) = self.state.lock() {
            *state = (200, available);
        }
    }

    /// Answers `status` (401: the key is refused).
    pub fn fail(&self, status: u16) {
        if let Ok(mut state) = self.state.lock() {
            state.0 = status;
        }
    }

    pub fn available(&self) -> f64 {
        self.state.lock().map(|s| s.1).unwrap_or_default()
    }

    fn charge(&self, points: f64) {
        if let Ok(mut state) = self.state.lock() {
            state.1 -= points;
        }
    }
}

impl Respond for Points {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let (status, available) = self.state.lock().map(|s| *s).unwrap_or((500, 0.0));
        if status == 200 {
            ResponseTemplate::new(200).set_body_json(json!({
                "success": true, "request_id": "r",
                "data": {"total_balance": available, "available_balance": available, "frozen_amount": 0}
            }))
        } else {
            ResponseTemplate::new(status).set_body_json(json!({
                "success": false, "code": "Unauthorized", "message": "invalid token", "request_id": "r"
            }))
        }
    }
}

/// The points balance, answered at once while open. While shut, a call waits (on the mock
/// server's own thread) until it opens: a run that reads it stays under way, whatever the
/// machine's speed, until the test opens it.
#[derive(Clone, Default)]
pub struct Shutter(Arc<(Mutex<bool>, std::sync::Condvar)>);

impl Shutter {
    pub fn shut(&self) {
        if let Ok(mut shut) = self.0.0.lock() {
            *shut = true;
        }
    }

    pub fn open(&self) {
        if let Ok(mut shut) = self.0.0.lock() {
            *shut = false;
        }
        self.0.1.notify_all();
    }
}

impl Respond for Shutter {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let (shut, opened) = &*self.0;
        if let Ok(guard) = shut.lock() {
            // A minute at most: a test that never opens fails instead of hanging.
            let _ = opened.wait_timeout_while(guard, std::time::Duration::from_secs(60), |s| *s);
        }
        ResponseTemplate::new(200).set_body_json(super::upstream::balance_body())
    }
}

/// Mounts the balance endpoint behind a [`Shutter`], open.
pub async fn mount_shuttered_balance(server: &MockServer) -> Shutter {
    let shutter = Shutter::default();
    balance()
        .respond_with(shutter.clone())
        .named("shuttered balance")
        .mount(server)
        .await;
    shutter
}

/// A chat completion under the points regime: no rate-limit headers, `price` points taken.
struct Charging {
    points: Points,
    price: f64,
}

impl Respond for Charging {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        self.points.charge(self.price);
        ResponseTemplate::new(200).set_body_json(completion())
    }
}

/// Mounts the balance endpoint answering `available` points until told otherwise.
pub async fn mount_points(server: &MockServer, available: f64) -> Points {
    let points = Points {
        state: Arc::new(Mutex::new((200, available))),
    };
    balance()
        .respond_with(points.clone())
        .named("controlled balance")
        .mount(server)
        .await;
    points
}

/// Every chat call answers 200 without headers and costs `price` points of `points`.
pub async fn mount_charging_chat(server: &MockServer, points: &Points, price: f64) {
    any_chat()
        .respond_with(Charging {
            points: points.clone(),
            price,
        })
        .named("charging chat")
        .mount(server)
        .await;
}
