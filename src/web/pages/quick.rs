//! `GET /` signed out and `POST /quick`: the quick query. Nothing of it is stored or logged
//! beyond counts; a signed-in user may pick a saved key by id.

use askama::Template;
use askama_web::WebTemplate;
use rocket::http::{ContentType, Status};
use rocket::response::stream::TextStream;
use rocket::{State, get, post};

use crate::db::Db;
use crate::ids::KeyId;
use crate::keyring::Keyring;
use crate::runs::engine::{Lane, QueryEngine};
use crate::runs::executor::{self, Execution};
use crate::runs::history::Source;
use crate::runs::planner::Planner;
use crate::web::kit::client::ClientInfo;
use crate::web::kit::csrf::Csrf;
use crate::web::kit::live;
use crate::web::kit::problem::Problem;
use crate::web::kit::result_view::ResultView;
use crate::web::kit::run_form::RunForm;
use crate::web::kit::session::Viewer;
use crate::web::kit::view::{KeyOption, Layout, Notice, key_options};

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
    pub site: &'static str,
}

async fn quick_page(viewer: &Viewer, keyring: &Keyring, planner: &Planner) -> QuickPage {
    let saved_keys = match &viewer.user {
        Some(user) => key_options(keyring, user.user_id).await,
        None => Vec::new(),
    };
    QuickPage {
        layout: viewer.layout(),
        models: String::new(),
        max_models: planner.max_models(),
        error: None,
        report: None,
        saved_keys,
        selected_key_id: None,
        site: "cn",
    }
}

/// Signed out (the dashboard answers first for a signed-in user).
#[get("/", rank = 2)]
pub async fn index(
    viewer: Viewer,
    keyring: &State<Keyring>,
    planner: &State<Planner>,
) -> QuickPage {
    quick_page(&viewer, keyring, planner).await
}

/// The quick query, live: the same run as `POST /quick` (nothing stored), as NDJSON events.
#[post("/quick/stream", data = "<form>")]
pub async fn stream(
    viewer: Viewer,
    client: ClientInfo,
    form: Csrf<RunForm>,
    planner: &State<Planner>,
    engine: &State<QueryEngine>,
    db: &State<Db>,
) -> Result<live::Live<TextStream![String]>, (Status, (ContentType, String))> {
    let form = form.0;
    let user = viewer.user.as_ref().map(|user| user.user_id);
    let plan = planner
        .plan(form.ask(user))
        .await
        .map_err(|error| live::refused(&Problem::plan(&error)))?;
    let lane = match user {
        Some(_) => Lane::Member,
        None => engine.admit_anonymous(&client.addr).map_err(|_| {
            live::refused(&Problem::new(Status::TooManyRequests, Notice::new("busy")))
        })?,
    };
    let kind = form.kind();
    let start = live::start(&plan, kind);
    let execution = Execution {
        plan,
        kind,
        source: Source::Web,
        user,
        keep: false,
        lane,
    };
    let events = executor::spawn_streaming(engine, db, execution);
    Ok(live::ndjson(start, events, viewer.lang))
}

#[post("/quick", data = "<form>")]
#[allow(clippy::too_many_arguments)] // Rocket guards: each argument is one thing the route needs.
pub async fn quick(
    viewer: Viewer,
    client: ClientInfo,
    form: Csrf<RunForm>,
    keyring: &State<Keyring>,
    planner: &State<Planner>,
    engine: &State<QueryEngine>,
    db: &State<Db>,
) -> (Status, QuickPage) {
    let form = form.0;
    let mut page = quick_page(&viewer, keyring, planner).await;
    page.models = form.models.clone().unwrap_or_default();
    page.selected_key_id = form.key_id();
    page.site = form.ask(None).site.unwrap_or_default().as_str();
    let user = viewer.user.as_ref().map(|user| user.user_id);
    let planned = planner.plan(form.ask(user)).await;
    let lane = match user {
        Some(_) => Ok(Lane::Member),
        None => engine.admit_anonymous(&client.addr),
    };
    match (planned, lane) {
        (Ok(plan), Ok(lane)) => {
            let execution = Execution {
                plan,
                kind: form.kind(),
                source: Source::Web,
                user,
                keep: false,
                lane,
            };
            let finished = executor::run(engine, db, execution).await;
            page.report = Some(ResultView::finished(&finished, page.layout.lang));
            (Status::Ok, page)
        }
        (Err(error), _) => {
            let problem = Problem::plan(&error);
            page.error = Some(problem.notice);
            (problem.status, page)
        }
        (Ok(_), Err(_busy)) => {
            page.error = Some(Notice::new("busy"));
            (Status::TooManyRequests, page)
        }
    }
}

pub fn routes() -> Vec<rocket::Route> {
    rocket::routes![index, quick, stream]
}
