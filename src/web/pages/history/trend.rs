//! `GET /history/model/<owner>/<name>`: one model's numbers over time, as a chart and a table,
//! 50 runs a page (`?before=<run id>` older, `?after=<run id>` newer, as on `/history`). Each
//! run says what the result page said then: calls left (from the headers when they came, else
//! from the points and the price), the price and where it came from, and the status.

use askama::Template;
use askama_web::WebTemplate;
use rocket::http::Status;
use rocket::{State, get};

use super::chart::{self, Chart, PointLabel, Sample};
use super::filters::{HistoryQuery, PAGE_SIZE, Start};
use crate::clock;
use crate::db::history::{self as store, Direction, HistoryFilter, LabelledResult};
use crate::db::{Db, DbError};
use crate::ids::{RunId, UserId};
use crate::modelscope::validate_model_id;
use crate::runs::calls_left::CallsLeft;
use crate::web::kit::notice::{Notice, NoticeCode};
use crate::web::kit::problem::Problem;
use crate::web::kit::result_view::RowView;
use crate::web::kit::session::CurrentUser;
use crate::web::kit::view::Layout;

/// Runs drawn and listed on a trend page.
pub const TREND_ROWS: i64 = PAGE_SIZE;

pub struct TrendRow {
    pub query_id: RunId,
    pub time: String,
    pub key_label: Option<String>,
    /// The row as result pages show it (`calls_left.html`, `price.html`, `status_label.html`
    /// read `row`).
    pub row: RowView,
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
    /// Newer runs (`rel="prev"`), older runs (`rel="next"`), and the newest page when this is
    /// not it.
    pub prev_href: Option<String>,
    pub next_href: Option<String>,
    pub first_href: Option<String>,
    /// A cursor that is malformed or leads nowhere: said above the newest page.
    pub error: Option<Notice>,
}

/// One page of the model's rows, newest first, and whether there are newer and older ones;
/// `None` when the cursor is not one of the user's runs.
fn read_page(
    conn: &rusqlite::Connection,
    user_id: UserId,
    model: &str,
    start: Start,
) -> Result<Option<(Vec<LabelledResult>, bool, bool)>, DbError> {
    let page = TREND_ROWS as usize;
    let cursor = match start {
        // A trend page never had numbers: `?page=` is the newest page.
        Start::Newest | Start::Page(_) => None,
        Start::Before(id) | Start::After(id) => match store::run_cursor(conn, user_id, id)? {
            Some(cursor) => Some(cursor),
            None => return Ok(None),
        },
    };
    let filter = HistoryFilter {
        models: Some(vec![model.to_owned()]),
        ..HistoryFilter::default()
    };
    let beyond = |conn, row: &LabelledResult, direction| {
        let at = (row.stored.started_at, row.stored.query_id);
        store::has_runs_beyond(conn, user_id, &filter, at, direction)
    };
    let newest = |conn| -> Result<_, DbError> {
        let mut rows = store::model_results_labelled(
            conn,
            user_id,
            model,
            None,
            Direction::Older,
            TREND_ROWS + 1,
        )?;
        let has_older = rows.len() > page;
        rows.truncate(page);
        Ok(Some((rows, false, has_older)))
    };
    match (start, cursor) {
        (Start::After(_), Some(cursor)) => {
            let mut rows = store::model_results_labelled(
                conn,
                user_id,
                model,
                Some(cursor),
                Direction::Newer,
                TREND_ROWS + 1,
            )?;
            if rows.len() <= page {
                return newest(conn);
            }
            rows.remove(0);
            let has_older = match rows.last() {
                Some(last) => beyond(conn, last, Direction::Older)?,
                None => false,
            };
            Ok(Some((rows, true, has_older)))
        }
        (_, Some(cursor)) => {
            let mut rows = store::model_results_labelled(
                conn,
                user_id,
                model,
                Some(cursor),
                Direction::Older,
                TREND_ROWS + 1,
            )?;
            let has_older = rows.len() > page;
            rows.truncate(page);
            let has_newer = match rows.first() {
                Some(first) => beyond(conn, first, Direction::Newer)?,
                None => false,
            };
            Ok(Some((rows, has_newer, has_older)))
        }
        (_, None) => newest(conn),
    }
}

