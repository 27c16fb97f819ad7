//! Time-based one-time passwords (RFC 6238) through `totp-rs`: six digits, 30-second steps,
//! HMAC-SHA1 (what every authenticator app reads from an `otpauth://` URI), one step of clock
//! skew either way. The seed never prints itself and is wiped on drop.

use std::fmt;

use totp_rs::{Builder, Secret, Totp};
use zeroize::Zeroizing;

/// 160 bits, the HMAC-SHA1 block RFC 4226 recommends.
pub const SEED_BYTES: usize = 20;
/// Seconds a code lasts.
pub const STEP_SECS: u64 = 30;
/// Digits of a code.
pub const DIGITS: usize = 6;

/// The shared secret of an authenticator.
pub struct Seed(Zeroizing<Vec<u8>>);

impl fmt::Debug for Seed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Seed(<redacted>)")
    }
}

impl Seed {
    /// A new random seed.
    ///
    /// # Panics
    ///
    /// Only if the operating system's random number generator fails (see
    /// [`super::tokens::random_hex`]).
    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new(vec![0u8; SEED_BYTES]);
        getrandom::fill(&mut bytes).expect("operating system random number generator failed");
        Self(bytes)
    }

    /// A seed as opened from the vault.
    pub fn from_bytes(bytes: Zeroizing<Vec<u8>>) -> Self {
        Self(bytes)
    }

    /// The bytes to seal.
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }

    fn totp(&self, account: &str) -> Option<Totp> {
        Builder::new()
            .with_secret(Secret::new(self.0.to_vec().into_boxed_slice()))
            .with_digits(DIGITS as u8)
            .with_step_duration(STEP_SECS)
            .with_skew(1)
            .with_issuer(Some(ISSUER))
            .with_account_name(account)
            .build()
            .ok()
    }

    /// The seed as people type it into an app: base32 without padding.
    pub fn text(&self) -> Zeroizing<String> {
        Zeroizing::new(Secret::new(self.0.to_vec().into_boxed_slice()).to_base32())
    }

    /// `otpauth://totp/<issuer>:<account>?secret=…&issuer=…`, what a QR code carries.
    pub fn uri(&self, account: &str) -> Option<Zeroizing<String>> {
        self.totp(account)?.to_url().ok().map(Zeroizing::new)
    }

    /// The time step (`unix_secs / 30`, give or take one) at which `code` is right; `None`
    /// when it is right at none of them.
    pub fn matching_step(&self, code: &str, unix_secs: i64) -> Option<i64> {
        let time = u64::try_from(unix_secs).ok()?;
        let step = self.totp("-")?.check(code, time)?;
        i64::try_from(step).ok()
    }

    /// The code at `unix_secs` (tests and tools compute what an app would show).
    pub fn code_at(&self, unix_secs: i64) -> Option<String> {
        let time = u64::try_from(unix_secs).ok()?;
        Some(self.totp("-")?.generate(time).to_string())
    }
}

/// The name an authenticator app lists the account under.
pub const ISSUER: &str = "modelscope-balance";

/// Whether `text` has the shape of a code (six digits, spaces allowed between).
pub fn is_code_shaped(text: &str) -> bool {
    let digits: Vec<char> = text.chars().filter(|c| !c.is_whitespace()).collect();
    digits.len() == DIGITS && digits.iter().all(char::is_ascii_digit)
}

/// The code without the spaces people type into it.
pub fn compact(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 rows (the reference seed is the ASCII "12345678901234567890"),
    /// last six digits of the eight-digit values.
    #[test]
    fn rfc_6238_test_vectors() {
        let seed = Seed::from_bytes(Zeroizing::new(b"12345678901234567890".to_vec()));
        for (time, code) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_111_111_111, "050471"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
        ] {
            assert_eq!(seed.code_at(time).as_deref(), Some(code), "at {time}");
            assert_eq!(seed.matching_step(code, time), Some(time / 30));
        }
    }

    #[test]
    fn a_neighbouring_step_is_accepted_a_far_one_not() {
        let seed = Seed::generate();
        let now = 1_700_000_000;
        let code = seed.code_at(now).unwrap();
        assert_eq!(seed.matching_step(&code, now + 30), Some(now / 30));
        assert_eq!(seed.matching_step(&code, now - 30), Some(now / 30));
        assert_eq!(seed.matching_step(&code, now + 90), None);
        assert_eq!(seed.matching_step("12345", now), None);
    }

    #[test]
    fn uri_and_text_carry_the_seed_and_debug_does_not() {
        let seed = Seed::generate();
        let uri = seed.uri("alice").unwrap();
        assert!(uri.starts_with("otpauth://totp/"), "{}", *uri);
        assert!(uri.contains(seed.text().as_str()));
        assert!(uri.contains("issuer=modelscope-balance"));
        assert_eq!(seed.text().len(), 32);
        assert!(!format!("{seed:?}").contains(seed.text().as_str()));
        assert!(is_code_shaped("123 456") && !is_code_shaped("12345a"));
    }
}
