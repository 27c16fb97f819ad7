//! ModelScope's two optional endpoints (docs/upstream.md): the points ledger's grants
//! (`transactions?type=EARN`) and today's earn rules. Neither is in the official spec and
//! sources disagree on whether a token alone reaches them, so both are read leniently and
//! never depended on: an answer of an unexpected shape is logged once per site and counts as
//! "not available", like a refusal. Both are free.

use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

use std::time::Instant;

use reqwest::header::AUTHORIZATION;

use super::body::{BODY_CAP, read_capped};
pub use super::client::LEDGER_PAGE;
use super::client::{BalanceError, Upstream, balance_transport_error, bearer, record};
use super::site::Site;
use crate::clock::BEIJING;
use crate::crypto::secret::ApiSecret;
use crate::telemetry::Endpoint;

/// What an optional endpoint did for a token.
#[derive(Debug, Clone, PartialEq)]
pub enum Optional<T> {
    Answered(T),
    /// Refused the token, or answered something this app does not understand: not usable
    /// with this token (for now).
    NotAvailable,
    /// Failed on the way (timeout, network, a server error, a rate limit): proves nothing.
    Failed,
}

/// A grant row of the ledger: when (unix seconds) and how many points.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EarnRow {
    pub at: i64,
    pub points: f64,
}

/// The ledger's grant rows; `complete` when the page held every row there is.
#[derive(Debug, Clone, PartialEq)]
pub struct Ledger {
    pub grants: Vec<EarnRow>,
    pub complete: bool,
}

/// One earn rule: how much of it was granted today and how much is left to claim.
#[derive(Debug, Clone, PartialEq)]
pub struct EarnRule {
    pub key: String,
    pub today_used: f64,
    pub today_remain: f64,
}

/// Whether today's login grant came, by the earn rules: claimed once any rule was used today;
/// not yet while none was and some can still be; `None` when the rules cannot tell.
pub fn grant_claimed(rules: &[EarnRule]) -> Option<bool> {
    if rules.iter().any(|r| r.today_used > 0.0) {
        return Some(true);
    }
    rules.iter().any(|r| r.today_remain > 0.0).then_some(false)
}

impl Upstream {
    /// The ledger's grant rows for `token`.
    pub async fn ledger(&self, site: Site, token: &ApiSecret) -> Optional<Ledger> {
        self.optional(site, token, Endpoint::Ledger, parse_ledger)
            .await
    }

    /// Today's earn rules for `token`.
    pub async fn earn_rules(&self, site: Site, token: &ApiSecret) -> Optional<Vec<EarnRule>> {
        self.optional(site, token, Endpoint::EarnRules, parse_rules)
            .await
    }

    async fn optional<T>(
        &self,
        site: Site,
        token: &ApiSecret,
        endpoint: Endpoint,
        parse: fn(&Value) -> Option<T>,
    ) -> Optional<T> {
        let (status, body) = match self.optional_get(site, token, endpoint).await {
            Ok(answer) => answer,
            Err(BalanceError::InvalidKey) => return Optional::NotAvailable,
            Err(_) => return Optional::Failed,
        };
        match status {
            200..=299 => {}
            401 | 403 | 404 | 405 => return Optional::NotAvailable,
            _ => return Optional::Failed,
        }
        let json: Option<Value> = serde_json::from_str(&body).ok();
        if let Some(parsed) = json.as_ref().and_then(parse) {
            return Optional::Answered(parsed);
        }
        let refused = json
            .as_ref()
            .is_some_and(|j| j.get("success") == Some(&Value::Bool(false)));
        if !refused && self.first_odd_shape(site, endpoint) {
            // Never the body itself: it may name the account.
            tracing::warn!(
                site = site.as_str(),
                endpoint = endpoint.as_str(),
                json = json.is_some(),
                "an optional ModelScope endpoint answered a shape this app does not know; ignored"
            );
        }
        Optional::NotAvailable
    }

    /// A free GET of one of the optional endpoints (`Endpoint::Ledger` or `Endpoint::EarnRules`):
    /// its status and body, or how the call failed on the way.
    async fn optional_get(
        &self,
        site: Site,
        token: &ApiSecret,
        endpoint: Endpoint,
    ) -> Result<(u16, String), BalanceError> {
        let auth = bearer(token).ok_or(BalanceError::InvalidKey)?;
        let url = match endpoint {
            Endpoint::Ledger => &self.at(site).ledger_url,
            _ => &self.at(site).rules_url,
        };
        let attempt = Instant::now();
        let sent = self
            .http
            .get(url.clone())
            .header(AUTHORIZATION, auth)
            .send()
            .await;
        record(endpoint, &sent, attempt);
        let response = sent.map_err(|e| balance_transport_error(&e))?;
        let status = response.status().as_u16();
        let body = read_capped(response, BODY_CAP)
            .await
            .map_err(|e| balance_transport_error(&e))?;
        Ok((status, body))
    }

    /// Whether this is the first odd answer of `endpoint` on `site` (logged only then).
    fn first_odd_shape(&self, site: Site, endpoint: Endpoint) -> bool {
        self.odd_shapes
            .lock()
            .map(|mut seen| seen.insert((site, endpoint)))
            .unwrap_or(false)
    }
}

/// The list inside an answer: the answer itself, its `data`, or a list under a usual name.
fn rows(answer: &Value) -> Option<&Vec<Value>> {
    if answer.get("success") == Some(&Value::Bool(false)) {
        return None;
    }
    let data = answer.get("data").or(answer.get("Data")).unwrap_or(answer);
    if let Some(list) = data.as_array() {
        return Some(list);
    }
    [
        "transactions",
        "list",
        "items",
        "records",
        "rows",
        "rules",
        "data",
    ]
    .iter()
    .find_map(|name| data.get(*name).and_then(Value::as_array))
}

