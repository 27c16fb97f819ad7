//! `GET /history`: stored runs, newest first, with filters, 50 a page. Pages are keyset pages
//! (`?before=<run id>` for older runs, `?after=<run id>` for newer ones), so the thousandth page
//! costs what the first does; an old numbered link (`?page=N`) is redirected to its cursor.

use askama::Template;
use askama_web::WebTemplate;
use rocket::http::Status;
use rocket::request::FlashMessage;
use rocket::response::Redirect;
use rocket::{Responder, State, get};

use super::duration_text;
use super::filters::{Filters, HistoryQuery, PAGE_SIZE, Start, href};
use crate::clock;
use crate::db::history::{self as store, Direction, HistoryFilter, RunSummary};
use crate::db::{Db, DbError, api_keys};
use crate::ids::{RunId, UserId};
use crate::web::kit::notice::{Notice, NoticeCode};
use crate::web::kit::problem::Problem;
use crate::web::kit::session::CurrentUser;
use crate::web::kit::view::Layout;

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
    /// A page past the end of the list (an old page number, or nothing older than a cursor).
    pub past_end: bool,
    pub filtered: bool,
    /// Newer runs (`rel="prev"`), older runs (`rel="next"`), and the newest page when this is
    /// not it.
    pub prev_href: Option<String>,
    pub next_href: Option<String>,
    pub first_href: Option<String>,
    pub csv_href: String,
    pub json_href: String,
}

/// What `/history` answers: a page, or a redirect from an old numbered-page link.
#[derive(Responder)]
pub enum ListAnswer {
    Page((Status, HistoryPage)),
    Moved(Redirect),
}

/// The runs of one page, newest first, and whether there are newer and older ones.
#[derive(Default)]
struct Listing {
    runs: Vec<RunSummary>,
    has_newer: bool,
    has_older: bool,
    past_end: bool,
}

/// What the database said about the requested page.
enum Found {
    Page(Listing),
    /// `?page=N`: the run just before page N, to redirect to (or `None`: past the end).
    PageStart(Option<RunId>),
    /// The cursor is not one of the user's runs (deleted since, or never theirs).
    CursorGone,
}

/// Reads one page. Every branch is a few index probes plus the page's own rows.
fn read_page(
    conn: &rusqlite::Connection,
    user_id: UserId,
    filter: &HistoryFilter,
    start: Start,
) -> Result<Found, DbError> {
    let page = PAGE_SIZE as usize;
    // One extra row says whether there is more in that direction.
    let newest = |conn| -> Result<Listing, DbError> {
        let mut runs = store::list_runs(conn, user_id, filter, None, 0, PAGE_SIZE + 1)?;
        let has_older = runs.len() > page;
        runs.truncate(page);
        Ok(Listing {
            runs,
            has_older,
            ..Listing::default()
        })
    };
    let cursor = match start {
        Start::Newest => return Ok(Found::Page(newest(conn)?)),
        Start::Page(number) => {
            // The last run of the page before: `?before=` it is page `number`.
            let offset = (number - 1).saturating_mul(PAGE_SIZE) - 1;
            let found = store::cursor_at_offset(conn, user_id, filter, offset)?;
            return Ok(Found::PageStart(found.map(|(_, id)| id)));
        }
        Start::Before(id) | Start::After(id) => match store::run_cursor(conn, user_id, id)? {
            Some(cursor) => cursor,
            None => return Ok(Found::CursorGone),
        },
    };
    let beyond = |conn, run: &RunSummary, direction| {
        store::has_runs_beyond(conn, user_id, filter, (run.started_at, run.id), direction)
    };
    let listing = if let Start::After(_) = start {
        let mut runs = store::list_runs_newer(conn, user_id, filter, cursor, PAGE_SIZE + 1)?;
        if runs.len() <= page {
            // Fewer than a page is newer: that is the newest page.
            return Ok(Found::Page(newest(conn)?));
        }
        // Newest first: the extra row is the first one.
        runs.remove(0);
        let has_older = match runs.last() {
            Some(last) => beyond(conn, last, Direction::Older)?,
            None => false,
        };
        Listing {
            runs,
            has_newer: true,
            has_older,
            past_end: false,
        }
    } else {
        let mut runs = store::list_runs(conn, user_id, filter, Some(cursor), 0, PAGE_SIZE + 1)?;
        let has_older = runs.len() > page;
        runs.truncate(page);
        let has_newer = match runs.first() {
            Some(first) => beyond(conn, first, Direction::Newer)?,
            None => false,
        };
        Listing {
            past_end: runs.is_empty(),
            runs,
            has_newer,
            has_older,
        }
    };
    Ok(Found::Page(listing))
}

