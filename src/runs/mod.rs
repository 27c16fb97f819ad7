//! Runs: the planner turns a request into a ready run, the engine probes under limits, the
//! executor runs and stores, history reads stored runs back; `runner` is the one handle the
//! faces start a run through.

pub mod calls_left;
pub mod engine;
pub mod executor;
pub mod grants;
pub mod history;
pub mod observe;
pub mod planner;
pub mod price_book;
pub mod prices;
pub mod runner;
