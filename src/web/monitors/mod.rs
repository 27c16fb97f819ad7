//! `/monitors`: scheduled checks of saved keys, their alert rules, run now, pause, resume and
//! delete. `deliveries` is the delivery log (`GET /monitors/deliveries`).

pub mod deliveries;

use std::collections::HashMap;

use askama::Template;
use askama_web::WebTemplate;
use rocket::form::FromForm;
use rocket::http::Status;
use rocket::request::FlashMessage;
use rocket::response::{Flash, Redirect};
use rocket::{State, get, post};

use super::monitoring_view::{flash_text, notice_text, reason_text};
use super::problem::Problem;
use super::session::{Csrf, CurrentUser, TokenOnlyForm, csrf_form};
use super::view::{KeyOption, Layout, PresetOption, key_options, points, preset_options};
use crate::clock;
use crate::crypto::secret::mask_tail;
use crate::db::Db;
use crate::i18n::Lang;
use crate::ids::{ChannelId, MonitorId, RuleId, RunId};
use crate::keyring::Keyring;
use crate::monitors::rules::{Condition, RuleAsk};
use crate::monitors::schedule::Schedule;
use crate::monitors::{self, MonitorAsk, MonitorError};
use crate::notify::Channels;
use crate::ops::scheduler::{Scheduler, cost};
use crate::web::result_view::cost_text;

/// A key a monitor watches, with what it last saw.
pub struct KeyLine {
    pub label: String,
    pub masked: String,
    pub last_run: Option<String>,
    pub run_id: Option<RunId>,
    pub ok: bool,
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

#[derive(Debug, FromForm)]
pub struct MonitorForm {
    key_id: Vec<String>,
    check: Option<String>,
    preset_id: Option<String>,
    every_minutes: Option<String>,
    at_times: Option<String>,
    daily_cost_cap: Option<String>,
    csrf_token: Option<String>,
}

#[derive(Debug, FromForm)]
pub struct RuleForm {
    condition: Option<String>,
    threshold: Option<String>,
    model: Option<String>,
    at_time: Option<String>,
    channel_id: Option<String>,
    csrf_token: Option<String>,
}

csrf_form!(MonitorForm, RuleForm);

fn condition_name(text: &str) -> &'static str {
    Condition::parse(text).map_or("key_invalid", Condition::as_str)
}

