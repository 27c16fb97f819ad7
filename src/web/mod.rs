//! Server-rendered pages. Thin: parse the request, call the domain, render a template.
//! Each page is a module (or a folder) with its own routes; pages share only the modules
//! that are not pages: `session` (guards), `view` (display values), `problem` (error
//! mapping) and `run_form`.

mod account;
mod assets;
mod auth;
mod confirm;
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

pub use reveal::Reveals;
pub use security::SecurityHeaders;
pub use session::{CrossSiteRefusal, warn_if_cookies_cannot_work};

pub fn routes() -> Vec<Route> {
    let mut routes = rocket::routes![
        dashboard::dashboard,
        dashboard::refresh,
        quick::index,
        quick::quick,
        quick::stream,
        assets::stylesheet,
        assets::script,
        assets::favicon,
        auth::signup_page,
        auth::signup,
        auth::login_page,
        auth::login,
        auth::logout,
        lang::set_lang,
        keys::list,
        keys::add,
        keys::update,
        keys::confirm_delete,
        keys::delete,
        keys::check,
        presets::list,
        presets::create,
        presets::update,
        presets::make_default,
        presets::confirm_delete,
        presets::delete,
        presets::set_price,
        query::page,
        query::run,
        query::stream,
    ];
    routes.extend(account::routes());
    routes.extend(history::routes());
    routes.extend(session::routes());
    routes
}

pub fn catchers() -> Vec<Catcher> {
    let mut catchers = errors::catchers();
    catchers.extend(session::catchers());
    catchers
}
