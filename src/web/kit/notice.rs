//! What a page says about a failed action (a [`Notice`], shown by `messages.html`) and, after
//! a redirect, about one that worked (a [`Flash`], shown by `flash.html`). Each is a code from
//! one closed set, with its values beside it; the words are `notice-<code>` and
//! `flash-<code>` in `locales/<lang>/`, and a test holds both languages to every code.

use rocket::request::FlashMessage;
use rocket::response::{self, Redirect};
use serde::{Deserialize, Serialize};

crate::closed_set! {
    /// Every form error or notice a page can show.
    pub enum NoticeCode {
        // Runs and their forms.
        MissingKey, BadKey, KeyNotFound, KeyNeedsReentry, PresetNotFound, NoModels, TooManyModels,
        NoValidModels, StoreFailed, Busy, CensusSignIn, BadBudget,
        // Keys.
        EmptyLabel, BadLabel, DuplicateLabel, DuplicateKey, TooManyKeys,
        // Presets and prices.
        EmptyName, BadName, DuplicateName, TooManyPresets, TooManyPresetModels, InvalidModels,
        InvalidModelsMore, BadPrice, BadPriceModel,
        // Accounts, sessions and tokens.
        BadUsername, UsernameTaken, PasswordTooShort, PasswordTooLong, PasswordMismatch,
        BadCredentials, WrongPassword, Throttled, SignupThrottled, SignupClosed, HashingBusy,
        EmptyTokenName, BadTokenName, TooManyTokens, TokenNotFound, TokenAlreadyShown,
        // Two-factor sign-in.
        EmptyCode, WrongCode, TwoFactorOff, TwoFactorAlreadyOn, TwoFactorUnreadable,
        SecondFactorExpired,
        // History.
        BadFilter, ModelTooMany, HistoryPositionGone, BadExportFormat,
        // Monitors.
        NoKeyChosen, TooManyMonitorKeys, ChosenKeyNotFound, BadCheck, ProbeNeedsPreset,
        ScheduleMissing, ScheduleBoth, BadInterval, BadTimes, ProbeNeedsCap, BadCap, OverCap,
        TooManyMonitors, MonitorNotFound, RunNowPerMonitor, RunNowPerUser,
        // Alert rules.
        BadCondition, BadThreshold, BadCallsThreshold, RuleNeedsModel, BadRuleModel, BadAtTime,
        BadForecastHours, BadWithinHours, NoChannelChosen, RuleNeedsProbe, ModelNotInPreset,
        TooManyRules, TooManyUserRules, ChosenChannelNotFound, RuleNotFound,
        // Notification channels.
        BadChannelKind, EmptyChannelName, DuplicateChannelName, TooManyChannels, NeedsUrl, BadUrl,
        NeedsSecret, BadSecret, NeedsChatId, BadChatId, NeedsSmtpHost, BadSmtpHost, BadSmtpPort,
        BadSmtpTls, NeedsSmtpPassword, BadFrom, BadTo, PrivateUrl, PrivateSmtpHost, ChannelNotFound,
        ChannelNeedsReentry, SmtpNeedsAuthTls, SmtpNeedsAuth, SmtpNeedsTls, TestPerMinute,
        TestPerHour, TestChannelHour, TestChannelBusy, TestUserBusy,
        // Administration: accounts, sign-up and invitations.
        UserNotFound, LastAdmin, LastAdminSelf, AccountDisabled, BadLink, LinkAlreadyShown,
        BadSignupMode, BadInvitationDays, InvitationNotFound, InvitationNeeded,
        // An account's email, for single sign-on.
        BadEmail, EmailTaken,
        // Model ids close to known ones ("did you mean").
        DidYouMean,
        // Anywhere.
        Unavailable, Internal,
    }
}

impl NoticeCode {
    /// The form fields a notice about several marks besides its own `field` (its words name
    /// them all).
    fn also_on(self) -> &'static [&'static str] {
        match self {
            Self::SmtpNeedsAuthTls => &["smtp_password", "smtp_tls"],
            Self::SmtpNeedsAuth => &["smtp_password"],
            _ => &[],
        }
    }
}

/// A form error or notice: a code the templates turn into words (`messages.html`), with the
/// values its words name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub code: NoticeCode,
    /// A count or limit (`$n`; it picks the plural form).
    pub n: i64,
    /// Named values: what the notice is about (`$name`), the `$cost` and `$cap` of a refused
    /// schedule, …
    pub args: Vec<(&'static str, String)>,
    /// The form field the notice is about: its input gets `aria-invalid` and
    /// `aria-describedby="<field>-error"`.
    pub field: Option<&'static str>,
}

impl Notice {
    pub fn new(code: NoticeCode) -> Self {
        Self {
            code,
            n: 0,
            args: Vec::new(),
            field: None,
        }
    }

