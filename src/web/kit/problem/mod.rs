//! Every domain error, said once for the pages: a status and a notice the templates turn into
//! words (`messages.html`). A database failure is logged here, where it is mapped, and nowhere
//! else. The refusals of accounts, sign-in, tokens and the admin are in `accounts`; those of
//! monitors, their rules and notification channels in `monitoring`.

mod accounts;
mod monitoring;

use rocket::http::Status;
use rocket::request::Request;
use rocket::response::{self, Responder};

use super::notice::{Notice, NoticeCode};
use crate::db::DbError;
use crate::keyring::KeyError;
use crate::names::MAX_NAME_CHARS;
use crate::presets::PresetError;
use crate::runs::planner::PlanError;
use crate::runs::prices::PriceError;

/// At most this many refused ids are named in one message; the rest are counted.
const NAMED_INVALID_IDS: usize = 10;
/// A refused id is shown cut to this many characters.
const SHOWN_ID_CHARS: usize = 80;

/// What a page says about a failed action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub status: Status,
    pub notice: Notice,
}

impl Problem {
    fn new(status: Status, notice: Notice) -> Self {
        Self { status, notice }
    }

    fn refused(code: NoticeCode) -> Self {
        Self::new(Status::UnprocessableEntity, Notice::new(code))
    }

    /// The request clashes with how things stand (already on, the last admin, …).
    fn conflict(code: NoticeCode) -> Self {
        Self::new(Status::Conflict, Notice::new(code))
    }

    /// A refusal about one form field (its input is marked invalid and points at the words).
    fn refused_on(code: NoticeCode, field: &'static str) -> Self {
        Self::new(Status::UnprocessableEntity, Notice::new(code).on(field))
    }

    /// The database could not be used: said honestly, the input kept, and logged once.
    pub fn db(error: &DbError) -> Self {
        tracing::error!(%error, "database failure");
        crate::telemetry::record_db_error(crate::telemetry::DbOp::Request);
        Self::new(
            Status::ServiceUnavailable,
            Notice::new(NoticeCode::Unavailable),
        )
    }

    /// A census asked for without a signed-in user.
    pub fn census_sign_in() -> Self {
        Self::refused(NoticeCode::CensusSignIn)
    }

    /// A census's budget that is not a positive number.
    pub fn bad_budget() -> Self {
        Self::refused_on(NoticeCode::BadBudget, "budget")
    }

    pub fn plan(error: &PlanError) -> Self {
        match error {
            PlanError::MissingKey => Self::refused_on(NoticeCode::MissingKey, "api_key"),
            PlanError::BadKey => Self::refused_on(NoticeCode::BadKey, "api_key"),
            // A saved key named by a signed-out form is, for it, a key that is not there.
            PlanError::SignInRequired | PlanError::KeyNotFound => {
                Self::refused_on(NoticeCode::KeyNotFound, "key_id")
            }
            PlanError::KeyNeedsReentry => Self::refused_on(NoticeCode::KeyNeedsReentry, "key_id"),
            PlanError::PresetNotFound => Self::refused_on(NoticeCode::PresetNotFound, "preset_id"),
            PlanError::EmptyPreset | PlanError::NoModels => {
                Self::refused_on(NoticeCode::NoModels, "models")
            }
            PlanError::TooManyModels { max, .. } => Self::new(
                Status::UnprocessableEntity,
                Notice::new(NoticeCode::TooManyModels)
                    .with_n(*max as i64)
                    .on("models"),
            ),
            PlanError::NoValidModels(_) => Self::refused_on(NoticeCode::NoValidModels, "models"),
            PlanError::Unavailable(error) => Self::db(error),
        }
    }