async fn page(
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
            .map(|k| key_line(k, lang))
            .collect();
        let daily_cost = match (monitor.preset_id.and_then(|p| models_of.get(&p)), &schedule) {
            (Some(models), Some(schedule)) if monitor.kind == "probe" => {
                let per_run = cost::per_run(db, user_id, models).await;
                Some(cost_text(&cost::per_day(per_run, keys.len(), schedule)))
            }
            _ => None,
        };
        let rules = overview
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

fn key_line(key: &crate::db::monitors::MonitorKey, lang: Lang) -> KeyLine {
    let ok = key.last_code.as_deref() == Some("ok");
    KeyLine {
        label: key.label.clone(),
        masked: mask_tail(key.last_four.clone()),
        last_run: key.last_run_at.map(clock::minutes),
        run_id: key.last_run_id,
        ok,
        problem: key
            .last_code
            .as_deref()
            .filter(|c| *c != "ok")
            .map(|c| reason_text(lang, c)),
        available: key.last_available.map(points),
    }
}

#[get("/monitors")]
pub async fn list(
    user: CurrentUser,
    flash: Option<FlashMessage<'_>>,
    db: &State<Db>,
    keyring: &State<Keyring>,
    channels: &State<Channels>,
) -> Result<MonitorsPage, Status> {
    let mut page = page(&user, db, keyring, channels).await?;
    page.done = flash.map(|f| flash_text(user.0.lang, f.message()));
    Ok(page)
}

#[post("/monitors", data = "<form>")]
pub async fn create(
    user: CurrentUser,
    form: Csrf<MonitorForm>,
    scheduler: &State<Scheduler>,
    db: &State<Db>,
    keyring: &State<Keyring>,
    channels: &State<Channels>,
) -> Result<Flash<Redirect>, (Status, MonitorsPage)> {
    let form = form.0;
    let ask = MonitorAsk {
        key_ids: form.key_id.clone(),
        check: form.check.clone(),
        preset_id: form.preset_id.clone(),
        every_minutes: form.every_minutes.clone(),
        at_times: form.at_times.clone(),
        daily_cost_cap: form.daily_cost_cap.clone(),
    };
    match scheduler.create_monitor(user.0.user_id, &ask).await {
        Ok(_) => Ok(Flash::success(Redirect::to("/monitors"), "monitor_added")),
        Err(error) => {
            let problem = Problem::monitor(&error);
            let mut page = page(&user, db, keyring, channels)
                .await
                .map_err(|status| (status, empty_page(&user)))?;
            page.error = Some(notice_text(user.0.lang, &problem.notice));
            let echo = |v: &Option<String>| v.as_deref().unwrap_or("").chars().take(200).collect();
            page.form = FormEcho {
                key_ids: form.key_id.iter().take(50).cloned().collect(),
                check: echo(&form.check),
                preset_id: echo(&form.preset_id),
                every_minutes: echo(&form.every_minutes),
                at_times: echo(&form.at_times),
                daily_cost_cap: echo(&form.daily_cost_cap),
            };
            Err((problem.status, page))
        }
    }
}

fn empty_page(user: &CurrentUser) -> MonitorsPage {
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

fn done(result: Result<(), MonitorError>, flash: &'static str) -> Result<Flash<Redirect>, Status> {
    match result {
        Ok(()) => Ok(Flash::success(Redirect::to("/monitors"), flash)),
        Err(error) => Err(Problem::monitor(&error).status),
    }
}

#[post("/monitors/<id>/run", data = "<form>")]
pub async fn run_now(
    user: CurrentUser,
    id: MonitorId,
    form: Csrf<TokenOnlyForm>,
    scheduler: &State<Scheduler>,
) -> Result<Flash<Redirect>, Status> {
    let _ = form;
    done(scheduler.run_now(user.0.user_id, id).await, "monitor_run")
}

#[post("/monitors/<id>/pause", data = "<form>")]
pub async fn pause(
    user: CurrentUser,
    id: MonitorId,
    form: Csrf<TokenOnlyForm>,
    db: &State<Db>,
) -> Result<Flash<Redirect>, Status> {
    let _ = form;
    done(
        monitors::pause(db, user.0.user_id, id).await,
        "monitor_paused",
    )
}

#[post("/monitors/<id>/resume", data = "<form>")]
pub async fn resume(
    user: CurrentUser,
    id: MonitorId,
    form: Csrf<TokenOnlyForm>,
    scheduler: &State<Scheduler>,
) -> Result<Flash<Redirect>, Status> {
    let _ = form;
    done(
        scheduler.resume(user.0.user_id, id).await,
        "monitor_resumed",
    )
}

#[post("/monitors/<id>/delete", data = "<form>")]
pub async fn delete(
    user: CurrentUser,
    id: MonitorId,
    form: Csrf<TokenOnlyForm>,
    db: &State<Db>,
) -> Result<Flash<Redirect>, Status> {
    let _ = form;
    done(
        monitors::delete(db, user.0.user_id, id).await,
        "monitor_deleted",
    )
}

#[post("/monitors/<id>/rules", data = "<form>")]
#[allow(clippy::too_many_arguments)]
pub async fn add_rule(
    user: CurrentUser,
    id: MonitorId,
    form: Csrf<RuleForm>,
    scheduler: &State<Scheduler>,
    db: &State<Db>,
    keyring: &State<Keyring>,
    channels: &State<Channels>,
) -> Result<Flash<Redirect>, (Status, MonitorsPage)> {
    let form = form.0;
    let ask = RuleAsk {
        condition: form.condition,
        threshold: form.threshold,
        model: form.model,
        at_time: form.at_time,
        channel_id: form.channel_id,
    };
    match scheduler.add_rule(user.0.user_id, id, ask).await {
        Ok(_) => Ok(Flash::success(Redirect::to("/monitors"), "rule_added")),
        Err(error) => {
            let problem = Problem::monitor(&error);
            if problem.status == Status::NotFound {
                return Err((problem.status, empty_page(&user)));
            }
            let mut page = page(&user, db, keyring, channels)
                .await
                .map_err(|status| (status, empty_page(&user)))?;
            let text = notice_text(user.0.lang, &problem.notice);
            match page.monitors.iter_mut().find(|m| m.id == id) {
                Some(monitor) => monitor.rule_error = Some(text),
                None => page.error = Some(text),
            }
            Err((problem.status, page))
        }
    }
}

#[post("/monitors/<id>/rules/<rule_id>/delete", data = "<form>")]
pub async fn delete_rule(
    user: CurrentUser,
    id: MonitorId,
    rule_id: RuleId,
    form: Csrf<TokenOnlyForm>,
    db: &State<Db>,
) -> Result<Flash<Redirect>, Status> {
    let _ = form;
    done(
        monitors::delete_rule(db, user.0.user_id, id, rule_id).await,
        "rule_deleted",
    )
}
