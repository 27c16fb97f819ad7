//! Fixtures the table modules' unit tests share: a database at a given migration with one
//! user and one saved key, and runs stored with a balance the way the app stores them.

use rusqlite::Connection;

use crate::db::history::{Source, StoredBalance};
use crate::db::runs::{NewRun, insert_run};
use crate::ids::{KeyId, UserId};
use crate::modelscope::{ModelResult, Quota};

/// The saved key of [`database_at`]'s user (user 7).
pub const KEY: KeyId = KeyId(3);

/// A database migrated to `version`, with user 7 and its saved key [`KEY`].
pub fn database_at(version: usize) -> Connection {
    let mut conn = Connection::open_in_memory().unwrap();
    super::migrations().to_version(&mut conn, version).unwrap();
    conn.execute_batch(
        "INSERT INTO users (id, username, password_hash, created_at) VALUES (7, 'old', 'x', 0);
         INSERT INTO api_keys (id, user_id, label, nonce, ciphertext, master_key_id,
                               last_four, created_at)
             VALUES (3, 7, 'main', x'00', x'00', 'm', 'abcd', 0);",
    )
    .unwrap();
    conn
}

/// A database migrated to the newest schema, with `sql` run on it (its users, keys, …).
pub fn database_with(sql: &str) -> Connection {
    let mut conn = Connection::open_in_memory().unwrap();
    super::migrations().to_latest(&mut conn).unwrap();
    conn.execute_batch(sql).unwrap();
    conn
}

/// A model row answered 200 with nothing else known, as a probe stores it.
pub fn answered(model: &str) -> ModelResult {
    ModelResult {
        model: model.to_owned(),
        quota: Quota::default(),
        status: Some(200),
        failure: None,
        latency_ms: 1,
        price: None,
        candidates: None,
        checked: true,
    }
}

/// A run of [`KEY`] from the page at `at` that read `available` points (none frozen), or no
/// balance at all.
pub fn store_balance(conn: &mut Connection, at: i64, available: Option<f64>) {
    insert_run(
        conn,
        &NewRun {
            user_id: UserId(7),
            api_key_id: Some(KEY),
            source: Source::Web,
            started_at: at,
            balance: Some(StoredBalance {
                total: available,
                available,
                frozen: available.map(|_| 0.0),
                error: None,
            }),
            ..NewRun::default()
        },
    )
    .unwrap();
}
