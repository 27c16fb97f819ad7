//! Who is on the other end: the client address (for throttling), the device it says it is, and
//! the address it reached the site at.

use rocket::request::{self, FromRequest, Request};

use crate::config::AppConfig;

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

/// Where the site is, for links and examples a person copies: `public_url` when set, else the
/// scheme and `Host` this browser used (empty when neither is known).
pub struct SiteOrigin(pub String);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for SiteOrigin {
    type Error = ();

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, ()> {
        let config = request.rocket().state::<AppConfig>();
        let host = request.headers().get_one("Host");
        let origin = match (config.and_then(|c| c.public_url.clone()), host) {
            (Some(url), _) => url,
            (None, Some(host)) => {
                let secure = config.is_none_or(AppConfig::secure_cookies);
                format!("{}://{host}", if secure { "https" } else { "http" })
            }
            (None, None) => String::new(),
        };
        request::Outcome::Success(Self(origin))
    }
}
