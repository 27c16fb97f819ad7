//! `/presets`: named, ordered lists of models; one may be the default.
//!
//! Model suggestions without JavaScript: a `<textarea>` cannot use a `<datalist>`, so each form
//! has the textarea for the whole list plus one single-line "add a model" box that does use the
//! catalogue's `<datalist>`. Whatever is picked there is appended to the list when the form is
//! saved (Enter in the box saves), so one pick plus Enter adds a model from the catalogue.

use askama::Template;
use askama_web::WebTemplate;
use rocket::form::FromForm;
use rocket::http::Status;
use rocket::request::FlashMessage;
use rocket::response::{Flash, Redirect};
use rocket::{State, get, post};

use super::auth::TokenOnlyForm;
use super::session::{Csrf, CurrentUser, csrf_form};
use super::view::{Layout, Notice, beijing_time};
use crate::config::AppConfig;
use crate::db::Db;
use crate::db::presets::Preset;
use crate::modelscope::catalogue::Catalogue;
use crate::presets::{self, MAX_NAME_CHARS, MAX_PRESETS_PER_USER, PresetError};

/// At most this many refused ids are named in one message; the rest are counted.
const NAMED_INVALID_IDS: usize = 10;
/// A refused id is shown cut to this many characters.
const SHOWN_ID_CHARS: usize = 80;

/// One preset, with the values its edit form shows (what was typed, after a failed edit).
pub struct PresetRow {
    pub id: i64,
    pub name: String,
    pub models: Vec<String>,
    pub is_default: bool,
    pub updated: String,
    pub form: PresetFields,
    pub error: Option<Notice>,
}

/// The values of a create or edit form.
#[derive(Default)]
pub struct PresetFields {
    pub name: String,
    pub models: String,
    pub add_model: String,
    pub is_default: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "presets.html")]
pub struct PresetsPage {
    pub layout: Layout,
    pub presets: Vec<PresetRow>,
    /// Suggestions for the "add a model" boxes (empty when the catalogue is unreachable).
    pub catalogue: Vec<String>,
    pub max_models: usize,
    pub max_presets: usize,
    pub max_name_chars: usize,
    /// The create form's values and error.
    pub create: PresetFields,
    pub error: Option<Notice>,
    /// About the page as a whole (e.g. a preset that no longer exists).
    pub notice: Option<Notice>,
}

impl PresetsPage {
    pub fn at_limit(&self) -> bool {
        self.presets.len() >= self.max_presets
    }
}

#[derive(Debug, FromForm)]
pub struct PresetForm {
    name: Option<String>,
    models: Option<String>,
    add_model: Option<String>,
    is_default: Option<String>,
    csrf_token: Option<String>,
}

csrf_form!(PresetForm);

impl PresetForm {
    /// A checkbox is sent only when ticked; any value but an explicit "no" means ticked.
    fn is_default(&self) -> bool {
        self.is_default.as_deref().is_some_and(|value| {
            !matches!(
                value.trim().to_ascii_lowercase().as_str(),
                "" | "0" | "false" | "off" | "no"
            )
        })
    }

    fn check(&self, max_models: usize) -> Result<presets::CheckedPreset, PresetError> {
        let extra: Vec<&str> = self.add_model.as_deref().into_iter().collect();
        presets::check(
            self.name.as_deref().unwrap_or(""),
            self.models.as_deref().unwrap_or(""),
            &extra,
            max_models,
        )
    }

    /// What was typed, to show again with the error.
    fn fields(&self) -> PresetFields {
        PresetFields {
            // Cut like every other echoed name, so a 10,000-character one is not sent back whole.
            name: self
                .name
                .as_deref()
                .unwrap_or("")
                .trim()
                .chars()
                .take(MAX_NAME_CHARS)
                .collect(),
            models: self.models.clone().unwrap_or_default(),
            add_model: self.add_model.clone().unwrap_or_default(),
            is_default: self.is_default(),
        }
    }
}

