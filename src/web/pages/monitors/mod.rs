//! `/monitors`: scheduled checks of saved keys, their alert rules, run now, pause, resume and
//! delete (a monitor or a rule is deleted after a confirmation page that names it), all
//! through `monitors::Monitors`. `deliveries` is the delivery log (`GET /monitors/deliveries`).

pub mod deliveries;

use rocket::form::FromForm;
use rocket::http::Status;
use rocket::request::FlashMessage;
use rocket::{State, get, post};

use crate::i18n::{self, Arg, Lang};
use crate::ids::{MonitorId, RuleId};
use crate::monitors::rules::{Condition, RuleAsk};
use crate::monitors::run_now::RunNow;
use crate::monitors::{self, MonitorAsk, MonitorError, Monitors};
use crate::names;
use crate::web::kit::confirm::ConfirmPage;
use crate::web::kit::csrf::{Csrf, TokenOnlyForm, csrf_form};
use crate::web::kit::monitoring_view::{monitor_title, rule_summary};
use crate::web::kit::notice::{Flash, FlashCode, Redirected};
use crate::web::kit::problem::{Problem, Refused};
use crate::web::kit::session::CurrentUser;

mod page;

use page::{FormEcho, MonitorsContext, MonitorsPage, RuleEcho};

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
    within_hours: Option<String>,
    channel_id: Option<String>,
    csrf_token: Option<String>,
}

csrf_form!(MonitorForm, RuleForm);

impl RuleForm {
    /// The form as typed, for showing it again after a refusal (names echoed safely).
    fn echo(&self) -> RuleEcho {
        let text = |value: &Option<String>| names::echo_name(value.as_deref().unwrap_or(""));
        RuleEcho {
            condition: self
                .condition
                .as_deref()
                .and_then(|c| Condition::parse(c.trim())),
            threshold: text(&self.threshold),
            model: text(&self.model),
            at_time: text(&self.at_time),
            within_hours: text(&self.within_hours),
            channel_id: text(&self.channel_id),
        }
    }
}

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
    page: MonitorsContext<'_>,
    flash: Option<FlashMessage<'_>>,
) -> Result<MonitorsPage, Status> {
    let mut shown = page.page().await?;
    shown.layout = shown.layout.with_flash(flash);
    Ok(shown)
}

#[post("/monitors", data = "<form>")]
pub async fn create(
    page: MonitorsContext<'_>,
    form: Csrf<MonitorForm>,
) -> Result<Redirected, (Status, MonitorsPage)> {
    let form = form.0;
    let ask = MonitorAsk {
        key_ids: form.key_id.clone(),
        check: form.check.clone(),
        preset_id: form.preset_id.clone(),
        every_minutes: form.every_minutes.clone(),
        at_times: form.at_times.clone(),
        daily_cost_cap: form.daily_cost_cap.clone(),
    };
    match page.monitors.create(page.user_id(), &ask).await {
        Ok(_) => Ok(Flash::new(FlashCode::MonitorAdded).redirect("/monitors")),
        Err(error) => {
            let problem = Problem::monitor(&error);
            let mut shown = page.page().await.map_err(|status| page.empty(status))?;
            shown.error = Some(problem.notice);
            shown.form = FormEcho::of(&ask);
            Err((problem.status, shown))
        }
    }
}

/// Back to the list with `flash`, or the status the error gives.
fn done(result: Result<(), MonitorError>, flash: FlashCode) -> Result<Redirected, Status> {
    match result {
        Ok(()) => Ok(Flash::new(flash).redirect("/monitors")),
        Err(error) => Err(status(error)),
    }
}