/// A field under its documented snake_case name or its camelCase twin.
fn field<'a>(row: &'a Value, snake: &str) -> Option<&'a Value> {
    row.get(snake).or_else(|| {
        let mut camel = String::new();
        let mut upper = false;
        for c in snake.chars() {
            if c == '_' {
                upper = true;
            } else if upper {
                camel.extend(c.to_uppercase());
                upper = false;
            } else {
                camel.push(c);
            }
        }
        row.get(camel)
    })
}

/// A number, or a string holding one.
fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|n: &f64| n.is_finite())
}

/// `gmt_created` in any of the forms seen or likely: RFC 3339, ISO 8601 without a zone (Beijing
/// time), with a space for the `T`, with fractions; or epoch seconds or milliseconds, as a
/// number or a string.
pub fn parse_time(value: &Value) -> Option<i64> {
    if let Some(epoch) = number(value) {
        let epoch = epoch as i64;
        return Some(if epoch.abs() >= 100_000_000_000 {
            epoch.div_euclid(1000)
        } else {
            epoch
        });
    }
    let text = value.as_str()?.trim();
    if let Ok(at) = OffsetDateTime::parse(text, &Rfc3339) {
        return Some(at.unix_timestamp());
    }
    let local = format_description!(
        version = 2,
        "[year]-[month]-[day][first [T] [ ]][hour]:[minute]:[second][optional [.[subsecond]]]"
    );
    PrimitiveDateTime::parse(text, &local)
        .ok()
        .map(|at| at.assume_offset(BEIJING).unix_timestamp())
}

fn parse_ledger(answer: &Value) -> Option<Ledger> {
    let rows = rows(answer)?;
    let mut grants = Vec::new();
    for row in rows {
        // Rows of another type (if the filter was ignored) are not grants.
        if let Some(kind) = field(row, "type").and_then(Value::as_str)
            && !kind.eq_ignore_ascii_case("EARN")
        {
            continue;
        }
        grants.push(EarnRow {
            at: parse_time(field(row, "gmt_created")?)?,
            points: number(field(row, "total_amount")?)?,
        });
    }
    Some(Ledger {
        complete: rows.len() < LEDGER_PAGE,
        grants,
    })
}

fn parse_rules(answer: &Value) -> Option<Vec<EarnRule>> {
    rows(answer)?
        .iter()
        .map(|row| {
            Some(EarnRule {
                key: field(row, "rule_key")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                today_used: number(field(row, "today_used")?)?,
                today_remain: number(field(row, "today_remain")?)?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn times_in_every_likely_form() {
        // 2026-12-01 09:00:00 in Beijing is 01:00 UTC.
        let t = 1_796_086_800;
        for value in [
            json!("2026-12-01T09:00:00+08:00"),
            json!("2026-12-01T01:00:00Z"),
            json!("2026-12-01T09:00:00"),
            json!("2026-12-01 09:00:00"),
            json!("2026-12-01T09:00:00.250"),
            json!(t),
            json!(t * 1000),
            json!(t.to_string()),
            json!((t * 1000).to_string()),
        ] {
            assert_eq!(parse_time(&value), Some(t), "{value}");
        }
        assert_eq!(parse_time(&json!("yesterday")), None);
        assert_eq!(parse_time(&json!(null)), None);
    }

    #[test]
    fn ledgers_in_the_envelope_or_bare_with_either_spelling() {
        let row = json!({"gmt_created": "2026-12-01 09:00:00", "model_tier": null,
                         "total_amount": 200, "count": 1});
        for answer in [
            json!({"success": true, "data": [row]}),
            json!({"success": true, "data": {"transactions": [row], "total": 1}}),
            json!([row]),
            json!({"data": {"list": [{"gmtCreated": 1_796_086_800_000_i64, "totalAmount": "200"}]}}),
        ] {
            let ledger = parse_ledger(&answer).unwrap_or_else(|| panic!("{answer}"));
            assert_eq!(
                ledger.grants,
                [EarnRow {
                    at: 1_796_086_800,
                    points: 200.0
                }]
            );
            assert!(ledger.complete);
        }
        let spend =
            json!({"data": [{"type": "SPEND_CONFIRM", "gmt_created": 1, "total_amount": 3}]});
        assert_eq!(parse_ledger(&spend).map(|l| l.grants.len()), Some(0));
        for odd in [
            json!({"success": false, "message": "login required"}),
            json!({"data": {"total": 3}}),
            json!({"data": [{"when": "today", "amount": 200}]}),
            json!("ok"),
        ] {
            assert_eq!(parse_ledger(&odd), None, "{odd}");
        }
    }

    #[test]
    fn earn_rules_say_whether_todays_grant_came() {
        let answer = json!({"success": true, "data": [
            {"rule_key": "login", "amount": 200, "daily_cap": 200, "today_used": 0, "today_remain": 200},
            {"rule_key": "aliyun", "amount": 50, "daily_cap": 50, "today_used": 0, "today_remain": 50}
        ]});
        let rules = parse_rules(&answer).unwrap();
        assert_eq!(rules.len(), 2);
        assert_eq!(grant_claimed(&rules), Some(false));
        let claimed = json!({"data": {"rules": [
            {"ruleKey": "login", "todayUsed": "200", "todayRemain": "0"}
        ]}});
        assert_eq!(grant_claimed(&parse_rules(&claimed).unwrap()), Some(true));
        assert_eq!(grant_claimed(&[]), None);
        assert_eq!(parse_rules(&json!({"data": [{"rule_key": "x"}]})), None);
    }
}
