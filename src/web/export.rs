//! `/history/export?format=csv|json` with the `/history` filters.
//!
//! Streamed: a task reads the runs a chunk at a time through the keyset cursor and sends the
//! encoded bytes down a small channel, so memory stays flat however long the history is and a
//! client that goes away stops the reading. No key (not even masked) is ever written: runs carry
//! only the key's label.

use std::collections::HashMap;
use std::io::Cursor;

use futures::StreamExt;
use rocket::http::{ContentType, Header, Status};
use rocket::response::stream::ReaderStream;
use rocket::response::{self, Responder, Response};
use rocket::{Request, State, get};
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::sync::mpsc;

use super::history::{Filters, HistoryPage, HistoryQuery, beijing_today_compact, history_page};
use super::session::CurrentUser;
use super::view::{Notice, beijing};
use crate::db::history::{self as store, HistoryFilter, RunSummary, StoredResult};
use crate::db::{Db, DbError};

/// Runs read per database round trip.
pub const CHUNK_RUNS: i64 = 500;
/// Encoded chunks waiting for the client: a slow reader slows the reading, not the memory.
const CHANNEL_DEPTH: usize = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Json,
}

impl Format {
    pub fn parse(raw: Option<&str>) -> Option<Self> {
        match raw.map(|f| f.trim().to_ascii_lowercase()).as_deref() {
            Some("csv") => Some(Self::Csv),
            Some("json") => Some(Self::Json),
            _ => None,
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Json => "json",
        }
    }

    fn content_type(self) -> ContentType {
        match self {
            Self::Csv => ContentType::new("text", "csv").with_params(("charset", "utf-8")),
            Self::Json => ContentType::JSON,
        }
    }

