//! The account page's single sign-on card: the identities linked to the account, and its email
//! (`POST /account/email`, with the password), which a first single sign-on may be linked by
//! when the admin allows it.

use rocket::form::FromForm;
use rocket::http::Status;
use rocket::{State, post};

use super::page_or_problem;
use super::view::AccountPage;
use crate::auth::sso::email::{self, EmailError};
use crate::config::AppConfig;
use crate::db::Db;
use crate::web::kit::client::ClientInfo;
use crate::web::kit::csrf::{Csrf, csrf_form};
use crate::web::kit::notice::{Flash, FlashCode, Notice, NoticeCode, Redirected};
use crate::web::kit::problem::{Problem, Refused};
use crate::web::kit::session::CurrentUser;

#[derive(Debug, FromForm)]
pub struct EmailForm {
    email: Option<String>,
    current_password: Option<String>,
    csrf_token: Option<String>,
}

csrf_form!(EmailForm);

#[post("/account/email", data = "<form>")]
pub async fn set_email(
    user: CurrentUser,
    form: Csrf<EmailForm>,
    client: ClientInfo,
    config: &State<AppConfig>,
    db: &State<Db>,
) -> Result<Redirected, Refused<AccountPage>> {
    let form = form.0;
    let password = zeroize::Zeroizing::new(form.current_password.unwrap_or_default());
    let typed = form.email.unwrap_or_default();
    match email::set_email(db, user.0.user_id, &client.addr, &password, &typed).await {
        Ok(Some(_)) => Ok(Flash::new(FlashCode::EmailSaved).redirect("/account")),
        Ok(None) => Ok(Flash::new(FlashCode::EmailCleared).redirect("/account")),
        Err(error) => {
            let (status, notice, retry_after_secs) = match &error {
                EmailError::Bad => (
                    Status::UnprocessableEntity,
                    Notice::new(NoticeCode::BadEmail).on("email"),
                    None,
                ),
                EmailError::Taken => (
                    Status::Conflict,
                    Notice::new(NoticeCode::EmailTaken).on("email"),
                    None,
                ),
                EmailError::Account(error) => {
                    let problem = Problem::account(error);
                    (problem.status, problem.notice, error.retry_after_secs())
                }
            };
            let (_, mut page) = page_or_problem(&user, db).await;
            page.sso_on = config.oidc().is_some();
            page.email_typed = crate::names::echo_name(&typed);
            page.email_error = Some(notice);
            Err(Refused {
                status,
                retry_after_secs,
                page,
            })
        }
    }
}
