//! `/history`: stored runs, newest first, with filters; one run's results; delete; a model's
//! trend. Query parameters arrive as text and are parsed here, so a nonsense value is a 400
//! page that names the field, never a routing error.

use askama::Template;
use askama_web::WebTemplate;
use rocket::form::FromForm;
use rocket::http::Status;
use rocket::request::FlashMessage;
use rocket::response::{Flash, Redirect};
use rocket::{State, get, post};
use time::{Date, OffsetDateTime};

use super::auth::TokenOnlyForm;
use super::session::{Csrf, CurrentUser};
use super::trend::{self, Chart, Sample};
use super::view::{
    BalanceView, Layout, Notice, PointsView, ReportView, RowView, beijing, beijing_time, number,
    points,
};
use crate::db::history::{self as store, HistoryFilter, RunSummary, StoredBalance};
use crate::db::{Db, api_keys};
use crate::modelscope::ErrorCode;
use crate::modelscope::validate_model_id;

/// Runs on one page of `/history`.
pub const PAGE_SIZE: i64 = 50;
/// Rows drawn on a trend page.
pub const TREND_ROWS: i64 = 200;

// ---------------------------------------------------------------------------------------------
// Filters

/// The query string of `/history` and `/history/export`, as typed: every field is text, so
/// Rocket never refuses the request before we can say what is wrong.
#[derive(Debug, Default, FromForm)]
pub struct HistoryQuery {
    pub page: Option<String>,
    pub key: Option<String>,
    pub preset: Option<String>,
    pub model: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub format: Option<String>,
}

/// Filters that parsed: what to ask the store, and how to say it again in links.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters {
    pub key: Option<i64>,
    pub preset: Option<i64>,
    pub model: Option<String>,
    pub from: Option<Date>,
    pub to: Option<Date>,
}

fn bad(field: &str) -> Notice {
    Notice::new("bad_filter").with_name(field)
}

/// An empty field means "no filter" (a GET form sends every field).
fn present(raw: Option<&str>) -> Option<&str> {
    raw.map(str::trim).filter(|value| !value.is_empty())
}

fn parse_id(raw: Option<&str>, field: &str) -> Result<Option<i64>, Notice> {
    match present(raw) {
        None => Ok(None),
        Some(text) => match text.parse::<i64>() {
            Ok(id) if id > 0 => Ok(Some(id)),
            _ => Err(bad(field)),
        },
    }
}

fn parse_date(raw: Option<&str>, field: &str) -> Result<Option<Date>, Notice> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    match present(raw) {
        None => Ok(None),
        Some(text) => Date::parse(text, &format).map(Some).map_err(|_| bad(field)),
    }
}

/// 1-based; a page past the end is simply empty, a page that is not a page number is an error.
pub fn parse_page(raw: Option<&str>) -> Result<i64, Notice> {
    let Some(text) = present(raw) else {
        return Ok(1);
    };
    match text.parse::<i64>() {
        // The offset must fit in an i64.
        Ok(page) if (1..=i64::MAX / PAGE_SIZE).contains(&page) => Ok(page),
        _ => Err(bad("页码")),
    }
}

/// Midnight of `date` in Beijing, as unix seconds.
fn beijing_midnight(date: Date) -> i64 {
    date.midnight().assume_offset(beijing()).unix_timestamp()
}

impl Filters {
    pub fn parse(query: &HistoryQuery) -> Result<Self, Notice> {
        let key = parse_id(query.key.as_deref(), "Key")?;
        let preset = parse_id(query.preset.as_deref(), "预设")?;
        let model = match present(query.model.as_deref()) {
            None => None,
            Some(model) => {
                validate_model_id(model).map_err(|_| bad("模型"))?;
                Some(model.to_owned())
            }
        };
        let from = parse_date(query.from.as_deref(), "开始日期")?;
        let to = parse_date(query.to.as_deref(), "结束日期")?;
        if let (Some(from), Some(to)) = (from, to)
            && from > to
        {
            return Err(bad("开始日期晚于结束日期"));
        }
        if to.is_some_and(|to| to.next_day().is_none()) {
            return Err(bad("结束日期"));
        }
        Ok(Self {
            key,
            preset,
            model,
            from,
            to,
        })
    }

