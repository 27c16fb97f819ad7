//! `GET /api/quota`: the token holder's own keys, with what is stored about each (balance,
//! forecast, expiring points, calls left per model), as JSON or as Prometheus text, so a
//! script, a gateway or Grafana can read it. No upstream call unless `refresh=true`, which
//! reads every key's free balance first (stored as free checks), at most once a minute per
//! user. Never a secret: keys are named by label and last four characters.

mod json;
mod prometheus;

use std::collections::HashMap;
use std::sync::Mutex;

use futures::future::join_all;
use rocket::http::uri::Origin;
use rocket::http::{Header, Status};
use rocket::response::{self, Responder};
use rocket::{Request, Response, State, get};
use serde::Serialize;

use json::KeyJson;

use super::auth::TokenHolder;
use super::errors::ApiError;
use super::lang::ApiLang;
use crate::clock::{self, SharedClock};
use crate::db::Db;
use crate::i18n::{self, Lang};
use crate::ids::{KeyId, UserId};
use crate::keyring::Keyring;
use crate::runs::engine::Lane;
use crate::runs::executor::Execution;
use crate::runs::history::{RunKind, Source};
use crate::runs::planner::{Named, RunAsk};
use crate::runs::quota::{QuotaAsk, QuotaError, report};
use crate::runs::runner::Runner;

/// A user's balances are read for `refresh=true` at most this often.
pub const REFRESH_EVERY_SECS: i64 = 60;

/// When each user last had their balances read through `refresh=true`.
#[derive(Default)]
pub struct QuotaRefreshes(Mutex<HashMap<UserId, i64>>);

