//! CORS for scripts on other origins: any origin, never credentials. Only the JSON API gets it
//! (it authenticates with headers, never cookies); the cookie-authenticated pages stay
//! same-origin.

use rocket::fairing::AdHoc;
use rocket::http::{Header, Status};
use rocket::options;

fn is_cors_path(path: &str) -> bool {
    path == "/health" || path.starts_with("/api/")
}

/// What every answer of the JSON API allows.
const HEADERS: [(&str, &str); 4] = [
    ("Access-Control-Allow-Origin", "*"),
    ("Access-Control-Allow-Methods", "GET, POST, OPTIONS"),
    (
        "Access-Control-Allow-Headers",
        "Content-Type, X-API-Key, Authorization",
    ),
    ("Access-Control-Max-Age", "86400"),
];

/// The CORS headers on the JSON API's answers (and only there).
pub fn cors() -> AdHoc {
    AdHoc::on_response("CORS for the public JSON API", |request, response| {
        Box::pin(async move {
            if is_cors_path(request.uri().path().as_str()) {
                for (name, value) in HEADERS {
                    response.set_header(Header::new(name, value));
                }
            }
        })
    })
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
