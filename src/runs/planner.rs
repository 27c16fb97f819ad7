//! The one way a request becomes a run. Every face (the quick form, `/query`, its stream, the
//! dashboard's run buttons, `POST /api/balance`) says what it was given in a [`RunAsk`]; the
//! planner applies the same rules to all of them and answers with a ready [`PlannedRun`] or one
//! [`PlanError`], so the same mistake gets the same answer everywhere.
//!
//! The rules, in order:
//! 1. What was typed wins over a selection: a pasted key over a saved one, typed models over a
//!    preset. Typing is the more deliberate act, and charging another key by surprise is worse.
//! 2. Saved keys and presets belong to a signed-in user (or a token holder); another user's id
//!    is simply not found.
//! 3. Models are checked before the key, so a form with both wrong says what to fix first
//!    without touching the vault.
//! 4. A database failure is `Unavailable`, never "not found".

use crate::crypto::ApiSecret;
use crate::db::presets::{self, Preset};
use crate::db::{Db, DbError};
use crate::ids::{KeyId, PresetId, UserId};
use crate::keyring::{KeyError, Keyring, OpenedKey};
use crate::modelscope::{BatchError, InvalidModel, ModelEntry, Site, prepare_models};
use crate::runs::history::{RunOrigin, Source};

/// A saved key or preset, named by its id or by its label / name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Named<Id> {
    Id(Id),
    Name(String),
}

/// Everything a request named, as given. Empty strings and lists mean "not given".
#[derive(Debug, Default)]
pub struct RunAsk {
    /// The signed-in user or token holder; `None` for an anonymous caller.
    pub user: Option<UserId>,
    pub pasted_key: Option<String>,
    /// The site a pasted key belongs to (China when not said); a saved key knows its own.
    pub site: Option<Site>,
    pub saved_key: Option<Named<KeyId>>,
    /// Model ids as typed, already split (see `modelscope::split_model_text`).
    pub models: Vec<String>,
    pub preset: Option<Named<PresetId>>,
    /// A free check: the balance alone is an answer, so no model is needed.
    pub check_only: bool,
}

/// A run ready to go: the key in memory, the checked models, and what they came from.
#[derive(Debug)]
pub struct PlannedRun {
    pub key: ApiSecret,
    pub site: Site,
    pub entries: Vec<ModelEntry>,
    /// The saved key used, with its label; `None` for a pasted key.
    pub saved_key: Option<(KeyId, String)>,
    /// The preset used, with its name; `None` for typed models.
    pub preset: Option<(PresetId, String)>,
}

impl PlannedRun {
    /// Who ran it and with what, for the stored run.
    pub fn origin(&self, user_id: UserId, source: Source) -> RunOrigin {
        let (api_key_id, key_label) = self
            .saved_key
            .clone()
            .map_or((None, None), |(id, label)| (Some(id), Some(label)));
        let (preset_id, preset_name) = self
            .preset
            .clone()
            .map_or((None, None), |(id, name)| (Some(id), Some(name)));
        RunOrigin {
            user_id,
            api_key_id,
            key_label,
            preset_id,
            preset_name,
            source,
        }
    }

    /// The key is not shaped like a ModelScope token (`ms-` and a UUID): it is tried all the
    /// same, and the answer says what ModelScope's tokens look like.
    pub fn key_is_unusual(&self) -> bool {
        !crate::keyring::is_token_shape(self.key.expose())
    }

    /// The model ids in input order, valid or not.
    pub fn model_ids(&self) -> Vec<String> {
        self.entries.iter().map(|e| e.id().to_owned()).collect()
    }
}

/// Why a request cannot become a run. Each face maps it once to its own words and status.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("no key given")]
    MissingKey,
    #[error("a key is 8 to 200 printable ASCII characters without spaces")]
    BadKey,
    #[error("saved keys and presets need a signed-in user or an access token")]
    SignInRequired,
    #[error("no such saved key")]
    KeyNotFound,
    #[error("the saved key cannot be opened; enter it again")]
    KeyNeedsReentry,
    #[error("no such preset")]
    PresetNotFound,
    #[error("the preset has no models")]
    EmptyPreset,
    #[error("no model given")]
    NoModels,
    #[error("{count} models given, at most {max} are allowed per query")]
    TooManyModels { count: usize, max: usize },
    /// Every id was refused, each with its reason, in the order typed.
    #[error("no valid model id")]
    NoValidModels(Vec<(String, InvalidModel)>),
    #[error("the database is unavailable: {0}")]
    Unavailable(DbError),
}

impl From<DbError> for PlanError {
    fn from(error: DbError) -> Self {
        Self::Unavailable(error)
    }
}

