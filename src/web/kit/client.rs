//! Who is on the other end: the client address (for throttling) and the device it says it is.

use rocket::request::{self, FromRequest, Request};

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
