//! `GET /history/balance`: each key's points balance over time, one line per key, from the
//! runs and free checks stored in the last 30 days.

use askama::Template;
use askama_web::WebTemplate;
use rocket::http::Status;
use rocket::{State, get};

use super::chart::{self, Chart, PointLabel, Sample};
use crate::clock;
use crate::db::Db;
use crate::db::history;
use crate::keyring::Keyring;
use crate::web::problem::Problem;
use crate::web::session::CurrentUser;
use crate::web::view::{Layout, points};

/// How far back the page looks.
const DAYS: i64 = 30;
/// Readings drawn at most (the newest ones).
const READINGS: i64 = 2000;

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
    let since = clock::now() - DAYS * 86_400;
    let readings = db
        .run(move |conn| history::balance_readings(conn, user_id, since, READINGS))
        .await
        .map_err(|error| Problem::db(&error).status)?;
    let keys = keyring
        .list(user_id)
        .await
        .map_err(|error| Problem::key(&error).status)?;
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
