//! `GET /` signed in: each saved key's last known points balance (with its age and a free
//! refresh), what it buys, the forecast (when the points run out at the recent pace) and the
//! points expiring soon, the latest known answer per model (with the calls a day the pace
//! means), the daily-grant reminder, and a run button per preset with its keys ranked
//! (`ranking`). Opening the page makes no upstream call and reads one stored row a key
//! (`runs::outlook`); the refresh reads the free balance only, never a probe.

mod ranking;

use std::collections::HashMap;

use askama::Template;
use askama_web::WebTemplate;
use rocket::http::Status;
use rocket::request::FlashMessage;
use rocket::{State, get, post};

use crate::clock::SharedClock;
use crate::db::history::{self, LatestResult};
use crate::db::{Db, DbError, presets};
use crate::i18n::Lang;
use crate::ids::{KeyId, UserId};
use crate::keyring::Keyring;
use crate::modelscope::{ModelResult, Site, Tiers};
use crate::runs::engine::Lane;
use crate::runs::executor::{Execution, Stored};
use crate::runs::history::{RunKind, Source};
use crate::runs::outlook::{self, KeyOutlook};
use crate::runs::planner::{Named, RunAsk};
use crate::runs::prices::{self, Known};
use crate::runs::runner::Runner;
use crate::web::kit::csrf::{Csrf, TokenOnlyForm};
use crate::web::kit::notice::{Flash, FlashCode, Notice, Redirected};
use crate::web::kit::outlook_view::OutlookView;
use crate::web::kit::problem::Problem;
use crate::web::kit::result_view::RowView;
use crate::web::kit::result_view::{BalanceShown, Strip, TierCalls};
use crate::web::kit::session::{CurrentUser, SignedInOrNext};
use crate::web::kit::status::ResultStatus;
use crate::web::kit::view::Layout;
use crate::web::kit::view::{PresetOption, points, preset_options_priced};

crate::closed_set! {
    /// The unit of an age.
    pub enum AgeUnit { Seconds = "s", Minutes = "m", Hours = "h", Days = "d" }
}

/// How long ago, as a number and a unit the template turns into words.
pub struct Age {
    pub n: i64,
    pub unit: AgeUnit,
    /// The whole age in seconds, for sorting by it.
    pub secs: i64,
}

impl Age {
    /// The message that says it: `age-s`, `age-m`, `age-h` or `age-d`.
    pub fn unit_id(&self) -> &'static str {
        match self.unit {
            AgeUnit::Seconds => "age-s",
            AgeUnit::Minutes => "age-m",
            AgeUnit::Hours => "age-h",
            AgeUnit::Days => "age-d",
        }
    }

    pub fn since(then: i64, now: i64) -> Self {
        let secs = (now - then).max(0);
        let (n, unit) = match secs {
            0..60 => (secs, AgeUnit::Seconds),
            60..3600 => (secs / 60, AgeUnit::Minutes),
            3600..86_400 => (secs / 3600, AgeUnit::Hours),
            _ => (secs / 86_400, AgeUnit::Days),
        };
        Self { n, unit, secs }
    }
}

pub struct LatestRow {
    pub view: RowView,
    pub age: Age,
    /// Calls a day of this model the key's pace means.
    pub per_day: Option<String>,
}

pub struct KeyPanel {
    pub id: KeyId,
    pub label: String,
    pub masked: String,
    pub site: Site,
    pub needs_reentry: bool,
    /// The last balance read, with its age; `None` when never read. What it buys is in
    /// `buys` (the headline shows it; the card does not repeat it).
    pub strip: Option<Strip>,
    pub buys: Vec<TierCalls>,
    pub balance_age: Option<Age>,
    /// Today's login grant is not claimed yet: by the earn rules (`earn_rules`), or likely,
    /// since the readings since 00:00 show no rise (`readings`).
    pub grant_unclaimed: Option<&'static str>,
    pub rows: Vec<LatestRow>,
    /// Some row knows the calls a day its pace means (the column is left out otherwise).
    pub per_day_column: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "dashboard.html")]
pub struct DashboardPage {
    pub layout: Layout,
    pub keys: Vec<KeyPanel>,
    pub presets: Vec<PresetOption>,
    /// Beside each preset (same order): its keys ranked per model, and the best key for it.
    pub rankings: Vec<ranking::PresetRanking>,
    pub reset_hours: i64,
    pub reset_minutes: i64,
    /// Set when the stored numbers could not be read.
    pub error: Option<Notice>,
}

/// What the page reads from the database, in one round trip.
struct DashboardData {
    latest: Vec<LatestResult>,
    outlooks: HashMap<KeyId, KeyOutlook>,
    presets: Vec<crate::db::presets::Preset>,
}

fn read_stored(
    conn: &rusqlite::Connection,
    user_id: UserId,
    now: i64,
) -> Result<DashboardData, DbError> {
    Ok(DashboardData {
        latest: history::latest_for_user(conn, user_id)?,
        outlooks: outlook::read(conn, user_id, now)?,
        presets: presets::list_for_user(conn, user_id)?,
    })
}

fn latest_row(
    latest: &LatestResult,
    outlook: &KeyOutlook,
    known: &Known,
    now: i64,
    lang: Lang,
) -> LatestRow {
    let available = outlook.balance.map(|b| b.available);
    let price = known.price(&latest.model);
    let result = ModelResult {
        model: latest.model.clone(),
        quota: latest.quota,
        status: Some(200),
        failure: latest
            .error_code
            .map(|code| crate::modelscope::Failure::new(code, None)),
        latency_ms: 0,
        price,
        candidates: known.candidates_of(&latest.model, &Tiers::default()),
        checked: true,
    };
    LatestRow {
        view: RowView::new(&result, available, lang),
        age: Age::since(latest.checked_at, now),
        per_day: price
            .and_then(|p| outlook.forecast.calls_per_day(p.points))
            .map(points),
    }
}

