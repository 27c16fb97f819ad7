//! `/history`, `/history/<id>`, delete, export and the trend page, black-box through the Rocket
//! client. Runs are stored directly with `db::history::insert_run` on the app's database file
//! (WAL lets both sides use it), so these tests do not depend on the query pages.

use modelscope_balance::db::Db;
use modelscope_balance::db::history::{RunKind, Source, StoredBalance};
use modelscope_balance::db::runs::{NewRun, insert_run};
use modelscope_balance::ids::{KeyId, PresetId, UserId};
use modelscope_balance::modelscope::ModelResult;
use modelscope_balance::modelscope::{ErrorCode, Failure, Quota};
use rocket::http::Status;
use serde_json::Value;

use crate::harness::html::html_unescape;
use crate::harness::http::{get, post_form, submit_from};
use crate::harness::secrets::SAVED_KEY;
use crate::harness::{Answer, TestApp, User};

mod ledger;

const MODEL: &str = "Qwen/Qwen2.5-7B-Instruct";
const OTHER_MODEL: &str = "deepseek-ai/DeepSeek-V3";

/// 2026-03-02 00:00:00 in Beijing (2026-03-01 16:00 UTC).
const MARCH_2_BJ: i64 = 1_772_380_800;
const DAY: i64 = 86_400;

// ---------------------------------------------------------------------------------------------
// The site: one data dir, one browser (app instance and cookie jar) per user, and the database
// opened directly to store runs.

struct HistorySite {
    app: TestApp,
    db: Db,
}

impl HistorySite {
    async fn new() -> Self {
        // The runs here are dated in the past; keep them away from the automatic cleanup.
        let app = TestApp::configured(|config| config.merge(("history_retention_days", 0))).await;
        // The first start creates and migrates the database.
        drop(app.start().await);
        let db = Db::open(&app.database_path()).expect("open the app's database");
        Self { app, db }
    }

    /// A new browser with a new account, signed in.
    async fn user(&self, username: &str) -> User {
        self.app.user(username).await
    }

    fn insert(&self, run: &Run) -> i64 {
        let mut conn = self.db.connection().unwrap();
        insert_run(
            &mut conn,
            &NewRun {
                user_id: UserId(run.user_id),
                api_key_id: run.key.as_ref().map(|(id, _)| KeyId(*id)),
                key_label: run.key.as_ref().map(|(_, label)| label.as_str()),
                preset_id: run.preset.as_ref().map(|(id, _)| PresetId(*id)),
                preset_name: run.preset.as_ref().map(|(_, name)| name.as_str()),
                source: run.source,
                kind: run.kind,
                started_at: run.at,
                duration_ms: 1234,
                balance: run.balance.clone(),
                before: run.before.clone(),
                points_spent: run.points_spent,
                results: &run.results,
                ..NewRun::default()
            },
        )
        .unwrap()
        .get()
    }

    fn count(&self, sql: &str, id: i64) -> i64 {
        let conn = self.db.connection().unwrap();
        conn.query_row(sql, [id], |r| r.get(0)).unwrap()
    }

    fn add_preset(&self, user_id: i64, name: &str) -> i64 {
        let conn = self.db.connection().unwrap();
        conn.execute(
            "INSERT INTO presets (user_id, name, models, created_at, updated_at)
             VALUES (?1, ?2, '[]', 0, 0)",
            (user_id, name),
        )
        .unwrap();
        conn.last_insert_rowid()
    }
}

/// Saves [`SAVED_KEY`] under `label` through `/keys`; returns its id.
async fn save_key(user: &User, label: &str) -> i64 {
    user.add_key(label, SAVED_KEY).await
}

/// Deletes run `id` with the form on `/history`.
async fn delete(user: &User, id: i64) -> Answer {
    submit_from(
        &user.client,
        "/history",
        &format!("/history/{id}/delete"),
        &[],
    )
    .await
}

/// A run to store.
struct Run {
    user_id: i64,
    at: i64,
    key: Option<(i64, String)>,
    preset: Option<(i64, String)>,
    balance: Option<StoredBalance>,
    results: Vec<ModelResult>,
    source: Source,
    kind: RunKind,
    before: Option<StoredBalance>,
    points_spent: Option<f64>,
}

impl Run {
    fn new(user_id: i64, at: i64) -> Self {
        Self {
            user_id,
            at,
            key: None,
            preset: None,
            balance: None,
            results: vec![ok(MODEL, [2000, 1990, 500, 490])],
            source: Source::Web,
            kind: RunKind::Probe,
            before: None,
            points_spent: None,
        }
    }

    fn key(mut self, id: i64, label: &str) -> Self {
        self.key = Some((id, label.to_owned()));
        self
    }

    fn preset(mut self, id: i64, name: &str) -> Self {
        self.preset = Some((id, name.to_owned()));
        self
    }

    fn results(mut self, results: Vec<ModelResult>) -> Self {
        self.results = results;
        self
    }
}

fn ok(model: &str, [a, b, c, d]: [i64; 4]) -> ModelResult {
    ModelResult {
        model: model.to_owned(),
        quota: Quota {
            request_limit: Some(a),
            request_remaining: Some(b),
            model_request_limit: Some(c),
            model_request_remaining: Some(d),
            ..Quota::default()
        },
        status: Some(200),
        failure: None,
        latency_ms: 42,
        price: None,
        candidates: None,
        checked: true,
    }
}

fn failed(model: &str, code: ErrorCode, status: u16, message: &str) -> ModelResult {
    ModelResult {
        model: model.to_owned(),
        quota: Quota::default(),
        status: Some(status),
        failure: Some(Failure::new(code, Some(message.to_owned()))),
        latency_ms: 7,
        price: None,
        candidates: None,
        checked: true,
    }
}

// ---------------------------------------------------------------------------------------------
// Reading the pages

/// What the history pages show.
trait HistoryPage {
    /// `id="run-N"` rows of the history table, in page order.
    fn run_ids(&self) -> Vec<i64>;
    /// The `href` of the link with `rel="…"`, unescaped.
    fn rel_link(&self, rel: &str) -> Option<String>;
}

impl HistoryPage for Answer {
    fn run_ids(&self) -> Vec<i64> {
        self.body
            .match_indices("id=\"run-")
            .map(|(at, m)| {
                let rest = &self.body[at + m.len()..];
                rest[..rest.find('"').unwrap()].parse().unwrap()
            })
            .collect()
    }

