//! Sign-up on `/admin`: the mode (open, invitation only, closed) and the invitations, each link
//! shown once (post, redirect, get), listed without its code, revocable while unused.

use rocket::form::FromForm;
use rocket::http::Status;
use rocket::response::Redirect;
use rocket::{State, get, post};

use super::view::AdminPage;
use super::{done, page_or_problem};
use crate::auth::signup::{self, SignupMode};
use crate::config::AppConfig;
use crate::db::Db;
use crate::ids::InvitationId;
use crate::web::kit::client::SiteOrigin;
use crate::web::kit::csrf::{Csrf, TokenOnlyForm, csrf_form};
use crate::web::kit::notice::{Flash, FlashCode, Notice, NoticeCode, Redirected};
use crate::web::kit::problem::Problem;
use crate::web::kit::reveal::Reveals;
use crate::web::kit::session::Admin;

/// The longest an invitation may work.
const MAX_DAYS: u32 = 365;

#[derive(Debug, FromForm)]
pub struct ModeForm {
    mode: Option<String>,
    csrf_token: Option<String>,
}

#[derive(Debug, FromForm)]
pub struct InviteForm {
    days: Option<String>,
    csrf_token: Option<String>,
}

csrf_form!(ModeForm, InviteForm);

/// The page again with a refusal on one of its forms.
async fn refused(
    admin: &Admin,
    db: &Db,
    config: &AppConfig,
    notice: Notice,
    on_invitations: bool,
) -> (Status, AdminPage) {
    let (_, mut page) = page_or_problem(admin, db, config, 1).await;
    if on_invitations {
        page.invitation_error = Some(notice);
    } else {
        page.signup_error = Some(notice);
    }
    (Status::UnprocessableEntity, page)
}

#[post("/admin/signup", data = "<form>")]
pub async fn set_mode(
    admin: Admin,
    form: Csrf<ModeForm>,
    db: &State<Db>,
    config: &State<AppConfig>,
) -> Result<Redirected, (Status, AdminPage)> {
    let Some(mode) = form.0.mode.as_deref().and_then(SignupMode::parse) else {
        let notice = Notice::new(NoticeCode::BadSignupMode).on("mode");
        return Err(refused(&admin, db, config, notice, false).await);
    };
    if let Err(error) = signup::set_mode(db, mode).await {
        let problem = Problem::db(&error);
        let (_, mut page) = page_or_problem(&admin, db, config, 1).await;
        page.signup_error = Some(problem.notice);
        return Err((problem.status, page));
    }
    Ok(Flash::naming(FlashCode::SignupMode, mode.as_str()).redirect("/admin"))
}

#[post("/admin/invitations", data = "<form>")]
pub async fn invite(
    admin: Admin,
    form: Csrf<InviteForm>,
    db: &State<Db>,
    config: &State<AppConfig>,
    reveals: &State<Reveals>,
) -> Result<Redirect, (Status, AdminPage)> {
    let days = match form.0.days.as_deref().map(str::trim) {
        None | Some("") => Some(config.invitation_days),
        Some(text) => text
            .parse::<u32>()
            .ok()
            .filter(|d| (1..=MAX_DAYS).contains(d)),
    };
    let Some(days) = days else {
        let notice = Notice::new(NoticeCode::BadInvitationDays)
            .with_n(i64::from(MAX_DAYS))
            .on("days");
        return Err(refused(&admin, db, config, notice, true).await);
    };
    match signup::invite(db, admin.user().user_id, days).await {
        Ok(code) => {
            let handle = reveals.put(admin.user().user_id, code);
            Ok(Redirect::to(format!("/admin/invitations/new/{handle}")))
        }
        Err(error) => {
            let problem = Problem::db(&error);
            let (_, mut page) = page_or_problem(&admin, db, config, 1).await;
            page.invitation_error = Some(problem.notice);
            Err((problem.status, page))
        }
    }
}

/// The page with the new invitation's link, the one time it is shown.
#[get("/admin/invitations/new/<handle>")]
pub async fn show_invitation(
    admin: Admin,
    handle: &str,
    origin: SiteOrigin,
    db: &State<Db>,
    config: &State<AppConfig>,
    reveals: &State<Reveals>,
) -> (Status, AdminPage) {
    let (status, mut page) = page_or_problem(&admin, db, config, 1).await;
    match reveals.take(admin.user().user_id, handle) {
        Some(code) => {
            page.new_invitation = Some(format!("{}{}", origin.0, signup::invitation_path(&code)));
        }
        None => page.invitation_error = Some(Notice::new(NoticeCode::LinkAlreadyShown)),
    }
    (status, page)
}

#[post("/admin/invitations/<id>/revoke", data = "<form>")]
pub async fn revoke_invitation(
    admin: Admin,
    id: InvitationId,
    form: Csrf<TokenOnlyForm>,
    db: &State<Db>,
    config: &State<AppConfig>,
) -> Result<Redirected, (Status, AdminPage)> {
    let _ = form;
    match signup::revoke(db, id).await {
        Ok(true) => Ok(Flash::new(FlashCode::InvitationRevoked).redirect("/admin")),
        Ok(false) => {
            let (_, mut page) = page_or_problem(&admin, db, config, 1).await;
            page.invitation_error = Some(Notice::new(NoticeCode::InvitationNotFound));
            Err((Status::NotFound, page))
        }
        Err(error) => done(&admin, db, config, Err(error.into())).await,
    }
}
