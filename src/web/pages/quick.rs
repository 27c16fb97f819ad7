//! `GET /` signed out and `POST /quick`: the quick query. Nothing of it is stored or logged
//! beyond counts; a signed-in user may pick a saved key by id.

use askama::Template;
use askama_web::WebTemplate;
use rocket::http::{ContentType, Status};
use rocket::response::stream::TextStream;
use rocket::{State, get, post};

use crate::ids::{KeyId, UserId};
use crate::keyring::Keyring;
use crate::modelscope::Site;
use crate::runs::engine::Lane;
use crate::runs::executor::Execution;
use crate::runs::history::{RunKind, Source};
use crate::runs::planner::PlannedRun;
use crate::runs::runner::Runner;
use crate::web::kit::client::ClientInfo;
use crate::web::kit::csrf::Csrf;
use crate::web::kit::live;
use crate::web::kit::model_help::{DidYouMean, ModelHelp};
use crate::web::kit::no_store::NoStore;
use crate::web::kit::notice::{Notice, NoticeCode};
use crate::web::kit::problem::Problem;
use crate::web::kit::result_view::ResultView;
use crate::web::kit::run_form::RunForm;
use crate::web::kit::session::Viewer;
use crate::web::kit::view::{KeyOption, Layout, key_options};

#[derive(Template, WebTemplate)]
#[template(path = "quick.html")]
pub struct QuickPage {
    pub layout: Layout,
    pub models: String,
    pub max_models: usize,
    pub error: Option<Notice>,
    pub report: Option<ResultView>,
    pub saved_keys: Vec<KeyOption>,
    pub selected_key_id: Option<KeyId>,
    /// The site picked for a pasted key.
    pub site: Site,
    /// A refused form's pasted key, shown again in that one answer (never after a run).
    pub api_key: String,
    /// Typed ids close to known ones, with the fix.
    pub did_you_mean: Option<DidYouMean>,
}

async fn quick_page(viewer: &Viewer, keyring: &Keyring, runner: &Runner) -> QuickPage {
    let saved_keys = match &viewer.user {
        Some(user) => key_options(keyring, user.user_id).await,
        None => Vec::new(),
    };
    QuickPage {
        layout: viewer.layout(),
        models: String::new(),
        max_models: runner.max_models(),
        error: None,
        report: None,
        saved_keys,
        selected_key_id: None,
        site: Site::default(),
        api_key: String::new(),
        did_you_mean: None,
    }
}

/// Signed out (the dashboard answers first for a signed-in user).
#[get("/", rank = 2)]
pub async fn index(viewer: Viewer, keyring: &State<Keyring>, runner: &State<Runner>) -> QuickPage {
    quick_page(&viewer, keyring, runner).await
}

/// The quick query, live: the same run as `POST /quick` (nothing stored), as NDJSON events.
#[post("/quick/stream", data = "<form>")]
pub async fn stream(
    viewer: Viewer,
    client: ClientInfo,
    form: Csrf<RunForm>,
    runner: &State<Runner>,
    help: ModelHelp<'_>,
) -> Result<live::Live<TextStream![String]>, (Status, (ContentType, String))> {
    let form = form.0;
    let user = viewer.user.as_ref().map(|user| user.user_id);
    let planned = runner.plan(form.ask(user)).await;
    // A near miss is answered by the plain post, which offers the fix.
    if help
        .check_run(&planned, form.models_text(), form.as_typed())
        .await
        .is_some()
    {
        return Err(live::refused(&DidYouMean::problem()));
    }
    let plan = planned.map_err(|error| live::refused(&Problem::plan(&error)))?;
    let lane = runner
        .admit(user, &client.addr)
        .map_err(|_| live::refused(&busy()))?;
    let (kind, budget) = form
        .kind_and_budget(user.is_some())
        .map_err(|p| live::refused(&p))?;
    let start = live::start(&plan, kind);
    let events = runner.watch(unkept(plan, kind, user, lane, budget));
    Ok(live::ndjson(start, events, viewer.lang))
}

/// A quick query's run: from the web, never stored.
fn unkept(
    plan: PlannedRun,
    kind: RunKind,
    user: Option<UserId>,
    lane: Lane,
    budget: Option<f64>,
) -> Execution {
    Execution {
        plan,
        kind,
        source: Source::Web,
        user,
        keep: false,
        lane,
        budget,
    }
}

/// Every anonymous place of the address is taken.
fn busy() -> Problem {
    Problem {
        status: Status::TooManyRequests,
        notice: Notice::new(NoticeCode::Busy),
    }
}

#[post("/quick", data = "<form>")]
pub async fn quick(
    viewer: Viewer,
    client: ClientInfo,
    form: Csrf<RunForm>,
    keyring: &State<Keyring>,
    runner: &State<Runner>,
    help: ModelHelp<'_>,
) -> Result<(Status, QuickPage), NoStore<(Status, QuickPage)>> {
    let form = form.0;
    let mut page = quick_page(&viewer, keyring, runner).await;
    page.models = form.models_text().to_owned();
    page.selected_key_id = form.key_id();
    page.site = form.ask(None).site.unwrap_or_default();
    let user = viewer.user.as_ref().map(|user| user.user_id);
    let problem = match form.kind_and_budget(user.is_some()) {
        Err(problem) => problem,
        Ok((kind, budget)) => {
            let planned = runner.plan(form.ask(user)).await;
            let did_you_mean = help
                .check_run(&planned, form.models_text(), form.as_typed())
                .await;
            match (planned, did_you_mean, runner.admit(user, &client.addr)) {
                (_, Some(did_you_mean), _) => {
                    page.did_you_mean = Some(did_you_mean);
                    DidYouMean::problem()
                }
                (Ok(plan), None, Ok(lane)) => {
                    let key_hint = plan.key_is_unusual();
                    let finished = runner.run(unkept(plan, kind, user, lane, budget)).await;
                    page.report = Some(ResultView::finished(&finished, key_hint, page.layout.lang));
                    return Ok((Status::Ok, page));
                }
                (Err(error), None, _) => Problem::plan(&error),
                (Ok(_), None, Err(_busy)) => busy(),
            }
        }
    };
    // Refused: what was typed stays, the pasted key included (in this answer only).
    page.api_key = form.kept_key();
    page.error = Some(problem.notice);
    Err(NoStore((problem.status, page)))
}

pub fn routes() -> Vec<rocket::Route> {
    rocket::routes![index, quick, stream]
}
