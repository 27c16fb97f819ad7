//! Seeds a data directory with one user and a large history, for `bench/history.sh`.
//!
//! ```text
//! cargo run --release --example seed_history -- DATA_DIR [--master-key PATH] [--runs N]
//!     [--username NAME] [--wal-autocheckpoint PAGES] [--background-checkpoint-ms MS]
//! ```
//!
//! It opens `DATA_DIR/modelscope-balance.db` and `DATA_DIR/master.key` (the app's defaults; the
//! key file is created when missing) through the library's public API, exactly as the app does:
//!
//! - signs up a user (`signup::sign_up`), which also starts a session;
//! - saves two keys through `keyring::Keyring` (sealed with the vault) and makes two presets;
//! - stores N runs (default 10,000) of 5 models each with `db::history::insert_run`, in time
//!   order, spread over the last 60 days: the two keys alternate, the two presets and ad-hoc model
//!   lists take turns, most rows carry quota numbers and a few fail like the real service does;
//! - then a second user, `quota`, for `/api/quota`: 10 keys, 30 models in two presets, a day
//!   of hourly readings per key, and an access token (`QUOTA_TOKEN=`).
//!
//! Every `insert_run` call is timed on its own (one transaction: the run, its 5 rows and the
//! dashboard's latest numbers). Progress and a readable summary go to stderr; stdout carries only
//! `NAME=value` lines for scripts:
//!
//! ```text
//! SESSION=<cookie token for msb_session>   USER_ID=1   KEY_IDS=1,2   PRESET_IDS=1,2
//! RUNS=10000   MODELS_PER_RUN=5   FILTER_MODEL=Qwen/Qwen3-32B   QUOTA_TOKEN=msb_…
//! INSERT_P50_MS=…  INSERT_P90_MS=…  INSERT_P99_MS=…  INSERT_MAX_MS=…  INSERT_MEAN_MS=…
//! INSERT_OVER_5MS=<count>  INSERT_LAST1000_P50_MS=…  INSERT_LAST1000_P99_MS=…  SEED_SECONDS=…  DB_BYTES=…
//! ```
//!
//! The data directory must not already hold a user of that name (use a fresh one).
//!
//! Two knobs exist only to try the fix proposed in `bench/README.md` for slow inserts (a WAL
//! checkpoint, with its fsyncs, runs inside whichever commit crosses 1000 WAL pages); by default
//! the seeding connection behaves exactly like the app's:
//!
//! - `--wal-autocheckpoint PAGES` sets `PRAGMA wal_autocheckpoint` on the seeding connection
//!   (0 turns automatic checkpoints off);
//! - `--background-checkpoint-ms MS` runs `PRAGMA wal_checkpoint(PASSIVE)` every MS milliseconds
//!   on another connection while the runs are stored.

use std::path::{Path, PathBuf};
use std::process::exit;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use modelscope_balance::auth::signup;
use modelscope_balance::crypto::secret::ApiSecret;
use modelscope_balance::crypto::{MasterKey, Vault};
use modelscope_balance::db::Db;
use modelscope_balance::db::history::StoredBalance;
use modelscope_balance::db::history::{RunKind, Source};
use modelscope_balance::db::runs::{NewRun, insert_run};
use modelscope_balance::ids::{KeyId, PresetId};
use modelscope_balance::keyring::Keyring;
use modelscope_balance::modelscope::ModelResult;
use modelscope_balance::modelscope::Site;
use modelscope_balance::modelscope::{ErrorCode, Failure, Quota};
use modelscope_balance::presets;

const USAGE: &str = "usage: seed_history DATA_DIR [--master-key PATH] [--runs N] [--username NAME]
    [--wal-autocheckpoint PAGES] [--background-checkpoint-ms MS]";
