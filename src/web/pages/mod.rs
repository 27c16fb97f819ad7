//! One module (or folder) per page, each with its own `routes()`. A page reaches the domain
//! and the shared parts in `web::kit`, never another page.

mod account;
mod admin;
mod assets;
mod auth;
mod channels;
mod dashboard;
pub mod errors;
mod history;
mod keys;
mod lang;
mod models;
mod monitors;
mod presets;
mod query;
mod quick;
mod reset;

use rocket::Route;

/// Every page's routes.
pub fn routes() -> Vec<Route> {
    [
        dashboard::routes(),
        quick::routes(),
        assets::routes(),
        auth::routes(),
        lang::routes(),
        models::routes(),
        keys::routes(),
        presets::routes(),
        query::routes(),
        account::routes(),
        history::routes(),
        monitors::routes(),
        channels::routes(),
        admin::routes(),
        reset::routes(),
    ]
    .concat()
}
