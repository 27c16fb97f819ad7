//! Personal access tokens on `/account`: made, shown once, revoked.

use rocket::form::FromForm;
use rocket::http::Status;
use rocket::response::{Flash, Redirect};
use rocket::{State, post};

use super::page_or_problem;
use super::view::AccountPage;
use crate::auth::access_tokens;
use crate::db::Db;
use crate::ids::TokenId;
use crate::web::problem::Problem;
use crate::web::session::{Csrf, CurrentUser, TokenOnlyForm, csrf_form};

#[derive(Debug, FromForm)]
pub struct NewTokenForm {
    name: Option<String>,
    csrf_token: Option<String>,
}

csrf_form!(NewTokenForm);

/// Answers with the account page showing the new token once; it is never shown again.
#[post("/account/tokens", data = "<form>")]
pub async fn create_token(
    user: CurrentUser,
    form: Csrf<NewTokenForm>,
    db: &State<Db>,
) -> (Status, AccountPage) {
    let name = form.0.name.unwrap_or_default();
    let made = access_tokens::create(db, user.0.user_id, &name).await;
    let (status, mut page) = page_or_problem(&user, db).await;
    match made {
        Ok(plaintext) => {
            page.new_token = Some(plaintext);
            (status, page)
        }
        Err(error) => {
            let problem = Problem::token(&error);
            page.token_error = Some(problem.notice);
            (problem.status, page)
        }
    }
}

#[post("/account/tokens/<id>/revoke", data = "<form>")]
pub async fn revoke_token(
    user: CurrentUser,
    id: TokenId,
    form: Csrf<TokenOnlyForm>,
    db: &State<Db>,
) -> Result<Flash<Redirect>, Status> {
    let _ = form;
    match access_tokens::revoke(db, user.0.user_id, id).await {
        Ok(()) => Ok(Flash::success(Redirect::to("/account"), "token_revoked")),
        Err(error) => Err(Problem::token(&error).status),
    }
}
