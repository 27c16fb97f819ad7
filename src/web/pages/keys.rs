//! `/keys`: the key vault. Keys are shown masked only; plaintext lives for one call.

use crate::web::kit::notice::{Flash, FlashCode, Notice, Redirected};
use askama::Template;
use askama_web::WebTemplate;
use rocket::form::FromForm;
use rocket::http::Status;
use rocket::request::FlashMessage;
use rocket::{State, get, post};

use crate::clock;
use crate::ids::KeyId;
use crate::keyring::{KeyError, Keyring, check_key_shape};
use crate::modelscope::ErrorCode;
use crate::modelscope::Site;
use crate::names;
use crate::runs::engine::{Lane, QueryEngine};
use crate::web::kit::confirm::ConfirmPage;
use crate::web::kit::csrf::{Csrf, TokenOnlyForm, csrf_form};
use crate::web::kit::no_store::NoStore;
use crate::web::kit::params::choice;
use crate::web::kit::problem::Problem;
use crate::web::kit::session::CurrentUser;
use crate::web::kit::view::{BalanceView, Layout};

pub struct KeyRow {
    pub id: KeyId,
    pub label: String,
    pub masked: String,
    pub added: String,
    pub last_used: Option<String>,
    pub needs_reentry: bool,
    pub site: Site,
}

/// The result of "check" for one key, and the site it was tried on.
pub struct CheckResult {
    pub key_id: KeyId,
    pub balance: BalanceView,
    pub site: Site,
}

#[derive(Template, WebTemplate)]
#[template(path = "keys.html")]
pub struct KeysPage {
    pub layout: Layout,
    pub keys: Vec<KeyRow>,
    pub label: String,
    /// A refused add form's key and site, shown again in that one answer (never after a save).
    pub api_key: String,
    pub site: Site,
    pub error: Option<Notice>,
    /// The row whose update form failed, and why.
    pub row_error: Option<(KeyId, Notice)>,
    pub check: Option<CheckResult>,
}

#[derive(Debug, FromForm)]
pub struct KeyForm {
    label: Option<String>,
    api_key: Option<String>,
    /// `cn` (default) or `ai`.
    site: Option<String>,
    csrf_token: Option<String>,
}

csrf_form!(KeyForm);

async fn keys_page(user: &CurrentUser, keyring: &Keyring) -> Result<KeysPage, Status> {
    let keys = keyring
        .list(user.0.user_id)
        .await
        .map_err(|error| Problem::key(&error).status)?;
    Ok(KeysPage {
        keys: keys
            .into_iter()
            .map(|key| KeyRow {
                id: key.id,
                label: key.label,
                masked: key.masked,
                added: clock::minutes(key.created_at),
                last_used: key.last_used_at.map(clock::minutes),
                needs_reentry: key.needs_reentry,
                site: key.site,
            })
            .collect(),
        ..empty_page(user)
    })
}

#[get("/keys")]
pub async fn list(
    user: CurrentUser,
    flash: Option<FlashMessage<'_>>,
    keyring: &State<Keyring>,
) -> Result<KeysPage, Status> {
    let page = keys_page(&user, keyring).await?;
    Ok(KeysPage {
        layout: page.layout.with_flash(flash),
        ..page
    })
}

#[post("/keys", data = "<form>")]
pub async fn add(
    user: CurrentUser,
    form: Csrf<KeyForm>,
    keyring: &State<Keyring>,
) -> Result<Redirected, NoStore<(Status, KeysPage)>> {
    let form = form.0;
    let label = form.label.unwrap_or_default();
    let mut unusual = false;
    let added = match check_key_shape(form.api_key.as_deref().unwrap_or("")) {
        Ok(secret) => {
            unusual = !crate::keyring::is_token_shape(secret.expose());
            let site = choice::<Site>(form.site.as_deref()).unwrap_or_default();
            keyring.add(user.0.user_id, &label, site, secret).await
        }
        Err(error) => Err(error),
    };
    match added {
        // A key of another shape is kept and tried, with a word on what tokens look like.
        Ok(_) => {
            let code = if unusual {
                FlashCode::KeyAddedUnusual
            } else {
                FlashCode::KeyAdded
            };
            Ok(Flash::naming(code, names::echo_name(&label)).redirect("/keys"))
        }
        Err(error) => {
            let mut page = keys_page(&user, keyring)
                .await
                .map_err(|s| NoStore((s, empty_page(&user))))?;
            let problem = Problem::key(&error);
            page.label = names::echo_name(&label);
            // What was typed stays, the key too when its shape was not what was refused.
            if !matches!(error, KeyError::BadShape) {
                page.api_key = form.api_key.as_deref().unwrap_or("").trim().to_owned();
            }
            page.site = choice::<Site>(form.site.as_deref()).unwrap_or_default();
            page.error = Some(problem.notice);
            Err(NoStore((problem.status, page)))
        }
    }
}