    /// The store's filter: `[from 00:00+08, to + 1 day 00:00+08)`.
    pub fn to_store(&self) -> HistoryFilter {
        HistoryFilter {
            api_key_id: self.key,
            preset_id: self.preset,
            model: self.model.clone(),
            from: self.from.map(beijing_midnight),
            to: self.to.and_then(Date::next_day).map(beijing_midnight),
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// `key=1&model=a%2Fb…` (no page), for links that keep the filters.
    pub fn query_string(&self) -> String {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        if let Some(key) = self.key {
            pairs.push(("key", key.to_string()));
        }
        if let Some(preset) = self.preset {
            pairs.push(("preset", preset.to_string()));
        }
        if let Some(model) = &self.model {
            pairs.push(("model", model.clone()));
        }
        if let Some(from) = self.from {
            pairs.push(("from", iso_date(from)));
        }
        if let Some(to) = self.to {
            pairs.push(("to", iso_date(to)));
        }
        pairs
            .into_iter()
            .map(|(name, value)| format!("{name}={}", encode(&value)))
            .collect::<Vec<_>>()
            .join("&")
    }
}

fn iso_date(date: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// Percent-encoding for a query value.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `path?query` with the filters, and `extra` (e.g. `page=2`) after them.
fn href(path: &str, filters: &str, extra: &str) -> String {
    let query: Vec<&str> = [filters, extra]
        .into_iter()
        .filter(|part| !part.is_empty())
        .collect();
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", query.join("&"))
    }
}

/// `850 ms`, `12.3 s`.
pub fn duration_text(ms: i64) -> String {
    if ms < 1000 {
        format!("{} ms", ms.max(0))
    } else {
        format!("{:.1} s", ms as f64 / 1000.0)
    }
}

// ---------------------------------------------------------------------------------------------
// GET /history

pub struct SelectOption {
    pub id: i64,
    pub label: String,
    pub selected: bool,
}

pub struct RunRow {
    pub id: i64,
    pub time: String,
    /// `None`: a pasted key.
    pub key_label: Option<String>,
    pub preset_name: Option<String>,
    pub model_count: i64,
    pub ok_count: i64,
    pub failed_count: i64,
    pub duration: String,
}

impl RunRow {
    fn from_summary(run: &RunSummary) -> Self {
        Self {
            id: run.id,
            time: beijing_time(run.started_at),
            key_label: run.key_label.clone(),
            preset_name: run.preset_name.clone(),
            model_count: run.model_count,
            ok_count: run.ok_count,
            failed_count: run.failed_count,
            duration: duration_text(run.duration_ms),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "history.html")]
pub struct HistoryPage {
    pub layout: Layout,
    pub runs: Vec<RunRow>,
    pub keys: Vec<SelectOption>,
    pub presets: Vec<SelectOption>,
    /// The form's text fields, as typed.
    pub model: String,
    pub from: String,
    pub to: String,
    pub error: Option<Notice>,
    pub page: i64,
    pub filtered: bool,
    pub prev_href: Option<String>,
    pub next_href: Option<String>,
    pub csv_href: String,
    pub json_href: String,
}

/// The list page for `query`. A bad filter shows the form with a notice, no runs and a 400;
/// `forced` (e.g. a bad export format) adds a notice and a 400 to an otherwise normal page.
pub async fn history_page(
    user: &CurrentUser,
    db: &Db,
    query: &HistoryQuery,
    forced: Option<Notice>,
) -> Result<(Status, HistoryPage), Status> {
    let user_id = user.0.user_id;
    let parsed = Filters::parse(query).and_then(|filters| {
        let page = parse_page(query.page.as_deref())?;
        Ok((filters, page))
    });
    let listing = parsed
        .as_ref()
        .ok()
        .map(|(filters, page)| (filters.to_store(), *page));
    let (keys, presets, runs) = db
        .run(move |conn| {
            let keys = api_keys::list_for_user(conn, user_id)?
                .into_iter()
                .map(|k| (k.id, k.label))
                .collect::<Vec<_>>();
            let presets = store::preset_options(conn, user_id)?;
            let runs = match listing {
                Some((filter, page)) => {
                    // One extra row says whether there is a next page.
                    store::list_runs(
                        conn,
                        user_id,
                        &filter,
                        None,
                        (page - 1) * PAGE_SIZE,
                        PAGE_SIZE + 1,
                    )?
                }
                None => Vec::new(),
            };
            Ok((keys, presets, runs))
        })
        .await
        .map_err(|error| {
            tracing::error!(%error, "history list failed");
            Status::InternalServerError
        })?;

    let listed = parsed.is_ok();
    let (filters, page) = parsed.as_ref().cloned().unwrap_or_default();
    let page = page.max(1);
    let error = forced.or_else(|| parsed.err());
    let status = if error.is_some() {
        Status::BadRequest
    } else {
        Status::Ok
    };
    let has_next = runs.len() as i64 > PAGE_SIZE;
    let filter_query = filters.query_string();
    let options = |items: Vec<(i64, String)>, selected: Option<i64>| {
        items
            .into_iter()
            .map(|(id, label)| SelectOption {
                id,
                label,
                selected: selected == Some(id),
            })
            .collect()
    };
    // The raw text goes back into the form, so a typo can be fixed rather than retyped.
    let typed = |raw: &Option<String>| raw.as_deref().unwrap_or("").trim().to_owned();
    Ok((
        status,
        HistoryPage {
            layout: user.layout(),
            runs: runs
                .iter()
                .take(PAGE_SIZE as usize)
                .map(RunRow::from_summary)
                .collect(),
            keys: options(keys, filters.key),
            presets: options(presets, filters.preset),
            model: typed(&query.model),
            from: typed(&query.from),
            to: typed(&query.to),
            filtered: !filters.is_empty(),
            prev_href: (listed && page > 1)
                .then(|| href("/history", &filter_query, &format!("page={}", page - 1))),
            next_href: (listed && has_next)
                .then(|| href("/history", &filter_query, &format!("page={}", page + 1))),
            csv_href: href("/history/export", "format=csv", &filter_query),
            json_href: href("/history/export", "format=json", &filter_query),
            error,
            page,
        },
    ))
}

#[get("/history?<query..>")]
pub async fn list(
    user: CurrentUser,
    flash: Option<FlashMessage<'_>>,
    db: &State<Db>,
    query: HistoryQuery,
) -> Result<(Status, HistoryPage), Status> {
    let (status, page) = history_page(&user, db, &query, None).await?;
    Ok((
        status,
        HistoryPage {
            layout: page.layout.with_flash(flash),
            ..page
        },
    ))
}

// ---------------------------------------------------------------------------------------------
// GET /history/<id>, POST /history/<id>/delete

pub struct RunMeta {
    pub id: i64,
    pub time: String,
    pub key_label: Option<String>,
    pub preset_name: Option<String>,
    /// `web` or `api`.
    pub source: String,
    pub duration: String,
}

pub struct TrendLink {
    pub model: String,
    pub href: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "history_detail.html")]
pub struct DetailPage {
    pub layout: Layout,
    pub run: RunMeta,
    pub report: ReportView,
    pub trend_links: Vec<TrendLink>,
}

/// The stored balance as the results partial shows it; `None` when none was fetched.
pub fn balance_view(balance: &StoredBalance) -> Option<BalanceView> {
    if let (Some(total), Some(available), Some(frozen)) =
        (balance.total, balance.available, balance.frozen)
    {
        return Some(BalanceView {
            points: Some(PointsView {
                total: points(total),
                available: points(available),
                frozen: points(frozen),
            }),
            code: "ok",
            detail: None,
        });
    }
    let code = balance.error.as_deref()?;
    Some(BalanceView {
        points: None,
        code: ErrorCode::parse(code).map_or("upstream_error", ErrorCode::as_str),
        detail: None,
    })
}

/// A path id that is not a number is a page that does not exist.
fn path_id(raw: &str) -> Result<i64, Status> {
    raw.parse::<i64>().map_err(|_| Status::NotFound)
}

/// `/history/model/owner/name`, for model ids that are valid (stored rows may hold invalid ones).
pub fn trend_href(model: &str) -> Option<String> {
    validate_model_id(model)
        .ok()
        .map(|()| format!("/history/model/{model}"))
}

#[get("/history/<id>", rank = 2)]
pub async fn detail(user: CurrentUser, id: &str, db: &State<Db>) -> Result<DetailPage, Status> {
    let id = path_id(id)?;
    let user_id = user.0.user_id;
    let found = db
        .run(move |conn| {
            let Some(run) = store::get_run(conn, user_id, id)? else {
                return Ok(None);
            };
            let rows = store::run_results(conn, user_id, id)?;
            Ok(Some((run, rows)))
        })
        .await
        .map_err(|error| {
            tracing::error!(%error, "history detail failed");
            Status::InternalServerError
        })?;
    let Some((run, rows)) = found else {
        return Err(Status::NotFound);
    };
    let mut trend_links: Vec<TrendLink> = Vec::new();
    for row in &rows {
        let model = &row.result.model;
        if let Some(href) = trend_href(model)
            && !trend_links.iter().any(|link| &link.model == model)
        {
            trend_links.push(TrendLink {
                model: model.clone(),
                href,
            });
        }
    }
    let report = ReportView::from_rows(
        rows.iter()
            .map(|r| RowView::from_result(&r.result))
            .collect(),
        u64::try_from(run.duration_ms).unwrap_or(0),
        balance_view(&run.balance),
    );
    Ok(DetailPage {
        layout: user.layout(),
        run: RunMeta {
            id: run.id,
            time: beijing_time(run.started_at),
            key_label: run.key_label,
            preset_name: run.preset_name,
            source: run.source,
            duration: duration_text(run.duration_ms),
        },
        report,
        trend_links,
    })
}

#[post("/history/<id>/delete", data = "<form>")]
pub async fn delete(
    user: CurrentUser,
    id: &str,
    form: Csrf<TokenOnlyForm>,
    db: &State<Db>,
) -> Result<Flash<Redirect>, Status> {
    let _ = form;
    let id = path_id(id)?;
    let user_id = user.0.user_id;
    let deleted = db
        .run(move |conn| store::delete_run(conn, user_id, id))
        .await
        .map_err(|error| {
            tracing::error!(%error, "history delete failed");
            Status::InternalServerError
        })?;
    if deleted {
        Ok(Flash::success(Redirect::to("/history"), "query_deleted"))
    } else {
        Err(Status::NotFound)
    }
}

// ---------------------------------------------------------------------------------------------
// GET /history/model/<owner>/<name>

pub struct TrendRow {
    pub query_id: i64,
    pub time: String,
    pub key_label: Option<String>,
    pub request_limit: String,
    pub request_remaining: String,
    pub model_request_limit: String,
    pub model_request_remaining: String,
    /// `ok` or an `ErrorCode` string (`status_label.html` reads `row.code`).
    pub code: &'static str,
    pub detail: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "trend.html")]
pub struct TrendPage {
    pub layout: Layout,
    pub model: String,
    pub chart: Option<Chart>,
    /// Newest first.
    pub rows: Vec<TrendRow>,
    pub limit: i64,
}

#[get("/history/model/<owner>/<name>")]
pub async fn model_trend(
    user: CurrentUser,
    owner: &str,
    name: &str,
    db: &State<Db>,
) -> Result<TrendPage, Status> {
    let model = format!("{owner}/{name}");
    validate_model_id(&model).map_err(|_| Status::NotFound)?;
    let user_id = user.0.user_id;
    let wanted = model.clone();
    let stored = db
        .run(move |conn| store::model_results_labelled(conn, user_id, &wanted, TREND_ROWS))
        .await
        .map_err(|error| {
            tracing::error!(%error, "trend read failed");
            Status::InternalServerError
        })?;
    let samples: Vec<Sample> = stored
        .iter()
        .map(|row| {
            let quota = row.stored.result.quota;
            let mut title = beijing_time(row.stored.started_at);
            if let Some(label) = &row.key_label {
                title.push_str(" · ");
                title.push_str(label);
            }
            title.push_str(&format!(
                " · 模型剩余 {} / {} · 账户剩余 {} / {}",
                number(quota.model_request_remaining),
                number(quota.model_request_limit),
                number(quota.request_remaining),
                number(quota.request_limit),
            ));
            Sample {
                at: row.stored.started_at,
                remaining: quota.model_request_remaining,
                limit: quota.model_request_limit,
                title,
            }
        })
        .collect();
    let rows = stored
        .iter()
        .map(|row| {
            let result = &row.stored.result;
            let quota = result.quota;
            TrendRow {
                query_id: row.stored.query_id,
                time: beijing_time(row.stored.started_at),
                key_label: row.key_label.clone(),
                request_limit: number(quota.request_limit),
                request_remaining: number(quota.request_remaining),
                model_request_limit: number(quota.model_request_limit),
                model_request_remaining: number(quota.model_request_remaining),
                code: result.error_code().map_or("ok", ErrorCode::as_str),
                detail: result.failure.as_ref().and_then(|f| f.detail.clone()),
            }
        })
        .collect();
    Ok(TrendPage {
        layout: user.layout(),
        chart: trend::build(&samples),
        model,
        rows,
        limit: TREND_ROWS,
    })
}

/// Today's date in Beijing, `YYYYMMDD` (export file names).
pub fn beijing_today_compact() -> String {
    let today = OffsetDateTime::now_utc().to_offset(beijing()).date();
    iso_date(today).replace('-', "")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> HistoryQuery {
        let mut q = <HistoryQuery as Default>::default();
        for (name, value) in pairs {
            let value = Some((*value).to_owned());
            match *name {
                "page" => q.page = value,
                "key" => q.key = value,
                "preset" => q.preset = value,
                "model" => q.model = value,
                "from" => q.from = value,
                "to" => q.to = value,
                _ => unreachable!(),
            }
        }
        q
    }

    #[test]
    fn pages() {
        assert_eq!(parse_page(None), Ok(1));
        assert_eq!(parse_page(Some("")), Ok(1));
        assert_eq!(parse_page(Some("3")), Ok(3));
        for bad in [
            "0",
            "-1",
            "abc",
            "1.5",
            "99999999999999999999",
            &(i64::MAX / PAGE_SIZE + 1).to_string(),
        ] {
            assert_eq!(parse_page(Some(bad)), Err(super::bad("页码")), "{bad}");
        }
    }

    #[test]
    fn dates_are_beijing_days() {
        let filters =
            Filters::parse(&query(&[("from", "2026-01-01"), ("to", "2026-01-01")])).unwrap();
        let store = filters.to_store();
        // 2026-01-01 00:00 +08 is 2025-12-31 16:00 UTC.
        assert_eq!(store.from, Some(1_767_196_800));
        assert_eq!(store.to, Some(1_767_196_800 + 86_400));
        assert_eq!(filters.query_string(), "from=2026-01-01&to=2026-01-01");
    }

    #[test]
    fn nonsense_names_the_field() {
        let cases = [
            (("from", "2026-13-45"), "开始日期"),
            (("to", "yesterday"), "结束日期"),
            (("key", "abc"), "Key"),
            (("key", "-3"), "Key"),
            (("preset", "1e3"), "预设"),
            (("model", "<script>"), "模型"),
            (("model", "a/b/c"), "模型"),
        ];
        for ((name, value), field) in cases {
            assert_eq!(
                Filters::parse(&query(&[(name, value)])),
                Err(super::bad(field)),
                "{name}={value}"
            );
        }
        assert_eq!(
            Filters::parse(&query(&[("from", "2026-02-02"), ("to", "2026-02-01")])),
            Err(super::bad("开始日期晚于结束日期"))
        );
    }

    #[test]
    fn empty_fields_are_no_filter() {
        let filters = Filters::parse(&query(&[
            ("key", ""),
            ("preset", " "),
            ("model", ""),
            ("from", ""),
            ("to", ""),
        ]))
        .unwrap();
        assert!(filters.is_empty());
        assert_eq!(filters.query_string(), "");
    }

    #[test]
    fn links_keep_the_filters() {
        let filters = Filters::parse(&query(&[
            ("key", "7"),
            ("preset", "9"),
            ("model", "Qwen/Qwen2.5-7B"),
        ]))
        .unwrap();
        let filter_query = filters.query_string();
        assert_eq!(filter_query, "key=7&preset=9&model=Qwen%2FQwen2.5-7B");
        assert_eq!(
            href("/history", &filter_query, "page=2"),
            "/history?key=7&preset=9&model=Qwen%2FQwen2.5-7B&page=2"
        );
        assert_eq!(href("/history", "", "page=2"), "/history?page=2");
        assert_eq!(href("/history", "", ""), "/history");
    }

    #[test]
    fn balances() {
        let none = StoredBalance {
            total: None,
            available: None,
            frozen: None,
            error: None,
        };
        assert!(balance_view(&none).is_none());
        let ok = balance_view(&StoredBalance {
            total: Some(250.0),
            available: Some(12.5),
            frozen: Some(0.0),
            ..none.clone()
        })
        .unwrap();
        let shown = ok.points.unwrap();
        assert_eq!(
            (shown.total.as_str(), shown.available.as_str()),
            ("250", "12.5")
        );
        let failed = balance_view(&StoredBalance {
            error: Some("invalid_key".into()),
            ..none.clone()
        })
        .unwrap();
        assert_eq!(failed.code, "invalid_key");
        let unknown = balance_view(&StoredBalance {
            error: Some("from_the_future".into()),
            ..none
        })
        .unwrap();
        assert_eq!(unknown.code, "upstream_error");
    }

    #[test]
    fn durations() {
        assert_eq!(duration_text(850), "850 ms");
        assert_eq!(duration_text(12_345), "12.3 s");
    }
}
