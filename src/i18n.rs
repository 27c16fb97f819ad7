//! The words the app says, in Chinese (the default) and English, from `locales/<lang>/*.ftl`
//! (Fluent). Pages and API messages take their text from here; Rust code names a message by
//! its id and passes the numbers and names to fill in.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{LazyLock, RwLock};

use fluent_templates::fluent_bundle::FluentValue;
use fluent_templates::{LanguageIdentifier, Loader, static_loader};

static_loader! {
    static LOCALES = {
        locales: "./locales",
        fallback_language: "zh-CN",
        // Fluent wraps every placeable in Unicode isolation marks by default; the pages set
        // `dir` themselves and the marks would end up in JSON messages and CSV cells.
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

/// A language the app speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Zh,
    En,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::Zh, Lang::En];

    /// The BCP 47 tag, as in `<html lang>` and the locale directory name.
    pub fn tag(self) -> &'static str {
        match self {
            Self::Zh => "zh-CN",
            Self::En => "en",
        }
    }

    /// `zh`, `zh-CN`, `en-US`, … (case-insensitive); anything else is `None`.
    pub fn parse(text: &str) -> Option<Self> {
        let primary = text.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "zh" => Some(Self::Zh),
            "en" => Some(Self::En),
            _ => None,
        }
    }

    /// The first language of an `Accept-Language` header the app speaks, by quality.
    pub fn from_accept_language(header: &str) -> Option<Self> {
        let mut offers: Vec<(f32, Self)> = header
            .split(',')
            .filter_map(|part| {
                let mut pieces = part.split(';');
                let lang = Self::parse(pieces.next()?)?;
                let quality = pieces
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok())?;
                (quality > 0.0).then_some((quality, lang))
            })
            .collect();
        // Stable: of equal quality, the one listed first wins.
        offers.sort_by(|a, b| b.0.total_cmp(&a.0));
        offers.first().map(|(_, lang)| *lang)
    }

    fn id(self) -> &'static LanguageIdentifier {
        static IDS: LazyLock<[LanguageIdentifier; 2]> = LazyLock::new(|| {
            // Both tags are constants that always parse.
            Lang::ALL.map(|lang| lang.tag().parse().unwrap_or_default())
        });
        &IDS[self as usize]
    }
}

/// A value to fill into a message.
#[derive(Debug, Clone)]
pub enum Arg<'a> {
    Text(Cow<'a, str>),
    Number(f64),
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(text: &'a str) -> Self {
        Self::Text(Cow::Borrowed(text))
    }
}

impl From<String> for Arg<'_> {
    fn from(text: String) -> Self {
        Self::Text(Cow::Owned(text))
    }
}

impl<'a> From<&'a String> for Arg<'a> {
    fn from(text: &'a String) -> Self {
        Self::Text(Cow::Borrowed(text))
    }
}

macro_rules! number_arg {
    ($($t:ty),*) => {$(
        impl From<$t> for Arg<'_> {
            fn from(n: $t) -> Self {
                Self::Number(n as f64)
            }
        }
    )*};
}
number_arg!(i64, u64, usize, u16, u32, f64);

/// Anything a template passes as a message variable, however many references deep.
pub trait ToArg {
    /// Borrows text: a message is formatted while its arguments are alive.
    fn to_arg(&self) -> Arg<'_>;
}

impl ToArg for str {
    fn to_arg(&self) -> Arg<'_> {
        Arg::Text(Cow::Borrowed(self))
    }
}

impl ToArg for String {
    fn to_arg(&self) -> Arg<'_> {
        Arg::Text(Cow::Borrowed(self))
    }
}

impl<T: ToArg + ?Sized> ToArg for &T {
    fn to_arg(&self) -> Arg<'_> {
        (**self).to_arg()
    }
}

macro_rules! number_to_arg {
    ($($t:ty),*) => {$(
        impl ToArg for $t {
            fn to_arg(&self) -> Arg<'_> {
                Arg::Number(*self as f64)
            }
        }
    )*};
}
number_to_arg!(i64, u64, usize, u16, u32, f64);