    pub fn key(error: &KeyError) -> Self {
        match error {
            KeyError::BadShape => Self::refused_on(NoticeCode::BadKey, "api_key"),
            KeyError::EmptyLabel => Self::refused_on(NoticeCode::EmptyLabel, "label"),
            KeyError::BadLabel => Self::refused_on(NoticeCode::BadLabel, "label"),
            KeyError::DuplicateLabel => Self::new(
                Status::Conflict,
                Notice::new(NoticeCode::DuplicateLabel).on("label"),
            ),
            KeyError::DuplicateKey { label } => Self::new(
                Status::Conflict,
                Notice::new(NoticeCode::DuplicateKey)
                    .with_name(label.clone())
                    .on("api_key"),
            ),
            KeyError::TooMany { max } => Self::new(
                Status::Conflict,
                Notice::new(NoticeCode::TooManyKeys).with_n(*max),
            ),
            KeyError::NotFound => Self::new(Status::NotFound, Notice::new(NoticeCode::KeyNotFound)),
            KeyError::NeedsReentry => Self::refused(NoticeCode::KeyNeedsReentry),
            KeyError::Vault(error) => {
                tracing::error!(%error, "sealing a key failed");
                Self::new(
                    Status::InternalServerError,
                    Notice::new(NoticeCode::Internal),
                )
            }
            KeyError::Db(error) => Self::db(error),
        }
    }

    pub fn preset(error: &PresetError) -> Self {
        match error {
            PresetError::EmptyName => Self::refused_on(NoticeCode::EmptyName, "name"),
            PresetError::BadName => Self::new(
                Status::UnprocessableEntity,
                Notice::new(NoticeCode::BadName)
                    .with_n(MAX_NAME_CHARS as i64)
                    .on("name"),
            ),
            PresetError::DuplicateName => Self::new(
                Status::Conflict,
                Notice::new(NoticeCode::DuplicateName).on("name"),
            ),
            PresetError::TooManyPresets { max } => Self::new(
                Status::Conflict,
                Notice::new(NoticeCode::TooManyPresets).with_n(*max as i64),
            ),
            PresetError::NoModels => Self::refused_on(NoticeCode::NoModels, "models"),
            PresetError::TooManyModels { count, max } => Self::new(
                Status::UnprocessableEntity,
                Notice::new(NoticeCode::TooManyPresetModels)
                    .with_n(*max as i64)
                    .with_name(count.to_string())
                    .on("models"),
            ),
            PresetError::InvalidModels(ids) => Self::new(
                Status::UnprocessableEntity,
                Notice::new(if ids.len() > NAMED_INVALID_IDS {
                    NoticeCode::InvalidModelsMore
                } else {
                    NoticeCode::InvalidModels
                })
                .with_name(named_ids(ids))
                .with_n(ids.len() as i64)
                .on("models"),
            ),
            PresetError::NotFound => {
                Self::new(Status::NotFound, Notice::new(NoticeCode::PresetNotFound))
            }
            PresetError::Db(error) => Self::db(error),
        }
    }

    pub fn price(error: &PriceError) -> Self {
        match error {
            PriceError::NotATier => Self::refused_on(NoticeCode::BadPrice, "points"),
            PriceError::BadModel => Self::refused(NoticeCode::BadPriceModel),
            PriceError::Db(error) => Self::db(error),
        }
    }
}

/// A form page again, with its status and, when throttled or busy, a `Retry-After` header.
pub struct Refused<P> {
    pub status: Status,
    pub retry_after_secs: Option<i64>,
    pub page: P,
}

impl<P> Refused<P> {
    pub fn new(status: Status, page: P) -> Self {
        Self {
            status,
            retry_after_secs: None,
            page,
        }
    }
}

impl<'r, P: Responder<'r, 'static>> Responder<'r, 'static> for Refused<P> {
    fn respond_to(self, request: &'r Request<'_>) -> response::Result<'static> {
        let mut response = (self.status, self.page).respond_to(request)?;
        if let Some(secs) = self.retry_after_secs {
            response.set_raw_header("Retry-After", secs.to_string());
        }
        Ok(response)
    }
}

/// `a/b, c d, …` for a notice: the first few ids, each cut short.
fn named_ids(ids: &[String]) -> String {
    ids.iter()
        .take(NAMED_INVALID_IDS)
        .map(|id| {
            if id.chars().count() > SHOWN_ID_CHARS {
                let mut cut: String = id.chars().take(SHOWN_ID_CHARS).collect();
                cut.push('…');
                cut
            } else {
                id.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}
