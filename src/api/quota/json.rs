//! `/api/quota` as JSON: each key's balance, forecast, expiring points and models. Times are
//! RFC 3339 in Beijing time; unknown figures are `null`, never `0`.
//!
//! Written through borrowed, typed views rather than a `serde_json::Value` tree: a user with
//! 10 keys and 30 models gets 300 model rows, and building a map per row cost most of the
//! request's time.

use serde::{Serialize, Serializer};

use crate::clock;
use crate::ids::KeyId;
use crate::runs::quota::{KeyQuota, ModelQuota};

/// A number of points as the balance endpoint writes it (`240.5`, `250`).
#[derive(Clone, Copy)]
struct Points(f64);

impl Serialize for Points {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let rounded = (self.0 * 1000.0).round() / 1000.0;
        if rounded.fract() == 0.0 && rounded.abs() < 1e15 {
            serializer.serialize_i64(rounded as i64)
        } else {
            serializer.serialize_f64(rounded)
        }
    }
}

#[derive(Serialize)]
struct ModelJson<'a> {
    model: &'a str,
    points_per_call: Option<Points>,
    price_source: Option<&'static str>,
    quota_source: Option<&'static str>,
    calls_left: Option<i64>,
    calls_left_range: Option<[i64; 2]>,
    calls_per_day: Option<f64>,
}

impl<'a> From<&'a ModelQuota> for ModelJson<'a> {
    fn from(model: &'a ModelQuota) -> Self {
        Self {
            model: &model.model,
            points_per_call: model.price.map(|p| Points(p.points)),
            price_source: model.price.map(|p| p.source.as_str()),
            quota_source: model.calls.source.map(|s| s.as_str()),
            calls_left: model.calls.exact,
            calls_left_range: model.calls.range.map(|(low, high)| [low, high]),
            calls_per_day: model.calls_per_day,
        }
    }
}

#[derive(Serialize)]
struct BalanceJson {
    available: Points,
    frozen: Points,
    total: Points,
    read_at: String,
}

#[derive(Serialize)]
struct ExpiringJson {
    points: Points,
    at: String,
    exact: bool,
}

#[derive(Serialize)]
struct BasisJson {
    code: &'static str,
    readings: u32,
    hours: f64,
}

#[derive(Serialize)]
struct GrantJson {
    claimed: bool,
    source: &'static str,
}

/// One key; `rank` (1 is best) when keys are ranked for a model.
#[derive(Serialize)]
pub struct KeyJson<'a> {
    id: KeyId,
    label: &'a str,
    site: &'static str,
    last_four: &'a str,
    needs_reentry: bool,
    balance: Option<BalanceJson>,
    expiring: Vec<ExpiringJson>,
    burn_per_hour: Option<Points>,
    runs_out_at: Option<String>,
    forecast_basis: BasisJson,
    daily_grant: Option<GrantJson>,
    models: Vec<ModelJson<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rank: Option<usize>,
}

impl<'a> KeyJson<'a> {
    pub fn new(key: &'a KeyQuota, rank: Option<usize>) -> Self {
        let outlook = &key.outlook;
        let forecast = &outlook.forecast;
        Self {
            id: key.key.id,
            label: &key.key.label,
            site: key.key.site.as_str(),
            last_four: &key.key.last_four,
            needs_reentry: key.key.needs_reentry,
            balance: outlook.balance.map(|b| BalanceJson {
                available: Points(b.available),
                frozen: Points(b.frozen),
                total: Points(b.total),
                read_at: clock::rfc3339(b.read_at),
            }),
            expiring: outlook
                .expiring
                .iter()
                .map(|e| ExpiringJson {
                    points: Points(e.points),
                    at: clock::rfc3339(e.at),
                    exact: e.exact,
                })
                .collect(),
            burn_per_hour: forecast.burn_per_hour.map(Points),
            runs_out_at: forecast.runs_out_at.map(clock::rfc3339),
            forecast_basis: BasisJson {
                code: forecast.basis.as_str(),
                readings: forecast.readings,
                hours: (forecast.span_secs as f64 / 360.0).round() / 10.0,
            },
            daily_grant: outlook.grant.map(|(unclaimed, source)| GrantJson {
                claimed: !unclaimed,
                source: source.as_str(),
            }),
            models: key.models.iter().map(ModelJson::from).collect(),
            rank,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Points;

    #[test]
    fn whole_points_are_written_as_integers_and_the_rest_to_a_thousandth() {
        let text = |p: f64| serde_json::to_string(&Points(p)).unwrap();
        assert_eq!(text(250.0), "250");
        assert_eq!(text(240.5), "240.5");
        assert_eq!(text(0.12345), "0.123");
        assert_eq!(text(-3.0), "-3");
    }
}
