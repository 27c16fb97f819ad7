//! A ModelScope token held in memory only for as long as a call needs it.
//!
//! `ApiSecret` never prints itself: `Debug` and `Display` are redacted, so a token cannot leak
//! through a log line, an error message or a panic by accident. Its memory is wiped on drop.

use std::fmt;

use zeroize::Zeroizing;

#[derive(Clone)]
pub struct ApiSecret(Zeroizing<String>);

impl ApiSecret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(Zeroizing::new(value.into()))
    }

    /// The plaintext, for building the upstream `Authorization` header and for sealing.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `ms-…abcd`: the only form of a token that may be shown to anyone.
    pub fn masked(&self) -> String {
        mask_tail(self.last_four())
    }

    /// The last four characters, stored beside a sealed key so it can be listed masked; none of
    /// a short key (keys of other shapes may be as short as 8 characters, and four of them
    /// would be half the secret).
    pub fn last_four(&self) -> String {
        let chars: Vec<char> = self.0.chars().collect();
        if chars.len() < 16 {
            return String::new();
        }
        chars[chars.len() - 4..].iter().collect()
    }
}

/// `ms-…abcd` from the stored last four characters.
pub fn mask_tail(last_four: String) -> String {
    format!("ms-…{last_four}")
}

impl fmt::Debug for ApiSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiSecret(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_token() {
        let secret = ApiSecret::new("ms-12345678-aaaa-bbbb-cccc-1234567890ab");
        assert_eq!(format!("{secret:?}"), "ApiSecret(<redacted>)");
        assert_eq!(secret.masked(), "ms-…90ab");
    }
}
