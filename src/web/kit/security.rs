//! Security headers on every response, error pages included.

use rocket::fairing::AdHoc;
use rocket::http::Header;

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; form-action 'self'; base-uri 'none'; object-src 'none'; \
                   frame-ancestors 'none'";

const HEADERS: [(&str, &str); 4] = [
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("X-Frame-Options", "DENY"),
];

/// Sets them on every response.
pub fn security_headers() -> AdHoc {
    AdHoc::on_response("security headers", |_, response| {
        Box::pin(async move {
            for (name, value) in HEADERS {
                response.set_header(Header::new(name, value));
            }
        })
    })
}
