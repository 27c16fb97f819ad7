//! `/channels`: where alerts go. Secrets are sealed on save and shown only as a hint (the host
//! and the last four characters); "send a test" tries a channel once and logs it; deleting asks
//! first on a page that names the channel.

use askama::Template;
use askama_web::WebTemplate;
use rocket::form::FromForm;
use rocket::http::Status;
use rocket::request::FlashMessage;
use rocket::response::{Flash, Redirect};
use rocket::{State, get, post};

use crate::clock;
use crate::ids::ChannelId;
use crate::names;
use crate::notify::channel_store::ChannelSummary;
use crate::notify::channels::ChannelAsk;
use crate::notify::{Channels, Kind};
use crate::scheduler::Scheduler;
use crate::web::kit::confirm::ConfirmPage;
use crate::web::kit::csrf::{Csrf, TokenOnlyForm, csrf_form};
use crate::web::kit::monitoring_view::{
    channel_title, delivery_error_text, flash_text, notice_text,
};
use crate::web::kit::problem::{Problem, Refused};
use crate::web::kit::session::CurrentUser;
use crate::web::kit::view::Layout;

pub struct ChannelRow {
    pub id: ChannelId,
    pub kind: String,
    pub name: String,
    pub hint: String,
    pub added: String,
    pub needs_reentry: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "channels.html")]
pub struct ChannelsPage {
    pub layout: Layout,
    pub done: Option<String>,
    pub channels: Vec<ChannelRow>,
    pub kinds: Vec<&'static str>,
    pub error: Option<String>,
    /// The refusal `error` says, for marking the fields it is about.
    pub refusal: Option<Problem>,
    /// A test not sent: the limit that held it back, in words.
    pub limited: Option<String>,
    /// The test just tried: which channel, and its error when it failed.
    pub tested: Option<(ChannelId, Option<String>)>,
    /// What the add form shows again after a refusal (never a secret).
    pub kind: String,
    pub name: String,
    pub chat_id: String,
    pub smtp_host: String,
    pub smtp_port: String,
    pub smtp_user: String,
    pub smtp_from: String,
    pub smtp_to: String,
    pub smtp_tls: String,
    pub lang_choice: String,
}

#[derive(FromForm)]
pub struct ChannelForm {
    kind: Option<String>,
    name: Option<String>,
    url: Option<String>,
    secret: Option<String>,
    chat_id: Option<String>,
    smtp_host: Option<String>,
    smtp_port: Option<String>,
    smtp_user: Option<String>,
    smtp_password: Option<String>,
    smtp_from: Option<String>,
    smtp_to: Option<String>,
    smtp_tls: Option<String>,
    lang: Option<String>,
    csrf_token: Option<String>,
}

csrf_form!(ChannelForm);

impl ChannelsPage {
    /// Whether the refusal is about `field` (its input gets `aria-invalid`).
    pub fn marks(&self, field: &str) -> bool {
        self.refusal.as_ref().is_some_and(|n| n.is_on(field))
    }
}

fn row(channel: ChannelSummary) -> ChannelRow {
    ChannelRow {
        id: channel.id,
        kind: channel.kind,
        name: channel.name,
        hint: channel.hint,
        added: clock::minutes(channel.created_at),
        needs_reentry: channel.needs_reentry,
    }
}

async fn page(user: &CurrentUser, channels: &Channels) -> Result<ChannelsPage, Status> {
    let list = channels
        .list(user.0.user_id)
        .await
        .map_err(|e| Problem::channel(&e).status)?;
    Ok(ChannelsPage {
        layout: user.layout(),
        done: None,
        channels: list.into_iter().map(row).collect(),
        kinds: Kind::ALL.iter().map(|k| k.as_str()).collect(),
        error: None,
        refusal: None,
        limited: None,
        tested: None,
        kind: "webhook".into(),
        name: String::new(),
        chat_id: String::new(),
        smtp_host: String::new(),
        smtp_port: String::new(),
        smtp_user: String::new(),
        smtp_from: String::new(),
        smtp_to: String::new(),
        smtp_tls: "starttls".into(),
        lang_choice: String::new(),
    })
}

fn empty_page(user: &CurrentUser) -> ChannelsPage {
    ChannelsPage {
        layout: user.layout(),
        done: None,
        channels: Vec::new(),
        kinds: Vec::new(),
        error: None,
        refusal: None,
        limited: None,
        tested: None,
        kind: String::new(),
        name: String::new(),
        chat_id: String::new(),
        smtp_host: String::new(),
        smtp_port: String::new(),
        smtp_user: String::new(),
        smtp_from: String::new(),
        smtp_to: String::new(),
        smtp_tls: String::new(),
        lang_choice: String::new(),
    }
}

pub fn routes() -> Vec<rocket::Route> {
    rocket::routes![list, create, test, confirm_delete, delete]
}

#[get("/channels")]
pub async fn list(
    user: CurrentUser,
    flash: Option<FlashMessage<'_>>,
    channels: &State<Channels>,
) -> Result<ChannelsPage, Status> {
    let mut page = page(&user, channels).await?;
    page.done = flash.map(|f| flash_text(user.0.lang, f.message()));
    Ok(page)
}