/// A route that changes one of the user's monitors by the `Monitors` method of its name and
/// goes back to the list with `$flash`.
macro_rules! monitor_action {
    ($(#[$doc:meta])* $name:ident: $path:tt => $flash:ident) => {
        $(#[$doc])*
        #[post($path, data = "<_form>")]
        pub async fn $name(
            user: CurrentUser,
            id: MonitorId,
            _form: Csrf<TokenOnlyForm>,
            monitors: &State<Monitors>,
        ) -> Result<Redirected, Status> {
                        done(monitors.$name(user.0.user_id, id).await, FlashCode::$flash)
        }
    };
}

/// What "run now" answers: back to the list with what happened, the list saying which limit
/// held it back (429 with `Retry-After`), or a status (another user's or a missing monitor).
#[derive(rocket::Responder)]
pub enum RunAnswer {
    Done(Redirected),
    Limited(Refused<MonitorsPage>),
    Status(Status),
}

/// Once in its turn, paused or not; the schedule stays as it is. Limited per monitor and per
/// user; nothing changes when the monitor is queued or running already.
#[post("/monitors/<id>/run", data = "<_form>")]
pub async fn run_now(
    page: MonitorsContext<'_>,
    id: MonitorId,
    _form: Csrf<TokenOnlyForm>,
) -> RunAnswer {
    let error = match page.monitors.run_now(page.user_id(), id).await {
        Ok(asked) => {
            let flash = match asked {
                RunNow::Asked => FlashCode::MonitorRun,
                RunNow::AlreadyQueued => FlashCode::MonitorRunQueued,
                RunNow::Running => FlashCode::MonitorRunRunning,
            };
            return RunAnswer::Done(Flash::new(flash).redirect("/monitors"));
        }
        Err(error) => error,
    };
    let problem = Problem::monitor(&error);
    let MonitorError::RunNowLimited(refused) = error else {
        return RunAnswer::Status(problem.status);
    };
    let mut shown = match page.page().await {
        Ok(shown) => shown,
        Err(status) => return RunAnswer::Status(status),
    };
    match shown.monitors.iter_mut().find(|m| m.id == id) {
        Some(monitor) => monitor.run_error = Some(problem.notice),
        None => shown.error = Some(problem.notice),
    }
    RunAnswer::Limited(Refused {
        status: problem.status,
        retry_after_secs: Some(refused.retry_after_secs),
        page: shown,
    })
}

monitor_action!(pause: "/monitors/<id>/pause" => MonitorPaused);
monitor_action!(
    /// From now on: the next run is the schedule's first slot after now.
    resume: "/monitors/<id>/resume" => MonitorResumed
);

/// A monitor by what it checks, when, and its keys' labels.
fn monitor_name(lang: Lang, named: &monitors::Named) -> String {
    let keys = named.key_labels.join(", ");
    let keys = i18n::text_with(lang, "mon-name-keys", &[("keys", Arg::from(keys))]);
    format!("{} · {keys}", monitor_title(lang, &named.monitor))
}

/// The status a monitor error answers a request without a form with.
fn status(error: MonitorError) -> Status {
    Problem::monitor(&error).status
}

/// The confirmation step: names the monitor, posts the delete.
#[get("/monitors/<id>/delete")]
pub async fn confirm_delete(
    user: CurrentUser,
    id: MonitorId,
    monitors: &State<Monitors>,
) -> Result<ConfirmPage, Status> {
    let named = monitors.named(user.0.user_id, id).await.map_err(status)?;
    let name = monitor_name(user.0.lang, &named);
    let (action, back) = (
        format!("/monitors/{id}/delete"),
        format!("/monitors#monitor-{id}"),
    );
    Ok(ConfirmPage::new(
        user.layout(),
        "monitor",
        name,
        action,
        back,
    ))
}

#[post("/monitors/<id>/delete", data = "<_form>")]
pub async fn delete(
    page: MonitorsContext<'_>,
    id: MonitorId,
    _form: Csrf<TokenOnlyForm>,
) -> Result<Redirected, Status> {
    let named = page.monitors.delete(page.user_id(), id).await;
    let title = monitor_title(page.user.0.lang, &named.map_err(status)?.monitor);
    Ok(Flash::naming(FlashCode::MonitorDeleted, title).redirect("/monitors"))
}

#[post("/monitors/<id>/rules", data = "<form>")]
pub async fn add_rule(
    page: MonitorsContext<'_>,
    id: MonitorId,
    form: Csrf<RuleForm>,
) -> Result<Redirected, (Status, MonitorsPage)> {
    let form = form.0;
    let echo = form.echo();
    let ask = RuleAsk {
        condition: form.condition,
        threshold: form.threshold,
        model: form.model,
        at_time: form.at_time,
        within_hours: form.within_hours,
        channel_id: form.channel_id,
    };
    match page.monitors.add_rule(page.user_id(), id, ask).await {
        Ok(_) => Ok(Flash::new(FlashCode::RuleAdded).redirect("/monitors")),
        Err(error) => {
            let problem = Problem::monitor(&error);
            if problem.status == Status::NotFound {
                return Err(page.empty(problem.status));
            }
            let mut shown = page.page().await.map_err(|status| page.empty(status))?;
            match shown.monitors.iter_mut().find(|m| m.id == id) {
                Some(monitor) => {
                    monitor.rule_error = Some(problem.notice);
                    monitor.rule_echo = echo;
                }
                None => shown.error = Some(problem.notice),
            }
            Err((problem.status, shown))
        }
    }
}

/// The confirmation step: names the rule (what it watches, where it sends), posts the delete.
#[get("/monitors/<id>/rules/<rule_id>/delete")]
pub async fn confirm_delete_rule(
    user: CurrentUser,
    id: MonitorId,
    rule_id: RuleId,
    monitors: &State<Monitors>,
) -> Result<ConfirmPage, Status> {
    let rule = monitors.rule(user.0.user_id, id, rule_id).await;
    let name = rule_summary(user.0.lang, &rule.map_err(status)?);
    let action = format!("/monitors/{id}/rules/{rule_id}/delete");
    let back = format!("/monitors#rule-{rule_id}");
    Ok(ConfirmPage::new(user.layout(), "rule", name, action, back))
}

#[post("/monitors/<id>/rules/<rule_id>/delete", data = "<_form>")]
pub async fn delete_rule(
    page: MonitorsContext<'_>,
    id: MonitorId,
    rule_id: RuleId,
    _form: Csrf<TokenOnlyForm>,
) -> Result<Redirected, Status> {
    let rule = page.monitors.delete_rule(page.user_id(), id, rule_id).await;
    let summary = rule_summary(page.user.0.lang, &rule.map_err(status)?);
    Ok(Flash::naming(FlashCode::RuleDeleted, summary).redirect("/monitors"))
}
