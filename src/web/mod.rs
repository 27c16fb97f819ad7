//! Server-rendered pages. Thin: parse the request, call the domain, render a template.
//! Each page is a module (or a folder) with its own routes; pages share only the modules
//! that are not pages: `session` (guards), `view` (display values), `problem` (error
//! mapping) and `run_form`.

mod account;
mod assets;
mod auth;
mod channels;
mod dashboard;
mod errors;
mod history;
mod keys;
mod lang;
mod monitoring_view;
mod monitors;
mod params;
mod presets;
mod problem;
mod query;
mod quick;
mod result_view;
mod run_form;
mod security;
pub mod session;
pub mod view;

use rocket::{Catcher, Route};

pub use security::SecurityHeaders;
pub use session::CrossSiteRefusal;

pub fn routes() -> Vec<Route> {
    let mut routes = rocket::routes![
        dashboard::dashboard,
        dashboard::refresh,
        quick::index,
        quick::quick,
        assets::stylesheet,
        assets::script,
        auth::signup_page,
        auth::signup,
        auth::login_page,
        auth::login,
        auth::logout,
        lang::set_lang,
        keys::list,
        keys::add,
        keys::update,
        keys::delete,
        keys::check,
        presets::list,
        presets::create,
        presets::update,
        presets::make_default,
        presets::delete,
        presets::set_price,
        query::page,
        query::run,
        query::stream,
        monitors::list,
        monitors::create,
        monitors::run_now,
        monitors::pause,
        monitors::resume,
        monitors::delete,
        monitors::add_rule,
        monitors::delete_rule,
        monitors::deliveries::list,
        channels::list,
        channels::create,
        channels::test,
        channels::delete,
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
