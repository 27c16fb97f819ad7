//! Seeds a data directory for the monitoring benchmark (`bench/monitors.sh`): `--users` users
//! with `--keys` saved keys each (sealed through `Keyring`, as the app does) and one free-check
//! monitor per user over all its keys, every `--every` minutes. Each monitor's first slot is
//! `--first-slot` (unix seconds) plus its own jitter (1–59 s), so every monitor falls due in the
//! same minute: the worst case for the scheduler.
//!
//! ```text
//! cargo run --release --example seed_monitors -- --data-dir DIR --users 1000 --keys 2 \
//!     --every 5 --first-slot 1767225600
//! ```
//!
//! Users get a placeholder password hash (nobody signs in during the benchmark), so seeding
//! does not spend a minute in argon2.

use std::path::PathBuf;
use std::process::exit;
use std::sync::Arc;
use std::time::Instant;

use modelscope_balance::clock::ManualClock;
use modelscope_balance::crypto::secret::ApiSecret;
use modelscope_balance::crypto::{MasterKey, Vault};
use modelscope_balance::db::Db;
use modelscope_balance::keyring::Keyring;
use modelscope_balance::modelscope::Site;
use modelscope_balance::monitors::run_now::RunNowLimits;
use modelscope_balance::monitors::{MonitorAsk, MonitorLimits, Monitors};
use modelscope_balance::runs::price_book::KnownPrices;

const USAGE: &str = "usage: seed_monitors --data-dir DIR [--users 1000] [--keys 2] [--every 5] \
                     [--first-slot UNIX]";

struct Args {
    data_dir: PathBuf,
    users: usize,
    keys: usize,
    every: u32,
    first_slot: Option<i64>,
}

fn parse() -> Result<Args, String> {
    let mut args = Args {
        data_dir: PathBuf::new(),
        users: 1000,
        keys: 2,
        every: 5,
        first_slot: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--data-dir" => args.data_dir = PathBuf::from(value()?),
            "--users" => args.users = value()?.parse().map_err(|_| "--users: a number")?,
            "--keys" => args.keys = value()?.parse().map_err(|_| "--keys: a number")?,
            "--every" => args.every = value()?.parse().map_err(|_| "--every: minutes")?,
            "--first-slot" => {
                args.first_slot = Some(value()?.parse().map_err(|_| "--first-slot: unix secs")?)
            }
            _ => return Err(format!("unknown argument {flag}")),
        }
    }
    if args.data_dir.as_os_str().is_empty() {
        return Err("--data-dir is required".into());
    }
    Ok(args)
}

/// A well-formed, distinct token for user `u`, key `k`.
fn token(u: usize, k: usize) -> String {
    format!("ms-{u:08x}-{k:04x}-4000-8000-{:012x}", u * 16 + k)
}

#[tokio::main]
async fn main() {
    let args = parse().unwrap_or_else(|e| {
        eprintln!("seed_monitors: {e}\n{USAGE}");
        exit(2);
    });
    std::fs::create_dir_all(&args.data_dir).expect("create the data dir");
    let db = Db::open(&args.data_dir.join("modelscope-balance.db")).expect("open the database");
    let master = MasterKey::load_or_create(&args.data_dir.join("master.key")).expect("master key");
    let keyring = Keyring::new(db.clone(), Arc::new(Vault::new(master)));
    let first_slot = args
        .first_slot
        .unwrap_or_else(modelscope_balance::clock::now);
    // Created "at" the first slot: each monitor's first run is that slot plus its jitter.
    let defaults = modelscope_balance::config::AppConfig::default();
    let monitors = Monitors::new(
        db.clone(),
        Arc::new(KnownPrices),
        Arc::new(tokio::sync::Notify::new()),
        Arc::new(ManualClock::starting_at(first_slot * 1000)),
        // One monitor per user with the built-in limits otherwise (it never asks for a run now).
        MonitorLimits {
            monitors_per_user: 1,
            keys_per_monitor: args.keys,
            rules_per_user: defaults.max_rules_per_user,
            run_now: RunNowLimits {
                per_monitor: defaults.run_now_per_monitor_per_hour,
                per_user: defaults.run_now_per_user_per_hour,
            },
        },
    );
    let started = Instant::now();
    for u in 0..args.users {
        let name = format!("bench{u:05}");
        let user = db
            .run(move |conn| {
                modelscope_balance::db::users::create(conn, &name, "$argon2id$placeholder")
            })
            .await
            .expect("insert a user")
            .expect("a fresh data dir");
        let mut key_ids = Vec::new();
        for k in 0..args.keys {
            let id = keyring
                .add(
                    user,
                    &format!("key {k}"),
                    Site::Cn,
                    ApiSecret::new(token(u, k)),
                )
                .await
                .expect("save a key");
            key_ids.push(id.to_string());
        }
        let ask = MonitorAsk {
            key_ids,
            every_minutes: Some(args.every.to_string()),
            ..MonitorAsk::default()
        };
        monitors.create(user, &ask).await.expect("create a monitor");
    }
    println!(
        "seeded {} users × {} keys, {} monitors every {} min, first slot {} (+ jitter), in {:.1?}",
        args.users,
        args.keys,
        args.users,
        args.every,
        first_slot,
        started.elapsed()
    );
}
