//! Who may do what: accounts, sessions and personal access tokens. No web types here.

pub mod access_tokens;
pub mod accounts;