    /// What comes before the first run: the BOM (so Excel reads UTF-8) and the header line,
    /// or the opening bracket.
    pub fn prefix(self) -> Vec<u8> {
        match self {
            Self::Csv => {
                let mut out = "\u{FEFF}".to_owned();
                out.push_str(&CSV_HEADER.join(","));
                out.push_str("\r\n");
                out.into_bytes()
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

    /// Appends one run; `first` tells JSON whether a separator is due.
    pub fn write_run(
        self,
        out: &mut Vec<u8>,
        run: &RunSummary,
        rows: &[StoredResult],
        first: bool,
    ) {
        match self {
            Self::Csv => write_csv_run(out, run, rows),
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

pub const CSV_HEADER: [&str; 13] = [
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
    "error_message",
    "latency_ms",
];

/// A text cell: a leading `=`, `+`, `-`, `@` (or tab / carriage return) gets a `'` so a
/// spreadsheet shows it instead of evaluating it; then RFC 4180 quoting.
pub fn csv_text(text: &str) -> String {
    let defused = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if defused.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", defused.replace('"', "\"\""))
    } else {
        defused
    }
}

fn csv_number<T: ToString>(value: Option<T>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

/// `2026-11-28 23:05:09`, Beijing time.
pub fn beijing_seconds(unix_secs: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    OffsetDateTime::from_unix_timestamp(unix_secs)
        .ok()
        .and_then(|t| t.to_offset(beijing()).format(&format).ok())
        .unwrap_or_default()
}

fn write_csv_run(out: &mut Vec<u8>, run: &RunSummary, rows: &[StoredResult]) {
    let time = beijing_seconds(run.started_at);
    let key_label = csv_text(run.key_label.as_deref().unwrap_or(""));
    let preset = csv_text(run.preset_name.as_deref().unwrap_or(""));
    for row in rows {
        let result = &row.result;
        let quota = result.quota;
        let cells = [
            time.clone(),
            run.id.to_string(),
            key_label.clone(),
            preset.clone(),
            csv_text(&result.model),
            csv_number(quota.request_limit),
            csv_number(quota.request_remaining),
            csv_number(quota.model_request_limit),
            csv_number(quota.model_request_remaining),
            csv_number(result.status),
            csv_text(result.error_code().map_or("", |c| c.as_str())),
            csv_text(
                result
                    .failure
                    .as_ref()
                    .and_then(|f| f.detail.as_deref())
                    .unwrap_or(""),
            ),
            result.latency_ms.to_string(),
        ];
        out.extend_from_slice(cells.join(",").as_bytes());
        out.extend_from_slice(b"\r\n");
    }
}

// ---------------------------------------------------------------------------------------------
// JSON

#[derive(Serialize)]
struct RunRecord<'a> {
    id: i64,
    /// RFC 3339 in Beijing time.
    time: String,
    started_at: i64,
    key_label: Option<&'a str>,
    preset_name: Option<&'a str>,
    source: &'a str,
    duration_ms: i64,
    model_count: i64,
    ok_count: i64,
    failed_count: i64,
    balance: BalanceRecord<'a>,
    results: Vec<ResultRecord<'a>>,
}

#[derive(Serialize)]
struct BalanceRecord<'a> {
    total: Option<f64>,
    available: Option<f64>,
    frozen: Option<f64>,
    error: Option<&'a str>,
}

#[derive(Serialize)]
struct ResultRecord<'a> {
    model: &'a str,
    request_limit: Option<i64>,
    request_remaining: Option<i64>,
    model_request_limit: Option<i64>,
    model_request_remaining: Option<i64>,
    status: Option<u16>,
    error_code: Option<&'static str>,
    error_message: Option<&'a str>,
    latency_ms: u64,
}

impl<'a> RunRecord<'a> {
    fn new(run: &'a RunSummary, rows: &'a [StoredResult]) -> Self {
        let time = OffsetDateTime::from_unix_timestamp(run.started_at)
            .ok()
            .and_then(|t| t.to_offset(beijing()).format(&Rfc3339).ok())
            .unwrap_or_default();
        Self {
            id: run.id,
            time,
            started_at: run.started_at,
            key_label: run.key_label.as_deref(),
            preset_name: run.preset_name.as_deref(),
            source: &run.source,
            duration_ms: run.duration_ms,
            model_count: run.model_count,
            ok_count: run.ok_count,
            failed_count: run.failed_count,
            balance: BalanceRecord {
                total: run.balance.total,
                available: run.balance.available,
                frozen: run.balance.frozen,
                error: run.balance.error.as_deref(),
            },
            results: rows
                .iter()
                .map(|row| {
                    let result = &row.result;
                    ResultRecord {
                        model: &result.model,
                        request_limit: result.quota.request_limit,
                        request_remaining: result.quota.request_remaining,
                        model_request_limit: result.quota.model_request_limit,
                        model_request_remaining: result.quota.model_request_remaining,
                        status: result.status,
                        error_code: result.error_code().map(|c| c.as_str()),
                        error_message: result.failure.as_ref().and_then(|f| f.detail.as_deref()),
                        latency_ms: result.latency_ms,
                    }
                })
                .collect(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The stream

enum Stop {
    /// The client went away: nothing more to do.
    Gone,
    Db(DbError),
}

impl From<DbError> for Stop {
    fn from(error: DbError) -> Self {
        Self::Db(error)
    }
}

async fn send(tx: &mpsc::Sender<Vec<u8>>, bytes: Vec<u8>) -> Result<(), Stop> {
    if bytes.is_empty() {
        return Ok(());
    }
    tx.send(bytes).await.map_err(|_| Stop::Gone)
}

/// Reads the user's runs newest first, `CHUNK_RUNS` at a time, and sends them encoded.
async fn produce(
    db: &Db,
    user_id: i64,
    filter: &HistoryFilter,
    format: Format,
    tx: &mpsc::Sender<Vec<u8>>,
) -> Result<(), Stop> {
    send(tx, format.prefix()).await?;
    let mut before: Option<(i64, i64)> = None;
    let mut first = true;
    loop {
        let chunk_filter = filter.clone();
        let (runs, results) = db
            .run(move |conn| {
                let runs = store::list_runs(conn, user_id, &chunk_filter, before, 0, CHUNK_RUNS)?;
                let ids: Vec<i64> = runs.iter().map(|run| run.id).collect();
                let results = store::results_for_runs(conn, user_id, &ids)?;
                Ok((runs, results))
            })
            .await?;
        let Some(last) = runs.last() else {
            break;
        };
        before = Some((last.started_at, last.id));
        let mut by_run: HashMap<i64, Vec<StoredResult>> = results.into_iter().collect();
        let mut out = Vec::new();
        for run in &runs {
            let rows = by_run.remove(&run.id).unwrap_or_default();
            format.write_run(&mut out, run, &rows, first);
            first = false;
        }
        send(tx, out).await?;
        if (runs.len() as i64) < CHUNK_RUNS {
            break;
        }
    }
    send(tx, format.suffix()).await
}

/// Starts the reading task; its output arrives on the returned channel.
fn spawn_export(
    db: Db,
    user_id: i64,
    filter: HistoryFilter,
    format: Format,
) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel(CHANNEL_DEPTH);
    tokio::spawn(async move {
        match produce(&db, user_id, &filter, format, &tx).await {
            Ok(()) | Err(Stop::Gone) => {}
            // The status line is long gone: the file simply ends early (and, for JSON, does
            // not parse), which is the honest signal.
            Err(Stop::Db(error)) => tracing::error!(%error, "history export failed"),
        }
    });
    rx
}

/// The file: streamed bytes, a content type and an attachment name.
pub struct Download {
    chunks: mpsc::Receiver<Vec<u8>>,
    format: Format,
    filename: String,
}

impl<'r> Responder<'r, 'static> for Download {
    fn respond_to(self, _: &'r Request<'_>) -> response::Result<'static> {
        let stream = futures::stream::unfold(self.chunks, |mut rx| async move {
            rx.recv().await.map(|chunk| (chunk, rx))
        })
        .map(Cursor::new);
        Response::build()
            .header(self.format.content_type())
            .header(Header::new(
                "Content-Disposition",
                format!("attachment; filename=\"{}\"", self.filename),
            ))
            .header(Header::new("Cache-Control", "no-store"))
            .streamed_body(ReaderStream::from(stream))
            .ok()
    }
}

#[get("/history/export?<query..>")]
pub async fn export(
    user: CurrentUser,
    db: &State<Db>,
    query: HistoryQuery,
) -> Result<Download, Result<(Status, HistoryPage), Status>> {
    let Some(format) = Format::parse(query.format.as_deref()) else {
        return Err(history_page(&user, db, &query, Some(Notice::new("bad_export_format"))).await);
    };
    let filters = match Filters::parse(&query) {
        Ok(filters) => filters,
        Err(_) => return Err(history_page(&user, db, &query, None).await),
    };
    Ok(Download {
        chunks: spawn_export(
            db.inner().clone(),
            user.0.user_id,
            filters.to_store(),
            format,
        ),
        format,
        filename: format!(
            "modelscope-history-{}.{}",
            beijing_today_compact(),
            format.extension()
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::history::StoredBalance;
    use crate::modelscope::{ErrorCode, Failure, Quota};
    use crate::runs::engine::ModelResult;

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
        assert_eq!(Format::parse(Some("csv")), Some(Format::Csv));
        assert_eq!(Format::parse(Some("JSON")), Some(Format::Json));
        assert_eq!(Format::parse(Some("xlsx")), None);
        assert_eq!(Format::parse(None), None);
        assert!(
            Format::Csv
                .prefix()
                .starts_with("\u{FEFF}time,query_id,".as_bytes())
        );
    }

    fn run() -> (RunSummary, Vec<StoredResult>) {
        let summary = RunSummary {
            id: 7,
            api_key_id: Some(1),
            key_label: Some("主, \"账号\"".into()),
            preset_id: None,
            preset_name: None,
            source: "web".into(),
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
        };
        let rows = vec![
            StoredResult {
                query_id: 7,
                started_at: 1_767_225_605,
                result: ModelResult {
                    model: "Qwen/Qwen2.5-7B".into(),
                    quota: Quota {
                        request_limit: Some(2000),
                        request_remaining: Some(1999),
                        model_request_limit: Some(500),
                        model_request_remaining: Some(499),
                    },
                    status: Some(200),
                    failure: None,
                    latency_ms: 12,
                },
            },
            StoredResult {
                query_id: 7,
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
                },
            },
        ];
        (summary, rows)
    }

    #[test]
    fn csv_lines() {
        let (summary, rows) = run();
        let mut out = Vec::new();
        Format::Csv.write_run(&mut out, &summary, &rows, true);
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(
            lines[0],
            "2026-01-01 08:00:05,7,\"主, \"\"账号\"\"\",,Qwen/Qwen2.5-7B,2000,1999,500,499,200,,,12"
        );
        assert_eq!(
            lines[1],
            "2026-01-01 08:00:05,7,\"主, \"\"账号\"\"\",,a/b,,,,,500,upstream_error,'=cmd|' /C calc'!A0,3"
        );
        assert_eq!(lines[2], "");
    }

    #[test]
    fn json_items_are_joined() {
        let (summary, rows) = run();
        let mut out = Format::Json.prefix();
        Format::Json.write_run(&mut out, &summary, &rows, true);
        Format::Json.write_run(&mut out, &summary, &rows, false);
        out.extend(Format::Json.suffix());
        let value: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let runs = value.as_array().unwrap();
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[0]["time"], "2026-01-01T08:00:05+08:00");
        assert_eq!(runs[0]["results"][1]["error_code"], "upstream_error");
        assert_eq!(runs[0]["results"][0]["model_request_remaining"], 499);
        assert_eq!(runs[0]["balance"]["available"], 9.5);
        // An empty export is still an array.
        let mut empty = Format::Json.prefix();
        empty.extend(Format::Json.suffix());
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&empty).unwrap(),
            serde_json::json!([])
        );
    }
}
