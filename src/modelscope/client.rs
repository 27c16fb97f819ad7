//! The one shared HTTP client for ModelScope (both sites) and the calls made with it (the two
//! optional ones, the ledger and the earn rules, are read in `extras`).

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, HeaderValue, RETRY_AFTER};
use serde::{Deserialize, Serialize};

use super::body::{BODY_CAP, read_capped};
use super::classify::{ErrorCode, Failure, PointsHint, Reason, classify, shorten, upstream_text};
use super::quota::Quota;
use super::redact::redact;
use super::site::Site;
use crate::crypto::secret::ApiSecret;
use crate::telemetry::{self, Endpoint, UpstreamOutcome};

/// A transient 429 is retried once, after `Retry-After` but never longer than this.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(5);
/// The wait before that one retry when upstream sends no usable `Retry-After`.
const DEFAULT_RETRY_WAIT: Duration = Duration::from_secs(1);
/// The catalogue lists every model; it is larger than an error body but still bounded.
const CATALOGUE_CAP: usize = 2 * 1024 * 1024;

/// Ledger rows asked for (one page).
pub const LEDGER_PAGE: usize = 50;

/// The optional endpoints that answered an unexpected shape, per site (each is logged once).
pub(super) type OddShapes =
    std::sync::Arc<std::sync::Mutex<std::collections::HashSet<(Site, Endpoint)>>>;

/// Where one site's calls go, parsed once: a probe run makes many calls to the same two URLs.
#[derive(Clone)]
pub(super) struct Endpoints {
    chat_url: reqwest::Url,
    balance_url: reqwest::Url,
    models_url: reqwest::Url,
    pub(super) ledger_url: reqwest::Url,
    pub(super) rules_url: reqwest::Url,
    pub(super) rates_url: reqwest::Url,
}

impl Endpoints {
    fn new(bases: &SiteBases) -> Result<Self, url::ParseError> {
        Ok(Self {
            chat_url: format!("{}/chat/completions", bases.api_base).parse()?,
            balance_url: format!("{}/openapi/v1/magicubes/balance", bases.hub_base).parse()?,
            models_url: format!("{}/models", bases.api_base).parse()?,
            ledger_url: format!(
                "{}/openapi/v1/magicubes/transactions?type=EARN&page=1&page_size={}",
                bases.hub_base, LEDGER_PAGE
            )
            .parse()?,
            rules_url: format!("{}/openapi/v1/magicubes/earn/rules", bases.hub_base).parse()?,
            rates_url: format!("{}/openapi/v1/magicubes/spend/rates", bases.hub_base).parse()?,
        })
    }
}

/// Why the upstream client could not be made.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamSetupError {
    #[error("HTTP client: {0}")]
    Http(#[from] reqwest::Error),
    #[error("a ModelScope base URL does not parse: {0}")]
    Url(#[from] url::ParseError),
}

/// One site's two bases, from configuration only, without a trailing slash.
#[derive(Debug, Clone)]
pub struct SiteBases {
    pub api_base: String,
    pub hub_base: String,
}

/// The shared client: pooled keep-alive connections to both sites.
#[derive(Clone)]
pub struct Upstream {
    pub(super) http: reqwest::Client,
    cn: Endpoints,
    ai: Endpoints,
    /// The optional endpoints that answered an unexpected shape, per site: logged once.
    pub(super) odd_shapes: OddShapes,
}

/// What one model's probe saw.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeReport {
    pub quota: Quota,
    /// The HTTP status of the last answer, `None` when no answer came.
    pub status: Option<u16>,
    pub failure: Option<Failure>,
    pub latency: Duration,
}

/// The free points (魔粒) balance of an account.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AccountBalance {
    pub total_balance: f64,
    pub available_balance: f64,
    pub frozen_amount: f64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BalanceError {
    #[error("the key was not accepted")]
    InvalidKey,
    #[error("upstream answered HTTP {status}")]
    Upstream {
        status: u16,
        message: Option<String>,
    },
    #[error("the balance request timed out")]
    Timeout,
    #[error("could not reach the balance service")]
    Network,
    #[error("the balance answer could not be understood")]
    BadResponse,
}

