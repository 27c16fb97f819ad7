//! The stylesheet and script, compiled into the binary so it runs from any directory.

use rocket::get;
use rocket::http::{ContentType, Header};
use rocket::response::Responder;

#[derive(Responder)]
pub struct Asset {
    body: &'static str,
    content_type: ContentType,
    cache: Header<'static>,
}

fn asset(body: &'static str, content_type: ContentType) -> Asset {
    // Pages link assets with `?v=<version>`, so a day of caching never serves a stale file.
    Asset {
        body,
        content_type,
        cache: Header::new("Cache-Control", "public, max-age=86400"),
    }
}

#[get("/assets/app.css")]
pub fn stylesheet() -> Asset {
    asset(include_str!("../../assets/app.css"), ContentType::CSS)
}

#[get("/assets/app.js")]
pub fn script() -> Asset {
    asset(include_str!("../../assets/app.js"), ContentType::JavaScript)
}

pub fn routes() -> Vec<rocket::Route> {
    rocket::routes![stylesheet, script]
}
