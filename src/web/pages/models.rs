//! `GET /models/suggestions`: the model ids a model field suggests, as JSON, for
//! `assets/models.js` (which loads it the first time a model field is focused, so no page
//! carries the list inline). The user's own ids first (signed in), then the catalogue.

use rocket::get;
use rocket::http::Header;
use rocket::serde::json::Json;
use serde::Serialize;

use crate::web::kit::model_help::ModelHelp;

#[derive(Serialize)]
pub struct Suggestions {
    /// Every id, the user's own first.
    models: Vec<String>,
    /// How many of `models` are the user's own (the script lists them first when filtering).
    own: usize,
}

#[derive(rocket::Responder)]
pub struct Cached {
    body: Json<Suggestions>,
    /// A page's fields share one fetch; a user's list is theirs alone (`private`), and a few
    /// minutes old is fresh enough for a suggestion.
    cache: Header<'static>,
}

#[get("/models/suggestions")]
pub async fn suggestions(help: ModelHelp<'_>) -> Cached {
    let known = help.known().await;
    Cached {
        body: Json(Suggestions {
            own: known.own_count(),
            models: known.ids().to_vec(),
        }),
        cache: Header::new("Cache-Control", "private, max-age=300"),
    }
}

pub fn routes() -> Vec<rocket::Route> {
    rocket::routes![suggestions]
}
