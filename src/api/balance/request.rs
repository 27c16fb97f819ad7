//! The body of `POST /api/balance`, read the way the original tool accepted it: every way it can
//! be wrong gets its own message, and nothing here calls upstream or the database.

use rocket::http::Status;
use serde_json::{Map, Value};

use crate::api::errors::ApiError;
use crate::i18n::Lang;
use crate::ids::{KeyId, PresetId, UserId};
use crate::modelscope::{Site, split_model_text};
use crate::names::MAX_NAME_CHARS;
use crate::runs::planner::{Named, RunAsk};

/// A well-formed request, nothing resolved yet.
#[derive(Debug)]
pub struct BalanceRequest {
    pub pasted_key: Option<String>,
    pub saved_key: Option<Named<KeyId>>,
    pub models: Vec<String>,
    pub preset: Option<Named<PresetId>>,
    /// `false`: a free check (the balance only, no model called).
    pub probe: bool,
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

pub fn parse_request(
    bytes: &[u8],
    header_key: Option<String>,
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
    // A free check may name no model at all: the balance alone answers it.
    let models = match (&preset, models_missing(&object), probe) {
        (Some(_), true, _) | (None, true, false) => Vec::new(),
        _ => parse_models_field(&object, lang)?,
    };
    let site = match object.get("site") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => Some(Site::parse(text).ok_or_else(|| bad("api-bad-site"))?),
        Some(_) => return Err(bad("api-bad-site")),
    };
    let key_given = object.get("api_key").is_some_and(|v| !v.is_null()) || header_key.is_some();
    let pasted_key = match (&saved_key, key_given) {
        (Some(_), false) => None,
        _ => Some(parse_key(&object, header_key, lang)?),
    };
    // The original tool's switch: still checked, but the balance is now always in the answer.
    parse_flag(&object, "include_account", lang)?;
    Ok(BalanceRequest {
        pasted_key,
        saved_key,
        models,
        preset,
        probe,
        site,
    })
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

fn models_missing(object: &Map<String, Value>) -> bool {
    ["models", "models_"]
        .iter()
        .all(|field| object.get(*field).is_none_or(Value::is_null))
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
        Some(Value::Number(n)) => n
            .as_i64()
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

fn parse_models_field(object: &Map<String, Value>, lang: Lang) -> Result<Vec<String>, ApiError> {
    let bad = |id: &str| ApiError::bad_request(lang, id);
    // `models_` is the name an old version of the original tool used.
    let field = object
        .get("models")
        .filter(|v| !v.is_null())
        .or_else(|| object.get("models_").filter(|v| !v.is_null()));
    let models: Vec<String> = match field {
        None => return Err(bad("api-missing-models")),
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
    if models.iter().all(|m| m.trim().is_empty()) {
        return Err(bad("api-no-models"));
    }
    Ok(models)
}

/// The key from the body or the `X-API-Key` header: both, and different, is refused.
fn parse_key(
    object: &Map<String, Value>,
    header_key: Option<String>,
    lang: Lang,
) -> Result<String, ApiError> {
    let bad = |id: &str| ApiError::bad_request(lang, id);
    let body_key = match object.get("api_key") {
        None | Some(Value::Null) => None,
        Some(Value::String(key)) => Some(key.trim().to_owned()).filter(|k| !k.is_empty()),
        Some(_) => return Err(bad("api-key-not-string")),
    };
    let header_key = header_key
        .map(|key| key.trim().to_owned())
        .filter(|key| !key.is_empty());
    match (body_key, header_key) {
        (Some(body), Some(header)) if body != header => Err(bad("api-keys-disagree")),
        (Some(key), _) | (None, Some(key)) => Ok(key),
        (None, None) => Err(bad("api-missing-key")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &[u8], header: Option<&str>) -> Result<BalanceRequest, ApiError> {
        parse_request(body, header.map(str::to_owned), Lang::Zh)
    }

    #[test]
    fn header_and_body_key_must_agree() {
        let body = br#"{"models":"a/b","api_key":"ms-1"}"#;
        assert!(parse(body, Some("ms-1")).is_ok());
        let err = parse(body, Some("ms-2")).unwrap_err();
        assert_eq!(err.status, Status::BadRequest);
        assert!(parse(br#"{"models":"a/b"}"#, Some("ms-2")).is_ok());
    }

    #[test]
    fn models_string_is_split() {
        let request = parse(br#"{"models":"a/b, c/d e/f","api_key":"k"}"#, None).unwrap();
        assert_eq!(request.models, ["a/b", "c/d", "e/f"]);
        let request = parse(br#"{"models_":["a/b"],"api_key":"k"}"#, None).unwrap();
        assert_eq!(request.models, ["a/b"]);
    }

    #[test]
    fn a_saved_key_and_preset_stand_in_only_for_what_is_missing() {
        let request = parse(br#"{"preset":"daily","key_id":3}"#, None).unwrap();
        assert!(request.models.is_empty());
        assert_eq!(request.preset, Some(Named::Name("daily".into())));
        assert_eq!(request.saved_key, Some(Named::Id(KeyId(3))));
        assert_eq!(request.pasted_key, None);
        let request = parse(br#"{"models":["a/b"],"key_id":3,"api_key":"k"}"#, None).unwrap();
        assert_eq!(request.pasted_key.as_deref(), Some("k"));
    }
}
