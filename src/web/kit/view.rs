//! What templates see: plain, display-ready values built from domain types.
//! Words belong to the templates; this only shapes numbers and codes.

use super::notice::{Flash, Notice};
use super::status::ResultStatus;
use crate::db::Db;
use crate::db::presets::Preset;
use crate::i18n::{self, Lang, ToArg};
use crate::ids::{KeyId, PresetId, UserId};
use crate::keyring::{KeySummary, Keyring};
use crate::modelscope::{AccountBalance, BalanceError, Failure, Site, Tiers};
use crate::runs::calls_left::ExpectedCost;
use crate::runs::prices::{self, Known};

/// Shown where a number is unknown (upstream sent no usable header).
const UNKNOWN: &str = "—";

/// Everything `base.html` needs.
pub struct Layout {
    pub user: Option<UserChrome>,
    /// Every form on the page carries it (the session's, or the signed-out cookie's).
    pub csrf_token: String,
    /// The confirmation of the action that redirected here; templates say it in words.
    pub flash: Option<Flash>,
    pub asset_version: &'static str,
    pub lang: Lang,
    /// The page's own address (the language switch comes back to it; a POST's page goes to
    /// its path, where a GET shows the form again).
    pub here: String,
}

pub struct UserChrome {
    pub username: String,
    /// Shows the admin link.
    pub is_admin: bool,
}

impl Layout {
    pub fn new(user: Option<UserChrome>, csrf_token: String, lang: Lang) -> Self {
        Self {
            user,
            csrf_token,
            flash: None,
            asset_version: env!("CARGO_PKG_VERSION"),
            lang,
            here: "/".to_owned(),
        }
    }

    pub fn at(mut self, here: &str) -> Self {
        self.here = here.to_owned();
        self
    }

    /// Whether the nav item for `prefix` is the current page (`aria-current`).
    pub fn is_current(&self, prefix: &str) -> bool {
        let path = self.here.split('?').next().unwrap_or("");
        if prefix == "/" {
            path == "/"
        } else {
            path == prefix || path.starts_with(&format!("{prefix}/"))
        }
    }

    /// The message `id` in the page's language (`locales/<lang>/*.ftl`).
    pub fn t(&self, id: &str) -> String {
        i18n::text(self.lang, id)
    }

    /// The words of a value from a closed set: the message `<prefix>-<value>` (`kind-email`).
    pub fn word(&self, prefix: &str, value: impl std::fmt::Display) -> String {
        i18n::text(self.lang, &format!("{prefix}-{value}"))
    }

    /// The message `id` with one variable filled in (a number picks the plural form).
    pub fn t1(&self, id: &str, name: &'static str, value: impl ToArg) -> String {
        i18n::text_with(self.lang, id, &[(name, value.to_arg())])
    }

    /// The message `id` with a count filled in (the count picks the plural form).
    pub fn tn(&self, id: &str, name: &'static str, count: impl ToArg) -> String {
        self.t1(id, name, count)
    }

    /// The message `id` with two variables filled in.
    pub fn t2(
        &self,
        id: &str,
        first: &'static str,
        a: impl ToArg,
        second: &'static str,
        b: impl ToArg,
    ) -> String {
        i18n::text_with(self.lang, id, &[(first, a.to_arg()), (second, b.to_arg())])
    }

    /// The message `id` with three variables filled in, each a `(name, value)` pair.
    pub fn t3(
        &self,
        id: &str,
        (first, a): &(&'static str, impl ToArg),
        (second, b): &(&'static str, impl ToArg),
        (third, c): &(&'static str, impl ToArg),
    ) -> String {
        i18n::text_with(
            self.lang,
            id,
            &[
                (*first, a.to_arg()),
                (*second, b.to_arg()),
                (*third, c.to_arg()),
            ],
        )
    }

    /// A notice's words: `notice-<code>` with its values filled in.
    pub fn notice(&self, notice: &Notice) -> String {
        // `$name` is always given: a message may name it in a branch its notice never takes.
        let mut args = vec![("n", notice.n.into()), ("name", "".into())];
        let named = notice
            .args
            .iter()
            .map(|(name, value)| (*name, value.into()));
        args.extend(named);
        i18n::text_with(self.lang, &format!("notice-{}", notice.code), &args)
    }

    /// A confirmation's words: `flash-<code>`, naming what it was done to.
    pub fn flash_words(&self, flash: &Flash) -> String {
        let name = flash.name.as_deref().unwrap_or("");
        i18n::text_with(
            self.lang,
            &format!("flash-{}", flash.code),
            &[("name", name.into())],
        )
    }

    /// Every status a finished row can have, for pages that render each badge once (the live
    /// results), and the one a live row has until its answer comes.
    pub fn statuses(&self) -> Vec<ResultStatus> {
        ResultStatus::finished().collect()
    }

    pub fn pending(&self) -> ResultStatus {
        ResultStatus::Pending
    }

    /// A price tier's name: flagship 2, mainstream 1, light 0.5, discount 0.2; any other price
    /// (a site's rates table may have its own) by its number alone.
    pub fn tier_name(&self, price: &str) -> String {
        let id = match price {
            "2" => "tier-flagship",
            "1" => "tier-mainstream",
            "0.5" => "tier-light",
            "0.2" => "tier-discount",
            _ => "tier-other",
        };
        self.t1(id, "price", price)
    }

    /// Where a model's trend is, for a signed-in user and a valid model id (stored runs can
    /// hold ids that are not, which get no link).
    pub fn trend_href(&self, model: &str) -> Option<String> {
        let valid = crate::modelscope::validate_model_id(model).is_ok();
        (self.user.is_some() && valid).then(|| format!("/history/model/{model}"))
    }

    /// Whether `error` is about the form field `field` (`aria-invalid` + `aria-describedby`).
    pub fn invalid(&self, error: Option<&Notice>, field: &str) -> bool {
        error.is_some_and(|notice| notice.is_on(field))
    }

    /// Where `error`'s words are (`messages.html` gives them the id `<this>-error`): its
    /// field, also for the other fields a refusal about several marks.
    pub fn error_id(&self, error: Option<&Notice>) -> &'static str {
        error.and_then(|notice| notice.field).unwrap_or("form")
    }

    /// `zh-CN` or `en`, for `<html lang>`.
    pub fn lang_tag(&self) -> &'static str {
        self.lang.tag()
    }

    pub fn with_flash(mut self, flash: Option<rocket::request::FlashMessage<'_>>) -> Self {
        self.flash = flash.as_ref().and_then(Flash::read);
        self
    }
}

/// A `<meter>` of remaining calls against the limit.
pub struct Meter {
    pub max: i64,
    pub value: i64,
    pub low: i64,
}

pub struct BalanceView {
    pub points: Option<PointsView>,
    pub code: ResultStatus,
    pub detail: Option<String>,
}

pub struct PointsView {
    pub total: String,
    pub available: String,
    pub frozen: String,
}

impl BalanceView {
    pub fn from_result(result: &Result<AccountBalance, BalanceError>) -> Self {
        match result {
            Ok(balance) => Self {
                points: Some(PointsView {
                    total: points(balance.total_balance),
                    available: points(balance.available_balance),
                    frozen: points(balance.frozen_amount),
                }),
                code: ResultStatus::Ok,
                detail: None,
            },
            Err(error) => Self {
                points: None,
                code: ResultStatus::Failed(error.code()),
                detail: error.detail().map(str::to_owned),
            },
        }
    }
}

pub fn number(value: Option<i64>) -> String {
    value.map_or_else(|| UNKNOWN.to_owned(), |n| n.to_string())
}

/// Points print as 250 or 12.5, never 250.0.
pub fn points(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value}")
    }
}