impl QuotaRefreshes {
    /// Takes the user's refresh at `now`, or answers when the next one is allowed.
    fn take(&self, user: UserId, now: i64) -> Result<(), i64> {
        let Ok(mut last) = self.0.lock() else {
            return Err(now + REFRESH_EVERY_SECS);
        };
        match last.get(&user) {
            Some(at) if now - at < REFRESH_EVERY_SECS => Err(at + REFRESH_EVERY_SECS),
            _ => {
                last.insert(user, now);
                Ok(())
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Format {
    #[default]
    Json,
    Prometheus,
}

/// The query, each parameter at most once.
#[derive(Debug, Default)]
struct Params {
    format: Format,
    model: Option<String>,
    refresh: bool,
    key: Option<String>,
}

fn parse(uri: &Origin<'_>, lang: Lang) -> Result<Params, ApiError> {
    let mut params = Params::default();
    let mut seen: Vec<&str> = Vec::new();
    for (name, value) in uri.query().into_iter().flat_map(|q| q.segments()) {
        if !["format", "model", "refresh", "key"].contains(&name) {
            continue;
        }
        if seen.contains(&name) {
            return Err(ApiError::with(
                Status::BadRequest,
                lang,
                "api-quota-twice",
                &[("name", name.into())],
            ));
        }
        seen.push(name);
        let given = || {
            value
                .chars()
                .flat_map(char::escape_debug)
                .take(60)
                .collect::<String>()
        };
        match name {
            "format" => {
                params.format = match value {
                    "json" => Format::Json,
                    "prometheus" => Format::Prometheus,
                    _ => {
                        return Err(ApiError::with(
                            Status::BadRequest,
                            lang,
                            "api-quota-format",
                            &[("given", given().into())],
                        ));
                    }
                }
            }
            "refresh" => {
                params.refresh = match value {
                    "true" => true,
                    "false" => false,
                    _ => return Err(ApiError::bad_request(lang, "api-quota-refresh")),
                }
            }
            "model" => {
                // Surrounding whitespace is trimmed, as everywhere a model id is taken.
                let value = value.trim();
                crate::modelscope::validate_model_id(value).map_err(|_| {
                    ApiError::with(
                        Status::BadRequest,
                        lang,
                        "api-quota-model",
                        &[("given", given().into())],
                    )
                })?;
                params.model = Some(value.to_owned());
            }
            _ => params.key = Some(value.to_owned()),
        }
    }
    Ok(params)
}

/// The key named by id or label, if it is the user's.
async fn find_key(
    keyring: &Keyring,
    user: UserId,
    named: &str,
    lang: Lang,
) -> Result<KeyId, ApiError> {
    let not_found = || ApiError::new(Status::NotFound, lang, "api-quota-key-not-found");
    if named.is_empty() || named.chars().count() > 64 {
        return Err(not_found());
    }
    if let Ok(id) = named.parse::<KeyId>() {
        return Ok(id);
    }
    keyring
        .find_id_by_label(user, named)
        .await
        .map_err(|error| ApiError::unavailable(lang, &error))?
        .ok_or_else(not_found)
}

/// Reads the free balance of each of the user's keys (or of `only`), stored as free checks.
async fn refresh(user: UserId, keys: Vec<KeyId>, runner: &Runner) {
    let reads = keys.into_iter().map(|key| async move {
        let ask = RunAsk {
            user: Some(user),
            saved_key: Some(Named::Id(key)),
            check_only: true,
            ..RunAsk::default()
        };
        // A key that cannot be opened is simply not read; its stored figures stand.
        if let Ok(plan) = runner.plan(ask).await {
            let execution = Execution {
                plan,
                kind: RunKind::Check,
                source: Source::Api,
                user: Some(user),
                keep: true,
                lane: Lane::Member,
                budget: None,
            };
            runner.run(execution).await;
        }
    });
    join_all(reads).await;
}

/// The answer: JSON, or Prometheus text, written out already (the report it comes from is
/// borrowed, not kept).
pub enum QuotaAnswer {
    Json(String),
    Text(String),
}

impl<'r> Responder<'r, 'static> for QuotaAnswer {
    fn respond_to(self, _: &'r Request<'_>) -> response::Result<'static> {
        let (content_type, text) = match self {
            Self::Json(text) => ("application/json", text),
            Self::Text(text) => (prometheus::CONTENT_TYPE, text),
        };
        let mut response = Response::build()
            .raw_header("Content-Type", content_type)
            .sized_body(text.len(), std::io::Cursor::new(text))
            .finalize();
        response.set_header(Header::new("Cache-Control", "no-store"));
        Ok(response)
    }
}

/// The whole JSON answer.
#[derive(Serialize)]
struct QuotaJson<'a> {
    success: bool,
    message: String,
    generated_at: String,
    refreshed: bool,
    refresh_after: Option<String>,
    model: Option<&'a str>,
    keys: Vec<KeyJson<'a>>,
}

#[get("/api/quota")]
#[allow(clippy::too_many_arguments)] // Rocket guards: each argument is one thing the route needs.
pub async fn quota(
    holder: TokenHolder,
    uri: &Origin<'_>,
    lang: ApiLang,
    db: &State<Db>,
    keyring: &State<Keyring>,
    runner: &State<Runner>,
    clock: &State<SharedClock>,
    refreshes: &State<QuotaRefreshes>,
) -> Result<QuotaAnswer, ApiError> {
    let (lang, user) = (lang.0, holder.0);
    let params = parse(uri, lang)?;
    let key = match &params.key {
        Some(named) => Some(find_key(keyring, user, named, lang).await?),
        None => None,
    };
    let ask = QuotaAsk {
        key,
        model: params.model.clone(),
    };
    let map_error = |error: QuotaError| match error {
        QuotaError::KeyNotFound => ApiError::new(Status::NotFound, lang, "api-quota-key-not-found"),
        QuotaError::Key(error) => ApiError::unavailable(lang, &error),
        QuotaError::Db(error) => ApiError::unavailable(lang, &error),
    };
    let mut refreshed = false;
    let mut refresh_after = None;
    if params.refresh {
        // Check the key is the user's before any upstream call.
        let report = report(db, keyring, runner.tiers(), user, ask.clone(), clock.now())
            .await
            .map_err(map_error)?;
        match refreshes.take(user, clock.now()) {
            Ok(()) => {
                let keys = report
                    .keys
                    .iter()
                    .filter(|k| !k.key.needs_reentry)
                    .map(|k| k.key.id)
                    .collect();
                refresh(user, keys, runner).await;
                refreshed = true;
            }
            Err(next) => refresh_after = Some(next),
        }
    }
    let report = report(db, keyring, runner.tiers(), user, ask, clock.now())
        .await
        .map_err(map_error)?;
    if params.format == Format::Prometheus {
        return Ok(QuotaAnswer::Text(prometheus::render(&report)));
    }
    let ranked = params.model.is_some();
    let keys: Vec<KeyJson> = report
        .keys
        .iter()
        .enumerate()
        .map(|(i, key)| KeyJson::new(key, ranked.then_some(i + 1)))
        .collect();
    let body = QuotaJson {
        success: true,
        message: i18n::text_with(lang, "api-quota-ok", &[("count", keys.len().into())]),
        generated_at: clock::rfc3339(report.now),
        refreshed,
        refresh_after: refresh_after.map(clock::rfc3339),
        model: params.model.as_deref(),
        keys,
    };
    // Only string keys and plain values: writing cannot fail, but if it did it is ours.
    let text = serde_json::to_string(&body).map_err(|error| {
        tracing::error!(%error, "/api/quota could not be written as JSON");
        ApiError::new(Status::InternalServerError, lang, "api-catch-500")
    })?;
    Ok(QuotaAnswer::Json(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_refresh_a_minute_per_user() {
        let refreshes = QuotaRefreshes::default();
        assert_eq!(refreshes.take(UserId(1), 1000), Ok(()));
        assert_eq!(refreshes.take(UserId(1), 1030), Err(1060));
        assert_eq!(refreshes.take(UserId(2), 1030), Ok(()));
        assert_eq!(refreshes.take(UserId(1), 1060), Ok(()));
    }
}
