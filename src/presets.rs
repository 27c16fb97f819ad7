//! Model presets: a name plus an ordered, de-duplicated list of model ids, validated exactly as
//! the query engine validates them. One preset per user may be the default. No web types here.

use crate::db::presets::{self, Preset};
use crate::db::{Db, DbError};
use crate::ids::{PresetId, UserId};
use crate::modelscope::{BatchError, ModelEntry, prepare_models, split_model_text};
use crate::names::{self, NameError};

pub use crate::names::MAX_NAME_CHARS;
pub const MAX_PRESETS_PER_USER: usize = 50;

#[derive(Debug, thiserror::Error)]
pub enum PresetError {
    #[error("the name is empty")]
    EmptyName,
    #[error("the name is too long or has control characters")]
    BadName,
    #[error("a preset of that name already exists")]
    DuplicateName,
    #[error("at most {max} presets are allowed")]
    TooManyPresets { max: usize },
    #[error("no model given")]
    NoModels,
    #[error("{count} models given, at most {max} are allowed in a preset")]
    TooManyModels { count: usize, max: usize },
    /// Every refused id, in the order typed.
    #[error("invalid model ids: {}", .0.join(", "))]
    InvalidModels(Vec<String>),
    #[error("no such preset")]
    NotFound,
    #[error(transparent)]
    Db(#[from] DbError),
}

/// What a form asks for, already checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedPreset {
    pub name: String,
    pub models: Vec<String>,
}

/// Trimmed, 1–64 characters, no control characters.
pub fn check_name(raw: &str) -> Result<String, PresetError> {
    names::check_name(raw).map_err(|error| match error {
        NameError::Empty => PresetError::EmptyName,
        NameError::Invalid => PresetError::BadName,
    })
}

/// Splits on commas, spaces and newlines, trims, drops empties and duplicates (first occurrence
/// wins, order kept) and validates every id. Refuses an empty list, more than `max` ids (after
/// de-duplication) and any invalid id, naming all of them.
pub fn parse_models<'a>(
    parts: impl IntoIterator<Item = &'a str>,
    max: usize,
) -> Result<Vec<String>, PresetError> {
    let entries = prepare_models(parts, max).map_err(|error| match error {
        BatchError::Empty => PresetError::NoModels,
        BatchError::TooMany { count, max } => PresetError::TooManyModels { count, max },
    })?;
    let invalid: Vec<String> = entries
        .iter()
        .filter(|entry| matches!(entry, ModelEntry::Invalid { .. }))
        .map(|entry| entry.id().to_owned())
        .collect();
    if !invalid.is_empty() {
        return Err(PresetError::InvalidModels(invalid));
    }
    Ok(entries
        .into_iter()
        .map(|entry| entry.id().to_owned())
        .collect())
}

/// The models field of a form (comma, space or newline separated), plus any extra ids picked
/// one at a time (the page's "add a model" box), appended in order.
pub fn parse_model_text(
    text: &str,
    extra: &[&str],
    max: usize,
) -> Result<Vec<String>, PresetError> {
    parse_models(
        split_model_text(text).chain(extra.iter().flat_map(|more| split_model_text(more))),
        max,
    )
}

/// A form's name and models field (plus ids added one at a time), checked: the name first.
pub fn check(
    name: &str,
    models_text: &str,
    extra: &[&str],
    max_models: usize,
) -> Result<CheckedPreset, PresetError> {
    Ok(CheckedPreset {
        name: check_name(name)?,
        models: parse_model_text(models_text, extra, max_models)?,
    })
}

/// The user's presets, default first, then by name.
pub async fn list(db: &Db, user_id: UserId) -> Result<Vec<Preset>, PresetError> {
    Ok(db
        .run(move |conn| presets::list_for_user(conn, user_id))
        .await?)
}

pub async fn get(db: &Db, user_id: UserId, id: PresetId) -> Result<Preset, PresetError> {
    db.run(move |conn| presets::get_for_user(conn, user_id, id))
        .await?
        .ok_or(PresetError::NotFound)
}