#[post("/channels", data = "<form>")]
pub async fn create(
    user: CurrentUser,
    form: Csrf<ChannelForm>,
    channels: &State<Channels>,
) -> Result<Flash<Redirect>, (Status, ChannelsPage)> {
    let form = form.0;
    let ask = ChannelAsk {
        kind: form.kind.clone(),
        name: form.name.clone(),
        url: form.url,
        secret: form.secret,
        chat_id: form.chat_id.clone(),
        smtp_host: form.smtp_host.clone(),
        smtp_port: form.smtp_port.clone(),
        smtp_user: form.smtp_user.clone(),
        smtp_password: form.smtp_password,
        smtp_from: form.smtp_from.clone(),
        smtp_to: form.smtp_to.clone(),
        smtp_tls: form.smtp_tls.clone(),
        lang: form.lang.clone(),
    };
    let added = channels.create(user.0.user_id, &ask).await;
    drop(ask);
    match added {
        Ok(_) => Ok(Flash::success(Redirect::to("/channels"), "channel_added")),
        Err(error) => {
            let problem = Problem::channel(&error);
            let mut page = page(&user, channels)
                .await
                .map_err(|status| (status, empty_page(&user)))?;
            page.error = Some(notice_text(user.0.lang, &problem.notice));
            page.refusal = Some(problem.clone());
            // Secrets (url, secret, password) are never sent back: they are typed again.
            let echo = |v: &Option<String>| names::echo_name(v.as_deref().unwrap_or(""));
            page.kind = echo(&form.kind);
            page.name = echo(&form.name);
            page.chat_id = echo(&form.chat_id);
            page.smtp_host = echo(&form.smtp_host);
            page.smtp_port = echo(&form.smtp_port);
            page.smtp_user = echo(&form.smtp_user);
            page.smtp_from = echo(&form.smtp_from);
            page.smtp_to = form
                .smtp_to
                .as_deref()
                .unwrap_or("")
                .chars()
                .filter(|c| !c.is_control())
                .take(1000)
                .collect();
            page.smtp_tls = echo(&form.smtp_tls);
            page.lang_choice = echo(&form.lang);
            Err((problem.status, page))
        }
    }
}

/// What a test answers: the page with how it went, the page saying which limit held it back
/// (429 with `Retry-After`), or a status (another user's or a missing channel).
#[derive(rocket::Responder)]
pub enum TestAnswer {
    Page(ChannelsPage),
    Limited(Refused<ChannelsPage>),
    Status(Status),
}

/// Sends a test message now (one try), shows how it went and logs it; throttled.
#[post("/channels/<id>/test", data = "<form>")]
pub async fn test(
    user: CurrentUser,
    id: ChannelId,
    form: Csrf<TokenOnlyForm>,
    scheduler: &State<Scheduler>,
    channels: &State<Channels>,
) -> TestAnswer {
    let _ = form;
    let lang = user.0.lang;
    let outcome = match scheduler.send_test(user.0.user_id, id).await {
        Ok(outcome) => outcome,
        Err(error) => {
            let problem = Problem::channel(&error);
            let Some(retry_after_secs) = error.retry_after_secs() else {
                return TestAnswer::Status(problem.status);
            };
            let mut page = match page(&user, channels).await {
                Ok(page) => page,
                Err(status) => return TestAnswer::Status(status),
            };
            page.limited = Some(notice_text(lang, &problem.notice));
            return TestAnswer::Limited(Refused {
                status: problem.status,
                retry_after_secs: Some(retry_after_secs),
                page,
            });
        }
    };
    let mut page = match page(&user, channels).await {
        Ok(page) => page,
        Err(status) => return TestAnswer::Status(status),
    };
    page.tested = Some((id, outcome.err().map(|e| delivery_error_text(lang, &e))));
    page.done = Some(flash_text(
        lang,
        if page.tested.as_ref().is_some_and(|t| t.1.is_none()) {
            "test_sent"
        } else {
            "test_failed"
        },
    ));
    TestAnswer::Page(page)
}

/// The confirmation step: names the channel by its name and kind (never its secrets or
/// address), posts the delete.
#[get("/channels/<id>/delete")]
pub async fn confirm_delete(
    user: CurrentUser,
    id: ChannelId,
    channels: &State<Channels>,
) -> Result<ConfirmPage, Status> {
    let named = channels
        .named(user.0.user_id, id)
        .await
        .map_err(|e| Problem::channel(&e).status)?;
    Ok(ConfirmPage {
        name: channel_title(user.0.lang, &named),
        layout: user.layout(),
        what: "channel",
        action: format!("/channels/{id}/delete"),
        back: "/channels".to_owned(),
    })
}

#[post("/channels/<id>/delete", data = "<form>")]
pub async fn delete(
    user: CurrentUser,
    id: ChannelId,
    form: Csrf<TokenOnlyForm>,
    channels: &State<Channels>,
) -> Result<Flash<Redirect>, Status> {
    let _ = form;
    match channels.delete(user.0.user_id, id).await {
        Ok(named) => Ok(Flash::success(
            Redirect::to("/channels"),
            format!("channel_deleted:{}", channel_title(user.0.lang, &named)),
        )),
        Err(error) => Err(Problem::channel(&error).status),
    }
}
