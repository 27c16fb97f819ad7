//! Secrets at rest and in memory: the master key file, the vault that seals saved keys,
//! password hashing, random tokens, TOTP codes and the in-memory `ApiSecret`.

pub mod master_key;
pub mod passwords;
pub mod secret;
pub mod tokens;
pub mod totp;
pub mod vault;
pub mod webauthn;

pub use master_key::{MasterKey, VaultError};
pub use secret::ApiSecret;
pub use vault::{Sealed, Vault};
