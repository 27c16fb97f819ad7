//! `GET /` and `POST /quick`: the quick query. Signed out, nothing of it is stored or logged
//! beyond counts; signed in, a saved key can be used by id.

use askama::Template;
use askama_web::WebTemplate;
use rocket::form::FromForm;
use rocket::http::Status;
use rocket::{Either, State};
use rocket::{get, post};

use super::dashboard::{DashboardPage, dashboard};
use super::session::{Csrf, CurrentUser, Viewer, csrf_form};
use super::view::{KeyOption, Layout, Notice, ReportView};
use crate::crypto::secret::ApiSecret;
use crate::keyring::{KeyError, Keyring};
use crate::modelscope::{BatchError, ModelEntry, split_model_text};
use crate::runs::engine::QueryEngine;

#[derive(Template, WebTemplate)]
#[template(path = "quick.html")]
pub struct QuickPage {
    pub layout: Layout,
    pub models: String,
    pub max_models: usize,
    pub error: Option<Notice>,
    pub report: Option<ReportView>,
    pub saved_keys: Vec<KeyOption>,
    pub selected_key_id: Option<i64>,
}

#[derive(Debug, FromForm)]
pub struct QuickForm {
    api_key: Option<String>,
    key_id: Option<String>,
    models: Option<String>,
    csrf_token: Option<String>,
}

csrf_form!(QuickForm);

async fn key_options(keyring: &Keyring, viewer: &Viewer) -> Vec<KeyOption> {
    let Some(user) = &viewer.user else {
        return Vec::new();
    };
    keyring
        .list(user.user_id)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(KeyOption::from)
        .collect()
}

/// Signed in: the dashboard. Signed out: the quick query.
#[get("/")]
pub async fn index(
    viewer: Viewer,
    engine: &State<QueryEngine>,
    keyring: &State<Keyring>,
    db: &State<crate::db::Db>,
    flash: Option<rocket::request::FlashMessage<'_>>,
) -> Either<DashboardPage, QuickPage> {
    if let Some(user) = &viewer.user {
        let mut page = dashboard(&CurrentUser(user.clone()), db, keyring).await;
        page.layout = page.layout.with_flash(flash);
        return Either::Left(page);
    }
    Either::Right(QuickPage {
        layout: viewer.layout(),
        models: String::new(),
        max_models: engine.limits().max_models,
        error: None,
        report: None,
        saved_keys: key_options(keyring, &viewer).await,
        selected_key_id: None,
    })
}

#[post("/quick", data = "<form>")]
pub async fn quick(
    viewer: Viewer,
    form: Csrf<QuickForm>,
    engine: &State<QueryEngine>,
    keyring: &State<Keyring>,
) -> (Status, QuickPage) {
    let form = form.0;
    let models = form.models.unwrap_or_default();
    let key_id = form
        .key_id
        .as_deref()
        .and_then(|id| id.trim().parse::<i64>().ok());
    let mut page = QuickPage {
        layout: viewer.layout(),
        models: models.clone(),
        max_models: engine.limits().max_models,
        error: None,
        report: None,
        saved_keys: key_options(keyring, &viewer).await,
        selected_key_id: key_id,
    };
    let checked = match prepare_models(engine, &models) {
        Ok(entries) => {
            let user_id = viewer.user.as_ref().map(|user| user.user_id);
            resolve_key(user_id, keyring, key_id, form.api_key.as_deref())
                .await
                .map(|key| (key.secret, entries))
        }
        Err(notice) => Err(notice),
    };
    let (key, entries) = match checked {
        Ok(ready) => ready,
        Err(notice) => {
            page.error = Some(notice);
            return (Status::UnprocessableEntity, page);
        }
    };
    let (report, balance) = engine.run_with_balance(key, entries).await;
    tracing::info!(
        source = "quick",
        models = report.results.len(),
        ok = report.ok_count(),
        failed = report.failed_count(),
        duration_ms = report.elapsed.as_millis() as u64,
        "balance query"
    );
    page.report = Some(ReportView::new(&report, Some(&balance)));
    (Status::Ok, page)
}

/// The key a query runs with; `saved` is the saved key's id and label, `None` when pasted.
pub struct ResolvedKey {
    pub secret: ApiSecret,
    pub saved: Option<(i64, String)>,
}

/// The pasted key if one was typed, else a saved key by id (signed in users only).
pub async fn resolve_key(
    user_id: Option<i64>,
    keyring: &Keyring,
    key_id: Option<i64>,
    pasted: Option<&str>,
) -> Result<ResolvedKey, Notice> {
    let pasted = pasted.map(str::trim).unwrap_or_default();
    // A pasted key wins over the select, which starts on a saved key: typing a key is the more
    // deliberate act, and charging the other key's quota by surprise would be worse.
    if let (Some(key_id), true) = (key_id, pasted.is_empty()) {
        let user_id = user_id.ok_or(Notice::new("key_not_found"))?;
        return match keyring.open(user_id, key_id).await {
            Ok((secret, label)) => Ok(ResolvedKey {
                secret,
                saved: Some((key_id, label)),
            }),
            Err(KeyError::NeedsReentry) => Err(Notice::new("key_needs_reentry")),
            Err(_) => Err(Notice::new("key_not_found")),
        };
    }
    let key = pasted;
    if key.is_empty() {
        return Err(Notice::new("missing_key"));
    }
    if key.chars().any(char::is_control) || key.chars().count() > 256 {
        return Err(Notice::new("bad_key"));
    }
    Ok(ResolvedKey {
        secret: ApiSecret::new(key),
        saved: None,
    })
}

/// The models field's mistakes, as notices.
pub fn prepare_models(engine: &QueryEngine, models: &str) -> Result<Vec<ModelEntry>, Notice> {
    let entries = engine
        .prepare(split_model_text(models))
        .map_err(|error| match error {
            BatchError::Empty => Notice::new("no_models"),
            BatchError::TooMany { max, .. } => Notice::new("too_many_models").with_n(max as i64),
        })?;
    if entries
        .iter()
        .all(|entry| matches!(entry, ModelEntry::Invalid { .. }))
    {
        return Err(Notice::new("no_valid_models"));
    }
    Ok(entries)
}
