//! Forms come from our own pages. Cross-site posts never reach a page handler: a request
//! fairing reroutes every state-changing request another site made to a route that answers
//! 403 (the JSON API is exempt: it uses no cookies and allows any origin). Every form that
//! does reach one carries the session's CSRF token (signed out, the CSRF cookie's:
//! double-submit), checked in constant time before the handler runs.

use rocket::data::{self, Data, FromData};
use rocket::fairing::{Fairing, Info, Kind};
use rocket::form::{Form, FromForm};
use rocket::http::uri::Origin;
use rocket::http::{Method, Status};
use rocket::request::Request;
use rocket::{Route, post};

use super::cookies::{ANON_CSRF_COOKIE, InsecureCookies, cookies_cannot_work};
use super::session::signed_in;
use crate::config::AppConfig;
use crate::crypto::tokens;

/// A form that carries `csrf_token`.
pub trait CsrfProtected {
    fn csrf_token(&self) -> Option<&str>;
}

/// Implements `CsrfProtected` for forms with a `csrf_token: Option<String>` field.
macro_rules! csrf_form {
    ($($form:ty),+ $(,)?) => {$(
        impl $crate::web::kit::csrf::CsrfProtected for $form {
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

/// The token a request must carry: the session's, or signed out, the CSRF cookie's.
pub async fn expected_token(request: &Request<'_>) -> Option<String> {
    match signed_in(request).await {
        Some(user) => Some(user.csrf_token),
        None => request
            .cookies()
            .get(ANON_CSRF_COOKIE)
            .map(|c| c.value().to_owned()),
    }
}

/// How long a request's body may take to arrive. Rocket has no read timeout: a body trickled
/// a byte at a time would hold the request (and its task) for ever; 64 KiB arrive in well
/// under the deadline on any real link.
pub fn body_deadline(request: &Request<'_>) -> std::time::Duration {
    request
        .rocket()
        .state::<AppConfig>()
        .map_or(std::time::Duration::from_secs(15), AppConfig::body_timeout)
}

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
        let expected = expected_token(request).await;
        let read =
            tokio::time::timeout(body_deadline(request), Form::<T>::from_data(request, data));
        let read = read.await;
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

// -- cross-site refusal -------------------------------------------------------------------

const REFUSED_PATH: &str = "/__cross-site-refused";

/// True when the browser says the request comes from another site.
fn is_cross_site(request: &Request<'_>) -> bool {
    let headers = request.headers();
    if let Some(site) = headers.get_one("Sec-Fetch-Site")
        && matches!(site, "cross-site" | "same-site")
    {
        return true;
    }
    let Some(origin) = headers.get_one("Origin") else {
        return false;
    };
    let authority = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    match (authority, headers.get_one("Host")) {
        (Some(authority), Some(host)) => !authority.eq_ignore_ascii_case(host),
        _ => true,
    }
}

/// Refuses every cross-site state-changing request to the pages (login and sign-up included)
/// before any handler runs, by rerouting it to a route that answers 403. The JSON API is
/// exempt: it uses no cookies and allows any origin.
pub struct CrossSiteRefusal;

#[rocket::async_trait]
impl Fairing for CrossSiteRefusal {
    fn info(&self) -> Info {
        Info {
            name: "refuse cross-site form posts",
            kind: Kind::Request,
        }
    }

    async fn on_request(&self, request: &mut Request<'_>, _data: &mut Data<'_>) {
        if matches!(
            request.method(),
            Method::Get | Method::Head | Method::Options
        ) {
            return;
        }
        if request.uri().path().starts_with("/api/") {
            return;
        }
        if is_cross_site(request) {
            request.set_method(Method::Post);
            request.set_uri(Origin::path_only(REFUSED_PATH));
        }
    }
}

#[post("/__cross-site-refused")]
fn cross_site_refused() -> Status {
    Status::Forbidden
}

pub fn routes() -> Vec<Route> {
    rocket::routes![cross_site_refused]
}