/// A cursor that is not a run id shows the newest page with a notice and a 400; one that is
/// not the user's run (deleted, or someone else's), the newest page with a notice and a 404.
#[get("/history/model/<owner>/<name>?<before>&<after>")]
pub async fn model_trend(
    user: CurrentUser,
    owner: &str,
    name: &str,
    before: Option<String>,
    after: Option<String>,
    db: &State<Db>,
) -> Result<(Status, TrendPage), Status> {
    let model = format!("{owner}/{name}");
    validate_model_id(&model).map_err(|_| Status::NotFound)?;
    let parsed = Start::parse(&HistoryQuery {
        before,
        after,
        ..HistoryQuery::default()
    });
    let (mut status, mut error) = match &parsed {
        Ok(_) => (Status::Ok, None),
        Err(notice) => (Status::BadRequest, Some(notice.clone())),
    };
    let start = parsed.unwrap_or_default();
    let user_id = user.0.user_id;
    let wanted = model.clone();
    let (stored, has_newer, has_older) = db
        .run(
            move |conn| match read_page(conn, user_id, &wanted, start)? {
                Some(page) => Ok((page, true)),
                None => Ok((
                    read_page(conn, user_id, &wanted, Start::Newest)?.unwrap_or_default(),
                    false,
                )),
            },
        )
        .await
        .map(|(page, found)| {
            if !found {
                status = Status::NotFound;
                error = Some(Notice::new(NoticeCode::HistoryPositionGone));
            }
            page
        })
        .map_err(|error| Problem::db(&error).status)?;
    let path = format!("/history/model/{model}");
    let prev_href = stored
        .first()
        .filter(|_| has_newer)
        .map(|row| format!("{path}?after={}", row.stored.query_id));
    let next_href = stored
        .last()
        .filter(|_| has_older)
        .map(|row| format!("{path}?before={}", row.stored.query_id));
    let first_href = has_newer.then(|| path.clone());
    let layout = user.layout();
    let rows: Vec<TrendRow> = stored
        .iter()
        .map(|labelled| TrendRow {
            query_id: labelled.stored.query_id,
            time: clock::minutes(labelled.stored.started_at),
            key_label: labelled.key_label.clone(),
            row: RowView::new(&labelled.stored.result, labelled.available, layout.lang),
        })
        .collect();
    let samples: Vec<Sample> = stored
        .iter()
        .zip(&rows)
        .map(|(labelled, trend)| {
            let left = CallsLeft::of_row(&labelled.stored.result, labelled.available);
            Sample {
                at: labelled.stored.started_at,
                line: labelled.key_label.clone().unwrap_or_default(),
                // A range is drawn at what is sure: its low end.
                value: left.exact.or(left.range.map(|r| r.0)).map(|n| n as f64),
                // Headers that came with a limit scale the chart against it.
                limit: labelled
                    .stored
                    .result
                    .quota
                    .model_month_request_limit
                    .or(labelled.stored.result.quota.model_request_limit)
                    .map(|n| n as f64),
                label: PointLabel {
                    time: trend.time.clone(),
                    key_label: labelled.key_label.clone(),
                    remaining: trend.row.calls_left.clone(),
                    limit: trend.row.price.clone().unwrap_or_else(|| "—".to_owned()),
                    ..PointLabel::default()
                },
            }
        })
        .collect();
    Ok((
        status,
        TrendPage {
            layout,
            chart: chart::build(&samples),
            model,
            rows,
            limit: TREND_ROWS,
            prev_href,
            next_href,
            first_href,
            error,
        },
    ))
}
