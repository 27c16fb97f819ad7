//! Recovery codes: ten single-use codes shown once when TOTP is turned on, for a lost phone.
//! Each is 80 random bits written as 16 characters (`k7d2-9xqa-…`, Crockford's base32: no i, l,
//! o or u to misread); only the SHA-256 of its 16 characters is kept, which 80 bits make as
//! safe as the tokens' hashes.

use crate::crypto::tokens;

/// How many codes an account gets.
pub const COUNT: usize = 10;
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
const CHARS: usize = 16;

/// A new code: `plaintext` is shown once, `hash` stored.
pub struct NewCode {
    pub plaintext: String,
    pub hash: String,
}

/// [`COUNT`] new codes.
pub fn generate() -> Vec<NewCode> {
    (0..COUNT)
        .map(|_| {
            let compact = random_code();
            let plaintext = compact
                .as_bytes()
                .chunks(4)
                .map(|group| String::from_utf8_lossy(group).into_owned())
                .collect::<Vec<_>>()
                .join("-");
            NewCode {
                hash: tokens::hash_token(&compact),
                plaintext,
            }
        })
        .collect()
}

/// 16 characters of 5 random bits each.
fn random_code() -> String {
    let bytes = hex::decode(tokens::random_hex(CHARS)).unwrap_or_default();
    bytes
        .iter()
        .map(|byte| ALPHABET[usize::from(byte & 31)] as char)
        .collect()
}

/// The hash of a presented code, read leniently (any case, dashes and spaces anywhere, `i`/`l`
/// for 1 and `o` for 0); `None` when it cannot be a recovery code.
pub fn hash_of(presented: &str) -> Option<String> {
    let compact: String = presented
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| match c.to_ascii_lowercase() {
            'i' | 'l' => '1',
            'o' => '0',
            other => other,
        })
        .collect();
    let valid = compact.len() == CHARS && compact.bytes().all(|b| ALPHABET.contains(&b));
    valid.then(|| tokens::hash_token(&compact))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_grouped_and_read_leniently() {
        let codes = generate();
        assert_eq!(codes.len(), COUNT);
        for code in &codes {
            assert_eq!(code.plaintext.len(), 19, "{}", code.plaintext);
            assert_eq!(
                hash_of(&code.plaintext).as_deref(),
                Some(code.hash.as_str())
            );
            let shouted = format!(" {} ", code.plaintext.to_uppercase().replace('-', " "));
            assert_eq!(hash_of(&shouted).as_deref(), Some(code.hash.as_str()));
        }
        let mut hashes: Vec<&str> = codes.iter().map(|c| c.hash.as_str()).collect();
        hashes.sort_unstable();
        hashes.dedup();
        assert_eq!(hashes.len(), COUNT);
        assert_eq!(
            hash_of("0o1i-l000-0000-0000"),
            hash_of("0011-1000-0000-0000")
        );
        assert!(hash_of("123456").is_none());
        assert!(hash_of("uuuu-uuuu-uuuu-uuuu").is_none());
    }
}
