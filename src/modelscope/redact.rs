//! Upstream may echo the token in an error; it never travels further.

use crate::crypto::secret::ApiSecret;

/// Upstream may echo the token in an error; it never travels further. The exact token is
/// masked, and so is anything else shaped like one (`ms-` and a UUID), before any cut.
pub fn redact(body: &str, token: &ApiSecret) -> String {
    let exact = if token.expose().is_empty() {
        body.to_owned()
    } else {
        body.replace(token.expose(), &token.masked())
    };
    mask_token_shapes(&exact)
}

fn mask_token_shapes(text: &str) -> String {
    const SHAPE: usize = 36; // a UUID after `ms-`
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        let tail = &text[i..];
        if tail.starts_with("ms-")
            && tail.len() >= 3 + SHAPE
            && tail.as_bytes()[3..3 + SHAPE]
                .iter()
                .all(|b| b.is_ascii_hexdigit() || *b == b'-')
        {
            out.push_str("ms-…");
            i += 3 + SHAPE;
            continue;
        }
        let Some(c) = tail.chars().next() else { break };
        out.push(c);
        i += c.len_utf8();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_redacted_from_upstream_text() {
        let token = ApiSecret::new("ms-11111111-2222-3333-4444-555555555555");
        let body = "bad token ms-11111111-2222-3333-4444-555555555555 and ms-aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee, 通义";
        let clean = redact(body, &token);
        assert!(!clean.contains("11111111-2222"), "{clean}");
        assert!(!clean.contains("aaaaaaaa-bbbb"), "{clean}");
        assert!(clean.ends_with("通义"));
        assert_eq!(redact("short ms-", &token), "short ms-");
    }
}
