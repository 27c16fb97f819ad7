//! Every API failure as `{"success": false, "data": null, "message": …}`: the domain errors
//! mapped once to a status and a message that says what to fix, and JSON catchers so a script
//! never sees an HTML page.

use rocket::http::{Header, Method, Status};
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
    /// The `Allow` header of a 405: the methods the path does take.
    pub allow: Option<String>,
}

impl ApiError {
    pub fn new(status: Status, lang: Lang, id: &str) -> Self {
        Self {
            status,
            message: i18n::text(lang, id),
            allow: None,
        }
    }

    pub fn with(status: Status, lang: Lang, id: &str, args: &[(&'static str, Arg<'_>)]) -> Self {
        Self {
            status,
            message: i18n::text_with(lang, id, args),
            allow: None,
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
            // No key is a missing credential, as is a missing token.
            PlanError::MissingKey => Self::new(Status::Unauthorized, lang, "api-missing-key"),
            PlanError::BadKey => Self::bad_request(lang, "api-bad-key"),
            PlanError::SignInRequired => {
                Self::new(Status::Unauthorized, lang, "api-sign-in-required")
            }
            PlanError::KeyNotFound => Self::new(Status::NotFound, lang, "api-key-not-found"),
            PlanError::KeyNeedsReentry => {
                Self::new(Status::Conflict, lang, "api-key-needs-reentry")
            }
            PlanError::PresetNotFound => Self::new(Status::NotFound, lang, "api-preset-not-found"),
            // The request is well formed; the stored preset is what stands in the way.
            PlanError::EmptyPreset => Self::new(Status::Conflict, lang, "api-empty-preset"),
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
                        let reason = crate::modelscope::Reason::from(*reason);
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
        let mut response = (self.status, Json(body)).respond_to(request)?;
        if let Some(allow) = self.allow {
            response.set_header(Header::new("Allow", allow));
        }
        Ok(response)
    }
}

/// The methods mounted for the request's path (whatever its method), in a fixed order; empty
/// when no route has that path. `GET` brings `HEAD` with it, as Rocket answers both.
fn methods_for_path(request: &Request<'_>) -> Vec<Method> {
    let sent: Vec<&str> = request.uri().path().segments().collect();
    let mut methods: Vec<Method> = request
        .rocket()
        .routes()
        .filter(|route| path_matches(route.uri.path(), &sent))
        .map(|route| route.method)
        .collect();
    if methods.contains(&Method::Get) {
        methods.push(Method::Head);
    }
    methods.sort_by_key(|method| method.as_str());
    methods.dedup();
    methods
}

/// Whether a route path (`/api/history/<id>`) matches the sent, decoded segments.
fn path_matches(route_path: &str, sent: &[&str]) -> bool {
    let mut pattern = route_path.split('/').filter(|s| !s.is_empty());
    let mut sent = sent.iter();
    loop {
        match (pattern.next(), sent.next()) {
            (None, None) => return true,
            (Some(p), _) if p.starts_with('<') && p.ends_with("..>") => return true,
            (Some(p), Some(_)) if p.starts_with('<') && p.ends_with('>') => {}
            (Some(p), Some(s)) if p == *s => {}
            _ => return false,
        }
    }
}

/// A request no route took, on a path that exists, came with a method the path does not take:
/// that is a 405 with `Allow`, not a 404. Rocket turns a method it does not know at all (such
/// as `QUERY`) into a 400 before routing, so a route-less 400 on a known path is one too.
fn method_not_allowed(status: Status, request: &Request<'_>) -> Option<ApiError> {
    if request.route().is_some() || !matches!(status.code, 400 | 404) {
        return None;
    }
    let methods = methods_for_path(request);
    let unknown_method = status.code == 400;
    if methods.is_empty() || (!unknown_method && methods.contains(&request.method())) {
        return None;
    }
    let allow = methods
        .iter()
        .map(|method| method.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let lang = super::lang::of(request);
    let mut error = ApiError::with(
        Status::MethodNotAllowed,
        lang,
        "api-catch-405",
        &[("allow", allow.clone().into())],
    );
    error.allow = Some(allow);
    Some(error)
}

/// Every status Rocket answers by itself under `/api` and `/health`, in the caller's language.
#[catch(default)]
fn any_status(status: Status, request: &Request<'_>) -> ApiError {
    if let Some(error) = method_not_allowed(status, request) {
        return error;
    }
    // A method Rocket does not know, on a path that does not exist either: no such endpoint.
    let status = if status.code == 400 && request.route().is_none() {
        Status::NotFound
    } else {
        status
    };
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
    fn route_paths_match_sent_segments() {
        assert!(path_matches("/health", &["health"]));
        assert!(path_matches("/api/history/<id>", &["api", "history", "7"]));
        assert!(!path_matches("/api/history/<id>", &["api", "history"]));
        assert!(!path_matches("/api/history", &["api", "history", "7"]));
        assert!(path_matches("/assets/<path..>", &["assets", "a", "b"]));
        assert!(!path_matches("/api/balance", &["api", "balances"]));
    }

    #[test]
    fn previews_escape_and_cut() {
        assert_eq!(preview("a\r\nb"), "\"a\\r\\nb\"");
        assert!(preview(&"x".repeat(10_000)).chars().count() < 70);
    }
}
