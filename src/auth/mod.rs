//! Who may do what: accounts, sessions, personal access tokens, admins, sign-up modes and
//! invitations, password-reset links. No web types here.

pub mod access_tokens;
pub mod accounts;
pub mod admin;
pub mod codes;
pub mod password_reset;
pub mod signup;
