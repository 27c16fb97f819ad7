//! Turns an upstream answer (status, quota headers, body) into a stable error code.
//! Pure functions: the rules of `docs/upstream.md` in one place.

use super::Quota;
use super::model_id::InvalidModel;

crate::closed_set! {
    /// Stable, machine-readable reasons a model's row failed. Part of the JSON API.
    pub enum ErrorCode {
        InvalidKey, AccountNotEligible, ModelNotFound, QuotaExhausted, RateLimited, UpstreamError,
        Timeout, NetworkError, NoQuotaData, InvalidModel,
        /// Not called: the points read before the run could not cover the model's lowest
        /// possible price.
        PointsExhausted,
    }
}

crate::closed_set! {
    /// Why a row failed, in our own words: a stable name the faces turn into text
    /// (`reason-<name>` in the locale files) and the store keeps.
    pub enum Reason {
        // The model id was refused before any call (the four `InvalidModel`s).
        TooLong, NotOwnerSlashName, BadCharacter, DotDot,
        /// No connection could be made.
        Connect,
        /// The answer was cut off.
        Truncated,
        /// The request failed below HTTP for another reason.
        Request,
        /// Refused while the points were below the model's price.
        PointsExhausted,
    }
}

impl From<InvalidModel> for Reason {
    fn from(refused: InvalidModel) -> Self {
        match refused {
            InvalidModel::TooLong => Self::TooLong,
            InvalidModel::NotOwnerSlashName => Self::NotOwnerSlashName,
            InvalidModel::BadCharacter => Self::BadCharacter,
            InvalidModel::DotDot => Self::DotDot,
        }
    }
}

/// Why a row failed: the code, our reason if we have one, and upstream's own words (short,
/// redacted, still untrusted text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub code: ErrorCode,
    pub reason: Option<Reason>,
    pub detail: Option<String>,
}

impl Failure {
    pub fn new(code: ErrorCode, detail: Option<String>) -> Self {
        Self {
            code,
            reason: None,
            detail,
        }
    }

    pub fn because(code: ErrorCode, reason: Reason) -> Self {
        Self {
            code,
            reason: Some(reason),
            detail: None,
        }
    }
}

/// What is known of the account's points when a probe is refused: the available balance read
/// before the run, and the model's price. Bodies are not reliable words, so the balance decides
/// whether a refusal is spent points or a passing rate limit.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PointsHint {
    pub available: Option<f64>,
    pub price: Option<f64>,
}

/// The dearest price of the built-in tiers; an unknown price is assumed to be it when a
/// refusal is judged without a site's table at hand.
pub const HIGHEST_PRICE: f64 = super::price::BUILT_IN_TIERS[3];

/// `None` means the probe answered usefully: any 2xx, with or without the rate-limit headers
/// (without them the answer rests on the points balance). `body` may be empty when unread.
pub fn classify(status: u16, quota: &Quota, body: &str, points: PointsHint) -> Option<ErrorCode> {
    let lower = body.to_ascii_lowercase();
    let quota_like = QUOTA_WORDS.iter().any(|word| lower.contains(word));
    let code = match status {
        200..=299 => return None,
        401 if lower.contains("bind") && lower.contains("alibaba") => ErrorCode::AccountNotEligible,
        401 => ErrorCode::InvalidKey,
        402 | 429 => refusal(quota, points, status == 402 || quota_like),
        403 if quota_like => refusal(quota, points, true),
        403 => ErrorCode::AccountNotEligible,
        404 => ErrorCode::ModelNotFound,
        400 if lower.contains("not supported") || lower.contains("no provider supported") => {
            ErrorCode::ModelNotFound
        }
        400..=499 if lower.contains("quotalimitexceed") => refusal(quota, points, true),
        _ => ErrorCode::UpstreamError,
    };
    Some(code)
}

/// Words of a body that speaks of spent quota or points (lower case).
const QUOTA_WORDS: [&str; 6] = [
    "quotalimitexceed",
    "quota",
    "insufficient",
    "余额不足",
    "魔粒",
    "额度",
];

