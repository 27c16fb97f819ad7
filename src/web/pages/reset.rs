//! `/reset/<code>`: the one-time password-reset link an admin handed over. The page names the
//! account and asks for the new password; the link then stops working and every session of
//! the account ends. Unknown codes are throttled per address like failed passwords.

use askama::Template;
use askama_web::WebTemplate;
use rocket::form::FromForm;
use rocket::http::Status;
use rocket::{Route, State, get, post};

use crate::auth::accounts::AccountError;
use crate::auth::password_reset;
use crate::db::Db;
use crate::web::kit::client::ClientInfo;
use crate::web::kit::csrf::{Csrf, csrf_form};
use crate::web::kit::notice::{Flash, FlashCode, Notice, Redirected};
use crate::web::kit::problem::{Problem, Refused};
use crate::web::kit::session::Viewer;
use crate::web::kit::view::Layout;

pub fn routes() -> Vec<Route> {
    rocket::routes![reset_page, reset]
}

#[derive(Template, WebTemplate)]
#[template(path = "reset.html")]
pub struct ResetPage {
    layout: Layout,
    /// The account the link resets; empty when the link does not work.
    username: String,
    action: String,
    error: Option<Notice>,
}

#[derive(Debug, FromForm)]
pub struct ResetForm {
    password: Option<String>,
    password_confirm: Option<String>,
    csrf_token: Option<String>,
}

csrf_form!(ResetForm);

#[get("/reset/<code>")]
async fn reset_page(
    viewer: Viewer,
    code: &str,
    client: ClientInfo,
    db: &State<Db>,
) -> Refused<ResetPage> {
    let mut page = ResetPage {
        layout: viewer.layout(),
        username: String::new(),
        action: format!("{}{code}", password_reset::PATH),
        error: None,
    };
    match password_reset::account_for(db, code, &client.addr).await {
        Ok(username) => {
            page.username = username;
            Refused::new(Status::Ok, page)
        }
        Err(error) => {
            let problem = Problem::account(&error);
            page.error = Some(problem.notice);
            Refused {
                status: problem.status,
                retry_after_secs: error.retry_after_secs(),
                page,
            }
        }
    }
}

#[post("/reset/<code>", data = "<form>")]
async fn reset(
    viewer: Viewer,
    code: &str,
    form: Csrf<ResetForm>,
    client: ClientInfo,
    db: &State<Db>,
) -> Result<Redirected, Refused<ResetPage>> {
    let form = form.0;
    let password = zeroize::Zeroizing::new(form.password.unwrap_or_default());
    let confirmation = zeroize::Zeroizing::new(form.password_confirm.unwrap_or_default());
    match password_reset::complete(db, code, &client.addr, &password, &confirmation).await {
        Ok(()) => Ok(Flash::new(FlashCode::PasswordReset).redirect("/login")),
        Err(error) => {
            let problem = Problem::account(&error);
            // The form again while the link works; a link that does not work has no form.
            let username = match error {
                AccountError::BadLink | AccountError::Throttled { .. } => String::new(),
                _ => password_reset::account_for(db, code, &client.addr)
                    .await
                    .unwrap_or_default(),
            };
            Err(Refused {
                status: problem.status,
                retry_after_secs: error.retry_after_secs(),
                page: ResetPage {
                    layout: viewer.layout(),
                    username,
                    action: format!("{}{code}", password_reset::PATH),
                    error: Some(problem.notice),
                },
            })
        }
    }
}
