//! `/account/passkeys`: the account's passkeys (named, with when they were added and last
//! used), adding one (`assets/passkeys.js` runs the browser's side of the ceremony against the
//! two JSON endpoints), renaming and removing one (after a confirmation page).

use askama::Template;
use askama_web::WebTemplate;
use rocket::form::FromForm;
use rocket::http::Status;
use rocket::response::Redirect;
use rocket::{State, get, post};

use crate::auth::passkeys::{PasskeyError, Passkeys, binding};
use crate::clock;
use crate::web::kit::confirm::ConfirmPage;
use crate::web::kit::csrf::{Csrf, TokenOnlyForm, csrf_form};
use crate::web::kit::notice::Notice;
use crate::web::kit::passkey_json::{Answer, Ceremony, CsrfJson, Rp};
use crate::web::kit::problem::{Problem, Refused};
use crate::web::kit::session::{CurrentUser, Viewer};
use crate::web::kit::view::Layout;

pub const PATH: &str = "/account/passkeys";

pub struct Row {
    pub id: i64,
    pub name: String,
    pub created: String,
    pub last_used: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "passkeys.html")]
pub struct PasskeysPage {
    layout: Layout,
    rows: Vec<Row>,
    /// Passkeys cannot work here (no `public_url`, not loopback): said instead of the button.
    unavailable: bool,
    /// Why renaming failed (a `passkey-error-*` message id), or the database's notice.
    error_id: Option<&'static str>,
    db_error: Option<Notice>,
}

#[derive(Debug, FromForm)]
pub struct RenameForm {
    name: Option<String>,
    csrf_token: Option<String>,
}

csrf_form!(RenameForm);

pub fn routes() -> Vec<rocket::Route> {
    rocket::routes![page, options, register, rename, confirm_remove, remove]
}

async fn load(
    user: &CurrentUser,
    passkeys: &Passkeys,
    rp_ok: bool,
    error_id: Option<&'static str>,
) -> Refused<PasskeysPage> {
    let (status, rows, db_error) = match passkeys.list(user.0.user_id).await {
        Ok(list) => (
            Status::Ok,
            list.into_iter()
                .map(|p| Row {
                    id: p.id,
                    name: p.name,
                    created: clock::minutes(p.created_at),
                    last_used: p.last_used_at.map(clock::minutes),
                })
                .collect(),
            None,
        ),
        Err(db) => {
            let problem = Problem::db(&db);
            (problem.status, Vec::new(), Some(problem.notice))
        }
    };
    Refused::new(
        status,
        PasskeysPage {
            layout: user.layout(),
            rows,
            unavailable: !rp_ok,
            error_id,
            db_error,
        },
    )
}

#[get("/account/passkeys")]
async fn page(user: CurrentUser, rp: Rp, passkeys: &State<Passkeys>) -> Refused<PasskeysPage> {
    load(&user, passkeys, rp.0.is_ok(), None).await
}

/// The options for `navigator.credentials.create`; the ceremony is bound to this session.
#[post("/account/passkeys/options", data = "<_body>")]
async fn options(viewer: Viewer, _body: CsrfJson, ceremony: Ceremony<'_>) -> Answer {
    let Some(user) = viewer.user else {
        return ceremony.refuse(&PasskeyError::NotFound);
    };
    let browser = ceremony.browser(binding("session", &user.session_id.to_string()));
    let rp = match ceremony.rp.0 {
        Ok(rp) => rp,
        Err(error) => return Answer::error(&error, ceremony.lang),
    };
    let started = ceremony
        .passkeys
        .start_registration(rp, user.user_id, &user.username, browser)
        .await;
    Answer::started(started, ceremony.lang)
}

/// The browser's new credential: checked and stored under the name typed beside the button.
#[post("/account/passkeys", data = "<body>")]
async fn register(viewer: Viewer, body: CsrfJson, ceremony: Ceremony<'_>) -> Answer {
    let Some(user) = viewer.user else {
        return ceremony.refuse(&PasskeyError::NotFound);
    };
    let finished = match ceremony.rp.with_answer(&body) {
        Err(error) => Err(error),
        Ok((rp, finish)) => {
            let bound = binding("session", &user.session_id.to_string());
            ceremony
                .passkeys
                .finish_registration(rp, user.user_id, bound, finish.credential, &finish.name)
                .await
        }
    };
    match finished {
        Ok(()) => Answer::redirect(PATH),
        Err(error) => Answer::error(&error, ceremony.lang),
    }
}

#[post("/account/passkeys/<id>/rename", data = "<form>")]
async fn rename(
    user: CurrentUser,
    id: i64,
    form: Csrf<RenameForm>,
    passkeys: &State<Passkeys>,
    rp: Rp,
) -> Result<Redirect, Refused<PasskeysPage>> {
    let name = form.0.name.unwrap_or_default();
    let (status, id) = match passkeys.rename(user.0.user_id, id, &name).await {
        Ok(()) => return Ok(Redirect::to(PATH)),
        Err(PasskeyError::BadName) => (Status::UnprocessableEntity, "passkey-error-name"),
        Err(PasskeyError::NotFound) => (Status::NotFound, "passkey-error-not-found"),
        Err(_) => (Status::ServiceUnavailable, "passkey-error-db"),
    };
    let mut page = load(&user, passkeys, rp.0.is_ok(), Some(id)).await;
    page.status = status;
    Err(page)
}

#[get("/account/passkeys/<id>/delete")]
async fn confirm_remove(
    user: CurrentUser,
    id: i64,
    passkeys: &State<Passkeys>,
) -> Result<ConfirmPage, Status> {
    let list = passkeys
        .list(user.0.user_id)
        .await
        .map_err(|_| Status::InternalServerError)?;
    let passkey = list
        .into_iter()
        .find(|p| p.id == id)
        .ok_or(Status::NotFound)?;
    Ok(ConfirmPage::new(
        user.layout(),
        "passkey",
        passkey.name,
        format!("{PATH}/{id}/delete"),
        PATH,
    ))
}

#[post("/account/passkeys/<id>/delete", data = "<_form>")]
async fn remove(
    user: CurrentUser,
    id: i64,
    _form: Csrf<TokenOnlyForm>,
    passkeys: &State<Passkeys>,
) -> Result<Redirect, Status> {
    match passkeys.remove(user.0.user_id, id).await {
        Ok(()) => Ok(Redirect::to(PATH)),
        Err(PasskeyError::NotFound) => Err(Status::NotFound),
        Err(_) => Err(Status::InternalServerError),
    }
}
