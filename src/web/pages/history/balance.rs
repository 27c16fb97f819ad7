//! `GET /history/balance`: each key's points balance over time, one line per key: the last
//! reading of each of the last 30 (Beijing) days, from the runs and free checks stored. One point
//! a key a day keeps the page small and its reading bounded however many runs a day holds.

use askama::Template;
use askama_web::WebTemplate;
use rocket::http::Status;
use rocket::{State, get};
use time::Date;

use super::chart::{self, Chart, PointLabel, Sample};
use crate::clock;
use crate::db::Db;
use crate::db::history;
use crate::keyring::Keyring;
use crate::web::kit::problem::Problem;
use crate::web::kit::session::CurrentUser;
use crate::web::kit::view::{Layout, points};

/// How far back the page looks, today included.
const DAYS: i64 = 30;

#[derive(Template, WebTemplate)]
#[template(path = "balance_trend.html")]
pub struct BalancePage {
    pub layout: Layout,
    pub chart: Option<Chart>,
    pub days: i64,
    pub readings: usize,
}

#[get("/history/balance")]
pub async fn balance_trend(
    user: CurrentUser,
    db: &State<Db>,
    keyring: &State<Keyring>,
) -> Result<BalancePage, Status> {
    let user_id = user.0.user_id;
    let keys = keyring
        .list(user_id)
        .await
        .map_err(|error| Problem::key(&error).status)?;
    let key_ids: Vec<_> = keys.iter().map(|key| key.id).collect();
    let days = last_days(clock::today(), DAYS);
    let readings = db
        .run(move |conn| history::daily_balances(conn, user_id, &key_ids, &days))
        .await
        .map_err(|error| Problem::db(&error).status)?;
    let samples: Vec<Sample> = readings
        .iter()
        .filter_map(|reading| {
            // Readings of a key deleted since are not drawn.
            let key = keys.iter().find(|k| k.id == reading.api_key_id)?;
            Some(Sample {
                at: reading.at,
                line: key.label.clone(),
                value: Some(reading.available),
                limit: None,
                label: PointLabel {
                    time: clock::minutes(reading.at),
                    key_label: Some(key.label.clone()),
                    remaining: points(reading.available),
                    ..PointLabel::default()
                },
            })
        })
        .collect();
    Ok(BalancePage {
        layout: user.layout(),
        readings: samples.len(),
        chart: chart::build(&samples),
        days: DAYS,
    })
}

/// `[00:00, next 00:00)` in Beijing, in unix seconds, for the `count` days up to `today`.
fn last_days(today: Date, count: i64) -> Vec<(i64, i64)> {
    let mut days = Vec::new();
    let mut day = Some(today);
    for _ in 0..count {
        let Some(date) = day else { break };
        let Some(next) = date.next_day() else { break };
        days.push((clock::midnight(date), clock::midnight(next)));
        day = date.previous_day();
    }
    days.reverse();
    days
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thirty_beijing_days_ending_today_oldest_first() {
        let today = clock::parse_date("2026-03-02").unwrap();
        let days = last_days(today, 30);
        assert_eq!(days.len(), 30);
        // 2026-03-02 00:00 +08 is 2026-03-01 16:00 UTC.
        assert_eq!(days[29], (1_772_380_800, 1_772_380_800 + 86_400));
        assert!(days.windows(2).all(|w| w[0].1 == w[1].0));
        assert_eq!(days[0].0, 1_772_380_800 - 29 * 86_400);
    }
}
