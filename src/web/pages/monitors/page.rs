//! The `/monitors` page: what each monitor watches, its rules, and the forms' choices.

use std::collections::HashMap;

use askama::Template;
use askama_web::WebTemplate;
use rocket::http::Status;

use crate::clock;
use crate::crypto::secret::mask_tail;
use crate::db::Db;
use crate::i18n::Lang;
use crate::ids::{ChannelId, MonitorId, RuleId, RunId};
use crate::keyring::Keyring;
use crate::modelscope::Tiers;
use crate::monitors::rules::Condition;
use crate::monitors::schedule::Schedule;
use crate::monitors::{self};
use crate::notify::Channels;
use crate::scheduler::cost;
use crate::web::kit::monitoring_view::reason_text;
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
    pub condition: &'static str,
    pub threshold: Option<String>,
    pub model: Option<String>,
    pub at_time: Option<String>,
    pub channel: String,
    /// The condition holds now for at least one key.
    pub active: bool,
}

pub struct MonitorRow {
    pub id: MonitorId,
    /// `check` or `probe`.
    pub kind: &'static str,
    pub preset_name: Option<String>,
    pub every_minutes: Option<i64>,
    pub at_times: Option<String>,
    pub paused: bool,
    pub run_requested: bool,
    pub next_run: String,
    pub last_run: Option<String>,
    /// `ok`, `failed` or `skipped`.
    pub last_outcome: String,
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
    pub rule_error: Option<String>,
    /// Why "run now" was refused (a limit), next to its button.
    pub run_error: Option<String>,
}

/// What the add form shows again after a refusal.
#[derive(Default)]
pub struct FormEcho {
    pub key_ids: Vec<String>,
    pub check: String,
    pub preset_id: String,
    pub every_minutes: String,
    pub at_times: String,
    pub daily_cost_cap: String,
}

impl FormEcho {
    pub fn has_key(&self, id: &crate::ids::KeyId) -> bool {
        self.key_ids.iter().any(|k| k.trim() == id.to_string())
    }

    pub fn is_preset(&self, id: &crate::ids::PresetId) -> bool {
        self.preset_id.trim() == id.to_string()
    }
}

pub struct ChannelOption {
    pub id: ChannelId,
    pub name: String,
    pub kind: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "monitors.html")]
pub struct MonitorsPage {
    pub layout: Layout,
    pub done: Option<String>,
    pub monitors: Vec<MonitorRow>,
    pub keys: Vec<KeyOption>,
    pub presets: Vec<PresetOption>,
    pub channels: Vec<ChannelOption>,
    pub conditions: Vec<&'static str>,
    pub error: Option<String>,
    pub form: FormEcho,
}

fn condition_name(text: &str) -> &'static str {
    Condition::parse(text).map_or("key_invalid", Condition::as_str)
}

pub(super) async fn page(
    user: &CurrentUser,
    db: &Db,
    keyring: &Keyring,
    channels: &Channels,
) -> Result<MonitorsPage, Status> {
    let user_id = user.0.user_id;
    let lang = user.0.lang;
    let overview = monitors::overview(db, user_id)
        .await
        .map_err(|e| Problem::monitor(&e).status)?;
    let presets = crate::presets::list(db, user_id).await.unwrap_or_default();
    let models_of: HashMap<_, _> = presets.iter().map(|p| (p.id, p.models.clone())).collect();
    let mut rows = Vec::new();
    let today = clock::last_midnight(clock::now());
    for monitor in &overview.monitors {
        let schedule = Schedule::from_stored(monitor.every_minutes, monitor.at_times.as_deref());
        let keys: Vec<KeyLine> = overview
            .keys
            .iter()
            .filter(|k| k.monitor_id == monitor.id)
            .map(|k| {
                let firing = overview.active.iter().any(|(rule, key)| {
                    *key == k.key_id
                        && overview
                            .rules
                            .iter()
                            .any(|r| r.id == *rule && r.monitor_id == monitor.id)
                });
                key_line(k, firing, lang)
            })
            .collect();
        let daily_cost = match (monitor.preset_id.and_then(|p| models_of.get(&p)), &schedule) {
            (Some(models), Some(schedule)) if monitor.kind == "probe" => {
                let per_run = cost::per_run(db, user_id, models).await;
                Some(cost_text(&cost::per_day(per_run, keys.len(), schedule)))
            }
            _ => None,
        };
        let rules: Vec<RuleLine> = overview
            .rules
            .iter()
            .filter(|r| r.monitor_id == monitor.id)
            .map(|r| RuleLine {
                id: r.id,
                condition: condition_name(&r.condition),
                threshold: r.threshold.map(points),
                model: r.model.clone(),
                at_time: r.at_time.clone(),
                channel: r.channel_name.clone(),
                active: overview.active.iter().any(|(rule, _)| *rule == r.id),
            })
            .collect();
        rows.push(MonitorRow {
            id: monitor.id,
            kind: if monitor.kind == "probe" {
                "probe"
            } else {
                "check"
            },
            preset_name: monitor.preset_name.clone(),
            every_minutes: monitor.every_minutes,
            at_times: monitor.at_times.clone(),
            paused: monitor.paused,
            run_requested: monitor.run_requested,
            next_run: clock::minutes(monitor.next_run_at),
            last_run: monitor.last_run_at.map(clock::minutes),
            last_outcome: monitor.last_outcome.clone().unwrap_or_default(),
            attention: keys.iter().any(|k| k.firing || k.no_points)
                || rules.iter().any(|r: &RuleLine| r.active),
            reason: monitor.last_reason.as_deref().map(|r| reason_text(lang, r)),
            failures: monitor.failures,
            daily_cost,
            cap: monitor.daily_cost_cap.map(points),
            spent_today: (monitor.kind == "probe").then(|| {
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
        });
    }
    let channel_list = channels
        .list(user_id)
        .await
        .map_err(|e| Problem::channel(&e).status)?;
    Ok(MonitorsPage {
        layout: user.layout(),
        done: None,
        monitors: rows,
        keys: key_options(keyring, user_id).await,
        presets: preset_options(db, user_id, presets).await,
        channels: channel_list
            .into_iter()
            .map(|c| ChannelOption {
                id: c.id,
                name: c.name,
                kind: c.kind,
            })
            .collect(),
        conditions: Condition::ALL.iter().map(|c| c.as_str()).collect(),
        error: None,
        form: FormEcho {
            check: "balance".into(),
            every_minutes: "5".into(),
            ..FormEcho::default()
        },
    })
}

/// A key's line: green only when its last look succeeded, its points buy a call and no rule
/// fires for it.
fn key_line(key: &crate::db::monitors::MonitorKey, firing: bool, lang: Lang) -> KeyLine {
    let looked = key.last_code.as_deref() == Some("ok");
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
        problem: key
            .last_code
            .as_deref()
            .filter(|c| *c != "ok")
            .map(|c| reason_text(lang, c)),
        available: key.last_available.map(points),
    }
}

pub(super) fn empty_page(user: &CurrentUser) -> MonitorsPage {
    MonitorsPage {
        layout: user.layout(),
        done: None,
        monitors: Vec::new(),
        keys: Vec::new(),
        presets: Vec::new(),
        channels: Vec::new(),
        conditions: Vec::new(),
        error: None,
        form: FormEcho::default(),
    }
}
