//! The prices an admin sets on `/admin` for every user (below each user's own).

use rocket::form::FromForm;
use rocket::http::Status;
use rocket::{State, post};

use super::page_or_problem;
use super::view::AdminPage;
use crate::config::AppConfig;
use crate::db::Db;
use crate::runs::instance_prices;
use crate::web::kit::csrf::{Csrf, csrf_form};
use crate::web::kit::notice::{Flash, FlashCode, Redirected};
use crate::web::kit::problem::Problem;
use crate::web::kit::session::Admin;

#[derive(Debug, FromForm)]
pub struct InstancePriceForm {
    model: Option<String>,
    /// A tier, or empty to clear.
    points: Option<String>,
    csrf_token: Option<String>,
}

csrf_form!(InstancePriceForm);

#[post("/admin/prices", data = "<form>")]
pub async fn set_price(
    admin: Admin,
    form: Csrf<InstancePriceForm>,
    db: &State<Db>,
    config: &State<AppConfig>,
) -> Result<Redirected, (Status, AdminPage)> {
    let form = form.0;
    let model = form.model.unwrap_or_default().trim().to_owned();
    let points = match form.points.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => text.parse::<f64>().map(Some),
    };
    let outcome = match points {
        Ok(points) => instance_prices::set(db, admin.user().user_id, &model, points).await,
        Err(_) => Err(crate::runs::prices::PriceError::NotATier),
    };
    match outcome {
        Ok(()) => Ok(Flash::naming(FlashCode::InstancePriceSaved, model).redirect("/admin#prices")),
        Err(error) => {
            let problem = Problem::price(&error);
            let (_, mut page) = page_or_problem(&admin, db, config, 1).await;
            page.price_error = Some(problem.notice);
            page.price_model = crate::names::echo_name(&model);
            Err((problem.status, page))
        }
    }
}
