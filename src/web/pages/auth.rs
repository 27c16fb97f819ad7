//! `/signup`, `/login`, `POST /logout`.

use askama::Template;
use askama_web::WebTemplate;
use rocket::form::FromForm;
use rocket::http::{CookieJar, Status};
use rocket::request::FlashMessage;
use rocket::response::{Flash, Redirect};
use rocket::{State, get, post};

use crate::auth::accounts::{self, AccountError};
use crate::auth::signup::{self as signups, Gate, SignupMode};
use crate::config::AppConfig;
use crate::db::Db;
use crate::names;
use crate::web::kit::client::ClientInfo;
use crate::web::kit::cookies::{clear_session_cookie, set_session_cookie};
use crate::web::kit::csrf::{Csrf, TokenOnlyForm, csrf_form};
use crate::web::kit::problem::{Problem, Refused};
use crate::web::kit::session::{CurrentUser, Viewer, safe_next};
use crate::web::kit::view::{Layout, Notice};

#[derive(Template, WebTemplate)]
#[template(path = "signup.html")]
pub struct SignupPage {
    layout: Layout,
    /// Whether the form is offered (open, the first account, or a live invitation).
    open: bool,
    /// The invitation the form carries (the code from the link), if any.
    invite: String,
    username: String,
    error: Option<Notice>,
}

#[derive(Template, WebTemplate)]
#[template(path = "login.html")]
pub struct LoginPage {
    layout: Layout,
    username: String,
    next: String,
    error: Option<Notice>,
}

#[derive(Debug, FromForm)]
pub struct CredentialsForm {
    username: Option<String>,
    password: Option<String>,
    password_confirm: Option<String>,
    next: Option<String>,
    invite: Option<String>,
    csrf_token: Option<String>,
}

csrf_form!(CredentialsForm);

/// The sign-up gate of a request: the configured default mode and the invitation it carries.
fn gate(config: &AppConfig, invite: Option<&str>) -> Gate {
    Gate {
        default_mode: SignupMode::configured(config.default_signup_mode()),
        invitation: invite
            .map(str::trim)
            .filter(|code| !code.is_empty())
            .map(str::to_owned),
    }
}

/// A form's username as typed, cut and cleaned to be echoed back (see `names::echo_name`).
fn typed_username(raw: &Option<String>) -> String {
    names::echo_name(raw.as_deref().unwrap_or(""))
}

#[get("/signup?<invite>")]
pub async fn signup_page(
    viewer: Viewer,
    invite: Option<&str>,
    client: ClientInfo,
    config: &State<AppConfig>,
    db: &State<Db>,
) -> Refused<SignupPage> {
    let gate = gate(config, invite);
    let mut page = SignupPage {
        layout: viewer.layout(),
        open: false,
        invite: String::new(),
        username: String::new(),
        error: None,
    };
    match signups::check_gate(db, &gate, &client.addr).await {
        Ok(_) => {
            page.open = true;
            page.invite = gate.invitation.unwrap_or_default();
            Refused::new(Status::Ok, page)
        }
        // Closed, or an invitation needed: said plainly, as what the page is for now.
        Err(error @ (AccountError::SignupClosed | AccountError::InvitationNeeded)) => {
            page.error = Some(Problem::account(&error).notice);
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

#[post("/signup", data = "<form>")]
pub async fn signup(
    viewer: Viewer,
    form: Csrf<CredentialsForm>,
    client: ClientInfo,
    cookies: &CookieJar<'_>,
    config: &State<AppConfig>,
    db: &State<Db>,
) -> Result<Flash<Redirect>, Refused<SignupPage>> {
    let form = form.0;
    let gate = gate(config, form.invite.as_deref());
    let created = signups::sign_up(
        db,
        form.username.as_deref().unwrap_or(""),
        form.password.as_deref().unwrap_or(""),
        form.password_confirm.as_deref().unwrap_or(""),
        &client.addr,
        config.signups_per_address_per_hour,
        &client.user_agent,
        &gate,
    )
    .await;
    match created {
        Ok(session) => {
            // As at sign-in: a session this browser held ends with the new one.
            if let Some(old) = &viewer.user {
                let _ = accounts::sign_out(db, old.session_id).await;
            }
            set_session_cookie(cookies, config, session.cookie_token);
            Ok(Flash::success(Redirect::to("/"), "signed_up"))
        }
        Err(error) => {
            let problem = Problem::account(&error);
            // The form again, unless sign-up itself is what was refused.
            let refused_gate = matches!(
                error,
                AccountError::SignupClosed
                    | AccountError::InvitationNeeded
                    | AccountError::BadLink
                    | AccountError::Throttled { .. }
            );
            Err(Refused {
                status: problem.status,
                retry_after_secs: error.retry_after_secs(),
                page: SignupPage {
                    layout: viewer.layout(),
                    open: !refused_gate,
                    invite: gate.invitation.unwrap_or_default(),
                    username: typed_username(&form.username),
                    error: Some(problem.notice),
                },
            })
        }
    }
}

#[get("/login?<next>")]
pub fn login_page(
    viewer: Viewer,
    next: Option<&str>,
    flash: Option<FlashMessage<'_>>,
) -> LoginPage {
    LoginPage {
        layout: viewer.layout().with_flash(flash),
        username: String::new(),
        next: safe_next(next),
        error: None,
    }
}

#[post("/login", data = "<form>")]
pub async fn login(
    viewer: Viewer,
    form: Csrf<CredentialsForm>,
    client: ClientInfo,
    cookies: &CookieJar<'_>,
    config: &State<AppConfig>,
    db: &State<Db>,
) -> Result<Redirect, Refused<LoginPage>> {
    let form = form.0;
    let next = safe_next(form.next.as_deref());
    let signed_in = accounts::sign_in(
        db,
        form.username.as_deref().unwrap_or(""),
        form.password.as_deref().unwrap_or(""),
        &client.addr,
        &client.user_agent,
    )
    .await;
    match signed_in {
        Ok(session) => {
            // A sign-in always starts a new session; an old one in this browser ends.
            if let Some(old) = viewer.user {
                let _ = accounts::sign_out(db, old.session_id).await;
            }
            set_session_cookie(cookies, config, session.cookie_token);
            Ok(Redirect::to(next))
        }
        Err(error) => {
            let problem = Problem::account(&error);
            Err(Refused {
                status: problem.status,
                retry_after_secs: error.retry_after_secs(),
                page: LoginPage {
                    layout: viewer.layout(),
                    username: typed_username(&form.username),
                    next,
                    error: Some(problem.notice),
                },
            })
        }
    }
}

#[post("/logout", data = "<form>")]
pub async fn logout(
    user: CurrentUser,
    form: Csrf<TokenOnlyForm>,
    cookies: &CookieJar<'_>,
    db: &State<Db>,
) -> Flash<Redirect> {
    let _ = form;
    if let Err(error) = accounts::sign_out(db, user.0.session_id).await {
        tracing::error!(%error, "sign-out failed");
    }
    clear_session_cookie(cookies);
    Flash::success(Redirect::to("/login"), "signed_out")
}

pub fn routes() -> Vec<rocket::Route> {
    rocket::routes![signup_page, signup, login_page, login, logout]
}
