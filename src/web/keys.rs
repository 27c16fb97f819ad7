//! `/keys`: the key vault. Keys are shown masked only; plaintext lives for one call.

use askama::Template;
use askama_web::WebTemplate;
use rocket::form::FromForm;
use rocket::http::Status;
use rocket::request::FlashMessage;
use rocket::response::{Flash, Redirect};
use rocket::{State, get, post};

use super::auth::TokenOnlyForm;
use super::session::{Csrf, CurrentUser, csrf_form};
use super::view::{BalanceView, Layout, Notice, beijing_time};
use crate::keyring::{KeyError, Keyring, check_key_shape};
use crate::runs::engine::QueryEngine;

pub struct KeyRow {
    pub id: i64,
    pub label: String,
    pub masked: String,
    pub added: String,
    pub last_used: Option<String>,
    pub needs_reentry: bool,
}

/// The result of "check" for one key.
pub struct CheckResult {
    pub key_id: i64,
    pub balance: BalanceView,
}

#[derive(Template, WebTemplate)]
#[template(path = "keys.html")]
pub struct KeysPage {
    pub layout: Layout,
    pub keys: Vec<KeyRow>,
    pub label: String,
    pub error: Option<Notice>,
    /// The row whose update form failed, and why.
    pub row_error: Option<(i64, Notice)>,
    pub check: Option<CheckResult>,
}

#[derive(Debug, FromForm)]
pub struct KeyForm {
    label: Option<String>,
    api_key: Option<String>,
    csrf_token: Option<String>,
}

csrf_form!(KeyForm);

fn key_notice(error: &KeyError) -> Option<Notice> {
    Some(match error {
        KeyError::BadShape => Notice::new("bad_key"),
        KeyError::EmptyLabel => Notice::new("empty_label"),
        KeyError::BadLabel => Notice::new("bad_label"),
        KeyError::DuplicateLabel => Notice::new("duplicate_label"),
        KeyError::DuplicateKey { label } => Notice::new("duplicate_key").with_name(label.clone()),
        KeyError::NotFound => Notice::new("key_not_found"),
        KeyError::NeedsReentry => Notice::new("key_needs_reentry"),
        KeyError::Vault(_) | KeyError::Db(_) => return None,
    })
}

fn key_status(error: &KeyError) -> Status {
    match error {
        KeyError::NotFound => Status::NotFound,
        KeyError::DuplicateKey { .. } | KeyError::DuplicateLabel => Status::Conflict,
        KeyError::Vault(_) | KeyError::Db(_) => Status::InternalServerError,
        _ => Status::UnprocessableEntity,
    }
}

async fn keys_page(user: &CurrentUser, keyring: &Keyring) -> Result<KeysPage, Status> {
    let keys = keyring
        .list(user.0.user_id)
        .await
        .map_err(|_| Status::InternalServerError)?;
    Ok(KeysPage {
        layout: user.layout(),
        keys: keys
            .into_iter()
            .map(|key| KeyRow {
                id: key.id,
                label: key.label,
                masked: key.masked,
                added: beijing_time(key.created_at),
                last_used: key.last_used_at.map(beijing_time),
                needs_reentry: key.needs_reentry,
            })
            .collect(),
        label: String::new(),
        error: None,
        row_error: None,
        check: None,
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
) -> Result<Flash<Redirect>, (Status, KeysPage)> {
    let form = form.0;
    let label = form.label.unwrap_or_default();
    let added = match check_key_shape(form.api_key.as_deref().unwrap_or("")) {
        Ok(secret) => keyring.add(user.0.user_id, &label, secret).await,
        Err(error) => Err(error),
    };
    match added {
        Ok(_) => Ok(Flash::success(Redirect::to("/keys"), "key_added")),
        Err(error) => {
            let mut page = keys_page(&user, keyring)
                .await
                .map_err(|s| (s, empty_page(&user)))?;
            page.label = label
                .trim()
                .chars()
                .filter(|c| !c.is_control())
                .take(64)
                .collect();
            page.error = key_notice(&error);
            Err((key_status(&error), page))
        }
    }
}

/// Re-enter (replace) a saved key, e.g. one that no longer opens.
#[post("/keys/<id>", data = "<form>")]
pub async fn update(
    user: CurrentUser,
    id: i64,
    form: Csrf<KeyForm>,
    keyring: &State<Keyring>,
) -> Result<Flash<Redirect>, (Status, KeysPage)> {
    let replaced = match check_key_shape(form.0.api_key.as_deref().unwrap_or("")) {
        Ok(secret) => keyring.replace(user.0.user_id, id, secret).await,
        Err(error) => Err(error),
    };
    match replaced {
        Ok(()) => Ok(Flash::success(Redirect::to("/keys"), "key_updated")),
        Err(error) => {
            let mut page = keys_page(&user, keyring)
                .await
                .map_err(|s| (s, empty_page(&user)))?;
            if let Some(notice) = key_notice(&error) {
                page.row_error = Some((id, notice));
            }
            Err((key_status(&error), page))
        }
    }
}

#[post("/keys/<id>/delete", data = "<form>")]
pub async fn delete(
    user: CurrentUser,
    id: i64,
    form: Csrf<TokenOnlyForm>,
    keyring: &State<Keyring>,
) -> Result<Flash<Redirect>, Status> {
    let _ = form;
    match keyring.delete(user.0.user_id, id).await {
        Ok(()) => Ok(Flash::success(Redirect::to("/keys"), "key_deleted")),
        Err(error) => Err(key_status(&error)),
    }
}

/// Uses the free balance endpoint: shows the points and whether the key is accepted.
#[post("/keys/<id>/check", data = "<form>")]
pub async fn check(
    user: CurrentUser,
    id: i64,
    form: Csrf<TokenOnlyForm>,
    keyring: &State<Keyring>,
    engine: &State<QueryEngine>,
) -> Result<KeysPage, (Status, KeysPage)> {
    let _ = form;
    let opened = keyring.open(user.0.user_id, id).await;
    let mut page = keys_page(&user, keyring)
        .await
        .map_err(|s| (s, empty_page(&user)))?;
    match opened {
        Ok((secret, _label)) => {
            let balance = engine.balance(&secret).await;
            page.check = Some(CheckResult {
                key_id: id,
                balance: BalanceView::from_result(&balance),
            });
            Ok(page)
        }
        Err(error) => {
            if let Some(notice) = key_notice(&error) {
                page.row_error = Some((id, notice));
            }
            Err((key_status(&error), page))
        }
    }
}

fn empty_page(user: &CurrentUser) -> KeysPage {
    KeysPage {
        layout: user.layout(),
        keys: Vec::new(),
        label: String::new(),
        error: None,
        row_error: None,
        check: None,
    }
}
