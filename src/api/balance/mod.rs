//! `POST /api/balance`: the original tool's contract, plus `error_code`, `status`,
//! `latency_ms` on each row, an optional `account` balance, saved keys and presets for token
//! holders (whose runs are stored), and a price census (`measure_prices`, token holders).

mod request;
pub mod response;

use std::time::Duration;

use rocket::State;
use rocket::data::{ByteUnit, Data, ToByteUnit};
use rocket::http::{ContentType, Status};
use rocket::outcome::try_outcome;
use rocket::post;
use rocket::request::{FromRequest, Outcome, Request};
use rocket::serde::json::Json;
use serde_json::Value;

use super::auth::ApiCaller;
use super::client::ClientAddr;
use super::errors::ApiError;
use super::lang::ApiLang;
use crate::config::AppConfig;
use crate::runs::executor::{Execution, Stored};
use crate::runs::history::{RunKind, Source};
use crate::runs::runner::Runner;

/// The `X-API-Key` header, if sent.
pub struct ApiKeyHeader(Option<String>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for ApiKeyHeader {
    type Error = ();

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, ()> {
        // Rocket drops a value that is not UTF-8 before we see it; a UTF-8 one outside ASCII is
        // ignored the same way, so the rule does not depend on how the client encoded it.
        Outcome::Success(Self(
            request
                .headers()
                .get_one("X-API-Key")
                .filter(|value| value.is_ascii())
                .map(str::to_owned),
        ))
    }
}

/// How the body may come: the type it says it is, the most of it that is read (`limits.json`),
/// and how long reading it may take (`body_timeout_secs`).
pub struct BodyRules {
    content_type: Option<ContentType>,
    limit: ByteUnit,
    timeout: Duration,
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for BodyRules {
    type Error = ();

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, ()> {
        let config = try_outcome!(request.guard::<&State<AppConfig>>().await);
        Outcome::Success(Self {
            content_type: request.content_type().cloned(),
            limit: request.limits().get("json").unwrap_or(64.kibibytes()),
            timeout: config.body_timeout(),
        })
    }
}

#[post("/api/balance", data = "<body>")]
pub async fn balance(
    body: Data<'_>,
    rules: BodyRules,
    header_key: ApiKeyHeader,
    caller: ApiCaller,
    client: ClientAddr,
    lang: ApiLang,
    runner: &State<Runner>,
) -> Result<Json<Value>, ApiError> {
    let BodyRules {
        content_type,
        limit,
        timeout,
    } = rules;
    let lang = lang.0;
    if let Some(content_type) = content_type.filter(|ct| !ct.is_json()) {
        return Err(ApiError::with(
            Status::UnsupportedMediaType,
            lang,
            "api-unsupported-media",
            &[("given", content_type.to_string().into())],
        ));
    }
    // Rocket has no read timeout: a trickled body would hold the request for ever.
    let bytes = tokio::time::timeout(timeout, body.open(limit).into_bytes())
        .await
        .map_err(|_| ApiError::new(Status::RequestTimeout, lang, "api-body-timeout"))?
        .map_err(|_| ApiError::bad_request(lang, "api-body-unreadable"))?;
    if !bytes.is_complete() {
        return Err(ApiError::with(
            Status::PayloadTooLarge,
            lang,
            "api-body-too-large",
            &[("limit", limit.to_string().into())],
        ));
    }
    let request = request::parse_request(&bytes, header_key.0, runner.max_models(), lang)?;
    let kind = match (request.census, request.probe) {
        (true, _) => RunKind::Census,
        (false, true) => RunKind::Probe,
        (false, false) => RunKind::Check,
    };
    // A census spends points to learn prices for the user who keeps them.
    if kind == RunKind::Census && caller.0.is_none() {
        return Err(ApiError::new(
            Status::Unauthorized,
            lang,
            "api-census-needs-token",
        ));
    }
    let budget = request.budget;
    let plan = runner
        .plan(request.ask(caller.0))
        .await
        .map_err(|error| ApiError::plan(&error, lang))?;
    let key_hint = plan.key_is_unusual();
    let lane = runner
        .admit(caller.0, &client.addr)
        .map_err(|_| ApiError::new(Status::TooManyRequests, lang, "api-busy"))?;
    // A token holder's run is stored; an anonymous one leaves no trace.
    let execution = Execution {
        plan,
        kind,
        source: Source::Api,
        user: caller.0,
        keep: caller.0.is_some(),
        lane,
        budget,
    };
    let finished = runner.run(execution).await;
    let history_id = match finished.stored {
        Stored::Saved(id) => Some(id),
        Stored::NotAsked => None,
        Stored::Failed => {
            return Err(ApiError::new(
                Status::ServiceUnavailable,
                lang,
                "api-store-failed",
            ));
        }
    };
    Ok(Json(response::envelope(
        &finished, history_id, key_hint, lang,
    )))
}
