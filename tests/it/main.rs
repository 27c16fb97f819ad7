//! The integration tests: one binary, one harness. Each module is one area of the app, tested
//! black-box through Rocket's local client (or a real browser, `browser`), against a wiremock
//! double of ModelScope; `harness` holds everything they share.
//!
//! `cargo test --test it` runs them all; `cargo test --test it accounts::` one module.

mod harness;

mod account_sessions;
mod accounts;
mod admin;
mod admin_instance;
mod api_bad_input;
mod api_balance;
mod api_contract;
mod api_tokens;
mod architecture;
mod browser;
mod channels;
mod csrf_routes;
mod dashboard;
mod dependencies;
mod fair_shares;
mod first_steps;
mod forecasts;
mod hardening;
mod health_cors;
mod history;
mod model_help;
mod monitors;
mod oidc;
mod openapi;
mod ops;
mod passkeys;
mod points;
mod presets;
mod prices;
mod query_plans;
mod query_runs;
mod quick_page;
mod quota_api;
mod scheduler;
mod signup_modes;
mod two_factor;
mod vault_keys;
