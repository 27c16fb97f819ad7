//! CORS for scripts on other origins: any origin, never credentials. Only the JSON API gets it
//! (it authenticates with headers, never cookies); the cookie-authenticated pages stay
//! same-origin.

use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::{Header, Status};
use rocket::{Request, Response, options};

fn is_cors_path(path: &str) -> bool {
    path == "/health" || path.starts_with("/api/")
}

pub struct Cors;

#[rocket::async_trait]
impl Fairing for Cors {
    fn info(&self) -> Info {
        Info {
            name: "CORS for the public JSON API",
            kind: Kind::Response,
        }
    }

    async fn on_response<'r>(&self, request: &'r Request<'_>, response: &mut Response<'r>) {
        if !is_cors_path(request.uri().path().as_str()) {
            return;
        }
        response.set_header(Header::new("Access-Control-Allow-Origin", "*"));
        response.set_header(Header::new(
            "Access-Control-Allow-Methods",
            "GET, POST, OPTIONS",
        ));
        response.set_header(Header::new(
            "Access-Control-Allow-Headers",
            "Content-Type, X-API-Key, Authorization",
        ));
        response.set_header(Header::new("Access-Control-Max-Age", "86400"));
    }
}

#[options("/api/balance")]
pub fn preflight_balance() -> Status {
    Status::NoContent
}

#[options("/health")]
pub fn preflight_health() -> Status {
    Status::NoContent
}

#[options("/api/history")]
pub fn preflight_history() -> Status {
    Status::NoContent
}

#[options("/api/history/<id>")]
pub fn preflight_history_detail(id: &str) -> Status {
    let _ = id; // any id: a preflight only asks what is allowed
    Status::NoContent
}

#[options("/api/quota")]
pub fn preflight_quota() -> Status {
    Status::NoContent
}
