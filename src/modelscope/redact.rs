//! Upstream may echo the token in an error; it never travels further.
//!
//! Redaction runs on the text a user would be shown, after JSON decoding (a body may spell the
//! key `ms\u002d…`), and ignores case (a body may upper-case it). The exact token, its UUID
//! alone, its 32 hex digits without dashes, and anything else shaped like a token (`ms-` and a
//! UUID, any case) are masked, before any cut.

use crate::crypto::secret::ApiSecret;

/// `text` with every trace of `token` (and of any token-shaped string) masked.
pub fn redact(text: &str, token: &ApiSecret) -> String {
    let secret = token.expose().trim();
    let mut out = text.to_owned();
    if !secret.is_empty() {
        let masked = token.masked();
        out = replace_ignoring_case(&out, secret, &masked);
        if let Some(uuid) = secret
            .get(..3)
            .filter(|prefix| prefix.eq_ignore_ascii_case("ms-"))
            .and_then(|_| secret.get(3..))
            .filter(|uuid| uuid.len() >= 16)
        {
            out = replace_ignoring_case(&out, uuid, "…");
            let compact: String = uuid.chars().filter(|c| *c != '-').collect();
            if compact.len() >= 16 {
                out = replace_ignoring_case(&out, &compact, "…");
            }
        }
    }
    mask_token_shapes(&out)
}

/// Every occurrence of the ASCII `needle`, in any letter case, replaced by `with`.
fn replace_ignoring_case(haystack: &str, needle: &str, with: &str) -> String {
    let (hay, pattern) = (haystack.as_bytes(), needle.as_bytes());
    if pattern.is_empty() || !needle.is_ascii() {
        return haystack.replace(needle, with);
    }
    let mut out = String::with_capacity(haystack.len());
    let mut i = 0;
    while i < hay.len() {
        if hay.len() - i >= pattern.len() && hay[i..i + pattern.len()].eq_ignore_ascii_case(pattern)
        {
            out.push_str(with);
            i += pattern.len();
            continue;
        }
        let Some(c) = haystack[i..].chars().next() else {
            break;
        };
        out.push(c);
        i += c.len_utf8();
    }
    out
}

fn mask_token_shapes(text: &str) -> String {
    const SHAPE: usize = 36; // a UUID after `ms-`
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        let tail = &bytes[i..];
        if tail.len() >= 3 + SHAPE
            && tail[..3].eq_ignore_ascii_case(b"ms-")
            && tail[3..3 + SHAPE]
                .iter()
                .all(|b| b.is_ascii_hexdigit() || *b == b'-')
        {
            out.push_str("ms-…");
            i += 3 + SHAPE;
            continue;
        }
        let Some(c) = text[i..].chars().next() else {
            break;
        };
        out.push(c);
        i += c.len_utf8();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "ms-11111111-2222-3333-4444-555555555555";

    #[test]
    fn tokens_are_redacted_from_upstream_text() {
        let token = ApiSecret::new(KEY);
        let body = "bad token ms-11111111-2222-3333-4444-555555555555 and ms-aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee, 通义";
        let clean = redact(body, &token);
        assert!(!clean.contains("11111111-2222"), "{clean}");
        assert!(!clean.contains("aaaaaaaa-bbbb"), "{clean}");
        assert!(clean.ends_with("通义"));
        assert_eq!(redact("short ms-", &token), "short ms-");
    }

    #[test]
    fn any_case_and_any_part_of_the_key_is_masked() {
        let token = ApiSecret::new("ms-abcdef12-abcd-abcd-abcd-abcdef123456");
        for echoed in [
            "MS-ABCDEF12-ABCD-ABCD-ABCD-ABCDEF123456",
            "Ms-AbCdEf12-aBcD-abcd-ABCD-abcdef123456",
            "key ABCDEF12-ABCD-ABCD-ABCD-ABCDEF123456 refused",
            "abcdef12abcdabcdabcdabcdef123456",
            "MS-00000000-0000-0000-0000-000000000000",
        ] {
            let clean = redact(echoed, &token);
            assert!(
                !clean.to_ascii_lowercase().contains("abcdef12") && !clean.contains("00000000"),
                "{echoed} -> {clean}"
            );
        }
    }

    #[test]
    fn text_around_the_key_survives_and_non_ascii_is_safe() {
        let token = ApiSecret::new(KEY);
        assert_eq!(
            redact("前 ms-11111111-2222-3333-4444-555555555555 后", &token),
            format!("前 {} 后", token.masked())
        );
        assert_eq!(redact("ÄÖÜ ms", &token), "ÄÖÜ ms");
        assert_eq!(redact("", &ApiSecret::new("")), "");
    }
}
