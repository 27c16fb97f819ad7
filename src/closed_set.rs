//! Values from a closed set that are stored or sent as text (a monitor's kind, a run's source,
//! a channel's kind, …). `closed_set!` declares the enum once (each variant's text is its name
//! in snake case unless it names another) and gives it everything the edges need: `ALL`,
//! `as_str`, `parse`, `FromStr`, `Display`, serde as that text, and `ToSql`/`FromSql`. A stored
//! text that names no variant is an error when the row is read, never a silent default. A
//! renamed variant renames its text: a stored or sent one keeps the old text with
//! `= "old_text"` (`db::tests::stored_texts_do_not_change_with_a_rename` holds the stored ones,
//! `openapi::every_listed_set_is_the_apps_text_for_text` the ones the API sends).

/// A text that names no value of the set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{set}: unknown value {value:?}")]
pub struct UnknownValue {
    /// The set's name (its type).
    pub set: &'static str,
    /// What was given, cut to 64 characters.
    pub value: String,
}

impl UnknownValue {
    pub fn new(set: &'static str, value: &str) -> Self {
        Self {
            set,
            value: value.chars().take(64).collect(),
        }
    }
}

/// Declares an enum whose variants are stored as texts: a variant's name in snake case
/// (`KeyNotFound` is `"key_not_found"`) unless it says otherwise with `= "text"`. Two
/// variants with the same text do not compile.
///
/// ```text
/// crate::closed_set! {
///     /// What a monitor does on each run.
///     pub enum Kind {
///         /// The free balance only.
///         Balance = "check",
///         Probe,
///         ModelProbe,
///     }
/// }
/// assert_eq!(Kind::parse("probe"), Some(Kind::Probe));
/// assert_eq!(Kind::Balance.as_str(), "check");
/// assert_eq!(Kind::ModelProbe.as_str(), "model_probe");
/// assert_eq!(Kind::ALL.len(), 3);
/// ```
#[macro_export]
macro_rules! closed_set {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $($(#[$vmeta:meta])* $variant:ident $(= $text:literal)?),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $vis enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            #[allow(dead_code)] // a set private to a module may never need the list
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The text it is stored and sent as.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $crate::closed_set_text!($variant $(= $text)?)),+
                }
            }

            /// The value a stored or sent text names (exactly, case included).
            pub fn parse(text: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|value| value.as_str() == text)
            }
        }

        const _: () = assert!(
            $crate::closed_set::all_distinct(&[$($name::$variant.as_str()),+]),
            concat!(stringify!($name), ": two values have the same text"),
        );

        impl ::std::str::FromStr for $name {
            type Err = $crate::closed_set::UnknownValue;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                Self::parse(text)
                    .ok_or_else(|| $crate::closed_set::UnknownValue::new(stringify!($name), text))
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <::std::borrow::Cow<'de, str> as ::serde::Deserialize>::deserialize(
                    deserializer,
                )?;
                text.parse().map_err(::serde::de::Error::custom)
            }
        }

        $crate::stored_as_text!($name);
    };
}

/// A variant's text for [`closed_set!`]: the one it names, or its name in snake case, worked
/// out when the program is compiled.
#[doc(hidden)]
#[macro_export]
macro_rules! closed_set_text {
    ($variant:ident = $text:literal) => {
        $text
    };
    ($variant:ident) => {{
        const NAME: &str = stringify!($variant);
        const BYTES: [u8; $crate::closed_set::snake_case_len(NAME)] =
            $crate::closed_set::snake_case(NAME);
        const TEXT: &str = match ::core::str::from_utf8(&BYTES) {
            Ok(text) => text,
            Err(_) => panic!("a variant's name is ASCII"),
        };
        TEXT
    }};
}

/// How long `name` (ASCII camel case) is in snake case: one `_` before each capital but the
/// first.
#[doc(hidden)]
pub const fn snake_case_len(name: &str) -> usize {
    let bytes = name.as_bytes();
    let mut len = bytes.len();
    let mut i = 1;
    while i < bytes.len() {
        if bytes[i].is_ascii_uppercase() {
            len += 1;
        }
        i += 1;
    }
    len
}

/// `name` (ASCII camel case) in snake case; `N` is [`snake_case_len`] of it.
#[doc(hidden)]
pub const fn snake_case<const N: usize>(name: &str) -> [u8; N] {
    let bytes = name.as_bytes();
    let mut out = [0u8; N];
    let (mut from, mut to) = (0, 0);
    while from < bytes.len() {
        let byte = bytes[from];
        if byte.is_ascii_uppercase() && from > 0 {
            out[to] = b'_';
            to += 1;
        }
        out[to] = byte.to_ascii_lowercase();
        to += 1;
        from += 1;
    }
    out
}

