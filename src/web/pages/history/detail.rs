//! `GET /history/<id>` (one run's results) and `POST /history/<id>/delete`.

use crate::web::kit::notice::{Flash, FlashCode, Redirected};
use askama::Template;
use askama_web::WebTemplate;
use rocket::http::Status;
use rocket::{State, get, post};

use super::duration_text;
use crate::clock;
use crate::db::Db;
use crate::db::history as store;
use crate::db::runs;
use crate::ids::RunId;
use crate::modelscope::{Site, Tiers};
use crate::runs::history::{RunKind, Source};
use crate::web::kit::confirm::ConfirmPage;
use crate::web::kit::csrf::{Csrf, TokenOnlyForm};
use crate::web::kit::problem::Problem;
use crate::web::kit::result_view::{BalanceShown, Outcome, ResultView};
use crate::web::kit::session::CurrentUser;
use crate::web::kit::view::Layout;

pub struct RunMeta {
    pub id: RunId,
    pub time: String,
    pub key_label: Option<String>,
    pub preset_name: Option<String>,
    pub source: Source,
    pub kind: RunKind,
    pub site: Site,
    pub duration: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "history_detail.html")]
pub struct DetailPage {
    pub layout: Layout,
    pub run: RunMeta,
    /// Each model name in it links to the model's trend (`Layout::trend_href`).
    pub report: ResultView,
}

/// A path id that is not a number is a page that does not exist.
fn path_id(raw: &str) -> Result<RunId, Status> {
    raw.parse::<i64>().map(RunId).map_err(|_| Status::NotFound)
}

/// `?key_hint=1`: the run just stored was made with a key not shaped like a ModelScope token
/// (`POST /query` says so on its way here).
#[get("/history/<id>?<key_hint>", rank = 2)]
pub async fn detail(
    user: CurrentUser,
    id: &str,
    key_hint: Option<&str>,
    db: &State<Db>,
) -> Result<DetailPage, Status> {
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
    let layout = user.layout();
    let results: Vec<_> = rows.into_iter().map(|r| r.result).collect();
    let mut report = ResultView::new(
        Outcome {
            kind: match (run.kind, run.census) {
                (RunKind::Probe, true) => RunKind::Census,
                (kind, _) => kind,
            },
            results: &results,
            elapsed_ms: u64::try_from(run.duration_ms).unwrap_or(0),
            balance: BalanceShown::stored(&run.balance),
            spent: run.points_spent,
            shared: run.shared_points_spent,
            unclean: run.unclean,
            points_short: false,
            expected: None,
            tiers: &Tiers::default(),
        },
        layout.lang,
    );
    report.key_hint = key_hint == Some("1");
    if report.census {
        report.census_from_rows(&results);
    }
    Ok(DetailPage {
        layout,
        run: RunMeta {
            id: run.id,
            time: clock::minutes(run.started_at),
            key_label: run.key_label,
            preset_name: run.preset_name,
            source: run.source,
            kind: run.kind,
            site: run.site,
            duration: duration_text(run.duration_ms),
        },
        report,
    })
}

/// The confirmation step: names the run, posts the delete.
#[get("/history/<id>/delete")]
pub async fn confirm_delete(
    user: CurrentUser,
    id: &str,
    db: &State<Db>,
) -> Result<ConfirmPage, Status> {
    let id = path_id(id)?;
    let user_id = user.0.user_id;
    let found = db
        .run(move |conn| store::get_run(conn, user_id, id))
        .await
        .map_err(|error| Problem::db(&error).status)?;
    let run = found.ok_or(Status::NotFound)?;
    Ok(ConfirmPage {
        layout: user.layout(),
        what: "run",
        name: run.id.to_string(),
        action: format!("/history/{}/delete", run.id),
        back: format!("/history/{}", run.id),
    })
}

#[post("/history/<id>/delete", data = "<_form>")]
pub async fn delete(
    user: CurrentUser,
    id: &str,
    _form: Csrf<TokenOnlyForm>,
    db: &State<Db>,
) -> Result<Redirected, Status> {
    let id = path_id(id)?;
    let user_id = user.0.user_id;
    let deleted = db
        .run(move |conn| runs::delete_run(conn, user_id, id))
        .await
        .map_err(|error| Problem::db(&error).status)?;
    if deleted {
        Ok(Flash::naming(FlashCode::QueryDeleted, id.to_string()).redirect("/history"))
    } else {
        Err(Status::NotFound)
    }
}
