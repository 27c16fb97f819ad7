//! Password hashing with argon2id (m = 19456 KiB, t = 2, p = 1: the OWASP minimum).
//!
//! Every function here is CPU- and memory-heavy (tens of milliseconds, 19 MiB) and blocking.
//! Async callers must run them on the blocking pool, e.g.
//! `tokio::task::spawn_blocking(move || passwords::verify_password(&password, &phc))`,
//! never directly on an async worker thread.

use std::sync::OnceLock;

use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version};

const M_COST_KIB: u32 = 19_456;
const T_COST: u32 = 2;
const P_COST: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("invalid argon2 parameters: {0}")]
    Params(#[source] argon2::Error),
    // The underlying error never contains the password: it reports RNG, length or internal
    // failures only.
    #[error("cannot hash the password: {0}")]
    Hash(#[source] argon2::password_hash::Error),
}

fn hasher() -> Result<Argon2<'static>, PasswordError> {
    let params = Params::new(M_COST_KIB, T_COST, P_COST, None).map_err(PasswordError::Params)?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes `password` with argon2id and a fresh random salt; returns the PHC string
/// (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`) to store. Blocking: see the module docs.
pub fn hash_password(password: &str) -> Result<String, PasswordError> {
    let hash = hasher()?
        .hash_password(password.as_bytes())
        .map_err(PasswordError::Hash)?;
    Ok(hash.to_string())
}

/// Whether `password` matches the stored PHC string. A malformed or unsupported hash is simply
/// `false`. Blocking: see the module docs.
pub fn verify_password(password: &str, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    // The parameters come from the PHC string itself, so older hashes keep verifying if the
    // defaults above are ever raised.
    Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
}

/// Burns the same time as checking a wrong password, for a login naming an unknown user, so
/// response time does not reveal which usernames exist. Blocking: see the module docs.
pub fn verify_against_dummy(password: &str) {
    match dummy_hash() {
        Some(phc) => {
            // The result is irrelevant: the user does not exist.
            let _ = verify_password(password, phc);
        }
        // Unreachable with the constant parameters, but if it ever happened, hashing still
        // costs the same as a verification.
        None => {
            let _ = hash_password(password);
        }
    }
}

/// A PHC hash with the same parameters as real ones, made once on first use. A fixed salt is
/// fine here (no real password is behind it) and avoids needing the RNG.
fn dummy_hash() -> Option<&'static str> {
    static DUMMY: OnceLock<Option<String>> = OnceLock::new();
    DUMMY
        .get_or_init(|| {
            let salt = b"modelscope-dummy";
            hasher()
                .ok()?
                .hash_password_with_salt(b"no user has this password", salt)
                .ok()
                .map(|hash| hash.to_string())
        })
        .as_deref()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let phc = hash_password("correct horse battery staple").expect("hash");
        assert!(verify_password("correct horse battery staple", &phc));
    }

    #[test]
    fn wrong_password_is_false() {
        let phc = hash_password("correct horse battery staple").expect("hash");
        assert!(!verify_password("correct horse battery stapler", &phc));
        assert!(!verify_password("", &phc));
    }

    #[test]
    fn same_password_gets_different_salts() {
        let a = hash_password("pw").expect("hash");
        let b = hash_password("pw").expect("hash");
        assert_ne!(a, b);
    }

    #[test]
    fn garbage_hash_is_false() {
        assert!(!verify_password("pw", ""));
        assert!(!verify_password("pw", "not a hash"));
        assert!(!verify_password("pw", "$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(!verify_password(
            "pw",
            "$argon2id$v=19$m=19456,t=2,p=1$!!!$???"
        ));
        assert!(!verify_password("pw", "$md5$abc$def"));
    }

    #[test]
    fn phc_names_argon2id_and_parameters() {
        let phc = hash_password("pw").expect("hash");
        assert!(
            phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "unexpected PHC string {phc}"
        );
    }

    #[test]
    fn dummy_uses_same_parameters_and_rejects() {
        let dummy = dummy_hash().expect("dummy hash");
        assert!(dummy.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(!verify_password("pw", dummy));
        verify_against_dummy("pw");
    }
}
