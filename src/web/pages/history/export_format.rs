//! The two export formats: CSV (UTF-8 with a BOM so Excel reads it, cells a spreadsheet cannot
//! evaluate) and a JSON array of runs. No key (not even masked) is ever written: runs carry only
//! the key's label.

use rocket::http::ContentType;
use serde::Serialize;

use crate::clock;
use crate::db::history::{RunSummary, StoredResult};
use crate::i18n::{self, Lang};
use crate::ids::RunId;
use crate::modelscope::{ErrorCode, ModelResult, PriceSource, Site};
use crate::runs::calls_left::{CallsLeft, QuotaSource};
use crate::runs::history::{RunKind, Source};
use crate::runs::judge::Unclean;
use crate::web::kit::status::ResultStatus;

crate::closed_set! {
    /// An export format, as `?format=` names it and its file ends.
    pub enum Format {
        Csv, Json,
    }
}

impl Format {
    pub fn extension(self) -> &'static str {
        self.as_str()
    }

    pub fn content_type(self) -> ContentType {
        match self {
            Self::Csv => ContentType::new("text", "csv").with_params(("charset", "utf-8")),
            Self::Json => ContentType::JSON,
        }
    }

    /// What comes before the first run: the BOM (so Excel reads UTF-8) and the header line in
    /// the reader's language, or the opening bracket.
    pub fn prefix(self, lang: Lang) -> Vec<u8> {
        match self {
            Self::Csv => {
                let mut out = "\u{FEFF}".as_bytes().to_vec();
                let header = CSV_COLUMNS
                    .iter()
                    .map(|column| i18n::text(lang, &format!("csv-{column}")))
                    .collect();
                write_csv_records(&mut out, [header]);
                out
            }
            Self::Json => b"[".to_vec(),
        }
    }

    pub fn suffix(self) -> Vec<u8> {
        match self {
            Self::Csv => Vec::new(),
            Self::Json => b"\n]\n".to_vec(),
        }
    }

    /// Appends one run; `first` tells JSON whether a separator is due. CSV status words are in
    /// `lang`; JSON carries codes only.
    pub fn write_run(
        self,
        out: &mut Vec<u8>,
        run: &RunSummary,
        rows: &[StoredResult],
        first: bool,
        lang: Lang,
    ) {
        match self {
            Self::Csv => write_csv_run(out, run, rows, lang),
            Self::Json => {
                out.extend_from_slice(if first { b"\n" } else { b",\n" });
                // Serializing plain strings and numbers into a Vec cannot fail.
                let _ = serde_json::to_writer(&mut *out, &RunRecord::new(run, rows));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// CSV

/// The columns, by the id of their heading (`csv-<column>` in `locales/<lang>/history.ftl`;
/// the time's heading names its zone, Beijing time). One line a model row (a run without
/// rows has one line); the run's columns repeat on each line but what it spent, which is on
/// its first line only, so the column sums to what the runs spent.
pub const CSV_COLUMNS: [&str; 29] = [
    "time",
    "query_id",
    "key_label",
    "preset",
    "model",
    "request_limit",
    "request_remaining",
    "model_request_limit",
    "model_request_remaining",
    "status",
    "error_code",
    "status_text",
    "error_message",
    "latency_ms",
    "quota_source",
    "points_per_call",
    "price_source",
    "calls_left",
    "calls_left_min",
    "calls_left_max",
    "kind",
    "source",
    "balance_before",
    "balance_available",
    "points_spent",
    "checked",
    "price_candidates",
    "model_month_request_limit",
    "model_month_request_remaining",
];

/// A leading `=`, `+`, `-`, `@` (or tab / carriage return) gets a `'`, so a spreadsheet shows
/// the text instead of evaluating it.
fn defuse(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}

/// CSV lines (RFC 4180 quoting by the `csv` crate, CRLF), appended to `out`.
fn write_csv_records(out: &mut Vec<u8>, records: impl IntoIterator<Item = Vec<String>>) {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(&mut *out);
    for record in records {
        // Writing strings into a Vec cannot fail.
        let _ = writer.write_record(&record);
    }
    let _ = writer.flush();
}

fn csv_number<T: ToString>(value: Option<T>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

fn write_csv_run(out: &mut Vec<u8>, run: &RunSummary, rows: &[StoredResult], lang: Lang) {
    let time = clock::seconds(run.started_at);
    let key_label = defuse(run.key_label.as_deref().unwrap_or(""));
    let preset = defuse(run.preset_name.as_deref().unwrap_or(""));
    let available = run.balance.available;
    let kind = i18n::text(
        lang,
        match (run.kind, run.census) {
            (RunKind::Check, _) => "history-kind-check",
            (_, true) => "census-title",
            _ => "detail-kind-probe",
        },
    );
    let source = match run.source {
        Source::Web => i18n::text(lang, "history-source-web"),
        Source::Api => "API".to_owned(),
        Source::Schedule => i18n::text(lang, "history-source-schedule"),
    };
    // The run's own columns, after a line's model columns; what it spent on its first line.
    let run_columns = |first: bool| {
        [
            kind.clone(),
            source.clone(),
            csv_number(run.before.available),
            csv_number(available),
            csv_number(run.points_spent.filter(|_| first)),
        ]
    };
    let mut records: Vec<Vec<String>> = rows
        .iter()
        .enumerate()
        .map(|(index, row)| {
            let result = &row.result;
            let quota = result.quota;
            let left = calls_left(result, available);
            let mut record = vec![
                time.clone(),
                run.id.to_string(),
                key_label.clone(),
                preset.clone(),
                defuse(&result.model),
                csv_number(quota.request_limit),
                csv_number(quota.request_remaining),
                csv_number(quota.model_request_limit),
                csv_number(quota.model_request_remaining),
                csv_number(result.status),
                defuse(result.error_code().map_or("", ErrorCode::as_str)),
                ResultStatus::of_row(result.error_code(), result.checked).words(&lang),
                defuse(
                    result
                        .failure
                        .as_ref()
                        .and_then(|f| f.detail.as_deref())
                        .unwrap_or(""),
                ),
                result.latency_ms.to_string(),
                left.source.map_or("", QuotaSource::as_str).to_owned(),
                csv_number(result.price.map(|p| p.points)),
                result.price.map_or("", |p| p.source.as_str()).to_owned(),
                csv_number(left.exact),
                csv_number(left.range.map(|r| r.0)),
                csv_number(left.range.map(|r| r.1)),
            ];
            record.extend(run_columns(index == 0));
            record.extend([
                result.checked.to_string(),
                result
                    .candidates
                    .as_ref()
                    .map(|c| c.iter().map(f64::to_string).collect::<Vec<_>>().join(" "))
                    .unwrap_or_default(),
                csv_number(quota.model_month_request_limit),
                csv_number(quota.model_month_request_remaining),
            ]);
            record
        })
        .collect();
    if records.is_empty() {
        // A run without model rows: one line, the balance read's outcome in the result
        // columns (a balance read is a check made, or its failure).
        let code = run.balance.error;
        let mut record = vec![time, run.id.to_string(), key_label, preset];
        record.extend(std::iter::repeat_n(String::new(), 6));
        record.push(code.map_or("", ErrorCode::as_str).to_owned());
        record.push(ResultStatus::of_row(code, true).words(&lang));
        record.push(String::new());
        record.push(run.duration_ms.max(0).to_string());
        record.extend(std::iter::repeat_n(String::new(), 6));
        record.extend(run_columns(true));
        record.extend(std::iter::repeat_n(String::new(), 4));
        records.push(record);
    }
    write_csv_records(out, records);
}

/// A row's "calls left", from the balance its run ended with.
fn calls_left(result: &ModelResult, available: Option<f64>) -> CallsLeft {
    CallsLeft::of_row(result, available)
}

// ---------------------------------------------------------------------------------------------
// JSON

#[derive(Serialize)]
struct RunRecord<'a> {
    id: RunId,
    /// RFC 3339 in Beijing time.
    time: String,
    started_at: i64,
    key_label: Option<&'a str>,
    preset_name: Option<&'a str>,
    source: Source,
    kind: RunKind,
    site: Site,
    duration_ms: i64,
    model_count: i64,
    ok_count: i64,
    failed_count: i64,
    balance: BalanceRecord,
    balance_before: BalanceRecord,
    points_spent: Option<f64>,
    /// A price census.
    census: bool,
    /// Why the difference taught nothing (`shared`, `outside`, `unsettled`).
    points_note: Option<&'a str>,
    shared_points_spent: Option<f64>,
    results: Vec<ResultRecord<'a>>,
}

#[derive(Serialize)]
struct BalanceRecord {
    total: Option<f64>,
    available: Option<f64>,
    frozen: Option<f64>,
    error: Option<ErrorCode>,
}

#[derive(Serialize)]
struct ResultRecord<'a> {
    model: &'a str,
    request_limit: Option<i64>,
    request_remaining: Option<i64>,
    model_request_limit: Option<i64>,
    model_request_remaining: Option<i64>,
    status: Option<u16>,
    error_code: Option<ErrorCode>,
    error_message: Option<&'a str>,
    latency_ms: u64,
    quota_source: Option<QuotaSource>,
    points_per_call: Option<f64>,
    price_source: Option<PriceSource>,
    calls_left: Option<i64>,
    calls_left_range: Option<[i64; 2]>,
    checked: bool,
    price_candidates: Option<&'a [f64]>,
    model_month_request_limit: Option<i64>,
    model_month_request_remaining: Option<i64>,
}

impl<'a> RunRecord<'a> {
    fn new(run: &'a RunSummary, rows: &'a [StoredResult]) -> Self {
        Self {
            id: run.id,
            time: clock::rfc3339(run.started_at),
            started_at: run.started_at,
            key_label: run.key_label.as_deref(),
            preset_name: run.preset_name.as_deref(),
            source: run.source,
            kind: run.kind,
            site: run.site,
            duration_ms: run.duration_ms,
            model_count: run.model_count,
            ok_count: run.ok_count,
            failed_count: run.failed_count,
            balance: BalanceRecord {
                total: run.balance.total,
                available: run.balance.available,
                frozen: run.balance.frozen,
                error: run.balance.error,
            },
            balance_before: BalanceRecord {
                total: run.before.total,
                available: run.before.available,
                frozen: run.before.frozen,
                error: None,
            },
            points_spent: run.points_spent,
            census: run.census,
            points_note: run.unclean.map(Unclean::as_str),
            shared_points_spent: run.shared_points_spent,
            results: rows
                .iter()
                .map(|row| {
                    let result = &row.result;
                    let left = calls_left(result, run.balance.available);
                    ResultRecord {
                        model: &result.model,
                        request_limit: result.quota.request_limit,
                        request_remaining: result.quota.request_remaining,
                        model_request_limit: result.quota.model_request_limit,
                        model_request_remaining: result.quota.model_request_remaining,
                        status: result.status,
                        error_code: result.error_code(),
                        error_message: result.failure.as_ref().and_then(|f| f.detail.as_deref()),
                        latency_ms: result.latency_ms,
                        quota_source: left.source,
                        points_per_call: result.price.map(|p| p.points),
                        price_source: result.price.map(|p| p.source),
                        calls_left: left.exact,
                        calls_left_range: left.range.map(|(low, high)| [low, high]),
                        checked: result.checked,
                        price_candidates: result.candidates.as_deref(),
                        model_month_request_limit: result.quota.model_month_request_limit,
                        model_month_request_remaining: result.quota.model_month_request_remaining,
                    }
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests;