/// A refused probe: exhausted when the headers say nothing is left, or (without headers) when
/// the points before the run were below the model's price; otherwise a passing rate limit. With
/// nothing known, a plain 429 is a rate limit and a body that speaks of quota is exhaustion.
fn refusal(quota: &Quota, points: PointsHint, says_quota: bool) -> ErrorCode {
    if quota.is_exhausted() {
        return ErrorCode::QuotaExhausted;
    }
    if !quota.is_empty() {
        return ErrorCode::RateLimited;
    }
    match points.available {
        Some(available) if available < points.price.unwrap_or(HIGHEST_PRICE) => {
            ErrorCode::QuotaExhausted
        }
        Some(_) => ErrorCode::RateLimited,
        None if says_quota => ErrorCode::QuotaExhausted,
        None => ErrorCode::RateLimited,
    }
}

/// The most a user is shown of an upstream message.
const MESSAGE_CHARS: usize = 200;

/// Upstream's message in a few plain words: `error.message`, `errors.message` or `message` of a
/// JSON body, else the body text itself; control characters folded, cut to 200 characters.
/// Still untrusted text: pages escape it like any other. With a key at hand, use
/// [`upstream_text`], redact, then [`shorten`]: redaction must see the decoded, uncut text.
pub fn short_upstream_message(body: &str) -> Option<String> {
    shorten(&upstream_text(body))
}

/// The message of an upstream body, JSON-decoded (`ms\u002d` becomes `ms-`), uncut.
pub fn upstream_text(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|json| {
            ["/error/message", "/errors/message", "/message", "/error"]
                .iter()
                .find_map(|pointer| json.pointer(pointer)?.as_str().map(str::to_owned))
        })
        .unwrap_or_else(|| body.to_owned())
}

