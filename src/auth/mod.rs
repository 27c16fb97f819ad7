//! Who may do what: accounts, sessions, two-factor sign-in, personal access tokens, admins,
//! sign-up modes and invitations, password-reset links, single sign-on with OpenID Connect.
//! No web types here.

pub mod access_tokens;
pub mod accounts;
pub mod admin;
pub mod codes;
pub mod half_signed_in;
pub mod passkeys;
pub mod password_reset;
pub mod recovery_codes;
pub mod signup;
pub mod sso;
pub mod two_factor;