/// The list page for `query`. A bad filter or cursor shows the form with a notice, no runs and
/// a 400 (a cursor that is not the user's run: a 404); `forced` (e.g. a bad export format) adds
/// a notice and a 400 to an otherwise normal page.
pub async fn history_page(
    user: &CurrentUser,
    db: &Db,
    query: &HistoryQuery,
    forced: Option<Notice>,
) -> Result<ListAnswer, Status> {
    let user_id = user.0.user_id;
    let parsed = Filters::parse(query).and_then(|filters| {
        let start = Start::parse(query)?;
        Ok((filters, start))
    });
    let listing = parsed
        .as_ref()
        .ok()
        .map(|(filters, start)| (filters.to_store(), *start));
    let (keys, presets, found) = db
        .run(move |conn| {
            let keys = api_keys::list_for_user(conn, user_id)?
                .into_iter()
                .map(|k| (k.id.get(), k.label))
                .collect::<Vec<_>>();
            let presets = store::preset_options(conn, user_id)?;
            let found = match listing {
                Some((filter, start)) => read_page(conn, user_id, &filter, start)?,
                None => Found::Page(Listing::default()),
            };
            Ok((keys, presets, found))
        })
        .await
        .map_err(|error| Problem::db(&error).status)?;

    let (filters, _) = parsed.as_ref().cloned().unwrap_or_default();
    let filter_query = filters.query_string();
    let listed = parsed.is_ok();
    let mut error = forced.or_else(|| parsed.err());
    let mut status = if error.is_some() {
        Status::BadRequest
    } else {
        Status::Ok
    };
    let listing = match found {
        Found::Page(listing) => listing,
        Found::PageStart(Some(id)) if error.is_none() => {
            let to = href("/history", &filter_query, &format!("before={id}"));
            return Ok(ListAnswer::Moved(Redirect::to(to)));
        }
        Found::PageStart(_) => Listing {
            past_end: true,
            ..Listing::default()
        },
        Found::CursorGone => {
            if error.is_none() {
                error = Some(Notice::new(NoticeCode::HistoryPositionGone));
                status = Status::NotFound;
            }
            Listing::default()
        }
    };
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
    let link = |cursor: &str| href("/history", &filter_query, cursor);
    let newer = listing
        .runs
        .first()
        .filter(|_| listed && listing.has_newer)
        .map(|run| link(&format!("after={}", run.id)));
    let older = listing
        .runs
        .last()
        .filter(|_| listed && listing.has_older)
        .map(|run| link(&format!("before={}", run.id)));
    let first_href =
        (listing.has_newer || listing.past_end || status == Status::NotFound).then(|| link(""));
    // The raw text goes back into the form, so a typo can be fixed rather than retyped.
    let typed = |raw: &Option<String>| raw.as_deref().unwrap_or("").trim().to_owned();
    Ok(ListAnswer::Page((
        status,
        HistoryPage {
            layout: user.layout(),
            runs: listing.runs.iter().map(RunRow::from_summary).collect(),
            keys: options(keys, filters.key.map(|k| k.get())),
            presets: options(presets, filters.preset.map(|p| p.get())),
            model: typed(&query.model),
            from: typed(&query.from),
            to: typed(&query.to),
            filtered: !filters.is_empty(),
            past_end: listing.past_end,
            prev_href: newer,
            next_href: older,
            first_href,
            csv_href: href("/history/export", "format=csv", &filter_query),
            json_href: href("/history/export", "format=json", &filter_query),
            error,
        },
    )))
}

#[get("/history?<query..>")]
pub async fn list(
    user: CurrentUser,
    flash: Option<FlashMessage<'_>>,
    db: &State<Db>,
    query: HistoryQuery,
) -> Result<ListAnswer, Status> {
    Ok(match history_page(&user, db, &query, None).await? {
        ListAnswer::Page((status, page)) => ListAnswer::Page((
            status,
            HistoryPage {
                layout: page.layout.with_flash(flash),
                ..page
            },
        )),
        moved => moved,
    })
}
