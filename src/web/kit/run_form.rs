//! The fields every form that starts a run may carry (the quick form, `/query`, the
//! dashboard's run buttons), turned into what the planner asks for.

use rocket::form::FromForm;

use super::csrf::csrf_form;
use super::params::choice;
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

    /// A probe run unless the free check was asked for.
    pub fn kind(&self) -> RunKind {
        match self.probe.as_deref().map(str::trim) {
            Some("false" | "0" | "no" | "off") => RunKind::Check,
            _ => RunKind::Probe,
        }
    }

    pub fn ask(&self, user: Option<UserId>) -> RunAsk {
        RunAsk {
            user,
            pasted_key: self.api_key.clone(),
            site: choice::<Site>(self.site.as_deref()),
            saved_key: self.key_id().map(Named::Id),
            models: split_model_text(self.models.as_deref().unwrap_or(""))
                .map(str::to_owned)
                .collect(),
            preset: self.preset_id().map(Named::Id),
            check_only: self.kind() == RunKind::Check,
        }
    }
}
