//! `GET /history/<id>` (one run's results) and `POST /history/<id>/delete`.

use askama::Template;
use askama_web::WebTemplate;
use rocket::http::Status;
use rocket::response::{Flash, Redirect};
use rocket::{State, get, post};

use super::{duration_text, trend_href};
use crate::clock;
use crate::db::Db;
use crate::db::history::{self as store, StoredBalance};
use crate::ids::RunId;
use crate::modelscope::ErrorCode;
use crate::web::problem::Problem;
use crate::web::session::{Csrf, CurrentUser, TokenOnlyForm};
use crate::web::view::{BalanceView, Layout, PointsView, ReportView, RowView, points};

pub struct RunMeta {
    pub id: RunId,
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
fn path_id(raw: &str) -> Result<RunId, Status> {
    raw.parse::<i64>().map(RunId).map_err(|_| Status::NotFound)
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
        .map_err(|error| Problem::db(&error).status)?;
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
    let layout = user.layout();
    let report = ReportView::from_rows(
        rows.iter()
            .map(|r| RowView::from_result(&r.result, layout.lang))
            .collect(),
        u64::try_from(run.duration_ms).unwrap_or(0),
        balance_view(&run.balance),
    );
    Ok(DetailPage {
        layout,
        run: RunMeta {
            id: run.id,
            time: clock::minutes(run.started_at),
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
        .map_err(|error| Problem::db(&error).status)?;
    if deleted {
        Ok(Flash::success(Redirect::to("/history"), "query_deleted"))
    } else {
        Err(Status::NotFound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