    fn rel_link(&self, rel: &str) -> Option<String> {
        let marker = format!("rel=\"{rel}\"");
        let at = self.body.find(&marker)?;
        let start = self.body[..at].rfind("href=\"")? + 6;
        let end = start + self.body[start..].find('"')?;
        Some(html_unescape(&self.body[start..end]))
    }
}

/// CSV records, honouring quoted fields (which may hold commas, quotes and newlines).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, c) => field.push(c),
        }
    }
    assert!(
        field.is_empty() && record.is_empty(),
        "the CSV does not end with a line break"
    );
    records
}

// ---------------------------------------------------------------------------------------------
// /history

/// The run ids `/history?{query}` lists, sorted.
async fn ids(user: &User, query: &str) -> Vec<i64> {
    let page = user.get(&format!("/history?{query}")).await;
    assert_eq!(page.status, Status::Ok, "{query}: {}", page.body);
    let mut ids = page.run_ids();
    ids.sort_unstable();
    ids
}

#[tokio::test]
async fn the_list_is_newest_first_fifty_a_page_and_links_keep_the_filters() {
    let site = HistorySite::new().await;
    let alice = site.user("alice").await;
    let empty = alice.get("/history").await;
    assert_eq!(empty.status, Status::Ok);
    assert!(empty.body.contains("还没有查询记录"), "{}", empty.body);

    let ids: Vec<i64> = (0..60)
        .map(|i| site.insert(&Run::new(alice.id, MARCH_2_BJ + i * 60)))
        .collect();

    let first = alice.get("/history").await;
    assert_eq!(first.status, Status::Ok);
    let shown = first.run_ids();
    let newest: Vec<i64> = ids.iter().rev().copied().collect();
    assert_eq!(shown, newest[..50]);
    assert!(first.rel_link("prev").is_none());
    // Older runs continue from the last run shown (a keyset cursor, not a page number).
    let older = format!("/history?before={}", newest[49]);
    assert_eq!(first.rel_link("next").as_deref(), Some(older.as_str()));
    // Time in Beijing, the pasted-key wording, the counts and a link to the run.
    assert!(first.body.contains("2026-03-02 00:59"), "{}", first.body);
    assert!(first.body.contains("粘贴的 Key"));
    assert!(
        first
            .body
            .contains(&format!("href=\"/history/{}\"", ids[59]))
    );

    let second = alice.get(&older).await;
    assert_eq!(second.status, Status::Ok);
    assert_eq!(second.run_ids(), newest[50..]);
    assert_eq!(
        second.rel_link("prev"),
        Some(format!("/history?after={}", newest[50]))
    );
    assert!(second.rel_link("next").is_none());
    // Newer from the second page is the first page again.
    let back = alice.get(&second.rel_link("prev").unwrap()).await;
    assert_eq!(back.run_ids(), newest[..50]);
    assert!(back.rel_link("prev").is_none());

    // Old numbered links keep working: a redirect to the same place by cursor.
    alice
        .get("/history?page=2")
        .await
        .assert_redirect_to(&older);
    assert_eq!(alice.get("/history?page=1").await.run_ids(), newest[..50]);
    // Past the end: an empty page, not an error.
    let past = alice.get("/history?page=3").await;
    assert_eq!(past.status, Status::Ok);
    assert!(past.run_ids().is_empty());
    assert!(past.body.contains("这里没有更早的记录了"), "{}", past.body);
    let oldest = alice.get(&format!("/history?before={}", ids[0])).await;
    assert_eq!(oldest.status, Status::Ok);
    assert!(oldest.run_ids().is_empty());
    assert!(oldest.body.contains("这里没有更早的记录了"));

    // The filters ride along in the page links (every run has MODEL).
    let filters = "model=Qwen%2FQwen2.5-7B-Instruct&from=2026-03-01&to=2026-03-03";
    let filtered = alice.get(&format!("/history?{filters}")).await;
    assert_eq!(filtered.run_ids(), newest[..50]);
    let next = filtered.rel_link("next").expect("a next link");
    assert_eq!(next, format!("/history?{filters}&before={}", newest[49]));
    let page_two = alice.get(&next).await;
    assert_eq!(page_two.run_ids(), newest[50..]);
    let prev = page_two.rel_link("prev").unwrap();
    assert_eq!(prev, format!("/history?{filters}&after={}", newest[50]));
    // The form shows the filter again.
    assert!(
        page_two
            .body
            .contains(r#"value="Qwen/Qwen2.5-7B-Instruct""#)
    );
    alice
        .get(&format!("/history?{filters}&page=2"))
        .await
        .assert_redirect_to(&next);
}

/// Walks `/history?{filters}` by its "older" links to the end, checking that each page's
/// "newer" link leads back to the page before it; returns the run ids of each page, newest
/// page first.
async fn walk(user: &User, filters: &str) -> Vec<Vec<i64>> {
    let mut pages: Vec<Vec<i64>> = Vec::new();
    let mut next = Some(if filters.is_empty() {
        "/history".to_owned()
    } else {
        format!("/history?{filters}")
    });
    while let Some(uri) = next {
        let page = user.get(&uri).await;
        assert_eq!(page.status, Status::Ok, "{uri}: {}", page.body);
        assert!(
            !page.run_ids().is_empty(),
            "{uri}: a link led to an empty page"
        );
        match page.rel_link("prev") {
            None => assert!(
                pages.is_empty(),
                "{uri}: only the newest page has no newer link"
            ),
            Some(newer) => {
                assert!(newer.contains(filters), "{newer} keeps {filters}");
                let back = user.get(&newer).await;
                assert_eq!(&back.run_ids(), pages.last().unwrap(), "{newer}");
            }
        }
        next = page.rel_link("next");
        if let Some(older) = &next {
            assert!(older.contains(filters), "{older} keeps {filters}");
        }
        pages.push(page.run_ids());
    }
    pages
}

#[tokio::test]
async fn cursor_pages_walk_both_ways_keep_the_filters_and_refuse_bad_cursors() {
    let site = HistorySite::new().await;
    let alice = site.user("alice").await;
    let bob = site.user("bob").await;
    let key = save_key(&alice, "主账号").await;
    let preset = site.add_preset(alice.id, "每日检查");
    // 130 runs, three to a second (the cursor breaks ties on the id); every other one with
    // the key, every third with the preset, every fourth of another model.
    let mut ids = Vec::new();
    for i in 0..130_i64 {
        let mut run = Run::new(alice.id, MARCH_2_BJ + i / 3);
        if i % 2 == 0 {
            run = run.key(key, "主账号");
        }
        if i % 3 == 0 {
            run = run.preset(preset, "每日检查");
        }
        if i % 4 == 0 {
            run = run.results(vec![ok(OTHER_MODEL, [1, 1, 1, 1])]);
        }
        ids.push((i, site.insert(&run)));
    }
    let bobs_run = site.insert(&Run::new(bob.id, MARCH_2_BJ + 7));
    let newest_first = |keep: &dyn Fn(i64) -> bool| -> Vec<i64> {
        ids.iter()
            .rev()
            .filter(|(i, _)| keep(*i))
            .map(|(_, id)| *id)
            .collect()
    };
    let cases: Vec<(String, Vec<i64>)> = vec![
        (String::new(), newest_first(&|_| true)),
        (format!("key={key}"), newest_first(&|i| i % 2 == 0)),
        (format!("preset={preset}"), newest_first(&|i| i % 3 == 0)),
        (
            "model=deepseek-ai%2FDeepSeek-V3".to_owned(),
            newest_first(&|i| i % 4 == 0),
        ),
        (
            "model=Qwen%2FQwen2.5-7B-Instruct".to_owned(),
            newest_first(&|i| i % 4 != 0),
        ),
        (
            format!("key={key}&model=Qwen%2FQwen2.5-7B-Instruct&from=2026-03-02"),
            newest_first(&|i| i % 2 == 0 && i % 4 != 0),
        ),
    ];
    for (filters, expected) in cases {
        let pages = walk(&alice, &filters).await;
        let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
        assert!(
            sizes[..sizes.len() - 1].iter().all(|n| *n == 50),
            "{filters}: {sizes:?}"
        );
        let seen: Vec<i64> = pages.concat();
        assert_eq!(seen, expected, "{filters}: every run once, newest first");
        assert!(!seen.contains(&bobs_run));
    }

    // Cursors that are not run ids are a 400 naming the position; both at once too.
    for query in [
        "before=abc",
        "before=0",
        "before=-5",
        "after=1.5",
        "before=99999999999999999999",
        "before=1&after=2",
    ] {
        let page = alice.get(&format!("/history?{query}")).await;
        assert_eq!(page.status, Status::BadRequest, "{query}: {}", page.body);
        assert!(page.body.contains("筛选条件无效：翻页位置。"), "{query}");
        assert!(page.run_ids().is_empty(), "{query}");
    }
    // A run that is gone, or Bob's: a 404 that says so, nothing of Bob's shown.
    let gone = ids[100].1;
    assert_eq!(delete(&alice, gone).await.status, Status::SeeOther);
    for cursor in [gone, bobs_run, 987_654] {
        for direction in ["before", "after"] {
            let uri = format!("/history?{direction}={cursor}");
            let page = alice.get(&uri).await;
            assert_eq!(page.status, Status::NotFound, "{uri}");
            assert!(page.body.contains("翻页位置指向的记录已不存在"), "{uri}");
            assert!(page.run_ids().is_empty(), "{uri}");
            assert!(page.body.contains("href=\"/history\""), "{uri}: a way back");
        }
    }
    let page = bob.get(&format!("/history?before={}", ids[129].1)).await;
    assert_eq!(page.status, Status::NotFound);
    assert!(page.run_ids().is_empty());
    // Bob's own run as his cursor: nothing older of his, nothing of Alice's.
    let page = bob.get(&format!("/history?after={bobs_run}")).await;
    assert_eq!(page.run_ids(), [bobs_run]);
}

/// Pagination at its edges: no runs, exactly one page, one run more than a page, and a run
/// stored twice with the same model (listed once under the model filter).
#[tokio::test]
async fn pages_at_the_edges_empty_exactly_one_page_and_one_more() {
    let site = HistorySite::new().await;
    let alice = site.user("alice").await;

    // No runs: the invitation to run a query, no page links; a page number past the end and
    // the model filter are empty pages, not errors.
    let empty = alice.get("/history").await;
    assert_eq!(empty.status, Status::Ok);
    assert!(empty.body.contains("还没有查询记录"), "{}", empty.body);
    assert!(empty.rel_link("next").is_none() && empty.rel_link("prev").is_none());
    let past = alice.get("/history?page=2").await;
    assert_eq!(past.status, Status::Ok, "{}", past.body);
    assert!(past.run_ids().is_empty());
    let filtered = alice
        .get(&format!("/history?model={}", MODEL.replace('/', "%2F")))
        .await;
    assert_eq!(filtered.status, Status::Ok);
    assert!(filtered.body.contains("没有符合筛选条件的记录"));
    let trend = alice.get(&format!("/history/model/{MODEL}")).await;
    assert_eq!(trend.status, Status::Ok);
    assert!(trend.rel_link("next").is_none() && trend.rel_link("prev").is_none());

    // Exactly one page (50 runs): all of them, and no link to older or newer runs.
    let mut ids: Vec<i64> = (0..50)
        .map(|i| site.insert(&Run::new(alice.id, MARCH_2_BJ + i)))
        .collect();
    ids.reverse();
    for uri in [
        "/history".to_owned(),
        format!("/history?model={}", MODEL.replace('/', "%2F")),
    ] {
        let page = alice.get(&uri).await;
        assert_eq!(page.run_ids(), ids, "{uri}");
        assert!(page.rel_link("next").is_none(), "{uri}");
        assert!(page.rel_link("prev").is_none(), "{uri}");
    }
    let trend = alice.get(&format!("/history/model/{MODEL}")).await;
    assert!(trend.rel_link("next").is_none() && trend.rel_link("prev").is_none());
    // Nothing is older than the oldest run: an empty page that leads back.
    let oldest = alice.get(&format!("/history?before={}", ids[49])).await;
    assert_eq!(oldest.status, Status::Ok);
    assert!(oldest.run_ids().is_empty());
    assert!(oldest.body.contains("这里没有更早的记录了"));
    assert!(oldest.body.contains("href=\"/history\""));
    // The newest run's "newer" side is the newest page itself.
    let newest = alice.get(&format!("/history?after={}", ids[0])).await;
    assert_eq!(newest.run_ids(), ids);
    assert!(newest.rel_link("prev").is_none());

    // One run more, with the model twice: the second page holds the oldest run alone, and
    // the model filter lists the new run once.
    let twice = site.insert(
        &Run::new(alice.id, MARCH_2_BJ + 100)
            .results(vec![ok(MODEL, [1, 1, 1, 1]), ok(MODEL, [2, 2, 2, 2])]),
    );
    ids.insert(0, twice);
    for uri in [
        "/history".to_owned(),
        format!("/history?model={}", MODEL.replace('/', "%2F")),
    ] {
        let first = alice.get(&uri).await;
        assert_eq!(first.run_ids(), ids[..50], "{uri}");
        assert!(first.rel_link("prev").is_none(), "{uri}");
        let older = first.rel_link("next").expect("an older link");
        let second = alice.get(&older).await;
        assert_eq!(second.run_ids(), ids[50..], "{uri}");
        assert!(second.rel_link("next").is_none(), "{uri}");
        let newer = second.rel_link("prev").expect("a newer link");
        let back = alice.get(&newer).await;
        assert_eq!(back.run_ids(), ids[..50], "{uri}");
        assert!(back.rel_link("prev").is_none(), "{uri}");
    }
}

#[tokio::test]
async fn each_filter_narrows_the_list() {
    let site = HistorySite::new().await;
    let alice = site.user("alice").await;
    let main_key = save_key(&alice, "主账号").await;
    let preset = site.add_preset(alice.id, "每日检查");

    let with_key = site.insert(&Run::new(alice.id, MARCH_2_BJ).key(main_key, "主账号"));
    let with_preset = site.insert(&Run::new(alice.id, MARCH_2_BJ + 10).preset(preset, "每日检查"));
    let other_model = site
        .insert(&Run::new(alice.id, MARCH_2_BJ + 20).results(vec![ok(OTHER_MODEL, [1, 1, 1, 1])]));
    // Day edges in Beijing time: the last second of March 1st and the first of March 3rd.
    let march_1 = site.insert(&Run::new(alice.id, MARCH_2_BJ - 1));
    let march_3 = site.insert(&Run::new(alice.id, MARCH_2_BJ + DAY));

    assert_eq!(ids(&alice, &format!("key={main_key}")).await, [with_key]);
    assert_eq!(
        ids(&alice, &format!("preset={preset}")).await,
        [with_preset]
    );
    assert_eq!(
        ids(&alice, "model=deepseek-ai%2FDeepSeek-V3").await,
        [other_model]
    );
    let mut march_2 = vec![with_key, with_preset, other_model];
    march_2.sort_unstable();
    assert_eq!(ids(&alice, "from=2026-03-02&to=2026-03-02").await, march_2);
    assert_eq!(ids(&alice, "to=2026-03-01").await, [march_1]);
    assert_eq!(ids(&alice, "from=2026-03-03").await, [march_3]);
    assert_eq!(ids(&alice, "from=2026-03-04").await, Vec::<i64>::new());
    // Empty fields (a submitted form) are no filter at all.
    assert_eq!(ids(&alice, "key=&preset=&model=&from=&to=").await.len(), 5);
    // Filters combine.
    assert_eq!(
        ids(
            &alice,
            &format!("key={main_key}&model=deepseek-ai%2FDeepSeek-V3")
        )
        .await,
        Vec::<i64>::new()
    );

    // The selects offer the user's keys and presets, the chosen one selected.
    let page = alice.get(&format!("/history?key={main_key}")).await;
    assert!(
        page.body.contains(&format!(
            r#"<option value="{main_key}" selected>主账号</option>"#
        )),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains(&format!(r#"<option value="{preset}">每日检查</option>"#))
    );
    let none = alice.get("/history?from=2026-03-04").await;
    assert!(none.body.contains("没有符合筛选条件的记录"));
}

#[tokio::test]
async fn nonsense_filters_are_a_400_that_names_the_field() {
    let site = HistorySite::new().await;
    let alice = site.user("alice").await;
    site.insert(&Run::new(alice.id, MARCH_2_BJ));
    let cases = [
        ("page=0", "页码"),
        ("page=abc", "页码"),
        ("page=-1", "页码"),
        ("page=99999999999999999999", "页码"),
        ("page=1.5", "页码"),
        ("from=2026-13-45", "开始日期"),
        ("from=yesterday", "开始日期"),
        ("to=2026-02-30", "结束日期"),
        ("key=abc", "Key"),
        ("key=-1", "Key"),
        ("preset=1%3B%20DROP%20TABLE", "预设"),
        ("model=%3Cscript%3Ealert(1)%3C%2Fscript%3E", "模型"),
        ("model=a%2Fb%2Fc", "模型"),
        ("model=qwen%203", "模型"),
        ("from=2026-03-05&to=2026-03-01", "开始日期晚于结束日期"),
        ("kind=probes", "类型（probe 调用模型，或 check 免费检查）"),
        ("kind=census", "类型（probe 调用模型，或 check 免费检查）"),
        ("source=cron", "来源（web 网页、api 或 schedule 定时）"),
        ("status=broken", "状态（ok 全部成功，或 failed 有失败）"),
        (
            "checks=all",
            "定时检查的显示方式（day 每天一行，或 each 逐条）",
        ),
    ];
    for (query, field) in cases {
        for path in ["/history", "/history/export"] {
            let uri = if path == "/history" {
                format!("{path}?{query}")
            } else {
                format!("{path}?format=csv&{query}")
            };
            let page = alice.get(&uri).await;
            if path == "/history/export" && field == "页码" {
                // The export has no pages: a page number there is ignored.
                page.assert_not_5xx(&uri);
                continue;
            }
            assert_eq!(page.status, Status::BadRequest, "{uri}: {}", page.body);
            assert!(
                page.body.contains(&format!("筛选条件无效：{field}")),
                "{uri}: {}",
                page.body
            );
            assert!(page.run_ids().is_empty(), "{uri}");
            assert!(!page.body.contains("<script>alert"), "{uri}");
        }
    }
    // Odd encodings, repeats and unknown parameters never reach a 5xx.
    for uri in [
        "/history?page=%ZZ",
        "/history?page=1&page=2",
        "/history?unknown=1",
        "/history?key=%00",
        "/history?from=%E2%80%AE2026-01-01",
        "/history/abc",
        "/history/99999999999999999999",
        "/history/-1",
        "/history/export?format=csv&page=%ZZ",
    ] {
        alice.get(uri).await.assert_not_5xx(uri);
    }
    assert_eq!(alice.get("/history/abc").await.status, Status::NotFound);
}

#[tokio::test]
async fn signed_out_visitors_are_sent_to_sign_in() {
    let site = HistorySite::new().await;
    let client = site.app.start().await;
    for uri in [
        "/history",
        "/history/1",
        "/history/export?format=csv",
        "/history/model/Qwen/Qwen2.5-7B-Instruct",
    ] {
        let answer = get(&client, uri).await;
        assert!(
            answer.status.class().is_redirection(),
            "{uri}: {}",
            answer.status
        );
        assert!(answer.header("Location").unwrap().starts_with("/login"));
    }
}

// ---------------------------------------------------------------------------------------------
// /history/<id> and delete

#[tokio::test]
async fn the_detail_page_shows_the_run_escaped() {
    let site = HistorySite::new().await;
    let alice = site.user("alice").await;
    let key = save_key(&alice, "主账号").await;
    let preset = site.add_preset(alice.id, "每日检查");
    let mut run = Run::new(alice.id, MARCH_2_BJ + 3661)
        .key(key, "主账号")
        .preset(preset, "每日检查")
        .results(vec![
            ok(MODEL, [2000, 1987, 500, 488]),
            failed(
                "evil/model",
                ErrorCode::UpstreamError,
                500,
                "<script>alert(1)</script><img src=x onerror=alert(2)>",
            ),
            failed("<script>x</script>", ErrorCode::InvalidModel, 400, "bad id"),
        ]);
    run.balance = Some(StoredBalance {
        total: Some(250.0),
        available: Some(12.5),
        frozen: Some(0.0),
        error: None,
    });
    let id = site.insert(&run);

    let page = alice.get(&format!("/history/{id}")).await;
    assert_eq!(page.status, Status::Ok, "{}", page.body);
    let body = &page.body;
    for expected in [
        "2026-03-02 01:01",
        "主账号",
        "每日检查",
        "网页",
        "1987 / 2000",
        "488 / 500",
        "成功 1 个",
        "失败 2 个",
        "12.5",
        "250",
    ] {
        assert!(body.contains(expected), "missing {expected}: {body}");
    }
    // Models link to their trend; an invalid stored id gets no link.
    assert!(body.contains(&format!("href=\"/history/model/{MODEL}\"")));
    assert!(body.contains("href=\"/history/model/evil/model\""));
    assert!(!body.contains("/history/model/&lt;"));
    // Upstream text and stored model ids are escaped.
    assert!(!body.contains("<script>alert"), "{body}");
    assert!(!body.contains("<script>x"), "{body}");
    assert!(!body.contains("<img"), "{body}");
    let text = html_unescape(body);
    assert!(text.contains("<script>alert(1)</script><img src=x onerror=alert(2)>"));
    assert!(
        text.contains("<script>x</script>"),
        "the stored model id, as text"
    );
    // Delete asks first: the link opens a confirmation that posts with the CSRF token.
    assert!(body.contains(&format!("href=\"/history/{id}/delete\"")));
    let confirm = alice.get(&format!("/history/{id}/delete")).await;
    assert_eq!(confirm.status, Status::Ok);
    assert!(
        confirm
            .body
            .contains(&format!("action=\"/history/{id}/delete\""))
    );
    assert!(confirm.body.contains(&alice.csrf), "{}", confirm.body);
    assert!(confirm.body.contains(&format!("#{id}")), "names the run");

    // A balance that failed is said in words.
    let mut failed_balance = Run::new(alice.id, MARCH_2_BJ);
    failed_balance.balance = Some(StoredBalance {
        total: None,
        available: None,
        frozen: None,
        error: Some(ErrorCode::InvalidKey),
    });
    let other = site.insert(&failed_balance);
    let page = alice.get(&format!("/history/{other}")).await;
    assert!(
        page.body.contains("积分余额查询失败：Key 无效") && page.body.contains("已被撤销"),
        "{}",
        page.body
    );
    assert!(page.body.contains("粘贴的 Key"));

    assert_eq!(alice.get("/history/999999").await.status, Status::NotFound);
}

#[tokio::test]
async fn delete_removes_only_your_own_run() {
    let site = HistorySite::new().await;
    let alice = site.user("alice").await;
    let bob = site.user("bob").await;
    let id = site.insert(&Run::new(alice.id, MARCH_2_BJ));
    let rows = "SELECT count(*) FROM query_results WHERE query_id = ?1";

    // Bob, with his own valid token, cannot delete Alice's run.
    let refused = delete(&bob, id).await;
    assert_eq!(refused.status, Status::NotFound);
    assert_eq!(
        site.count("SELECT count(*) FROM queries WHERE id = ?1", id),
        1
    );
    assert_eq!(site.count(rows, id), 1);

    // No token: refused before anything happens.
    let no_token = post_form(&alice.client, &format!("/history/{id}/delete"), &[]).await;
    assert_eq!(no_token.status, Status::Forbidden);
    assert_eq!(
        site.count("SELECT count(*) FROM queries WHERE id = ?1", id),
        1
    );

    let deleted = delete(&alice, id).await;
    assert_eq!(deleted.status, Status::SeeOther);
    assert_eq!(deleted.header("Location"), Some("/history"));
    let list = alice.get("/history").await;
    assert!(
        list.body.contains(&format!("查询记录 #{id} 已删除")),
        "{}",
        list.body
    );
    assert_eq!(
        site.count("SELECT count(*) FROM queries WHERE id = ?1", id),
        0
    );
    assert_eq!(site.count(rows, id), 0, "the results go with the run");
    assert_eq!(
        alice.get(&format!("/history/{id}")).await.status,
        Status::NotFound
    );
    assert_eq!(delete(&alice, id).await.status, Status::NotFound);
}

#[tokio::test]
async fn two_users_never_see_each_other() {
    let site = HistorySite::new().await;
    let alice = site.user("alice").await;
    let bob = site.user("bob").await;
    let alice_key = save_key(&alice, "alice-key").await;
    let alice_preset = site.add_preset(alice.id, "alice-preset");
    let alice_run = site.insert(
        &Run::new(alice.id, MARCH_2_BJ)
            .key(alice_key, "alice-key")
            .preset(alice_preset, "alice-preset"),
    );
    let bob_run = site.insert(&Run::new(bob.id, MARCH_2_BJ + 5));

    assert_eq!(
        bob.get(&format!("/history/{alice_run}")).await.status,
        Status::NotFound
    );
    assert_eq!(
        alice.get(&format!("/history/{bob_run}")).await.status,
        Status::NotFound
    );
    assert_eq!(
        bob.get(&format!("/history/{bob_run}")).await.status,
        Status::Ok
    );
    let bobs = bob.get("/history").await;
    assert_eq!(bobs.run_ids(), [bob_run]);
    assert!(!bobs.body.contains("alice-key"));
    assert!(!bobs.body.contains("alice-preset"));
    // Alice's ids as Bob's filters: nothing of hers.
    for query in [format!("key={alice_key}"), format!("preset={alice_preset}")] {
        let page = bob.get(&format!("/history?{query}")).await;
        assert_eq!(page.status, Status::Ok);
        assert!(page.run_ids().is_empty(), "{query}");
        let export = bob
            .get(&format!("/history/export?format=json&{query}"))
            .await;
        let runs: Value = serde_json::from_str(&export.body).unwrap();
        assert_eq!(runs, serde_json::json!([]), "{query}");
    }
    let export = bob.get("/history/export?format=csv").await;
    assert!(!export.body.contains("alice"), "{}", export.body);
    assert_eq!(
        parse_csv(&export.body).len(),
        2,
        "a header and Bob's one row"
    );
    // Same model, but Bob's trend shows only his row.
    let trend = bob.get(&format!("/history/model/{MODEL}")).await;
    assert_eq!(trend.body.matches("<circle class=\"point\"").count(), 1);
    assert!(!trend.body.contains("alice-key"));
    assert!(!trend.body.contains(&format!("/history/{alice_run}\"")));
}

// ---------------------------------------------------------------------------------------------
// Export

#[tokio::test]
async fn csv_export_opens_in_excel_and_carries_no_key() {
    let site = HistorySite::new().await;
    let alice = site.user("alice").await;
    let label = "主账号, \"备用\"";
    let key = save_key(&alice, label).await;
    let keys_page = alice.get("/keys").await;
    let masked = "ms-…beef";
    assert!(
        keys_page.body.contains(masked),
        "the keys page shows the masked key"
    );
    let preset = site.add_preset(alice.id, "每日检查");

    site.insert(
        &Run::new(alice.id, MARCH_2_BJ)
            .key(key, label)
            .preset(preset, "每日检查")
            .results(vec![
                ok(MODEL, [2000, 1987, 500, 488]),
                failed(
                    "evil/model",
                    ErrorCode::UpstreamError,
                    500,
                    "=HYPERLINK(\"http://evil\",\"x\")\nline two",
                ),
            ]),
    );
    site.insert(&Run::new(alice.id, MARCH_2_BJ + 65).results(vec![failed(
        OTHER_MODEL,
        ErrorCode::RateLimited,
        429,
        "@SUM(1+1)",
    )]));
    // Formula characters in a label and a preset name too.
    let formula_preset = site.add_preset(alice.id, "+cmd");
    site.insert(
        &Run::new(alice.id, MARCH_2_BJ + 120)
            .key(key, "-2+3")
            .preset(formula_preset, "+cmd"),
    );

    let export = alice.get("/history/export?format=csv").await;
    assert_eq!(export.status, Status::Ok);
    let content_type = export.content_type.clone().unwrap();
    assert_eq!(
        (content_type.top().as_str(), content_type.sub().as_str()),
        ("text", "csv")
    );
    let disposition = export.header("Content-Disposition").unwrap();
    let name = disposition
        .strip_prefix("attachment; filename=\"modelscope-history-")
        .and_then(|rest| rest.strip_suffix(".csv\""))
        .unwrap_or_else(|| panic!("{disposition}"));
    assert!(
        name.len() == 8 && name.bytes().all(|b| b.is_ascii_digit()),
        "{disposition}"
    );

    let body = &export.body;
    assert!(body.starts_with('\u{FEFF}'), "UTF-8 with BOM");
    assert!(!body.contains(SAVED_KEY));
    assert!(!body.contains(masked));
    assert!(!body.contains("beef"));
    assert!(!body.contains("ms-"));
    let records = parse_csv(&body['\u{FEFF}'.len_utf8()..]);
    // Headings in the reader's language; the time's heading names its zone.
    assert_eq!(
        records[0],
        [
            "时间（北京时间 UTC+8）",
            "记录编号",
            "Key 名称",
            "预设",
            "模型",
            "账户每日调用上限",
            "账户今日剩余调用",
            "模型每日调用上限",
            "模型今日剩余调用",
            "HTTP 状态码",
            "结果代码",
            "结果",
            "错误详情",
            "耗时（毫秒）",
            "剩余次数来源",
            "单价（魔粒/次）",
            "单价来源",
            "还能调用（次）",
            "还能调用（至少）",
            "还能调用（至多）",
            "查询方式",
            "来源",
            "可用魔粒（查询前）",
            "可用魔粒（查询后）",
            "本次消耗魔粒（每次查询只记在它的第一行）",
            "已检测（调用了模型）",
            "可能的单价",
            "模型本月额度",
            "模型本月剩余",
        ]
    );
    assert_eq!(records.len(), 1 + 4, "one line per model result");
    assert!(records.iter().all(|r| r.len() == 29));
    // Newest run first.
    assert_eq!(records[1][0], "2026-03-02 00:02:00");
    assert_eq!(records[1][2], "'-2+3");
    assert_eq!(records[1][3], "'+cmd");
    assert_eq!(records[2][4], OTHER_MODEL);
    assert_eq!(records[2][2], "", "a pasted key has no label");
    assert_eq!(records[2][9], "429");
    assert_eq!(records[2][10], "rate_limited");
    assert_eq!(records[2][11], "请求受限", "the status in words");
    assert_eq!(records[2][12], "'@SUM(1+1)");
    let ok_row = &records[3];
    assert_eq!(ok_row[0], "2026-03-02 00:00:00");
    assert_eq!(ok_row[2], label, "the comma and quotes survive quoting");
    assert_eq!(ok_row[3], "每日检查");
    assert_eq!(&ok_row[4..10], [MODEL, "2000", "1987", "500", "488", "200"]);
    assert_eq!(ok_row[11], "正常");
    assert_eq!(ok_row[13], "42");
    let failed_row = &records[4];
    assert_eq!(
        failed_row[12],
        "'=HYPERLINK(\"http://evil\",\"x\")\nline two"
    );
    assert_eq!(
        &failed_row[5..9],
        ["", "", "", ""],
        "unknown numbers are empty, not 0"
    );
    assert_eq!(failed_row[1], ok_row[1], "the same query id");
    // The raw bytes: quoting done the RFC 4180 way, Chinese intact.
    assert!(body.contains("\"主账号, \"\"备用\"\"\""));
    assert!(body.contains(",每日检查,"));

    // The same filters as the list.
    let filtered = alice
        .get(&format!(
            "/history/export?format=csv&key={key}&model=evil%2Fmodel"
        ))
        .await;
    let records = parse_csv(&filtered.body['\u{FEFF}'.len_utf8()..]);
    assert_eq!(records.len(), 1 + 2, "{}", filtered.body);
    // An empty export still has its header.
    let empty = alice
        .get("/history/export?format=csv&from=2030-01-01")
        .await;
    assert_eq!(parse_csv(&empty.body['\u{FEFF}'.len_utf8()..]).len(), 1);
    // An English browser gets English headings and words.
    let english = crate::harness::http::get_with(
        &alice.client,
        "/history/export?format=csv",
        &[("Accept-Language", "en-GB,en;q=0.8")],
    )
    .await;
    let records = parse_csv(&english.body['\u{FEFF}'.len_utf8()..]);
    assert_eq!(records[0][0], "Time (Beijing time UTC+8)");
    assert_eq!(records[2][11], "Rate limited", "{:?}", records[2]);
}

#[tokio::test]
async fn json_export_matches_the_csv() {
    let site = HistorySite::new().await;
    let alice = site.user("alice").await;
    let key = save_key(&alice, "主账号").await;
    for i in 0..7 {
        let results = (0..=i % 3)
            .map(|m| ok(&format!("owner/model-{m}"), [10, 9, 8, 7 - m]))
            .collect();
        site.insert(
            &Run::new(alice.id, MARCH_2_BJ + i * 100)
                .key(key, "主账号")
                .results(results),
        );
    }
    let json = alice.get("/history/export?format=json").await;
    assert_eq!(json.status, Status::Ok);
    assert!(json.content_type.as_ref().unwrap().is_json());
    assert!(
        json.header("Content-Disposition")
            .unwrap()
            .ends_with(".json\"")
    );
    assert!(!json.body.contains("ms-"));
    let runs: Value = serde_json::from_str(&json.body).expect("the export parses");
    let runs = runs.as_array().unwrap();
    assert_eq!(runs.len(), 7);
    let result_count: usize = runs
        .iter()
        .map(|r| r["results"].as_array().unwrap().len())
        .sum();
    let csv = alice.get("/history/export?format=csv").await;
    assert_eq!(
        parse_csv(&csv.body['\u{FEFF}'.len_utf8()..]).len() - 1,
        result_count
    );
    let newest = &runs[0];
    assert_eq!(newest["key_label"], "主账号");
    assert_eq!(newest["time"], "2026-03-02T00:10:00+08:00");
    assert_eq!(newest["results"][0]["model"], "owner/model-0");
    assert_eq!(newest["results"][0]["model_request_remaining"], 7);
    assert!(newest.get("api_key").is_none());

    // A missing or unknown format is a 400 page that says what to do.
    for uri in [
        "/history/export",
        "/history/export?format=xlsx",
        "/history/export?format=",
    ] {
        let page = alice.get(uri).await;
        assert_eq!(page.status, Status::BadRequest, "{uri}");
        assert!(page.body.contains("导出格式无效"), "{uri}: {}", page.body);
    }
}

#[tokio::test]
async fn a_long_export_is_read_in_chunks_without_losing_or_repeating_a_run() {
    let site = HistorySite::new().await;
    let alice = site.user("alice").await;
    {
        // Many runs share a second, so the cursor's tie-break on id is exercised.
        let mut conn = site.db.connection().unwrap();
        let results = vec![ok(MODEL, [1, 1, 1, 1])];
        for i in 0..1_201 {
            insert_run(
                &mut conn,
                &NewRun {
                    user_id: UserId(alice.id),
                    api_key_id: None,
                    key_label: None,
                    preset_id: None,
                    preset_name: None,
                    source: Source::Api,
                    started_at: MARCH_2_BJ + i / 7,
                    duration_ms: 1,
                    balance: None,
                    results: &results,
                    ..NewRun::default()
                },
            )
            .unwrap();
        }
    }
    let json = alice.get("/history/export?format=json").await;
    let runs: Value = serde_json::from_str(&json.body).unwrap();
    let ids: Vec<i64> = runs
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), 1_201);
    assert!(
        ids.windows(2).all(|w| w[0] > w[1]),
        "newest first, no repeats"
    );
    let csv = alice.get("/history/export?format=csv").await;
    assert_eq!(
        parse_csv(&csv.body['\u{FEFF}'.len_utf8()..]).len(),
        1 + 1_201
    );
}

// ---------------------------------------------------------------------------------------------
// Trend

#[tokio::test]
async fn the_trend_is_an_inline_svg_with_a_point_per_row() {
    let site = HistorySite::new().await;
    let alice = site.user("alice").await;
    let key = save_key(&alice, "<b>bold</b> key").await;
    for (i, remaining) in [490, 470, 430].into_iter().enumerate() {
        site.insert(
            &Run::new(alice.id, MARCH_2_BJ + i as i64 * 3600)
                .key(key, "<b>bold</b> key")
                .results(vec![ok(MODEL, [2000, 1990 - i as i64, 500, remaining])]),
        );
    }
    // A row without numbers: in the table, not on the chart.
    site.insert(
        &Run::new(alice.id, MARCH_2_BJ + 4 * 3600).results(vec![failed(
            MODEL,
            ErrorCode::UpstreamError,
            502,
            "<script>alert('x')</script> onerror=alert(1)",
        )]),
    );

    let page = alice.get(&format!("/history/model/{MODEL}")).await;
    assert_eq!(page.status, Status::Ok, "{}", page.body);
    let body = &page.body;
    assert!(body.contains("<svg class=\"trend\""), "{body}");
    assert_eq!(body.matches("<circle class=\"point\"").count(), 3);
    assert!(body.contains("<polyline class=\"line\" points=\""));
    // Hover titles and axis labels.
    let text = html_unescape(body);
    assert!(
        text.contains("<title>2026-03-02 00:00 · <b>bold</b> key · 还能调用 490 次"),
        "{text}"
    );
    assert!(body.contains(">2026-03-02 00:00</text>"));
    assert!(body.contains(">2026-03-02 02:00</text>"));
    // The value axis is scaled to the values (430 to 490, round steps of 20), not a fixed 0 to
    // the limit; the limit is its top because it is within one step of the highest value.
    assert!(
        body.contains(">500</text>"),
        "the y axis tops at the model's limit"
    );
    assert!(body.contains(">420</text>"), "{body}");
    assert!(!body.contains(">0</text>"), "{body}");
    assert!(body.contains("最低 430，最高 490"));
    // The table: four rows, newest first, escaped.
    assert_eq!(body.matches("<tr class=\"row-").count(), 4);
    assert!(!body.contains("<script>alert"), "{body}");
    assert!(!body.contains("<b>"), "{body}");
    assert!(text.contains("<script>alert('x')</script> onerror=alert(1)"));

    // A model nobody asked about: the empty state.
    let empty = alice.get("/history/model/owner/never-queried").await;
    assert_eq!(empty.status, Status::Ok);
    assert!(!empty.body.contains("<svg"));
    assert!(empty.body.contains("还没有这个模型还能调用几次的数据"));

    // Ids that are not model ids are not pages.
    for uri in [
        "/history/model/%3Cscript%3E/x",
        "/history/model/owner/name%22onerror%3D1",
        "/history/model/-owner/name",
        "/history/model/a..b/c",
        "/history/model/owner",
    ] {
        let answer = alice.get(uri).await;
        assert_eq!(answer.status, Status::NotFound, "{uri}");
        assert!(!answer.body.contains("<script>alert"));
    }
}

#[tokio::test]
async fn the_trend_shows_fifty_runs_a_page_with_older_and_newer_links() {
    let site = HistorySite::new().await;
    let alice = site.user("alice").await;
    let bob = site.user("bob").await;
    // 70 runs of MODEL, two to a second, and runs of another model between them.
    let mut ids = Vec::new();
    for i in 0..70_i64 {
        ids.push(
            site.insert(&Run::new(alice.id, MARCH_2_BJ + i / 2).results(vec![
                ok(OTHER_MODEL, [1, 1, 1, 1]),
                ok(MODEL, [2000, 1990, 500, 400 + i]),
            ])),
        );
        site.insert(
            &Run::new(alice.id, MARCH_2_BJ + i / 2).results(vec![ok(OTHER_MODEL, [1, 1, 1, 1])]),
        );
    }
    let bobs_run = site.insert(&Run::new(bob.id, MARCH_2_BJ));
    let newest: Vec<i64> = ids.iter().rev().copied().collect();
    let links = |body: &str| -> Vec<i64> {
        body.match_indices("<a class=\"nowrap\" href=\"/history/")
            .map(|(at, m)| {
                let rest = &body[at + m.len()..];
                rest[..rest.find('"').unwrap()].parse().unwrap()
            })
            .collect()
    };
    let path = format!("/history/model/{MODEL}");
    let first = alice.get(&path).await;
    assert_eq!(first.status, Status::Ok, "{}", first.body);
    assert_eq!(links(&first.body), newest[..50]);
    assert_eq!(first.body.matches("<circle class=\"point\"").count(), 50);
    assert!(first.rel_link("prev").is_none());
    let older = format!("{path}?before={}", newest[49]);
    assert_eq!(first.rel_link("next").as_deref(), Some(older.as_str()));

    let second = alice.get(&older).await;
    assert_eq!(second.status, Status::Ok);
    assert_eq!(links(&second.body), newest[50..]);
    assert_eq!(second.body.matches("<circle class=\"point\"").count(), 20);
    assert!(second.rel_link("next").is_none());
    let newer = second.rel_link("prev").expect("a newer link");
    assert_eq!(newer, format!("{path}?after={}", newest[50]));
    assert_eq!(links(&alice.get(&newer).await.body), newest[..50]);

    // Bad cursors: not an id is a 400, not Alice's run a 404, never a 5xx; each says so above
    // the newest page.
    for (query, status, words) in [
        ("before=abc", Status::BadRequest, "筛选条件无效：翻页位置。"),
        ("after=0", Status::BadRequest, "筛选条件无效：翻页位置。"),
        (
            "before=1&after=2",
            Status::BadRequest,
            "筛选条件无效：翻页位置。",
        ),
        (
            &*format!("before={bobs_run}"),
            Status::NotFound,
            "翻页位置指向的记录已不存在",
        ),
        (
            "after=987654",
            Status::NotFound,
            "翻页位置指向的记录已不存在",
        ),
    ] {
        let answer = alice.get(&format!("{path}?{query}")).await;
        assert_eq!(answer.status, status, "{query}");
        assert!(answer.body.contains(words), "{query}: {}", answer.body);
        assert_eq!(links(&answer.body), newest[..50], "{query}");
        assert!(!answer.body.contains("bob"), "{query}");
    }
    // Bob with Alice's cursor sees nothing of hers: his own newest page, with the notice.
    let answer = bob.get(&older).await;
    assert_eq!(answer.status, Status::NotFound);
    assert!(answer.body.contains("翻页位置指向的记录已不存在"));
    assert_eq!(links(&answer.body), [bobs_run]);
}

// ---------------------------------------------------------------------------------------------
// Retention

#[tokio::test]
async fn retention_removes_old_runs_and_keeps_new_ones() {
    let site = HistorySite::new().await;
    let alice = site.user("alice").await;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let old = site.insert(&Run::new(alice.id, now - 91 * DAY));
    let recent = site.insert(&Run::new(alice.id, now - 89 * DAY));
    let today = site.insert(&Run::new(alice.id, now));

    assert_eq!(
        modelscope_balance::runs::history::delete_older_than_days(&site.db, 0)
            .await
            .unwrap(),
        0,
        "0 keeps everything"
    );
    let removed = modelscope_balance::runs::history::delete_older_than_days(&site.db, 90)
        .await
        .unwrap();
    assert_eq!(removed, 1);
    let query = "SELECT count(*) FROM queries WHERE id = ?1";
    assert_eq!(site.count(query, old), 0);
    assert_eq!(
        site.count(
            "SELECT count(*) FROM query_results WHERE query_id = ?1",
            old
        ),
        0
    );
    assert_eq!(site.count(query, recent), 1);
    assert_eq!(site.count(query, today), 1);
    let mut ids = alice.get("/history").await.run_ids();
    ids.sort_unstable();
    assert_eq!(ids, [recent, today]);
}