const MODELS_PER_RUN: usize = 5;
const SPAN_SECS: i64 = 60 * 86_400;
const PASSWORD: &str = "bench-password-1234";
const KEYS: [(&str, &str); 2] = [
    ("主力 Key", "ms-5eed0001-0000-4000-8000-000000000001"),
    ("备用 Key", "ms-5eed0002-0000-4000-8000-000000000002"),
];
/// Preset name and its models; the first model of each is the one the benchmark filters on.
const PRESETS: [(&str, [&str; MODELS_PER_RUN]); 2] = [
    (
        "日常",
        [
            "Qwen/Qwen3-32B",
            "Qwen/Qwen2.5-72B-Instruct",
            "deepseek-ai/DeepSeek-V3",
            "ZhipuAI/GLM-4.7",
            "moonshotai/Kimi-K2-Instruct",
        ],
    ),
    (
        "代码",
        [
            "Qwen/Qwen3-Coder-480B-A35B-Instruct",
            "Qwen/Qwen2.5-Coder-32B-Instruct",
            "deepseek-ai/DeepSeek-R1",
            "Qwen/QwQ-32B",
            "MiniMax/MiniMax-M1-80k",
        ],
    ),
];
/// Ad-hoc runs pick 5 of these.
const MODEL_POOL: [&str; 16] = [
    "Qwen/Qwen3-32B",
    "Qwen/Qwen3-14B",
    "Qwen/Qwen3-8B",
    "Qwen/Qwen3-235B-A22B",
    "Qwen/Qwen3-30B-A3B",
    "Qwen/Qwen2.5-72B-Instruct",
    "Qwen/Qwen2.5-32B-Instruct",
    "Qwen/Qwen2.5-14B-Instruct",
    "Qwen/Qwen2.5-7B-Instruct",
    "deepseek-ai/DeepSeek-V3",
    "deepseek-ai/DeepSeek-R1-Distill-Qwen-32B",
    "ZhipuAI/GLM-4.5",
    "ZhipuAI/GLM-4.7",
    "moonshotai/Kimi-K2-Instruct",
    "LLM-Research/Meta-Llama-3.1-8B-Instruct",
    "MiniMax/MiniMax-M1-80k",
];

struct Args {
    data_dir: PathBuf,
    master_key: Option<PathBuf>,
    runs: usize,
    username: String,
    /// Experiment knobs, off by default (see the module comment).
    wal_autocheckpoint: Option<i64>,
    background_checkpoint_ms: Option<u64>,
}

fn fail(message: impl std::fmt::Display) -> ! {
    eprintln!("seed_history: {message}");
    exit(1)
}

fn parse_args() -> Args {
    let mut data_dir = None;
    let mut master_key = None;
    let mut runs = 10_000;
    let mut username = "bench".to_owned();
    let mut wal_autocheckpoint = None;
    let mut background_checkpoint_ms = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .unwrap_or_else(|| fail(format!("{name} needs a value\n{USAGE}")))
        };
        match arg.as_str() {
            "--master-key" => master_key = Some(PathBuf::from(value("--master-key"))),
            "--runs" => {
                runs = value("--runs")
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .unwrap_or_else(|| fail("--runs must be a positive number"))
            }
            "--username" => username = value("--username"),
            "--wal-autocheckpoint" => {
                wal_autocheckpoint = Some(
                    value("--wal-autocheckpoint")
                        .parse()
                        .ok()
                        .filter(|n: &i64| *n >= 0)
                        .unwrap_or_else(|| fail("--wal-autocheckpoint must be a number of pages")),
                )
            }
            "--background-checkpoint-ms" => {
                background_checkpoint_ms = Some(
                    value("--background-checkpoint-ms")
                        .parse()
                        .ok()
                        .filter(|n: &u64| *n > 0)
                        .unwrap_or_else(|| fail("--background-checkpoint-ms must be positive")),
                )
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                exit(0)
            }
            flag if flag.starts_with('-') => fail(format!("unknown option {flag}\n{USAGE}")),
            _ if data_dir.is_none() => data_dir = Some(PathBuf::from(arg)),
            _ => fail(format!("one data directory only\n{USAGE}")),
        }
    }
    Args {
        data_dir: data_dir.unwrap_or_else(|| fail(USAGE)),
        master_key,
        runs,
        username,
        wal_autocheckpoint,
        background_checkpoint_ms,
    }
}

/// SplitMix64: a small, seeded generator, so every seeding makes the same history.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// True with probability `percent` / 100.
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// Seconds since 00:00 in Beijing, where ModelScope's daily quotas reset.
fn seconds_into_beijing_day(unix: i64) -> i64 {
    (unix + 8 * 3600).rem_euclid(86_400)
}

