//! History as a ledger (issue 20, item 1): kind, source, points available after and spent on
//! each row; a key's scheduled free checks of a day folded into one row that leads to each of
//! them; filters by kind, source and status kept in every link; a model filter that takes a part
//! of an id in any case without losing the other filters; a CSV whose spend column sums to what
//! the runs spent; `/api/history` filtered the same way.

use super::*;
use crate::harness::api::api_get;
use crate::harness::secrets::OTHER_KEY;

/// A scheduled free check of `key` at `at` that read `available` (`None`: the read failed).
fn check(user_id: i64, key: (i64, &str), at: i64, available: Option<f64>) -> Run {
    let mut run = Run::new(user_id, at).key(key.0, key.1).results(Vec::new());
    run.source = Source::Schedule;
    run.kind = RunKind::Check;
    run.balance = Some(match available {
        Some(points) => StoredBalance {
            total: Some(points),
            available: Some(points),
            frozen: Some(0.0),
            error: None,
        },
        None => StoredBalance {
            error: Some(ErrorCode::Timeout),
            ..StoredBalance::default()
        },
    });
    run
}

/// A probe that read `before` and `after` and spent the difference.
fn probe(user_id: i64, at: i64, before: f64, after: f64, models: &[&str]) -> Run {
    let mut run = Run::new(user_id, at).results(
        models
            .iter()
            .map(|m| ok(m, [2000, 1990, 500, 490]))
            .collect(),
    );
    run.before = Some(StoredBalance {
        total: Some(before),
        available: Some(before),
        frozen: Some(0.0),
        error: None,
    });
    run.balance = Some(StoredBalance {
        total: Some(after),
        available: Some(after),
        frozen: Some(0.0),
        error: None,
    });
    run.points_spent = Some(before - after);
    run
}

/// The `<tr>` of run `id` on a list page.
fn row_of(page: &Answer, id: i64) -> &str {
    let start = page
        .body
        .find(&format!("<tr id=\"run-{id}\""))
        .unwrap_or_else(|| panic!("no row of run {id}: {}", page.body));
    let end = start + page.body[start..].find("</tr>").unwrap();
    &page.body[start..end]
}

/// The `href` of the link whose text starts with `text`, unescaped.
fn link_to(html: &str, text: &str) -> String {
    let at = html
        .find(text)
        .unwrap_or_else(|| panic!("no {text}: {html}"));
    let start = html[..at].rfind("href=\"").unwrap() + 6;
    html_unescape(&html[start..start + html[start..].find('"').unwrap()])
}

