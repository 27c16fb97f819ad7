//! What the passkey ceremonies' JSON endpoints share: the relying party of a request (from
//! `public_url`, or a loopback `Host` when none is set), the CSRF token sent in the
//! `X-CSRF-Token` header (the JSON twin of the forms' `csrf_token`), the body read with a size
//! cap and deadline, and answers in JSON: `{"options": …}`, `{"redirect": …}` or
//! `{"error": "<words in the page's language>"}` with a 4xx status.

use rocket::State;
use rocket::data::{Data, FromData, Outcome, ToByteUnit};
use rocket::http::{Header, Status};
use rocket::outcome::try_outcome;
use rocket::request::{self, FromRequest, Request};
use rocket::response::{self, Responder};
use rocket::serde::json::Json;
use serde_json::{Value, json};

use super::client::client_addr;
use super::csrf::{body_deadline, expected_token};
use super::session::request_lang;
use crate::auth::passkeys::{Browser, PasskeyError, Passkeys};
use crate::config::AppConfig;
use crate::crypto::tokens;
use crate::crypto::webauthn::RelyingParty;
use crate::i18n::{self, Lang};

/// The header that carries the page's CSRF token.
pub const CSRF_HEADER: &str = "X-CSRF-Token";
/// A WebAuthn answer is a few KiB; anything much larger is no answer.
const MAX_BODY_KIB: u64 = 64;

/// Host names whose origin a browser treats as secure over plain http.
fn is_loopback_name(host: &str) -> bool {
    host == "localhost" || host.ends_with(".localhost")
}

/// The relying party for `public_url`, or else for a loopback `Host` (`None`: refused).
pub fn relying_party(public_url: Option<&str>, host_header: Option<&str>) -> Option<RelyingParty> {
    if let Some(public) = public_url {
        let url = url::Url::parse(public).ok()?;
        let host = url.host_str()?;
        let origin = url.origin().ascii_serialization();
        return RelyingParty::new(host, &origin);
    }
    let authority = host_header?;
    let host = authority
        .rsplit_once(':')
        .filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit()))
        .map_or(authority, |(host, _)| host)
        .to_ascii_lowercase();
    is_loopback_name(&host)
        .then(|| RelyingParty::new(&host, &format!("http://{}", authority.to_ascii_lowercase())))
        .flatten()
}

/// The request's relying party, or why there is none.
pub struct Rp(pub Result<RelyingParty, PasskeyError>);

