//! `GET /history`: stored runs, newest first, with filters, 50 a page.

use askama::Template;
use askama_web::WebTemplate;
use rocket::http::Status;
use rocket::request::FlashMessage;
use rocket::{State, get};

use super::duration_text;
use super::filters::{Filters, HistoryQuery, PAGE_SIZE, href, parse_page};
use crate::clock;
use crate::db::history::{self as store, RunSummary};
use crate::db::{Db, api_keys};
use crate::ids::RunId;
use crate::web::problem::Problem;
use crate::web::session::CurrentUser;
use crate::web::view::{Layout, Notice};

pub struct SelectOption {
    pub id: i64,
    pub label: String,
    pub selected: bool,
}

pub struct RunRow {
    pub id: RunId,
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
            time: clock::minutes(run.started_at),
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
                .map(|k| (k.id.get(), k.label))
                .collect::<Vec<_>>();
            let presets = store::preset_options(conn, user_id)?;
            let runs = match listing {
                // One extra row says whether there is a next page.
                Some((filter, page)) => store::list_runs(
                    conn,
                    user_id,
                    &filter,
                    None,
                    (page - 1) * PAGE_SIZE,
                    PAGE_SIZE + 1,
                )?,
                None => Vec::new(),
            };
            Ok((keys, presets, runs))
        })
        .await
        .map_err(|error| Problem::db(&error).status)?;

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
            keys: options(keys, filters.key.map(|k| k.get())),
            presets: options(presets, filters.preset.map(|p| p.get())),
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