impl BalanceError {
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::InvalidKey => ErrorCode::InvalidKey,
            Self::Upstream { .. } | Self::BadResponse => ErrorCode::UpstreamError,
            Self::Timeout => ErrorCode::Timeout,
            Self::Network => ErrorCode::NetworkError,
        }
    }

    pub fn detail(&self) -> Option<&str> {
        match self {
            Self::Upstream { message, .. } => message.as_deref(),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CatalogueModel {
    pub id: String,
}

#[derive(Deserialize)]
struct BalanceEnvelope {
    success: Option<bool>,
    data: Option<AccountBalance>,
    message: Option<String>,
}

#[derive(Deserialize)]
struct CatalogueEnvelope {
    data: Vec<CatalogueModel>,
}

impl Upstream {
    pub fn new(
        cn: &SiteBases,
        ai: &SiteBases,
        timeout: Duration,
    ) -> Result<Self, UpstreamSetupError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .redirect(reqwest::redirect::Policy::none())
            .pool_idle_timeout(Duration::from_secs(60))
            .tcp_nodelay(true)
            .user_agent(concat!("modelscope-balance/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            http,
            cn: Endpoints::new(cn)?,
            ai: Endpoints::new(ai)?,
            odd_shapes: std::sync::Arc::default(),
        })
    }

    pub(super) fn at(&self, site: Site) -> &Endpoints {
        match site {
            Site::Cn => &self.cn,
            Site::Ai => &self.ai,
        }
    }

    /// One call of `model` (a call of its daily quota, or its price in points), plus at most
    /// one retry of a passing rate limit. `points` decides what a refusal without rate-limit
    /// headers means (see `classify`); spent points are never retried.
    pub async fn probe(
        &self,
        site: Site,
        token: &ApiSecret,
        model: &str,
        points: PointsHint,
    ) -> ProbeReport {
        let started = Instant::now();
        let Some(auth) = bearer(token) else {
            return ProbeReport {
                quota: Quota::default(),
                status: None,
                failure: Some(Failure::new(ErrorCode::InvalidKey, None)),
                latency: started.elapsed(),
            };
        };
        let body = serde_json::json!({
            "model": model,
            "messages": [{"role": "user", "content": "hi"}],
            "max_tokens": 1,
            "stream": false,
            "enable_thinking": false,
        });
        let mut retried = false;
        loop {
            let attempt = Instant::now();
            let sent = self
                .http
                .post(self.at(site).chat_url.clone())
                .header(AUTHORIZATION, auth.clone())
                .json(&body)
                .send()
                .await;
            record(Endpoint::Chat, &sent, attempt);
            let response = match sent {
                Ok(response) => response,
                Err(error) => {
                    return ProbeReport {
                        quota: Quota::default(),
                        status: None,
                        failure: Some(transport_failure(&error)),
                        latency: started.elapsed(),
                    };
                }
            };
            let status = response.status();
            let quota = Quota::from_headers(response.headers());
            let retry_wait = retry_after(response.headers().get(RETRY_AFTER));
            // A success body is never needed; reading a small one keeps the connection reusable.
            let body = match read_capped(response, BODY_CAP).await {
                Ok(body) => body,
                Err(error) if status.is_success() => {
                    // The headers already counted; a body cut short changes nothing.
                    tracing::debug!(kind = ?TransportFailure::of(&error), "probe body unread");
                    String::new()
                }
                Err(error) => {
                    return ProbeReport {
                        quota,
                        status: Some(status.as_u16()),
                        failure: Some(transport_failure(&error)),
                        latency: started.elapsed(),
                    };
                }
            };
            let code = classify(status.as_u16(), &quota, &body, points);
            if code == Some(ErrorCode::RateLimited) && !retried {
                retried = true;
                tokio::time::sleep(retry_wait).await;
                continue;
            }
            let failure = code.map(|code| match code {
                // Without headers an exhaustion is the points running out, not the daily quota.
                ErrorCode::QuotaExhausted if quota.is_empty() => {
                    Failure::because(code, Reason::PointsExhausted)
                }
                _ => Failure::new(code, failure_detail(code, &body, token)),
            });
            return ProbeReport {
                quota,
                status: Some(status.as_u16()),
                failure,
                latency: started.elapsed(),
            };
        }
    }

    /// The free points balance; never costs quota.
    pub async fn balance(
        &self,
        site: Site,
        token: &ApiSecret,
    ) -> Result<AccountBalance, BalanceError> {
        let auth = bearer(token).ok_or(BalanceError::InvalidKey)?;
        let attempt = Instant::now();
        let sent = self
            .http
            .get(self.at(site).balance_url.clone())
            .header(AUTHORIZATION, auth)
            .send()
            .await;
        record(Endpoint::Balance, &sent, attempt);
        let response = sent.map_err(|e| balance_transport_error(&e))?;
        let status = response.status();
        let body = read_capped(response, BODY_CAP)
            .await
            .map_err(|e| balance_transport_error(&e))?;
        let envelope = serde_json::from_str::<BalanceEnvelope>(&body).ok();
        if status == StatusCode::UNAUTHORIZED {
            return Err(BalanceError::InvalidKey);
        }
        match envelope {
            Some(BalanceEnvelope {
                success: Some(true),
                data: Some(balance),
                ..
            }) if status.is_success() => Ok(balance),
            Some(envelope) if !status.is_success() || envelope.success == Some(false) => {
                Err(BalanceError::Upstream {
                    status: status.as_u16(),
                    message: envelope
                        .message
                        .as_deref()
                        .and_then(|message| shorten(&redact(message, token))),
                })
            }
            None if !status.is_success() => Err(BalanceError::Upstream {
                status: status.as_u16(),
                message: shown_text(&body, token),
            }),
            _ => Err(BalanceError::BadResponse),
        }
    }

    /// The public model catalogue of the China site (free, no key needed).
    pub async fn catalogue(&self) -> Result<Vec<CatalogueModel>, BalanceError> {
        let attempt = Instant::now();
        let sent = self.http.get(self.cn.models_url.clone()).send().await;
        record(Endpoint::Catalogue, &sent, attempt);
        let response = sent.map_err(|e| balance_transport_error(&e))?;
        let status = response.status();
        if !status.is_success() {
            return Err(BalanceError::Upstream {
                status: status.as_u16(),
                message: None,
            });
        }
        let body = read_capped(response, CATALOGUE_CAP)
            .await
            .map_err(|e| balance_transport_error(&e))?;
        serde_json::from_str::<CatalogueEnvelope>(&body)
            .map(|envelope| envelope.data)
            .map_err(|_| BalanceError::BadResponse)
    }
}

/// Counts one call for `/metrics`: its HTTP class, or how the transport failed.
pub(super) fn record(
    endpoint: Endpoint,
    sent: &Result<reqwest::Response, reqwest::Error>,
    attempt: Instant,
) {
    let outcome = match sent {
        Ok(response) => UpstreamOutcome::of_status(response.status().as_u16()),
        Err(error) if error.is_timeout() => UpstreamOutcome::Timeout,
        Err(_) => UpstreamOutcome::Network,
    };
    telemetry::record_upstream(endpoint, outcome, attempt.elapsed());
}

/// `None` when the token cannot be a header value (control characters): it is then no valid key.
pub(super) fn bearer(token: &ApiSecret) -> Option<HeaderValue> {
    let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose())).ok()?;
    value.set_sensitive(true);
    Some(value)
}