/// `7.5`, or `5–20`.
pub fn cost_text(cost: &ExpectedCost) -> String {
    if cost.is_exact() {
        points(cost.min)
    } else {
        format!("{}–{}", points(cost.min), points(cost.max))
    }
}

pub fn meter(remaining: Option<i64>, limit: Option<i64>) -> Option<Meter> {
    let (value, max) = (remaining?, limit?);
    (max > 0).then(|| Meter {
        max,
        value: value.clamp(0, max),
        low: max / 10,
    })
}

/// The words under a failed row's status: our reason in the page's language, else upstream's
/// own words (text, escaped like any other).
pub fn failure_detail(failure: &Failure, lang: Lang) -> Option<String> {
    match failure.reason {
        Some(reason) => Some(i18n::text(lang, &format!("reason-{}", reason.as_str()))),
        None => failure.detail.clone(),
    }
}

/// A saved key offered in a `<select>`: never more than its label and masked tail.
pub struct KeyOption {
    pub id: KeyId,
    pub label: String,
    pub masked: String,
    pub site: Site,
}

impl From<KeySummary> for KeyOption {
    fn from(key: KeySummary) -> Self {
        Self {
            id: key.id,
            label: key.label,
            masked: key.masked,
            site: key.site,
        }
    }
}

/// The user's saved keys for a `<select>`. A page still renders when they cannot be read
/// (the form then offers the pasted key only); the failure is logged.
pub async fn key_options(keyring: &Keyring, user_id: UserId) -> Vec<KeyOption> {
    match keyring.list(user_id).await {
        Ok(keys) => keys.into_iter().map(KeyOption::from).collect(),
        Err(error) => {
            tracing::error!(%error, "listing saved keys failed");
            Vec::new()
        }
    }
}

/// A preset offered in a `<select>` or as a run button, with what probing it is expected to
/// cost (`7.5`, or `5–20` where prices are unknown).
pub struct PresetOption {
    pub id: PresetId,
    pub name: String,
    pub model_count: usize,
    pub is_default: bool,
    pub expected: String,
    /// What measuring the unknown prices may cost (`0.6–6`); `None` when every price is known.
    pub census: Option<String>,
}

/// The user's presets as options, each with its expected cost from the prices they know. A
/// failed price read leaves every price unknown (the ranges are still true); it is logged.
pub async fn preset_options(db: &Db, user: UserId, presets: Vec<Preset>) -> Vec<PresetOption> {
    let models: Vec<String> = presets.iter().flat_map(|p| p.models.clone()).collect();
    let known = match prices::known_for(db, Some(user), models).await {
        Ok(known) => known,
        Err(error) => {
            tracing::warn!(%error, "reading model prices failed");
            Default::default()
        }
    };
    preset_options_priced(presets, &known)
}

/// [`preset_options`] with the prices already read (a page that reads prices for more than
/// its presets asks once).
pub fn preset_options_priced(presets: Vec<Preset>, known: &Known) -> Vec<PresetOption> {
    let tiers = Tiers::default();
    presets
        .into_iter()
        .map(|preset| {
            let cost = ExpectedCost::of(
                preset
                    .models
                    .iter()
                    .map(|model| known.bounds(model, &tiers)),
            );
            let mut unknown: Vec<&String> = preset
                .models
                .iter()
                .filter(|m| known.price(m).is_none())
                .collect();
            unknown.sort_unstable();
            unknown.dedup();
            let census = ExpectedCost::of(unknown.iter().map(|m| known.bounds(m, &tiers)));
            PresetOption {
                id: preset.id,
                model_count: preset.models.len(),
                name: preset.name,
                is_default: preset.is_default,
                expected: cost_text(&cost),
                census: (!unknown.is_empty()).then(|| cost_text(&census)),
            }
        })
        .collect()
}
