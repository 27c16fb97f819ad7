//! The caller's address, for the per-address cap on anonymous queries. It comes from the
//! connection, or from the configured `ip_header` behind a proxy (Rocket's `client_ip`).

use rocket::Request;
use rocket::request::{FromRequest, Outcome};

pub struct ClientAddr {
    pub addr: String,
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for ClientAddr {
    type Error = ();

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, ()> {
        Outcome::Success(Self {
            addr: request
                .client_ip()
                .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string()),
        })
    }
}
