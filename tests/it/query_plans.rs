//! The hot queries of `/history`, the dashboard, the export and every signed-in request use
//! indexes: no full scan, no automatic index, and no sort where an index gives the order.
//!
//! The SQL is never copied here. Each check calls the real function (`db::history::list_runs`,
//! `db::sessions::find_live`, …) on a fresh database made by `Db::open` and filled with two
//! users' history, with an SQLite profile hook (`sqlite3_trace_v2`, `SQLITE_TRACE_PROFILE`)
//! installed on the connection. For every statement the function ran, the hook records:
//!
//! - the statement's SQL with its bound values (`sqlite3_expanded_sql`), which is then run under
//!   `EXPLAIN QUERY PLAN`: no plan line may be a `SCAN` or an `AUTOMATIC` index, and
//!   `USE TEMP B-TREE` only where a test says why it is harmless;
//! - what the statement really did (`sqlite3_stmt_status`): full-scan steps and automatic indexes
//!   must be 0, and sorts 0 unless allowed, so a scan cannot hide behind a plan that reads well.
//!
//! `cargo test --test it query_plans -- --nocapture` prints every plan.

use std::cell::RefCell;
use std::ffi::{CStr, c_int, c_uint, c_void};

use modelscope_balance::crypto::Sealed;
use modelscope_balance::crypto::tokens::hash_token;
use modelscope_balance::db::history::{
    self, Direction, HistoryFilter, RunKind, RunStatus, Source, StoredBalance, latest_for_user,
    list_runs,
};
use modelscope_balance::db::runs::{NewRun, insert_run};
use modelscope_balance::db::{Db, api_keys, presets, sessions, users};
use modelscope_balance::ids::{KeyId, PresetId, RunId, UserId};
use modelscope_balance::modelscope::ModelResult;
use modelscope_balance::modelscope::{ErrorCode, Failure, Quota};
use rusqlite::{Connection, ffi};
use tempfile::TempDir;

// ---------------------------------------------------------------------------------------------
// Recording what a function runs

/// One statement as it finished.
#[derive(Debug, Clone)]
struct Executed {
    /// As prepared, with `?` placeholders.
    sql: String,
    /// With the bound values in place: what `EXPLAIN QUERY PLAN` is run on.
    expanded: String,
    fullscan_steps: i32,
    sorts: i32,
    automatic_indexes: i32,
    /// Virtual-machine steps: the work the statement did, whatever its plan says (an `OFFSET`
    /// or an `IN (…)` list of every row of a model shows here, not in the plan).
    vm_steps: i32,
    /// Times the statement was compiled again before it ran: a plan that depends on a bound
    /// value (`LIMIT ?` does, unless the connection asks for stable plans) is thrown away on
    /// every new binding, and parsing costs more than most of these queries.
    reprepares: i32,
}

type Log = RefCell<Vec<Executed>>;

/// Called by SQLite when a statement finishes (runs to the end, or is reset or finalised).
/// It must not unwind into C: nothing below can panic.
unsafe extern "C" fn on_profile(
    event: c_uint,
    context: *mut c_void,
    statement: *mut c_void,
    _elapsed_ns: *mut c_void,
) -> c_int {
    if event != ffi::SQLITE_TRACE_PROFILE as c_uint || context.is_null() || statement.is_null() {
        return 0;
    }
    // SAFETY: `context` is the `Log` owned by the live `Tracing` that registered this hook, and
    // `statement` is the prepared statement SQLite reports on, valid during the call.
    unsafe {
        let log = &*(context as *const Log);
        let statement = statement as *mut ffi::sqlite3_stmt;
        let text = |ptr: *const std::ffi::c_char| {
            (!ptr.is_null()).then(|| CStr::from_ptr(ptr).to_string_lossy().into_owned())
        };
        let sql = text(ffi::sqlite3_sql(statement)).unwrap_or_default();
        let expanded_ptr = ffi::sqlite3_expanded_sql(statement);
        let expanded = text(expanded_ptr).unwrap_or_else(|| sql.clone());
        ffi::sqlite3_free(expanded_ptr as *mut c_void);
        // Read and reset, so a cached statement's next run starts from zero.
        let status = |op| ffi::sqlite3_stmt_status(statement, op, 1);
        let executed = Executed {
            fullscan_steps: status(ffi::SQLITE_STMTSTATUS_FULLSCAN_STEP),
            sorts: status(ffi::SQLITE_STMTSTATUS_SORT),
            automatic_indexes: status(ffi::SQLITE_STMTSTATUS_AUTOINDEX),
            vm_steps: status(ffi::SQLITE_STMTSTATUS_VM_STEP),
            reprepares: status(ffi::SQLITE_STMTSTATUS_REPREPARE),
            sql,
            expanded,
        };
        if let Ok(mut log) = log.try_borrow_mut() {
            log.push(executed);
        }
    }
    0
}

/// The profile hook on one connection; removed on drop (also when a check panics).
struct Tracing {
    handle: *mut ffi::sqlite3,
    log: Box<Log>,
}

impl Tracing {
    fn start(conn: &Connection) -> Self {
        // SAFETY: the handle stays valid while `conn` lives, which outlives this guard in
        // `traced`; the hook is removed before the log it points to is dropped.
        unsafe {
            let handle = conn.handle();
            let log: Box<Log> = Box::default();
            let context = &*log as *const Log as *mut c_void;
            let rc = ffi::sqlite3_trace_v2(
                handle,
                ffi::SQLITE_TRACE_PROFILE as c_uint,
                Some(on_profile),
                context,
            );
            assert_eq!(rc, ffi::SQLITE_OK, "sqlite3_trace_v2");
            Self { handle, log }
        }
    }
}

