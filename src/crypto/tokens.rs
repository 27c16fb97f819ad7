//! Random tokens (session cookies, personal access tokens, CSRF tokens) and their hashes.
//!
//! Only the SHA-256 hash of a session or access token is stored, so a copy of the database
//! cannot be replayed as a login. A plain hash (no salt, no argon2) is enough here because the
//! tokens carry 256 bits of randomness: there is nothing to guess.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A freshly generated token: `plaintext` goes to the client once, `hash` goes to the database.
#[derive(Clone, PartialEq, Eq)]
pub struct NewToken {
    pub plaintext: String,
    pub hash: String,
}

// Manual impl so the plaintext cannot end up in a log line through `{:?}`.
impl std::fmt::Debug for NewToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewToken")
            .field("plaintext", &"<redacted>")
            .field("hash", &self.hash)
            .finish()
    }
}

/// A new 256-bit token as `prefix` + 64 lowercase hex characters, with its hash.
///
/// Use `""` for session cookies and `"msb_"` for personal access tokens. The hash covers the
/// whole plaintext, prefix included, so look tokens up with [`hash_token`] on exactly what the
/// client sent.
///
/// # Panics
///
/// Only if the operating system's random number generator fails (see [`random_hex`]).
pub fn new_token(prefix: &str) -> NewToken {
    let plaintext = format!("{prefix}{}", random_hex(32));
    let hash = hash_token(&plaintext);
    NewToken { plaintext, hash }
}

/// Lowercase hex SHA-256 of the token exactly as given: the form stored in the database.
pub fn hash_token(plaintext: &str) -> String {
    hex::encode(Sha256::digest(plaintext.as_bytes()))
}

/// `bytes` random bytes from the operating system, as `2 * bytes` lowercase hex characters.
///
/// # Panics
///
/// Only if the operating system's random number generator fails, which on Linux (the
/// `getrandom` syscall) does not happen once the system has booted. There is no safe fallback
/// for a security token, so failing the one request is the right outcome.
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    // A weak or predictable token would be worse than a failed request; see `# Panics`.
    getrandom::fill(&mut buf).expect("operating system random number generator failed");
    hex::encode(buf)
}

/// Compares two tokens without leaking, through timing, how many leading characters match.
///
/// The lengths are not hidden (unequal lengths return `false` at once); every token this module
/// makes has a fixed, public length, so that reveals nothing.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_lower_hex(s: &str) -> bool {
        s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    }

    #[test]
    fn new_token_has_prefix_and_256_bits_of_hex() {
        let token = new_token("msb_");
        let hex = token.plaintext.strip_prefix("msb_").expect("prefix");
        assert_eq!(hex.len(), 64);
        assert!(is_lower_hex(hex));

        let session = new_token("");
        assert_eq!(session.plaintext.len(), 64);
        assert!(is_lower_hex(&session.plaintext));
    }

    #[test]
    fn new_token_hash_is_hash_of_full_plaintext() {
        let token = new_token("msb_");
        assert_eq!(token.hash, hash_token(&token.plaintext));
        assert_eq!(token.hash.len(), 64);
        assert!(is_lower_hex(&token.hash));
        assert_ne!(
            token.hash,
            hash_token(token.plaintext.trim_start_matches("msb_"))
        );
    }

    #[test]
    fn new_tokens_differ() {
        let a = new_token("");
        let b = new_token("");
        assert_ne!(a.plaintext, b.plaintext);
        assert_ne!(a.hash, b.hash);
    }

    #[test]
    fn debug_hides_plaintext() {
        let token = new_token("msb_");
        let shown = format!("{token:?}");
        assert!(!shown.contains(&token.plaintext));
        assert!(shown.contains(&token.hash));
    }

    #[test]
    fn hash_token_matches_known_sha256() {
        assert_eq!(
            hash_token("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            hash_token(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn random_hex_has_requested_length() {
        assert_eq!(random_hex(0), "");
        let csrf = random_hex(32);
        assert_eq!(csrf.len(), 64);
        assert!(is_lower_hex(&csrf));
        assert_eq!(random_hex(5).len(), 10);
        assert_ne!(random_hex(32), random_hex(32));
    }

    #[test]
    fn constant_time_eq_compares_content_and_length() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(constant_time_eq("", ""));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "abcd"));
        assert!(!constant_time_eq("abc", ""));
    }
}
