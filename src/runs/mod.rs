//! Runs: the planner turns a request into a ready run, the engine probes under limits, the
//! executor runs and stores (and reads the optional endpoints before it stores, `extras`),
//! history reads stored runs back; `runner` is the one handle the faces start a run through;
//! prices (and the instance's, an admin's word) say what a call costs; `slots` are the upstream
//! call limits the engine holds every call to; `outlook`, `ranking` and `quota` say what the
//! stored readings mean for each key (forecasts, expiring points, which key to use).

pub mod calls_left;
mod census;
pub mod engine;
pub mod executor;
pub mod extras;
pub mod grants;
pub mod history;
pub mod instance_prices;
pub mod judge;
pub mod learn;
pub mod measure;
pub mod observe;
pub mod outlook;
pub mod planner;
pub mod price_book;
pub mod prices;
mod probe;
pub mod quota;
pub mod ranking;
pub mod runner;
mod scope;
pub mod slots;
pub mod solve;
pub mod tiers;