#[tokio::test]
async fn scheduled_checks_fold_into_one_row_a_key_and_day_and_probes_stay_visible() {
    let site = HistorySite::new().await;
    let alice = site.user("alice").await;
    let main = (save_key(&alice, "主账号").await, "主账号");
    let spare = (alice.add_key("备用", OTHER_KEY).await, "备用");
    // March 2nd: twelve checks of the main key every two hours (the fifth failed), five of
    // the spare one; March 3rd: three of the main key.
    let mut main_day: Vec<i64> = Vec::new();
    for i in 0..12 {
        let available = (i != 4).then_some(250.0 - i as f64);
        main_day.push(site.insert(&check(
            alice.id,
            main,
            MARCH_2_BJ + 600 + i * 7200,
            available,
        )));
    }
    let spare_day: Vec<i64> = (0..5)
        .map(|i| {
            site.insert(&check(
                alice.id,
                spare,
                MARCH_2_BJ + 900 + i * 3600,
                Some(80.5),
            ))
        })
        .collect();
    let next_day: Vec<i64> = (0..3)
        .map(|i| {
            site.insert(&check(
                alice.id,
                main,
                MARCH_2_BJ + DAY + i * 300,
                Some(260.0),
            ))
        })
        .collect();
    // Probes between them: two from the page with the main key, one through the API.
    let web = site.insert(
        &probe(alice.id, MARCH_2_BJ + 3 * 3600, 247.0, 245.5, &[MODEL]).key(main.0, main.1),
    );
    let web_later = site.insert(&probe(
        alice.id,
        MARCH_2_BJ + 20 * 3600,
        241.0,
        240.0,
        &[MODEL],
    ));
    let mut api = probe(
        alice.id,
        MARCH_2_BJ + DAY + 3600,
        260.0,
        259.5,
        &[OTHER_MODEL],
    );
    api.source = Source::Api;
    let api = site.insert(&api);

    let page = alice.get("/history").await;
    assert_eq!(page.status, Status::Ok, "{}", page.body);
    // Newest first: each probe, and one row for each key's day standing on its newest check.
    assert_eq!(
        page.run_ids(),
        [api, next_day[2], main_day[11], web_later, spare_day[4], web]
    );
    assert_eq!(page.body.matches("<tr id=\"run-").count(), 6);
    assert_eq!(page.body.matches(" class=\"day\"").count(), 3);
    for heading in ["类型", "来源", "之后可用", "消耗"] {
        assert!(
            page.body
                .contains(&format!("<th scope=\"col\">{heading}</th>")),
            "{heading}"
        );
    }
    // A probe's row: its kind, source, the points after it and what it spent.
    let web_row = row_of(&page, web);
    for cell in [">调用模型<", ">网页<", ">245.5<", ">1.5<", ">主账号<"] {
        assert!(web_row.contains(cell), "{cell}: {web_row}");
    }
    assert!(row_of(&page, api).contains(">API<"));
    // The main key's March 2nd: twelve checks, 11 answered and 1 failed, the day's lowest and
    // highest (the failed one read nothing), the newest reading; nothing spent.
    let day = row_of(&page, main_day[11]);
    for cell in [
        ">免费检查<",
        ">定时<",
        "当天 12 次定时检查",
        "<span class=\"badge ok\">11</span>",
        "<span class=\"badge bad\">1</span>",
        "最低 239 · 最高 250",
        ">239<",
        ">—<",
    ] {
        assert!(day.contains(cell), "{cell}: {day}");
    }
    // Its link lists that day's checks of that key, one row each (no JavaScript needed) …
    let each = link_to(day, "当天 12 次定时检查");
    assert_eq!(
        each,
        format!(
            "/history?key={}&from=2026-03-02&to=2026-03-02&kind=check&source=schedule&checks=each",
            main.0
        )
    );
    let listed = alice.get(&each).await;
    assert_eq!(listed.status, Status::Ok);
    let mut newest_first = main_day.clone();
    newest_first.reverse();
    assert_eq!(listed.run_ids(), newest_first);
    assert_eq!(listed.body.matches(" class=\"day\"").count(), 0);
    assert!(
        listed
            .body
            .contains("<option value=\"each\" selected>逐条列出</option>")
    );
    // … and each check keeps its own page.
    let detail = alice.get(&format!("/history/{}", main_day[3])).await;
    assert_eq!(detail.status, Status::Ok);
    assert!(detail.body.contains("定时检查"), "{}", detail.body);

    // Kind, source and status filters.
    assert_eq!(
        ids(&alice, "kind=probe").await,
        sorted(&[web, web_later, api])
    );
    assert_eq!(
        ids(&alice, "kind=check").await,
        sorted(&[main_day[11], spare_day[4], next_day[2]])
    );
    assert_eq!(ids(&alice, "source=API").await, [api], "any case");
    assert_eq!(ids(&alice, "source=web").await, sorted(&[web, web_later]));
    assert_eq!(
        ids(&alice, "source=schedule&kind=check").await,
        sorted(&[main_day[11], spare_day[4], next_day[2]])
    );
    assert_eq!(
        ids(&alice, &format!("key={}&kind=check", main.0)).await,
        sorted(&[main_day[11], next_day[2]])
    );
    // Under a status filter a day stands on its newest check with that status.
    assert_eq!(ids(&alice, "status=failed").await, [main_day[4]]);
    let failed = alice.get("/history?status=failed").await;
    assert!(row_of(&failed, main_day[4]).contains("当天 12 次定时检查"));
    assert_eq!(
        ids(&alice, "status=ok").await,
        sorted(&[web, web_later, api, main_day[11], spare_day[4], next_day[2]])
    );
    // Each check on its own: every run.
    assert_eq!(ids(&alice, "checks=each").await.len(), 12 + 5 + 3 + 3);
    // The form says what was asked.
    let asked = alice
        .get("/history?kind=check&source=schedule&status=ok")
        .await;
    for option in [
        "<option value=\"check\" selected>",
        "<option value=\"schedule\" selected>",
        "<option value=\"ok\" selected>",
    ] {
        assert!(asked.body.contains(option), "{option}");
    }
}

