//! Personal access tokens on `/account`: made, shown once, revoked.

use rocket::form::FromForm;
use rocket::http::Status;
use rocket::response::{Flash, Redirect};
use rocket::{State, post};

use super::account::{AccountPage, account_page, failed_page, revoke_own};
use super::session::{Csrf, CurrentUser, csrf_form};
use super::view::{Notice, beijing_time};
use crate::crypto::tokens;
use crate::db::Db;
use crate::db::access_tokens::{self, AccessToken};

/// Tokens start with this, so a leaked one is easy to recognise and search for.
pub const TOKEN_PREFIX: &str = "msb_";

pub struct TokenRow {
    pub id: i64,
    pub name: String,
    pub created: String,
    pub last_used: Option<String>,
}

impl From<AccessToken> for TokenRow {
    fn from(token: AccessToken) -> Self {
        Self {
            id: token.id,
            name: token.name,
            created: beijing_time(token.created_at),
            last_used: token.last_used_at.map(beijing_time),
        }
    }
}

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
    let name = form.0.name.unwrap_or_default().trim().to_owned();
    let made: Result<String, Notice> = if name.is_empty() {
        Err(Notice::new("empty_name"))
    } else if name.chars().count() > 64 || name.chars().any(char::is_control) {
        Err(Notice::new("bad_name"))
    } else {
        let token = tokens::new_token(TOKEN_PREFIX);
        let (user_id, hash) = (user.0.user_id, token.hash.clone());
        match db
            .run(move |conn| access_tokens::insert(conn, user_id, &name, &hash))
            .await
        {
            Ok(Some(_)) => Ok(token.plaintext),
            Ok(None) => Err(Notice::new("too_many_tokens").with_n(access_tokens::MAX_PER_USER)),
            Err(_) => return (Status::InternalServerError, failed_page(&user)),
        }
    };
    let mut page = match account_page(&user, db).await {
        Ok(page) => page,
        Err(status) => return (status, failed_page(&user)),
    };
    match made {
        Ok(plaintext) => {
            page.new_token = Some(plaintext);
            (Status::Ok, page)
        }
        Err(notice) => {
            page.token_error = Some(notice);
            (Status::UnprocessableEntity, page)
        }
    }
}

#[post("/account/tokens/<id>/revoke", data = "<form>")]
pub async fn revoke_token(
    user: CurrentUser,
    id: i64,
    form: Csrf<super::auth::TokenOnlyForm>,
    db: &State<Db>,
) -> Result<Flash<Redirect>, Status> {
    let _ = form;
    revoke_own(db, "token_revoked", move |conn| {
        access_tokens::delete_for_user(conn, user.0.user_id, id)
    })
    .await
}