/// What a lookup without variables gave, per language and message id, kept for the server's
/// life: a page asks for the same few hundred again and again, and asking the loader (language
/// negotiation, two hash lookups, the pattern walk) was a sixth of a history page's time.
struct Remembered<V>([RwLock<HashMap<String, V>>; 2]);

impl<V: Clone> Remembered<V> {
    /// Ids are the app's own (a few hundred); the cap only keeps a bug from growing it.
    const MAX: usize = 4096;

    fn new() -> Self {
        Self(Lang::ALL.map(|_| RwLock::new(HashMap::new())))
    }

    fn get_or(&self, lang: Lang, id: &str, look_up: impl FnOnce() -> V) -> V {
        let cache = &self.0[lang as usize];
        if let Some(found) = cache.read().ok().and_then(|known| known.get(id).cloned()) {
            return found;
        }
        let found = look_up();
        if let Ok(mut known) = cache.write()
            && known.len() < Self::MAX
        {
            known.insert(id.to_owned(), found.clone());
        }
        found
    }
}

/// The message `id` in `lang`.
pub fn text(lang: Lang, id: &str) -> String {
    static PLAIN: LazyLock<Remembered<String>> = LazyLock::new(Remembered::new);
    PLAIN.get_or(lang, id, || format(lang, id, None))
}

/// `id` in `lang`, else in Chinese (the fallback), else the loader's "unknown key" text. The
/// two languages are asked for directly: the loader's own lookup negotiates them every time.
fn format(
    lang: Lang,
    id: &str,
    args: Option<&HashMap<Cow<'static, str>, FluentValue<'_>>>,
) -> String {
    LOCALES
        .lookup_single_language(lang.id(), id, args)
        .or_else(|error| match lang {
            Lang::Zh => Err(error),
            _ => LOCALES.lookup_single_language(Lang::Zh.id(), id, args),
        })
        .unwrap_or_else(|_| match args {
            Some(args) => LOCALES.lookup_with_args(lang.id(), id, args),
            None => LOCALES.lookup(lang.id(), id),
        })
}

/// The message `id` in `lang` with its variables filled in.
pub fn text_with(lang: Lang, id: &str, args: &[(&'static str, Arg<'_>)]) -> String {
    let args: HashMap<Cow<'static, str>, FluentValue<'_>> = args
        .iter()
        .map(|(name, value)| {
            let value = match value {
                Arg::Text(text) => FluentValue::from(text.as_ref()),
                Arg::Number(n) => FluentValue::from(*n),
            };
            (Cow::Borrowed(*name), value)
        })
        .collect();
    format(lang, id, Some(&args))
}

