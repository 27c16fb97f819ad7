//! `GET /history/balance?range=today|7d|30d`: each key's points balance over time, one line per
//! key, at the day's resolution: today's readings at their times (the last of each 5 minutes),
//! the last of each hour over 7 days, of each 6 hours over 30 days. Rises (grants) are marked,
//! each key's forecast is drawn as a dashed continuation to zero, and every reading is in the
//! table too. One index probe a key and a slot, so the cost is bounded however many runs a day
//! holds; the forecasts come from the per-key rows (`runs::outlook`).

use askama::Template;
use askama_web::WebTemplate;
use rocket::http::Status;
use rocket::{State, get};

use super::chart::{self, Chart, Frame, PointLabel, Projection, Sample};
use crate::clock::{self, SharedClock};
use crate::db::Db;
use crate::db::history;
use crate::keyring::Keyring;
use crate::pace::Basis;
use crate::runs::outlook;
use crate::web::kit::problem::Problem;
use crate::web::kit::session::CurrentUser;
use crate::web::kit::view::{Layout, points};

const HOUR: i64 = 3600;
const DAY: i64 = 86_400;

crate::closed_set! {
    /// The spans the page offers (`?range=`).
    pub enum Range { Today, Week = "7d", Month = "30d" }
}

impl Range {
    /// `?range=`, today when it is not given.
    fn asked(text: Option<&str>) -> Option<Self> {
        text.map_or(Some(Self::Today), Self::parse)
    }

    /// The chart's span at `now`, one reading's slot, and the step between labelled times.
    fn frame(self, now: i64) -> (i64, i64, i64, i64) {
        let midnight = clock::last_midnight(now);
        match self {
            Self::Today => (midnight, midnight + DAY, 300, 3 * HOUR),
            Self::Week => (midnight - 6 * DAY, midnight + 2 * DAY, HOUR, DAY),
            Self::Month => (midnight - 29 * DAY, midnight + 4 * DAY, 6 * HOUR, 5 * DAY),
        }
    }
}

/// One row of the readings table.
pub struct ReadingRow {
    pub time: String,
    pub key: String,
    pub available: String,
    pub grant: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "balance_trend.html")]
pub struct BalancePage {
    pub layout: Layout,
    /// Each range: its query value, the message naming it, and whether it is the one shown.
    pub ranges: Vec<(&'static str, String, bool)>,
    /// The message that says what the chart shows.
    pub intro: String,
    pub chart: Option<Chart>,
    /// Newest first.
    pub rows: Vec<ReadingRow>,
    pub forecasts: usize,
    /// Readings that show a rise.
    pub grants: usize,
}

#[get("/history/balance?<range>")]
pub async fn balance_trend(
    user: CurrentUser,
    range: Option<&str>,
    db: &State<Db>,
    keyring: &State<Keyring>,
    clock: &State<SharedClock>,
) -> Result<BalancePage, Status> {
    let range = Range::asked(range).ok_or(Status::BadRequest)?;
    let user_id = user.0.user_id;
    let now = clock.now();
    let keys = keyring
        .list(user_id)
        .await
        .map_err(|error| Problem::key(&error).status)?;
    let key_ids: Vec<_> = keys.iter().map(|key| key.id).collect();
    let (start, end, slot, step) = range.frame(now);
    let slots: Vec<(i64, i64)> = (start..now.min(end) + 1)
        .step_by(usize::try_from(slot).unwrap_or(300))
        .map(|at| (at, at + slot))
        .collect();
    let (readings, outlooks) = db
        .run(move |conn| {
            Ok((
                history::daily_balances(conn, user_id, &key_ids, &slots)?,
                outlook::read(conn, user_id, now)?,
            ))
        })
        .await
        .map_err(|error| Problem::db(&error).status)?;
    let mut samples: Vec<Sample> = Vec::new();
    let mut rows = Vec::new();
    for key in &keys {
        let mut previous: Option<f64> = None;
        for reading in readings.iter().filter(|r| r.api_key_id == key.id) {
            let grant = previous
                .map(|total| reading.total - total)
                .filter(|rise| *rise > 1e-6)
                .map(points);
            previous = Some(reading.total);
            let label = PointLabel {
                time: clock::minutes(reading.at),
                key_label: Some(key.label.clone()),
                remaining: points(reading.available),
                grant: grant.clone(),
                ..PointLabel::default()
            };
            rows.push((
                reading.at,
                ReadingRow {
                    time: label.time.clone(),
                    key: key.label.clone(),
                    available: label.remaining.clone(),
                    grant,
                },
            ));
            samples.push(Sample {
                at: reading.at,
                line: key.label.clone(),
                value: Some(reading.available),
                limit: None,
                label,
            });
        }
    }
    rows.sort_by_key(|row| std::cmp::Reverse(row.0));
    // Each key's forecast, from its newest drawn reading to zero (or the chart's edge).
    let projections: Vec<(String, Projection)> = keys
        .iter()
        .filter_map(|key| {
            let forecast = outlooks.get(&key.id)?.forecast;
            let out = forecast
                .runs_out_at
                .filter(|_| forecast.basis == Basis::Pace)?;
            let last = samples.iter().rev().find(|s| s.line == key.label)?;
            let (t0, v0) = (last.at, last.value?);
            let to = if out <= end {
                (out, 0.0)
            } else {
                let share = (end - t0) as f64 / (out - t0).max(1) as f64;
                (end, v0 * (1.0 - share))
            };
            Some((key.label.clone(), Projection { from: (t0, v0), to }))
        })
        .collect();
    let ticks = (0..)
        .map(|i| start + i * step)
        .take_while(|at| *at <= end)
        .map(|at| {
            let text = match range {
                Range::Today => clock::hour_minute(at),
                _ => clock::minutes(at).get(5..10).unwrap_or_default().to_owned(),
            };
            (at, text)
        })
        .collect();
    let frame = Frame {
        span: Some((start, end)),
        ticks,
        projections,
    };
    let chart = chart::build_in(&samples, &frame);
    Ok(BalancePage {
        layout: user
            .layout()
            .at(&format!("/history/balance?range={}", range.as_str())),
        ranges: Range::ALL
            .iter()
            .map(|r| {
                (
                    r.as_str(),
                    format!("balance-range-{}", r.as_str()),
                    *r == range,
                )
            })
            .collect(),
        intro: format!("balance-intro-{}", range.as_str()),
        forecasts: chart.as_ref().map_or(0, |c| c.dashed.len()),
        grants: rows.iter().filter(|(_, r)| r.grant.is_some()).count(),
        chart,
        rows: rows.into_iter().map(|(_, row)| row).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_their_frames() {
        assert_eq!(Range::asked(None), Some(Range::Today));
        assert_eq!(Range::asked(Some("7d")), Some(Range::Week));
        assert_eq!(Range::asked(Some("week")), None);
        // 2026-12-01 09:00 in Beijing.
        let now = 1_796_086_800;
        let midnight = clock::last_midnight(now);
        assert_eq!(
            Range::Today.frame(now),
            (midnight, midnight + DAY, 300, 3 * HOUR)
        );
        let (start, end, slot, _) = Range::Month.frame(now);
        assert_eq!((end - start) / slot, 33 * 4);
    }
}
