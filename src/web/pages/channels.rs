//! `/channels`: where alerts go. Secrets are sealed on save and shown only as a hint (the host
//! and the last four characters); "send a test" tries a channel once and logs it (throttled:
//! 429 with `Retry-After` and words over a limit); deleting asks first on a page that names the
//! channel.

use askama::Template;
use askama_web::WebTemplate;
use rocket::form::FromForm;
use rocket::http::Status;
use rocket::request::FlashMessage;
use rocket::{State, get, post};

use crate::clock;
use crate::config::AppConfig;
use crate::i18n::Lang;
use crate::ids::ChannelId;
use crate::names;
use crate::notify::channel_check::{Destination, check_destination};
use crate::notify::channel_store::ChannelSummary;
use crate::notify::channels::{ChannelAsk, SmtpTls};
use crate::notify::{ChannelError, Channels, Kind, Outbox};
use crate::web::kit::confirm::ConfirmPage;
use crate::web::kit::csrf::{Csrf, TokenOnlyForm, csrf_form};
use crate::web::kit::monitoring_view::{channel_title, delivery_error_text};
use crate::web::kit::notice::{Flash, FlashCode, Notice, Redirected};
use crate::web::kit::problem::{Problem, Refused};
use crate::web::kit::session::CurrentUser;
use crate::web::kit::view::Layout;

pub struct ChannelRow {
    pub id: ChannelId,
    pub kind: Kind,
    pub name: String,
    pub hint: String,
    pub added: String,
    pub needs_reentry: bool,
}

/// What the add form shows again after a refusal (never a secret).
#[derive(Default)]
pub struct ChannelEcho {
    pub kind: Kind,
    pub name: String,
    pub chat_id: String,
    pub smtp_host: String,
    pub smtp_port: String,
    pub smtp_user: String,
    pub smtp_from: String,
    pub smtp_to: String,
    pub smtp_tls: SmtpTls,
    pub lang: Lang,
}

