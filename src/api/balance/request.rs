//! The body of `POST /api/balance`, read the way the original tool accepted it: every way it can
//! be wrong gets its own message, and nothing here calls upstream or the database. What is
//! refused here is exactly what `assets/openapi.json` says is refused (schemathesis checks both
//! ways in CI): a field that is present is checked even when another one wins over it.

use rocket::http::Status;
use serde_json::{Map, Value};

use crate::api::errors::ApiError;
use crate::i18n::Lang;
use crate::ids::{KeyId, PresetId, UserId};
use crate::modelscope::{Site, split_model_text, validate_model_id};
use crate::names::MAX_NAME_CHARS;
use crate::runs::planner::{Named, PlanError, RunAsk};

/// A well-formed request, nothing resolved yet.
#[derive(Debug)]
pub struct BalanceRequest {
    pub pasted_key: Option<String>,
    pub saved_key: Option<Named<KeyId>>,
    pub models: Vec<String>,
    pub preset: Option<Named<PresetId>>,
    /// `false`: a free check (the balance only, no model called).
    pub probe: bool,
    /// A price census (`measure_prices`): token holders only.
    pub census: bool,
    /// The census's budget in points.
    pub budget: Option<f64>,
    pub site: Option<Site>,
}

impl BalanceRequest {
    pub fn ask(self, user: Option<UserId>) -> RunAsk {
        RunAsk {
            user,
            pasted_key: self.pasted_key,
            site: self.site,
            saved_key: self.saved_key,
            models: self.models,
            preset: self.preset,
            check_only: !self.probe,
        }
    }
}

/// `max_models`: the most entries `models` may have (the per-query limit), counted as sent.
pub fn parse_request(
    bytes: &[u8],
    header_key: Option<String>,
    max_models: usize,
    lang: Lang,
) -> Result<BalanceRequest, ApiError> {
    let bad = |id: &str| ApiError::bad_request(lang, id);
    let text = std::str::from_utf8(bytes).map_err(|_| bad("api-not-utf8"))?;
    if text.trim().is_empty() {
        return Err(bad("api-empty-body"));
    }
    let value: Value = serde_json::from_str(text).map_err(|e| {
        ApiError::with(
            Status::BadRequest,
            lang,
            "api-bad-json",
            &[("problem", e.to_string().into())],
        )
    })?;
    let Value::Object(object) = value else {
        return Err(bad("api-not-an-object"));
    };
    let preset = parse_reference(&object, "preset", lang)?.map(|r| r.map(PresetId));
    let saved_key = parse_reference(&object, "key_id", lang)?.map(|r| r.map(KeyId));
    // Listed models win over a preset, and a given key over a saved one (the planner's rule);
    // the preset and the saved key only stand in when nothing was given in their place.
    let probe = parse_flag(&object, "probe", lang)?.unwrap_or(true);
    let census = parse_flag(&object, "measure_prices", lang)?.unwrap_or(false);
    let budget = parse_budget(&object, lang)?;
    if census && !probe {
        return Err(bad("api-census-not-check"));
    }
    // `models_` is the name an old version of the original tool used; `models` wins.
    let models = parse_models_field(&object, "models", max_models, lang)?;
    let old_models = parse_models_field(&object, "models_", max_models, lang)?;
    // A free check may name no model at all: the balance alone answers it.
    let models = match (models.or(old_models), &preset, probe) {
        (Some(models), _, _) => models,
        (None, Some(_), _) | (None, None, false) => Vec::new(),
        (None, None, true) => return Err(bad("api-missing-models")),
    };
    let site = match object.get("site") {
        None | Some(Value::Null) => None,
        // Exactly as documented: the JSON API takes no other spelling.
        Some(Value::String(text)) => Some(Site::parse(text).ok_or_else(|| bad("api-bad-site"))?),
        Some(_) => return Err(bad("api-bad-site")),
    };
    let body_key = parse_key_field(object.get("api_key"), lang)?;
    let header_key = match header_key.as_deref() {
        // A header cannot carry C1 controls (they are not UTF-8 on the wire): C0 and DEL only.
        Some(key) if key.chars().any(|c| c.is_ascii_control()) => {
            return Err(bad("api-bad-key"));
        }
        Some(key) => checked_key(key, lang)?,
        None => None,
    };
    // Two different keys is a credential problem, like none at all (the planner's 401).
    let pasted_key = match (body_key, header_key) {
        (Some(body), Some(header)) if body != header => {
            return Err(ApiError::new(
                Status::Unauthorized,
                lang,
                "api-keys-disagree",
            ));
        }
        (Some(key), _) | (None, Some(key)) => Some(key),
        (None, None) => None,
    };
    // The original tool's switch: still checked, but the balance is now always in the answer.
    parse_flag(&object, "include_account", lang)?;
    Ok(BalanceRequest {
        pasted_key,
        saved_key,
        models,
        preset,
        probe,
        census,
        budget,
        site,
    })
}

