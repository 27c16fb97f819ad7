//! `/presets`: named, ordered lists of models; one may be the default.
//!
//! Model suggestions without JavaScript: a `<textarea>` cannot use a `<datalist>`, so each form
//! has the textarea for the whole list plus one single-line "add a model" box that does use the
//! `<datalist>` of known ids (the user's own, then the catalogue). Whatever is typed there
//! (one id or several) is appended to the list when the form is saved (Enter in the box
//! saves); with JavaScript each pick moves into the list at once, so several picks make one
//! save. A typed id close to a known one is answered "did you mean …?" with the fix.

mod form;
mod prices;

use askama::Template;
use askama_web::WebTemplate;
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
use crate::known_models::KnownModels;
use crate::modelscope::PriceSource;
use crate::modelscope::catalogue::Catalogue;
use crate::presets::{self, MAX_NAME_CHARS, MAX_PRESETS_PER_USER, PresetError};
use crate::web::kit::confirm::ConfirmPage;
use crate::web::kit::csrf::{Csrf, TokenOnlyForm};
use crate::web::kit::model_help::DidYouMean;
use crate::web::kit::notice::{Flash, FlashCode, Notice, Redirected};
use crate::web::kit::problem::Problem;
use crate::web::kit::session::CurrentUser;
use crate::web::kit::view::{KeyOption, Layout, PresetOption, key_options, preset_options_priced};
use form::{PresetFields, PresetForm, saved};
use prices::{PriceRow, price_rows, set_price, tier_options};

/// One preset, with the values its edit form shows (what was typed, after a failed edit).
pub struct PresetRow {
    pub id: PresetId,
    pub name: String,
    pub models: Vec<String>,
    pub is_default: bool,
    pub updated: String,
    pub form: PresetFields,
    pub error: Option<Notice>,
    pub did_you_mean: Option<DidYouMean>,
}

#[derive(Template, WebTemplate)]
#[template(path = "presets.html")]
pub struct PresetsPage {
    pub layout: Layout,
    pub presets: Vec<PresetRow>,
    /// Suggestions for the "add a model" boxes: the user's own ids, then the catalogue (only
    /// the user's when the catalogue is unreachable).
    pub catalogue: Vec<String>,
    /// The catalogue could not be read (the hint says ids can still be typed).
    pub catalogue_down: bool,
    pub max_models: usize,
    pub max_presets: usize,
    pub max_name_chars: usize,
    /// The create form's values and error.
    pub create: PresetFields,
    pub error: Option<Notice>,
    pub create_did_you_mean: Option<DidYouMean>,
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
        did_you_mean: None,
    }
}

fn empty_page(user: &CurrentUser, config: &AppConfig) -> PresetsPage {
    PresetsPage {
        layout: user.layout(),
        presets: Vec::new(),
        catalogue: Vec::new(),
        catalogue_down: false,
        max_models: config.max_models_per_query,
        max_presets: MAX_PRESETS_PER_USER,
        max_name_chars: MAX_NAME_CHARS,
        create: PresetFields::default(),
        error: None,
        create_did_you_mean: None,
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
        let known = self.known().await;
        page.catalogue_down = known.ids().len() == known.own_count();
        page.catalogue = known.ids().to_vec();
        page.keys = key_options(self.keyring, self.user_id()).await;
        Ok(page)
    }

    /// The ids this user may mean: their own, then the catalogue.
    async fn known(&self) -> KnownModels {
        KnownModels::of(self.db, self.catalogue, Some(self.user_id())).await
    }

    /// The page again with "did you mean" on the create form (`row_id` `None`) or on the
    /// row being edited, and what was typed.
    async fn suggesting(
        &self,
        help: DidYouMean,
        row_id: Option<PresetId>,
        typed: PresetFields,
    ) -> (Status, PresetsPage) {
        let mut page = match self.page().await {
            Ok(page) => page,
            Err(answer) => return answer,
        };
        let problem = DidYouMean::problem();
        match row_id.and_then(|id| page.presets.iter_mut().find(|row| row.id == id)) {
            Some(row) => {
                row.form = typed;
                row.error = Some(problem.notice);
                row.did_you_mean = Some(help);
            }
            None => {
                page.create = typed;
                page.error = Some(problem.notice);
                page.create_did_you_mean = Some(help);
            }
        }
        (problem.status, page)
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
    let checked = form.check(page.config.max_models_per_query);
    if matches!(checked, Ok(_) | Err(PresetError::InvalidModels(_)))
        && let Some(help) = form.did_you_mean(&page.known().await, &checked)
    {
        return Err(page.suggesting(help, None, form.fields()).await);
    }
    let created = match checked {
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
    // Only for a preset of the user's: another's is "not found" whatever was typed.
    let own = matches!(checked, Ok(_) | Err(PresetError::InvalidModels(_)))
        && presets::get(page.db, page.user_id(), id).await.is_ok();
    if own && let Some(help) = form.did_you_mean(&page.known().await, &checked) {
        return Err(page.suggesting(help, Some(id), form.fields()).await);
    }
    let outcome = presets::update(page.db, page.user_id(), id, checked, form.is_default())
        .await
        .map(|()| saved(&form));
    page.answer(outcome, Some(id), Some(form.fields())).await
}

#[post("/presets/<id>/default", data = "<_form>")]
pub async fn make_default(
    page: PresetsContext<'_>,
    id: PresetId,
    _form: Csrf<TokenOnlyForm>,
) -> Result<Redirected, (Status, PresetsPage)> {
    let outcome = presets::set_default(page.db, page.user_id(), id)
        .await
        .map(|name| Flash::naming(FlashCode::PresetDefault, name));
    page.answer(outcome, Some(id), None).await
}

#[post("/presets/<id>/delete", data = "<_form>")]
pub async fn delete(
    page: PresetsContext<'_>,
    id: PresetId,
    _form: Csrf<TokenOnlyForm>,
) -> Result<Redirected, (Status, PresetsPage)> {
    let outcome = presets::delete(page.db, page.user_id(), id)
        .await
        .map(|name| Flash::naming(FlashCode::PresetDeleted, name));
    page.answer(outcome, Some(id), None).await
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
