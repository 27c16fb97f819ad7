//! `/monitors`: scheduled checks of saved keys, their alert rules, run now, pause, resume and
//! delete (a monitor or a rule is deleted after a confirmation page that names it). `deliveries` is the delivery log (`GET /monitors/deliveries`).

pub mod deliveries;

use rocket::form::FromForm;
use rocket::http::Status;
use rocket::request::FlashMessage;
use rocket::response::{Flash, Redirect};
use rocket::{State, get, post};

use crate::db::Db;
use crate::i18n::{self, Arg, Lang};
use crate::ids::{MonitorId, RuleId};
use crate::keyring::Keyring;
use crate::monitors::rules::RuleAsk;
use crate::monitors::run_now::RunNow;
use crate::monitors::{self, MonitorAsk, MonitorError};
use crate::notify::Channels;
use crate::scheduler::Scheduler;
use crate::web::kit::confirm::ConfirmPage;
use crate::web::kit::csrf::{Csrf, TokenOnlyForm, csrf_form};
use crate::web::kit::monitoring_view::{flash_text, monitor_title, notice_text, rule_summary};
use crate::web::kit::problem::{Problem, Refused};
use crate::web::kit::session::CurrentUser;

mod page;

use page::{FormEcho, MonitorsPage, empty_page, page};

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

pub fn routes() -> Vec<rocket::Route> {
    rocket::routes![
        list,
        create,
        run_now,
        pause,
        resume,
        confirm_delete,
        delete,
        add_rule,
        confirm_delete_rule,
        delete_rule,
        deliveries::list
    ]
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

fn done(result: Result<(), MonitorError>, flash: &'static str) -> Result<Flash<Redirect>, Status> {
    match result {
        Ok(()) => Ok(Flash::success(Redirect::to("/monitors"), flash)),
        Err(error) => Err(Problem::monitor(&error).status),
    }
}

/// What "run now" answers: back to the list with what happened, the list saying which limit
/// held it back (429 with `Retry-After`), or a status (another user's or a missing monitor).
#[derive(rocket::Responder)]
pub enum RunAnswer {
    Done(Flash<Redirect>),
    Limited(Refused<MonitorsPage>),
    Status(Status),
}

#[post("/monitors/<id>/run", data = "<form>")]
pub async fn run_now(
    user: CurrentUser,
    id: MonitorId,
    form: Csrf<TokenOnlyForm>,
    scheduler: &State<Scheduler>,
    db: &State<Db>,
    keyring: &State<Keyring>,
    channels: &State<Channels>,
) -> RunAnswer {
    let _ = form;
    let error = match scheduler.run_now(user.0.user_id, id).await {
        Ok(asked) => {
            let flash = match asked {
                RunNow::Asked => "monitor_run",
                RunNow::AlreadyQueued => "monitor_run_queued",
                RunNow::Running => "monitor_run_running",
            };
            return RunAnswer::Done(Flash::success(Redirect::to("/monitors"), flash));
        }
        Err(error) => error,
    };
    let problem = Problem::monitor(&error);
    let MonitorError::RunNowLimited(refused) = error else {
        return RunAnswer::Status(problem.status);
    };
    let mut page = match page(&user, db, keyring, channels).await {
        Ok(page) => page,
        Err(status) => return RunAnswer::Status(status),
    };
    let text = notice_text(user.0.lang, &problem.notice);
    match page.monitors.iter_mut().find(|m| m.id == id) {
        Some(monitor) => monitor.run_error = Some(text),
        None => page.error = Some(text),
    }
    RunAnswer::Limited(Refused {
        status: problem.status,
        retry_after_secs: Some(refused.retry_after_secs),
        page,
    })
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

/// A monitor by what it checks, when, and its keys' labels.
fn monitor_name(lang: Lang, named: &monitors::Named) -> String {
    let keys = named.key_labels.join(", ");
    let keys = i18n::text_with(lang, "mon-name-keys", &[("keys", Arg::from(keys))]);
    format!("{} · {keys}", monitor_title(lang, &named.monitor))
}

/// The confirmation step: names the monitor, posts the delete.
#[get("/monitors/<id>/delete")]
pub async fn confirm_delete(
    user: CurrentUser,
    id: MonitorId,
    db: &State<Db>,
) -> Result<ConfirmPage, Status> {
    let named = monitors::named(db, user.0.user_id, id)
        .await
        .map_err(|error| Problem::monitor(&error).status)?;
    Ok(ConfirmPage {
        name: monitor_name(user.0.lang, &named),
        layout: user.layout(),
        what: "monitor",
        action: format!("/monitors/{id}/delete"),
        back: format!("/monitors#monitor-{id}"),
    })
}

#[post("/monitors/<id>/delete", data = "<form>")]
pub async fn delete(
    user: CurrentUser,
    id: MonitorId,
    form: Csrf<TokenOnlyForm>,
    db: &State<Db>,
) -> Result<Flash<Redirect>, Status> {
    let _ = form;
    match monitors::delete(db, user.0.user_id, id).await {
        Ok(named) => Ok(Flash::success(
            Redirect::to("/monitors"),
            format!(
                "monitor_deleted:{}",
                monitor_title(user.0.lang, &named.monitor)
            ),
        )),
        Err(error) => Err(Problem::monitor(&error).status),
    }
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

/// The confirmation step: names the rule (what it watches, where it sends), posts the delete.
#[get("/monitors/<id>/rules/<rule_id>/delete")]
pub async fn confirm_delete_rule(
    user: CurrentUser,
    id: MonitorId,
    rule_id: RuleId,
    db: &State<Db>,
) -> Result<ConfirmPage, Status> {
    let rule = monitors::rule(db, user.0.user_id, id, rule_id)
        .await
        .map_err(|error| Problem::monitor(&error).status)?;
    Ok(ConfirmPage {
        name: rule_summary(user.0.lang, &rule),
        layout: user.layout(),
        what: "rule",
        action: format!("/monitors/{id}/rules/{rule_id}/delete"),
        back: format!("/monitors#rule-{rule_id}"),
    })
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
    match monitors::delete_rule(db, user.0.user_id, id, rule_id).await {
        Ok(rule) => Ok(Flash::success(
            Redirect::to("/monitors"),
            format!("rule_deleted:{}", rule_summary(user.0.lang, &rule)),
        )),
        Err(error) => Err(Problem::monitor(&error).status),
    }
}
