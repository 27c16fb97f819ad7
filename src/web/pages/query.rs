//! `/query`: run a stored query with a saved (or pasted) key and a preset (or typed models),
//! or read the balance only (free). `POST /query` answers 303 to the stored run;
//! `POST /query/stream` (used by app.js) streams NDJSON events (`web/kit/live.rs`) as each step
//! happens and stores the run even if the browser leaves.

use askama::Template;
use askama_web::WebTemplate;
use rocket::http::{ContentType, Status};
use rocket::response::Redirect;
use rocket::response::stream::TextStream;
use rocket::{State, get, post};

use crate::db::{Db, presets};
use crate::ids::{KeyId, PresetId};
use crate::keyring::Keyring;
use crate::modelscope::Site;
use crate::runs::engine::Lane;
use crate::runs::executor::{Execution, Stored};
use crate::runs::history::{RunKind, Source};
use crate::runs::planner::PlannedRun;
use crate::runs::runner::Runner;
use crate::web::kit::csrf::Csrf;
use crate::web::kit::live;
use crate::web::kit::model_help::{DidYouMean, ModelHelp};
use crate::web::kit::no_store::NoStore;
use crate::web::kit::notice::{Flash, FlashCode, Notice, NoticeCode, Redirected};
use crate::web::kit::problem::Problem;
use crate::web::kit::result_view::ResultView;
use crate::web::kit::run_form::RunForm;
use crate::web::kit::session::CurrentUser;
use crate::web::kit::view::{KeyOption, Layout, PresetOption, key_options, preset_options};

#[derive(Template, WebTemplate)]
#[template(path = "query.html")]
pub struct QueryPage {
    pub layout: Layout,
    pub keys: Vec<KeyOption>,
    pub presets: Vec<PresetOption>,
    pub selected_key_id: Option<KeyId>,
    pub selected_preset_id: Option<PresetId>,
    pub models: String,
    pub max_models: usize,
    pub error: Option<Notice>,
    /// The results of a run that could not be stored: still the user's.
    pub report: Option<ResultView>,
    /// A refused form's pasted key, shown again in that one answer (never after a run), and
    /// its site.
    pub api_key: String,
    pub site: Site,
    /// Typed ids close to known ones, with the fix.
    pub did_you_mean: Option<DidYouMean>,
}

async fn query_page(user: &CurrentUser, db: &Db, keyring: &Keyring, runner: &Runner) -> QueryPage {
    let user_id = user.0.user_id;
    let presets = match db
        .run(move |conn| presets::list_for_user(conn, user_id))
        .await
    {
        Ok(presets) => presets,
        Err(error) => {
            // The form still works with typed models; the failure is logged.
            tracing::error!(%error, "listing presets failed");
            Vec::new()
        }
    };
    let keys = key_options(keyring, user_id).await;
    QueryPage {
        layout: user.layout(),
        selected_key_id: keys.first().map(|k| k.id),
        selected_preset_id: presets.iter().find(|p| p.is_default).map(|p| p.id),
        keys,
        presets: preset_options(db, user_id, presets).await,
        models: String::new(),
        max_models: runner.max_models(),
        error: None,
        report: None,
        api_key: String::new(),
        site: Site::default(),
        did_you_mean: None,
    }
}

#[get("/query?<preset>")]
pub async fn page(
    user: CurrentUser,
    preset: Option<&str>,
    db: &State<Db>,
    keyring: &State<Keyring>,
    runner: &State<Runner>,
) -> QueryPage {
    let mut page = query_page(&user, db, keyring, runner).await;
    if let Some(id) = preset.and_then(|p| p.parse::<PresetId>().ok())
        && page.presets.iter().any(|p| p.id == id)
    {
        page.selected_preset_id = Some(id);
    }
    page
}

fn stored_run(
    user: &CurrentUser,
    plan: PlannedRun,
    (kind, budget): (RunKind, Option<f64>),
) -> Execution {
    Execution {
        plan,
        kind,
        source: Source::Web,
        user: Some(user.0.user_id),
        keep: true,
        lane: Lane::Member,
        budget,
    }
}

/// Where a stored run sends the browser: to the run, or back to the dashboard it came from.
#[derive(rocket::Responder)]
pub enum Ran {
    Stored(Redirect),
    Dashboard(Redirected),
}

