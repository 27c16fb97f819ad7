//! Issue 12, "Ready to run as a service": `/metrics` (off by default, then only with its
//! token, bounded labels), graceful shutdown on SIGTERM (a run in flight is finished and
//! stored, exit 0), `backup` under load and `restore` into a fresh directory, and the log
//! formats. The shutdown and backup tests run the real binary on a free loopback port.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rocket::http::{Header, Status};
use serde_json::{Value, json};

use crate::harness::api::post_balance;
use crate::harness::app::free_port;
use crate::harness::binary::{self, Binary};
use crate::harness::http::Answer;
use crate::harness::secrets::{KEY, SAVED_KEY};
use crate::harness::upstream::{
    CHAT_PATH, MODEL_A, QUOTA_A, chat, mount_balance, mount_ok, mount_slow, ok_with_quota,
};
use crate::harness::{TestApp, eventually, eventually_async};

const METRICS_TOKEN: &str = "test-metrics-token-0123456789abcdef";

// ---------------------------------------------------------------------------------------------
// /metrics

async fn get_metrics(client: &rocket::local::asynchronous::Client, bearer: Option<&str>) -> Answer {
    let mut request = client.get("/metrics");
    if let Some(value) = bearer {
        request = request.header(Header::new("Authorization", value.to_owned()));
    }
    Answer::from(request.dispatch().await).await
}

#[tokio::test]
async fn metrics_do_not_exist_without_a_token() {
    let site = TestApp::new().await;
    let client = site.start().await;
    let answer = get_metrics(&client, None).await;
    assert_eq!(answer.status, Status::NotFound, "{}", answer.body);
    let answer = get_metrics(&client, Some(&format!("Bearer {METRICS_TOKEN}"))).await;
    assert_eq!(answer.status, Status::NotFound, "{}", answer.body);
    site.no_more_upstream_calls().await;
}

