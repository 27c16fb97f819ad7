//! Who may do what: accounts, sessions, personal access tokens, admins and password-reset
//! links. No web types here.

pub mod access_tokens;
pub mod accounts;
pub mod admin;
pub mod password_reset;
