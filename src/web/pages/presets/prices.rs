//! The price table on `/presets`: every model of the user's presets with what a call costs, how
//! that is known (measured, inferred, set), the prices it may still have, and its latest price
//! change, and `POST /prices`, which saves the table's settings (this user's only) in one go.
//! The price census form beside it posts to `/query` with `measure_prices`.

use rocket::form::FromForm;
use rocket::http::Status;
use rocket::post;

use super::{PresetsContext, PresetsPage};
use crate::clock;
use crate::db::Db;
use crate::db::presets::Preset;
use crate::ids::UserId;
use crate::modelscope::{BUILT_IN_TIERS, PriceSource, Tiers};
use crate::runs::prices::{self, Known};
use crate::web::kit::csrf::{Csrf, csrf_form};
use crate::web::kit::notice::{Flash, FlashCode, Redirected};
use crate::web::kit::problem::Problem;
use crate::web::kit::view::points;

/// One model's price, as the table shows it.
pub struct PriceRow {
    pub model: String,
    /// `2`, `1`, `0.5`, `0.2` (or a measured price of no tier), or `None` when unknown.
    pub points: Option<String>,
    /// `None` when unknown.
    pub source: Option<PriceSource>,
    /// While unknown: the prices it may still have (`1 / 2`), when runs narrowed them.
    pub candidates: Option<String>,
    /// Its latest price change: from, to, when.
    pub change: Option<(String, String, String)>,
}

/// The tiers a select offers, as text (`2`, `1`, `0.5`, `0.2`).
pub fn tier_options() -> Vec<String> {
    Tiers::default()
        .prices()
        .iter()
        .rev()
        .map(|tier| points(*tier))
        .collect()
}

/// The distinct models of `presets`, in order, with what is known of their prices (also
/// returned, for the census costs). A failed read leaves every price unknown; it is logged.
pub async fn price_rows(db: &Db, user: UserId, presets: &[Preset]) -> (Vec<PriceRow>, Known) {
    let mut models: Vec<String> = Vec::new();
    for model in presets.iter().flat_map(|p| p.models.iter()) {
        if !models.contains(model) {
            models.push(model.clone());
        }
    }
    let known = prices::known_for(db, Some(user), models.clone())
        .await
        .unwrap_or_else(|error| {
            tracing::warn!(%error, "reading model prices failed");
            Known::default()
        });
    let changes = prices::latest_changes(db, user, models.clone())
        .await
        .unwrap_or_else(|error| {
            tracing::warn!(%error, "reading price changes failed");
            Default::default()
        });
    let rows = models
        .into_iter()
        .map(|model| {
            let price = known.price(&model);
            PriceRow {
                points: price.map(|p| points(p.points)),
                source: price.map(|p| p.source),
                candidates: known
                    .candidates
                    .get(&model)
                    .filter(|c| c.len() < BUILT_IN_TIERS.len())
                    .map(|c| c.iter().map(|p| points(*p)).collect::<Vec<_>>().join(" / ")),
                change: changes.get(&model).map(|c| {
                    (
                        points(c.old_points),
                        points(c.new_points),
                        clock::minutes(c.changed_at),
                    )
                }),
                model,
            }
        })
        .collect();
    (rows, known)
}

/// The rows of a price form whose setting changed, as (model, price or `None` to forget): a
/// row without a `was` counts as changed. Not a number is not a tier either: it goes on as
/// NaN so the domain refuses it in its words; rows that do not pair up are no price table.
pub fn changed_rows(
    models: &[String],
    points: &[String],
    was: &[String],
) -> Result<Vec<(String, Option<f64>)>, prices::PriceError> {
    if models.len() != points.len() || models.is_empty() {
        return Err(prices::PriceError::BadModel);
    }
    Ok(models
        .iter()
        .zip(points)
        .enumerate()
        .filter(|(at, (_, points))| was.get(*at).is_none_or(|was| was.trim() != points.trim()))
        .map(|(_, (model, points))| {
            let points = points.trim();
            let price = (!points.is_empty()).then(|| points.parse::<f64>().unwrap_or(f64::NAN));
            (model.trim().to_owned(), price)
        })
        .collect())
}

/// The price table: one row per model, each with its setting, saved at once. `was` is each
/// row's setting when the page was shown, so only the rows changed are written.
#[derive(Debug, FromForm)]
pub struct PriceForm {
    model: Vec<String>,
    /// `0.5`, `1`, `2`, or empty to forget the setting.
    points: Vec<String>,
    was: Vec<String>,
    csrf_token: Option<String>,
}

csrf_form!(PriceForm);

/// Sets (or, with an empty `points`, forgets) the user's own price of each model whose
/// setting changed, all at once (a bad row saves nothing).
#[post("/prices", data = "<form>")]
pub async fn set_price(
    page: PresetsContext<'_>,
    form: Csrf<PriceForm>,
) -> Result<Redirected, (Status, PresetsPage)> {
    let form = form.0;
    let saved = match changed_rows(&form.model, &form.points, &form.was) {
        Ok(rows) => {
            let count = rows.len();
            let first = rows.first().map(|(model, _)| model.clone());
            prices::set_prices(page.db, page.user_id(), rows)
                .await
                .map(|()| (count, first))
        }
        Err(error) => Err(error),
    };
    match saved {
        Ok((count, first)) => Ok(match (count, first) {
            (1, Some(model)) => Flash::naming(FlashCode::PriceSaved, model),
            (0, _) => Flash::new(FlashCode::PricesUnchanged),
            (count, _) => Flash::naming(FlashCode::PricesSaved, count.to_string()),
        }
        .redirect("/presets#prices")),
        Err(error) => {
            let Problem { status, notice } = Problem::price(&error);
            let mut shown = page.page().await?;
            shown.price_error = Some(notice);
            Err((status, shown))
        }
    }
}
