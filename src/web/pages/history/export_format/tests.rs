use super::*;
use crate::db::history::StoredBalance;
use crate::ids::{KeyId, RunId};
use crate::modelscope::ModelResult;
use crate::modelscope::{ErrorCode, Failure, Quota};
use crate::web::kit::params::choice;

/// One cell as the export writes it (a second, empty cell after it, since a lone empty
/// field is written as `""` to tell it from an empty line).
fn csv_text(text: &str) -> String {
    let mut out = Vec::new();
    write_csv_records(&mut out, [vec![defuse(text), String::new()]]);
    let line = String::from_utf8(out).unwrap();
    line.strip_suffix(",\r\n").unwrap_or(&line).to_owned()
}

#[test]
fn every_column_has_a_heading_in_both_languages() {
    for lang in Lang::ALL {
        let prefix = Format::Csv.prefix(lang);
        let text = String::from_utf8(prefix).unwrap();
        let line = text.trim_start_matches('\u{FEFF}').trim_end();
        let headings: Vec<&str> = line.split(',').collect();
        assert_eq!(headings.len(), CSV_COLUMNS.len(), "{line}");
        for (heading, column) in headings.iter().zip(CSV_COLUMNS) {
            assert!(i18n::has(lang, &format!("csv-{column}")), "{column}");
            assert!(!heading.is_empty(), "{column}");
        }
    }
    let zh = String::from_utf8(Format::Csv.prefix(Lang::Zh)).unwrap();
    assert!(zh.contains("北京时间"), "the time says its zone: {zh}");
}

#[test]
fn cells_are_quoted_and_defused() {
    assert_eq!(csv_text("plain"), "plain");
    assert_eq!(csv_text("中文预设"), "中文预设");
    assert_eq!(csv_text("a,b"), "\"a,b\"");
    assert_eq!(csv_text("say \"hi\""), "\"say \"\"hi\"\"\"");
    assert_eq!(csv_text("two\nlines"), "\"two\nlines\"");
    assert_eq!(csv_text("=1+1"), "'=1+1");
    assert_eq!(csv_text("+1"), "'+1");
    assert_eq!(csv_text("-2"), "'-2");
    assert_eq!(csv_text("@SUM(A1)"), "'@SUM(A1)");
    assert_eq!(
        csv_text("=HYPERLINK(\"x\",\"y\")"),
        "\"'=HYPERLINK(\"\"x\"\",\"\"y\"\")\""
    );
    assert_eq!(csv_text(""), "");
}

#[test]
fn formats() {
    let parse = choice::<Format>;
    assert_eq!(parse(Some("csv")), Some(Format::Csv));
    assert_eq!(parse(Some("JSON")), Some(Format::Json));
    assert_eq!(parse(Some("xlsx")), None);
    assert_eq!(parse(None), None);
    assert!(
        Format::Csv
            .prefix(Lang::En)
            .starts_with("\u{FEFF}Time (Beijing time UTC+8),Run id,".as_bytes())
    );
}

fn run() -> (RunSummary, Vec<StoredResult>) {
    let summary = RunSummary {
        id: RunId(7),
        api_key_id: Some(KeyId(1)),
        key_label: Some("主, \"账号\"".into()),
        preset_id: None,
        preset_name: None,
        source: Source::Web,
        // 2026-01-01 00:00:05 UTC
        started_at: 1_767_225_605,
        duration_ms: 1234,
        model_count: 2,
        ok_count: 1,
        failed_count: 1,
        balance: StoredBalance {
            total: Some(10.0),
            available: Some(9.5),
            frozen: Some(0.5),
            error: None,
        },
        kind: RunKind::Probe,
        site: Site::Cn,
        before: StoredBalance {
            available: Some(10.0),
            ..StoredBalance::default()
        },
        points_spent: Some(0.5),
        census: false,
        unclean: None,
        shared_points_spent: None,
        day: None,
    };
    let rows = vec![
        StoredResult {
            query_id: RunId(7),
            started_at: 1_767_225_605,
            result: ModelResult {
                model: "Qwen/Qwen2.5-7B".into(),
                quota: Quota {
                    request_limit: Some(2000),
                    request_remaining: Some(1999),
                    model_request_limit: Some(500),
                    model_request_remaining: Some(499),
                    ..Quota::default()
                },
                status: Some(200),
                failure: None,
                latency_ms: 12,
                price: None,
                candidates: None,
                checked: true,
            },
        },
        StoredResult {
            query_id: RunId(7),
            started_at: 1_767_225_605,
            result: ModelResult {
                model: "a/b".into(),
                quota: Quota::default(),
                status: Some(500),
                failure: Some(Failure::new(
                    ErrorCode::UpstreamError,
                    Some("=cmd|' /C calc'!A0".into()),
                )),
                latency_ms: 3,
                price: None,
                candidates: None,
                checked: true,
            },
        },
    ];
    (summary, rows)
}

