//! `/signup`, `/login` (and its second step, `second_factor`; passkeys in `passkey`; single
//! sign-on, `sso`),
//! `POST /logout`.

mod passkey;
mod second_factor;
mod sso;

use askama::Template;
use askama_web::WebTemplate;
use rocket::form::FromForm;
use rocket::http::{CookieJar, Status};
use rocket::outcome::try_outcome;
use rocket::request::{self, FlashMessage, FromRequest, Request};
use rocket::response::Redirect;
use rocket::{State, get, post};

use crate::auth::accounts::{self, AccountError, NewSession, SignIn};
use crate::auth::half_signed_in;
use crate::auth::signup::{self as signups, Gate, SignupMode};
use crate::auth::two_factor::TwoFactor;
use crate::config::AppConfig;
use crate::db::Db;
use crate::names;
use crate::web::kit::client::ClientInfo;
use crate::web::kit::cookies::{
    clear_second_factor_cookie, clear_session_cookie, set_second_factor_cookie, set_session_cookie,
};
use crate::web::kit::csrf::{Csrf, TokenOnlyForm, csrf_form};
use crate::web::kit::keep_key::{CarriedKey, KeepKeyPage};
use crate::web::kit::no_store::NoStore;
use crate::web::kit::notice::{Flash, FlashCode, Notice, Redirected};
use crate::web::kit::passkey_json::Rp;
use crate::web::kit::problem::{Problem, Refused};
use crate::web::kit::session::{CurrentUser, Viewer, safe_next};
use crate::web::kit::view::{Layout, UserChrome};

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
    /// The quick page's key, carried in hidden fields to be offered for saving after sign-up.
    carried: Option<CarriedKey>,
    /// Single sign-on's button, when it is on (and sign-up lets the visitor in).
    sso: Option<sso::SsoOffer>,
}

#[derive(Template, WebTemplate)]
#[template(path = "login.html")]
pub struct LoginPage {
    layout: Layout,
    username: String,
    next: String,
    error: Option<Notice>,
    /// Single sign-on's button, when it is on.
    sso: Option<sso::SsoOffer>,
    /// Why single sign-on did not sign the visitor in.
    sso_error: Option<crate::auth::sso::SsoError>,
    /// Whether passkeys can work at this address (`public_url`, or a loopback host): the
    /// button shows only then.
    passkeys: bool,
}

impl LoginPage {
    fn new(layout: Layout, next: String, passkeys: bool) -> Self {
        Self {
            layout,
            username: String::new(),
            next,
            error: None,
            sso: None,
            sso_error: None,
            passkeys,
        }
    }
}

#[derive(Debug, FromForm)]
pub struct CredentialsForm {
    username: Option<String>,
    password: Option<String>,
    password_confirm: Option<String>,
    next: Option<String>,
    invite: Option<String>,
    /// The quick page's key and its site, carried through sign-up (see `web::kit::keep_key`).
    api_key: Option<String>,
    site: Option<String>,
    csrf_token: Option<String>,
}

/// The quick page's "sign up and keep this key": the key and its site.
#[derive(Debug, FromForm)]
pub struct KeepForm {
    api_key: Option<String>,
    site: Option<String>,
    csrf_token: Option<String>,
}

csrf_form!(CredentialsForm, KeepForm);

/// Where a new account goes: the dashboard, or first the offer to save the quick page's key.
#[derive(rocket::Responder)]
pub enum SignedUp {
    Welcome(Redirected),
    KeepKey(NoStore<KeepKeyPage>),
}

/// The answer to "sign up and keep this key": the sign-up form carrying it, or for a signed-in
/// user the keys page.
#[derive(rocket::Responder)]
pub enum Keeping {
    Form(NoStore<Refused<SignupPage>>),
    SignedIn(Redirect),
}

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
    /// Single sign-on, when it is on.
    sso: &'r Option<crate::auth::sso::Sso>,
    /// Whether passkeys can work at the address this browser used.
    passkeys: bool,
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Door<'r> {
    type Error = ();

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, ()> {
        let viewer = try_outcome!(request.guard::<Viewer>().await);
        let client = try_outcome!(request.guard::<ClientInfo>().await);
        let config = try_outcome!(request.guard::<&State<AppConfig>>().await);
        let db = try_outcome!(request.guard::<&State<Db>>().await);
        let sso = try_outcome!(
            request
                .guard::<&State<Option<crate::auth::sso::Sso>>>()
                .await
        );
        let passkeys = try_outcome!(request.guard::<Rp>().await).0.is_ok();
        request::Outcome::Success(Self {
            viewer,
            client,
            cookies: request.cookies(),
            config,
            db: db.inner(),
            sso: sso.inner(),
            passkeys,
        })
    }
}