impl Drop for Tracing {
    fn drop(&mut self) {
        // SAFETY: same connection handle as in `start`; a zero mask removes the hook.
        unsafe {
            ffi::sqlite3_trace_v2(self.handle, 0, None, std::ptr::null_mut());
        }
    }
}

/// Runs `work` and returns what it returned and the data statements it ran (transaction
/// control and pragmas left out).
fn traced<T>(conn: &mut Connection, work: impl FnOnce(&mut Connection) -> T) -> (T, Vec<Executed>) {
    let tracing = Tracing::start(conn);
    let out = work(conn);
    let executed = tracing.log.take();
    drop(tracing);
    let data = executed
        .into_iter()
        .filter(|e| {
            let head = e.sql.trim_start().to_ascii_uppercase();
            ["SELECT", "INSERT", "UPDATE", "DELETE", "WITH"]
                .iter()
                .any(|verb| head.starts_with(verb))
        })
        .collect();
    (out, data)
}

/// The `detail` column of `EXPLAIN QUERY PLAN`, one string a plan node.
fn query_plan(conn: &Connection, sql: &str) -> Vec<String> {
    let mut statement = conn
        .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
        .unwrap_or_else(|e| panic!("EXPLAIN QUERY PLAN {sql}: {e}"));
    statement
        .query_map([], |row| row.get::<_, String>(3))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// What a check tolerates, with the reason written down.
#[derive(Clone, Copy, Default)]
struct Allow {
    /// `USE TEMP B-TREE` and sorter runs: the reason the sorted set is small.
    sort: Option<&'static str>,
}

const STRICT: Allow = Allow { sort: None };

/// What is wrong with the statements a call ran, one message each (empty: all good); `case`
/// names the call in messages and in the printed plans.
fn problems(conn: &Connection, case: &str, executed: &[Executed], allow: Allow) -> Vec<String> {
    if executed.is_empty() {
        return vec![format!("{case}: no statement was recorded")];
    }
    let mut found = Vec::new();
    for e in executed {
        let plan = query_plan(conn, &e.expanded);
        eprintln!("--- {case}\n{}\n{}", one_line(&e.sql), plan_text(&plan));
        if let Some(reason) = allow.sort {
            eprintln!("    (sort allowed: {reason})");
        }
        let mut wrong = Vec::new();
        for line in &plan {
            if line.starts_with("SCAN ") {
                wrong.push(format!("full scan `{line}`"));
            }
            if line.contains("AUTOMATIC") {
                wrong.push(format!("automatic index `{line}`"));
            }
            if allow.sort.is_none() && line.contains("TEMP B-TREE") {
                wrong.push(format!("sort without an index `{line}`"));
            }
        }
        if e.fullscan_steps != 0 {
            wrong.push(format!("{} full-scan steps", e.fullscan_steps));
        }
        if e.automatic_indexes != 0 {
            wrong.push(format!("{} automatic indexes", e.automatic_indexes));
        }
        if e.reprepares != 0 {
            wrong.push(format!(
                "compiled again {} times before it ran",
                e.reprepares
            ));
        }
        if allow.sort.is_none() && e.sorts != 0 {
            wrong.push(format!("{} sorter runs", e.sorts));
        }
        found.extend(wrong.into_iter().map(|what| {
            format!(
                "{case}: {what}\n  SQL: {}\n  plan:\n{}",
                one_line(&e.sql),
                plan_text(&plan)
            )
        }));
    }
    found
}

/// Fails with every problem of the statements a call ran.
fn check(conn: &Connection, case: &str, executed: &[Executed], allow: Allow) {
    let found = problems(conn, case, executed, allow);
    assert!(found.is_empty(), "{}", found.join("\n"));
}

/// Fails unless the statements a call ran did about as much work as the rows they answered:
/// at most `per_row` VM steps a row (and one more row's worth, for an empty answer). The
/// numbers are counts, not times, so this holds on any machine.
fn check_bounded(case: &str, executed: &[Executed], rows: usize, per_row: i32) {
    let steps: i32 = executed.iter().map(|e| e.vm_steps).sum();
    let budget = per_row * (rows as i32 + 1);
    eprintln!("    {case}: {steps} VM steps for {rows} rows (budget {budget})");
    assert!(
        steps <= budget,
        "{case}: {steps} VM steps for {rows} rows, over the budget of {budget}: the statement \
         walks more than it shows\n{:#?}",
        executed
            .iter()
            .map(|e| one_line(&e.sql))
            .collect::<Vec<_>>()
    );
}

fn one_line(sql: &str) -> String {
    sql.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn plan_text(plan: &[String]) -> String {
    plan.iter()
        .map(|line| format!("    {line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

// ---------------------------------------------------------------------------------------------
// A database with some history

const DAY: i64 = 86_400;
const MODELS: [&str; 6] = [
    "Qwen/Qwen3-32B",
    "Qwen/Qwen2.5-72B-Instruct",
    "deepseek-ai/DeepSeek-V3",
    "ZhipuAI/GLM-4.7",
    "moonshotai/Kimi-K2-Instruct",
    "Qwen/QwQ-32B",
];
const SESSION_TOKEN: &str = "query-plans-session-token";

struct Site {
    _dir: TempDir,
    db: Db,
    user: UserId,
    keys: [KeyId; 2],
    presets: [PresetId; 2],
    a_run: RunId,
    now: i64,
}

fn sealed() -> Sealed {
    Sealed {
        nonce: vec![7; 12],
        ciphertext: vec![9; 55],
        master_key_id: "query-plans".to_owned(),
    }
}

fn result(model: &str, i: usize) -> ModelResult {
    if i.is_multiple_of(17) {
        return ModelResult {
            model: model.to_owned(),
            quota: Quota::default(),
            status: Some(429),
            failure: Some(Failure::new(
                ErrorCode::RateLimited,
                Some("slow down".to_owned()),
            )),
            latency_ms: 900,
            price: None,
            candidates: None,
            checked: true,
        };
    }
    ModelResult {
        model: model.to_owned(),
        quota: Quota {
            request_limit: Some(2000),
            request_remaining: Some(2000 - (i % 2000) as i64),
            model_request_limit: Some(500),
            model_request_remaining: Some(500 - (i % 500) as i64),
            ..Quota::default()
        },
        status: Some(200),
        failure: None,
        latency_ms: 400 + (i % 700) as u64,
        price: None,
        candidates: None,
        checked: true,
    }
}

impl Site {
    /// Two users with two keys and two presets each; `runs` runs for the first, a third as many
    /// for the second, over the last 60 days; one live session for the first user.
    fn new(runs: usize) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = Db::open(&dir.path().join("modelscope-balance.db")).expect("Db::open");
        let now = modelscope_balance::clock::now();
        let mut conn = db.connection().unwrap();
        let mut users_seen = Vec::new();
        for name in ["alice", "bob"] {
            let user = users::create(&conn, name, "not-a-real-hash")
                .unwrap()
                .unwrap();
            let mut keys = [KeyId(0); 2];
            for (slot, label) in keys.iter_mut().zip(["main", "spare"]) {
                *slot = api_keys::insert_sealed(
                    &mut conn,
                    user,
                    label,
                    modelscope_balance::modelscope::Site::Cn,
                    "beef",
                    |_| Ok::<_, std::convert::Infallible>(sealed()),
                )
                .unwrap()
                .unwrap()
                .unwrap();
            }
            let mut preset_ids = [PresetId(0); 2];
            for (slot, (name, models)) in preset_ids
                .iter_mut()
                .zip([("daily", &MODELS[..5]), ("reasoning", &MODELS[2..])])
            {
                let models: Vec<String> = models.iter().map(|m| m.to_string()).collect();
                *slot = presets::insert(&conn, user, name, &models)
                    .unwrap()
                    .unwrap();
            }
            users_seen.push((user, keys, preset_ids));
        }
        let mut a_run = RunId(0);
        for (index, (user, keys, preset_ids)) in users_seen.iter().enumerate() {
            let count = if index == 0 { runs } else { runs / 3 };
            for i in 0..count {
                let preset = i % 3;
                let models: &[&str] = match preset {
                    0 => &MODELS[..5],
                    1 => &MODELS[2..],
                    _ => &MODELS[1..4],
                };
                let results: Vec<ModelResult> =
                    models.iter().map(|model| result(model, i)).collect();
                let run = NewRun {
                    user_id: *user,
                    api_key_id: Some(keys[i % 2]),
                    key_label: Some(if i % 2 == 0 { "main" } else { "spare" }),
                    preset_id: (preset < 2).then(|| preset_ids[preset]),
                    preset_name: (preset < 2).then_some(if preset == 0 {
                        "daily"
                    } else {
                        "reasoning"
                    }),
                    // One run in ten from the API; one in thirteen a free check from a page.
                    source: if i % 10 == 9 {
                        Source::Api
                    } else {
                        Source::Web
                    },
                    kind: if i % 13 == 5 {
                        RunKind::Check
                    } else {
                        RunKind::Probe
                    },
                    started_at: now - 60 * DAY + (i as i64 * 60 * DAY) / count as i64,
                    duration_ms: 1500,
                    balance: Some(StoredBalance {
                        total: Some(100.0),
                        available: Some(99.5),
                        frozen: Some(0.5),
                        error: None,
                    }),
                    results: &results,
                    ..NewRun::default()
                };
                let id = insert_run(&mut conn, &run).unwrap();
                if index == 0 && i == count / 2 {
                    a_run = id;
                }
            }
            // A monitor's free checks of both keys every three hours (one in five fails),
            // filed by key and day.
            for slot in 0..(60 * 8) {
                for (k, key) in keys.iter().enumerate() {
                    let failed = (slot + k).is_multiple_of(5);
                    let balance = StoredBalance {
                        total: (!failed).then_some(100.0 - (slot % 8) as f64),
                        available: (!failed).then_some(99.0 - (slot % 8) as f64),
                        frozen: (!failed).then_some(1.0),
                        error: failed.then_some(ErrorCode::Timeout),
                    };
                    insert_run(
                        &mut conn,
                        &NewRun {
                            user_id: *user,
                            api_key_id: Some(*key),
                            key_label: Some(if k == 0 { "main" } else { "spare" }),
                            source: Source::Schedule,
                            kind: RunKind::Check,
                            started_at: now - 60 * DAY + slot as i64 * 3 * 3600 + 600,
                            duration_ms: 80,
                            balance: Some(balance),
                            ..NewRun::default()
                        },
                    )
                    .unwrap();
                }
            }
        }
        let alice = users_seen[0];
        sessions::create(
            &conn,
            &hash_token(SESSION_TOKEN),
            alice.0,
            "csrf",
            "query-plans",
            "127.0.0.1",
        )
        .unwrap();
        drop(conn);
        Self {
            _dir: dir,
            db,
            user: alice.0,
            keys: alice.1,
            presets: alice.2,
            a_run,
            now,
        }
    }

    fn conn(&self) -> r2d2::PooledConnection<r2d2_sqlite::SqliteConnectionManager> {
        self.db.connection().unwrap()
    }
}

/// The recorder itself: a query without an index must show up both in its plan and in its
/// counters, or every check below would pass for nothing.
#[test]
fn the_recorder_sees_scans_and_sorts() {
    let site = Site::new(20);
    let mut conn = site.conn();
    let (_, executed) = traced(&mut conn, |c| {
        let mut statement = c
            .prepare("SELECT id FROM queries WHERE duration_ms > ?1 ORDER BY balance_available")
            .unwrap();
        statement
            .query_map([0], |row| row.get::<_, i64>(0))
            .unwrap()
            .count()
    });
    assert_eq!(executed.len(), 1, "{executed:#?}");
    let e = &executed[0];
    assert!(e.expanded.contains("duration_ms > 0"), "{}", e.expanded);
    assert!(e.fullscan_steps > 0 && e.sorts > 0, "{e:#?}");
    let plan = query_plan(&conn, &e.expanded);
    assert!(plan.iter().any(|l| l.starts_with("SCAN ")), "{plan:?}");
    let found = problems(&conn, "a scan", &executed, STRICT);
    for expected in [
        "full scan `SCAN queries`",
        "sort without an index",
        "full-scan steps",
        "sorter runs",
    ] {
        assert!(
            found.iter().any(|p| p.contains(expected)),
            "{expected}: {found:#?}"
        );
    }
}

/// A statement whose plan depends on a bound value is compiled again on every run unless the
/// connection asks for stable plans; the recorder sees it, and the app's connections ask.
#[test]
fn statements_are_not_compiled_again_for_each_binding() {
    let limited = |c: &mut Connection| {
        let mut statement = c
            .prepare_cached("SELECT id FROM queries ORDER BY id LIMIT ?1")
            .unwrap();
        for limit in [1, 2] {
            statement.query_map([limit], |_| Ok(())).unwrap().count();
        }
    };
    let mut plain = Connection::open_in_memory().unwrap();
    plain
        .execute_batch("CREATE TABLE queries (id INTEGER PRIMARY KEY)")
        .unwrap();
    let (_, executed) = traced(&mut plain, limited);
    assert!(executed.iter().all(|e| e.reprepares > 0), "{executed:#?}");
    let found = problems(&plain, "LIMIT ?", &executed, STRICT);
    assert!(
        found.iter().any(|p| p.contains("compiled again")),
        "{found:#?}"
    );
    let site = Site::new(20);
    let mut conn = site.conn();
    let (_, executed) = traced(&mut conn, limited);
    assert_eq!(executed.len(), 2);
    assert!(executed.iter().all(|e| e.reprepares == 0), "{executed:#?}");
}

/// Index ranges a listing reads (or walks the app merges): a source, kind or status filter
/// reads one range of `queries_by_user_class` per combination of the values it leaves open, a
/// key's runs by status or with checks folded one of `queries_listed_by_key` per status and
/// head, a part of several model ids one walk an id. Each range costs a seek and the row read
/// past its end, whatever it shows.
fn ranges(filter: &HistoryFilter) -> i32 {
    let statuses = if filter.status.is_some() { 1 } else { 2 };
    let heads = match (filter.folded, filter.status) {
        (false, _) => 3,
        (true, None) => 1,
        (true, Some(_)) => 2,
    };
    match filter.models.as_ref() {
        Some(models) => models.len() as i32,
        None if filter.api_key_id.is_some()
            && filter.kind.is_none()
            && filter.source.is_none()
            && (filter.folded || filter.status.is_some()) =>
        {
            statuses * heads
        }
        None if filter.api_key_id.is_some() && filter.kind.is_none() && filter.source.is_none() => {
            1
        }
        None if filter.preset_id.is_some() && filter.api_key_id.is_none() => 1,
        None if filter.kind.is_some() || filter.source.is_some() || filter.status.is_some() => {
            let sources = if filter.source.is_some() { 1 } else { 3 };
            let kinds = if filter.kind.is_some() { 1 } else { 2 };
            sources * kinds * statuses * heads
        }
        None => 1,
    }
}

/// VM steps a range may cost beyond its rows (see [`ranges`]).
const STEPS_PER_RANGE: i32 = 150;

/// What a listing may sort: several index ranges (see [`ranges`], the app's own merge of model
/// walks aside) are ordered by SQLite. It reads each range newest first and stops it once the
/// page is full, so the sort holds about a page; `check_listing` counts what was read.
fn listing_allow(filter: &HistoryFilter) -> Allow {
    if filter.models.is_none() && ranges(filter) > 1 {
        Allow {
            sort: Some(
                "several index ranges, each read newest first and stopped once the page is \
                 full (SQLite's ORDER BY … LIMIT over an IN list)",
            ),
        }
    } else {
        STRICT
    }
}

/// The plan checks and the step budget of a listing of `rows` rows.
fn check_listing(
    conn: &Connection,
    case: &str,
    executed: &[Executed],
    filter: &HistoryFilter,
    rows: usize,
) {
    check(conn, case, executed, listing_allow(filter));
    let extra = (ranges(filter) - 1) * STEPS_PER_RANGE;
    let steps: i32 = executed.iter().map(|e| e.vm_steps).sum();
    let per_row = if listing_allow(filter).sort.is_some() {
        STEPS_PER_SORTED_ROW
    } else {
        STEPS_PER_ROW
    };
    let budget = per_row * (rows as i32 + 1) + extra;
    eprintln!(
        "    {case}: {steps} VM steps for {rows} rows in {} ranges (budget {budget})",
        ranges(filter)
    );
    assert!(
        steps <= budget,
        "{case}: {steps} VM steps for {rows} rows, over the budget of {budget}: the statement \
         walks more than it shows\n{:#?}",
        executed
            .iter()
            .map(|e| format!("{} steps: {}", e.vm_steps, one_line(&e.expanded)))
            .collect::<Vec<_>>()
    );
}

/// `list_runs` for the first page (`/history`, 50 a page plus one to see a next page).
fn first_page(conn: &mut Connection, user: UserId, filter: &HistoryFilter) -> usize {
    list_runs(conn, user, filter, None, 0, 51).unwrap().len()
}

// ---------------------------------------------------------------------------------------------
// The checks

/// VM steps a listed row may cost: reading the row and its columns, the filters the driving
/// index does not serve, the duplicate-model guard of the model filter. Measured at 40 to 70;
/// walking rows that are not shown (an `OFFSET`, a list of every row of a model) costs far more.
const STEPS_PER_ROW: i32 = 120;

/// VM steps a row of a listing SQLite sorts may cost: each row read (a run's summary is 24
/// columns) goes into the sorter and is read back out, and the ranges that interleave in time
/// each read a row or two that the page then leaves out. Measured at 90 to 150.
const STEPS_PER_SORTED_ROW: i32 = 170;

/// Every filter shape of `/history`, on alice's history: each with every run listed on its
/// own (the export, the API, `?checks=each`) and with scheduled checks folded by key and day
/// (the list).
fn filter_cases(site: &Site) -> Vec<(String, HistoryFilter)> {
    let qwen: Vec<String> = MODELS
        .iter()
        .filter(|m| m.to_ascii_lowercase().contains("qwen"))
        .map(|m| m.to_string())
        .collect();
    assert_eq!(qwen.len(), 3);
    let shapes = vec![
        ("no filter", HistoryFilter::default()),
        (
            "key filter",
            HistoryFilter {
                api_key_id: Some(site.keys[1]),
                ..Default::default()
            },
        ),
        (
            "preset filter",
            HistoryFilter {
                preset_id: Some(site.presets[0]),
                ..Default::default()
            },
        ),
        (
            "model filter",
            HistoryFilter {
                models: Some(vec![MODELS[0].to_owned()]),
                ..Default::default()
            },
        ),
        (
            "model filter, a model in one run in three",
            HistoryFilter {
                models: Some(vec![MODELS[5].to_owned()]),
                ..Default::default()
            },
        ),
        (
            "model filter, a part of three ids",
            HistoryFilter {
                models: Some(qwen.clone()),
                ..Default::default()
            },
        ),
        (
            "date range",
            HistoryFilter {
                from: Some(site.now - 30 * DAY),
                to: Some(site.now - 20 * DAY),
                ..Default::default()
            },
        ),
        (
            "from only",
            HistoryFilter {
                from: Some(site.now - 7 * DAY),
                ..Default::default()
            },
        ),
        (
            "key and preset",
            HistoryFilter {
                api_key_id: Some(site.keys[0]),
                preset_id: Some(site.presets[0]),
                ..Default::default()
            },
        ),
        (
            "kind probe",
            HistoryFilter {
                kind: Some(RunKind::Probe),
                ..Default::default()
            },
        ),
        (
            "kind check",
            HistoryFilter {
                kind: Some(RunKind::Check),
                ..Default::default()
            },
        ),
        (
            "source api",
            HistoryFilter {
                source: Some(Source::Api),
                ..Default::default()
            },
        ),
        (
            "source schedule",
            HistoryFilter {
                source: Some(Source::Schedule),
                ..Default::default()
            },
        ),
        (
            "status failed",
            HistoryFilter {
                status: Some(RunStatus::Failed),
                ..Default::default()
            },
        ),
        (
            "status ok, from a date",
            HistoryFilter {
                status: Some(RunStatus::Ok),
                from: Some(site.now - 20 * DAY),
                ..Default::default()
            },
        ),
        (
            "scheduled checks",
            HistoryFilter {
                kind: Some(RunKind::Check),
                source: Some(Source::Schedule),
                ..Default::default()
            },
        ),
        (
            "a key's failed checks",
            HistoryFilter {
                api_key_id: Some(site.keys[0]),
                status: Some(RunStatus::Failed),
                ..Default::default()
            },
        ),
        (
            "a key's scheduled checks of ten days",
            HistoryFilter {
                api_key_id: Some(site.keys[1]),
                kind: Some(RunKind::Check),
                source: Some(Source::Schedule),
                from: Some(site.now - 30 * DAY),
                to: Some(site.now - 20 * DAY),
                ..Default::default()
            },
        ),
        (
            "runs of a part of three ids that went well, from a date",
            HistoryFilter {
                models: Some(qwen),
                status: Some(RunStatus::Ok),
                from: Some(site.now - 40 * DAY),
                ..Default::default()
            },
        ),
        (
            "every filter",
            HistoryFilter {
                api_key_id: Some(site.keys[0]),
                preset_id: Some(site.presets[0]),
                models: Some(vec![MODELS[0].to_owned()]),
                from: Some(site.now - 40 * DAY),
                to: Some(site.now - 5 * DAY),
                ..Default::default()
            },
        ),
        (
            "a model's probes from a page that went well",
            HistoryFilter {
                models: Some(vec![MODELS[0].to_owned()]),
                kind: Some(RunKind::Probe),
                source: Some(Source::Web),
                status: Some(RunStatus::Ok),
                ..Default::default()
            },
        ),
    ];
    let mut cases = Vec::new();
    for (name, filter) in shapes {
        for folded in [false, true] {
            let name = if folded {
                format!("{name}, checks folded")
            } else {
                name.to_owned()
            };
            cases.push((
                name,
                HistoryFilter {
                    folded,
                    ..filter.clone()
                },
            ));
        }
    }
    cases
}

#[test]
fn history_list_uses_indexes_for_every_filter() {
    let site = Site::new(600);
    let mut conn = site.conn();
    let user = site.user;
    for (name, filter) in filter_cases(&site) {
        let case = format!("list_runs, {name}");
        let (found, executed) = traced(&mut conn, |c| first_page(c, user, &filter));
        assert!(found > 0, "{case}: the fixture should match some runs");
        check_listing(&conn, &case, &executed, &filter, found);
    }
}

/// `?before=` and `?after=` pages deep in the history cost what the first page costs, for
/// every filter; so do the probes that decide the "older" and "newer" links.
#[test]
fn keyset_pages_cost_the_same_deep_in_the_history() {
    let site = Site::new(900);
    let mut conn = site.conn();
    let user = site.user;
    // The whole lists are read on a connection of their own: a statement run there untraced
    // would carry its counters into the traced runs below.
    let other = site.conn();
    for (name, filter) in filter_cases(&site) {
        // A cursor well down the filtered list.
        let all = list_runs(&other, user, &filter, None, 0, 10_000).unwrap();
        let deep = &all[all.len() * 3 / 4];
        let cursor = (deep.started_at, deep.id);

        let case = format!("list_runs before a deep cursor, {name}");
        let (rows, executed) = traced(&mut conn, |c| {
            list_runs(c, user, &filter, Some(cursor), 0, 51).unwrap()
        });
        assert!(!rows.is_empty(), "{case}");
        assert!(rows.iter().all(|r| (r.started_at, r.id) < cursor), "{case}");
        check_listing(&conn, &case, &executed, &filter, rows.len());

        let case = format!("list_runs_newer after a deep cursor, {name}");
        let (rows, executed) = traced(&mut conn, |c| {
            history::list_runs_newer(c, user, &filter, cursor, 51).unwrap()
        });
        assert!(!rows.is_empty(), "{case}");
        assert!(rows.iter().all(|r| (r.started_at, r.id) > cursor), "{case}");
        assert!(
            rows.windows(2)
                .all(|w| (w[0].started_at, w[0].id) > (w[1].started_at, w[1].id)),
            "{case}: newest first"
        );
        check_listing(&conn, &case, &executed, &filter, rows.len());

        for direction in [Direction::Older, Direction::Newer] {
            let case = format!("has_runs_beyond {direction:?}, {name}");
            let (beyond, executed) = traced(&mut conn, |c| {
                history::has_runs_beyond(c, user, &filter, cursor, direction).unwrap()
            });
            assert!(beyond, "{case}");
            check_listing(&conn, &case, &executed, &filter, 1);
        }
    }

    let (found, executed) = traced(&mut conn, |c| {
        history::run_cursor(c, user, site.a_run).unwrap()
    });
    assert!(found.is_some());
    check(&conn, "run_cursor", &executed, STRICT);
    check_bounded("run_cursor", &executed, 1, STEPS_PER_ROW);

    // An old numbered-page link is turned into a cursor once: it walks the skipped entries
    // of the index (no rows of the table), so it is checked for its plan only.
    let (found, executed) = traced(&mut conn, |c| {
        history::cursor_at_offset(c, user, &HistoryFilter::default(), 499).unwrap()
    });
    assert!(found.is_some());
    check(&conn, "cursor_at_offset (?page=11)", &executed, STRICT);
}

/// Another user's key, preset or run id as a filter or cursor finds nothing, and costs
/// nothing: the ownership checks come before any walk of their rows.
#[test]
fn another_users_ids_cost_nothing() {
    let site = Site::new(600);
    let mut conn = site.conn();
    let bob = bob(&conn);
    for (name, filter) in filter_cases(&site) {
        if filter.api_key_id.is_none() && filter.preset_id.is_none() {
            continue;
        }
        let case = format!("list_runs for bob with alice's ids, {name}");
        let (found, executed) = traced(&mut conn, |c| first_page(c, bob, &filter));
        assert_eq!(found, 0, "{case}");
        check_listing(&conn, &case, &executed, &filter, 0);
    }
    let (found, executed) = traced(&mut conn, |c| {
        history::run_cursor(c, bob, site.a_run).unwrap()
    });
    assert_eq!(found, None);
    check(
        &conn,
        "run_cursor for bob with alice's run",
        &executed,
        STRICT,
    );
}

/// The second user of the fixture.
fn bob(conn: &Connection) -> UserId {
    conn.query_row("SELECT id FROM users WHERE username = 'bob'", [], |r| {
        r.get(0)
    })
    .unwrap()
}

#[test]
fn one_run_uses_indexes() {
    let site = Site::new(300);
    let mut conn = site.conn();
    let (user, id) = (site.user, site.a_run);

    let (rows, executed) = traced(&mut conn, |c| history::run_results(c, user, id).unwrap());
    assert_eq!(rows.len(), 5);
    check(&conn, "run_results", &executed, STRICT);

    let (run, executed) = traced(&mut conn, |c| history::get_run(c, user, id).unwrap());
    assert!(run.is_some());
    check(&conn, "get_run", &executed, STRICT);
}

#[test]
fn dashboard_and_history_page_reads_use_indexes() {
    let site = Site::new(300);
    let mut conn = site.conn();
    let user = site.user;

    let (latest, executed) = traced(&mut conn, |c| latest_for_user(c, user).unwrap());
    assert!(latest.len() >= MODELS.len());
    check(&conn, "latest_for_user (dashboard)", &executed, STRICT);

    let (keys, executed) = traced(&mut conn, |c| api_keys::list_for_user(c, user).unwrap());
    assert_eq!(keys.len(), 2);
    check(
        &conn,
        "api_keys::list_for_user (dashboard, /history)",
        &executed,
        STRICT,
    );

    let (options, executed) = traced(&mut conn, |c| history::preset_options(c, user).unwrap());
    assert_eq!(options.len(), 2);
    check(&conn, "preset_options (/history)", &executed, STRICT);

    // The dashboard's and /api/quota's per-key rows: one row a key each, through the key index.
    let (paces, executed) = traced(&mut conn, |c| {
        modelscope_balance::db::pace::for_user(c, user).unwrap()
    });
    assert_eq!(paces.len(), 2, "the runs stored each key's pace");
    check(
        &conn,
        "pace::for_user (dashboard, /api/quota)",
        &executed,
        STRICT,
    );
    let (_, executed) = traced(&mut conn, |c| {
        modelscope_balance::db::key_extras::for_user(c, user).unwrap()
    });
    check(
        &conn,
        "key_extras::for_user (dashboard, /api/quota)",
        &executed,
        STRICT,
    );

    let (listed, executed) = traced(&mut conn, |c| presets::list_for_user(c, user).unwrap());
    assert_eq!(listed.len(), 2);
    check(
        &conn,
        "presets::list_for_user (dashboard)",
        &executed,
        Allow {
            sort: Some(
                "default first, then by name: a sort of one user's presets, at most \
                 presets::MAX_PRESETS_PER_USER (50) rows found through the (user_id, name) index",
            ),
        },
    );
}

#[test]
fn session_lookup_uses_the_token_index() {
    let site = Site::new(10);
    let mut conn = site.conn();
    let hash = hash_token(SESSION_TOKEN);

    let (found, executed) = traced(&mut conn, |c| sessions::find_live(c, &hash).unwrap());
    assert!(found.is_some());
    check(&conn, "sessions::find_live", &executed, STRICT);

    // Seen more than a minute ago: the lookup also writes last_seen_at.
    conn.execute("UPDATE sessions SET last_seen_at = last_seen_at - 120", [])
        .unwrap();
    let (found, executed) = traced(&mut conn, |c| sessions::find_live(c, &hash).unwrap());
    assert!(found.is_some());
    assert_eq!(executed.len(), 2, "the lookup and the touch: {executed:#?}");
    check(&conn, "sessions::find_live with touch", &executed, STRICT);

    let (missing, executed) = traced(&mut conn, |c| {
        sessions::find_live(c, "0".repeat(64).as_str()).unwrap()
    });
    assert!(missing.is_none());
    check(
        &conn,
        "sessions::find_live, unknown token",
        &executed,
        STRICT,
    );
}

#[test]
fn storing_a_run_uses_indexes() {
    let site = Site::new(100);
    let mut conn = site.conn();
    let results: Vec<ModelResult> = MODELS[..5]
        .iter()
        .enumerate()
        .map(|(i, m)| result(m, i + 1))
        .collect();
    let run = NewRun {
        user_id: site.user,
        api_key_id: Some(site.keys[0]),
        key_label: Some("main"),
        preset_id: Some(site.presets[0]),
        preset_name: Some("daily"),
        source: Source::Api,
        started_at: site.now,
        duration_ms: 900,
        balance: None,
        results: &results,
        ..NewRun::default()
    };
    let (_, executed) = traced(&mut conn, |c| insert_run(c, &run).unwrap());
    // At least the run and its 5 rows (today also 5 upserts of the latest numbers).
    assert!(executed.len() >= 6, "{executed:#?}");
    check(&conn, "insert_run", &executed, STRICT);
}

// ---------------------------------------------------------------------------------------------
// Plans that were slow in the history benchmark until their fix (see `bench/README.md`).

#[test]
fn trend_page_reads_in_index_order() {
    let site = Site::new(900);
    let mut conn = site.conn();
    let user = site.user;
    for model in [MODELS[0], MODELS[5], "owner/never-run"] {
        let case = format!("model_results_labelled, newest page, {model}");
        let (rows, executed) = traced(&mut conn, |c| {
            history::model_results_labelled(c, user, model, None, Direction::Older, 51).unwrap()
        });
        assert_eq!(rows.is_empty(), model == "owner/never-run", "{case}");
        check(&conn, &case, &executed, STRICT);
        check_bounded(&case, &executed, rows.len(), STEPS_PER_ROW);
        let Some(deep) = rows.last() else { continue };
        let cursor = (deep.stored.started_at, deep.stored.query_id);
        for direction in [Direction::Older, Direction::Newer] {
            let case = format!("model_results_labelled, {direction:?} than a cursor, {model}");
            let (rows, executed) = traced(&mut conn, |c| {
                history::model_results_labelled(c, user, model, Some(cursor), direction, 51)
                    .unwrap()
            });
            assert!(!rows.is_empty(), "{case}");
            check(&conn, &case, &executed, STRICT);
            check_bounded(&case, &executed, rows.len(), STEPS_PER_ROW);
        }
    }
}

#[test]
fn balance_trend_reads_one_row_a_key_a_day() {
    let site = Site::new(900);
    let mut conn = site.conn();
    let user = site.user;
    let today = modelscope_balance::clock::last_midnight(site.now);
    // The 30 whole days before today (today may not have a run yet).
    let days: Vec<(i64, i64)> = (1..=30)
        .rev()
        .map(|n| (today - n * DAY, today - (n - 1) * DAY))
        .collect();
    let (readings, executed) = traced(&mut conn, |c| {
        history::daily_balances(c, user, &site.keys, &days).unwrap()
    });
    // The fixture reads a balance in every run: one reading a key a day, for 30 days.
    assert_eq!(readings.len(), 60, "{readings:#?}");
    check(&conn, "daily_balances (balance trend)", &executed, STRICT);
    check_bounded(
        "daily_balances (balance trend)",
        &executed,
        readings.len(),
        STEPS_PER_ROW,
    );
    // Bob asking with alice's keys: nothing.
    let bob = bob(&conn);
    let (readings, _) = traced(&mut conn, |c| {
        history::daily_balances(c, bob, &site.keys, &days).unwrap()
    });
    assert!(readings.is_empty());
}

#[test]
fn deleting_a_preset_finds_its_runs_by_index() {
    let site = Site::new(300);
    let mut conn = site.conn();
    let (user, preset) = (site.user, site.presets[1]);
    let (deleted, executed) = traced(&mut conn, |c| {
        presets::delete_for_user(c, user, preset).unwrap()
    });
    assert!(deleted);
    // The foreign-key action runs inside the DELETE: its steps count in the DELETE's status.
    check(&conn, "presets::delete_for_user", &executed, STRICT);
}

#[test]
fn export_page_reads_results_by_run_id() {
    let site = Site::new(600);
    let mut conn = site.conn();
    let user = site.user;
    // Probes: every one has rows (a scheduled check has none).
    let probes = HistoryFilter {
        kind: Some(RunKind::Probe),
        ..HistoryFilter::default()
    };
    let ids: Vec<RunId> = list_runs(&conn, user, &probes, None, 100, 50)
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    let (grouped, executed) = traced(&mut conn, |c| {
        history::results_for_runs(c, user, &ids).unwrap()
    });
    assert_eq!(grouped.len(), ids.len());
    check(&conn, "results_for_runs (export page)", &executed, STRICT);
}

// ---------------------------------------------------------------------------------------------
// The ledger (issue 20): scheduled checks folded by key and day, a model filter by part of an
// id, and keeping the days up to date.

/// The folded list shows each key's day of scheduled checks once, with its counts read by
/// primary key: over the whole list, one row a filed day, and every other run of the user.
#[test]
fn folded_days_are_one_row_each() {
    let site = Site::new(300);
    let conn = site.conn();
    let user = site.user;
    let every = list_runs(&conn, user, &HistoryFilter::default(), None, 0, 100_000).unwrap();
    let folded_filter = HistoryFilter {
        folded: true,
        ..HistoryFilter::default()
    };
    let folded = list_runs(&conn, user, &folded_filter, None, 0, 100_000).unwrap();
    let days: i64 = conn
        .query_row(
            "SELECT count(*) FROM check_days WHERE user_id = ?1",
            [user],
            |r| r.get(0),
        )
        .unwrap();
    let checks = every
        .iter()
        .filter(|r| r.source == Source::Schedule && r.kind == RunKind::Check)
        .count();
    assert_eq!(checks, 60 * 8 * 2);
    let day_rows: Vec<_> = folded.iter().filter_map(|r| r.day).collect();
    assert_eq!(day_rows.len() as i64, days);
    assert_eq!(folded.len(), every.len() - checks + day_rows.len());
    assert_eq!(day_rows.iter().map(|d| d.runs).sum::<i64>(), checks as i64);
    // One in five checks failed; a day's lowest and highest are what its checks read.
    assert_eq!(
        day_rows.iter().map(|d| d.failed_runs).sum::<i64>(),
        checks as i64 / 5
    );
    let read: Vec<(f64, f64)> = day_rows.iter().filter_map(|d| d.low.zip(d.high)).collect();
    assert!(
        read.len() + 4 >= day_rows.len(),
        "a day whose checks all failed is rare"
    );
    assert!(
        read.iter()
            .all(|&(low, high)| (92.0..=99.0).contains(&low) && low <= high && high <= 99.0),
        "{read:?}"
    );
    // Newest first, and each row stands for its own day (the day's newest check).
    assert!(
        folded
            .windows(2)
            .all(|w| (w[0].started_at, w[0].id) > (w[1].started_at, w[1].id))
    );
}

/// A model part becomes the user's ids that contain it, one index seek a distinct id.
#[test]
fn a_model_part_is_found_by_hopping_over_distinct_ids() {
    let site = Site::new(300);
    let mut conn = site.conn();
    let user = site.user;
    let (found, executed) = traced(&mut conn, |c| {
        history::models_matching(c, user, "QWEN").unwrap()
    });
    assert_eq!(found.len(), 3, "{found:?}");
    check(&conn, "models_matching", &executed, STRICT);
    // One statement run per distinct id, and one more that finds none.
    assert_eq!(executed.len(), MODELS.len() + 1);
    check_bounded("models_matching", &executed, MODELS.len(), STEPS_PER_ROW);
}

/// Storing a scheduled check files it under its day: the day's counts by its unique index,
/// which checks stand for the day by the day's own index.
#[test]
fn filing_a_check_uses_indexes() {
    let site = Site::new(100);
    let mut conn = site.conn();
    for failed in [false, true] {
        let run = NewRun {
            user_id: site.user,
            api_key_id: Some(site.keys[0]),
            key_label: Some("main"),
            source: Source::Schedule,
            kind: RunKind::Check,
            started_at: site.now - 60,
            duration_ms: 80,
            balance: Some(StoredBalance {
                total: (!failed).then_some(90.0),
                available: (!failed).then_some(89.0),
                frozen: (!failed).then_some(1.0),
                error: failed.then_some(ErrorCode::Timeout),
            }),
            ..NewRun::default()
        };
        let (_, executed) = traced(&mut conn, |c| insert_run(c, &run).unwrap());
        check(
            &conn,
            &format!("insert_run, a scheduled check (failed: {failed})"),
            &executed,
            STRICT,
        );
    }
}

/// Deleting the check that stands for its day (and retention taking old days) reads the day's
/// checks by index: the trigger's steps count in the DELETE's status.
#[test]
fn unfiling_a_check_uses_indexes() {
    let site = Site::new(100);
    let mut conn = site.conn();
    let user = site.user;
    let head: RunId = conn
        .query_row(
            "SELECT id FROM queries WHERE user_id = ?1 AND head = 2 AND check_day_id IS NOT NULL
             ORDER BY started_at DESC LIMIT 1",
            [user],
            |r| r.get(0),
        )
        .unwrap();
    let allow = Allow {
        sort: Some(
            "the trigger picks the newer of the day's two remaining heads (one a status): a \
             sort of at most two rows, each the first of its status in queries_by_check_day",
        ),
    };
    let (deleted, executed) = traced(&mut conn, |c| {
        modelscope_balance::db::runs::delete_run(c, user, head).unwrap()
    });
    assert!(deleted);
    check(
        &conn,
        "delete_run, the check a day stands on",
        &executed,
        allow,
    );
    check_bounded(
        "delete_run, the check a day stands on",
        &executed,
        1,
        40 * STEPS_PER_ROW,
    );
}
