//! Server-rendered pages. Thin: parse the request, call the domain, render a template.

mod account;
mod assets;
mod auth;
mod dashboard;
mod errors;
mod export;
mod history;
mod keys;
mod presets;
mod query;
mod quick;
mod security;
pub mod session;
mod tokens;
mod trend;
pub mod view;

use rocket::{Catcher, Route};

pub use security::SecurityHeaders;
pub use session::CrossSiteRefusal;

pub fn routes() -> Vec<Route> {
    let mut routes = rocket::routes![
        quick::index,
        quick::quick,
        assets::stylesheet,
        assets::script,
        auth::signup_page,
        auth::signup,
        auth::login_page,
        auth::login,
        auth::logout,
        account::account,
        account::change_password,
        account::revoke_session,
        account::delete_account,
        tokens::create_token,
        tokens::revoke_token,
        keys::list,
        keys::add,
        keys::update,
        keys::delete,
        keys::check,
        history::list,
        history::detail,
        history::delete,
        history::model_trend,
        export::export,
        presets::list,
        presets::create,
        presets::update,
        presets::make_default,
        presets::delete,
        query::page,
        query::run,
        query::stream,
    ];
    routes.extend(session::routes());
    routes
}

pub fn catchers() -> Vec<Catcher> {
    let mut catchers = errors::catchers();
    catchers.extend(session::catchers());
    catchers
}
