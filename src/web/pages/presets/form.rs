//! The create and edit form of a preset: what it posts, checked, and what was typed to show
//! again with an error or a "did you mean".

use rocket::form::FromForm;

use crate::known_models::KnownModels;
use crate::presets::{self, PresetError};
use crate::web::kit::csrf::csrf_form;
use crate::web::kit::model_help::DidYouMean;
use crate::web::kit::notice::{Flash, FlashCode};

/// The values of a create or edit form.
#[derive(Default)]
pub struct PresetFields {
    pub name: String,
    pub models: String,
    pub add_model: String,
    pub is_default: bool,
}

#[derive(Debug, FromForm)]
pub struct PresetForm {
    name: Option<String>,
    models: Option<String>,
    add_model: Option<String>,
    is_default: Option<String>,
    /// The "did you mean" fix: the whole list, near misses replaced.
    use_models: Option<String>,
    /// Save the typed ids as typed, near misses and all.
    as_typed: Option<String>,
    csrf_token: Option<String>,
}

csrf_form!(PresetForm);

impl PresetForm {
    /// A checkbox is sent only when ticked; any value but an explicit "no" means ticked.
    pub(super) fn is_default(&self) -> bool {
        self.is_default.as_deref().is_some_and(|value| {
            !matches!(
                value.trim().to_ascii_lowercase().as_str(),
                "" | "0" | "false" | "off" | "no"
            )
        })
    }

    /// The models field and the "add a model" box, or the "did you mean" fix in their place.
    fn models_and_extra(&self) -> (&str, Option<&str>) {
        match self.use_models.as_deref() {
            Some(fixed) => (fixed, None),
            None => (
                self.models.as_deref().unwrap_or(""),
                self.add_model.as_deref(),
            ),
        }
    }

    pub(super) fn check(&self, max_models: usize) -> Result<presets::CheckedPreset, PresetError> {
        let (models, extra) = self.models_and_extra();
        let extra: Vec<&str> = extra.into_iter().collect();
        presets::check(
            self.name.as_deref().unwrap_or(""),
            models,
            &extra,
            max_models,
        )
    }

    /// "Did you mean …?" for what was typed, unless it was asked to be saved as typed: when
    /// the form would save, or when its ids are what was refused.
    pub(super) fn did_you_mean(
        &self,
        known: &KnownModels,
        checked: &Result<presets::CheckedPreset, PresetError>,
    ) -> Option<DidYouMean> {
        let as_typed = self
            .as_typed
            .as_deref()
            .is_some_and(|v| !v.trim().is_empty());
        let (models, extra) = self.models_and_extra();
        match checked {
            Ok(_) | Err(PresetError::InvalidModels(_)) if !as_typed => {
                DidYouMean::of(known, &format!("{models}\n{}", extra.unwrap_or("")))
            }
            _ => None,
        }
    }

    /// What was typed, to show again with the error.
    pub(super) fn fields(&self) -> PresetFields {
        let (models, extra) = self.models_and_extra();
        PresetFields {
            // Cut like every other echoed name, so a 10,000-character one is not sent back whole.
            name: crate::names::echo_name(self.name.as_deref().unwrap_or("")),
            models: models.to_owned(),
            add_model: extra.unwrap_or("").to_owned(),
            is_default: self.is_default(),
        }
    }
}

/// The notice naming the preset just saved (its name as the form gave it, checked).
pub(super) fn saved(form: &PresetForm) -> Flash {
    let name = crate::names::echo_name(form.name.as_deref().unwrap_or(""));
    Flash::naming(FlashCode::PresetSaved, name)
}
