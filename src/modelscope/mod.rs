//! The ModelScope upstream: one probe per model, the free points balance and the catalogue,
//! and the rules for model ids. `docs/upstream.md` says what the service really answers.

mod body;
pub mod catalogue;
mod classify;
mod client;
pub mod extras;
pub mod model_id;
mod near_miss;
mod price;
mod quota;
mod rates;
mod redact;
mod result;
mod site;

pub use catalogue::Catalogue;
pub use classify::{
    ErrorCode, Failure, HIGHEST_PRICE, PointsHint, Reason, classify, short_upstream_message,
};
pub use client::{
    AccountBalance, BalanceError, CatalogueModel, ProbeReport, SiteBases, Upstream,
    UpstreamSetupError,
};
pub use model_id::{
    BatchError, InvalidModel, ModelEntry, prepare_models, split_model_text, validate_model_id,
};
pub use near_miss::near_miss;
pub use price::{
    BUILT_IN_TIERS, ExpectedCost, MAX_PRICE, Price, PriceSource, Tiers, from_milli, milli, tier,
};
pub use quota::Quota;
pub use rates::RatesError;
pub use result::{BatchReport, ModelResult};
pub use site::Site;
