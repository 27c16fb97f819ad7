//! Personal access tokens on `/account`: made, shown once, revoked.

use crate::web::kit::notice::{Flash, FlashCode, Notice, NoticeCode, Redirected};
use rocket::form::FromForm;
use rocket::http::Status;
use rocket::request::FlashMessage;
use rocket::{State, get, post};

use super::page_or_problem;
use super::view::AccountPage;
use crate::auth::access_tokens;
use crate::db::Db;
use crate::ids::TokenId;
use crate::web::kit::client::SiteOrigin;
use crate::web::kit::confirm::ConfirmPage;
use crate::web::kit::csrf::{Csrf, TokenOnlyForm, csrf_form};
use crate::web::kit::problem::Problem;
use crate::web::kit::reveal::Reveals;
use crate::web::kit::session::CurrentUser;

#[derive(Debug, FromForm)]
pub struct NewTokenForm {
    name: Option<String>,
    csrf_token: Option<String>,
}

csrf_form!(NewTokenForm);

/// Makes the token and goes to the page that shows it, once (post, redirect, get: a reload
/// makes no second token).
#[post("/account/tokens", data = "<form>")]
pub async fn create_token(
    user: CurrentUser,
    form: Csrf<NewTokenForm>,
    db: &State<Db>,
    reveals: &State<Reveals>,
) -> Result<Redirected, (Status, AccountPage)> {
    let name = form.0.name.unwrap_or_default();
    match access_tokens::create(db, user.0.user_id, &name).await {
        Ok(plaintext) => {
            let handle = reveals.put(user.0.user_id, plaintext);
            let created = Flash::naming(FlashCode::TokenCreated, crate::names::echo_name(&name));
            Ok(created.redirect(format!("/account/tokens/new/{handle}")))
        }
        Err(error) => {
            let problem = Problem::token(&error);
            let (_, mut page) = page_or_problem(&user, db).await;
            page.token_error = Some(problem.notice);
            Err((problem.status, page))
        }
    }
}

/// The account page with the new token, the one time it is shown; after that (a reload, a
/// shared link) it says so instead.
// Ranked ahead of `/account/tokens/<id>/revoke`, which would also match `new/<handle>` shapes.
#[get("/account/tokens/new/<handle>", rank = 1)]
pub async fn show_new_token(
    user: CurrentUser,
    handle: &str,
    flash: Option<FlashMessage<'_>>,
    origin: SiteOrigin,
    db: &State<Db>,
    reveals: &State<Reveals>,
) -> (Status, AccountPage) {
    let (status, mut page) = page_or_problem(&user, db).await;
    page.layout = page.layout.with_flash(flash);
    page.site = origin.0;
    match reveals.take(user.0.user_id, handle) {
        Some(token) => page.new_token = Some(token.to_string()),
        None => page.token_error = Some(Notice::new(NoticeCode::TokenAlreadyShown)),
    }
    (status, page)
}

#[post("/account/tokens/<id>/revoke", data = "<_form>")]
pub async fn revoke_token(
    user: CurrentUser,
    id: TokenId,
    _form: Csrf<TokenOnlyForm>,
    db: &State<Db>,
) -> Result<Redirected, Status> {
    match access_tokens::revoke(db, user.0.user_id, id).await {
        Ok(name) => Ok(Flash::naming(FlashCode::TokenRevoked, name).redirect("/account")),
        Err(error) => Err(Problem::token(&error).status),
    }
}

/// The confirmation step: names the token, posts the revocation.
#[get("/account/tokens/<id>/revoke", rank = 2)]
pub async fn confirm_revoke(
    user: CurrentUser,
    id: TokenId,
    db: &State<Db>,
) -> Result<ConfirmPage, Status> {
    let name = access_tokens::name_of(db, user.0.user_id, id)
        .await
        .map_err(|error| Problem::token(&error).status)?;
    Ok(ConfirmPage {
        layout: user.layout(),
        what: "token",
        name,
        action: format!("/account/tokens/{id}/revoke"),
        back: "/account".to_owned(),
    })
}
