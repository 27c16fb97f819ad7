//! The `/monitors` page: what each monitor watches, its rules, and the forms' choices; and
//! what its handlers need to show it again ([`MonitorsContext`]).

use askama::Template;
use askama_web::WebTemplate;
use rocket::State;
use rocket::http::Status;
use rocket::outcome::try_outcome;
use rocket::request::{self, FromRequest, Request};

use crate::clock;
use crate::crypto::secret::mask_tail;
use crate::db::Db;
use crate::db::monitor_keys::{KeyCode, MonitorKey};
use crate::i18n::Lang;
use crate::ids::{ChannelId, KeyId, MonitorId, PresetId, RuleId, RunId, UserId};
use crate::keyring::Keyring;
use crate::modelscope::Tiers;
use crate::monitors::ask::check_kind;
use crate::monitors::rules::Condition;
use crate::monitors::{CheckKind, MonitorAsk, Monitors, Outcome};
use crate::notify::{Channels, Kind};
use crate::web::kit::monitoring_view::reason_text;
use crate::web::kit::notice::Notice;
use crate::web::kit::problem::Problem;
use crate::web::kit::session::CurrentUser;
use crate::web::kit::view::{
    KeyOption, Layout, PresetOption, cost_text, key_options, points, preset_options,
};

/// A key a monitor watches, with what it last saw.
pub struct KeyLine {
    pub label: String,
    pub masked: String,
    pub last_run: Option<String>,
    pub run_id: Option<RunId>,
    pub ok: bool,
    /// Its points cannot pay for a call of any price (0 calls), though the look succeeded.
    pub no_points: bool,
    /// A rule of the monitor fires for this key.
    pub firing: bool,
    /// The error in words when the last look failed.
    pub problem: Option<String>,
    pub available: Option<String>,
}

pub struct RuleLine {
    pub id: RuleId,
    pub condition: Condition,
    pub threshold: Option<String>,
    pub model: Option<String>,
    pub at_time: Option<String>,
    /// points_expiring: the hours ahead it looks.
    pub within_hours: Option<String>,
    pub channel: String,
    /// The condition holds now for at least one key.
    pub active: bool,
}

pub struct MonitorRow {
    pub id: MonitorId,
    pub kind: CheckKind,
    pub preset_name: Option<String>,
    pub every_minutes: Option<i64>,
    pub at_times: Option<String>,
    pub paused: bool,
    pub run_requested: bool,
    pub next_run: String,
    pub last_run: Option<String>,
    pub last_outcome: Option<Outcome>,
    /// A rule fires or a key's points buy no call: the run went fine, the key does not.
    pub attention: bool,
    pub reason: Option<String>,
    pub failures: i64,
    /// Expected points per day (probes).
    pub daily_cost: Option<String>,
    pub cap: Option<String>,
    pub spent_today: Option<String>,
    pub keys: Vec<KeyLine>,
    pub rules: Vec<RuleLine>,
    /// This monitor's rule form failed, and why.
    pub rule_error: Option<Notice>,
    /// What that form held, shown again (the condition picked keeps its fields shown).
    pub rule_echo: RuleEcho,
    /// Why "run now" was refused (a limit), next to its button.
    pub run_error: Option<Notice>,
}

/// A refused rule form, as it was typed.
#[derive(Default)]
pub struct RuleEcho {
    pub condition: Option<Condition>,
    pub threshold: String,
    pub model: String,
    pub at_time: String,
    pub within_hours: String,
    pub channel_id: String,
}

/// What the add form shows again after a refusal.
#[derive(Default)]
pub struct FormEcho {
    pub key_ids: Vec<String>,
    pub check: CheckKind,
    pub preset_id: String,
    pub every_minutes: String,
    pub at_times: String,
    pub daily_cost_cap: String,
}

impl FormEcho {
    /// What was typed, cut short (a form can send anything).
    pub fn of(ask: &MonitorAsk) -> Self {
        let echo = |v: &Option<String>| v.as_deref().unwrap_or("").chars().take(200).collect();
        Self {
            key_ids: ask.key_ids.iter().take(50).cloned().collect(),
            check: check_kind(ask.check.as_deref()).unwrap_or_default(),
            preset_id: echo(&ask.preset_id),
            every_minutes: echo(&ask.every_minutes),
            at_times: echo(&ask.at_times),
            daily_cost_cap: echo(&ask.daily_cost_cap),
        }
    }

    pub fn has_key(&self, id: &KeyId) -> bool {
        self.key_ids.iter().any(|k| k.trim() == id.to_string())
    }

    pub fn is_preset(&self, id: &PresetId) -> bool {
        self.preset_id.trim() == id.to_string()
    }
}

pub struct ChannelOption {
    pub id: ChannelId,
    pub name: String,
    pub kind: Kind,
}

#[derive(Template, WebTemplate)]
#[template(path = "monitors.html")]
pub struct MonitorsPage {
    pub layout: Layout,
    pub monitors: Vec<MonitorRow>,
    pub keys: Vec<KeyOption>,
    pub presets: Vec<PresetOption>,
    pub channels: Vec<ChannelOption>,
    pub conditions: &'static [Condition],
    /// The add form's error.
    pub error: Option<Notice>,
    pub form: FormEcho,
}