/// Whether `id` exists in `lang` itself (not through the fallback). Remembered like [`text`]:
/// a results table asks it for every row.
pub fn has(lang: Lang, id: &str) -> bool {
    static KNOWN: LazyLock<Remembered<bool>> = LazyLock::new(Remembered::new);
    KNOWN.get_or(lang, id, || {
        // Asked without its arguments, a message with placeables formats with errors but
        // exists; the crate does not export its error type, so the kind is told by its text.
        match LOCALES.lookup_single_language::<&str>(lang.id(), id, None) {
            Ok(_) => true,
            Err(error) => error.to_string().starts_with("Fluent errors"),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_remembered_message_is_the_one_the_loader_formats() {
        for lang in Lang::ALL {
            let first = text(lang, "nav-dashboard");
            assert_eq!(first, LOCALES.lookup(lang.id(), "nav-dashboard"));
            assert_eq!(text(lang, "nav-dashboard"), first);
        }
        assert_eq!(text(Lang::En, "nav-dashboard"), "Overview");
        assert!(text(Lang::En, "no-such-message").contains("no-such-message"));
        let with = text_with(
            Lang::En,
            "dash-grant",
            &[("hours", 3_i64.into()), ("minutes", 4_i64.into())],
        );
        assert!(with.contains("3 h 4 min"), "{with}");
    }
    use std::collections::BTreeSet;
    use std::path::Path;

    fn files_under(dir: &Path, ext: &str, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("read_dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                files_under(&path, ext, out);
            } else if path.extension().is_some_and(|e| e == ext) {
                out.push(path);
            }
        }
    }

    /// The message ids defined in one language's `.ftl` files.
    fn ids_of(lang: Lang) -> BTreeSet<String> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("locales")
            .join(lang.tag());
        let mut files = Vec::new();
        files_under(&dir, "ftl", &mut files);
        files
            .iter()
            .flat_map(|file| {
                std::fs::read_to_string(file)
                    .expect("read ftl")
                    .lines()
                    .filter(|line| line.starts_with(|c: char| c.is_ascii_alphabetic()))
                    .filter_map(|line| line.split_once('=').map(|(id, _)| id.trim().to_owned()))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    #[test]
    fn both_languages_define_the_same_messages() {
        let zh = ids_of(Lang::Zh);
        let en = ids_of(Lang::En);
        let only_zh: Vec<_> = zh.difference(&en).collect();
        let only_en: Vec<_> = en.difference(&zh).collect();
        assert!(only_zh.is_empty(), "missing in English: {only_zh:?}");
        assert!(only_en.is_empty(), "missing in Chinese: {only_en:?}");
        assert!(!zh.is_empty());
    }

    #[test]
    fn every_message_a_template_asks_for_exists_in_both_languages() {
        let mut templates = Vec::new();
        files_under(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("templates"),
            "html",
            &mut templates,
        );
        let mut asked = BTreeSet::new();
        for file in templates {
            let text = std::fs::read_to_string(&file).expect("read template");
            for call in [".t(\"", ".t1(\"", ".tn(\"", ".t2(\"", ".t3(\""] {
                for (at, _) in text.match_indices(call) {
                    let rest = &text[at + call.len()..];
                    if let Some(end) = rest.find('"') {
                        asked.insert(rest[..end].to_owned());
                    }
                }
            }
        }
        for id in &asked {
            for lang in Lang::ALL {
                assert!(has(lang, id), "{id} is not in {}", lang.tag());
            }
        }
    }

    /// ModelScope calls its keys 访问令牌 (access tokens); this app's own tokens are API 令牌
    /// (API tokens). A message that says the first always says whose it is.
    #[test]
    fn the_two_kinds_of_token_are_never_confused() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("locales");
        for (lang, theirs) in [("zh-CN", "访问令牌"), ("en", "access token")] {
            let mut files = Vec::new();
            files_under(&root.join(lang), "ftl", &mut files);
            for file in files {
                let text = std::fs::read_to_string(&file).expect("read locale");
                for line in text.lines().filter(|l| !l.starts_with('#')) {
                    if line.to_lowercase().contains(theirs) {
                        assert!(
                            line.contains("ModelScope") || line.contains("魔搭"),
                            "{}: says {theirs} without saying it is ModelScope's: {line}",
                            file.display()
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn every_error_code_and_reason_has_words() {
        for lang in Lang::ALL {
            for code in crate::modelscope::ErrorCode::ALL {
                assert!(has(lang, &format!("code-{}", code.as_str())), "{code:?}");
            }
            for reason in crate::modelscope::Reason::ALL {
                assert!(
                    has(lang, &format!("reason-{}", reason.as_str())),
                    "{reason:?}"
                );
            }
        }
    }

    #[test]
    fn numbers_and_plurals_fill_in() {
        assert_eq!(
            text_with(Lang::En, "api-ok", &[("ok", 1usize.into())]),
            "Queried 1 model"
        );
        assert_eq!(
            text_with(Lang::En, "api-ok", &[("ok", 3usize.into())]),
            "Queried 3 models"
        );
        assert_eq!(
            text_with(Lang::Zh, "api-ok", &[("ok", 3usize.into())]),
            "成功查询 3 个模型的余额信息"
        );
    }

    #[test]
    fn accept_language_picks_the_best_offer_we_speak() {
        assert_eq!(Lang::from_accept_language("en-US,en;q=0.9"), Some(Lang::En));
        assert_eq!(
            Lang::from_accept_language("fr;q=1, en;q=0.5, zh-CN;q=0.8"),
            Some(Lang::Zh)
        );
        assert_eq!(Lang::from_accept_language("de, fr"), None);
        assert_eq!(Lang::from_accept_language("en;q=0, zh"), Some(Lang::Zh));
        assert_eq!(Lang::from_accept_language(""), None);
    }
}
