//! The fields every form that starts a run may carry (the quick form, `/query`, the
//! dashboard's run buttons), turned into what the planner asks for.

use rocket::form::FromForm;

use super::csrf::csrf_form;
use super::params::choice;
use super::problem::Problem;
use crate::ids::{KeyId, PresetId, UserId};
use crate::modelscope::{Site, split_model_text};
use crate::runs::history::RunKind;
use crate::runs::planner::{Named, RunAsk};

#[derive(Debug, Default, FromForm)]
pub struct RunForm {
    pub api_key: Option<String>,
    pub key_id: Option<String>,
    pub preset_id: Option<String>,
    pub models: Option<String>,
    /// `false` (the "free check" button): read the balance only, call no model.
    pub probe: Option<String>,
    /// `cn` or `ai`: the site of a pasted key.
    pub site: Option<String>,
    /// The "did you mean" fix: the models text with its near misses replaced (the button's
    /// value); it replaces `models`.
    pub use_models: Option<String>,
    /// Run the typed models as typed, near misses and all.
    pub as_typed: Option<String>,
    /// `true` (the "measure prices" button): a price census.
    pub measure_prices: Option<String>,
    /// A census's budget in points; empty is the whole available balance.
    pub budget: Option<String>,
    /// `dashboard` (the dashboard's run buttons): a stored run or free check goes back there,
    /// whose card then shows what it read.
    pub back: Option<String>,
    pub csrf_token: Option<String>,
}

csrf_form!(RunForm);

impl RunForm {
    /// A `<select>` value; empty or nonsense is "nothing selected".
    pub fn key_id(&self) -> Option<KeyId> {
        self.key_id.as_deref().and_then(|id| id.parse().ok())
    }

    pub fn preset_id(&self) -> Option<PresetId> {
        self.preset_id.as_deref().and_then(|id| id.parse().ok())
    }

    /// The models asked for: the "did you mean" fix when it was pressed, else as typed.
    pub fn models_text(&self) -> &str {
        self.use_models
            .as_deref()
            .or(self.models.as_deref())
            .unwrap_or("")
    }

    /// The pasted key to show again in a refused form: only a well-formed one (a malformed
    /// key is what was refused, and may hold anything), trimmed; empty otherwise.
    pub fn kept_key(&self) -> String {
        let key = self.api_key.as_deref().unwrap_or("").trim();
        if crate::keyring::check_key_shape(key).is_ok() {
            key.to_owned()
        } else {
            String::new()
        }
    }

    /// The form came from the dashboard (see `back`), with this saved key.
    pub fn dashboard_key(&self) -> Option<KeyId> {
        let back = self.back.as_deref().map(str::trim);
        self.key_id().filter(|_| back == Some("dashboard"))
    }

    /// The user chose to run the typed ids without the suggested fix.
    pub fn as_typed(&self) -> bool {
        self.as_typed
            .as_deref()
            .is_some_and(|v| !v.trim().is_empty())
    }

    /// A probe run unless the free check or a census was asked for.
    pub fn kind(&self) -> RunKind {
        if self.measure_prices.as_deref().map(str::trim) == Some("true") {
            return RunKind::Census;
        }
        match self.probe.as_deref().map(str::trim) {
            Some("false" | "0" | "no" | "off") => RunKind::Check,
            _ => RunKind::Probe,
        }
    }

    /// The run's kind and a census's budget, or why not: a census needs a signed-in user (the
    /// prices it measures are theirs) and a budget that is empty or a positive number.
    pub fn kind_and_budget(&self, signed_in: bool) -> Result<(RunKind, Option<f64>), Problem> {
        let kind = self.kind();
        if kind != RunKind::Census {
            return Ok((kind, None));
        }
        if !signed_in {
            return Err(Problem::census_sign_in());
        }
        match self
            .budget
            .as_deref()
            .map(str::trim)
            .filter(|b| !b.is_empty())
        {
            None => Ok((kind, None)),
            Some(text) => match text.parse::<f64>() {
                Ok(budget) if budget.is_finite() && budget > 0.0 && budget <= 1e9 => {
                    Ok((kind, Some(budget)))
                }
                _ => Err(Problem::bad_budget()),
            },
        }
    }

    pub fn ask(&self, user: Option<UserId>) -> RunAsk {
        RunAsk {
            user,
            pasted_key: self.api_key.clone(),
            site: choice::<Site>(self.site.as_deref()),
            saved_key: self.key_id().map(Named::Id),
            models: split_model_text(self.models_text())
                .map(str::to_owned)
                .collect(),
            preset: self.preset_id().map(Named::Id),
            check_only: self.kind() == RunKind::Check,
        }
    }
}
