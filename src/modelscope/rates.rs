//! `GET {hub}/openapi/v1/magicubes/spend/rates`: the site's price tiers. Not in the official
//! spec and perhaps not reachable with a token alone, so it is optional: an answer replaces the
//! built-in tier table for that site (`runs::tiers`), anything else leaves it as it is.

use std::time::Instant;

use reqwest::header::AUTHORIZATION;
use serde::Deserialize;

use super::body::{BODY_CAP, read_capped};
use super::client::{Upstream, bearer, record};
use super::price::Tiers;
use super::site::Site;
use crate::crypto::secret::ApiSecret;
use crate::telemetry::Endpoint;

/// Why the rates endpoint gave no table. None of it is shown to anyone: the built-in table
/// stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RatesError {
    #[error("upstream answered HTTP {0}")]
    Status(u16),
    #[error("the rates request failed or timed out")]
    Transport,
    #[error("the rates answer holds no usable table")]
    Unusable,
}

#[derive(Deserialize)]
struct Envelope {
    success: Option<bool>,
    data: Option<Data>,
}

#[derive(Deserialize)]
struct Data {
    rates: Vec<Rate>,
}

#[derive(Deserialize)]
struct Rate {
    scene: Option<String>,
    unit: Option<String>,
    unit_price: Option<f64>,
}

/// The scene API-Inference's prices are listed under.
const SCENE: &str = "api_inference";

impl Upstream {
    /// The site's price tiers, as its rates endpoint lists them for API-Inference calls.
    pub async fn rates(&self, site: Site, token: &ApiSecret) -> Result<Tiers, RatesError> {
        let auth = bearer(token).ok_or(RatesError::Unusable)?;
        let attempt = Instant::now();
        let sent = self
            .http
            .get(self.at(site).rates_url.clone())
            .header(AUTHORIZATION, auth)
            .send()
            .await;
        record(Endpoint::Rates, &sent, attempt);
        let response = sent.map_err(|_| RatesError::Transport)?;
        let status = response.status();
        if !status.is_success() {
            return Err(RatesError::Status(status.as_u16()));
        }
        let body = read_capped(response, BODY_CAP)
            .await
            .map_err(|_| RatesError::Transport)?;
        tiers_of(&body).ok_or(RatesError::Unusable)
    }
}

/// The per-request prices of API-Inference in a rates body; `None` unless it says success and
/// lists at least one.
pub fn tiers_of(body: &str) -> Option<Tiers> {
    let envelope: Envelope = serde_json::from_str(body).ok()?;
    if envelope.success != Some(true) {
        return None;
    }
    let prices = envelope.data?.rates.into_iter().filter_map(|rate| {
        let scene_ok = rate.scene.as_deref().is_none_or(|scene| scene == SCENE);
        let unit_ok = rate.unit.as_deref().is_none_or(|unit| unit == "request");
        rate.unit_price.filter(|_| scene_ok && unit_ok)
    });
    Tiers::from_prices(prices)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seen_shape_gives_its_tiers() {
        let body = r#"{"success":true,"data":{"rates":[
            {"scene":"api_inference","model_tier":"ultra","unit":"request","unit_price":2,"min_charge":2},
            {"scene":"api_inference","model_tier":"lite","unit":"request","unit_price":0.5,"min_charge":0.5},
            {"scene":"api_inference","model_tier":"discount","unit":"request","unit_price":0.2},
            {"scene":"api_inference","model_tier":"standard","unit":"request","unit_price":1},
            {"scene":"training","model_tier":"x","unit":"hour","unit_price":30}]}}"#;
        assert_eq!(tiers_of(body).unwrap().prices(), [0.2, 0.5, 1.0, 2.0]);
    }

    #[test]
    fn anything_else_is_no_table() {
        for body in [
            "",
            "not json",
            r#"{"success":false,"data":{"rates":[{"unit_price":1}]}}"#,
            r#"{"success":true,"data":{"rates":[]}}"#,
            r#"{"success":true,"data":{"rates":[{"unit_price":-1}]}}"#,
            r#"{"success":true}"#,
        ] {
            assert_eq!(tiers_of(body), None, "{body}");
        }
    }
}
