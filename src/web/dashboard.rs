//! `GET /` signed in: the latest known numbers for each saved key (from history, no upstream
//! call), time left until the daily reset, and a run button per preset.

use askama::Template;
use askama_web::WebTemplate;
use rocket::request::FlashMessage;
use rocket::{State, get};

use super::problem::Problem;
use super::session::SignedInOrNext;
use super::view::{Layout, Meter, Notice, PresetOption, StatusRow, meter, number};
use crate::clock;
use crate::db::history::{self, LatestResult};
use crate::db::{Db, presets};
use crate::ids::KeyId;
use crate::keyring::Keyring;
use crate::modelscope::ErrorCode;

/// How long ago, as a number and a unit the template turns into words.
pub struct Age {
    pub n: i64,
    /// `s`, `m`, `h` or `d`.
    pub unit: &'static str,
}

impl Age {
    pub fn since(then: i64, now: i64) -> Self {
        let secs = (now - then).max(0);
        let (n, unit) = match secs {
            0..60 => (secs, "s"),
            60..3600 => (secs / 60, "m"),
            3600..86_400 => (secs / 3600, "h"),
            _ => (secs / 86_400, "d"),
        };
        Self { n, unit }
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
    pub id: KeyId,
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
    /// Set when the stored numbers could not be read.
    pub error: Option<Notice>,
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
        meter: meter(q.model_request_remaining, q.model_request_limit),
        age: Age::since(latest.checked_at, now),
        row: StatusRow {
            code: latest
                .error_code
                .as_deref()
                .and_then(ErrorCode::parse)
                .map_or("ok", |c| c.as_str()),
        },
        model: latest.model,
    }
}

#[get("/")]
pub async fn dashboard(
    user: SignedInOrNext,
    flash: Option<FlashMessage<'_>>,
    db: &State<Db>,
    keyring: &State<Keyring>,
) -> DashboardPage {
    let user = user.0;
    let user_id = user.0.user_id;
    let now = clock::now();
    let reset = clock::seconds_until_midnight(now);
    let mut page = DashboardPage {
        layout: user.layout().with_flash(flash),
        keys: Vec::new(),
        presets: Vec::new(),
        reset_hours: reset / 3600,
        reset_minutes: (reset % 3600) / 60,
        error: None,
    };
    let stored = db
        .run(move |conn| {
            Ok((
                history::latest_for_user(conn, user_id)?,
                presets::list_for_user(conn, user_id)?,
            ))
        })
        .await;
    let (latest, presets) = match stored {
        Ok(stored) => stored,
        Err(error) => {
            page.error = Some(Problem::db(&error).notice);
            return page;
        }
    };
    let keys = match keyring.list(user_id).await {
        Ok(keys) => keys,
        Err(error) => {
            page.error = Some(Problem::key(&error).notice);
            return page;
        }
    };
    page.keys = keys
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
        if let Some(panel) = page.keys.iter_mut().find(|p| p.id == row.api_key_id) {
            panel.rows.push(latest_row(row, now));
        }
    }
    page.presets = presets.into_iter().map(PresetOption::from).collect();
    page
}

#[cfg(test)]
mod tests {
    use super::*;

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
