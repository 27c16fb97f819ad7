//! `GET /history`: stored runs, newest first, with filters, 50 a page. Pages are keyset pages
//! (`?before=<run id>` for older runs, `?after=<run id>` for newer ones), so the thousandth page
//! costs what the first does; an old numbered link (`?page=N`) is redirected to its cursor.

use askama::Template;
use askama_web::WebTemplate;
use rocket::http::Status;
use rocket::request::FlashMessage;
use rocket::response::Redirect;
use rocket::{Responder, State, get};

use super::filters::{ChecksShown, Filters, HistoryQuery, PAGE_SIZE, Start, href};
use crate::db::history::{
    self as store, Direction, HistoryFilter, RunKind, RunStatus, RunSummary, Source,
};
use crate::db::{Db, DbError, api_keys};
use crate::ids::{RunId, UserId};
use crate::web::kit::notice::{Notice, NoticeCode};
use crate::web::kit::problem::Problem;
use crate::web::kit::session::CurrentUser;
use crate::web::kit::view::Layout;

use super::ledger::RunRow;

pub struct SelectOption {
    pub id: i64,
    pub label: String,
    pub selected: bool,
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
    pub kind: Option<RunKind>,
    pub source: Option<Source>,
    pub status: Option<RunStatus>,
    /// Scheduled checks one row each, not one row a key and day.
    pub each_check: bool,
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
    /// A filter the database refused (a model part in too many ids).
    Refused(Notice),
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

/// What the form shows again: the filters that parsed, and the text fields as typed.
struct Asked {
    filters: Filters,
    /// The first filter or position that did not parse (the list is refused).
    refused: Option<Notice>,
    start: Start,
}

impl Asked {
    fn parse(query: &HistoryQuery) -> Self {
        let (filters, refused) = Filters::parse(query);
        let (start, refused) = match Start::parse(query) {
            Ok(start) => (start, refused),
            Err(notice) => (Start::Newest, refused.or(Some(notice))),
        };
        Self {
            filters,
            refused,
            start,
        }
    }
}

/// The list page for `query`. A bad filter or cursor shows the form with a notice, no runs and
/// a 400 (a cursor that is not the user's run: a 404); the filters that were right stay in the
/// form. `forced` (e.g. a bad export format) adds a notice and a 400 to an otherwise normal page.
pub async fn history_page(
    user: &CurrentUser,
    db: &Db,
    query: &HistoryQuery,
    forced: Option<Notice>,
) -> Result<ListAnswer, Status> {
    let user_id = user.0.user_id;
    let asked = Asked::parse(query);
    let listing = asked
        .refused
        .is_none()
        .then(|| (asked.filters.clone(), asked.start));
    let (keys, presets, found) = db
        .run(move |conn| {
            let keys = api_keys::list_for_user(conn, user_id)?
                .into_iter()
                .map(|k| (k.id.get(), k.label))
                .collect::<Vec<_>>();
            let presets = store::preset_options(conn, user_id)?;
            let found = match listing {
                Some((filters, start)) => match filters.to_store(conn, user_id, true)? {
                    Ok(filter) => read_page(conn, user_id, &filter, start)?,
                    Err(notice) => Found::Refused(notice),
                },
                None => Found::Page(Listing::default()),
            };
            Ok((keys, presets, found))
        })
        .await
        .map_err(|error| Problem::db(&error).status)?;

    let filters = asked.filters;
    let filter_query = filters.query_string();
    let mut error = forced.or(asked.refused);
    let mut listed = error.is_none();
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
        Found::Refused(notice) => {
            error.get_or_insert(notice);
            status = Status::BadRequest;
            listed = false;
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
    // The export takes the same filters; it lists every run, so how checks show is left out.
    let export_query = Filters {
        checks: ChecksShown::default(),
        ..filters.clone()
    }
    .query_string();
    Ok(ListAnswer::Page((
        status,
        HistoryPage {
            layout: user.layout(),
            runs: listing
                .runs
                .iter()
                .map(|run| RunRow::from_summary(run, filters.status))
                .collect(),
            keys: options(keys, filters.key.map(|k| k.get())),
            presets: options(presets, filters.preset.map(|p| p.get())),
            model: typed(&query.model),
            from: typed(&query.from),
            to: typed(&query.to),
            kind: filters.kind,
            source: filters.source,
            status: filters.status,
            each_check: filters.checks == ChecksShown::Each,
            filtered: !filters.is_empty(),
            past_end: listing.past_end,
            prev_href: newer,
            next_href: older,
            first_href,
            csv_href: href("/history/export", "format=csv", &export_query),
            json_href: href("/history/export", "format=json", &export_query),
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
