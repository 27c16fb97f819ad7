//! Help with model ids on the pages: the ids a model field suggests, and "did you mean …?"
//! for a typed id that is close to a known one. Its fix works without JavaScript: a submit
//! button of the same form whose value is the models text with each near miss replaced
//! (`use_models`), and, when every typed id is well formed, one that runs them as typed
//! (`as_typed`).

use rocket::http::Status;
use rocket::request::{self, FromRequest, Request};

use super::notice::{Notice, NoticeCode};
use super::problem::Problem;
use super::session::signed_in;
use crate::db::Db;
use crate::ids::UserId;
use crate::known_models::{KnownModels, NearMiss};
use crate::modelscope::{Catalogue, split_model_text, validate_model_id};
use crate::runs::planner::{PlanError, PlannedRun};

/// What a page needs to help with model ids: the store, the catalogue and who is asking.
pub struct ModelHelp<'r> {
    db: &'r Db,
    catalogue: &'r Catalogue,
    user: Option<UserId>,
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for ModelHelp<'r> {
    type Error = ();

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, ()> {
        let user = signed_in(request).await.map(|user| user.user_id);
        let rocket = request.rocket();
        match (rocket.state::<Db>(), rocket.state::<Catalogue>()) {
            (Some(db), Some(catalogue)) => request::Outcome::Success(Self {
                db,
                catalogue,
                user,
            }),
            _ => request::Outcome::Error((Status::InternalServerError, ())),
        }
    }
}

impl ModelHelp<'_> {
    /// The ids to suggest: the user's own first, then the catalogue.
    pub async fn known(&self) -> KnownModels {
        KnownModels::of(self.db, self.catalogue, self.user).await
    }

    /// "Did you mean …?" for `text` (a models field), unless the user asked to run it as
    /// typed or nothing in it is a near miss.
    pub async fn check(&self, text: &str, as_typed: bool) -> Option<DidYouMean> {
        if as_typed || split_model_text(text).all(|id| id.trim().is_empty()) {
            return None;
        }
        DidYouMean::of(&self.known().await, text)
    }

    /// [`Self::check`] for a run form whose plan is `planned`: asked only when the run would
    /// go, or when its models are what was refused (a missing key is said first).
    pub async fn check_run(
        &self,
        planned: &Result<PlannedRun, PlanError>,
        text: &str,
        as_typed: bool,
    ) -> Option<DidYouMean> {
        match planned {
            Ok(_) | Err(PlanError::NoValidModels(_)) => self.check(text, as_typed).await,
            Err(_) => None,
        }
    }
}

/// Near misses in a models field, and the field as it would read fixed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DidYouMean {
    pub misses: Vec<NearMiss>,
    /// Every typed id in order, each near miss replaced by the id it meant, one a line.
    pub fixed: String,
    /// Every near miss is a well-formed id, so it may be run as typed (an id the catalogue
    /// does not list yet is still the user's to try).
    pub as_typed: bool,
}

impl DidYouMean {
    pub fn of(known: &KnownModels, text: &str) -> Option<Self> {
        let misses = known.near_misses(split_model_text(text));
        if misses.is_empty() {
            return None;
        }
        let fixed = split_model_text(text)
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .map(|id| {
                misses
                    .iter()
                    .find(|miss| miss.typed == id)
                    .map_or(id, |miss| miss.meant.as_str())
            })
            .collect::<Vec<_>>()
            .join("\n");
        let as_typed = misses
            .iter()
            .all(|miss| validate_model_id(&miss.typed).is_ok());
        Some(Self {
            misses,
            fixed,
            as_typed,
        })
    }

    /// The refusal it is: 422, about the models field.
    pub fn problem() -> Problem {
        Problem {
            status: Status::UnprocessableEntity,
            notice: Notice::new(NoticeCode::DidYouMean).on("models"),
        }
    }

    /// The one id meant, when there is exactly one near miss (the button names it).
    pub fn only(&self) -> Option<&str> {
        match self.misses.as_slice() {
            [one] => Some(&one.meant),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fix_replaces_each_near_miss_and_keeps_the_rest() {
        let known = KnownModels::from_parts(
            Vec::new(),
            vec!["ZhipuAI/GLM-4.7".into(), "Qwen/Qwen2.5-72B-Instruct".into()],
        );
        let help = DidYouMean::of(&known, "glm-4.7, my/own-model\nqwen/qwen2.5-72b-instruct")
            .expect("near misses");
        assert_eq!(
            help.fixed,
            "ZhipuAI/GLM-4.7\nmy/own-model\nQwen/Qwen2.5-72B-Instruct"
        );
        assert_eq!(help.misses.len(), 2);
        assert!(
            !help.as_typed,
            "glm-4.7 has no owner: it cannot run as typed"
        );
        assert_eq!(help.only(), None);

        let one = DidYouMean::of(&known, "zhipuai/glm-4.7").expect("a near miss");
        assert!(one.as_typed);
        assert_eq!(one.only(), Some("ZhipuAI/GLM-4.7"));
        assert_eq!(DidYouMean::of(&known, "ZhipuAI/GLM-4.7 other/id"), None);
    }
}