impl Rp {
    /// The relying party and the browser's answer in `body`, or the first thing wrong.
    pub fn with_answer(self, body: &CsrfJson) -> Result<(RelyingParty, Finish), PasskeyError> {
        Ok((self.0?, body.finish()?))
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Rp {
    type Error = ();

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, ()> {
        let public = request
            .rocket()
            .state::<AppConfig>()
            .and_then(|config| config.public_url.as_deref());
        let rp = relying_party(public, request.headers().get_one("Host"));
        request::Outcome::Success(Self(rp.ok_or(PasskeyError::NoRelyingParty)))
    }
}

/// A JSON body whose `X-CSRF-Token` matched the session's (signed out, the CSRF cookie's) in
/// constant time; a missing or wrong token is 403 before the handler runs. The body is kept
/// as bytes: each endpoint reads its own shape and says what was wrong with it.
pub struct CsrfJson(pub Vec<u8>);

#[rocket::async_trait]
impl<'r> FromData<'r> for CsrfJson {
    type Error = ();

    async fn from_data(request: &'r Request<'_>, data: Data<'r>) -> Outcome<'r, Self> {
        let expected = expected_token(request).await;
        let given = request.headers().get_one(CSRF_HEADER);
        let matches = match (&expected, given) {
            (Some(expected), Some(given)) => tokens::constant_time_eq(expected, given),
            _ => false,
        };
        if !matches {
            return Outcome::Error((Status::Forbidden, ()));
        }
        let read = data.open(MAX_BODY_KIB.kibibytes()).into_bytes();
        match tokio::time::timeout(body_deadline(request), read).await {
            Ok(Ok(bytes)) if bytes.is_complete() => Outcome::Success(Self(bytes.into_inner())),
            Ok(Ok(_)) => Outcome::Error((Status::PayloadTooLarge, ())),
            Ok(Err(_)) => Outcome::Error((Status::BadRequest, ())),
            Err(_) => Outcome::Error((Status::RequestTimeout, ())),
        }
    }
}

/// A finishing request's body: `{"credential": {…}, "name": "…"}`.
pub struct Finish {
    pub credential: Vec<u8>,
    pub name: String,
}

impl CsrfJson {
    /// An empty body is fine for the options endpoints; anything else must be a JSON object.
    pub fn finish(&self) -> Result<Finish, PasskeyError> {
        let value: Value = serde_json::from_slice(&self.0)
            .map_err(|error| PasskeyError::Malformed(error.to_string()))?;
        let credential = value
            .get("credential")
            .filter(|c| c.is_object())
            .ok_or_else(|| PasskeyError::Malformed("no \"credential\" object".to_owned()))?;
        Ok(Finish {
            credential: serde_json::to_vec(credential).unwrap_or_default(),
            name: value
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
        })
    }
}

/// A JSON answer, never cached.
pub struct Answer {
    status: Status,
    body: Value,
    retry_after_secs: Option<i64>,
}

impl Answer {
    pub fn options(options_json: &str) -> Self {
        let options: Value = serde_json::from_str(options_json).unwrap_or(Value::Null);
        Self::ok(json!({ "options": options }))
    }

    /// The options a ceremony started with, or the words of why it did not start.
    pub fn started(started: Result<String, PasskeyError>, lang: Lang) -> Self {
        match started {
            Ok(options) => Self::options(&options),
            Err(error) => Self::error(&error, lang),
        }
    }

    pub fn redirect(to: &str) -> Self {
        Self::ok(json!({ "redirect": to }))
    }

    fn ok(body: Value) -> Self {
        Self {
            status: Status::Ok,
            body,
            retry_after_secs: None,
        }
    }

    /// The error in words, with its status; the details stay in the log.
    pub fn error(error: &PasskeyError, lang: Lang) -> Self {
        let (status, id) = match error {
            PasskeyError::NoRelyingParty => (Status::Conflict, "passkey-error-no-public-url"),
            PasskeyError::Malformed(_) => (Status::BadRequest, "passkey-error-malformed"),
            PasskeyError::UnknownChallenge => (Status::BadRequest, "passkey-error-challenge"),
            PasskeyError::UnknownCredential => (Status::Unauthorized, "passkey-error-unknown"),
            PasskeyError::Refused(_) => (Status::Unauthorized, "passkey-error-refused"),
            PasskeyError::OtherAccount => (Status::Unauthorized, "passkey-error-other-account"),
            PasskeyError::Duplicate => (Status::Conflict, "passkey-error-duplicate"),
            PasskeyError::BadName => (Status::UnprocessableEntity, "passkey-error-name"),
            PasskeyError::NotFound => (Status::NotFound, "passkey-error-not-found"),
            PasskeyError::Disabled => (Status::Forbidden, "notice-account_disabled"),
            PasskeyError::Throttled { .. } => (Status::TooManyRequests, "passkey-error-throttled"),
            PasskeyError::AddressBusy { .. } => {
                (Status::TooManyRequests, "passkey-error-address-busy")
            }
            PasskeyError::Busy => (Status::ServiceUnavailable, "passkey-error-busy"),
            PasskeyError::SecondFactorExpired => {
                (Status::Unauthorized, "notice-second_factor_expired")
            }
            PasskeyError::Db(_) => (Status::ServiceUnavailable, "passkey-error-db"),
        };
        // The parser's words may quote the browser's answer: not logged. The ceremony's
        // refusals are the library's fixed descriptions (an origin mismatch says which setting
        // is wrong).
        match error {
            PasskeyError::Db(db) => tracing::error!(error = %db, "passkey ceremony"),
            PasskeyError::Malformed(_) => tracing::info!("passkey ceremony: a malformed answer"),
            other => tracing::info!(error = %other, "passkey ceremony refused"),
        }
        let mut body = json!({ "error": i18n::text(lang, id) });
        if matches!(error, PasskeyError::SecondFactorExpired) {
            body["redirect"] = json!("/login");
        }
        Self {
            status,
            body,
            retry_after_secs: error.retry_after_secs(),
        }
    }
}

impl<'r> Responder<'r, 'static> for Answer {
    fn respond_to(self, request: &'r Request<'_>) -> response::Result<'static> {
        let mut response = (self.status, Json(self.body)).respond_to(request)?;
        response.set_header(Header::new("Cache-Control", "no-store"));
        if let Some(secs) = self.retry_after_secs {
            response.set_raw_header("Retry-After", secs.to_string());
        }
        Ok(response)
    }
}

/// What every passkey JSON endpoint takes: the relying party (or why there is none), the
/// language of its words and the passkeys.
pub struct Ceremony<'r> {
    pub rp: Rp,
    pub lang: Lang,
    pub passkeys: &'r Passkeys,
    client_addr: String,
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Ceremony<'r> {
    type Error = ();

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, ()> {
        let rp = try_outcome!(request.guard::<Rp>().await);
        let passkeys = try_outcome!(request.guard::<&State<Passkeys>>().await);
        request::Outcome::Success(Self {
            rp,
            lang: request_lang(request),
            passkeys,
            client_addr: client_addr(request),
        })
    }
}

impl Ceremony<'_> {
    /// `error` in the request's words.
    pub fn refuse(&self, error: &PasskeyError) -> Answer {
        Answer::error(error, self.lang)
    }

    /// The browser beginning a ceremony bound to `binding`.
    pub fn browser(&self, binding: String) -> Browser {
        Browser {
            binding,
            client_addr: self.client_addr.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_relying_party_comes_from_public_url_or_a_loopback_host() {
        let public = relying_party(Some("https://msb.example/"), Some("evil.example")).unwrap();
        assert_eq!(public.origin(), "https://msb.example");
        let local = relying_party(None, Some("localhost:8000")).unwrap();
        assert_eq!(local.origin(), "http://localhost:8000");
        assert!(relying_party(None, Some("msb.example")).is_none());
        assert!(relying_party(None, Some("127.0.0.1:8000")).is_none());
        assert!(relying_party(None, None).is_none());
        assert!(relying_party(Some("https://10.0.0.1:8443"), None).is_none());
    }
}