/// `budget`: a positive number of points (at most a billion), or absent / null.
fn parse_budget(object: &Map<String, Value>, lang: Lang) -> Result<Option<f64>, ApiError> {
    match object.get("budget") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_f64()
            .filter(|b| b.is_finite() && *b > 0.0 && *b <= 1e9)
            .map(Some)
            .ok_or_else(|| ApiError::bad_request(lang, "api-bad-budget")),
        Some(_) => Err(ApiError::bad_request(lang, "api-bad-budget")),
    }
}

/// An optional `true` / `false` field.
fn parse_flag(
    object: &Map<String, Value>,
    field: &'static str,
    lang: Lang,
) -> Result<Option<bool>, ApiError> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(flag)) => Ok(Some(*flag)),
        Some(_) => Err(ApiError::with(
            Status::BadRequest,
            lang,
            "api-bad-flag",
            &[("field", field.into())],
        )),
    }
}

/// What `key_id` / `preset` say before it is known which kind of id they are.
enum Reference {
    Id(i64),
    Name(String),
}

impl Reference {
    fn map<Id>(self, id: impl FnOnce(i64) -> Id) -> Named<Id> {
        match self {
            Self::Id(n) => Named::Id(id(n)),
            Self::Name(name) => Named::Name(name),
        }
    }
}

/// `key_id` / `preset`: a positive integer id, or a non-empty name.
fn parse_reference(
    object: &Map<String, Value>,
    field: &'static str,
    lang: Lang,
) -> Result<Option<Reference>, ApiError> {
    let refused =
        |id: &str| ApiError::with(Status::BadRequest, lang, id, &[("field", field.into())]);
    match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => whole_number(n)
            .filter(|id| *id > 0)
            .map(|id| Some(Reference::Id(id)))
            .ok_or_else(|| refused("api-bad-reference")),
        Some(Value::String(name))
            if !name.trim().is_empty() && name.chars().count() <= MAX_NAME_CHARS =>
        {
            Ok(Some(Reference::Name(name.trim().to_owned())))
        }
        Some(_) => Err(refused("api-bad-reference-name")),
    }
}

/// `models` (or `models_`): `None` when absent or null; else an array of strings or a comma,
/// full-width comma or whitespace separated string, with at most `max` entries as sent and at
/// least one that is not blank. Whether the ids are valid is the planner's business (an invalid
/// id gets its own row beside the valid ones).
/// An integer, also when written as a whole float (`3.0` is the integer 3 in JSON Schema).
fn whole_number(n: &serde_json::Number) -> Option<i64> {
    // 2^63 exactly: every whole float below it fits an i64.
    const I64_END: f64 = 9_223_372_036_854_775_808.0;
    n.as_i64().or_else(|| {
        n.as_f64()
            .filter(|f| f.fract() == 0.0 && (-I64_END..I64_END).contains(f))
            .map(|f| f as i64)
    })
}

fn parse_models_field(
    object: &Map<String, Value>,
    field: &'static str,
    max: usize,
    lang: Lang,
) -> Result<Option<Vec<String>>, ApiError> {
    let bad = |id: &str| ApiError::bad_request(lang, id);
    let models: Vec<String> = match object.get(field) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(text)) => split_model_text(text)
            .filter(|id| !id.is_empty())
            .map(str::to_owned)
            .collect(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::String(id) => Ok(id.clone()),
                _ => Err(bad("api-models-not-strings")),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(bad("api-models-bad-type")),
    };
    if models.len() > max {
        return Err(ApiError::with(
            Status::BadRequest,
            lang,
            "api-too-many-models",
            &[("max", max.into()), ("count", models.len().into())],
        ));
    }
    if models.iter().all(|m| m.trim().is_empty()) {
        return Err(bad("api-no-models"));
    }
    // At least one entry must be callable; the others get invalid_model rows.
    if !models.iter().any(|m| validate_model_id(m.trim()).is_ok()) {
        let refused = models
            .iter()
            .map(|m| m.trim())
            .filter(|m| !m.is_empty())
            .filter_map(|m| validate_model_id(m).err().map(|why| (m.to_owned(), why)))
            .collect();
        return Err(ApiError::plan(&PlanError::NoValidModels(refused), lang));
    }
    Ok(Some(models))
}

/// `api_key` in the body: absent, null or blank is no key.
fn parse_key_field(value: Option<&Value>, lang: Lang) -> Result<Option<String>, ApiError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(key)) => checked_key(key, lang),
        Some(_) => Err(ApiError::bad_request(lang, "api-key-not-string")),
    }
}

/// A key as sent: at most 256 characters, spaces around it trimmed, `None` when blank, and
/// otherwise printable ASCII without spaces, 8 to 200 characters (any shape the upstream may
/// accept is tried) — what the OpenAPI document's pattern says.
fn checked_key(key: &str, lang: Lang) -> Result<Option<String>, ApiError> {
    // Room for spaces around the longest key.
    const MAX_KEY_CHARS: usize = 256;
    let trimmed = key.trim_matches(' ');
    if key.chars().count() > MAX_KEY_CHARS
        || !(trimmed.is_empty() || crate::keyring::is_key_shape(trimmed))
    {
        return Err(ApiError::bad_request(lang, "api-bad-key"));
    }
    Ok(Some(trimmed.to_owned()).filter(|key| !key.is_empty()))
}

#[cfg(test)]
mod tests;
