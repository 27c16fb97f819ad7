//! `GET /` signed in: the latest known numbers for each saved key (from history, no upstream
//! call), time left until the daily reset, and a run button per preset.

use askama::Template;
use askama_web::WebTemplate;
use rocket::State;

use super::query::PresetOption;
use super::session::CurrentUser;
use super::view::{Layout, Meter, StatusRow, number};
use crate::db::history::{self, LatestResult};
use crate::db::{Db, presets};
use crate::keyring::Keyring;

/// How long ago, as a number and a unit the template turns into words.
pub struct Age {
    pub n: i64,
    /// `s`, `m`, `h` or `d`.
    pub unit: &'static str,
}

impl Age {
    pub fn since(then: i64, now: i64) -> Self {
        let secs = (now - then).max(0);
        match secs {
            0..60 => Self { n: secs, unit: "s" },
            60..3600 => Self {
                n: secs / 60,
                unit: "m",
            },
            3600..86_400 => Self {
                n: secs / 3600,
                unit: "h",
            },
            _ => Self {
                n: secs / 86_400,
                unit: "d",
            },
        }
    }
}

pub struct LatestRow {
    pub model: String,
    pub request: String,
    pub model_request: String,
    pub meter: Option<Meter>,
    pub age: Age,
    pub row: StatusRow,
}

pub struct KeyPanel {
    pub id: i64,
    pub label: String,
    pub masked: String,
    pub needs_reentry: bool,
    pub rows: Vec<LatestRow>,
}

#[derive(Template, WebTemplate)]
#[template(path = "dashboard.html")]
pub struct DashboardPage {
    pub layout: Layout,
    pub keys: Vec<KeyPanel>,
    pub presets: Vec<PresetOption>,
    pub reset_hours: i64,
    pub reset_minutes: i64,
}

/// Seconds until the next 00:00 in Beijing (UTC+8), when ModelScope quotas reset.
pub fn seconds_until_reset(now_unix: i64) -> i64 {
    const DAY: i64 = 86_400;
    let beijing = now_unix + 8 * 3600;
    DAY - beijing.rem_euclid(DAY)
}

fn latest_row(latest: LatestResult, now: i64) -> LatestRow {
    let q = latest.quota;
    LatestRow {
        request: format!(
            "{} / {}",
            number(q.request_remaining),
            number(q.request_limit)
        ),
        model_request: format!(
            "{} / {}",
            number(q.model_request_remaining),
            number(q.model_request_limit)
        ),
        meter: super::view::meter(q.model_request_remaining, q.model_request_limit),
        age: Age::since(latest.checked_at, now),
        row: StatusRow {
            code: latest
                .error_code
                .as_deref()
                .and_then(crate::modelscope::ErrorCode::parse)
                .map_or("ok", |c| c.as_str()),
        },
        model: latest.model,
    }
}

pub async fn dashboard(
    user: &CurrentUser,
    db: &State<Db>,
    keyring: &State<Keyring>,
) -> DashboardPage {
    let user_id = user.0.user_id;
    let now = crate::db::now();
    let (latest, presets) = db
        .run(move |conn| {
            Ok((
                history::latest_for_user(conn, user_id)?,
                presets::list_for_user(conn, user_id)?,
            ))
        })
        .await
        .unwrap_or_default();
    let keys = keyring.list(user_id).await.unwrap_or_default();
    let mut panels: Vec<KeyPanel> = keys
        .into_iter()
        .map(|key| KeyPanel {
            id: key.id,
            label: key.label,
            masked: key.masked,
            needs_reentry: key.needs_reentry,
            rows: Vec::new(),
        })
        .collect();
    for row in latest {
        if let Some(panel) = panels.iter_mut().find(|p| p.id == row.api_key_id) {
            panel.rows.push(latest_row(row, now));
        }
    }
    let reset = seconds_until_reset(now);
    DashboardPage {
        layout: user.layout(),
        keys: panels,
        presets: presets.into_iter().map(PresetOption::from).collect(),
        reset_hours: reset / 3600,
        reset_minutes: (reset % 3600) / 60,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_is_at_beijing_midnight() {
        // 2026-11-28 15:30:00 UTC = 23:30 in Beijing: 30 minutes left.
        let t = 1_795_879_800;
        assert_eq!(seconds_until_reset(t), 30 * 60);
        // 16:00 UTC is exactly midnight in Beijing: a whole day until the next reset.
        assert_eq!(seconds_until_reset(t + 1800), 86_400);
    }

    #[test]
    fn ages() {
        assert_eq!(Age::since(0, 30).unit, "s");
        let m = Age::since(0, 600);
        assert_eq!((m.n, m.unit), (10, "m"));
        assert_eq!(Age::since(0, 7200).unit, "h");
        assert_eq!(Age::since(0, 3 * 86_400).n, 3);
        assert_eq!(Age::since(100, 0).n, 0, "clock skew is never negative");
    }
}