fn shown_id(id: &str) -> String {
    if id.chars().count() > SHOWN_ID_CHARS {
        let mut cut: String = id.chars().take(SHOWN_ID_CHARS).collect();
        cut.push('…');
        cut
    } else {
        id.to_owned()
    }
}

fn preset_notice(error: &PresetError) -> Option<Notice> {
    Some(match error {
        PresetError::EmptyName => Notice::new("empty_name"),
        PresetError::BadName => Notice::new("bad_name").with_n(MAX_NAME_CHARS as i64),
        PresetError::DuplicateName => Notice::new("duplicate_name"),
        PresetError::TooManyPresets { max } => Notice::new("too_many_presets").with_n(*max as i64),
        PresetError::NoModels => Notice::new("no_models"),
        PresetError::TooManyModels { count, max } => Notice::new("too_many_preset_models")
            .with_n(*max as i64)
            .with_name(count.to_string()),
        PresetError::InvalidModels(ids) => {
            let mut named: Vec<String> = ids
                .iter()
                .take(NAMED_INVALID_IDS)
                .map(|id| shown_id(id))
                .collect();
            if ids.len() > NAMED_INVALID_IDS {
                named.push(format!("…（共 {} 个）", ids.len()));
            }
            Notice::new("invalid_models").with_name(named.join(", "))
        }
        PresetError::NotFound => Notice::new("preset_not_found"),
        PresetError::Db(_) => return None,
    })
}

fn preset_status(error: &PresetError) -> Status {
    match error {
        PresetError::NotFound => Status::NotFound,
        PresetError::DuplicateName | PresetError::TooManyPresets { .. } => Status::Conflict,
        PresetError::Db(_) => Status::InternalServerError,
        _ => Status::UnprocessableEntity,
    }
}

fn row(preset: Preset) -> PresetRow {
    PresetRow {
        form: PresetFields {
            name: preset.name.clone(),
            models: preset.models.join("\n"),
            add_model: String::new(),
            is_default: preset.is_default,
        },
        id: preset.id,
        name: preset.name,
        models: preset.models,
        is_default: preset.is_default,
        updated: beijing_time(preset.updated_at),
        error: None,
    }
}

fn empty_page(user: &CurrentUser, config: &AppConfig) -> PresetsPage {
    PresetsPage {
        layout: user.layout(),
        presets: Vec::new(),
        catalogue: Vec::new(),
        max_models: config.max_models_per_query,
        max_presets: MAX_PRESETS_PER_USER,
        max_name_chars: MAX_NAME_CHARS,
        create: PresetFields::default(),
        error: None,
        notice: None,
    }
}

async fn presets_page(
    user: &CurrentUser,
    db: &Db,
    config: &AppConfig,
    catalogue: &Catalogue,
) -> Result<PresetsPage, (Status, PresetsPage)> {
    let listed = presets::list(db, user.0.user_id).await;
    let mut page = empty_page(user, config);
    match listed {
        Ok(list) => page.presets = list.into_iter().map(row).collect(),
        Err(error) => {
            tracing::error!(%error, "listing presets failed");
            return Err((Status::InternalServerError, page));
        }
    }
    page.catalogue = catalogue.model_ids().await;
    Ok(page)
}

/// The page again with the error where it belongs: on the failed preset's row, or on the
/// create form (`row_id` `None`); a preset that is not the user's is said at the top.
async fn failed(
    user: &CurrentUser,
    db: &Db,
    config: &AppConfig,
    catalogue: &Catalogue,
    error: &PresetError,
    row_id: Option<i64>,
    typed: Option<PresetFields>,
) -> (Status, PresetsPage) {
    if let PresetError::Db(db_error) = error {
        tracing::error!(error = %db_error, "preset change failed");
    }
    let status = preset_status(error);
    let mut page = match presets_page(user, db, config, catalogue).await {
        Ok(page) => page,
        Err(answer) => return answer,
    };
    let notice = preset_notice(error);
    match row_id {
        None => {
            if let Some(typed) = typed {
                page.create = typed;
            }
            page.error = notice;
        }
        Some(id) => match page.presets.iter_mut().find(|row| row.id == id) {
            Some(row) if !matches!(error, PresetError::NotFound) => {
                if let Some(typed) = typed {
                    row.form = typed;
                }
                row.error = notice;
            }
            // Not the user's, or gone meanwhile: said at the top; nothing else to show.
            _ => page.notice = notice,
        },
    }
    (status, page)
}