/// One model's row, as the engine would have produced it at `started_at`.
fn model_result(rng: &mut Rng, model: &str, started_at: i64) -> ModelResult {
    let latency_ms = 250 + rng.below(2_500);
    let failure = match rng.below(100) {
        0..=2 => Some((
            ErrorCode::RateLimited,
            Some(429),
            "Request rate limit exceeded",
        )),
        3 => Some((ErrorCode::Timeout, None, "no answer within 30 s")),
        4 => Some((ErrorCode::ModelNotFound, Some(404), "Model not found")),
        _ => None,
    };
    if let Some((code, status, detail)) = failure {
        return ModelResult {
            model: model.to_owned(),
            quota: Quota::default(),
            status,
            failure: Some(Failure::new(code, Some(detail.to_owned()))),
            latency_ms,
            price: None,
            candidates: None,
            checked: true,
        };
    }
    // Quotas shrink through the (Beijing) day and reset at midnight.
    let day_fraction = seconds_into_beijing_day(started_at) as f64 / 86_400.0;
    let model_limit: i64 = if model.contains("235B") || model.contains("480B") {
        100
    } else {
        500
    };
    let used_model = (model_limit as f64 * day_fraction * 0.8) as i64 + rng.below(10) as i64;
    let used_total = (2_000.0 * day_fraction * 0.6) as i64 + rng.below(40) as i64;
    ModelResult {
        model: model.to_owned(),
        quota: Quota {
            request_limit: Some(2_000),
            request_remaining: Some((2_000 - used_total).max(0)),
            model_request_limit: Some(model_limit),
            model_request_remaining: Some((model_limit - used_model).max(0)),
            ..Quota::default()
        },
        status: Some(200),
        failure: None,
        latency_ms,
        price: None,
        candidates: None,
        checked: true,
    }
}

/// 5 distinct models from the pool.
fn ad_hoc_models(rng: &mut Rng) -> Vec<&'static str> {
    let mut picked: Vec<&'static str> = Vec::with_capacity(MODELS_PER_RUN);
    while picked.len() < MODELS_PER_RUN {
        let model = MODEL_POOL[rng.below(MODEL_POOL.len() as u64) as usize];
        if !picked.contains(&model) {
            picked.push(model);
        }
    }
    picked
}

/// Percentile (nearest rank) of sorted durations, in milliseconds.
fn percentile_ms(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1].as_secs_f64() * 1000.0
}

fn sorted(durations: &[Duration]) -> Vec<Duration> {
    let mut sorted = durations.to_vec();
    sorted.sort_unstable();
    sorted
}

fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