fn sorted(ids: &[i64]) -> Vec<i64> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids
}

#[tokio::test]
async fn kind_source_and_status_ride_along_in_the_page_links() {
    let site = HistorySite::new().await;
    let alice = site.user("alice").await;
    let mut ids = Vec::new();
    for i in 0..70 {
        let mut run = Run::new(alice.id, MARCH_2_BJ + i * 60);
        run.source = if i % 2 == 0 { Source::Api } else { Source::Web };
        ids.push((i, site.insert(&run)));
    }
    let api: Vec<i64> = ids
        .iter()
        .rev()
        .filter(|(i, _)| i % 2 == 0)
        .map(|(_, id)| *id)
        .collect();
    let filters = "kind=probe&source=api&status=ok&checks=each";
    let first = alice.get(&format!("/history?{filters}")).await;
    assert_eq!(first.run_ids(), api[..api.len().min(50)]);
    assert!(api.len() < 50, "one page: {}", api.len());

    // A full page of API runs: the older link keeps every filter.
    for i in 70..110 {
        let mut run = Run::new(alice.id, MARCH_2_BJ + i * 60);
        run.source = Source::Api;
        site.insert(&run);
    }
    let first = alice.get(&format!("/history?{filters}")).await;
    let older = first.rel_link("next").expect("an older page");
    assert!(
        older.starts_with(&format!("/history?{filters}&before=")),
        "{older}"
    );
    let second = alice.get(&older).await;
    let newer = second.rel_link("prev").expect("a newer page");
    assert!(
        newer.starts_with(&format!("/history?{filters}&after=")),
        "{newer}"
    );
    assert_eq!(alice.get(&newer).await.run_ids(), first.run_ids());
    // The export links keep the filters, not how checks are shown (an export lists each run).
    assert!(
        first.body.contains(
            "href=\"/history/export?format=csv&#38;kind=probe&#38;source=api&#38;status=ok\""
        ),
        "{}",
        first.body
    );
}