/// Creates a checked preset; with `is_default` it becomes the only default. The count limit,
/// the name check and the insert happen in one write transaction, so two requests at once
/// cannot pass the limit together.
pub async fn create(
    db: &Db,
    user_id: UserId,
    preset: CheckedPreset,
    is_default: bool,
) -> Result<PresetId, PresetError> {
    db.run(move |conn| {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let count = presets::count_for_user(&tx, user_id)?;
        if usize::try_from(count).unwrap_or(usize::MAX) >= MAX_PRESETS_PER_USER {
            return Ok(Err(PresetError::TooManyPresets {
                max: MAX_PRESETS_PER_USER,
            }));
        }
        let Some(id) = presets::insert(&tx, user_id, &preset.name, &preset.models)? else {
            return Ok(Err(PresetError::DuplicateName));
        };
        if is_default {
            presets::set_default(&tx, user_id, id)?;
        }
        tx.commit()?;
        Ok(Ok(id))
    })
    .await?
}

/// Renames a preset, replaces its models and sets or clears its default flag, all at once.
/// Someone else's (or a deleted) preset is `NotFound` before the input is even looked at, so
/// an id never tells anything about another user's data.
pub async fn update(
    db: &Db,
    user_id: UserId,
    id: PresetId,
    checked: Result<CheckedPreset, PresetError>,
    is_default: bool,
) -> Result<(), PresetError> {
    db.run(move |conn| {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        if presets::get_for_user(&tx, user_id, id)?.is_none() {
            return Ok(Err(PresetError::NotFound));
        }
        let preset = match checked {
            Ok(preset) => preset,
            Err(error) => return Ok(Err(error)),
        };
        if presets::find_by_name(&tx, user_id, &preset.name)?.is_some_and(|other| other.id != id) {
            return Ok(Err(PresetError::DuplicateName));
        }
        presets::update(&tx, user_id, id, &preset.name, &preset.models)?;
        if is_default {
            presets::set_default(&tx, user_id, id)?;
        } else {
            presets::clear_default(&tx, user_id, id)?;
        }
        tx.commit()?;
        Ok(Ok(()))
    })
    .await?
}

/// Makes the preset the user's only default.
/// Makes the preset the user's only default; returns its name.
pub async fn set_default(db: &Db, user_id: UserId, id: PresetId) -> Result<String, PresetError> {
    db.run(move |conn| {
        let Some(preset) = presets::get_for_user(conn, user_id, id)? else {
            return Ok(None);
        };
        presets::set_default(conn, user_id, id)?;
        Ok(Some(preset.name))
    })
    .await?
    .ok_or(PresetError::NotFound)
}

/// Deletes one of the user's presets; returns its name.
pub async fn delete(db: &Db, user_id: UserId, id: PresetId) -> Result<String, PresetError> {
    db.run(move |conn| {
        let Some(preset) = presets::get_for_user(conn, user_id, id)? else {
            return Ok(None);
        };
        presets::delete_for_user(conn, user_id, id)?;
        Ok(Some(preset.name))
    })
    .await?
    .ok_or(PresetError::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(check_name("  Daily  ").unwrap(), "Daily");
        assert!(matches!(check_name("   "), Err(PresetError::EmptyName)));
        assert!(check_name(&"名".repeat(64)).is_ok());
        assert!(matches!(
            check_name(&"名".repeat(65)),
            Err(PresetError::BadName)
        ));
        assert!(matches!(check_name("a\u{0}b"), Err(PresetError::BadName)));
        assert!(matches!(check_name("a\nb"), Err(PresetError::BadName)));
    }

    #[test]
    fn models_are_split_deduplicated_and_kept_in_order() {
        let models = parse_model_text("B/b, A/a\nB/b  C/c，A/a", &["D/d", "B/b"], 50).unwrap();
        assert_eq!(models, ["B/b", "A/a", "C/c", "D/d"]);
    }

    #[test]
    fn every_invalid_id_is_named() {
        let error = parse_model_text("A/a, <script>, bad, A/a", &[], 50).unwrap_err();
        let PresetError::InvalidModels(ids) = error else {
            panic!("{error:?}")
        };
        assert_eq!(ids, ["<script>", "bad"]);
    }

    #[test]
    fn empty_and_too_many_are_refused() {
        assert!(matches!(
            parse_model_text(" ,\n ", &[""], 50),
            Err(PresetError::NoModels)
        ));
        let many: Vec<String> = (0..51).map(|i| format!("o/m{i}")).collect();
        assert!(matches!(
            parse_model_text(&many.join(","), &[], 50),
            Err(PresetError::TooManyModels { count: 51, max: 50 })
        ));
        assert_eq!(
            parse_model_text(&many[..50].join(","), &[], 50)
                .unwrap()
                .len(),
            50
        );
    }
}