/// The planner: the saved keys and presets it may look up, and the per-query model limit.
#[derive(Clone)]
pub struct Planner {
    db: Db,
    keyring: Keyring,
    max_models: usize,
}

impl Planner {
    pub fn new(db: Db, keyring: Keyring, max_models: usize) -> Self {
        Self {
            db,
            keyring,
            max_models,
        }
    }

    pub fn max_models(&self) -> usize {
        self.max_models
    }

    pub async fn plan(&self, ask: RunAsk) -> Result<PlannedRun, PlanError> {
        let pasted = ask
            .pasted_key
            .as_deref()
            .map(str::trim)
            .filter(|key| !key.is_empty());
        let typed: Vec<&str> = ask
            .models
            .iter()
            .map(|id| id.trim())
            .filter(|id| !id.is_empty())
            .collect();
        // The selections that will actually be used (rule 1).
        let saved_key = ask.saved_key.filter(|_| pasted.is_none());
        let preset = ask.preset.filter(|_| typed.is_empty());
        if ask.user.is_none() && (saved_key.is_some() || preset.is_some()) {
            return Err(PlanError::SignInRequired);
        }

        let (entries, preset) = match (preset, ask.user) {
            (Some(named), Some(user)) => {
                let preset = self.find_preset(user, named).await?;
                if preset.models.is_empty() {
                    return Err(PlanError::EmptyPreset);
                }
                let entries = self.check_models(preset.models.iter().map(String::as_str))?;
                (entries, Some((preset.id, preset.name)))
            }
            _ if typed.is_empty() && ask.check_only => (Vec::new(), None),
            _ => (self.check_models(typed)?, None),
        };

        let (key, site, saved_key) = match (pasted, saved_key, ask.user) {
            (Some(pasted), _, _) => (
                check_pasted_key(pasted)?,
                ask.site.unwrap_or_default(),
                None,
            ),
            (None, Some(named), Some(user)) => {
                let (id, opened) = self.open_key(user, named).await?;
                (opened.secret, opened.site, Some((id, opened.label)))
            }
            _ => return Err(PlanError::MissingKey),
        };
        Ok(PlannedRun {
            key,
            site,
            entries,
            saved_key,
            preset,
        })
    }

    fn check_models<'a>(
        &self,
        ids: impl IntoIterator<Item = &'a str>,
    ) -> Result<Vec<ModelEntry>, PlanError> {
        let entries = prepare_models(ids, self.max_models).map_err(|error| match error {
            BatchError::Empty => PlanError::NoModels,
            BatchError::TooMany { count, max } => PlanError::TooManyModels { count, max },
        })?;
        let refused: Vec<(String, InvalidModel)> = entries
            .iter()
            .filter_map(|entry| match entry {
                ModelEntry::Invalid { id, reason } => Some((id.clone(), *reason)),
                ModelEntry::Valid(_) => None,
            })
            .collect();
        if refused.len() == entries.len() {
            return Err(PlanError::NoValidModels(refused));
        }
        Ok(entries)
    }

    async fn find_preset(&self, user: UserId, named: Named<PresetId>) -> Result<Preset, PlanError> {
        let found = self
            .db
            .run(move |conn| match named {
                Named::Id(id) => presets::get_for_user(conn, user, id),
                Named::Name(name) => presets::find_by_name(conn, user, &name),
            })
            .await?;
        found.ok_or(PlanError::PresetNotFound)
    }

    async fn open_key(
        &self,
        user: UserId,
        named: Named<KeyId>,
    ) -> Result<(KeyId, OpenedKey), PlanError> {
        let id = match named {
            Named::Id(id) => id,
            Named::Name(label) => self
                .keyring
                .find_id_by_label(user, &label)
                .await
                .map_err(key_error)?
                .ok_or(PlanError::KeyNotFound)?,
        };
        let opened = self.keyring.open(user, id).await.map_err(key_error)?;
        Ok((id, opened))
    }
}

fn key_error(error: KeyError) -> PlanError {
    match error {
        KeyError::NeedsReentry => PlanError::KeyNeedsReentry,
        KeyError::Db(error) => PlanError::Unavailable(error),
        _ => PlanError::KeyNotFound,
    }
}

/// A pasted key must be one the upstream may accept (printable ASCII without spaces, 8 to 200
/// characters, as `/keys` saves them): anything else is said here instead of costing an
/// upstream call.
fn check_pasted_key(key: &str) -> Result<ApiSecret, PlanError> {
    crate::keyring::check_key_shape(key).map_err(|_| PlanError::BadKey)
}
