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
        MissingKey = "missing_key", BadKey = "bad_key", KeyNotFound = "key_not_found",
        KeyNeedsReentry = "key_needs_reentry", PresetNotFound = "preset_not_found",
        NoModels = "no_models", TooManyModels = "too_many_models",
        NoValidModels = "no_valid_models", StoreFailed = "store_failed", Busy = "busy",
        CensusSignIn = "census_sign_in", BadBudget = "bad_budget",
        // Keys.
        EmptyLabel = "empty_label", BadLabel = "bad_label", DuplicateLabel = "duplicate_label",
        DuplicateKey = "duplicate_key", TooManyKeys = "too_many_keys",
        // Presets and prices.
        EmptyName = "empty_name", BadName = "bad_name", DuplicateName = "duplicate_name",
        TooManyPresets = "too_many_presets", TooManyPresetModels = "too_many_preset_models",
        InvalidModels = "invalid_models", InvalidModelsMore = "invalid_models_more",
        BadPrice = "bad_price", BadPriceModel = "bad_price_model",
        // Accounts, sessions and tokens.
        BadUsername = "bad_username", UsernameTaken = "username_taken",
        PasswordTooShort = "password_too_short", PasswordTooLong = "password_too_long",
        PasswordMismatch = "password_mismatch", BadCredentials = "bad_credentials",
        WrongPassword = "wrong_password", Throttled = "throttled",
        SignupThrottled = "signup_throttled", SignupClosed = "signup_closed",
        HashingBusy = "hashing_busy", EmptyTokenName = "empty_token_name",
        BadTokenName = "bad_token_name", TooManyTokens = "too_many_tokens",
        TokenNotFound = "token_not_found", TokenAlreadyShown = "token_already_shown",
        // Two-factor sign-in.
        EmptyCode = "empty_code", WrongCode = "wrong_code", TwoFactorOff = "two_factor_off",
        TwoFactorAlreadyOn = "two_factor_already_on",
        TwoFactorUnreadable = "two_factor_unreadable",
        SecondFactorExpired = "second_factor_expired",
        // History.
        BadFilter = "bad_filter", ModelTooMany = "model_too_many", HistoryPositionGone = "history_position_gone",
        BadExportFormat = "bad_export_format",
        // Monitors.
        NoKeyChosen = "no_key_chosen", TooManyMonitorKeys = "too_many_monitor_keys",
        ChosenKeyNotFound = "chosen_key_not_found", BadCheck = "bad_check",
        ProbeNeedsPreset = "probe_needs_preset", ScheduleMissing = "schedule_missing",
        ScheduleBoth = "schedule_both", BadInterval = "bad_interval", BadTimes = "bad_times",
        ProbeNeedsCap = "probe_needs_cap", BadCap = "bad_cap", OverCap = "over_cap",
        TooManyMonitors = "too_many_monitors", MonitorNotFound = "monitor_not_found",
        RunNowPerMonitor = "run_now_per_monitor", RunNowPerUser = "run_now_per_user",
        // Alert rules.
        BadCondition = "bad_condition", BadThreshold = "bad_threshold",
        BadCallsThreshold = "bad_calls_threshold", RuleNeedsModel = "rule_needs_model",
        BadRuleModel = "bad_rule_model", BadAtTime = "bad_at_time",
        BadForecastHours = "bad_forecast_hours", BadWithinHours = "bad_within_hours",
        NoChannelChosen = "no_channel_chosen", RuleNeedsProbe = "rule_needs_probe",
        ModelNotInPreset = "model_not_in_preset", TooManyRules = "too_many_rules",
        TooManyUserRules = "too_many_user_rules",
        ChosenChannelNotFound = "chosen_channel_not_found", RuleNotFound = "rule_not_found",
        // Notification channels.
        BadChannelKind = "bad_channel_kind", EmptyChannelName = "empty_channel_name",
        DuplicateChannelName = "duplicate_channel_name", TooManyChannels = "too_many_channels",
        NeedsUrl = "needs_url", BadUrl = "bad_url", NeedsSecret = "needs_secret",
        BadSecret = "bad_secret", NeedsChatId = "needs_chat_id", BadChatId = "bad_chat_id",
        NeedsSmtpHost = "needs_smtp_host", BadSmtpHost = "bad_smtp_host",
        BadSmtpPort = "bad_smtp_port", BadSmtpTls = "bad_smtp_tls",
        NeedsSmtpPassword = "needs_smtp_password", BadFrom = "bad_from", BadTo = "bad_to",
        PrivateUrl = "private_url", PrivateSmtpHost = "private_smtp_host",
        ChannelNotFound = "channel_not_found", ChannelNeedsReentry = "channel_needs_reentry",
        SmtpNeedsAuthTls = "smtp_needs_auth_tls", SmtpNeedsAuth = "smtp_needs_auth",
        SmtpNeedsTls = "smtp_needs_tls", TestPerMinute = "test_per_minute",
        TestPerHour = "test_per_hour", TestChannelHour = "test_channel_hour",
        TestChannelBusy = "test_channel_busy", TestUserBusy = "test_user_busy",
        // Administration: accounts, sign-up and invitations.
        UserNotFound = "user_not_found", LastAdmin = "last_admin",
        LastAdminSelf = "last_admin_self", AccountDisabled = "account_disabled",
        BadLink = "bad_link", LinkAlreadyShown = "link_already_shown",
        BadSignupMode = "bad_signup_mode", BadInvitationDays = "bad_invitation_days",
        InvitationNotFound = "invitation_not_found", InvitationNeeded = "invitation_needed",
        // An account's email, for single sign-on.
        BadEmail = "bad_email", EmailTaken = "email_taken",
        // Model ids close to known ones ("did you mean").
        DidYouMean = "did_you_mean",
        // Anywhere.
        Unavailable = "unavailable", Internal = "internal",
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
        SignedUp = "signed_up", SignedOut = "signed_out", PasswordChanged = "password_changed",
        SessionRevoked = "session_revoked", AccountDeleted = "account_deleted",
        KeyAdded = "key_added", KeyAddedUnusual = "key_added_unusual",
        KeyUpdated = "key_updated", KeyDeleted = "key_deleted",
        PresetSaved = "preset_saved", PresetDeleted = "preset_deleted",
        PresetDefault = "preset_default", PriceSaved = "price_saved",
        QueryDeleted = "query_deleted", TokenCreated = "token_created",
        TokenRevoked = "token_revoked", BalanceRefreshed = "balance_refreshed",
        RefreshFailed = "refresh_failed", MonitorAdded = "monitor_added",
        MonitorDeleted = "monitor_deleted", MonitorPaused = "monitor_paused",
        MonitorResumed = "monitor_resumed", MonitorRun = "monitor_run",
        MonitorRunQueued = "monitor_run_queued", MonitorRunRunning = "monitor_run_running",
        RuleAdded = "rule_added", RuleDeleted = "rule_deleted", ChannelAdded = "channel_added",
        ChannelAddedUnresolved = "channel_added_unresolved",
        ChannelDeleted = "channel_deleted", TestSent = "test_sent", TestFailed = "test_failed",
        OtherSessionsEnded = "other_sessions_ended", PasswordReset = "password_reset",
        UserDisabled = "user_disabled", UserEnabled = "user_enabled",
        UserDeleted = "user_deleted", UserSignedOut = "user_signed_out",
        SignupMode = "signup_mode", InvitationRevoked = "invitation_revoked",
        InstancePriceSaved = "instance_price_saved", PricesSaved = "prices_saved",
        PricesUnchanged = "prices_unchanged", DashboardRun = "dashboard_run",
        SecondFactorExpired = "second_factor_expired", TwoFactorOn = "two_factor_on",
        TwoFactorOffNow = "two_factor_off_now", TwoFactorCancelled = "two_factor_cancelled",
        EmailSaved = "email_saved", EmailCleared = "email_cleared",
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