    pub fn on(mut self, field: &'static str) -> Self {
        self.field = Some(field);
        self
    }

    /// Whether this notice is about `field` (for `aria-invalid` in templates).
    pub fn is_on(&self, field: &str) -> bool {
        self.field == Some(field) || self.code.also_on().contains(&field)
    }

    pub fn with_n(mut self, n: i64) -> Self {
        self.n = n;
        self
    }

    /// What the notice is about (`$name`).
    pub fn with_name(self, name: impl Into<String>) -> Self {
        self.with_arg("name", name)
    }

    pub fn with_arg(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.args.push((name, value.into()));
        self
    }
}

crate::closed_set! {
    /// Every confirmation a page shows after a redirect (or after an action it answers itself).
    pub enum FlashCode {
        SignedUp, SignedOut, PasswordChanged, SessionRevoked, AccountDeleted, KeyAdded,
        KeyAddedUnusual, KeyUpdated, KeyDeleted, PresetSaved, PresetDeleted, PresetDefault,
        PriceSaved, QueryDeleted, TokenCreated, TokenRevoked, BalanceRefreshed, RefreshFailed,
        MonitorAdded, MonitorDeleted, MonitorPaused, MonitorResumed, MonitorRun, MonitorRunQueued,
        MonitorRunRunning, RuleAdded, RuleDeleted, ChannelAdded, ChannelAddedUnresolved,
        ChannelDeleted, TestSent, TestFailed, OtherSessionsEnded, PasswordReset, UserDisabled,
        UserEnabled, UserDeleted, UserSignedOut, SignupMode, InvitationRevoked, InstancePriceSaved,
        PricesSaved, PricesUnchanged, DashboardRun, SecondFactorExpired, TwoFactorOn,
        TwoFactorOffNow, TwoFactorCancelled, EmailSaved, EmailCleared,
    }
}

/// A confirmation: its code and, for the ones that name what they did it to, the name.
/// Carried across a redirect in Rocket's flash cookie (as JSON, never a hand-made format).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flash {
    pub code: FlashCode,
    /// (A boxed text keeps every page's `Layout` as small as it was with a bare code.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Box<str>>,
}

impl Flash {
    pub fn new(code: FlashCode) -> Self {
        Self { code, name: None }
    }

    pub fn naming(code: FlashCode, name: impl Into<String>) -> Self {
        Self {
            code,
            name: Some(name.into().into_boxed_str()),
        }
    }

    /// To `to`, with this confirmation on the page there.
    pub fn redirect(self, to: impl Into<String>) -> Redirected {
        // A struct of a code and a string: always serialises.
        let message = serde_json::to_string(&self).unwrap_or_default();
        response::Flash::success(Redirect::to(to.into()), message)
    }

    /// The confirmation a redirect carried, if it is one of ours (an old or forged cookie is
    /// no confirmation).
    pub fn read(message: &FlashMessage<'_>) -> Option<Self> {
        serde_json::from_str(message.message()).ok()
    }
}

/// A redirect carrying a [`Flash`].
pub type Redirected = response::Flash<Redirect>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::{self, Lang};
    use crate::web::kit::view::Layout;

    #[test]
    fn every_notice_and_flash_code_has_words_in_both_languages() {
        for lang in Lang::ALL {
            for code in NoticeCode::ALL {
                assert!(
                    i18n::has(lang, &format!("notice-{code}")),
                    "{code} in {lang:?}"
                );
            }
            for code in FlashCode::ALL {
                assert!(
                    i18n::has(lang, &format!("flash-{code}")),
                    "{code} in {lang:?}"
                );
            }
        }
    }

    #[test]
    fn a_notice_fills_in_every_value_it_carries() {
        let layout = Layout::new(None, String::new(), Lang::Zh);
        let over = Notice::new(NoticeCode::OverCap)
            .with_arg("cost", "36")
            .with_arg("cap", "10");
        let text = layout.notice(&over);
        assert!(text.contains("36") && text.contains("10"), "{text}");
        let deleted = Flash::naming(FlashCode::KeyDeleted, "工作");
        assert!(layout.flash_words(&deleted).contains("工作"));
    }

    #[test]
    fn a_flash_crosses_a_redirect_as_it_was_made() {
        let flash = Flash::naming(FlashCode::MonitorDeleted, "a \"quoted\" · name;x:y|z");
        let json = serde_json::to_string(&flash).unwrap();
        assert_eq!(serde_json::from_str::<Flash>(&json).unwrap(), flash);
        let plain = serde_json::to_string(&Flash::new(FlashCode::MonitorRun)).unwrap();
        assert_eq!(plain, r#"{"code":"monitor_run"}"#);
        assert!(serde_json::from_str::<Flash>(r#"{"code":"no_such"}"#).is_err());
    }
}