/// Re-enter (replace) a saved key, e.g. one that no longer opens.
#[post("/keys/<id>", data = "<form>")]
pub async fn update(
    user: CurrentUser,
    id: KeyId,
    form: Csrf<KeyForm>,
    keyring: &State<Keyring>,
) -> Result<Redirected, (Status, KeysPage)> {
    let replaced = match check_key_shape(form.0.api_key.as_deref().unwrap_or("")) {
        Ok(secret) => keyring.replace(user.0.user_id, id, secret).await,
        Err(error) => Err(error),
    };
    match replaced {
        Ok(label) => Ok(Flash::naming(FlashCode::KeyUpdated, label).redirect("/keys")),
        Err(error) => {
            let mut page = keys_page(&user, keyring)
                .await
                .map_err(|s| (s, empty_page(&user)))?;
            let problem = Problem::key(&error);
            page.row_error = Some((id, problem.notice));
            Err((problem.status, page))
        }
    }
}

/// The confirmation step: names the key, posts the delete.
#[get("/keys/<id>/delete")]
pub async fn confirm_delete(
    user: CurrentUser,
    id: KeyId,
    keyring: &State<Keyring>,
) -> Result<ConfirmPage, Status> {
    let label = keyring
        .label(user.0.user_id, id)
        .await
        .map_err(|error| Problem::key(&error).status)?;
    Ok(ConfirmPage {
        layout: user.layout(),
        what: "key",
        name: label,
        action: format!("/keys/{id}/delete"),
        back: "/keys".to_owned(),
    })
}

#[post("/keys/<id>/delete", data = "<_form>")]
pub async fn delete(
    user: CurrentUser,
    id: KeyId,
    _form: Csrf<TokenOnlyForm>,
    keyring: &State<Keyring>,
) -> Result<Redirected, Status> {
    match keyring.delete(user.0.user_id, id).await {
        Ok(label) => Ok(Flash::naming(FlashCode::KeyDeleted, label).redirect("/keys")),
        Err(error) => Err(Problem::key(&error).status),
    }
}

/// Uses the free balance endpoint: shows the points and whether the key is accepted.
#[post("/keys/<id>/check", data = "<_form>")]
pub async fn check(
    user: CurrentUser,
    id: KeyId,
    _form: Csrf<TokenOnlyForm>,
    keyring: &State<Keyring>,
    engine: &State<QueryEngine>,
) -> Result<KeysPage, (Status, KeysPage)> {
    let opened = keyring.open(user.0.user_id, id).await;
    let mut page = keys_page(&user, keyring)
        .await
        .map_err(|s| (s, empty_page(&user)))?;
    match opened {
        Ok(opened) => {
            let balance = engine
                .balance(opened.site, &opened.secret, &Lane::Member)
                .await;
            page.check = Some(CheckResult {
                key_id: id,
                balance: BalanceView::from_result(&balance),
                site: opened.site,
            });
            Ok(page)
        }
        Err(error) => {
            let problem = Problem::key(&error);
            page.row_error = Some((id, problem.notice));
            Err((problem.status, page))
        }
    }
}

fn empty_page(user: &CurrentUser) -> KeysPage {
    KeysPage {
        layout: user.layout(),
        keys: Vec::new(),
        label: String::new(),
        api_key: String::new(),
        site: Site::default(),
        error: None,
        row_error: None,
        check: None,
    }
}

pub fn routes() -> Vec<rocket::Route> {
    rocket::routes![list, add, update, confirm_delete, delete, check]
}