#[tokio::test]
async fn a_part_of_a_model_id_in_any_case_keeps_the_other_filters() {
    let site = HistorySite::new().await;
    let alice = site.user("alice").await;
    let key = save_key(&alice, "主账号").await;
    const FLAG: &str = "FlagAlpha/Llama3-Chinese-8B-Instruct";
    let flag_with_key = site.insert(
        &Run::new(alice.id, MARCH_2_BJ)
            .key(key, "主账号")
            .results(vec![ok(OTHER_MODEL, [1, 1, 1, 1]), ok(FLAG, [1, 1, 1, 1])]),
    );
    let flag_pasted =
        site.insert(&Run::new(alice.id, MARCH_2_BJ + 10).results(vec![ok(FLAG, [1, 1, 1, 1])]));
    let qwen_with_key = site.insert(&Run::new(alice.id, MARCH_2_BJ + 20).key(key, "主账号"));

    assert_eq!(
        ids(&alice, "model=flag").await,
        [flag_with_key, flag_pasted]
    );
    // Upper case, a part of the id, and the key filter kept.
    let page = alice.get(&format!("/history?key={key}&model=FLAG")).await;
    assert_eq!(page.status, Status::Ok, "{}", page.body);
    assert_eq!(page.run_ids(), [flag_with_key]);
    assert!(
        page.body
            .contains(&format!("<option value=\"{key}\" selected>"))
    );
    assert!(page.body.contains("value=\"FLAG\""));
    // A part of two ids: each run once, newest first.
    assert_eq!(
        alice.get("/history?model=INSTRUCT").await.run_ids(),
        [qwen_with_key, flag_pasted, flag_with_key]
    );
    // A part no stored id contains: no runs, said so, not an error.
    let none = alice
        .get(&format!("/history?key={key}&model=mistral"))
        .await;
    assert_eq!(none.status, Status::Ok);
    assert!(none.body.contains("没有符合筛选条件的记录"));

    // A part no id can contain is refused with words, and the key filter stays chosen.
    let refused = alice
        .get(&format!("/history?key={key}&model=qwen%203"))
        .await;
    assert_eq!(refused.status, Status::BadRequest);
    assert!(
        refused
            .body
            .contains("筛选条件无效：模型（填模型 ID 或其中一段")
    );
    assert!(
        refused
            .body
            .contains(&format!("<option value=\"{key}\" selected>"))
    );
    assert!(refused.body.contains("value=\"qwen 3\""));
    assert!(refused.run_ids().is_empty());

    // A part in more ids than a list can stand for: asked to type more, the key kept.
    let many: Vec<ModelResult> = (0..=64)
        .map(|i| ok(&format!("owner/many-{i:02}"), [1, 1, 1, 1]))
        .collect();
    site.insert(&Run::new(alice.id, MARCH_2_BJ + 30).results(many));
    let vague = alice
        .get(&format!("/history?key={key}&model=owner%2Fmany"))
        .await;
    assert_eq!(vague.status, Status::BadRequest, "{}", vague.body);
    assert!(
        vague
            .body
            .contains("有超过 64 个模型 ID 包含“owner/many”，请多输入几个字再筛选。"),
        "{}",
        vague.body
    );
    assert!(
        vague
            .body
            .contains(&format!("<option value=\"{key}\" selected>"))
    );
    let export = alice
        .get("/history/export?format=csv&model=owner%2Fmany")
        .await;
    assert_eq!(export.status, Status::BadRequest);
    assert_eq!(
        alice
            .get("/history?model=owner%2Fmany-0")
            .await
            .run_ids()
            .len(),
        1,
        "ten ids are fine"
    );
}

#[tokio::test]
async fn the_csv_counts_each_runs_spend_once_and_says_the_balance_before_and_after() {
    let site = HistorySite::new().await;
    let alice = site.user("alice").await;
    let key = save_key(&alice, "主账号").await;
    let three = ["a/one", "b/two", "c/three"];
    site.insert(&probe(alice.id, MARCH_2_BJ, 250.0, 246.5, &three).key(key, "主账号"));
    site.insert(&probe(alice.id, MARCH_2_BJ + 60, 246.5, 244.0, &three[..2]));
    site.insert(&check(
        alice.id,
        (key, "主账号"),
        MARCH_2_BJ + 120,
        Some(244.0),
    ));
    let mut api = probe(alice.id, MARCH_2_BJ + 180, 244.0, 243.5, &three[..1]);
    api.source = Source::Api;
    site.insert(&api);

    let csv = alice.get("/history/export?format=csv").await;
    assert_eq!(csv.status, Status::Ok);
    let records = parse_csv(&csv.body['\u{FEFF}'.len_utf8()..]);
    let header = &records[0];
    let column = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name}: {header:?}"))
    };
    let spent = column("本次消耗魔粒（每次查询只记在它的第一行）");
    let (before, after) = (column("可用魔粒（查询前）"), column("可用魔粒（查询后）"));
    let (run_id, source) = (column("记录编号"), column("来源"));
    // One line a model row, and one for the check, which has none.
    assert_eq!(records.len(), 1 + 3 + 2 + 1 + 1);
    let total: f64 = records[1..]
        .iter()
        .map(|r| r[spent].parse::<f64>().unwrap_or(0.0))
        .sum();
    let runs_spent = 3.5 + 2.5 + 0.5;
    assert!((total - runs_spent).abs() < 1e-9, "{total} != {runs_spent}");
    // Newest first: the API probe, the check, then the others; what a run spent is on its
    // first line, the balance before and after on each.
    let lines: Vec<(&str, &str, &str, &str, &str)> = records[1..]
        .iter()
        .map(|r| {
            (
                r[run_id].as_str(),
                r[source].as_str(),
                r[before].as_str(),
                r[after].as_str(),
                r[spent].as_str(),
            )
        })
        .collect();
    let id = |n: usize| lines[n].0;
    assert_eq!(
        lines,
        [
            (id(0), "API", "244", "243.5", "0.5"),
            (id(1), "定时", "", "244", ""),
            (id(2), "网页", "246.5", "244", "2.5"),
            (id(2), "网页", "246.5", "244", ""),
            (id(4), "网页", "250", "246.5", "3.5"),
            (id(4), "网页", "250", "246.5", ""),
            (id(4), "网页", "250", "246.5", ""),
        ]
    );
    // The JSON export still carries one record a run, with its spend and both balances.
    let json: Value = serde_json::from_str(&alice.get("/history/export?format=json").await.body)
        .expect("the export parses");
    let runs = json.as_array().unwrap();
    assert_eq!(runs.len(), 4);
    let json_total: f64 = runs.iter().filter_map(|r| r["points_spent"].as_f64()).sum();
    assert!((json_total - runs_spent).abs() < 1e-9);
    assert_eq!(runs[3]["balance_before"]["available"], 250.0);
    assert_eq!(runs[3]["balance"]["available"], 246.5);
    assert_eq!(runs[3]["results"].as_array().unwrap().len(), 3);
    assert_eq!(runs[1]["kind"], "check");
    // The export takes the new filters too.
    let probes = alice.get("/history/export?format=csv&kind=probe").await;
    assert_eq!(
        parse_csv(&probes.body['\u{FEFF}'.len_utf8()..]).len(),
        1 + 6
    );
    for query in ["kind=nope", "source=page", "status=good"] {
        let answer = alice
            .get(&format!("/history/export?format=csv&{query}"))
            .await;
        assert_eq!(answer.status, Status::BadRequest, "{query}");
        assert!(answer.body.contains("筛选条件无效"), "{query}");
    }
}