#[tokio::test]
async fn metrics_answer_only_their_token_and_count_queries_with_bounded_labels() {
    let site = TestApp::configured(|c| c.merge(("metrics_token", METRICS_TOKEN))).await;
    mount_ok(&site.upstream, MODEL_A, QUOTA_A, 1).await;
    mount_balance(&site.upstream).await;
    let client = site.start().await;

    for bearer in [
        None,
        Some("Bearer".to_owned()),
        Some("Bearer wrong-token-0123456789abcdef".to_owned()),
        Some(format!(
            "Bearer {}",
            &METRICS_TOKEN[..METRICS_TOKEN.len() - 1]
        )),
        Some(format!("Basic {METRICS_TOKEN}")),
        Some(METRICS_TOKEN.to_owned()),
    ] {
        let answer = get_metrics(&client, bearer.as_deref()).await;
        assert_eq!(
            answer.status,
            Status::Unauthorized,
            "{bearer:?}: {}",
            answer.body
        );
        assert_eq!(answer.header("WWW-Authenticate"), Some("Bearer"));
        assert!(!answer.body.contains("msb_"), "{}", answer.body);
    }

    let answer = post_balance(&client, &json!({"api_key": KEY, "models": [MODEL_A]})).await;
    assert_eq!(answer.status, Status::Ok, "{}", answer.body);

    let answer = get_metrics(&client, Some(&format!("Bearer {METRICS_TOKEN}"))).await;
    assert_eq!(answer.status, Status::Ok, "{}", answer.body);
    assert_eq!(
        answer.header("Content-Type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let text = &answer.body;
    for series in [
        r#"msb_queries_total{source="api",outcome="ok"}"#,
        r#"msb_upstream_calls_total{endpoint="chat",outcome="ok"}"#,
        r#"msb_upstream_calls_total{endpoint="balance",outcome="ok"}"#,
        r#"msb_query_duration_seconds_bucket{source="api",le="0.5"}"#,
        r#"msb_upstream_call_duration_seconds_count{endpoint="chat"}"#,
        // The balance did not move: this run cost 0 points.
        "msb_points_spent_count",
        "msb_build_info{version=",
    ] {
        let value = sample(text, series).unwrap_or_else(|| panic!("no {series} in:\n{text}"));
        assert!(
            value >= 1.0 || series.starts_with("msb_query_duration"),
            "{series} = {value}"
        );
    }
    // The counters of what has not happened yet exist at 0 from the start (every label pair).
    for series in [
        r#"msb_queries_total{source="schedule",outcome="failed"}"#,
        r#"msb_upstream_calls_total{endpoint="catalogue",outcome="timeout"}"#,
        r#"msb_scheduler_runs_total{outcome="skipped"}"#,
        r#"msb_alert_deliveries_total{channel="webhook",result="failed"}"#,
        r#"msb_db_errors_total{op="store_run"}"#,
    ] {
        let value = sample(text, series).unwrap_or_else(|| panic!("no {series} in:\n{text}"));
        assert!(value >= 0.0, "{series} = {value}");
    }
    assert!(text.contains("# TYPE msb_queries_total counter"), "{text}");
    assert!(
        text.contains("# TYPE msb_query_duration_seconds histogram"),
        "{text}"
    );

    // No label carries a key, a model or anything else the caller chose.
    assert!(!text.contains(KEY) && !text.contains("Qwen"), "{text}");
    let allowed_names: BTreeSet<&str> = [
        "source", "outcome", "endpoint", "channel", "result", "op", "version", "le",
    ]
    .into();
    for (name, value) in labels(text) {
        assert!(
            allowed_names.contains(name.as_str()),
            "label {name} in:\n{text}"
        );
        if name != "version" && name != "le" {
            assert!(
                value.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "label {name}={value:?}"
            );
        }
    }
    site.verify().await;
}

/// The value of the first sample line that starts with `series`.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find(|line| line.starts_with(series))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}

/// Every `name="value"` pair of every sample line.
fn labels(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for line in text.lines().filter(|line| !line.starts_with('#')) {
        let Some((_, rest)) = line.split_once('{') else {
            continue;
        };
        let Some((inside, _)) = rest.rsplit_once('}') else {
            continue;
        };
        for pair in inside.split("\",") {
            if let Some((name, value)) = pair.split_once("=\"") {
                out.push((name.to_owned(), value.trim_end_matches('"').to_owned()));
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The real binary

/// The binary serving on a free loopback port, on `data_dir` (also its working directory),
/// against the site's upstream double, with `vars` too; its output beside the data.
async fn serve(site: &TestApp, data_dir: &Path, vars: &[(&str, &str)]) -> Binary {
    let mut command = binary_command(site, data_dir);
    command.envs(vars.iter().copied());
    Binary::serve(command, free_port(), data_dir).await
}

/// The binary with every inherited `ROCKET_*`/`RUST_LOG` removed, on `data_dir`, against the
/// site's upstream double.
fn binary_command(site: &TestApp, data_dir: &Path) -> Command {
    let mut command = binary::command(data_dir);
    command
        .env("ROCKET_DATA_DIR", data_dir)
        .env("ROCKET_ADDRESS", "127.0.0.1")
        .env(
            "ROCKET_MODELSCOPE_API_BASE",
            format!("{}/v1", site.upstream.uri()),
        )
        .env("ROCKET_MODELSCOPE_HUB_BASE", site.upstream.uri());
    command
}

/// Runs a maintenance command of the binary (`backup`, `restore`) on `data_dir`.
async fn maintenance(site: &TestApp, data_dir: &Path, args: &[&str]) -> Output {
    let mut command = binary_command(site, data_dir);
    command.args(args).stdin(Stdio::null());
    tokio::task::spawn_blocking(move || command.output().expect("run the binary"))
        .await
        .expect("join")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

/// A user with a personal access token, made through the app in-process (then stopped).
async fn token_holder(site: &TestApp, saved_key: bool) -> String {
    let user = site.user("ann").await;
    if saved_key {
        user.add_key("main", SAVED_KEY).await;
    }
    user.create_token("ops").await
}

/// `POST /api/balance` with the token: a run that is stored; returns its `history_id`.
async fn stored_query(base: &str, token: &str) -> Result<i64, String> {
    let answer = http()
        .post(format!("{base}/api/balance"))
        .bearer_auth(token)
        .json(&json!({"api_key": KEY, "models": [MODEL_A]}))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = answer.status();
    let body: Value = answer.json().await.map_err(|e| e.to_string())?;
    if status != reqwest::StatusCode::OK || body["success"] != json!(true) {
        return Err(format!("{status}: {body}"));
    }
    body["history_id"]
        .as_i64()
        .ok_or_else(|| format!("no history_id: {body}"))
}

fn stored_runs(db_path: &Path) -> BTreeSet<i64> {
    let conn = rusqlite::Connection::open(db_path).expect("open the database");
    let mut statement = conn.prepare("SELECT id FROM queries").expect("prepare");
    statement
        .query_map([], |row| row.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
}

// ---------------------------------------------------------------------------------------------
// Graceful shutdown (and JSON logs)

#[tokio::test]
async fn sigterm_mid_query_finishes_and_stores_the_run_then_exits_0() {
    let site = TestApp::new().await;
    let token = token_holder(&site, false).await;
    mount_balance(&site.upstream).await;
    // The probe takes long enough for the listener to close while it goes, however slowly
    // the signal is handled on a busy machine.
    mount_slow(&site.upstream, MODEL_A, QUOTA_A, PROBE_TAKES, 1).await;
    let mut server = serve(&site, site.data_dir(), &[("ROCKET_LOG_FORMAT", "json")]).await;

    let base = server.base.clone();
    let query = {
        let token = token.clone();
        tokio::spawn(async move { stored_query(&base, &token).await })
    };
    // The probe is at the upstream (which answers in PROBE_TAKES) when the signal comes.
    let started = Instant::now();
    while !probe_arrived(&site).await {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the probe never reached the upstream: {}",
            server.stderr()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let signalled = Instant::now();
    server.sigterm();

    // A new connection is not served while the run goes on: once the server has heeded the
    // signal (polled for, not slept for), the query in flight is still going.
    let mut late = Ok(());
    let refused = eventually_async(Duration::from_secs(10), async || {
        late = http()
            .get(format!("{}/health", server.base))
            .timeout(Duration::from_millis(800))
            .send()
            .await
            .map(|_| ());
        late.is_err()
    })
    .await;
    assert!(
        refused,
        "requests were still served 10 s after SIGTERM: {late:?}"
    );
    assert!(
        !query.is_finished(),
        "the server stopped serving only after the run in flight ended"
    );

    let id = query
        .await
        .expect("join")
        .unwrap_or_else(|e| panic!("the query in flight failed: {e}\n{}", server.stderr()));
    let status = server.exit_status(Duration::from_secs(30)).await;
    assert!(
        status.success(),
        "exit status {status}: {}",
        server.stderr()
    );
    assert!(
        signalled.elapsed() < Duration::from_secs(15),
        "shutdown took {:?}",
        signalled.elapsed()
    );
    assert!(
        stored_runs(&site.database_path()).contains(&id),
        "run {id} is not in the database"
    );

    // JSON lines: every line an object; one per query, with its counts and no secret.
    let logs = server.stderr();
    let lines: Vec<Value> = logs
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    let queries: Vec<&Value> = lines
        .iter()
        .filter(|line| line["message"] == "balance query")
        .collect();
    assert_eq!(queries.len(), 1, "{logs}");
    assert_eq!(queries[0]["source"], "api", "{logs}");
    assert_eq!(queries[0]["outcome"], "ok", "{logs}");
    assert_eq!(queries[0]["level"], "INFO", "{logs}");
    assert!(
        lines
            .iter()
            .any(|line| line["message"]
                == "shutting down: every run in flight was finished and stored"),
        "{logs}"
    );
    assert!(
        !logs.contains(KEY) && !logs.contains(&token),
        "a secret in the logs: {logs}"
    );
    site.verify().await;
}

/// How long the upstream takes to answer the probe a SIGTERM interrupts.
const PROBE_TAKES: Duration = Duration::from_secs(4);

async fn probe_arrived(site: &TestApp) -> bool {
    site.upstream
        .received_requests()
        .await
        .is_some_and(|requests| requests.iter().any(|r| r.url.path() == CHAT_PATH))
}

// ---------------------------------------------------------------------------------------------
// Backup and restore

#[tokio::test]
async fn a_backup_under_load_restores_every_acknowledged_run_into_a_fresh_directory() {
    let site = TestApp::new().await;
    let token = token_holder(&site, true).await;
    mount_balance(&site.upstream).await;
    chat(MODEL_A)
        .respond_with(ok_with_quota(QUOTA_A))
        .mount(&site.upstream)
        .await;
    let server = serve(&site, site.data_dir(), &[]).await;

    // Four clients store runs as fast as they can, remembering every acknowledged one.
    let acknowledged = Arc::new(Mutex::new(Vec::<i64>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|_| {
            let (base, token) = (server.base.clone(), token.clone());
            let (acknowledged, stop) = (acknowledged.clone(), stop.clone());
            tokio::spawn(async move {
                for _ in 0..2_000 {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let id = stored_query(&base, &token).await.expect("a stored run");
                    acknowledged.lock().expect("lock").push(id);
                }
            })
        })
        .collect();
    let acked = |n: usize| {
        let acknowledged = acknowledged.clone();
        eventually(Duration::from_secs(30), move || {
            acknowledged.lock().expect("lock").len() >= n
        })
    };
    assert!(acked(20).await, "the load did not start");

    let out = tempfile::tempdir().expect("tempdir");
    let file = out.path().join("backup.db");
    let before: Vec<i64> = acknowledged.lock().expect("lock").clone();
    let backup = maintenance(&site, site.data_dir(), &["backup", &file.to_string_lossy()]).await;
    let report = text(&backup.stdout);
    assert!(backup.status.success(), "{report}{}", text(&backup.stderr));
    assert!(report.contains("integrity ok"), "{report}");
    assert!(
        report.contains("master key file is NOT in the backup"),
        "{report}"
    );
    let during = acknowledged.lock().expect("lock").len() - before.len();

    // A second backup never overwrites the first.
    let again = maintenance(&site, site.data_dir(), &["backup", &file.to_string_lossy()]).await;
    assert!(!again.status.success());
    assert!(
        text(&again.stderr).contains("never overwrites"),
        "{}",
        text(&again.stderr)
    );

    // restore refuses while the server holds the data directory, and changes nothing.
    let refused = maintenance(
        &site,
        site.data_dir(),
        &["restore", &file.to_string_lossy()],
    )
    .await;
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("stop it first"),
        "{}",
        text(&refused.stderr)
    );
    assert!(
        acked(before.len() + during + 5).await,
        "the server stopped storing runs"
    );

    stop.store(true, Ordering::Relaxed);
    for writer in writers {
        writer.await.expect("a writer");
    }
    assert!(
        server.stderr().contains("balance query"),
        "{}",
        server.stderr()
    );
    assert!(
        server.stderr().lines().all(|line| !line.starts_with('{')),
        "text logs by default"
    );
    drop(server);

    // Into a fresh directory: every run acknowledged before the backup began is there.
    let fresh = tempfile::tempdir().expect("tempdir");
    let restore = maintenance(&site, fresh.path(), &["restore", &file.to_string_lossy()]).await;
    assert!(restore.status.success(), "{}", text(&restore.stderr));
    let report = text(&restore.stdout);
    assert!(report.contains("need master key"), "{report}");
    let restored_db = fresh.path().join("modelscope-balance.db");
    let conn = rusqlite::Connection::open(&restored_db).expect("open");
    let verdict: String = conn
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .expect("integrity_check");
    assert_eq!(verdict, "ok");
    drop(conn);
    let restored = stored_runs(&restored_db);
    let missing: Vec<&i64> = before.iter().filter(|id| !restored.contains(id)).collect();
    assert!(missing.is_empty(), "acknowledged runs missing: {missing:?}");
    assert!(
        before.len() >= 20,
        "{} runs before the backup",
        before.len()
    );
    eprintln!(
        "backup under load: {} runs acknowledged before it began, {during} while it ran, \
         {} in the restored copy",
        before.len(),
        restored.len()
    );

    // With the key file from the same backup, the restored site serves its history.
    std::fs::copy(site.key_file(), fresh.path().join("master.key")).expect("copy the key");
    let restored_server = serve(&site, fresh.path(), &[]).await;
    let id = before[before.len() / 2];
    let answer = http()
        .get(format!("{}/api/history/{id}", restored_server.base))
        .bearer_auth(&token)
        .send()
        .await
        .expect("history");
    assert_eq!(answer.status(), reqwest::StatusCode::OK);
}
