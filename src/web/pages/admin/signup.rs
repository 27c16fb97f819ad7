//! Sign-up on `/admin`: the mode (open, invitation only, closed) and the invitations, each link
//! shown once (post, redirect, get), listed without its code, revocable while unused.

use rocket::form::FromForm;
use rocket::http::Status;
use rocket::response::Redirect;
use rocket::{State, get, post};

use super::desk::{Answer, Desk, Place};
use super::view::AdminPage;
use crate::auth::signup::{self, SignupMode};
use crate::ids::InvitationId;
use crate::web::kit::client::SiteOrigin;
use crate::web::kit::csrf::{Csrf, TokenOnlyForm, csrf_form};
use crate::web::kit::notice::{Flash, FlashCode, Notice, NoticeCode};
use crate::web::kit::problem::Problem;
use crate::web::kit::reveal::Reveals;

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

#[post("/admin/signup", data = "<form>")]
pub async fn set_mode(desk: Desk<'_>, form: Csrf<ModeForm>) -> Answer {
    let Some(mode) = form.0.mode.as_deref().and_then(SignupMode::parse) else {
        let notice = Notice::new(NoticeCode::BadSignupMode).on("mode");
        return Err(desk
            .refused(Status::UnprocessableEntity, notice, Place::Signup)
            .await);
    };
    if let Err(error) = signup::set_mode(desk.db, mode).await {
        let problem = Problem::db(&error);
        return Err(desk
            .refused(problem.status, problem.notice, Place::Signup)
            .await);
    }
    Ok(Flash::naming(FlashCode::SignupMode, mode.as_str()).redirect("/admin"))
}

#[post("/admin/invitations", data = "<form>")]
pub async fn invite(
    desk: Desk<'_>,
    form: Csrf<InviteForm>,
    reveals: &State<Reveals>,
) -> Result<Redirect, (Status, AdminPage)> {
    let days = match form.0.days.as_deref().map(str::trim) {
        None | Some("") => Some(desk.config.invitation_days),
        Some(text) => text
            .parse::<u32>()
            .ok()
            .filter(|d| (1..=MAX_DAYS).contains(d)),
    };
    let Some(days) = days else {
        let notice = Notice::new(NoticeCode::BadInvitationDays)
            .with_n(i64::from(MAX_DAYS))
            .on("days");
        return Err(desk
            .refused(Status::UnprocessableEntity, notice, Place::Invitations)
            .await);
    };
    match signup::invite(desk.db, desk.user_id(), days).await {
        Ok(code) => {
            let handle = reveals.put(desk.user_id(), code);
            Ok(Redirect::to(format!("/admin/invitations/new/{handle}")))
        }
        Err(error) => {
            let problem = Problem::db(&error);
            Err(desk
                .refused(problem.status, problem.notice, Place::Invitations)
                .await)
        }
    }
}

/// The page with the new invitation's link, the one time it is shown.
#[get("/admin/invitations/new/<handle>")]
pub async fn show_invitation(
    desk: Desk<'_>,
    handle: &str,
    origin: SiteOrigin,
    reveals: &State<Reveals>,
) -> (Status, AdminPage) {
    let (status, mut page, code) = desk.revealed(reveals, handle, Place::Invitations).await;
    if let Some(code) = code {
        page.new_invitation = Some(format!("{}{}", origin.0, signup::invitation_path(&code)));
    }
    (status, page)
}

#[post("/admin/invitations/<id>/revoke", data = "<_form>")]
pub async fn revoke_invitation(
    desk: Desk<'_>,
    id: InvitationId,
    _form: Csrf<TokenOnlyForm>,
) -> Answer {
    match signup::revoke(desk.db, id).await {
        Ok(true) => Ok(Flash::new(FlashCode::InvitationRevoked).redirect("/admin")),
        Ok(false) => {
            let notice = Notice::new(NoticeCode::InvitationNotFound);
            Err(desk
                .refused(Status::NotFound, notice, Place::Invitations)
                .await)
        }
        Err(error) => desk.done(Err(error.into())).await,
    }
}
