//! Canary keys and leak detection: the keys no response may ever contain, and every encoding a
//! secret could leak in (to a response, a file or the database).

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};

/// The canary key: it must never appear in anything the app answers.
pub const KEY: &str = "ms-11111111-2222-3333-4444-555555555555";
/// A second well-formed key, for the header-versus-body cases.
pub const OTHER_KEY: &str = "ms-99999999-8888-7777-6666-555555555555";
/// The key the history tests save through `/keys` (masked: `ms-…beef`).
pub const SAVED_KEY: &str = "ms-a1b2c3d4-0000-4000-8000-00000000beef";

/// Every response is checked against these ([`crate::harness::Answer::from`]).
const CANARIES: [&str; 3] = [KEY, OTHER_KEY, SAVED_KEY];

/// Panics if `body` holds a canary key, or even the unique middle of one.
#[track_caller]
pub fn assert_no_key(body: &str) {
    for key in CANARIES {
        assert!(
            !body.contains(key),
            "the API key leaked into a response: {body}"
        );
        assert!(
            !body.contains(&key[3..21]),
            "part of the API key leaked into a response: {body}"
        );
    }
}

/// `body` without the values of its `api_key` inputs: the one place a page may hold a pasted
/// key, in the answer to the form that posted it (a refused form shown again, the sign-up that
/// carries the quick page's key) and only when the answer is `no-store`
/// ([`crate::harness::Answer::from`] decides that). Everything else is checked as ever.
pub fn without_key_fields(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    while let Some(at) = rest.find("<input") {
        let end = rest[at..].find('>').map_or(rest.len(), |e| at + e + 1);
        let tag = &rest[at..end];
        out.push_str(&rest[..at]);
        match (tag.contains(r#"name="api_key""#), tag.find(r#"value=""#)) {
            (true, Some(value)) => {
                let start = value + r#"value=""#.len();
                let close = tag[start..].find('"').map_or(tag.len(), |c| start + c);
                out.push_str(&tag[..start]);
                out.push_str(&tag[close..]);
            }
            _ => out.push_str(tag),
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// Whether `haystack` contains `needle` as bytes.
pub fn contains_bytes(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// Every encoding of `secret` a leak could take: raw, hex (both cases), and base64 (standard and
/// url-safe) at each of the three alignments. For base64 only whole 3-byte groups are encoded,
/// so the pattern appears verbatim whatever bytes surround the secret.
pub fn leak_patterns(secret: &str) -> Vec<(String, Vec<u8>)> {
    let raw = secret.as_bytes();
    let mut patterns = vec![
        ("raw".to_owned(), raw.to_vec()),
        ("hex".to_owned(), hex::encode(raw).into_bytes()),
        ("HEX".to_owned(), hex::encode_upper(raw).into_bytes()),
    ];
    for offset in 0..3 {
        let tail = &raw[offset..];
        let whole = &tail[..tail.len() / 3 * 3];
        patterns.push((
            format!("base64 +{offset}"),
            STANDARD.encode(whole).into_bytes(),
        ));
        patterns.push((
            format!("base64url +{offset}"),
            URL_SAFE.encode(whole).into_bytes(),
        ));
    }
    patterns
}

/// Panics if `haystack` holds `secret` in any form of [`leak_patterns`].
#[track_caller]
pub fn assert_no_trace(haystack: &[u8], secret: &str, what: &str) {
    for (name, pattern) in leak_patterns(secret) {
        assert!(
            !contains_bytes(haystack, &pattern),
            "{what} holds {secret:?} ({name})"
        );
    }
}

#[cfg(test)]
mod self_tests {
    use super::*;

    #[test]
    fn base64_matches_known_values() {
        assert_eq!(STANDARD.encode(b""), "");
        assert_eq!(STANDARD.encode(b"f"), "Zg==");
        assert_eq!(STANDARD.encode(b"fo"), "Zm8=");
        assert_eq!(STANDARD.encode(b"foo"), "Zm9v");
        assert_eq!(STANDARD.encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(STANDARD.encode([0xfb, 0xff]), "+/8=");
        assert_eq!(URL_SAFE.encode([0xfb, 0xff]), "-_8=");
    }

    #[test]
    fn patterns_find_a_secret_at_any_alignment() {
        let secret = "ca1a4e01-dead-beef";
        for prefix in ["", "x", "xy", "xyz"] {
            let data = format!("{prefix}{secret}!!");
            for engine in [STANDARD, URL_SAFE] {
                let encoded = engine.encode(data.as_bytes());
                let found = leak_patterns(secret)
                    .iter()
                    .any(|(_, p)| contains_bytes(encoded.as_bytes(), p));
                assert!(found, "{prefix:?}");
            }
        }
    }
}
