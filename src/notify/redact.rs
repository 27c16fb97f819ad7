//! Cutting a channel's secrets out of a receiver's words. A receiver may echo a secret as it
//! was sent (a URL's query keeps its `%2D`), decoded, or encoded again by its own rules, in
//! either case of hex digits: every secret is looked for in each of those forms, and the
//! search ignores ASCII case, so `%2d` and `%2D` are one form.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

/// The most of a receiver's words kept (in the delivery log and on a test's result).
pub const DETAIL_CHARS: usize = 160;
/// Shorter pieces of a URL are no secret (`robot`, `send`, `v2`), and cutting them would
/// mangle the words for nothing.
const MIN_SECRET_CHARS: usize = 6;

/// RFC 3986's unreserved characters stay as they are (JavaScript's `encodeURIComponent`,
/// Go's `PathEscape`, Python's `quote(safe="")` then differ only in `!'()*`).
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');
/// `encodeURIComponent`: also leaves `!'()*`.
const JS_COMPONENT: &AsciiSet = &COMPONENT
    .remove(b'!')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*');
/// `application/x-www-form-urlencoded` (spaces become `+` separately).
const FORM: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'*')
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b' ');

/// Every form `secret` may come back in: as given, percent-decoded (and with `+` as a space),
/// and the decoded text encoded again with every non-alphanumeric byte escaped, with the
/// component rules and with the form rules. Forms shorter than a secret can be are left out.
pub fn forms(secret: &str) -> Vec<String> {
    let mut forms = vec![secret.to_owned()];
    let decoded: Vec<String> = [secret.to_owned(), secret.replace('+', " ")]
        .iter()
        .filter_map(|text| percent_decode_str(text).decode_utf8().ok())
        .map(|text| text.into_owned())
        .collect();
    for plain in decoded {
        forms.push(utf8_percent_encode(&plain, NON_ALPHANUMERIC).to_string());
        forms.push(utf8_percent_encode(&plain, COMPONENT).to_string());
        forms.push(utf8_percent_encode(&plain, JS_COMPONENT).to_string());
        forms.push(
            utf8_percent_encode(&plain, FORM)
                .to_string()
                .replace(' ', "+"),
        );
        forms.push(plain);
    }
    forms.retain(|form| form.chars().count() >= MIN_SECRET_CHARS);
    forms
}

/// Cuts every secret text out of `words` (ignoring ASCII case), drops control characters and
/// keeps at most [`DETAIL_CHARS`] characters. Longer secrets are cut first, so a secret that
/// holds another is cut whole.
pub fn redact(words: &str, secrets: &[&str]) -> String {
    let mut text: String = words.chars().filter(|c| !c.is_control()).collect();
    let mut needles: Vec<String> = secrets
        .iter()
        .filter(|s| !s.is_empty())
        .map(|s| s.to_ascii_lowercase())
        .collect();
    needles.sort_by_key(|n| std::cmp::Reverse(n.len()));
    needles.dedup();
    for needle in needles {
        let lower = text.to_ascii_lowercase();
        if !lower.contains(&needle) {
            continue;
        }
        let mut out = String::with_capacity(text.len());
        let mut rest = 0;
        for (at, _) in lower.match_indices(&needle) {
            out.push_str(&text[rest..at]);
            out.push_str("[redacted]");
            rest = at + needle.len();
        }
        out.push_str(&text[rest..]);
        text = out;
    }
    let mut short: String = text.chars().take(DETAIL_CHARS).collect();
    if text.chars().count() > DETAIL_CHARS {
        short.push('…');
    }
    short
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_forms(secrets: &[&str]) -> Vec<String> {
        secrets.iter().flat_map(|s| forms(s)).collect()
    }

    fn cut(words: &str, secrets: &[&str]) -> String {
        let forms = all_forms(secrets);
        let forms: Vec<&str> = forms.iter().map(String::as_str).collect();
        redact(words, &forms)
    }

    #[test]
    fn receivers_words_lose_every_secret() {
        let text = cut(
            "token SEC-Canary-42 is bad\n(sec-canary-42)",
            &["SEC-Canary-42"],
        );
        assert_eq!(text, "token [redacted] is bad([redacted])");
        assert_eq!(
            redact(&"x".repeat(500), &[]).chars().count(),
            DETAIL_CHARS + 1
        );
    }

    /// Issue 19, item 5: a secret sent percent-encoded comes back raw, decoded, or encoded in
    /// either case or by other rules; none of them survives.
    #[test]
    fn every_encoding_of_a_secret_is_cut() {
        let sent = "SECRET%2DTOKEN%2D456";
        for echo in [
            "SECRET%2DTOKEN%2D456",
            "secret%2dtoken%2d456",
            "SECRET-TOKEN-456",
            "Secret%2DToken%2d456",
        ] {
            let words = format!("bad token {echo}!");
            assert_eq!(cut(&words, &[sent]), "bad token [redacted]!", "{echo}");
        }
        // A secret typed plainly, echoed encoded by the receiver's own rules.
        let plain = "pa ss/wörd+1";
        for echo in [
            "pa%20ss%2Fw%C3%B6rd%2B1",
            "pa%20ss%2fw%c3%b6rd%2b1",
            "pa+ss%2Fw%C3%B6rd%2B1",
            "pa ss/wörd+1",
        ] {
            assert_eq!(
                cut(&format!("[{echo}]"), &[plain]),
                "[[redacted]]",
                "{echo}"
            );
        }
    }
}
