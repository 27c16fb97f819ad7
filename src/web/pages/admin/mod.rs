//! `/admin`: the instance's accounts, for admins only (everyone else, signed in or not, gets
//! 404). Every action is a POST with the session's CSRF token; deleting goes through a
//! confirmation page. A password-reset link is shown once (post, redirect, get).

mod health;
mod instance;
mod signup;
mod view;

use rocket::http::Status;
use rocket::request::FlashMessage;
use rocket::response::Redirect;
use rocket::{Route, State, get, post};

use crate::auth::admin::{self, AdminError};
use crate::auth::password_reset;
use crate::config::AppConfig;
use crate::db::Db;
use crate::ids::UserId;
use crate::ops::instance_health::{self, Started};
use crate::web::kit::client::SiteOrigin;
use crate::web::kit::confirm::ConfirmPage;
use crate::web::kit::csrf::{Csrf, TokenOnlyForm};
use crate::web::kit::notice::{Flash, FlashCode, Notice, NoticeCode, Redirected};
use crate::web::kit::problem::Problem;
use crate::web::kit::reveal::Reveals;
use crate::web::kit::session::Admin;
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

/// The page, or the bare page with the reason its list is missing.
pub(super) async fn page_or_problem(
    admin: &Admin,
    db: &Db,
    config: &AppConfig,
    page: i64,
) -> (Status, AdminPage) {
    match AdminPage::load(admin, db, config, page).await {
        Ok(page) => (Status::Ok, page),
        Err(error) => {
            let problem = Problem::db(&error);
            let mut page = AdminPage::empty(admin);
            page.error = Some(problem.notice);
            (problem.status, page)
        }
    }
}

#[get("/admin?<page>")]
async fn admin_page(
    admin: Admin,
    page: Option<i64>,
    flash: Option<FlashMessage<'_>>,
    db: &State<Db>,
    config: &State<AppConfig>,
    started: &State<Started>,
) -> (Status, AdminPage) {
    let (status, mut page) = page_or_problem(&admin, db, config, page.unwrap_or(1)).await;
    page.layout = page.layout.with_flash(flash);
    let health = instance_health::read(db, config, started).await;
    page.health = Some(health::HealthView::from(&health));
    (status, page)
}

/// After an action: back to the list with a flash, or the list with what went wrong.
pub(super) async fn done(
    admin: &Admin,
    db: &Db,
    config: &AppConfig,
    outcome: Result<Flash, AdminError>,
) -> Result<Redirected, (Status, AdminPage)> {
    match outcome {
        Ok(flash) => Ok(flash.redirect("/admin")),
        Err(error) => {
            let problem = Problem::admin(&error);
            let (_, mut page) = page_or_problem(admin, db, config, 1).await;
            page.error = Some(problem.notice);
            Err((problem.status, page))
        }
    }
}

#[post("/admin/users/<id>/disable", data = "<form>")]
async fn disable(
    admin: Admin,
    id: UserId,
    form: Csrf<TokenOnlyForm>,
    db: &State<Db>,
    config: &State<AppConfig>,
) -> Result<Redirected, (Status, AdminPage)> {
    let _ = form;
    let outcome = admin::set_disabled(db, id, true).await;
    done(
        &admin,
        db,
        config,
        outcome.map(|name| Flash::naming(FlashCode::UserDisabled, name)),
    )
    .await
}

#[post("/admin/users/<id>/enable", data = "<form>")]
async fn enable(
    admin: Admin,
    id: UserId,
    form: Csrf<TokenOnlyForm>,
    db: &State<Db>,
    config: &State<AppConfig>,
) -> Result<Redirected, (Status, AdminPage)> {
    let _ = form;
    let outcome = admin::set_disabled(db, id, false).await;
    done(
        &admin,
        db,
        config,
        outcome.map(|name| Flash::naming(FlashCode::UserEnabled, name)),
    )
    .await
}

#[post("/admin/users/<id>/sign-out", data = "<form>")]
async fn sign_out_everywhere(
    admin: Admin,
    id: UserId,
    form: Csrf<TokenOnlyForm>,
    db: &State<Db>,
    config: &State<AppConfig>,
) -> Result<Redirected, (Status, AdminPage)> {
    let _ = form;
    let outcome = admin::sign_out_everywhere(db, id).await;
    done(
        &admin,
        db,
        config,
        outcome.map(|(name, _)| Flash::naming(FlashCode::UserSignedOut, name)),
    )
    .await
}

/// Makes the link and goes to the page that shows it, once.
#[post("/admin/users/<id>/reset-link", data = "<form>")]
async fn reset_link(
    admin: Admin,
    id: UserId,
    form: Csrf<TokenOnlyForm>,
    db: &State<Db>,
    config: &State<AppConfig>,
    reveals: &State<Reveals>,
) -> Result<Redirect, (Status, AdminPage)> {
    let _ = form;
    match admin::reset_link(db, id).await {
        Ok((name, code)) => {
            // The name travels with the code (a name cannot hold a space).
            let handle = reveals.put(admin.user().user_id, format!("{name} {code}"));
            Ok(Redirect::to(format!("/admin/reset-links/{handle}")))
        }
        Err(error) => done(&admin, db, config, Err(error))
            .await
            .map(|_| Redirect::to("/admin")),
    }
}

#[get("/admin/reset-links/<handle>")]
async fn show_reset_link(
    admin: Admin,
    handle: &str,
    origin: SiteOrigin,
    config: &State<AppConfig>,
    db: &State<Db>,
    reveals: &State<Reveals>,
) -> (Status, AdminPage) {
    let (status, mut page) = page_or_problem(&admin, db, config, 1).await;
    match reveals.take(admin.user().user_id, handle) {
        Some(held) => {
            let (name, code) = held.split_once(' ').unwrap_or(("", held.as_str()));
            page.reset_link = Some(NewLink {
                username: name.to_owned(),
                url: format!("{}{}{code}", origin.0, password_reset::PATH),
            });
        }
        None => page.link_error = Some(Notice::new(NoticeCode::LinkAlreadyShown)),
    }
    (status, page)
}

#[get("/admin/users/<id>/delete")]
async fn confirm_delete(admin: Admin, id: UserId, db: &State<Db>) -> Result<ConfirmPage, Status> {
    let name = admin::username_of(db, id)
        .await
        .map_err(|error| Problem::admin(&error).status)?;
    Ok(ConfirmPage {
        layout: admin.layout(),
        what: "user",
        name,
        action: format!("/admin/users/{id}/delete"),
        back: "/admin".to_owned(),
    })
}

#[post("/admin/users/<id>/delete", data = "<form>")]
async fn delete(
    admin: Admin,
    id: UserId,
    form: Csrf<TokenOnlyForm>,
    db: &State<Db>,
    config: &State<AppConfig>,
) -> Result<Redirected, (Status, AdminPage)> {
    let _ = form;
    let outcome = admin::delete(db, id).await;
    done(
        &admin,
        db,
        config,
        outcome.map(|name| Flash::naming(FlashCode::UserDeleted, name)),
    )
    .await
}
