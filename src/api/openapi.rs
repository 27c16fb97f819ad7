//! `GET /api/openapi.json`: the JSON API described for tools. A test compares it with the
//! mounted routes, so it cannot drift.

use rocket::get;
use rocket::http::ContentType;

pub const DOCUMENT: &str = include_str!("../../assets/openapi.json");

#[get("/api/openapi.json")]
pub fn document() -> (ContentType, &'static str) {
    (ContentType::JSON, DOCUMENT)
}
