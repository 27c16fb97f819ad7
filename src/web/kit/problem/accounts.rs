//! The refusals of accounts, sign-in (two-factor too), access tokens and the admin's actions.

use rocket::http::Status;

use super::Problem;
use crate::auth::access_tokens::TokenError;
use crate::auth::accounts::AccountError;
use crate::auth::admin::AdminError;
use crate::names::MAX_NAME_CHARS;
use crate::web::kit::notice::{Notice, NoticeCode};

impl Problem {
    pub fn token(error: &TokenError) -> Self {
        match error {
            TokenError::EmptyName => Self::refused_on(NoticeCode::EmptyTokenName, "token_name"),
            TokenError::BadName => Self::new(
                Status::UnprocessableEntity,
                Notice::new(NoticeCode::BadTokenName)
                    .with_n(MAX_NAME_CHARS as i64)
                    .on("token_name"),
            ),
            TokenError::TooMany { max } => Self::new(
                Status::UnprocessableEntity,
                Notice::new(NoticeCode::TooManyTokens).with_n(*max),
            ),
            TokenError::NotFound => {
                Self::new(Status::NotFound, Notice::new(NoticeCode::TokenNotFound))
            }
            TokenError::Db(error) => Self::db(error),
        }
    }

    pub fn account(error: &AccountError) -> Self {
        match error {
            AccountError::BadUsername => Self::refused_on(NoticeCode::BadUsername, "username"),
            AccountError::UsernameTaken => Self::new(
                Status::Conflict,
                Notice::new(NoticeCode::UsernameTaken).on("username"),
            ),
            AccountError::PasswordTooShort => {
                Self::refused_on(NoticeCode::PasswordTooShort, "password")
            }
            AccountError::PasswordTooLong => {
                Self::refused_on(NoticeCode::PasswordTooLong, "password")
            }
            AccountError::PasswordMismatch => {
                Self::refused_on(NoticeCode::PasswordMismatch, "password_confirm")
            }
            AccountError::BadCredentials => Self::new(
                Status::Unauthorized,
                Notice::new(NoticeCode::BadCredentials),
            ),
            AccountError::WrongPassword => {
                Self::refused_on(NoticeCode::WrongPassword, "current_password")
            }
            AccountError::Throttled { retry_after_secs } => Self::new(
                Status::TooManyRequests,
                Notice::new(NoticeCode::Throttled).with_n((retry_after_secs + 59) / 60),
            ),
            AccountError::SignupThrottled { retry_after_secs } => Self::new(
                Status::TooManyRequests,
                Notice::new(NoticeCode::SignupThrottled).with_n((retry_after_secs + 59) / 60),
            ),
            AccountError::Busy => Self::new(
                Status::ServiceUnavailable,
                Notice::new(NoticeCode::HashingBusy),
            ),
            AccountError::Disabled => {
                Self::new(Status::Forbidden, Notice::new(NoticeCode::AccountDisabled))
            }
            AccountError::LastAdmin => Self::conflict(NoticeCode::LastAdminSelf),
            AccountError::BadLink => Self::new(Status::NotFound, Notice::new(NoticeCode::BadLink)),
            AccountError::SignupClosed => {
                Self::new(Status::Forbidden, Notice::new(NoticeCode::SignupClosed))
            }
            AccountError::InvitationNeeded => {
                Self::new(Status::Forbidden, Notice::new(NoticeCode::InvitationNeeded))
            }
            AccountError::EmptyCode => Self::refused_on(NoticeCode::EmptyCode, "code"),
            AccountError::WrongCode => Self::refused_on(NoticeCode::WrongCode, "code"),
            AccountError::TwoFactorOff => Self::conflict(NoticeCode::TwoFactorOff),
            AccountError::TwoFactorAlreadyOn => Self::conflict(NoticeCode::TwoFactorAlreadyOn),
            AccountError::TwoFactorUnreadable => Self::conflict(NoticeCode::TwoFactorUnreadable),
            AccountError::SecondFactorExpired => Self::new(
                Status::Unauthorized,
                Notice::new(NoticeCode::SecondFactorExpired),
            ),
            AccountError::Db(error) => Self::db(error),
            AccountError::Hashing => {
                tracing::error!("password hashing failed");
                Self::new(
                    Status::InternalServerError,
                    Notice::new(NoticeCode::Internal),
                )
            }
        }
    }

    /// An admin's action on an account.
    pub fn admin(error: &AdminError) -> Self {
        match error {
            AdminError::NotFound => {
                Self::new(Status::NotFound, Notice::new(NoticeCode::UserNotFound))
            }
            AdminError::LastAdmin => Self::conflict(NoticeCode::LastAdmin),
            AdminError::Db(error) => Self::db(error),
        }
    }
}
