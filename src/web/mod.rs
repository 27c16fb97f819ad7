//! Server-rendered pages. Thin: parse the request, call the domain, render a template.

mod assets;
mod errors;
mod quick;
mod security;
pub mod view;

use rocket::{Catcher, Route};

pub use security::SecurityHeaders;

pub fn routes() -> Vec<Route> {
    rocket::routes![quick::index, quick::quick, assets::stylesheet, assets::script]
}

pub fn catchers() -> Vec<Catcher> {
    errors::catchers()
}
