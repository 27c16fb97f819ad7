//! `/account`: password, sessions, two-factor sign-in, passkeys, single sign-on and the
//! account's email, access tokens, account deletion.

mod passkeys;
mod sso;
mod tokens;
mod two_factor;
mod view;

use crate::web::kit::notice::{Flash, FlashCode, Redirected};
use rocket::form::FromForm;
use rocket::http::{CookieJar, Status};
use rocket::request::FlashMessage;
use rocket::{Route, State, get, post};

use crate::auth::accounts;
use crate::db::{Db, sessions};
use crate::ids::SessionId;
use crate::web::kit::client::ClientInfo;
use crate::web::kit::cookies::clear_session_cookie;
use crate::web::kit::csrf::{Csrf, TokenOnlyForm, csrf_form};
use crate::web::kit::problem::{Problem, Refused};
use crate::web::kit::session::CurrentUser;
use view::AccountPage;

pub fn routes() -> Vec<Route> {
    let mut routes = rocket::routes![
        account,
        change_password,
        revoke_session,
        sign_out_others,
        delete_account,
        tokens::create_token,
        tokens::show_new_token,
        tokens::revoke_token,
        tokens::confirm_revoke,
        sso::set_email,
    ];
    routes.extend(two_factor::routes());
    routes.extend(passkeys::routes());
    routes
}

#[derive(Debug, FromForm)]
pub struct PasswordForm {
    current_password: Option<String>,
    new_password: Option<String>,
    new_password_confirm: Option<String>,
    csrf_token: Option<String>,
}

#[derive(Debug, FromForm)]
pub struct DeleteForm {
    password: Option<String>,
    csrf_token: Option<String>,
}

csrf_form!(PasswordForm, DeleteForm);

/// The account page, or the bare page with the reason its lists are missing.
async fn page_or_problem(user: &CurrentUser, db: &Db) -> (Status, AccountPage) {
    match AccountPage::load(user, db).await {
        Ok(page) => (Status::Ok, page),
        Err(error) => {
            let problem = Problem::db(&error);
            let mut page = AccountPage::empty(user);
            page.error = Some(problem.notice);
            (problem.status, page)
        }
    }
}

#[get("/account")]
async fn account(
    user: CurrentUser,
    flash: Option<FlashMessage<'_>>,
    config: &State<crate::config::AppConfig>,
    db: &State<Db>,
) -> (Status, AccountPage) {
    let (status, mut page) = page_or_problem(&user, db).await;
    page.layout = page.layout.with_flash(flash);
    page.sso_on = config.oidc().is_some();
    (status, page)
}

#[post("/account/password", data = "<form>")]
async fn change_password(
    user: CurrentUser,
    form: Csrf<PasswordForm>,
    client: ClientInfo,
    db: &State<Db>,
) -> Result<Redirected, Refused<AccountPage>> {
    let form = form.0;
    let changed = accounts::change_password(
        db,
        user.0.user_id,
        user.0.session_id,
        &client.addr,
        form.current_password.as_deref().unwrap_or(""),
        form.new_password.as_deref().unwrap_or(""),
        form.new_password_confirm.as_deref().unwrap_or(""),
    )
    .await;
    match changed {
        Ok(_) => Ok(Flash::new(FlashCode::PasswordChanged).redirect("/account")),
        Err(error) => {
            let problem = Problem::account(&error);
            let (_, mut page) = page_or_problem(&user, db).await;
            page.password_error = Some(problem.notice);
            Err(Refused {
                status: problem.status,
                retry_after_secs: error.retry_after_secs(),
                page,
            })
        }
    }
}

#[post("/account/sessions/<id>/revoke", data = "<_form>")]
async fn revoke_session(
    user: CurrentUser,
    id: SessionId,
    _form: Csrf<TokenOnlyForm>,
    db: &State<Db>,
) -> Result<Redirected, Status> {
    let user_id = user.0.user_id;
    let revoked = db
        .run(move |conn| sessions::delete_for_user(conn, user_id, id))
        .await
        .map_err(|error| Problem::db(&error).status)?;
    if !revoked {
        return Err(Status::NotFound);
    }
    Ok(Flash::new(FlashCode::SessionRevoked).redirect("/account"))
}

/// Ends every session of the user but this one.
#[post("/account/sessions/others", data = "<_form>")]
async fn sign_out_others(
    user: CurrentUser,
    _form: Csrf<TokenOnlyForm>,
    db: &State<Db>,
) -> Result<Redirected, Status> {
    let (user_id, keep) = (user.0.user_id, user.0.session_id);
    let ended = db
        .run(move |conn| sessions::delete_others(conn, user_id, keep))
        .await
        .map_err(|error| Problem::db(&error).status)?;
    Ok(Flash::naming(FlashCode::OtherSessionsEnded, ended.to_string()).redirect("/account"))
}

#[post("/account/delete", data = "<form>")]
async fn delete_account(
    user: CurrentUser,
    form: Csrf<DeleteForm>,
    client: ClientInfo,
    cookies: &CookieJar<'_>,
    db: &State<Db>,
) -> Result<Redirected, Refused<AccountPage>> {
    let password = zeroize::Zeroizing::new(form.0.password.unwrap_or_default());
    match accounts::delete_account(db, user.0.user_id, &client.addr, &password).await {
        Ok(()) => {
            clear_session_cookie(cookies);
            Ok(Flash::new(FlashCode::AccountDeleted).redirect("/login"))
        }
        Err(error) => {
            let problem = Problem::account(&error);
            let (_, mut page) = page_or_problem(&user, db).await;
            page.delete_error = Some(problem.notice);
            Err(Refused {
                status: problem.status,
                retry_after_secs: error.retry_after_secs(),
                page,
            })
        }
    }
}
