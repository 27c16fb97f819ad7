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
use rocket::outcome::try_outcome;
use rocket::request::{self, FlashMessage, FromRequest, Request};
use rocket::{State, get, post};

use crate::clock;
use crate::config::AppConfig;
use crate::db::Db;
use crate::db::presets::Preset;
use crate::ids::PresetId;
use crate::keyring::Keyring;
use crate::modelscope::PriceSource;
use crate::modelscope::catalogue::Catalogue;
use crate::presets::{self, MAX_NAME_CHARS, MAX_PRESETS_PER_USER, PresetError};
use crate::web::kit::confirm::ConfirmPage;
use crate::web::kit::csrf::{Csrf, TokenOnlyForm, csrf_form};
use crate::web::kit::notice::{Flash, FlashCode, Notice, Redirected};
use crate::web::kit::problem::Problem;
use crate::web::kit::session::CurrentUser;
use crate::web::kit::view::{KeyOption, Layout, PresetOption, key_options, preset_options_priced};
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
    /// The census form: the user's keys, and each preset with what measuring its unknown
    /// prices may cost.
    pub keys: Vec<KeyOption>,
    pub census: Vec<PresetOption>,
}

impl PresetsPage {
    pub fn at_limit(&self) -> bool {
        self.presets.len() >= self.max_presets
    }

    /// Some preset has a model whose price is unknown.
    pub fn any_census(&self) -> bool {
        self.census.iter().any(|p| p.census.is_some())
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
        keys: Vec::new(),
        census: Vec::new(),
    }
}

/// What every handler of this page needs to show it again: the user and the page's state.
pub struct PresetsContext<'r> {
    user: CurrentUser,
    db: &'r Db,
    config: &'r AppConfig,
    catalogue: &'r Catalogue,
    keyring: &'r Keyring,
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for PresetsContext<'r> {
    type Error = ();

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, ()> {
        let user = try_outcome!(request.guard::<CurrentUser>().await);
        let rocket = request.rocket();
        match (
            rocket.state::<Db>(),
            rocket.state::<AppConfig>(),
            rocket.state::<Catalogue>(),
            rocket.state::<Keyring>(),
        ) {
            (Some(db), Some(config), Some(catalogue), Some(keyring)) => {
                request::Outcome::Success(Self {
                    user,
                    db,
                    config,
                    catalogue,
                    keyring,
                })
            }
            _ => request::Outcome::Error((Status::InternalServerError, ())),
        }
    }
}