/// Seconds only (the HTTP-date form is not worth the code for a header never observed).
fn retry_after(value: Option<&HeaderValue>) -> Duration {
    value
        .and_then(|v| v.to_str().ok())
        .and_then(|text| text.trim().parse::<u64>().ok())
        .map(|secs| Duration::from_secs(secs).min(MAX_RETRY_WAIT))
        .unwrap_or(DEFAULT_RETRY_WAIT)
}

fn failure_detail(code: ErrorCode, body: &str, token: &ApiSecret) -> Option<String> {
    match code {
        // Upstream's words add nothing to these codes.
        ErrorCode::NoQuotaData | ErrorCode::QuotaExhausted | ErrorCode::RateLimited => None,
        _ => shown_text(body, token),
    }
}

/// What a user may see of an upstream body: decoded, then redacted, then cut. (Redacting the
/// raw body would miss `ms\u002d…`; cutting first could leave half a key.)
fn shown_text(body: &str, token: &ApiSecret) -> Option<String> {
    shorten(&redact(&upstream_text(body), token))
}

/// What went wrong below HTTP. reqwest's own error text names the URL, so only the kind of
/// failure reaches a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TransportFailure {
    Timeout,
    Connect,
    Body,
    Request,
}

impl TransportFailure {
    fn of(error: &reqwest::Error) -> Self {
        if error.is_timeout() {
            Self::Timeout
        } else if error.is_connect() {
            Self::Connect
        } else if error.is_body() || error.is_decode() {
            Self::Body
        } else {
            Self::Request
        }
    }

