//! What a row's or a balance read's badge says: fine, still waiting (a live row), or the error
//! code. Pages and live events show it as text (`ok`, `pending` or the code): the words are
//! `status-<text>` and `advice-<text>` in the locale files, the row's class is `row-<text>`.

use std::fmt;

use crate::i18n::{self, Lang};
use crate::modelscope::ErrorCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultStatus {
    Ok,
    /// No chat call was made (a free check's row, a census's skipped model): never "healthy".
    Unchecked,
    /// A live row whose answer has not come yet.
    Pending,
    Failed(ErrorCode),
}

impl ResultStatus {
    /// A row: failed with its code, not checked when no call was made, else fine.
    pub fn of_row(code: Option<ErrorCode>, checked: bool) -> Self {
        match code {
            Some(code) => Self::Failed(code),
            None if !checked => Self::Unchecked,
            None => Self::Ok,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Unchecked => "unchecked",
            Self::Pending => "pending",
            Self::Failed(code) => code.as_str(),
        }
    }

    pub fn is_ok(self) -> bool {
        self == Self::Ok
    }

    /// Whether it failed with `code`.
    pub fn is(self, code: ErrorCode) -> bool {
        self == Self::Failed(code)
    }

    /// Every status a finished row can have (the live results render each badge once).
    pub fn finished() -> impl Iterator<Item = Self> {
        [Self::Ok, Self::Unchecked]
            .into_iter()
            .chain(ErrorCode::ALL.iter().copied().map(Self::Failed))
    }

    /// A failure of the key itself, not of one model (every row then shares it).
    pub fn is_key_level(self) -> bool {
        matches!(
            self,
            Self::Failed(ErrorCode::InvalidKey | ErrorCode::AccountNotEligible)
        )
    }

    /// The badge's words (`status-<text>`).
    pub fn words(self, lang: &Lang) -> String {
        i18n::text(*lang, &format!("status-{self}"))
    }

    /// What to do about it (`advice-<text>`), when there is advice.
    pub fn advice(self, lang: &Lang) -> Option<String> {
        let id = format!("advice-{self}");
        i18n::has(*lang, &id).then(|| i18n::text(*lang, &id))
    }

    /// The badge's colour: `ok`, `muted`, `bad` or `warn`.
    pub fn badge_class(self) -> &'static str {
        use ErrorCode::*;
        match self {
            Self::Ok => "ok",
            Self::Unchecked | Self::Pending | Self::Failed(NoQuotaData) => "muted",
            Self::Failed(
                InvalidKey | AccountNotEligible | QuotaExhausted | PointsExhausted | UpstreamError,
            ) => "bad",
            Self::Failed(_) => "warn",
        }
    }
}

impl fmt::Display for ResultStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for ResultStatus {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn badges_and_texts() {
        assert_eq!(ResultStatus::of_row(None, true), ResultStatus::Ok);
        assert_eq!(
            ResultStatus::of_row(Some(ErrorCode::Timeout), true).as_str(),
            "timeout"
        );
        assert_eq!(ResultStatus::Pending.to_string(), "pending");
        assert_eq!(ResultStatus::Ok.badge_class(), "ok");
        assert_eq!(ResultStatus::Pending.badge_class(), "muted");
        assert_eq!(
            ResultStatus::Failed(ErrorCode::NoQuotaData).badge_class(),
            "muted"
        );
        assert_eq!(
            ResultStatus::Failed(ErrorCode::InvalidKey).badge_class(),
            "bad"
        );
        assert_eq!(
            ResultStatus::Failed(ErrorCode::RateLimited).badge_class(),
            "warn"
        );
        assert_eq!(ResultStatus::finished().count(), ErrorCode::ALL.len() + 2);
        assert_eq!(ResultStatus::of_row(None, false).badge_class(), "muted");
        assert_eq!(ResultStatus::of_row(None, true), ResultStatus::Ok);
        assert!(ResultStatus::Failed(ErrorCode::AccountNotEligible).is_key_level());
        assert!(!ResultStatus::Failed(ErrorCode::Timeout).is_key_level());
    }
}