#[tokio::main]
async fn main() {
    let args = parse_args();
    let db_path = args.data_dir.join("modelscope-balance.db");
    let key_path = args
        .master_key
        .clone()
        .unwrap_or_else(|| args.data_dir.join("master.key"));
    std::fs::create_dir_all(&args.data_dir)
        .unwrap_or_else(|e| fail(format!("cannot create {}: {e}", args.data_dir.display())));

    let db = Db::open(&db_path).unwrap_or_else(|e| fail(e));
    let master = MasterKey::load_or_create(&key_path).unwrap_or_else(|e| fail(e));
    let keyring = Keyring::new(db.clone(), Arc::new(Vault::new(master)));

    let session = signup::sign_up(
        &db,
        &args.username,
        PASSWORD,
        PASSWORD,
        "seed",
        0,
        "seed_history",
        &signup::Gate::open(),
    )
    .await
    .unwrap_or_else(|e| fail(format!("sign-up of {:?}: {e}", args.username)));
    let user_id = session.user_id;

    let mut keys: Vec<(KeyId, &str)> = Vec::new();
    for (label, key) in KEYS {
        let id = keyring
            .add(user_id, label, Site::Cn, ApiSecret::new(key))
            .await
            .unwrap_or_else(|e| fail(format!("saving key {label}: {e}")));
        keys.push((id, label));
    }

    let mut preset_ids: Vec<(PresetId, &str, [&str; MODELS_PER_RUN])> = Vec::new();
    for (index, (name, models)) in PRESETS.into_iter().enumerate() {
        let checked = presets::check(name, &models.join("\n"), &[], 50)
            .unwrap_or_else(|e| fail(format!("preset {name}: {e}")));
        let id = presets::create(&db, user_id, checked, index == 0)
            .await
            .unwrap_or_else(|e| fail(format!("preset {name}: {e}")));
        preset_ids.push((id, name, models));
    }

    // Runs in time order, as they would have been stored, ending a minute ago.
    let now = modelscope_balance::clock::now();
    let first = now - SPAN_SECS;
    let step = SPAN_SECS as f64 / args.runs as f64;
    let mut rng = Rng(0x5EED_2026);
    let mut conn = db.connection().unwrap_or_else(|e| fail(e));
    if let Some(pages) = args.wal_autocheckpoint {
        conn.pragma_update(None, "wal_autocheckpoint", pages)
            .unwrap_or_else(|e| fail(e));
    }
    let stop = Arc::new(AtomicBool::new(false));
    let checkpointer = args.background_checkpoint_ms.map(|every| {
        let (db, stop) = (db.clone(), stop.clone());
        std::thread::spawn(move || {
            let conn = db.connection().unwrap_or_else(|e| fail(e));
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(every));
                conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                    .unwrap_or_else(|e| fail(format!("checkpoint: {e}")));
            }
        })
    });
    let mut times: Vec<Duration> = Vec::with_capacity(args.runs);
    let seeding = Instant::now();
    for i in 0..args.runs {
        let jitter = rng.below(step.max(1.0) as u64) as i64;
        let started_at = (first + (i as f64 * step) as i64 + jitter).min(now - 60);
        let (key_id, key_label) = keys[i % keys.len()];
        // Two runs in five use each preset, one in five types its models.
        let (preset, models): (Option<(PresetId, &str)>, Vec<&str>) = match i % 5 {
            0 | 2 => (
                Some((preset_ids[0].0, preset_ids[0].1)),
                preset_ids[0].2.to_vec(),
            ),
            1 | 3 => (
                Some((preset_ids[1].0, preset_ids[1].1)),
                preset_ids[1].2.to_vec(),
            ),
            _ => (None, ad_hoc_models(&mut rng)),
        };
        let results: Vec<ModelResult> = models
            .iter()
            .map(|model| model_result(&mut rng, model, started_at))
            .collect();
        let duration_ms =
            results.iter().map(|r| r.latency_ms).max().unwrap_or(0) as i64 + rng.below(40) as i64;
        let balance = if rng.chance(2) {
            StoredBalance {
                total: None,
                available: None,
                frozen: None,
                error: Some(ErrorCode::NetworkError),
            }
        } else {
            let total = 100.0;
            let frozen = (rng.below(5) as f64) * 0.5;
            StoredBalance {
                total: Some(total),
                available: Some(total - frozen - (i % 50) as f64 * 0.1),
                frozen: Some(frozen),
                error: None,
            }
        };
        let run = NewRun {
            user_id,
            api_key_id: Some(key_id),
            key_label: Some(key_label),
            preset_id: preset.map(|p| p.0),
            preset_name: preset.map(|p| p.1),
            source: if i % 10 == 9 {
                Source::Api
            } else {
                Source::Web
            },
            started_at,
            duration_ms,
            balance: Some(balance),
            results: &results,
            ..NewRun::default()
        };
        let started = Instant::now();
        insert_run(&mut conn, &run).unwrap_or_else(|e| fail(format!("run {i}: {e}")));
        times.push(started.elapsed());
        if (i + 1) % 2_000 == 0 {
            eprintln!("seed_history: {} / {} runs", i + 1, args.runs);
        }
    }
    let seed_secs = seeding.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    if let Some(thread) = checkpointer {
        thread
            .join()
            .unwrap_or_else(|_| fail("the checkpoint thread panicked"));
    }
    drop(conn);
    // Closing the last connection checkpoints the WAL into the database file.
    drop(keyring);
    drop(db);

    let all = sorted(&times);
    let last = sorted(&times[times.len().saturating_sub(1_000)..]);
    let mean = times.iter().map(Duration::as_secs_f64).sum::<f64>() / times.len() as f64 * 1000.0;
    let (p50, p90, p99, max) = (
        percentile_ms(&all, 50.0),
        percentile_ms(&all, 90.0),
        percentile_ms(&all, 99.0),
        percentile_ms(&all, 100.0),
    );
    eprintln!(
        "seed_history: {} runs of {MODELS_PER_RUN} models for user {user_id} in {seed_secs:.1} s; \
         insert_run median {p50:.3} ms, p90 {p90:.3} ms, p99 {p99:.3} ms, max {max:.3} ms",
        args.runs
    );
    let quota_token = seed_quota_user(&db_path, &key_path, now).await;
    let join = |ids: Vec<i64>| ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    println!("QUOTA_TOKEN={quota_token}");
    println!("SESSION={}", session.cookie_token);
    println!("USER_ID={user_id}");
    println!("KEY_IDS={}", join(keys.iter().map(|k| k.0.get()).collect()));
    println!(
        "PRESET_IDS={}",
        join(preset_ids.iter().map(|p| p.0.get()).collect())
    );
    println!("RUNS={}", args.runs);
    println!("MODELS_PER_RUN={MODELS_PER_RUN}");
    println!("FILTER_MODEL={}", PRESETS[0].1[0]);
    println!("INSERT_P50_MS={p50:.3}");
    println!("INSERT_P90_MS={p90:.3}");
    println!("INSERT_P99_MS={p99:.3}");
    println!("INSERT_MAX_MS={max:.3}");
    println!("INSERT_MEAN_MS={mean:.3}");
    println!(
        "INSERT_OVER_5MS={}",
        times
            .iter()
            .filter(|t| *t > &Duration::from_millis(5))
            .count()
    );
    println!("INSERT_LAST1000_P50_MS={:.3}", percentile_ms(&last, 50.0));
    println!("INSERT_LAST1000_P99_MS={:.3}", percentile_ms(&last, 99.0));
    println!("SEED_SECONDS={seed_secs:.2}");
    println!("DB_BYTES={}", file_size(&db_path));
}

