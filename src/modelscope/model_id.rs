//! Model ids: what a user typed, split, trimmed, de-duplicated and checked before any call.
//! The id only ever travels in a JSON body, but a strict shape keeps odd input out of logs,
//! pages and the database.

use std::collections::HashSet;

pub const MAX_MODEL_ID_CHARS: usize = 128;

/// Why a model id is refused before any upstream call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidModel {
    TooLong,
    NotOwnerSlashName,
    BadCharacter,
    DotDot,
}

/// One line of the batch, in the order the user gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelEntry {
    Valid(String),
    Invalid { id: String, reason: InvalidModel },
}

impl ModelEntry {
    pub fn id(&self) -> &str {
        match self {
            Self::Valid(id) | Self::Invalid { id, .. } => id,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    #[error("no model given")]
    Empty,
    #[error("{count} models given, at most {max} are allowed per query")]
    TooMany { count: usize, max: usize },
}

/// Checks one model id: `owner/name`, each part starting with a letter or digit and made of
/// `A-Z a-z 0-9 - _ .`, no `..`, at most 128 characters. The id only ever travels in a JSON
/// body, but a strict shape keeps odd input out of logs, pages and the database.
pub fn validate_model_id(id: &str) -> Result<(), InvalidModel> {
    if id.chars().count() > MAX_MODEL_ID_CHARS {
        return Err(InvalidModel::TooLong);
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if !id.chars().all(|c| allowed(c) || c == '/') {
        return Err(InvalidModel::BadCharacter);
    }
    let mut parts = id.split('/');
    let (Some(owner), Some(name), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(InvalidModel::NotOwnerSlashName);
    };
    let starts_well = |part: &str| part.starts_with(|c: char| c.is_ascii_alphanumeric());
    if !starts_well(owner) || !starts_well(name) {
        return Err(InvalidModel::NotOwnerSlashName);
    }
    if id.contains("..") {
        return Err(InvalidModel::DotDot);
    }
    Ok(())
}

/// A refused id as it may be shown, stored and exported: control characters and the invisible
/// characters that reorder or hide text (bidi controls, zero-width marks) are written as
/// `\u{…}`, so a refused id can never ring a terminal, break a CSV row or spoof a page.
pub fn escape_invisible(id: &str) -> String {
    let invisible = |c: char| {
        c.is_control()
            || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
    };
    if !id.chars().any(invisible) {
        return id.to_owned();
    }
    id.chars()
        .map(|c| {
            if invisible(c) {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Splits free text on commas, whitespace and newlines (the form field and the old string API).
pub fn split_model_text(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| c == ',' || c == '，' || c.is_whitespace())
}

/// Trims, drops empties, de-duplicates keeping the first occurrence, validates each id and
/// enforces the per-query maximum (counted after de-duplication).
pub fn prepare_models<'a>(
    raw: impl IntoIterator<Item = &'a str>,
    max: usize,
) -> Result<Vec<ModelEntry>, BatchError> {
    let mut seen = HashSet::new();
    let entries: Vec<ModelEntry> = raw
        .into_iter()
        .map(str::trim)
        .filter(|id| !id.is_empty() && seen.insert(*id))
        .map(|id| match validate_model_id(id) {
            Ok(()) => ModelEntry::Valid(id.to_owned()),
            Err(reason) => ModelEntry::Invalid {
                id: escape_invisible(id),
                reason,
            },
        })
        .collect();
    match entries.len() {
        0 => Err(BatchError::Empty),
        count if count > max => Err(BatchError::TooMany { count, max }),
        _ => Ok(entries),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_real_model_ids() {
        for id in [
            "Qwen/Qwen2.5-72B-Instruct",
            "ZhipuAI/GLM-4.7",
            "deepseek-ai/DeepSeek-V3.1",
            "moonshotai/Kimi-K2-Instruct-0905",
            "a/b",
        ] {
            assert_eq!(validate_model_id(id), Ok(()), "{id}");
        }
    }

    #[test]
    fn refuses_odd_ids() {
        use InvalidModel::*;
        let cases = [
            ("Qwen", NotOwnerSlashName),
            ("/name", NotOwnerSlashName),
            ("owner/", NotOwnerSlashName),
            ("a/b/c", NotOwnerSlashName),
            ("-a/b", NotOwnerSlashName),
            ("a/.b", NotOwnerSlashName),
            ("a/b..c", DotDot),
            ("a/b?x=1", BadCharacter),
            ("a/b#x", BadCharacter),
            ("a@b/c", BadCharacter),
            ("a/b\r\nX: y", BadCharacter),
            ("a/b\0", BadCharacter),
            ("a/<script>", BadCharacter),
            ("Qwen/通义", BadCharacter),
            ("a/b c", BadCharacter),
        ];
        for (id, reason) in cases {
            assert_eq!(validate_model_id(id), Err(reason), "{id:?}");
        }
        assert_eq!(
            validate_model_id(&format!("a/{}", "b".repeat(127))),
            Err(TooLong)
        );
        assert_eq!(validate_model_id(&format!("a/{}", "b".repeat(126))), Ok(()));
    }

    #[test]
    fn prepare_trims_dedupes_and_keeps_order() {
        let entries = prepare_models(split_model_text(" b/x, a/y\n\nb/x，c/z  a/y "), 10).unwrap();
        let ids: Vec<_> = entries.iter().map(ModelEntry::id).collect();
        assert_eq!(ids, ["b/x", "a/y", "c/z"]);
    }

    #[test]
    fn prepare_refuses_empty_and_too_many() {
        assert_eq!(prepare_models(["", "  "], 10), Err(BatchError::Empty));
        let many: Vec<String> = (0..11).map(|i| format!("o/m{i}")).collect();
        assert_eq!(
            prepare_models(many.iter().map(String::as_str), 10),
            Err(BatchError::TooMany { count: 11, max: 10 })
        );
        // Duplicates do not count against the limit.
        let repeated = vec!["o/m"; 100];
        assert_eq!(prepare_models(repeated, 1).unwrap().len(), 1);
    }

    #[test]
    fn refused_ids_are_kept_with_control_and_invisible_characters_escaped() {
        let entries = prepare_models(["a/b\u{7}c", "x/\u{202E}gpj", "a/\u{1b}[31m"], 10).unwrap();
        let ids: Vec<_> = entries.iter().map(ModelEntry::id).collect();
        assert_eq!(ids, ["a/b\\u{7}c", "x/\\u{202e}gpj", "a/\\u{1b}[31m"]);
        for id in ids {
            assert!(!id.chars().any(char::is_control), "{id:?}");
        }
        assert_eq!(escape_invisible("Qwen/通义"), "Qwen/通义");
    }

    #[test]
    fn invalid_ids_become_entries_not_errors() {
        let entries = prepare_models(["a/b", "bad id?"], 10).unwrap();
        assert_eq!(entries[0], ModelEntry::Valid("a/b".into()));
        assert!(matches!(entries[1], ModelEntry::Invalid { .. }));
    }
}
