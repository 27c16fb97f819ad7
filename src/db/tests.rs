use super::*;

#[test]
fn migrations_are_valid() {
    migrations().validate().unwrap();
}

#[test]
fn database_files_are_owner_only_and_deletes_overwrite() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.db");
    let db = Db::open(&path).unwrap();
    let conn = db.connection().unwrap();
    conn.execute(
        "INSERT INTO login_failures (username, client_addr, at) VALUES ('a', 'b', 1)",
        [],
    )
    .unwrap();
    for suffix in ["", "-wal", "-shm"] {
        let file = format!("{}{suffix}", path.display());
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{file}");
    }
    let secure: i64 = conn
        .query_row("PRAGMA secure_delete", [], |r| r.get(0))
        .unwrap();
    assert_eq!(secure, 1);
}

#[test]
fn an_older_world_readable_file_is_narrowed() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.db");
    std::fs::write(&path, b"").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    Db::open(&path).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

/// 0006 copies each row's user and start time from its run, so rows stored before it are
/// found by the model filter and the trend page like new ones.
#[test]
fn history_indexes_migration_fills_rows_stored_before_it() {
    let mut conn = Connection::open_in_memory().unwrap();
    migrations().to_version(&mut conn, 4).unwrap();
    conn.execute_batch(
        "INSERT INTO users (id, username, password_hash, created_at) VALUES (7, 'old', 'x', 0);
         INSERT INTO queries (id, user_id, source, started_at, duration_ms, model_count,
                              ok_count, failed_count)
             VALUES (11, 7, 'web', 1700000000, 1, 2, 2, 0);
         INSERT INTO query_results (query_id, position, model, latency_ms)
             VALUES (11, 0, 'a/b', 1), (11, 1, 'c/d', 1);",
    )
    .unwrap();
    migrate(&mut conn).unwrap();
    let rows: Vec<(i64, i64)> = conn
        .prepare("SELECT user_id, started_at FROM query_results ORDER BY position")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(rows, [(7, 1_700_000_000), (7, 1_700_000_000)]);
    let indexes: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE tbl_name = 'query_results' AND type = 'index' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        indexes,
        [
            "query_results_by_query",
            "query_results_by_query_model",
            "query_results_by_user_model_time"
        ]
    );
}

/// A stored row carries its run's user and start time (what the model index is ordered by).
#[test]
fn stored_rows_carry_their_runs_user_and_time() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("app.db")).unwrap();
    let mut conn = db.connection().unwrap();
    let user = users::create(&conn, "alice", "x").unwrap().unwrap();
    let results = [super::test_support::answered("a/b")];
    let run = runs::insert_run(
        &mut conn,
        &runs::NewRun {
            user_id: user,
            source: history::Source::Web,
            started_at: 1_700_000_123,
            results: &results,
            ..runs::NewRun::default()
        },
    )
    .unwrap();
    let stored: (i64, i64) = conn
        .query_row(
            "SELECT user_id, started_at FROM query_results WHERE query_id = ?1",
            [run],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(stored, (user.get(), 1_700_000_123));
}

#[test]
fn opens_with_wal_and_foreign_keys() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("nested/app.db")).unwrap();
    let conn = db.connection().unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let fk: i64 = conn
        .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
        .unwrap();
    assert_eq!(fk, 1);
}

/// The texts rows hold. A closed set's text is its variant's name unless it gives one, so a
/// renamed variant would rename its text and leave older rows unreadable: it must keep the old
/// text (`NewName = "old_name"`). This list changes only with a migration.
#[test]
fn stored_texts_do_not_change_with_a_rename() {
    use crate::modelscope::{ErrorCode, PriceSource, Reason as RowReason, Site};

    macro_rules! stored {
        ($($set:ty => [$($text:literal),+ $(,)?]),+ $(,)?) => {$(
            let texts: Vec<&str> = <$set>::ALL.iter().map(|value| value.as_str()).collect();
            assert_eq!(texts, [$($text),+], "the stored texts of {}", stringify!($set));
        )+};
    }
    stored! {
        monitors::CheckKind => ["check", "probe"],
        monitors::Outcome => ["ok", "failed", "skipped"],
        monitors::MonitorReason => ["daily_cap", "key_needs_reentry", "preset_gone", "unavailable"],
        alert_rules::Condition => [
            "points_below", "calls_below", "key_invalid", "model_gone", "daily_summary",
            "price_changed", "runs_out_within", "points_expiring", "grant_unclaimed",
        ],
        channels::Kind => [
            "webhook", "dingtalk", "feishu", "wecom", "telegram", "bark", "serverchan", "email",
        ],
        deliveries::Event => ["alert", "recovered", "summary", "test"],
        deliveries::Status => ["pending", "sent", "failed", "held"],
        deliveries::DeliveryError => [
            "refused_address", "not_found", "bad_url", "timeout", "connect", "http", "rejected",
            "tls", "smtp", "request", "bad_message", "channel_gone", "secret", "smtp_needs_auth",
        ],
        history::Source => ["web", "api", "schedule"],
        history::RunKind => ["probe", "check", "census"],
        history::Unclean => ["shared", "outside", "unsettled"],
        passkeys::Purpose => ["register", "second-factor", "sign-in"],
        ErrorCode => [
            "invalid_key", "account_not_eligible", "model_not_found", "quota_exhausted",
            "rate_limited", "upstream_error", "timeout", "network_error", "no_quota_data",
            "invalid_model", "points_exhausted",
        ],
        RowReason => [
            "too_long", "not_owner_slash_name", "bad_character", "dot_dot", "connect",
            "truncated", "request", "points_exhausted",
        ],
        PriceSource => ["measured", "inferred", "set"],
        Site => ["cn", "ai"],
    }
}
