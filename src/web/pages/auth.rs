//! `/signup`, `/login`, `POST /logout`.

use askama::Template;
use askama_web::WebTemplate;
use rocket::form::FromForm;
use rocket::http::{CookieJar, Status};
use rocket::outcome::try_outcome;
use rocket::request::{self, FlashMessage, FromRequest, Request};
use rocket::response::Redirect;
use rocket::{State, get, post};

use crate::auth::accounts::{self, AccountError, NewSession};
use crate::auth::signup::{self as signups, Gate, SignupMode};
use crate::config::AppConfig;
use crate::db::Db;
use crate::names;
use crate::web::kit::client::ClientInfo;
use crate::web::kit::cookies::{clear_session_cookie, set_session_cookie};
use crate::web::kit::csrf::{Csrf, TokenOnlyForm, csrf_form};
use crate::web::kit::notice::{Flash, FlashCode, Notice, Redirected};
use crate::web::kit::problem::{Problem, Refused};
use crate::web::kit::session::{CurrentUser, Viewer, safe_next};
use crate::web::kit::view::Layout;

#[derive(Template, WebTemplate)]
#[template(path = "signup.html")]
pub struct SignupPage {
    layout: Layout,
    /// Whether the form is offered (open, or a live invitation).
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

/// What signing up and signing in need: who is at the door (the session this browser holds,
/// its address and device), the cookie jar the new session goes in, the settings and the store.
pub struct Door<'r> {
    viewer: Viewer,
    client: ClientInfo,
    cookies: &'r CookieJar<'r>,
    config: &'r State<AppConfig>,
    db: &'r Db,
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Door<'r> {
    type Error = ();

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, ()> {
        let viewer = try_outcome!(request.guard::<Viewer>().await);
        let client = try_outcome!(request.guard::<ClientInfo>().await);
        let config = try_outcome!(request.guard::<&State<AppConfig>>().await);
        let db = try_outcome!(request.guard::<&State<Db>>().await);
        request::Outcome::Success(Self {
            viewer,
            client,
            cookies: request.cookies(),
            config,
            db: db.inner(),
        })
    }
}

impl Door<'_> {
    /// Starts `session` in this browser: a session it held before ends with the new one.
    async fn enter(&self, session: NewSession) {
        if let Some(old) = &self.viewer.user {
            let _ = accounts::sign_out(self.db, old.session_id).await;
        }
        set_session_cookie(self.cookies, self.config, session.cookie_token);
    }
}

/// The page again, with why the account refused (and when to try again, for a throttle).
fn refused<P>(error: &AccountError, page: impl FnOnce(Notice) -> P) -> Refused<P> {
    let problem = Problem::account(error);
    Refused {
        status: problem.status,
        retry_after_secs: error.retry_after_secs(),
        page: page(problem.notice),
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
    let page = SignupPage {
        layout: viewer.layout(),
        open: false,
        invite: String::new(),
        username: String::new(),
        error: None,
    };
    match signups::check_gate(db, &gate, &client.addr).await {
        Ok(_) => Refused::new(
            Status::Ok,
            SignupPage {
                open: true,
                invite: gate.invitation.unwrap_or_default(),
                ..page
            },
        ),
        // Closed, or an invitation needed: said plainly, as what the page is for now.
        Err(error @ (AccountError::SignupClosed | AccountError::InvitationNeeded)) => Refused::new(
            Status::Ok,
            SignupPage {
                error: Some(Problem::account(&error).notice),
                ..page
            },
        ),
        Err(error) => refused(&error, |notice| SignupPage {
            error: Some(notice),
            ..page
        }),
    }
}

#[post("/signup", data = "<form>")]
pub async fn signup(
    door: Door<'_>,
    form: Csrf<CredentialsForm>,
) -> Result<Redirected, Refused<SignupPage>> {
    let form = form.0;
    let gate = gate(door.config, form.invite.as_deref());
    let created = signups::sign_up(
        door.db,
        form.username.as_deref().unwrap_or(""),
        form.password.as_deref().unwrap_or(""),
        form.password_confirm.as_deref().unwrap_or(""),
        &door.client.addr,
        door.config.signups_per_address_per_hour,
        &door.client.user_agent,
        &gate,
    )
    .await;
    match created {
        Ok(session) => {
            door.enter(session).await;
            Ok(Flash::new(FlashCode::SignedUp).redirect("/"))
        }
        Err(error) => {
            // The form again, unless sign-up itself is what was refused.
            let gate_refused = matches!(
                error,
                AccountError::SignupClosed
                    | AccountError::InvitationNeeded
                    | AccountError::BadLink
                    | AccountError::Throttled { .. }
            );
            Err(refused(&error, |notice| SignupPage {
                layout: door.viewer.layout(),
                open: !gate_refused,
                invite: gate.invitation.unwrap_or_default(),
                username: typed_username(&form.username),
                error: Some(notice),
            }))
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
    door: Door<'_>,
    form: Csrf<CredentialsForm>,
) -> Result<Redirect, Refused<LoginPage>> {
    let form = form.0;
    let next = safe_next(form.next.as_deref());
    let signed_in = accounts::sign_in(
        door.db,
        form.username.as_deref().unwrap_or(""),
        form.password.as_deref().unwrap_or(""),
        &door.client.addr,
        &door.client.user_agent,
    )
    .await;
    match signed_in {
        Ok(session) => {
            door.enter(session).await;
            Ok(Redirect::to(next))
        }
        Err(error) => Err(refused(&error, |notice| LoginPage {
            layout: door.viewer.layout(),
            username: typed_username(&form.username),
            next,
            error: Some(notice),
        })),
    }
}

#[post("/logout", data = "<form>")]
pub async fn logout(
    user: CurrentUser,
    form: Csrf<TokenOnlyForm>,
    cookies: &CookieJar<'_>,
    db: &State<Db>,
) -> Redirected {
    let _ = form;
    if let Err(error) = accounts::sign_out(db, user.0.session_id).await {
        tracing::error!(%error, "sign-out failed");
    }
    clear_session_cookie(cookies);
    Flash::new(FlashCode::SignedOut).redirect("/login")
}

pub fn routes() -> Vec<rocket::Route> {
    rocket::routes![signup_page, signup, login_page, login, logout]
}