#[tokio::test]
async fn the_api_lists_every_run_filtered_by_kind_source_and_status() {
    let site = HistorySite::new().await;
    let alice = site.user("alice").await;
    let key = (save_key(&alice, "主账号").await, "主账号");
    let checks: Vec<i64> = (0..3)
        .map(|i| site.insert(&check(alice.id, key, MARCH_2_BJ + i * 300, Some(100.0))))
        .collect();
    let failed = site.insert(&check(alice.id, key, MARCH_2_BJ + 1000, None));
    let web = site.insert(&Run::new(alice.id, MARCH_2_BJ + 2000));
    let token = alice.create_token("script").await;
    let listed = |json: &Value| -> Vec<i64> {
        json["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_i64().unwrap())
            .collect()
    };
    for (query, expected) in [
        ("", vec![web, failed, checks[2], checks[1], checks[0]]),
        ("?kind=check", vec![failed, checks[2], checks[1], checks[0]]),
        (
            "?source=schedule&status=ok",
            vec![checks[2], checks[1], checks[0]],
        ),
        ("?status=failed", vec![failed]),
        ("?kind=probe&source=web", vec![web]),
        ("?source=api", vec![]),
    ] {
        let answer = api_get(&alice.client, Some(&token), &format!("/api/history{query}")).await;
        assert_eq!(answer.status, Status::Ok, "{query}: {}", answer.body);
        assert_eq!(listed(&answer.json()), expected, "{query}");
    }
    // Exact values, each at most once; the envelope says what to fix.
    for (query, words) in [
        ("kind=CHECK", "kind must be probe or check"),
        ("kind=probe&kind=check", "kind must be probe or check"),
        // A census is stored as a probe run.
        ("kind=census", "kind must be probe or check"),
        ("source=page", "source must be web, api or schedule"),
        ("status=", "status must be ok or failed"),
    ] {
        let answer = crate::harness::http::get_with(
            &alice.client,
            &format!("/api/history?{query}"),
            &[
                ("Authorization", &format!("Bearer {token}")),
                ("Accept-Language", "en"),
            ],
        )
        .await;
        assert_eq!(
            answer.status,
            Status::BadRequest,
            "{query}: {}",
            answer.body
        );
        let json = answer.json();
        assert_eq!(json["success"], false);
        assert!(
            json["message"].as_str().unwrap().contains(words),
            "{query}: {json}"
        );
    }
}
