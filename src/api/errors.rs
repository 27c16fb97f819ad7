//! Every API failure as `{"success": false, "data": null, "message": …}`: the domain errors
//! mapped once to a status and a message that says what to fix, and JSON catchers so a script
//! never sees an HTML page.

use rocket::http::Status;
use rocket::response::{self, Responder};
use rocket::serde::json::Json;
use rocket::{Catcher, Request, catch};
use serde_json::json;

use crate::i18n::{self, Arg, Lang};
use crate::runs::planner::PlanError;

/// A refused or failed request, with its words already in the caller's language.
#[derive(Debug)]
pub struct ApiError {
    pub status: Status,
    pub message: String,
}

impl ApiError {
    pub fn new(status: Status, lang: Lang, id: &str) -> Self {
        Self {
            status,
            message: i18n::text(lang, id),
        }
    }

    pub fn with(status: Status, lang: Lang, id: &str, args: &[(&'static str, Arg<'_>)]) -> Self {
        Self {
            status,
            message: i18n::text_with(lang, id, args),
        }
    }

    pub fn bad_request(lang: Lang, id: &str) -> Self {
        Self::new(Status::BadRequest, lang, id)
    }

    /// The database could not be used; logged here, once.
    pub fn unavailable(lang: Lang, error: &dyn std::fmt::Display) -> Self {
        tracing::error!(%error, "database failure");
        crate::telemetry::record_db_error(crate::telemetry::DbOp::Request);
        Self::new(Status::ServiceUnavailable, lang, "api-unavailable")
    }

    pub fn plan(error: &PlanError, lang: Lang) -> Self {
        match error {
            PlanError::MissingKey => Self::bad_request(lang, "api-missing-key"),
            PlanError::BadKey => Self::bad_request(lang, "api-bad-key"),
            PlanError::SignInRequired => {
                Self::new(Status::Unauthorized, lang, "api-sign-in-required")
            }
            PlanError::KeyNotFound => Self::new(Status::NotFound, lang, "api-key-not-found"),
            PlanError::KeyNeedsReentry => {
                Self::new(Status::Conflict, lang, "api-key-needs-reentry")
            }
            PlanError::PresetNotFound => Self::new(Status::NotFound, lang, "api-preset-not-found"),
            PlanError::EmptyPreset => Self::bad_request(lang, "api-empty-preset"),
            PlanError::NoModels => Self::bad_request(lang, "api-no-models"),
            PlanError::TooManyModels { count, max } => Self::with(
                Status::BadRequest,
                lang,
                "api-too-many-models",
                &[("max", (*max).into()), ("count", (*count).into())],
            ),
            PlanError::NoValidModels(refused) => {
                let invalid = refused
                    .iter()
                    .map(|(id, reason)| {
                        let reason = crate::modelscope::Reason::Model(*reason);
                        i18n::text_with(
                            lang,
                            "api-invalid-model",
                            &[
                                ("id", preview(id).into()),
                                (
                                    "reason",
                                    i18n::text(lang, &format!("reason-{}", reason.as_str())).into(),
                                ),
                            ],
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(&i18n::text(lang, "api-list-separator"));
                Self::with(
                    Status::BadRequest,
                    lang,
                    "api-no-valid-models",
                    &[("invalid", invalid.into())],
                )
            }
            PlanError::Unavailable(error) => Self::unavailable(lang, error),
        }
    }
}

/// A bad id quoted back safely: control characters escaped, cut to 60 characters.
fn preview(id: &str) -> String {
    let escaped: String = id.chars().flat_map(char::escape_debug).take(60).collect();
    if escaped.chars().count() == 60 {
        format!("\"{escaped}…\"")
    } else {
        format!("\"{escaped}\"")
    }
}

impl<'r> Responder<'r, 'static> for ApiError {
    fn respond_to(self, request: &'r Request<'_>) -> response::Result<'static> {
        let body = json!({"success": false, "data": null, "message": self.message});
        (self.status, Json(body)).respond_to(request)
    }
}

/// Every status Rocket answers by itself under `/api` and `/health`, in the caller's language.
#[catch(default)]
fn any_status(status: Status, request: &Request<'_>) -> ApiError {
    let id = match status.code {
        400 => "api-catch-400",
        401 => "api-catch-401",
        404 => "api-catch-404",
        405 => "api-catch-405",
        413 => "api-catch-413",
        415 => "api-catch-415",
        422 => "api-catch-422",
        500.. => "api-catch-500",
        _ => "api-catch-other",
    };
    ApiError::new(status, super::lang::of(request), id)
}

/// Registered under `/api` and `/health`.
pub fn json_catchers() -> Vec<Catcher> {
    rocket::catchers![any_status]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn previews_escape_and_cut() {
        assert_eq!(preview("a\r\nb"), "\"a\\r\\nb\"");
        assert!(preview(&"x".repeat(10_000)).chars().count() < 70);
    }
}