#[post("/query", data = "<form>")]
pub async fn run(
    user: CurrentUser,
    form: Csrf<RunForm>,
    db: &State<Db>,
    keyring: &State<Keyring>,
    runner: &State<Runner>,
    help: ModelHelp<'_>,
) -> Result<Ran, NoStore<(Status, QueryPage)>> {
    let form = form.0;
    let mut did_you_mean = None;
    let planned = match form.kind_and_budget(true) {
        Ok(kind) => {
            let planned = runner.plan(form.ask(Some(user.0.user_id))).await;
            did_you_mean = help
                .check_run(&planned, form.models_text(), form.as_typed())
                .await;
            planned
                .map(|plan| (plan, kind))
                .map_err(|error| Problem::plan(&error))
        }
        Err(problem) => Err(problem),
    };
    let (problem, report) = match (planned, &did_you_mean) {
        (_, Some(_)) => (DidYouMean::problem(), None),
        (Ok((plan, kind)), None) => {
            let key_hint = plan.key_is_unusual();
            let finished = runner.run(stored_run(&user, plan, kind)).await;
            // From the dashboard, a probe or a free check goes back to it (its card shows what
            // was read); a census's prices are read on its own page.
            let dashboard = form.dashboard_key().filter(|_| kind.0 != RunKind::Census);
            if let (Stored::Saved(_), Some(key)) = (&finished.stored, dashboard) {
                let back = Flash::new(FlashCode::DashboardRun).redirect(format!("/#key-{key}"));
                return Ok(Ran::Dashboard(back));
            }
            if let Stored::Saved(id) = finished.stored {
                // The stored run cannot know how the key was typed: the address says.
                let hint = if key_hint { "?key_hint=1" } else { "" };
                return Ok(Ran::Stored(Redirect::to(format!("/history/{id}{hint}"))));
            }
            // Logged where it failed; the page says so and shows what the user paid for.
            let problem = Problem {
                status: Status::ServiceUnavailable,
                notice: Notice::new(NoticeCode::StoreFailed),
            };
            (
                problem,
                Some(ResultView::finished(
                    &finished,
                    key_hint,
                    user.layout().lang,
                )),
            )
        }
        (Err(problem), None) => (problem, None),
    };
    let mut page = query_page(&user, db, keyring, runner).await;
    page.selected_key_id = form.key_id();
    page.selected_preset_id = form.preset_id();
    page.models = form.models_text().to_owned();
    page.site = form.ask(None).site.unwrap_or_default();
    page.did_you_mean = did_you_mean;
    // What was typed stays, the pasted key included (in this answer only), unless it ran.
    if report.is_none() {
        page.api_key = form.kept_key();
    }
    page.error = Some(problem.notice);
    page.report = report;
    Err(NoStore((problem.status, page)))
}

/// NDJSON, one event per line (see `web/kit/live.rs`); stored like `POST /query`. Bad input
/// answers with `{"type":"error"}` and its status, and the script falls back to a normal form
/// post, which shows the message.
#[post("/query/stream", data = "<form>")]
pub async fn stream(
    user: CurrentUser,
    form: Csrf<RunForm>,
    runner: &State<Runner>,
    help: ModelHelp<'_>,
) -> Result<live::Live<TextStream![String]>, (Status, (ContentType, String))> {
    let kind = form
        .0
        .kind_and_budget(true)
        .map_err(|p| live::refused(&p))?;
    let planned = runner.plan(form.0.ask(Some(user.0.user_id))).await;
    // A near miss is answered by the plain post, which offers the fix.
    if help
        .check_run(&planned, form.0.models_text(), form.0.as_typed())
        .await
        .is_some()
    {
        return Err(live::refused(&DidYouMean::problem()));
    }
    let plan = planned.map_err(|error| live::refused(&Problem::plan(&error)))?;
    let start = live::start(&plan, kind.0);
    let lang = user.layout().lang;
    let events = runner.watch(stored_run(&user, plan, kind));
    Ok(live::ndjson(start, events, lang))
}

pub fn routes() -> Vec<rocket::Route> {
    rocket::routes![page, run, stream]
}