#[get("/presets")]
pub async fn list(
    user: CurrentUser,
    flash: Option<FlashMessage<'_>>,
    db: &State<Db>,
    config: &State<AppConfig>,
    catalogue: &State<Catalogue>,
) -> Result<PresetsPage, (Status, PresetsPage)> {
    let page = presets_page(&user, db, config, catalogue).await?;
    Ok(PresetsPage {
        layout: page.layout.with_flash(flash),
        ..page
    })
}

#[post("/presets", data = "<form>")]
pub async fn create(
    user: CurrentUser,
    form: Csrf<PresetForm>,
    db: &State<Db>,
    config: &State<AppConfig>,
    catalogue: &State<Catalogue>,
) -> Result<Flash<Redirect>, (Status, PresetsPage)> {
    let form = form.0;
    let created = match form.check(config.max_models_per_query) {
        Ok(checked) => presets::create(db, user.0.user_id, checked, form.is_default()).await,
        Err(error) => Err(error),
    };
    match created {
        Ok(_) => Ok(Flash::success(Redirect::to("/presets"), "preset_saved")),
        Err(error) => Err(failed(
            &user,
            db,
            config,
            catalogue,
            &error,
            None,
            Some(form.fields()),
        )
        .await),
    }
}

/// Rename, replace the models, and set or clear the default flag.
#[post("/presets/<id>", data = "<form>")]
pub async fn update(
    user: CurrentUser,
    id: i64,
    form: Csrf<PresetForm>,
    db: &State<Db>,
    config: &State<AppConfig>,
    catalogue: &State<Catalogue>,
) -> Result<Flash<Redirect>, (Status, PresetsPage)> {
    let form = form.0;
    let checked = form.check(config.max_models_per_query);
    match presets::update(db, user.0.user_id, id, checked, form.is_default()).await {
        Ok(()) => Ok(Flash::success(Redirect::to("/presets"), "preset_saved")),
        Err(error) => Err(failed(
            &user,
            db,
            config,
            catalogue,
            &error,
            Some(id),
            Some(form.fields()),
        )
        .await),
    }
}

#[post("/presets/<id>/default", data = "<form>")]
pub async fn make_default(
    user: CurrentUser,
    id: i64,
    form: Csrf<TokenOnlyForm>,
    db: &State<Db>,
    config: &State<AppConfig>,
    catalogue: &State<Catalogue>,
) -> Result<Flash<Redirect>, (Status, PresetsPage)> {
    let _ = form;
    match presets::set_default(db, user.0.user_id, id).await {
        Ok(()) => Ok(Flash::success(Redirect::to("/presets"), "preset_default")),
        Err(error) => Err(failed(&user, db, config, catalogue, &error, Some(id), None).await),
    }
}

#[post("/presets/<id>/delete", data = "<form>")]
pub async fn delete(
    user: CurrentUser,
    id: i64,
    form: Csrf<TokenOnlyForm>,
    db: &State<Db>,
    config: &State<AppConfig>,
    catalogue: &State<Catalogue>,
) -> Result<Flash<Redirect>, (Status, PresetsPage)> {
    let _ = form;
    match presets::delete(db, user.0.user_id, id).await {
        Ok(()) => Ok(Flash::success(Redirect::to("/presets"), "preset_deleted")),
        Err(error) => Err(failed(&user, db, config, catalogue, &error, Some(id), None).await),
    }
}