impl Door<'_> {
    /// Starts `session` in this browser: a session it held before ends with the new one, and
    /// so does a half-signed-in state.
    async fn enter(&self, session: NewSession) {
        if let Some(old) = &self.viewer.user {
            let _ = accounts::sign_out(self.db, old.session_id).await;
        }
        clear_second_factor_cookie(self.cookies);
        set_session_cookie(self.cookies, self.config, session.cookie_token);
    }

    /// The answer to a sign-up that carried the quick page's key: a page, in the new session,
    /// that offers to save it. Should the new session not be read back, the key is let go and
    /// the dashboard welcomes the user as usual.
    async fn offer_key(&self, cookie: &str, key: CarriedKey) -> SignedUp {
        match accounts::session_for_cookie(self.db, cookie).await {
            Ok(Some(session)) => {
                let chrome = UserChrome {
                    username: session.username,
                    is_admin: session.is_admin,
                };
                let layout = Layout::new(Some(chrome), session.csrf_token, self.viewer.lang);
                SignedUp::KeepKey(NoStore(KeepKeyPage { layout, key }))
            }
            Ok(None) | Err(_) => {
                tracing::warn!("the new session could not be read back to offer the key");
                SignedUp::Welcome(Flash::new(FlashCode::SignedUp).redirect("/"))
            }
        }
    }

    /// The login page for a sign-in that goes on to `next`, with single sign-on's button.
    fn login_page(&self, username: &Option<String>, next: String, error: Notice) -> LoginPage {
        LoginPage {
            username: typed_username(username),
            error: Some(error),
            sso: sso::offer(self.config, self.sso, &next, None),
            ..LoginPage::new(self.viewer.layout(), next, self.passkeys)
        }
    }

    /// Holds the half-signed-in state's cookie until the second factor comes.
    fn half_enter(&self, cookie_token: String) {
        set_second_factor_cookie(
            self.cookies,
            self.config,
            cookie_token,
            half_signed_in::LIFETIME_SECS,
        );
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
    sso: &State<Option<crate::auth::sso::Sso>>,
) -> Refused<SignupPage> {
    let mut page = signup_form(viewer.layout(), gate(config, invite), &client, db, None).await;
    // Single sign-on signs up too, where the form is offered (it carries the invitation).
    if page.page.open {
        page.page.sso = sso::offer(config, sso, "/", invite.map(str::trim));
    }
    page
}

/// The quick page's "sign up and keep this key": the sign-up form, carrying the key (a
/// signed-in user saves keys on `/keys`).
#[post("/signup/keep", data = "<form>")]
pub async fn signup_keeping(
    viewer: Viewer,
    form: Csrf<KeepForm>,
    client: ClientInfo,
    config: &State<AppConfig>,
    db: &State<Db>,
) -> Keeping {
    if viewer.user.is_some() {
        return Keeping::SignedIn(Redirect::to("/keys"));
    }
    let carried = CarriedKey::from_form(form.0.api_key.as_deref(), form.0.site.as_deref());
    // The language switch goes back to the sign-up form, which a GET can show.
    let layout = viewer.layout().at("/signup");
    Keeping::Form(NoStore(
        signup_form(layout, gate(config, None), &client, db, carried).await,
    ))
}

/// The sign-up form as the gate allows it: open, or saying why not.
async fn signup_form(
    layout: Layout,
    gate: Gate,
    client: &ClientInfo,
    db: &Db,
    carried: Option<CarriedKey>,
) -> Refused<SignupPage> {
    let page = SignupPage {
        layout,
        open: false,
        invite: String::new(),
        username: String::new(),
        error: None,
        carried,
        sso: None,
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
) -> Result<SignedUp, NoStore<Refused<SignupPage>>> {
    let form = form.0;
    let gate = gate(door.config, form.invite.as_deref());
    let carried = CarriedKey::from_form(form.api_key.as_deref(), form.site.as_deref());
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
            let cookie = session.cookie_token.clone();
            door.enter(session).await;
            Ok(match carried {
                Some(key) => door.offer_key(&cookie, key).await,
                None => SignedUp::Welcome(Flash::new(FlashCode::SignedUp).redirect("/")),
            })
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
            Err(NoStore(refused(&error, |notice| SignupPage {
                layout: door.viewer.layout(),
                open: !gate_refused,
                invite: gate.invitation.unwrap_or_default(),
                username: typed_username(&form.username),
                error: Some(notice),
                carried,
                sso: None,
            })))
        }
    }
}

#[get("/login?<next>")]
pub fn login_page(
    viewer: Viewer,
    next: Option<&str>,
    flash: Option<FlashMessage<'_>>,
    config: &State<AppConfig>,
    sso: &State<Option<crate::auth::sso::Sso>>,
    rp: Rp,
) -> LoginPage {
    let next = safe_next(next);
    LoginPage {
        sso: sso::offer(config, sso, &next, None),
        ..LoginPage::new(viewer.layout().with_flash(flash), next, rp.0.is_ok())
    }
}

#[post("/login", data = "<form>")]
pub async fn login(
    door: Door<'_>,
    form: Csrf<CredentialsForm>,
    two_factor: &State<TwoFactor>,
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
        Ok(SignIn::Session(session)) => {
            door.enter(session).await;
            Ok(Redirect::to(next))
        }
        Ok(SignIn::SecondFactor(user_id)) => match two_factor.half_sign_in(user_id, &next).await {
            Ok(cookie_token) => {
                door.half_enter(cookie_token);
                Ok(Redirect::to(second_factor::PATH))
            }
            Err(error) => Err(refused(&AccountError::Db(error), |notice| {
                door.login_page(&form.username, next, notice)
            })),
        },
        Err(error) => Err(refused(&error, |notice| {
            door.login_page(&form.username, next, notice)
        })),
    }
}

#[post("/logout", data = "<_form>")]
pub async fn logout(
    user: CurrentUser,
    _form: Csrf<TokenOnlyForm>,
    cookies: &CookieJar<'_>,
    db: &State<Db>,
) -> Redirected {
    if let Err(error) = accounts::sign_out(db, user.0.session_id).await {
        tracing::error!(%error, "sign-out failed");
    }
    clear_session_cookie(cookies);
    Flash::new(FlashCode::SignedOut).redirect("/login")
}

pub fn routes() -> Vec<rocket::Route> {
    let mut routes = rocket::routes![
        signup_page,
        signup_keeping,
        signup,
        login_page,
        login,
        logout
    ];
    routes.extend(second_factor::routes());
    routes.extend(sso::routes());
    routes.extend(passkey::routes());
    routes
}