#[test]
fn csv_lines() {
    let (summary, rows) = run();
    let mut out = Vec::new();
    Format::Csv.write_run(&mut out, &summary, &rows, true, Lang::Zh);
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.split("\r\n").collect();
    assert_eq!(
        lines[0],
        "2026-01-01 08:00:05,7,\"主, \"\"账号\"\"\",,Qwen/Qwen2.5-7B,2000,1999,500,499,200,,正常,,12,\
         headers,,,499,,,调用模型,网页,10,9.5,0.5,true,,,"
    );
    // What the run spent is on its first line only.
    assert_eq!(
        lines[1],
        "2026-01-01 08:00:05,7,\"主, \"\"账号\"\"\",,a/b,,,,,500,upstream_error,上游错误,'=cmd|' /C calc'!A0,3,\
         ,,,,,,调用模型,网页,10,9.5,,true,,,"
    );
    assert_eq!(lines[2], "");
}

#[test]
fn a_run_without_rows_is_one_line() {
    let (mut summary, _) = run();
    summary.kind = RunKind::Check;
    summary.source = Source::Schedule;
    summary.points_spent = None;
    summary.before = StoredBalance::default();
    let mut out = Vec::new();
    Format::Csv.write_run(&mut out, &summary, &[], true, Lang::En);
    let text = String::from_utf8(out).unwrap();
    assert_eq!(
        text,
        "2026-01-01 08:00:05,7,\"主, \"\"账号\"\"\",,,,,,,,,OK,,1234,,,,,,,\
         Free check,Schedule,,9.5,,,,,\r\n"
    );
    summary.balance = StoredBalance {
        error: Some(ErrorCode::InvalidKey),
        ..StoredBalance::default()
    };
    let mut out = Vec::new();
    Format::Csv.write_run(&mut out, &summary, &[], true, Lang::Zh);
    let line = String::from_utf8(out).unwrap();
    let cells: Vec<&str> = line.trim_end().split(',').collect();
    assert_eq!(
        cells.len(),
        CSV_COLUMNS.len() + 1,
        "the label holds a comma: {line}"
    );
    assert!(line.contains(",invalid_key,Key 无效,"), "{line}");
}

#[test]
fn json_items_are_joined() {
    let (summary, rows) = run();
    let mut out = Format::Json.prefix(Lang::Zh);
    Format::Json.write_run(&mut out, &summary, &rows, true, Lang::Zh);
    Format::Json.write_run(&mut out, &summary, &rows, false, Lang::Zh);
    out.extend(Format::Json.suffix());
    let value: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let runs = value.as_array().unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0]["time"], "2026-01-01T08:00:05+08:00");
    assert_eq!(runs[0]["results"][1]["error_code"], "upstream_error");
    assert_eq!(runs[0]["results"][0]["model_request_remaining"], 499);
    assert_eq!(runs[0]["balance"]["available"], 9.5);
    assert_eq!(runs[0]["results"][0]["quota_source"], "headers");
    assert_eq!(runs[0]["results"][0]["calls_left"], 499);
    assert_eq!(runs[0]["kind"], "probe");
    // An empty export is still an array.
    let mut empty = Format::Json.prefix(Lang::Zh);
    empty.extend(Format::Json.suffix());
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&empty).unwrap(),
        serde_json::json!([])
    );
}
