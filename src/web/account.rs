//! `/account`: password, sessions, account deletion.

use askama::Template;
use askama_web::WebTemplate;
use rocket::form::FromForm;
use rocket::http::{CookieJar, Status};
use rocket::request::FlashMessage;
use rocket::response::{Flash, Redirect};
use rocket::{State, get, post};

use super::auth::account_notice;
use super::session::{Csrf, CurrentUser, clear_session_cookie, csrf_form};
use super::view::{Layout, Notice, beijing_time};
use crate::auth::accounts;
use crate::db::{Db, sessions};

pub struct SessionRow {
    pub id: i64,
    pub user_agent: String,
    pub created: String,
    pub last_seen: String,
    pub current: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "account.html")]
pub struct AccountPage {
    pub layout: Layout,
    pub username: String,
    pub sessions: Vec<SessionRow>,
    pub password_error: Option<Notice>,
    pub delete_error: Option<Notice>,
    pub tokens: Vec<super::tokens::TokenRow>,
    pub new_token: Option<String>,
    pub token_error: Option<Notice>,
}

#[derive(Debug, FromForm)]
pub struct PasswordForm {
    current_password: Option<String>,
    new_password: Option<String>,
    new_password_confirm: Option<String>,
    csrf_token: Option<String>,
}

csrf_form!(PasswordForm, DeleteForm);

#[derive(Debug, FromForm)]
pub struct DeleteForm {
    password: Option<String>,
    csrf_token: Option<String>,
}

pub async fn account_page(user: &CurrentUser, db: &Db) -> Result<AccountPage, Status> {
    let (user_id, current) = (user.0.user_id, user.0.session_id);
    let (sessions, tokens) = db
        .run(move |conn| {
            Ok((
                sessions::list_for_user(conn, user_id)?,
                crate::db::access_tokens::list_for_user(conn, user_id)?,
            ))
        })
        .await
        .map_err(|_| Status::InternalServerError)?;
    Ok(AccountPage {
        layout: user.layout(),
        username: user.0.username.clone(),
        sessions: sessions
            .into_iter()
            .map(|s| SessionRow {
                id: s.id,
                user_agent: s.user_agent.chars().take(120).collect(),
                created: beijing_time(s.created_at),
                last_seen: beijing_time(s.last_seen_at),
                current: s.id == current,
            })
            .collect(),
        password_error: None,
        delete_error: None,
        tokens: tokens
            .into_iter()
            .map(super::tokens::TokenRow::from)
            .collect(),
        new_token: None,
        token_error: None,
    })
}

#[get("/account")]
pub async fn account(
    user: CurrentUser,
    flash: Option<FlashMessage<'_>>,
    db: &State<Db>,
) -> Result<AccountPage, Status> {
    let mut page = account_page(&user, db).await?;
    page.layout = page.layout.with_flash(flash);
    Ok(page)
}

#[post("/account/password", data = "<form>")]
pub async fn change_password(
    user: CurrentUser,
    form: Csrf<PasswordForm>,
    db: &State<Db>,
) -> Result<Flash<Redirect>, (Status, AccountPage)> {
    let form = form.0;
    let changed = accounts::change_password(
        db,
        user.0.user_id,
        user.0.session_id,
        form.current_password.as_deref().unwrap_or(""),
        form.new_password.as_deref().unwrap_or(""),
        form.new_password_confirm.as_deref().unwrap_or(""),
    )
    .await;
    match changed {
        Ok(_) => Ok(Flash::success(Redirect::to("/account"), "password_changed")),
        Err(error) => {
            let mut page = account_page(&user, db)
                .await
                .map_err(|status| (status, failed_page(&user)))?;
            page.password_error = account_notice(&error);
            Err((Status::UnprocessableEntity, page))
        }
    }
}

#[post("/account/sessions/<id>/revoke", data = "<form>")]
pub async fn revoke_session(
    user: CurrentUser,
    id: i64,
    form: Csrf<super::auth::TokenOnlyForm>,
    db: &State<Db>,
) -> Result<Flash<Redirect>, Status> {
    let _ = form;
    revoke_own(db, "session_revoked", move |conn| {
        sessions::delete_for_user(conn, user.0.user_id, id)
    })
    .await
}

/// Runs `delete` for one of the user's own rows (a session, a token) and goes back to
/// `/account` with `flash`; 404 when the row is not theirs.
pub async fn revoke_own(
    db: &Db,
    flash: &'static str,
    delete: impl FnOnce(&rusqlite::Connection) -> Result<bool, crate::db::DbError> + Send + 'static,
) -> Result<Flash<Redirect>, Status> {
    let revoked = db
        .run(move |conn| delete(conn))
        .await
        .map_err(|_| Status::InternalServerError)?;
    if !revoked {
        return Err(Status::NotFound);
    }
    Ok(Flash::success(Redirect::to("/account"), flash))
}

#[post("/account/delete", data = "<form>")]
pub async fn delete_account(
    user: CurrentUser,
    form: Csrf<DeleteForm>,
    cookies: &CookieJar<'_>,
    db: &State<Db>,
) -> Result<Flash<Redirect>, (Status, AccountPage)> {
    let password = form.0.password.unwrap_or_default();
    match accounts::delete_account(db, user.0.user_id, &password).await {
        Ok(()) => {
            clear_session_cookie(cookies);
            Ok(Flash::success(Redirect::to("/login"), "account_deleted"))
        }
        Err(error) => {
            let mut page = account_page(&user, db)
                .await
                .map_err(|status| (status, failed_page(&user)))?;
            page.delete_error = account_notice(&error);
            Err((Status::UnprocessableEntity, page))
        }
    }
}

/// The bare page when even listing sessions failed.
pub fn failed_page(user: &CurrentUser) -> AccountPage {
    AccountPage {
        layout: user.layout(),
        username: user.0.username.clone(),
        sessions: Vec::new(),
        password_error: None,
        delete_error: None,
        tokens: Vec::new(),
        new_token: None,
        token_error: None,
    }
}
