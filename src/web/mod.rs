//! Server-rendered pages. Thin: parse the request, call the domain, render a template.
//! Each page is a module (or a folder) with its own routes; pages share only the modules
//! that are not pages: `session` (guards), `view` (display values), `problem` (error
//! mapping) and `run_form`.

mod account;
mod assets;
mod auth;
mod confirm;
mod cross_site;
mod dashboard;
mod errors;
mod history;
mod keys;
mod lang;
mod live;
mod params;
mod presets;
mod problem;
mod query;
mod quick;
mod result_view;
mod reveal;
mod run_form;
mod security;
pub mod session;
pub mod view;

use rocket::{Catcher, Route};

pub use cross_site::CrossSiteRefusal;
pub use reveal::Reveals;
pub use security::SecurityHeaders;
pub use session::warn_if_cookies_cannot_work;

/// Every page's routes; each page lists its own.
pub fn routes() -> Vec<Route> {
    [
        dashboard::routes(),
        quick::routes(),
        assets::routes(),
        auth::routes(),
        lang::routes(),
        keys::routes(),
        presets::routes(),
        query::routes(),
        account::routes(),
        history::routes(),
        cross_site::routes(),
    ]
    .concat()
}

pub fn catchers() -> Vec<Catcher> {
    let mut catchers = errors::catchers();
    catchers.extend(session::catchers());
    catchers
}
