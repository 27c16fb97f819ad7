//! `/admin`: the instance's accounts, for admins only (everyone else, signed in or not, gets
//! 404). Every action is a POST with the session's CSRF token; deleting goes through a
//! confirmation page. A password-reset link is shown once (post, redirect, get).

mod desk;
mod health;
mod instance;
mod signup;
mod view;

use rocket::http::Status;
use rocket::request::FlashMessage;
use rocket::response::Redirect;
use rocket::{Route, State, get, post};

use crate::auth::admin;
use crate::auth::password_reset;
use crate::ids::UserId;
use crate::ops::instance_health::{self, Started};
use crate::web::kit::client::SiteOrigin;
use crate::web::kit::confirm::ConfirmPage;
use crate::web::kit::csrf::{Csrf, TokenOnlyForm};
use crate::web::kit::notice::{Flash, FlashCode};
use crate::web::kit::problem::Problem;
use crate::web::kit::reveal::Reveals;
use desk::{Answer, Desk, Place};
use view::{AdminPage, NewLink};

pub fn routes() -> Vec<Route> {
    rocket::routes![
        admin_page,
        disable,
        enable,
        sign_out_everywhere,
        reset_link,
        show_reset_link,
        confirm_delete,
        delete,
        signup::set_mode,
        signup::invite,
        signup::show_invitation,
        signup::revoke_invitation,
        instance::set_price,
    ]
}

#[get("/admin?<page>")]
async fn admin_page(
    desk: Desk<'_>,
    page: Option<i64>,
    flash: Option<FlashMessage<'_>>,
    started: &State<Started>,
) -> (Status, AdminPage) {
    let (status, mut page) = desk.page(page.unwrap_or(1)).await;
    page.layout = page.layout.with_flash(flash);
    let health = instance_health::read(desk.db, desk.config, started).await;
    page.health = Some(health::HealthView::from(&health));
    (status, page)
}

#[post("/admin/users/<id>/disable", data = "<_form>")]
async fn disable(desk: Desk<'_>, id: UserId, _form: Csrf<TokenOnlyForm>) -> Answer {
    let outcome = admin::set_disabled(desk.db, id, true).await;
    desk.done(outcome.map(|name| Flash::naming(FlashCode::UserDisabled, name)))
        .await
}

#[post("/admin/users/<id>/enable", data = "<_form>")]
async fn enable(desk: Desk<'_>, id: UserId, _form: Csrf<TokenOnlyForm>) -> Answer {
    let outcome = admin::set_disabled(desk.db, id, false).await;
    desk.done(outcome.map(|name| Flash::naming(FlashCode::UserEnabled, name)))
        .await
}

#[post("/admin/users/<id>/sign-out", data = "<_form>")]
async fn sign_out_everywhere(desk: Desk<'_>, id: UserId, _form: Csrf<TokenOnlyForm>) -> Answer {
    let outcome = admin::sign_out_everywhere(desk.db, id).await;
    desk.done(outcome.map(|(name, _)| Flash::naming(FlashCode::UserSignedOut, name)))
        .await
}

/// Makes the link and goes to the page that shows it, once.
#[post("/admin/users/<id>/reset-link", data = "<_form>")]
async fn reset_link(
    desk: Desk<'_>,
    id: UserId,
    _form: Csrf<TokenOnlyForm>,
    reveals: &State<Reveals>,
) -> Result<Redirect, (Status, AdminPage)> {
    match admin::reset_link(desk.db, id).await {
        Ok((name, code)) => {
            // The name travels with the code (a name cannot hold a space).
            let handle = reveals.put(desk.user_id(), format!("{name} {code}"));
            Ok(Redirect::to(format!("/admin/reset-links/{handle}")))
        }
        Err(error) => desk.done(Err(error)).await.map(|_| Redirect::to("/admin")),
    }
}

#[get("/admin/reset-links/<handle>")]
async fn show_reset_link(
    desk: Desk<'_>,
    handle: &str,
    origin: SiteOrigin,
    reveals: &State<Reveals>,
) -> (Status, AdminPage) {
    let (status, mut page, held) = desk.revealed(reveals, handle, Place::ResetLink).await;
    if let Some(held) = held {
        let (name, code) = held.split_once(' ').unwrap_or(("", held.as_str()));
        page.reset_link = Some(NewLink {
            username: name.to_owned(),
            url: format!("{}{}{code}", origin.0, password_reset::PATH),
        });
    }
    (status, page)
}

#[get("/admin/users/<id>/delete")]
async fn confirm_delete(desk: Desk<'_>, id: UserId) -> Result<ConfirmPage, Status> {
    let name = admin::username_of(desk.db, id)
        .await
        .map_err(|error| Problem::admin(&error).status)?;
    Ok(ConfirmPage {
        layout: desk.admin.layout(),
        what: "user",
        name,
        action: format!("/admin/users/{id}/delete"),
        back: "/admin".to_owned(),
    })
}

#[post("/admin/users/<id>/delete", data = "<_form>")]
async fn delete(desk: Desk<'_>, id: UserId, _form: Csrf<TokenOnlyForm>) -> Answer {
    let outcome = admin::delete(desk.db, id).await;
    desk.done(outcome.map(|name| Flash::naming(FlashCode::UserDeleted, name)))
        .await
}