/// Control characters folded, whitespace collapsed, cut to 200 characters; `None` when empty.
pub fn shorten(text: &str) -> Option<String> {
    let folded: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let words = folded.split_whitespace().collect::<Vec<_>>().join(" ");
    if words.is_empty() {
        return None;
    }
    let mut short: String = words.chars().take(MESSAGE_CHARS).collect();
    if words.chars().count() > MESSAGE_CHARS {
        short.push('…');
    }
    Some(short)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quota(remaining: Option<i64>, model_remaining: Option<i64>) -> Quota {
        Quota {
            request_limit: Some(2000),
            request_remaining: remaining,
            model_request_limit: Some(500),
            model_request_remaining: model_remaining,
            ..Quota::default()
        }
    }

    const UNKNOWN: PointsHint = PointsHint {
        available: None,
        price: None,
    };

    fn with_points(available: f64, price: Option<f64>) -> PointsHint {
        PointsHint {
            available: Some(available),
            price,
        }
    }

    #[test]
    fn any_success_is_healthy_with_or_without_headers() {
        assert_eq!(classify(200, &quota(Some(5), Some(5)), "", UNKNOWN), None);
        assert_eq!(classify(200, &Quota::default(), "{}", UNKNOWN), None);
    }

    #[test]
    fn without_headers_the_balance_decides_a_refusal() {
        let none = Quota::default();
        let limit = r#"{"errors":{"message":"Request limit exceeded.","request_id":"r"}}"#;
        // Points left for the model's price: a passing rate limit.
        assert_eq!(
            classify(429, &none, limit, with_points(10.0, Some(1.0))),
            Some(ErrorCode::RateLimited)
        );
        // Below the price: spent points.
        assert_eq!(
            classify(429, &none, limit, with_points(0.5, Some(1.0))),
            Some(ErrorCode::QuotaExhausted)
        );
        // Unknown price: below 2 is spent.
        assert_eq!(
            classify(429, &none, limit, with_points(1.5, None)),
            Some(ErrorCode::QuotaExhausted)
        );
        assert_eq!(
            classify(429, &none, limit, with_points(2.0, None)),
            Some(ErrorCode::RateLimited)
        );
        // 402, a quota-like 403 and the QuotaLimitExceed code are refusals too.
        assert_eq!(
            classify(402, &none, "", with_points(0.0, Some(1.0))),
            Some(ErrorCode::QuotaExhausted)
        );
        assert_eq!(
            classify(403, &none, "魔粒余额不足", with_points(0.0, None)),
            Some(ErrorCode::QuotaExhausted)
        );
        assert_eq!(
            classify(403, &none, "魔粒余额不足", with_points(50.0, None)),
            Some(ErrorCode::RateLimited)
        );
        assert_eq!(
            classify(
                400,
                &none,
                r#"{"code":"QuotaLimitExceed"}"#,
                with_points(0.0, None)
            ),
            Some(ErrorCode::QuotaExhausted)
        );
        // Nothing known: a plain 429 is a rate limit, words of quota are exhaustion.
        assert_eq!(
            classify(429, &none, limit, UNKNOWN),
            Some(ErrorCode::RateLimited)
        );
        assert_eq!(
            classify(402, &none, "", UNKNOWN),
            Some(ErrorCode::QuotaExhausted)
        );
    }

    #[test]
    fn the_two_401s() {
        let bad = r#"{"error":{"message":"Authentication failed, please make sure that a valid ModelScope token is supplied.","request_id":"x"}}"#;
        let bind =
            r#"{"error":{"message":"please bind your alibaba cloud account","request_id":"x"}}"#;
        assert_eq!(
            classify(401, &Quota::default(), bad, UNKNOWN),
            Some(ErrorCode::InvalidKey)
        );
        assert_eq!(
            classify(401, &Quota::default(), bind, UNKNOWN),
            Some(ErrorCode::AccountNotEligible)
        );
        assert_eq!(
            classify(403, &Quota::default(), "", UNKNOWN),
            Some(ErrorCode::AccountNotEligible)
        );
    }

    #[test]
    fn unknown_models() {
        let q = Quota::default();
        assert_eq!(
            classify(400, &q, "Model id Foo/Bar is not supported", UNKNOWN),
            Some(ErrorCode::ModelNotFound)
        );
        assert_eq!(
            classify(400, &q, "Foo/Bar has no provider supported", UNKNOWN),
            Some(ErrorCode::ModelNotFound)
        );
        assert_eq!(
            classify(404, &q, "", UNKNOWN),
            Some(ErrorCode::ModelNotFound)
        );
        assert_eq!(
            classify(400, &q, "bad json", UNKNOWN),
            Some(ErrorCode::UpstreamError)
        );
    }

    #[test]
    fn exhausted_versus_rate_limited() {
        assert_eq!(
            classify(429, &quota(Some(10), Some(0)), "", UNKNOWN),
            Some(ErrorCode::QuotaExhausted)
        );
        assert_eq!(
            classify(429, &quota(Some(0), None), "", UNKNOWN),
            Some(ErrorCode::QuotaExhausted)
        );
        assert_eq!(
            classify(429, &quota(Some(10), Some(3)), "", UNKNOWN),
            Some(ErrorCode::RateLimited)
        );
        assert_eq!(
            classify(429, &Quota::default(), "", UNKNOWN),
            Some(ErrorCode::RateLimited)
        );
    }

    #[test]
    fn server_errors_and_oddities() {
        let q = Quota::default();
        assert_eq!(
            classify(500, &q, "", UNKNOWN),
            Some(ErrorCode::UpstreamError)
        );
        assert_eq!(
            classify(503, &q, "", UNKNOWN),
            Some(ErrorCode::UpstreamError)
        );
        assert_eq!(
            classify(302, &q, "", UNKNOWN),
            Some(ErrorCode::UpstreamError)
        );
    }

    #[test]
    fn messages_come_from_any_known_shape_and_stay_short() {
        assert_eq!(
            short_upstream_message(
                r#"{"errors":{"message":"Request limit exceeded.","request_id":"r"}}"#
            )
            .as_deref(),
            Some("Request limit exceeded.")
        );
        assert_eq!(
            short_upstream_message(r#"{"success":false,"code":"X","message":"nope"}"#).as_deref(),
            Some("nope")
        );
        assert_eq!(
            short_upstream_message("<b>bad\r\ngateway</b>").as_deref(),
            Some("<b>bad gateway</b>")
        );
        let long = "x".repeat(5000);
        assert_eq!(short_upstream_message(&long).unwrap().chars().count(), 201);
        assert_eq!(short_upstream_message("  \n "), None);
    }

    #[test]
    fn reasons_round_trip() {
        for &reason in Reason::ALL {
            assert_eq!(Reason::parse(reason.as_str()), Some(reason));
        }
        assert_eq!(Reason::parse("nonsense"), None);
    }

    #[test]
    fn codes_round_trip() {
        for &code in ErrorCode::ALL {
            assert_eq!(ErrorCode::parse(code.as_str()), Some(code));
            assert_eq!(
                serde_json::to_value(code).unwrap(),
                serde_json::Value::String(code.as_str().into())
            );
        }
    }
}
