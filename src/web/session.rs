//! Who is asking, and may they do this: the session cookie and the CSRF token (cross-site
//! posts are refused earlier, in `cross_site`). Handlers take `Viewer`, `CurrentUser` and
//! `Csrf<T>`, so none can forget a check.

use rocket::data::{self, Data, FromData};
use rocket::form::{Form, FromForm};
use rocket::http::uri::Origin;
use rocket::http::{Cookie, CookieJar, Method, SameSite, Status};
use rocket::request::{self, FromRequest, Request};
use rocket::time::Duration as CookieDuration;
use rocket::{Catcher, Orbit, Rocket, State, catch};

use super::view::{Layout, UserChrome};
use crate::auth::accounts;
use crate::config::AppConfig;
use crate::crypto::tokens;
use crate::db::Db;
use crate::db::sessions::ABSOLUTE_SECS;
use crate::i18n::Lang;
use crate::ids::{SessionId, UserId};

pub const SESSION_COOKIE: &str = "msb_session";
/// Signed out, forms still carry a token: this cookie's (double-submit).
pub const ANON_CSRF_COOKIE: &str = "msb_csrf";

#[derive(Debug, Clone)]
pub struct SignedIn {
    pub user_id: UserId,
    pub username: String,
    pub session_id: SessionId,
    pub csrf_token: String,
    /// The language the pages speak to this browser.
    pub lang: Lang,
    /// This request's path (not its query, which may carry anything), so the language switch
    /// can come back to it.
    pub here: String,
}

/// Remembers the language chosen with the switch in the footer.
pub const LANG_COOKIE: &str = "msb_lang";

/// The chosen language (the switch's cookie), else the browser's `Accept-Language`, else
/// Chinese.
pub fn request_lang(request: &Request<'_>) -> Lang {
    request
        .cookies()
        .get(LANG_COOKIE)
        .and_then(|cookie| Lang::parse(cookie.value()))
        .or_else(|| {
            request
                .headers()
                .get_one("Accept-Language")
                .and_then(Lang::from_accept_language)
        })
        .unwrap_or_default()
}

/// The session behind the request's cookie, looked up once per request.
async fn signed_in(request: &Request<'_>) -> Option<SignedIn> {
    let cached: &Option<SignedIn> = request
        .local_cache_async(async {
            let token = request.cookies().get(SESSION_COOKIE)?.value().to_owned();
            let db = request.rocket().state::<Db>()?;
            match accounts::session_for_cookie(db, &token).await {
                Ok(found) => found.map(|s| SignedIn {
                    user_id: s.user_id,
                    username: s.username,
                    session_id: s.session_id,
                    csrf_token: s.csrf_token,
                    lang: request_lang(request),
                    here: request.uri().path().to_string(),
                }),
                Err(error) => {
                    tracing::error!(%error, "session lookup failed");
                    None
                }
            }
        })
        .await;
    cached.clone()
}

fn secure_cookies(request: &Request<'_>) -> bool {
    request
        .rocket()
        .state::<AppConfig>()
        .is_none_or(AppConfig::secure_cookies)
}

fn anonymous_csrf(request: &Request<'_>) -> String {
    if let Some(cookie) = request.cookies().get(ANON_CSRF_COOKIE) {
        return cookie.value().to_owned();
    }
    let token = tokens::random_hex(32);
    let cookie = Cookie::build((ANON_CSRF_COOKIE, token.clone()))
        .http_only(true)
        .same_site(SameSite::Strict)
        .path("/")
        .secure(secure_cookies(request));
    request.cookies().add(cookie);
    token
}

/// Anyone: signed in or not, with the token their forms must carry.
pub struct Viewer {
    pub user: Option<SignedIn>,
    pub csrf_token: String,
    pub lang: Lang,
    pub here: String,
}

