//! `GET /history/model/<owner>/<name>`: one model's numbers over time, as a chart and a table.

use askama::Template;
use askama_web::WebTemplate;
use rocket::http::Status;
use rocket::{State, get};

use super::chart::{self, Chart, PointLabel, Sample};
use crate::clock;
use crate::db::Db;
use crate::db::history as store;
use crate::ids::RunId;
use crate::modelscope::{ErrorCode, validate_model_id};
use crate::web::problem::Problem;
use crate::web::session::CurrentUser;
use crate::web::view::{Layout, failure_detail, number};

/// Rows drawn on a trend page.
pub const TREND_ROWS: i64 = 200;

pub struct TrendRow {
    pub query_id: RunId,
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
        .map_err(|error| Problem::db(&error).status)?;
    let layout = user.layout();
    let samples: Vec<Sample> = stored
        .iter()
        .map(|row| {
            let quota = row.stored.result.quota;
            Sample {
                at: row.stored.started_at,
                line: row.key_label.clone().unwrap_or_default(),
                value: quota.model_request_remaining.map(|v| v as f64),
                limit: quota.model_request_limit.map(|v| v as f64),
                label: PointLabel {
                    time: clock::minutes(row.stored.started_at),
                    key_label: row.key_label.clone(),
                    model_remaining: number(quota.model_request_remaining),
                    model_limit: number(quota.model_request_limit),
                    remaining: number(quota.request_remaining),
                    limit: number(quota.request_limit),
                },
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
                time: clock::minutes(row.stored.started_at),
                key_label: row.key_label.clone(),
                request_limit: number(quota.request_limit),
                request_remaining: number(quota.request_remaining),
                model_request_limit: number(quota.model_request_limit),
                model_request_remaining: number(quota.model_request_remaining),
                code: result.error_code().map_or("ok", ErrorCode::as_str),
                detail: result
                    .failure
                    .as_ref()
                    .and_then(|f| failure_detail(f, layout.lang)),
            }
        })
        .collect();
    Ok(TrendPage {
        layout,
        chart: chart::build(&samples),
        model,
        rows,
        limit: TREND_ROWS,
    })
}