#[derive(Template, WebTemplate)]
#[template(path = "channels.html")]
pub struct ChannelsPage {
    pub layout: Layout,
    pub channels: Vec<ChannelRow>,
    pub kinds: &'static [Kind],
    /// The add form's error.
    pub error: Option<Notice>,
    /// A test not sent: the limit that held it back.
    pub limited: Option<Notice>,
    /// The test just tried: which channel, and its error when it failed.
    pub tested: Option<(ChannelId, Option<String>)>,
    pub form: ChannelEcho,
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

impl ChannelForm {
    /// What was typed, to show again. Secrets (url, secret, password) are never sent back:
    /// they are typed again.
    fn echo(&self) -> ChannelEcho {
        let echo = |v: &Option<String>| names::echo_name(v.as_deref().unwrap_or(""));
        let parsed = |v: &Option<String>| v.as_deref().map(str::trim).unwrap_or("").to_owned();
        ChannelEcho {
            kind: Kind::parse(&parsed(&self.kind)).unwrap_or_default(),
            name: echo(&self.name),
            chat_id: echo(&self.chat_id),
            smtp_host: echo(&self.smtp_host),
            smtp_port: echo(&self.smtp_port),
            smtp_user: echo(&self.smtp_user),
            smtp_from: echo(&self.smtp_from),
            smtp_to: self
                .smtp_to
                .as_deref()
                .unwrap_or("")
                .chars()
                .filter(|c| !c.is_control())
                .take(1000)
                .collect(),
            smtp_tls: SmtpTls::parse(&parsed(&self.smtp_tls)).unwrap_or_default(),
            lang: Lang::parse(&parsed(&self.lang)).unwrap_or_default(),
        }
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

fn empty_page(user: &CurrentUser) -> ChannelsPage {
    ChannelsPage {
        layout: user.layout(),
        channels: Vec::new(),
        kinds: Kind::ALL,
        error: None,
        limited: None,
        tested: None,
        form: ChannelEcho::default(),
    }
}

async fn page(user: &CurrentUser, channels: &Channels) -> Result<ChannelsPage, Status> {
    let list = channels
        .list(user.0.user_id)
        .await
        .map_err(|e| Problem::channel(&e).status)?;
    Ok(ChannelsPage {
        channels: list.into_iter().map(row).collect(),
        ..empty_page(user)
    })
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
    let mut shown = page(&user, channels).await?;
    shown.layout = shown.layout.with_flash(flash);
    Ok(shown)
}

#[post("/channels", data = "<form>")]
pub async fn create(
    user: CurrentUser,
    form: Csrf<ChannelForm>,
    channels: &State<Channels>,
    config: &State<AppConfig>,
) -> Result<Redirected, (Status, ChannelsPage)> {
    let form = form.0;
    let echo = form.echo();
    let ask = ChannelAsk {
        kind: form.kind,
        name: form.name,
        url: form.url,
        secret: form.secret,
        chat_id: form.chat_id,
        smtp_host: form.smtp_host,
        smtp_port: form.smtp_port,
        smtp_user: form.smtp_user,
        smtp_password: form.smtp_password,
        smtp_from: form.smtp_from,
        smtp_to: form.smtp_to,
        smtp_tls: form.smtp_tls,
        lang: form.lang,
    };
    let added = async {
        let new = channels.check(&ask)?;
        let destination = check_destination(&new, config.allow_private_webhooks).await?;
        let name = new.name.clone();
        channels.add(user.0.user_id, new).await?;
        Ok::<_, ChannelError>((destination, name))
    }
    .await;
    drop(ask);
    match added {
        Ok((Destination::Checked, _)) => {
            Ok(Flash::new(FlashCode::ChannelAdded).redirect("/channels"))
        }
        Ok((Destination::Unresolved, name)) => {
            Ok(Flash::naming(FlashCode::ChannelAddedUnresolved, name).redirect("/channels"))
        }
        Err(error) => {
            let problem = Problem::channel(&error);
            let mut shown = page(&user, channels)
                .await
                .map_err(|status| (status, empty_page(&user)))?;
            shown.error = Some(problem.notice);
            shown.form = echo;
            Err((problem.status, shown))
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
#[post("/channels/<id>/test", data = "<_form>")]
pub async fn test(
    user: CurrentUser,
    id: ChannelId,
    _form: Csrf<TokenOnlyForm>,
    outbox: &State<Outbox>,
    channels: &State<Channels>,
) -> TestAnswer {
    match tested(&user, id, outbox, channels).await {
        Ok(page) => TestAnswer::Page(page),
        Err(answer) => answer,
    }
}

async fn tested(
    user: &CurrentUser,
    id: ChannelId,
    outbox: &Outbox,
    channels: &Channels,
) -> Result<ChannelsPage, TestAnswer> {
    let lang = user.0.lang;
    let outcome = match outbox.send_test(user.0.user_id, id).await {
        Ok(outcome) => outcome,
        Err(error) => {
            let problem = Problem::channel(&error);
            let Some(retry_after_secs) = error.retry_after_secs() else {
                return Err(TestAnswer::Status(problem.status));
            };
            let mut shown = page(user, channels).await.map_err(TestAnswer::Status)?;
            shown.limited = Some(problem.notice);
            return Err(TestAnswer::Limited(Refused {
                status: problem.status,
                retry_after_secs: Some(retry_after_secs),
                page: shown,
            }));
        }
    };
    let mut shown = page(user, channels).await.map_err(TestAnswer::Status)?;
    let flash = match &outcome {
        Ok(()) => FlashCode::TestSent,
        Err(_) => FlashCode::TestFailed,
    };
    shown.layout.flash = Some(Flash::new(flash));
    shown.tested = Some((id, outcome.err().map(|e| delivery_error_text(lang, &e))));
    Ok(shown)
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
    let name = channel_title(user.0.lang, &named.name, named.kind);
    let action = format!("/channels/{id}/delete");
    Ok(ConfirmPage::new(
        user.layout(),
        "channel",
        name,
        action,
        "/channels",
    ))
}

#[post("/channels/<id>/delete", data = "<_form>")]
pub async fn delete(
    user: CurrentUser,
    id: ChannelId,
    _form: Csrf<TokenOnlyForm>,
    channels: &State<Channels>,
) -> Result<Redirected, Status> {
    let named = channels
        .delete(user.0.user_id, id)
        .await
        .map_err(|error| Problem::channel(&error).status)?;
    let title = channel_title(user.0.lang, &named.name, named.kind);
    Ok(Flash::naming(FlashCode::ChannelDeleted, title).redirect("/channels"))
}
