//! The JSON API: `/api/balance` (compatible with the original tool), `/api/history`,
//! `/api/quota` (JSON or Prometheus text), `/health`, CORS and JSON error catchers, so a script
//! never sees an HTML page.

mod auth;
mod balance;
mod client;
mod cors;
mod errors;
mod health;
mod history;
mod lang;
mod metrics;
mod openapi;
mod quota;

use rocket::{Catcher, Route};

pub use cors::cors;
pub use errors::{ApiError, json_catchers};
pub use quota::QuotaRefreshes;

pub fn routes() -> Vec<Route> {
    rocket::routes![
        balance::balance,
        health::health,
        history::list,
        history::detail,
        metrics::metrics,
        openapi::document,
        quota::quota,
        cors::preflight_balance,
        cors::preflight_health,
        cors::preflight_history,
        cors::preflight_history_detail,
        cors::preflight_quota
    ]
}

pub fn catchers() -> Vec<Catcher> {
    json_catchers()
}
