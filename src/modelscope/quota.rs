//! The rate-limit headers ModelScope sends with chat completions: the daily four, and the
//! monthly per-model pair the international site has sent instead.

use reqwest::header::HeaderMap;
use serde::{Deserialize, Serialize};

pub const REQUESTS_LIMIT: &str = "modelscope-ratelimit-requests-limit";
pub const REQUESTS_REMAINING: &str = "modelscope-ratelimit-requests-remaining";
pub const MODEL_REQUESTS_LIMIT: &str = "modelscope-ratelimit-model-requests-limit";
pub const MODEL_REQUESTS_REMAINING: &str = "modelscope-ratelimit-model-requests-remaining";
pub const MODEL_MONTH_REQUESTS_LIMIT: &str = "modelscope-ratelimit-model-month-requests-limit";
pub const MODEL_MONTH_REQUESTS_REMAINING: &str =
    "modelscope-ratelimit-model-month-requests-remaining";

/// Each number is `None` when the header is missing or not an integer: never a made-up 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quota {
    pub request_limit: Option<i64>,
    pub request_remaining: Option<i64>,
    pub model_request_limit: Option<i64>,
    pub model_request_remaining: Option<i64>,
    /// Calls of this model per month, and left this month (modelscope.ai).
    pub model_month_request_limit: Option<i64>,
    pub model_month_request_remaining: Option<i64>,
}

impl Quota {
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let read = |name: &str| {
            headers
                .get(name)
                .and_then(|value| value.to_str().ok())
                .and_then(|text| text.trim().parse::<i64>().ok())
        };
        Self {
            request_limit: read(REQUESTS_LIMIT),
            request_remaining: read(REQUESTS_REMAINING),
            model_request_limit: read(MODEL_REQUESTS_LIMIT),
            model_request_remaining: read(MODEL_REQUESTS_REMAINING),
            model_month_request_limit: read(MODEL_MONTH_REQUESTS_LIMIT),
            model_month_request_remaining: read(MODEL_MONTH_REQUESTS_REMAINING),
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// True when any remaining count says nothing is left (today, or this month).
    pub fn is_exhausted(&self) -> bool {
        self.request_remaining == Some(0)
            || self.model_request_remaining == Some(0)
            || self.model_month_request_remaining == Some(0)
    }

    /// The smallest remaining count the headers gave.
    pub fn fewest_remaining(&self) -> Option<i64> {
        [
            self.request_remaining,
            self.model_request_remaining,
            self.model_month_request_remaining,
        ]
        .into_iter()
        .flatten()
        .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn reads_integers_and_nulls_the_rest() {
        let mut headers = HeaderMap::new();
        headers.insert(REQUESTS_LIMIT, HeaderValue::from_static("2000"));
        headers.insert(REQUESTS_REMAINING, HeaderValue::from_static(" 1999 "));
        headers.insert(MODEL_REQUESTS_LIMIT, HeaderValue::from_static("lots"));
        headers.insert(MODEL_REQUESTS_REMAINING, HeaderValue::from_static("4.5"));
        headers.insert(MODEL_MONTH_REQUESTS_LIMIT, HeaderValue::from_static("5500"));
        headers.insert(
            MODEL_MONTH_REQUESTS_REMAINING,
            HeaderValue::from_static("5441"),
        );
        let quota = Quota::from_headers(&headers);
        assert_eq!(quota.model_month_request_limit, Some(5500));
        assert_eq!(quota.model_month_request_remaining, Some(5441));
        assert_eq!(quota.fewest_remaining(), Some(1999));
        assert_eq!(quota.request_limit, Some(2000));
        assert_eq!(quota.request_remaining, Some(1999));
        assert_eq!(quota.model_request_limit, None);
        assert_eq!(quota.model_request_remaining, None);
        assert!(!quota.is_empty());
        assert!(Quota::from_headers(&HeaderMap::new()).is_empty());
    }
}

#[cfg(test)]
mod monthly {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn the_monthly_pair_alone_is_headers() {
        let mut headers = HeaderMap::new();
        headers.insert(MODEL_MONTH_REQUESTS_LIMIT, HeaderValue::from_static("5500"));
        headers.insert(
            MODEL_MONTH_REQUESTS_REMAINING,
            HeaderValue::from_static("0"),
        );
        let quota = Quota::from_headers(&headers);
        assert!(!quota.is_empty());
        assert!(quota.is_exhausted());
        assert_eq!(quota.fewest_remaining(), Some(0));
    }
}