impl Viewer {
    pub fn layout(&self) -> Layout {
        Layout::new(
            self.user.as_ref().map(|user| UserChrome {
                username: user.username.clone(),
            }),
            self.csrf_token.clone(),
            self.lang,
        )
        .at(&self.here)
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Viewer {
    type Error = ();

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, ()> {
        let user = signed_in(request).await;
        let csrf_token = match &user {
            Some(user) => user.csrf_token.clone(),
            None => anonymous_csrf(request),
        };
        request::Outcome::Success(Self {
            user,
            csrf_token,
            lang: request_lang(request),
            here: request.uri().path().to_string(),
        })
    }
}

/// The page chrome for a request that has no guard (error pages): the signed-in user's nav,
/// when there is one, in the request's language. The form token is left out: an error page
/// has no form but sign-out, which needs the session's, so that one is filled in.
pub async fn chrome_for(request: &Request<'_>) -> Layout {
    let user = signed_in(request).await;
    Layout::new(
        user.as_ref().map(|user| UserChrome {
            username: user.username.clone(),
        }),
        user.map(|user| user.csrf_token).unwrap_or_default(),
        request_lang(request),
    )
    .at(request.uri().path().as_str())
}

/// A signed-in user; otherwise 401, which the page catcher turns into a sign-in redirect.
pub struct CurrentUser(pub SignedIn);

impl CurrentUser {
    pub fn layout(&self) -> Layout {
        Layout::new(
            Some(UserChrome {
                username: self.0.username.clone(),
            }),
            self.0.csrf_token.clone(),
            self.0.lang,
        )
        .at(&self.0.here)
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for CurrentUser {
    type Error = ();

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, ()> {
        match signed_in(request).await {
            Some(user) => request::Outcome::Success(Self(user)),
            None => request::Outcome::Error((Status::Unauthorized, ())),
        }
    }
}

/// A signed-in user, or a forward to the next route at the same path (the signed-out page):
/// `/` is the dashboard for one and the quick query for the other.
pub struct SignedInOrNext(pub CurrentUser);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for SignedInOrNext {
    type Error = ();

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, ()> {
        match signed_in(request).await {
            Some(user) => request::Outcome::Success(Self(CurrentUser(user))),
            None => request::Outcome::Forward(Status::Unauthorized),
        }
    }
}

/// A form that carries `csrf_token`.
pub trait CsrfProtected {
    fn csrf_token(&self) -> Option<&str>;
}

/// Implements `CsrfProtected` for forms with a `csrf_token: Option<String>` field.
macro_rules! csrf_form {
    ($($form:ty),+ $(,)?) => {$(
        impl $crate::web::session::CsrfProtected for $form {
            fn csrf_token(&self) -> Option<&str> {
                self.csrf_token.as_deref()
            }
        }
    )+};
}
pub(crate) use csrf_form;

/// A form with nothing but its CSRF token (delete, revoke, sign out, check).
#[derive(Debug, FromForm)]
pub struct TokenOnlyForm {
    csrf_token: Option<String>,
}

csrf_form!(TokenOnlyForm);

/// A form whose `csrf_token` matched the session's (or, signed out, the CSRF cookie's) in
/// constant time. A missing or wrong token is 403 before the handler runs.
pub struct Csrf<T>(pub T);

#[rocket::async_trait]
impl<'r, T> FromData<'r> for Csrf<T>
where
    T: FromForm<'r> + CsrfProtected + Send + 'r,
{
    type Error = ();

    async fn from_data(request: &'r Request<'_>, data: Data<'r>) -> data::Outcome<'r, Self> {
        let expected = match signed_in(request).await {
            Some(user) => Some(user.csrf_token),
            None => request
                .cookies()
                .get(ANON_CSRF_COOKIE)
                .map(|c| c.value().to_owned()),
        };
        // Rocket has no read timeout: a body trickled a byte at a time would hold the request
        // (and its task) for ever. 64 KiB arrive in well under the deadline on any real link.
        let deadline = request
            .rocket()
            .state::<AppConfig>()
            .map_or(std::time::Duration::from_secs(15), AppConfig::body_timeout);
        let read = tokio::time::timeout(deadline, Form::<T>::from_data(request, data)).await;
        let form = match read {
            Ok(data::Outcome::Success(form)) => form.into_inner(),
            Ok(data::Outcome::Error((status, _))) => return data::Outcome::Error((status, ())),
            Ok(data::Outcome::Forward(forward)) => return data::Outcome::Forward(forward),
            Err(_) => return data::Outcome::Error((Status::RequestTimeout, ())),
        };
        let matches = match (&expected, form.csrf_token()) {
            (Some(expected), Some(given)) => tokens::constant_time_eq(expected, given),
            _ => false,
        };
        if matches {
            data::Outcome::Success(Self(form))
        } else {
            if expected.is_none() && cookies_cannot_work(request) {
                request.local_cache(|| InsecureCookies(true));
            }
            data::Outcome::Error((Status::Forbidden, ()))
        }
    }
}

/// Set on a request refused because its browser could not keep a `Secure` cookie; the 403
/// page then says what to do instead of "submit the form again".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InsecureCookies(pub bool);

/// Whether a refused form came from a browser on plain HTTP to a host other than loopback
/// while cookies are `Secure`: the browser dropped the CSRF cookie we set, so no form can ever
/// pass. The browser says its scheme in `Origin` (or `Referer`) on every form post.
fn cookies_cannot_work(request: &Request<'_>) -> bool {
    if !secure_cookies(request) || request.cookies().get(ANON_CSRF_COOKIE).is_some() {
        return false;
    }
    let headers = request.headers();
    let Some(page) = headers
        .get_one("Origin")
        .or_else(|| headers.get_one("Referer"))
    else {
        return false;
    };
    page.strip_prefix("http://")
        .map(|rest| rest.split(['/', '?', '#']).next().unwrap_or(""))
        .is_some_and(|authority| !is_loopback_authority(authority))
}

/// `localhost`, `127.x.y.z` or `[::1]`, with or without a port: browsers treat these as
/// secure contexts and keep `Secure` cookies on them even over plain HTTP.
fn is_loopback_authority(authority: &str) -> bool {
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => authority
            .rsplit_once(':')
            .map_or(authority, |(host, _)| host),
    };
    let host = host.to_ascii_lowercase();
    host == "localhost"
        || host.ends_with(".localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// At lift-off: a server reachable beyond loopback without TLS, with `Secure` cookies, cannot
/// sign anyone in unless a TLS proxy is in front; say so once, with the two ways out.
pub fn warn_if_cookies_cannot_work(rocket: &Rocket<Orbit>) {
    let config = rocket.config();
    let secure = rocket
        .state::<AppConfig>()
        .is_some_and(AppConfig::secure_cookies);
    if secure && !config.tls_enabled() && !config.address.is_loopback() {
        tracing::warn!(
            "listening on {}:{} over plain HTTP with secure_cookies = true: browsers keep the \
             sign-in and form cookies only over HTTPS, so put a TLS reverse proxy in front (and \
             reach the app through it), or, on a trusted LAN without TLS, set \
             secure_cookies = false (ROCKET_SECURE_COOKIES=false)",
            config.address,
            config.port
        );
    }
}

/// Sets the session cookie after sign-in.
pub fn set_session_cookie(cookies: &CookieJar<'_>, config: &State<AppConfig>, token: String) {
    let cookie = Cookie::build((SESSION_COOKIE, token))
        .http_only(true)
        .same_site(SameSite::Lax)
        .path("/")
        .secure(config.secure_cookies())
        .max_age(CookieDuration::seconds(ABSOLUTE_SECS));
    cookies.add(cookie);
}

pub fn clear_session_cookie(cookies: &CookieJar<'_>) {
    cookies.remove(Cookie::build(SESSION_COOKIE).path("/"));
}

/// The client address for throttling; the local test client has none.
pub fn client_addr(request: &Request<'_>) -> String {
    request
        .client_ip()
        .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string())
}

/// The request's `User-Agent` and client address, for sessions and throttling.
pub struct ClientInfo {
    pub user_agent: String,
    pub addr: String,
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for ClientInfo {
    type Error = ();

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, ()> {
        request::Outcome::Success(Self {
            user_agent: request
                .headers()
                .get_one("User-Agent")
                .unwrap_or("")
                .to_owned(),
            addr: client_addr(request),
        })
    }
}

/// Pages that need a user send the browser to sign in, then back.
#[catch(401)]
fn sign_in_first(request: &Request<'_>) -> rocket::response::Redirect {
    let next = if request.method() == Method::Get {
        request.uri().to_string()
    } else {
        request.uri().path().to_string()
    };
    let target = format!(
        "/login?next={}",
        rocket::http::RawStr::new(&next).percent_encode()
    );
    rocket::response::Redirect::to(target)
}

pub fn catchers() -> Vec<Catcher> {
    rocket::catchers![sign_in_first]
}

/// Only a same-site relative path is followed after sign-in; anything else goes home. The
/// path must also be a valid URI (checked before the session exists), or the redirect itself
/// would fail after sign-in.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.starts_with("/\\")
                && !path.chars().any(|c| c.is_control() || c == '\\')
                && Origin::parse(path).is_ok()
                && rocket::http::uri::Reference::parse(path).is_ok() =>
        {
            path.to_owned()
        }
        _ => "/".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_is_only_followed_when_relative() {
        assert_eq!(safe_next(Some("/keys?x=1")), "/keys?x=1");
        for bad in [
            "//evil.example",
            "https://evil.example",
            "/\\evil",
            "keys",
            "/a\r\nb",
            "",
            "/ /x",
            "/\u{2215}evil.com",
            "/history?x=\"",
            "/a b",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(safe_next(None), "/");
        assert_eq!(
            safe_next(Some("/history?key=3&page=2")),
            "/history?key=3&page=2"
        );
        assert_eq!(safe_next(Some("/history/model/a/b")), "/history/model/a/b");
    }

    #[test]
    fn loopback_authorities() {
        for host in [
            "localhost",
            "localhost:8000",
            "127.0.0.1:8000",
            "[::1]:8000",
            "127.1.2.3",
        ] {
            assert!(is_loopback_authority(host), "{host}");
        }
        for host in [
            "192.168.1.5:8000",
            "example.com",
            "10.0.0.1",
            "[fe80::1]:80",
        ] {
            assert!(!is_loopback_authority(host), "{host}");
        }
    }
}
