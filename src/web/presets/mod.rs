//! `/presets`: named, ordered lists of models; one may be the default.
//!
//! Model suggestions without JavaScript: a `<textarea>` cannot use a `<datalist>`, so each form
//! has the textarea for the whole list plus one single-line "add a model" box that does use the
//! catalogue's `<datalist>`. Whatever is picked there is appended to the list when the form is
//! saved (Enter in the box saves), so one pick plus Enter adds a model from the catalogue.

mod prices;

use askama::Template;
use askama_web::WebTemplate;
use rocket::form::FromForm;
use rocket::http::Status;
use rocket::request::FlashMessage;
use rocket::response::{Flash, Redirect};
use rocket::{State, get, post};

use super::problem::Problem;
use super::session::{Csrf, CurrentUser, TokenOnlyForm, csrf_form};
use super::view::{Layout, Notice};
use crate::clock;
use crate::config::AppConfig;
use crate::db::Db;
use crate::db::presets::Preset;
use crate::ids::PresetId;
use crate::modelscope::catalogue::Catalogue;
use crate::presets::{self, MAX_NAME_CHARS, MAX_PRESETS_PER_USER, PresetError};
use prices::{PriceRow, price_rows, tier_options};

/// One preset, with the values its edit form shows (what was typed, after a failed edit).
pub struct PresetRow {
    pub id: PresetId,
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
    /// What a call of each model costs, as far as this user knows.
    pub prices: Vec<PriceRow>,
    pub tiers: Vec<String>,
    /// The price form's error.
    pub price_error: Option<Notice>,
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
            name: crate::names::echo_name(self.name.as_deref().unwrap_or("")),
            models: self.models.clone().unwrap_or_default(),
            add_model: self.add_model.clone().unwrap_or_default(),
            is_default: self.is_default(),
        }
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
        updated: clock::minutes(preset.updated_at),
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
        prices: Vec::new(),
        tiers: tier_options(),
        price_error: None,
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
        Ok(list) => {
            page.prices = price_rows(db, user.0.user_id, &list).await;
            page.presets = list.into_iter().map(row).collect();
        }
        Err(error) => {
            let problem = Problem::preset(&error);
            page.notice = Some(problem.notice);
            return Err((problem.status, page));
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
    row_id: Option<PresetId>,
    typed: Option<PresetFields>,
) -> (Status, PresetsPage) {
    let Problem { status, notice } = Problem::preset(error);
    let mut page = match presets_page(user, db, config, catalogue).await {
        Ok(page) => page,
        Err(answer) => return answer,
    };
    let notice = Some(notice);
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
    id: PresetId,
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
    id: PresetId,
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
    id: PresetId,
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

#[derive(Debug, FromForm)]
pub struct PriceForm {
    model: Option<String>,
    /// `0.5`, `1`, `2`, or empty to forget the setting.
    points: Option<String>,
    csrf_token: Option<String>,
}

csrf_form!(PriceForm);

/// Sets (or, with an empty `points`, forgets) the user's own price of a model.
#[post("/prices", data = "<form>")]
pub async fn set_price(
    user: CurrentUser,
    form: Csrf<PriceForm>,
    db: &State<Db>,
    config: &State<AppConfig>,
    catalogue: &State<Catalogue>,
) -> Result<Flash<Redirect>, (Status, PresetsPage)> {
    let form = form.0;
    let model = form.model.unwrap_or_default();
    // Not a number is not a tier either: the domain says so.
    let points = form
        .points
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|text| text.parse::<f64>().unwrap_or(f64::NAN));
    match crate::runs::prices::set_price(db, user.0.user_id, model.trim(), points).await {
        Ok(()) => Ok(Flash::success(
            Redirect::to("/presets#prices"),
            "price_saved",
        )),
        Err(error) => {
            let Problem { status, notice } = Problem::price(&error);
            let mut page = match presets_page(&user, db, config, catalogue).await {
                Ok(page) => page,
                Err(answer) => return Err(answer),
            };
            page.price_error = Some(notice);
            Err((status, page))
        }
    }
}
