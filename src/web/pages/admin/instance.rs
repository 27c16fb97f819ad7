//! The prices an admin sets on `/admin` for every user (below each user's own).

use rocket::form::FromForm;
use rocket::post;

use super::desk::{Answer, Desk, Place};
use crate::runs::instance_prices;
use crate::web::kit::csrf::{Csrf, csrf_form};
use crate::web::kit::notice::{Flash, FlashCode};
use crate::web::kit::problem::Problem;

#[derive(Debug, FromForm)]
pub struct InstancePriceForm {
    model: Option<String>,
    /// A tier, or empty to clear.
    points: Option<String>,
    csrf_token: Option<String>,
}

csrf_form!(InstancePriceForm);

#[post("/admin/prices", data = "<form>")]
pub async fn set_price(desk: Desk<'_>, form: Csrf<InstancePriceForm>) -> Answer {
    let form = form.0;
    let model = form.model.unwrap_or_default().trim().to_owned();
    let points = match form.points.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => text.parse::<f64>().map(Some),
    };
    let outcome = match points {
        Ok(points) => instance_prices::set(desk.db, desk.user_id(), &model, points).await,
        Err(_) => Err(crate::runs::prices::PriceError::NotATier),
    };
    match outcome {
        Ok(()) => Ok(Flash::naming(FlashCode::InstancePriceSaved, model).redirect("/admin#prices")),
        Err(error) => {
            let problem = Problem::price(&error);
            let (status, mut page) = desk
                .refused(problem.status, problem.notice, Place::Prices)
                .await;
            page.price_model = crate::names::echo_name(&model);
            Err((status, page))
        }
    }
}