impl PresetsContext<'_> {
    fn user_id(&self) -> crate::ids::UserId {
        self.user.0.user_id
    }

    /// The page as it stands.
    async fn page(&self) -> Result<PresetsPage, (Status, PresetsPage)> {
        let listed = presets::list(self.db, self.user_id()).await;
        let mut page = empty_page(&self.user, self.config);
        match listed {
            Ok(list) => {
                let (prices, known) = price_rows(self.db, self.user_id(), &list).await;
                page.prices = prices;
                page.census = preset_options_priced(list.clone(), &known);
                page.presets = list.into_iter().map(row).collect();
            }
            Err(error) => {
                let problem = Problem::preset(&error);
                page.notice = Some(problem.notice);
                return Err((problem.status, page));
            }
        }
        page.catalogue = self.catalogue.model_ids().await;
        page.keys = key_options(self.keyring, self.user_id()).await;
        Ok(page)
    }

    /// The page again with the error where it belongs: on the failed preset's row, or on the
    /// create form (`row_id` `None`); a preset that is not the user's is said at the top.
    async fn failed(
        &self,
        error: &PresetError,
        row_id: Option<PresetId>,
        typed: Option<PresetFields>,
    ) -> (Status, PresetsPage) {
        let Problem { status, notice } = Problem::preset(error);
        let mut page = match self.page().await {
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

    /// Back to the list with `flash`, or the page with the error.
    async fn answer(
        &self,
        outcome: Result<Flash, PresetError>,
        row_id: Option<PresetId>,
        typed: Option<PresetFields>,
    ) -> Result<Redirected, (Status, PresetsPage)> {
        match outcome {
            Ok(flash) => Ok(flash.redirect("/presets")),
            Err(error) => Err(self.failed(&error, row_id, typed).await),
        }
    }
}

/// The notice naming the preset just saved (its name as the form gave it, checked).
fn saved(form: &PresetForm) -> Flash {
    let name = crate::names::echo_name(form.name.as_deref().unwrap_or(""));
    Flash::naming(FlashCode::PresetSaved, name)
}

/// The confirmation step: names the preset, posts the delete.
#[get("/presets/<id>/delete")]
pub async fn confirm_delete(
    user: CurrentUser,
    id: PresetId,
    db: &State<Db>,
) -> Result<ConfirmPage, Status> {
    let preset = presets::get(db, user.0.user_id, id)
        .await
        .map_err(|error| Problem::preset(&error).status)?;
    Ok(ConfirmPage {
        layout: user.layout(),
        what: "preset",
        name: preset.name,
        action: format!("/presets/{id}/delete"),
        back: "/presets".to_owned(),
    })
}

#[get("/presets")]
pub async fn list(
    page: PresetsContext<'_>,
    flash: Option<FlashMessage<'_>>,
) -> Result<PresetsPage, (Status, PresetsPage)> {
    let shown = page.page().await?;
    Ok(PresetsPage {
        layout: shown.layout.with_flash(flash),
        ..shown
    })
}

#[post("/presets", data = "<form>")]
pub async fn create(
    page: PresetsContext<'_>,
    form: Csrf<PresetForm>,
) -> Result<Redirected, (Status, PresetsPage)> {
    let form = form.0;
    let created = match form.check(page.config.max_models_per_query) {
        Ok(checked) => presets::create(page.db, page.user_id(), checked, form.is_default()).await,
        Err(error) => Err(error),
    };
    let outcome = created.map(|_| saved(&form));
    page.answer(outcome, None, Some(form.fields())).await
}

/// Rename, replace the models, and set or clear the default flag.
#[post("/presets/<id>", data = "<form>")]
pub async fn update(
    page: PresetsContext<'_>,
    id: PresetId,
    form: Csrf<PresetForm>,
) -> Result<Redirected, (Status, PresetsPage)> {
    let form = form.0;
    let checked = form.check(page.config.max_models_per_query);
    let outcome = presets::update(page.db, page.user_id(), id, checked, form.is_default())
        .await
        .map(|()| saved(&form));
    page.answer(outcome, Some(id), Some(form.fields())).await
}

#[post("/presets/<id>/default", data = "<form>")]
pub async fn make_default(
    page: PresetsContext<'_>,
    id: PresetId,
    form: Csrf<TokenOnlyForm>,
) -> Result<Redirected, (Status, PresetsPage)> {
    let _ = form;
    let outcome = presets::set_default(page.db, page.user_id(), id)
        .await
        .map(|name| Flash::naming(FlashCode::PresetDefault, name));
    page.answer(outcome, Some(id), None).await
}

#[post("/presets/<id>/delete", data = "<form>")]
pub async fn delete(
    page: PresetsContext<'_>,
    id: PresetId,
    form: Csrf<TokenOnlyForm>,
) -> Result<Redirected, (Status, PresetsPage)> {
    let _ = form;
    let outcome = presets::delete(page.db, page.user_id(), id)
        .await
        .map(|name| Flash::naming(FlashCode::PresetDeleted, name));
    page.answer(outcome, Some(id), None).await
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
    page: PresetsContext<'_>,
    form: Csrf<PriceForm>,
) -> Result<Redirected, (Status, PresetsPage)> {
    let form = form.0;
    let model = form.model.unwrap_or_default();
    // Not a number is not a tier either: NaN goes on so the domain refuses it in its words.
    let points = form
        .points
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|text| text.parse::<f64>().unwrap_or(f64::NAN));
    match crate::runs::prices::set_price(page.db, page.user_id(), model.trim(), points).await {
        Ok(()) => {
            Ok(Flash::naming(FlashCode::PriceSaved, model.trim()).redirect("/presets#prices"))
        }
        Err(error) => {
            let Problem { status, notice } = Problem::price(&error);
            let mut shown = page.page().await?;
            shown.price_error = Some(notice);
            Err((status, shown))
        }
    }
}

pub fn routes() -> Vec<rocket::Route> {
    rocket::routes![
        list,
        create,
        update,
        make_default,
        confirm_delete,
        delete,
        set_price
    ]
}
