//! The model ids a user may mean: their own (the latest answers of their keys, their presets'
//! models), then the public catalogue. Model fields suggest them, and a typed id that is none
//! of them but close to one gets "did you mean …?". No web types here.

use std::collections::HashSet;

use crate::db::{Db, known_models};
use crate::ids::UserId;
use crate::modelscope::{Catalogue, near_miss, validate_model_id};

/// The most of a user's own ids offered (the newest first).
pub const MAX_OWN: usize = 200;

/// A typed id and the known id it most likely meant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NearMiss {
    pub typed: String,
    pub meant: String,
}

/// Known ids, the user's own first, each once.
#[derive(Debug, Clone, Default)]
pub struct KnownModels {
    ids: Vec<String>,
    own: usize,
}

impl KnownModels {
    /// What `user` (if signed in) has used, then the catalogue. Both are optional help: a
    /// failed read is logged and leaves that part out.
    pub async fn of(db: &Db, catalogue: &Catalogue, user: Option<UserId>) -> Self {
        let own = match user {
            Some(user) => db
                .run(move |conn| known_models::used_by(conn, user, MAX_OWN))
                .await
                .unwrap_or_else(|error| {
                    tracing::warn!(%error, "reading the user's model ids failed");
                    Vec::new()
                }),
            None => Vec::new(),
        };
        Self::from_parts(own, catalogue.model_ids().await)
    }

    /// `own` (valid ids only) then `catalogue`, without repeats.
    pub fn from_parts(own: Vec<String>, catalogue: Vec<String>) -> Self {
        let mut seen = HashSet::new();
        let own: Vec<String> = own
            .into_iter()
            .filter(|id| validate_model_id(id).is_ok() && seen.insert(id.clone()))
            .collect();
        let count = own.len();
        let mut ids = own;
        ids.extend(catalogue.into_iter().filter(|id| seen.insert(id.clone())));
        Self { ids, own: count }
    }

    /// Every known id, the user's own first.
    pub fn ids(&self) -> &[String] {
        &self.ids
    }

    /// How many of [`Self::ids`] are the user's own.
    pub fn own_count(&self) -> usize {
        self.own
    }

    /// The typed ids (in order, each once) that are unknown but close to a known id.
    pub fn near_misses<'a>(&self, typed: impl IntoIterator<Item = &'a str>) -> Vec<NearMiss> {
        let mut seen = HashSet::new();
        typed
            .into_iter()
            .map(str::trim)
            .filter(|id| !id.is_empty() && seen.insert(*id))
            .filter_map(|id| {
                near_miss(id, &self.ids).map(|meant| NearMiss {
                    typed: id.to_owned(),
                    meant: meant.to_owned(),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_ids_come_first_once_and_only_valid() {
        let known = KnownModels::from_parts(
            vec!["b/own".into(), "not an id".into(), "a/both".into()],
            vec!["a/both".into(), "c/cat".into()],
        );
        assert_eq!(known.ids(), ["b/own", "a/both", "c/cat"]);
        assert_eq!(known.own_count(), 2);
    }

    #[test]
    fn near_misses_in_typed_order_once_each() {
        let known = KnownModels::from_parts(Vec::new(), vec!["ZhipuAI/GLM-4.7".into()]);
        let misses = known.near_misses(["glm-4.7", "ZhipuAI/GLM-4.7", "a/b", "glm-4.7"]);
        assert_eq!(
            misses,
            [NearMiss {
                typed: "glm-4.7".into(),
                meant: "ZhipuAI/GLM-4.7".into()
            }]
        );
    }
}
