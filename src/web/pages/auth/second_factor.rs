//! `/login/two-factor`: the second step of signing in to an account with two-factor sign-in.
//! Only a browser holding a live half-signed-in state (the cookie `/login` set after the right
//! password, for five minutes) sees the form; the session starts when the code is right.

use askama::Template;
use askama_web::WebTemplate;
use rocket::form::FromForm;
use rocket::http::CookieJar;
use rocket::response::Redirect;
use rocket::{State, get, post};

use super::{Door, refused};
use crate::auth::accounts::AccountError;
use crate::auth::passkeys::Passkeys;
use crate::auth::two_factor::TwoFactor;
use crate::web::kit::cookies::{clear_second_factor_cookie, second_factor_cookie};
use crate::web::kit::csrf::{Csrf, csrf_form};
use crate::web::kit::notice::{Flash, FlashCode, Notice, Redirected};
use crate::web::kit::problem::{Problem, Refused};
use crate::web::kit::session::Viewer;
use crate::web::kit::view::Layout;

pub const PATH: &str = "/login/two-factor";

#[derive(Template, WebTemplate)]
#[template(path = "login_two_factor.html")]
pub struct SecondFactorPage {
    layout: Layout,
    username: String,
    error: Option<Notice>,
    /// Which second factors the account has: the code form, the passkey button, or both.
    totp: bool,
    passkey: bool,
}

#[derive(Debug, FromForm)]
pub struct CodeForm {
    code: Option<String>,
    csrf_token: Option<String>,
}

csrf_form!(CodeForm);

/// Back to the password, saying why (the state expired, or there never was one).
fn start_over(cookies: &CookieJar<'_>) -> Redirected {
    clear_second_factor_cookie(cookies);
    Flash::new(FlashCode::SecondFactorExpired).redirect("/login")
}

#[get("/login/two-factor")]
async fn second_factor_page(
    viewer: Viewer,
    cookies: &CookieJar<'_>,
    two_factor: &State<TwoFactor>,
    passkeys: &State<Passkeys>,
) -> Result<SecondFactorPage, Result<Redirected, Refused<SecondFactorPage>>> {
    let Some(cookie) = second_factor_cookie(cookies) else {
        return Err(Ok(start_over(cookies)));
    };
    match two_factor.pending_sign_in(&cookie).await {
        Ok(Some(state)) => {
            let (totp, passkey) = passkeys
                .second_factors(state.user_id)
                .await
                .unwrap_or((true, false));
            Ok(SecondFactorPage {
                layout: viewer.layout(),
                username: state.username,
                error: None,
                totp,
                passkey,
            })
        }
        Ok(None) => Err(Ok(start_over(cookies))),
        Err(error) => {
            let problem = Problem::db(&error);
            Err(Err(Refused::new(
                problem.status,
                SecondFactorPage {
                    layout: viewer.layout(),
                    username: String::new(),
                    error: Some(problem.notice),
                    totp: true,
                    passkey: false,
                },
            )))
        }
    }
}

#[post("/login/two-factor", data = "<form>")]
async fn second_factor(
    door: Door<'_>,
    form: Csrf<CodeForm>,
    two_factor: &State<TwoFactor>,
    passkeys: &State<Passkeys>,
) -> Result<Redirect, Result<Redirected, Refused<SecondFactorPage>>> {
    let Some(cookie) = second_factor_cookie(door.cookies) else {
        return Err(Ok(start_over(door.cookies)));
    };
    let code = zeroize::Zeroizing::new(form.0.code.unwrap_or_default());
    let finished = two_factor
        .finish_sign_in(&cookie, &code, &door.client.addr, &door.client.user_agent)
        .await;
    match finished {
        Ok((session, next)) => {
            door.enter(session).await;
            Ok(Redirect::to(next))
        }
        Err(AccountError::SecondFactorExpired) => Err(Ok(start_over(door.cookies))),
        Err(error) => {
            let state = two_factor.pending_sign_in(&cookie).await.ok().flatten();
            let (totp, passkey) = match &state {
                Some(state) => passkeys
                    .second_factors(state.user_id)
                    .await
                    .unwrap_or((true, false)),
                None => (true, false),
            };
            let username = state.map(|state| state.username).unwrap_or_default();
            Err(Err(refused(&error, |notice| SecondFactorPage {
                layout: door.viewer.layout(),
                username,
                error: Some(notice),
                totp,
                passkey,
            })))
        }
    }
}

pub fn routes() -> Vec<rocket::Route> {
    rocket::routes![second_factor_page, second_factor]
}
