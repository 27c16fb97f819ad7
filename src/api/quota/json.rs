//! `/api/quota` as JSON: each key's balance, forecast, expiring points and models. Times are
//! RFC 3339 in Beijing time; unknown figures are `null`, never `0`.

use serde_json::{Value, json};

use crate::clock;
use crate::runs::quota::{KeyQuota, ModelQuota};

/// A number of points as the balance endpoint writes it (`240.5`, `250`).
fn points(value: f64) -> Value {
    let rounded = (value * 1000.0).round() / 1000.0;
    if rounded.fract() == 0.0 && rounded.abs() < 1e15 {
        json!(rounded as i64)
    } else {
        json!(rounded)
    }
}

fn model_json(model: &ModelQuota) -> Value {
    json!({
        "model": model.model,
        "points_per_call": model.price.map(|p| points(p.points)),
        "price_source": model.price.map(|p| p.source.as_str()),
        "quota_source": model.calls.source.map(|s| s.as_str()),
        "calls_left": model.calls.exact,
        "calls_left_range": model.calls.range.map(|(low, high)| [low, high]),
        "calls_per_day": model.calls_per_day,
    })
}

/// One key; `rank` (1 is best) when keys are ranked for a model.
pub fn key_json(key: &KeyQuota, rank: Option<usize>) -> Value {
    let outlook = &key.outlook;
    let forecast = &outlook.forecast;
    let mut value = json!({
        "id": key.key.id,
        "label": key.key.label,
        "site": key.key.site.as_str(),
        "last_four": key.key.last_four,
        "needs_reentry": key.key.needs_reentry,
        "balance": outlook.balance.map(|b| json!({
            "available": points(b.available),
            "frozen": points(b.frozen),
            "total": points(b.total),
            "read_at": clock::rfc3339(b.read_at),
        })),
        "expiring": outlook.expiring.iter().map(|e| json!({
            "points": points(e.points),
            "at": clock::rfc3339(e.at),
            "exact": e.exact,
        })).collect::<Vec<_>>(),
        "burn_per_hour": forecast.burn_per_hour.map(points),
        "runs_out_at": forecast.runs_out_at.map(clock::rfc3339),
        "forecast_basis": {
            "code": forecast.basis.as_str(),
            "readings": forecast.readings,
            "hours": (forecast.span_secs as f64 / 360.0).round() / 10.0,
        },
        "daily_grant": outlook.grant.map(|(unclaimed, source)| json!({
            "claimed": !unclaimed,
            "source": source.as_str(),
        })),
        "models": key.models.iter().map(model_json).collect::<Vec<_>>(),
    });
    if let Some(rank) = rank {
        value["rank"] = json!(rank);
    }
    value
}
