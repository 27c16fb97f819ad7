//! The one rule for the names people give things: key labels, preset names, token names, and
//! the names that stand for them in the JSON API.

/// Long enough for any sensible name, short enough for a table cell.
pub const MAX_NAME_CHARS: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("the name is empty")]
    Empty,
    #[error("the name is longer than {MAX_NAME_CHARS} characters or has control characters")]
    Invalid,
}

/// Trimmed, 1 to 64 characters, no control characters. Markup is fine: every page escapes it.
pub fn check_name(raw: &str) -> Result<String, NameError> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(NameError::Invalid);
    }
    Ok(name.to_owned())
}

/// What a form shows again after a refused name: trimmed, control characters dropped and cut
/// to the limit, so a 10,000-character paste is not sent back whole.
pub fn echo_name(raw: &str) -> String {
    raw.trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_NAME_CHARS)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(check_name("  工作 key ").unwrap(), "工作 key");
        assert_eq!(check_name("   "), Err(NameError::Empty));
        assert_eq!(check_name(&"x".repeat(65)), Err(NameError::Invalid));
        assert!(check_name(&"名".repeat(64)).is_ok());
        assert_eq!(check_name("a\0b"), Err(NameError::Invalid));
        assert!(
            check_name("<b>x</b>").is_ok(),
            "escaped on output, not refused"
        );
    }

    #[test]
    fn echoes_are_cut_and_clean() {
        assert_eq!(echo_name(&"x".repeat(10_000)).chars().count(), 64);
        assert_eq!(echo_name(" a\0b "), "ab");
    }
}
