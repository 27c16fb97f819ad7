//! Runs: the planner turns a request into a ready run, the engine probes under limits, the
//! executor runs and stores, history reads stored runs back; `runner` is the one handle the
//! faces start a run through; prices (and the instance's, an admin's word) say what a call
//! costs.

pub mod calls_left;
pub mod engine;
pub mod executor;
pub mod grants;
pub mod history;
pub mod instance_prices;
pub mod observe;
pub mod planner;
pub mod prices;
pub mod runner;
