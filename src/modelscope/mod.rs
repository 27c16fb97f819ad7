//! The ModelScope upstream: one probe per model, the free points balance and the catalogue.
//! See `shared/reference/modelscope-api.md` for what the service really answers.

mod body;
mod classify;
mod client;
mod quota;

pub use classify::{ErrorCode, Failure, classify, short_upstream_message};
pub use client::{AccountBalance, BalanceError, CatalogueModel, ProbeReport, Upstream};
pub use quota::Quota;