/// Whether no two of `texts` are the same (checked when a set is compiled).
#[doc(hidden)]
pub const fn all_distinct(texts: &[&str]) -> bool {
    let mut i = 0;
    while i < texts.len() {
        let mut j = i + 1;
        while j < texts.len() {
            if same(texts[i].as_bytes(), texts[j].as_bytes()) {
                return false;
            }
            j += 1;
        }
        i += 1;
    }
    true
}

const fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// `ToSql`/`FromSql` as text for a type with `as_str(self) -> &'static str` and
/// `FromStr<Err = UnknownValue>`: what [`closed_set!`] gives, and what a set made of other
/// sets (an upstream code or one of our own reasons, say) writes by hand once.
#[macro_export]
macro_rules! stored_as_text {
    ($name:ty) => {
        impl ::rusqlite::types::ToSql for $name {
            fn to_sql(&self) -> ::rusqlite::Result<::rusqlite::types::ToSqlOutput<'_>> {
                Ok(::rusqlite::types::ToSqlOutput::Borrowed(
                    ::rusqlite::types::ValueRef::Text(self.as_str().as_bytes()),
                ))
            }
        }

        impl ::rusqlite::types::FromSql for $name {
            fn column_result(
                value: ::rusqlite::types::ValueRef<'_>,
            ) -> ::rusqlite::types::FromSqlResult<Self> {
                let text = value.as_str()?;
                text.parse::<$name>()
                    .map_err(|e| ::rusqlite::types::FromSqlError::Other(Box::new(e)))
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    crate::closed_set! {
        /// A set for the tests.
        enum Colour {
            Red,
            /// Documented variants keep their docs.
            Green,
            DeepSkyBlue,
            Grey = "gray",
        }
    }

    #[test]
    fn a_text_is_the_name_in_snake_case_unless_it_is_given() {
        let texts: Vec<_> = Colour::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(texts, ["red", "green", "deep_sky_blue", "gray"]);
        assert_eq!(Colour::parse("deep_sky_blue"), Some(Colour::DeepSkyBlue));
        assert_eq!(
            Colour::parse("grey"),
            None,
            "a given text replaces the name"
        );
    }

    #[test]
    fn snake_case_is_worked_out_byte_by_byte() {
        const NAME: &str = "KeyNeedsReentry";
        let bytes: [u8; super::snake_case_len(NAME)] = super::snake_case(NAME);
        assert_eq!(std::str::from_utf8(&bytes), Ok("key_needs_reentry"));
        assert_eq!(super::snake_case_len("X"), 1);
        assert_eq!(super::snake_case::<5>("Http2"), *b"http2");
    }

    #[test]
    fn two_values_with_one_text_are_caught() {
        assert!(super::all_distinct(&["a", "b", "ab"]));
        assert!(!super::all_distinct(&["a", "b", "a"]));
        assert!(super::all_distinct(&[]));
    }

    #[test]
    fn every_value_round_trips_through_its_text() {
        for colour in Colour::ALL {
            assert_eq!(Colour::parse(colour.as_str()), Some(*colour));
            assert_eq!(colour.to_string(), colour.as_str());
            assert_eq!(colour.as_str().parse::<Colour>(), Ok(*colour));
        }
        assert_eq!(Colour::parse("Red"), None, "exact text only");
        let refused = "blue".parse::<Colour>().unwrap_err();
        assert_eq!(refused.to_string(), "Colour: unknown value \"blue\"");
    }

    #[test]
    fn serde_uses_the_text() {
        assert_eq!(serde_json::to_string(&Colour::Green).unwrap(), "\"green\"");
        assert_eq!(
            serde_json::from_str::<Colour>("\"red\"").unwrap(),
            Colour::Red
        );
        assert!(serde_json::from_str::<Colour>("\"blue\"").is_err());
    }

    #[test]
    fn an_unknown_stored_value_is_an_error_not_a_default() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (c TEXT NOT NULL)")
            .unwrap();
        conn.execute("INSERT INTO t (c) VALUES (?1)", [Colour::Green])
            .unwrap();
        let read: Colour = conn.query_row("SELECT c FROM t", [], |r| r.get(0)).unwrap();
        assert_eq!(read, Colour::Green);
        conn.execute("UPDATE t SET c = 'blue'", []).unwrap();
        let read = conn.query_row("SELECT c FROM t", [], |r| r.get::<_, Colour>(0));
        let error = read.unwrap_err().to_string();
        assert!(error.contains("unknown value \"blue\""), "{error}");
    }
}