#[get("/")]
pub async fn dashboard(
    user: SignedInOrNext,
    flash: Option<FlashMessage<'_>>,
    db: &State<Db>,
    keyring: &State<Keyring>,
    clock: &State<SharedClock>,
) -> DashboardPage {
    let user = user.0;
    let user_id = user.0.user_id;
    let now = clock.now();
    let reset = crate::clock::seconds_until_midnight(now);
    let mut page = DashboardPage {
        layout: user.layout().with_flash(flash),
        keys: Vec::new(),
        presets: Vec::new(),
        rankings: Vec::new(),
        reset_hours: reset / 3600,
        reset_minutes: (reset % 3600) / 60,
        error: None,
    };
    let stored = match db.run(move |conn| read_stored(conn, user_id, now)).await {
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
    // One price read for the rows and the presets' expected costs.
    let models: Vec<String> = stored
        .latest
        .iter()
        .map(|l| l.model.clone())
        .chain(stored.presets.iter().flat_map(|p| p.models.clone()))
        .collect();
    let known = prices::known_for(db, Some(user_id), models)
        .await
        .unwrap_or_else(|error| {
            tracing::warn!(%error, "reading model prices failed");
            Known::default()
        });
    let lang = page.layout.lang;
    let unread = KeyOutlook::unread();
    page.rankings = ranking::for_presets(&stored.presets, &keys, &stored.outlooks, &known);
    page.keys = keys
        .into_iter()
        .map(|key| {
            let outlook = stored.outlooks.get(&key.id).unwrap_or(&unread);
            let balance = outlook.balance;
            let rows: Vec<LatestRow> = stored
                .latest
                .iter()
                .filter(|l| l.api_key_id == key.id)
                .map(|l| latest_row(l, outlook, &known, now, lang))
                .collect();
            let mut strip = balance.map(|b| {
                let mut strip = Strip::of(
                    BalanceShown {
                        total: Some(b.total),
                        available: Some(b.available),
                        frozen: Some(b.frozen),
                        code: Some(ResultStatus::Ok),
                        detail: None,
                    },
                    None,
                    None,
                    &Tiers::default(),
                );
                strip.outlook = Some(OutlookView::of(outlook, now));
                strip
            });
            // What the points buy heads the dashboard; the card does not repeat it.
            let buys = strip
                .as_mut()
                .map(|s| std::mem::take(&mut s.tiers))
                .unwrap_or_default();
            KeyPanel {
                per_day_column: rows.iter().any(|r| r.per_day.is_some()),
                rows,
                id: key.id,
                label: key.label,
                masked: key.masked,
                site: key.site,
                needs_reentry: key.needs_reentry,
                strip,
                buys,
                balance_age: balance.map(|b| Age::since(b.read_at, now)),
                grant_unclaimed: match outlook.grant {
                    Some((true, source)) => Some(source.as_str()),
                    _ => None,
                },
            }
        })
        .collect();
    page.presets = preset_options_priced(stored.presets, &known);
    page
}

/// The free refresh of one key: reads its balance (no model is called), stores it as a free
/// check of the models the dashboard shows for it, and goes back to the dashboard.
#[post("/keys/<id>/refresh", data = "<_form>")]
pub async fn refresh(
    user: CurrentUser,
    id: KeyId,
    _form: Csrf<TokenOnlyForm>,
    db: &State<Db>,
    runner: &State<Runner>,
) -> Result<Redirected, Status> {
    let user_id = user.0.user_id;
    let models = db
        .run(move |conn| history::latest_for_user(conn, user_id))
        .await
        .map_err(|error| Problem::db(&error).status)?
        .into_iter()
        .filter(|l| l.api_key_id == id)
        .map(|l| l.model)
        .collect::<Vec<_>>();
    let ask = RunAsk {
        user: Some(user_id),
        saved_key: Some(Named::Id(id)),
        models,
        check_only: true,
        ..RunAsk::default()
    };
    let plan = runner
        .plan(ask)
        .await
        .map_err(|error| Problem::plan(&error).status)?;
    let finished = runner
        .run(Execution {
            plan,
            kind: RunKind::Check,
            source: Source::Web,
            user: Some(user_id),
            keep: true,
            lane: Lane::Member,
            budget: None,
        })
        .await;
    match (finished.stored, finished.balance.is_ok()) {
        (Stored::Saved(_), true) => Ok(Flash::new(FlashCode::BalanceRefreshed).redirect("/")),
        (Stored::Saved(_), false) => Ok(Flash::new(FlashCode::RefreshFailed).redirect("/")),
        _ => Err(Status::ServiceUnavailable),
    }
}

pub fn routes() -> Vec<rocket::Route> {
    rocket::routes![dashboard, refresh]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages() {
        assert_eq!(Age::since(0, 30).unit.as_str(), "s");
        let m = Age::since(0, 600);
        assert_eq!((m.n, m.unit.as_str()), (10, "m"));
        assert_eq!(Age::since(0, 7200).unit.as_str(), "h");
        assert_eq!(Age::since(0, 3 * 86_400).n, 3);
        assert_eq!(Age::since(100, 0).n, 0, "clock skew is never negative");
    }
}
