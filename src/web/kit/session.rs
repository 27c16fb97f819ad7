//! Who is asking: the session behind the cookie, looked up once per request, and the guards
//! handlers take (`Viewer`, `CurrentUser`, `SignedInOrNext`), so none can forget a check.
//! Forms are checked in `csrf`, cookies set in `cookies`.

use rocket::http::uri::Origin;
use rocket::http::{Method, Status};
use rocket::request::{self, FromRequest, Request};
use rocket::{Catcher, catch};

use super::cookies::{LANG_COOKIE, SESSION_COOKIE, anonymous_csrf};
use super::view::{Layout, UserChrome};
use crate::auth::accounts;
use crate::db::Db;
use crate::i18n::Lang;
use crate::ids::{SessionId, UserId};

#[derive(Debug, Clone)]
pub struct SignedIn {
    pub user_id: UserId,
    pub username: String,
    pub session_id: SessionId,
    pub csrf_token: String,
    pub is_admin: bool,
    /// The language the pages speak to this browser.
    pub lang: Lang,
    /// This request's path (not its query, which may carry anything), so the language switch
    /// can come back to it.
    pub here: String,
}

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
pub(super) async fn signed_in(request: &Request<'_>) -> Option<SignedIn> {
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
                    is_admin: s.is_admin,
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

/// The signed-in user's part of the page chrome.
fn chrome(user: &SignedIn) -> UserChrome {
    UserChrome {
        username: user.username.clone(),
        is_admin: user.is_admin,
    }
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
            self.user.as_ref().map(chrome),
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
        user.as_ref().map(chrome),
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
            Some(chrome(&self.0)),
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

/// An admin; for everyone else, signed in or not, the page does not exist (404): nothing says
/// there is an admin area.
pub struct Admin(pub CurrentUser);

impl Admin {
    pub fn layout(&self) -> Layout {
        self.0.layout()
    }

    pub fn user(&self) -> &SignedIn {
        &self.0.0
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Admin {
    type Error = ();

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, ()> {
        match signed_in(request).await {
            Some(user) if user.is_admin => request::Outcome::Success(Self(CurrentUser(user))),
            _ => request::Outcome::Error((Status::NotFound, ())),
        }
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
}
