//! Readers of what the app stored, straight from its SQLite file.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension};

use super::upstream::POINTS;

/// A direct connection to a database file (the app may be running: WAL allows it).
pub fn open(path: &Path) -> Connection {
    let conn = Connection::open(path).expect("open the app's database");
    conn.busy_timeout(Duration::from_secs(5))
        .expect("busy timeout");
    conn
}

pub fn user_id(conn: &Connection, name: &str) -> Option<i64> {
    conn.query_row("SELECT id FROM users WHERE username = ?1", [name], |r| {
        r.get(0)
    })
    .ok()
}

/// The single number `sql` answers for `param` (`SELECT count(*) … ?1`).
pub fn count(conn: &Connection, sql: &str, param: i64) -> i64 {
    conn.query_row(sql, [param], |r| r.get(0))
        .expect("count query")
}

/// (nonce, ciphertext, master_key_id, user_id) of a saved key row.
pub fn key_row_bytes(conn: &Connection, id: i64) -> (Vec<u8>, Vec<u8>, String, i64) {
    conn.query_row(
        "SELECT nonce, ciphertext, master_key_id, user_id FROM api_keys WHERE id = ?1",
        [id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )
    .expect("key row")
}

/// A `queries` row.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRun {
    pub id: i64,
    pub user_id: i64,
    pub api_key_id: Option<i64>,
    pub key_label: Option<String>,
    pub preset_id: Option<i64>,
    pub preset_name: Option<String>,
    pub source: String,
    pub model_count: i64,
    pub ok_count: i64,
    pub failed_count: i64,
    pub balance_total: Option<f64>,
    pub balance_available: Option<f64>,
    pub balance_frozen: Option<f64>,
    pub balance_error: Option<String>,
}

/// A `query_results` row.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRow {
    pub position: i64,
    pub model: String,
    pub numbers: [Option<i64>; 4],
    pub status: Option<i64>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub latency_ms: i64,
}

pub fn stored_run(conn: &Connection, id: i64) -> Option<StoredRun> {
    conn.query_row(
        "SELECT id, user_id, api_key_id, key_label, preset_id, preset_name, source, model_count,
                ok_count, failed_count, balance_total, balance_available, balance_frozen,
                balance_error
         FROM queries WHERE id = ?1",
        [id],
        |r| {
            Ok(StoredRun {
                id: r.get(0)?,
                user_id: r.get(1)?,
                api_key_id: r.get(2)?,
                key_label: r.get(3)?,
                preset_id: r.get(4)?,
                preset_name: r.get(5)?,
                source: r.get(6)?,
                model_count: r.get(7)?,
                ok_count: r.get(8)?,
                failed_count: r.get(9)?,
                balance_total: r.get(10)?,
                balance_available: r.get(11)?,
                balance_frozen: r.get(12)?,
                balance_error: r.get(13)?,
            })
        },
    )
    .optional()
    .expect("read queries")
}

/// The rows of run `id`, by position.
pub fn stored_rows(conn: &Connection, id: i64) -> Vec<StoredRow> {
    let mut statement = conn
        .prepare(
            "SELECT position, model, request_limit, request_remaining, model_request_limit,
                    model_request_remaining, status, error_code, error_message, latency_ms
             FROM query_results WHERE query_id = ?1 ORDER BY position",
        )
        .expect("prepare");
    statement
        .query_map([id], |r| {
            Ok(StoredRow {
                position: r.get(0)?,
                model: r.get(1)?,
                numbers: [r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?],
                status: r.get(6)?,
                error_code: r.get(7)?,
                error_message: r.get(8)?,
                latency_ms: r.get(9)?,
            })
        })
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("read query_results")
}

/// The ids of a user's stored runs, newest first.
pub fn run_ids(conn: &Connection, user_id: i64) -> Vec<i64> {
    let mut statement = conn
        .prepare("SELECT id FROM queries WHERE user_id = ?1 ORDER BY started_at DESC, id DESC")
        .expect("prepare");
    statement
        .query_map([user_id], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("read queries")
}

/// Checks a stored row against a model that answered 200 with `quota`.
#[track_caller]
pub fn assert_ok_row(row: &StoredRow, position: i64, model: &str, quota: [i64; 4]) {
    assert_eq!(row.position, position, "{row:?}");
    assert_eq!(row.model, model, "{row:?}");
    assert_eq!(row.numbers, quota.map(Some), "{row:?}");
    assert_eq!(row.status, Some(200), "{row:?}");
    assert_eq!(row.error_code, None, "{row:?}");
    assert!(row.latency_ms >= 0, "{row:?}");
}

/// Checks the stored points balance is the double's.
#[track_caller]
pub fn assert_points(run: &StoredRun) {
    assert_eq!(
        (run.balance_total, run.balance_available, run.balance_frozen),
        (Some(POINTS.0), Some(POINTS.1), Some(POINTS.2)),
        "{run:?}"
    );
    assert_eq!(run.balance_error, None, "{run:?}");
}