/// What every handler of this page needs to show it again: the user and the handles the
/// page reads.
pub struct MonitorsContext<'r> {
    pub user: CurrentUser,
    pub monitors: &'r Monitors,
    keyring: &'r Keyring,
    channels: &'r Channels,
    db: &'r Db,
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for MonitorsContext<'r> {
    type Error = ();

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, ()> {
        let user = try_outcome!(request.guard::<CurrentUser>().await);
        let monitors = try_outcome!(request.guard::<&State<Monitors>>().await);
        let keyring = try_outcome!(request.guard::<&State<Keyring>>().await);
        let channels = try_outcome!(request.guard::<&State<Channels>>().await);
        let db = try_outcome!(request.guard::<&State<Db>>().await);
        request::Outcome::Success(Self {
            user,
            monitors,
            keyring,
            channels,
            db,
        })
    }
}

impl MonitorsContext<'_> {
    pub fn user_id(&self) -> UserId {
        self.user.0.user_id
    }

    /// The page as it stands.
    pub async fn page(&self) -> Result<MonitorsPage, Status> {
        let (user_id, lang) = (self.user_id(), self.user.0.lang);
        let overview = self
            .monitors
            .overview(user_id)
            .await
            .map_err(|e| Problem::monitor(&e).status)?;
        let today = clock::last_midnight(clock::now());
        let mut rows = Vec::new();
        for monitor in &overview.monitors {
            let firing = |key: KeyId| {
                overview.active.iter().any(|(rule, active_key)| {
                    *active_key == key
                        && overview
                            .rules
                            .iter()
                            .any(|r| r.id == *rule && r.monitor_id == monitor.id)
                })
            };
            let keys: Vec<KeyLine> = overview
                .keys
                .iter()
                .filter(|k| k.monitor_id == monitor.id)
                .map(|k| key_line(k, firing(k.key_id), lang))
                .collect();
            let rules: Vec<RuleLine> = overview
                .rules
                .iter()
                .filter(|r| r.monitor_id == monitor.id)
                .map(|r| RuleLine {
                    id: r.id,
                    condition: r.condition,
                    threshold: r.threshold.map(points),
                    model: r.model.clone(),
                    at_time: r.at_time.clone(),
                    within_hours: r.within_hours.map(points),
                    channel: r.channel_name.clone(),
                    active: overview.active.iter().any(|(rule, _)| *rule == r.id),
                })
                .collect();
            rows.push(MonitorRow {
                id: monitor.id,
                kind: monitor.kind,
                preset_name: monitor.preset_name.clone(),
                every_minutes: monitor.every_minutes,
                at_times: monitor.at_times.clone(),
                paused: monitor.paused,
                run_requested: monitor.run_requested,
                next_run: clock::minutes(monitor.next_run_at),
                last_run: monitor.last_run_at.map(clock::minutes),
                last_outcome: monitor.last_outcome,
                attention: keys.iter().any(|k| k.firing || k.no_points)
                    || rules.iter().any(|r| r.active),
                reason: monitor.last_reason.map(|r| reason_text(lang, r)),
                failures: monitor.failures,
                daily_cost: overview.daily_costs.get(&monitor.id).map(cost_text),
                cap: monitor.daily_cost_cap.map(points),
                spent_today: (monitor.kind == CheckKind::Probe).then(|| {
                    points(if monitor.spent_day == Some(today) {
                        monitor.spent_points
                    } else {
                        0.0
                    })
                }),
                keys,
                rules,
                rule_error: None,
                run_error: None,
                rule_echo: RuleEcho::default(),
            });
        }
        let channels = self
            .channels
            .list(user_id)
            .await
            .map_err(|e| Problem::channel(&e).status)?;
        let presets = crate::presets::list(self.db, user_id)
            .await
            .unwrap_or_default();
        Ok(MonitorsPage {
            monitors: rows,
            keys: key_options(self.keyring, user_id).await,
            presets: preset_options(self.db, user_id, presets).await,
            channels: channels
                .into_iter()
                .map(|c| ChannelOption {
                    id: c.id,
                    name: c.name,
                    kind: c.kind,
                })
                .collect(),
            conditions: Condition::ALL,
            form: FormEcho {
                every_minutes: "5".into(),
                ..FormEcho::default()
            },
            ..self.empty_page()
        })
    }

    /// The page with nothing on it (when even the list cannot be read).
    fn empty_page(&self) -> MonitorsPage {
        MonitorsPage {
            layout: self.user.layout(),
            monitors: Vec::new(),
            keys: Vec::new(),
            presets: Vec::new(),
            channels: Vec::new(),
            conditions: &[],
            error: None,
            form: FormEcho::default(),
        }
    }

    /// `status` with the empty page.
    pub fn empty(&self, status: Status) -> (Status, MonitorsPage) {
        (status, self.empty_page())
    }
}

/// A key's line: green only when its last look succeeded, its points buy a call and no rule
/// fires for it.
fn key_line(key: &MonitorKey, firing: bool, lang: Lang) -> KeyLine {
    let looked = key.last_code == Some(KeyCode::Ok);
    let no_points = looked
        && key
            .last_available
            .is_some_and(|a| a < Tiers::default().cheapest() - 1e-9);
    KeyLine {
        ok: looked && !no_points && !firing,
        no_points,
        firing,
        label: key.label.clone(),
        masked: mask_tail(key.last_four.clone()),
        last_run: key.last_run_at.map(clock::minutes),
        run_id: key.last_run_id,
        problem: match key.last_code {
            Some(KeyCode::Failed(reason)) => Some(reason_text(lang, reason)),
            _ => None,
        },
        available: key.last_available.map(points),
    }
}