/// `/api/quota`'s benchmark user: 10 saved keys, two presets of 15 models each (30 models), a
/// day of hourly readings per key (spending, one grant), and an access
/// token (printed as QUOTA_TOKEN).
async fn seed_quota_user(db_path: &Path, key_path: &Path, now: i64) -> String {
    let db = Db::open(db_path).unwrap_or_else(|e| fail(e));
    let master = MasterKey::load_or_create(key_path).unwrap_or_else(|e| fail(e));
    let keyring = Keyring::new(db.clone(), Arc::new(Vault::new(master)));
    let session = signup::sign_up(
        &db,
        "quota",
        PASSWORD,
        PASSWORD,
        "seed",
        0,
        "seed_history",
        &signup::Gate::open(),
    )
    .await
    .unwrap_or_else(|e| fail(format!("sign-up of quota: {e}")));
    let user_id = session.user_id;
    let models: Vec<String> = (0..30)
        .map(|i| format!("bench-owner/model-{i:02}"))
        .collect();
    for (index, half) in models.chunks(15).enumerate() {
        let checked = presets::check(&format!("quota-{index}"), &half.join("\n"), &[], 50)
            .unwrap_or_else(|e| fail(format!("quota preset: {e}")));
        presets::create(&db, user_id, checked, index == 0)
            .await
            .unwrap_or_else(|e| fail(format!("quota preset: {e}")));
    }
    let mut conn = db.connection().unwrap_or_else(|e| fail(e));
    for k in 0..10 {
        let label = format!("quota-key-{k}");
        let key_id = keyring
            .add(
                user_id,
                &label,
                Site::Cn,
                ApiSecret::new(format!("ms-5eed{k:04}-0000-4000-8000-0000000000{k:02}")),
            )
            .await
            .unwrap_or_else(|e| fail(format!("saving key {label}: {e}")));
        for hour in 0..24 {
            let available =
                500.0 + 200.0 * f64::from(u8::from(hour >= 12)) - 5.0 * f64::from(hour) - k as f64;
            let run = NewRun {
                user_id,
                api_key_id: Some(key_id),
                key_label: Some(&label),
                source: Source::Schedule,
                kind: RunKind::Check,
                started_at: now - (24 - i64::from(hour)) * 3600,
                balance: Some(StoredBalance {
                    total: Some(available),
                    available: Some(available),
                    frozen: Some(0.0),
                    error: None,
                }),
                ..NewRun::default()
            };
            insert_run(&mut conn, &run).unwrap_or_else(|e| fail(format!("quota run: {e}")));
        }
    }
    modelscope_balance::auth::access_tokens::create(&db, user_id, "bench")
        .await
        .unwrap_or_else(|e| fail(format!("quota token: {e}")))
}