    fn failure(self) -> Failure {
        match self {
            Self::Timeout => Failure::new(ErrorCode::Timeout, None),
            Self::Connect => Failure::because(ErrorCode::NetworkError, Reason::Connect),
            Self::Body => Failure::because(ErrorCode::NetworkError, Reason::Truncated),
            Self::Request => Failure::because(ErrorCode::NetworkError, Reason::Request),
        }
    }
}

fn transport_failure(error: &reqwest::Error) -> Failure {
    TransportFailure::of(error).failure()
}

pub(super) fn balance_transport_error(error: &reqwest::Error) -> BalanceError {
    if error.is_timeout() {
        BalanceError::Timeout
    } else {
        BalanceError::Network
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_capped_and_defaulted() {
        let h = |s: &'static str| HeaderValue::from_static(s);
        assert_eq!(retry_after(Some(&h("2"))), Duration::from_secs(2));
        assert_eq!(retry_after(Some(&h("3600"))), MAX_RETRY_WAIT);
        assert_eq!(retry_after(Some(&h("soon"))), DEFAULT_RETRY_WAIT);
        assert_eq!(retry_after(None), DEFAULT_RETRY_WAIT);
    }

    #[test]
    fn echoed_keys_are_redacted_after_decoding_in_any_case() {
        let token = ApiSecret::new("ms-abcdef12-abcd-abcd-abcd-abcdef123456");
        for body in [
            r#"{"error":{"message":"bad key ms\u002dabcdef12\u002dabcd-abcd-abcd-abcdef123456"}}"#,
            r#"{"message":"bad key \u006d\u0073-ABCDEF12-ABCD-ABCD-ABCD-ABCDEF123456"}"#,
            "bad key MS-ABCDEF12-ABCD-ABCD-ABCD-ABCDEF123456",
        ] {
            let shown = shown_text(body, &token).unwrap();
            assert!(
                !shown.to_ascii_lowercase().contains("abcdef12"),
                "{body} -> {shown}"
            );
            assert!(shown.starts_with("bad key"), "{shown}");
        }
        // A key just past the cut is still masked first, not cut in half.
        let body = format!(
            "{} ms-abcdef12-abcd-abcd-abcd-abcdef123456",
            "x".repeat(190)
        );
        let shown = shown_text(&body, &token).unwrap();
        assert!(!shown.contains("abcdef"), "{shown}");
    }

    #[test]
    fn a_token_with_a_newline_is_no_header() {
        assert!(bearer(&ApiSecret::new("ms-abc\r\nX-Evil: 1")).is_none());
        assert!(bearer(&ApiSecret::new("ms-abc")).unwrap().is_sensitive());
    }
}
