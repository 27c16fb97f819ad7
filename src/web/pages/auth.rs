//! `/signup`, `/login`, `POST /logout`.

use askama::Template;
use askama_web::WebTemplate;
use rocket::form::FromForm;
use rocket::http::{CookieJar, Status};
use rocket::outcome::try_outcome;
use rocket::request::{self, FlashMessage, FromRequest, Request};
use rocket::response::{Flash, Redirect};
use rocket::{State, get, post};

use crate::auth::accounts::{self, AccountError, NewSession};
use crate::config::AppConfig;
use crate::db::Db;
use crate::names;
use crate::web::kit::client::ClientInfo;
use crate::web::kit::cookies::{clear_session_cookie, set_session_cookie};
use crate::web::kit::csrf::{Csrf, TokenOnlyForm, csrf_form};
use crate::web::kit::keep_key::{CarriedKey, KeepKeyPage};
use crate::web::kit::no_store::NoStore;
use crate::web::kit::problem::{Problem, Refused};
use crate::web::kit::session::{CurrentUser, Viewer, safe_next};
use crate::web::kit::view::{Layout, Notice, UserChrome};

#[derive(Template, WebTemplate)]
#[template(path = "signup.html")]
pub struct SignupPage {
    layout: Layout,
    open: bool,
    username: String,
    error: Option<Notice>,
    /// The quick page's key, carried in hidden fields to be offered for saving after sign-up.
    carried: Option<CarriedKey>,
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
    /// The quick page's key and its site, carried through sign-up (see `web::kit::keep_key`).
    api_key: Option<String>,
    site: Option<String>,
    csrf_token: Option<String>,
}

/// Where a new account goes: the dashboard, or first the offer to save the quick page's key.
#[derive(rocket::Responder)]
pub enum SignedUp {
    Welcome(Flash<Redirect>),
    KeepKey(NoStore<KeepKeyPage>),
}

/// The quick page's "sign up and keep this key": the key and its site.
#[derive(Debug, FromForm)]
pub struct KeepForm {
    api_key: Option<String>,
    site: Option<String>,
    csrf_token: Option<String>,
}

csrf_form!(CredentialsForm, KeepForm);

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

impl Door<'_> {
    /// The answer to a sign-up that carried the quick page's key: a page, in the new session,
    /// that offers to save it. Should the new session not be read back, the key is let go and
    /// the dashboard welcomes the user as usual.
    async fn offer_key(&self, cookie: &str, key: CarriedKey) -> SignedUp {
        match accounts::session_for_cookie(self.db, cookie).await {
            Ok(Some(session)) => {
                let chrome = UserChrome {
                    username: session.username,
                };
                let layout = Layout::new(Some(chrome), session.csrf_token, self.viewer.lang);
                SignedUp::KeepKey(NoStore(KeepKeyPage { layout, key }))
            }
            Ok(None) | Err(_) => {
                tracing::warn!("the new session could not be read back to offer the key");
                SignedUp::Welcome(Flash::success(Redirect::to("/"), "signed_up"))
            }
        }
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

#[get("/signup")]
pub fn signup_page(viewer: Viewer, config: &State<AppConfig>) -> SignupPage {
    SignupPage {
        layout: viewer.layout(),
        open: config.allow_signup,
        username: String::new(),
        error: None,
        carried: None,
    }
}

/// The quick page's "sign up and keep this key": the sign-up form, carrying the key (a
/// signed-in user saves keys on `/keys`).
#[post("/signup/keep", data = "<form>")]
pub fn signup_keeping(viewer: Viewer, form: Csrf<KeepForm>, config: &State<AppConfig>) -> Keeping {
    if viewer.user.is_some() {
        return Keeping::SignedIn(Redirect::to("/keys"));
    }
    let form = form.0;
    Keeping::Form(NoStore(SignupPage {
        // The language switch goes back to the sign-up form, which a GET can show.
        layout: viewer.layout().at("/signup"),
        open: config.allow_signup,
        username: String::new(),
        error: None,
        carried: CarriedKey::from_form(form.api_key.as_deref(), form.site.as_deref()),
    }))
}

/// The answer to "sign up and keep this key": the sign-up form carrying it, or for a signed-in
/// user the keys page.
#[derive(rocket::Responder)]
pub enum Keeping {
    Form(NoStore<SignupPage>),
    SignedIn(Redirect),
}

#[post("/signup", data = "<form>")]
pub async fn signup(
    door: Door<'_>,
    form: Csrf<CredentialsForm>,
) -> Result<SignedUp, NoStore<Refused<SignupPage>>> {
    let form = form.0;
    let open = door.config.allow_signup;
    let mut page = SignupPage {
        layout: door.viewer.layout(),
        open,
        username: typed_username(&form.username),
        error: None,
        carried: CarriedKey::from_form(form.api_key.as_deref(), form.site.as_deref()),
    };
    if !open {
        page.error = Some(Notice::new("signup_closed"));
        return Err(NoStore(Refused::new(Status::Forbidden, page)));
    }
    let created = accounts::sign_up(
        door.db,
        form.username.as_deref().unwrap_or(""),
        form.password.as_deref().unwrap_or(""),
        form.password_confirm.as_deref().unwrap_or(""),
        &door.client.addr,
        door.config.signups_per_address_per_hour,
        &door.client.user_agent,
    )
    .await;
    match created {
        Ok(session) => {
            let cookie = session.cookie_token.clone();
            door.enter(session).await;
            match page.carried {
                Some(key) => Ok(door.offer_key(&cookie, key).await),
                None => Ok(SignedUp::Welcome(Flash::success(
                    Redirect::to("/"),
                    "signed_up",
                ))),
            }
        }
        Err(error) => Err(NoStore(refused(&error, |notice| SignupPage {
            error: Some(notice),
            ..page
        }))),
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
) -> Flash<Redirect> {
    let _ = form;
    if let Err(error) = accounts::sign_out(db, user.0.session_id).await {
        tracing::error!(%error, "sign-out failed");
    }
    clear_session_cookie(cookies);
    Flash::success(Redirect::to("/login"), "signed_out")
}

pub fn routes() -> Vec<rocket::Route> {
    rocket::routes![
        signup_page,
        signup_keeping,
        signup,
        login_page,
        login,
        logout
    ]
}
