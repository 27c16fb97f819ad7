//! The query string of `/history` and `/history/export`: parsed here, so a nonsense value is a
//! 400 page that names the field, never a routing error; and said again in links.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use rocket::form::FromForm;
use time::Date;

use crate::clock;
use crate::db::history::HistoryFilter;
use crate::ids::{KeyId, PresetId, RunId};
use crate::modelscope::validate_model_id;
use crate::web::kit::notice::{Notice, NoticeCode};

/// Runs on one page of `/history`.
pub const PAGE_SIZE: i64 = 50;

/// What a query value may leave unencoded (RFC 3986 unreserved characters).
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// The query string as typed: every field is text, so Rocket never refuses the request before
/// we can say what is wrong.
#[derive(Debug, Default, FromForm)]
pub struct HistoryQuery {
    /// An old numbered-page link: answered with a redirect to the same place by cursor.
    pub page: Option<String>,
    /// Keyset cursors: the id of the run a page continues from (older, or newer).
    pub before: Option<String>,
    pub after: Option<String>,
    pub key: Option<String>,
    pub preset: Option<String>,
    pub model: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub format: Option<String>,
}

/// Filters that parsed: what to ask the store, and how to say it again in links.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters {
    pub key: Option<KeyId>,
    pub preset: Option<PresetId>,
    pub model: Option<String>,
    pub from: Option<Date>,
    pub to: Option<Date>,
}

/// A refused filter; `field` names it for `messages.html`.
fn bad(field: &str) -> Notice {
    Notice::new(NoticeCode::BadFilter).with_name(field)
}

/// An empty field means "no filter" (a GET form sends every field).
fn present(raw: Option<&str>) -> Option<&str> {
    raw.map(str::trim).filter(|value| !value.is_empty())
}

fn parse_id<Id: std::str::FromStr>(raw: Option<&str>, field: &str) -> Result<Option<Id>, Notice> {
    match present(raw) {
        None => Ok(None),
        Some(text) => text.parse().map(Some).map_err(|_| bad(field)),
    }
}

fn parse_date(raw: Option<&str>, field: &str) -> Result<Option<Date>, Notice> {
    match present(raw) {
        None => Ok(None),
        Some(text) => clock::parse_date(text).map(Some).ok_or_else(|| bad(field)),
    }
}

/// 1-based; a page past the end is simply empty, a page that is not a page number is an error.
pub fn parse_page(raw: Option<&str>) -> Result<i64, Notice> {
    let Some(text) = present(raw) else {
        return Ok(1);
    };
    match text.parse::<i64>() {
        // The offset must fit in an i64.
        Ok(page) if (1..=i64::MAX / PAGE_SIZE).contains(&page) => Ok(page),
        _ => Err(bad("page")),
    }
}

/// Where a page of the list starts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Start {
    /// The newest runs.
    #[default]
    Newest,
    /// The runs just older than this one (`?before=`).
    Before(RunId),
    /// The runs just newer than this one (`?after=`).
    After(RunId),
    /// An old numbered-page link (`?page=N`, N > 1).
    Page(i64),
}

impl Start {
    /// A cursor is a run id; a page number only counts without one. Both cursors at once, or a
    /// cursor that is not a run id, is refused.
    pub fn parse(query: &HistoryQuery) -> Result<Self, Notice> {
        let page = parse_page(query.page.as_deref())?;
        let before = parse_id::<RunId>(query.before.as_deref(), "position")?;
        let after = parse_id::<RunId>(query.after.as_deref(), "position")?;
        Ok(match (before, after) {
            (Some(_), Some(_)) => return Err(bad("position")),
            (Some(id), None) => Self::Before(id),
            (None, Some(id)) => Self::After(id),
            (None, None) if page > 1 => Self::Page(page),
            (None, None) => Self::Newest,
        })
    }
}

impl Filters {
    pub fn parse(query: &HistoryQuery) -> Result<Self, Notice> {
        let key = parse_id(query.key.as_deref(), "key")?;
        let preset = parse_id(query.preset.as_deref(), "preset")?;
        let model = match present(query.model.as_deref()) {
            None => None,
            Some(model) => {
                validate_model_id(model).map_err(|_| bad("model"))?;
                Some(model.to_owned())
            }
        };
        let from = parse_date(query.from.as_deref(), "from")?;
        let to = parse_date(query.to.as_deref(), "to")?;
        if let (Some(from), Some(to)) = (from, to)
            && from > to
        {
            return Err(bad("from_after_to"));
        }
        if to.is_some_and(|to| to.next_day().is_none()) {
            return Err(bad("to"));
        }
        Ok(Self {
            key,
            preset,
            model,
            from,
            to,
        })
    }

    /// The store's filter: `[from 00:00+08, to + 1 day 00:00+08)`.
    pub fn to_store(&self) -> HistoryFilter {
        HistoryFilter {
            api_key_id: self.key,
            preset_id: self.preset,
            model: self.model.clone(),
            from: self.from.map(clock::midnight),
            to: self.to.and_then(Date::next_day).map(clock::midnight),
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// `key=1&model=a%2Fb…` (no page), for links that keep the filters.
    pub fn query_string(&self) -> String {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        if let Some(key) = self.key {
            pairs.push(("key", key.to_string()));
        }
        if let Some(preset) = self.preset {
            pairs.push(("preset", preset.to_string()));
        }
        if let Some(model) = &self.model {
            pairs.push(("model", model.clone()));
        }
        if let Some(from) = self.from {
            pairs.push(("from", clock::iso_date(from)));
        }
        if let Some(to) = self.to {
            pairs.push(("to", clock::iso_date(to)));
        }
        pairs
            .into_iter()
            .map(|(name, value)| format!("{name}={}", utf8_percent_encode(&value, QUERY_VALUE)))
            .collect::<Vec<_>>()
            .join("&")
    }
}

/// `path?query` with the filters, and `extra` (e.g. `page=2`) after them.
pub fn href(path: &str, filters: &str, extra: &str) -> String {
    let query: Vec<&str> = [filters, extra]
        .into_iter()
        .filter(|part| !part.is_empty())
        .collect();
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", query.join("&"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> HistoryQuery {
        let mut q = <HistoryQuery as Default>::default();
        for (name, value) in pairs {
            let value = Some((*value).to_owned());
            match *name {
                "page" => q.page = value,
                "before" => q.before = value,
                "after" => q.after = value,
                "key" => q.key = value,
                "preset" => q.preset = value,
                "model" => q.model = value,
                "from" => q.from = value,
                "to" => q.to = value,
                other => panic!("no field {other}"),
            }
        }
        q
    }

    #[test]
    fn pages() {
        assert_eq!(parse_page(None), Ok(1));
        assert_eq!(parse_page(Some("")), Ok(1));
        assert_eq!(parse_page(Some("3")), Ok(3));
        for bad in [
            "0",
            "-1",
            "abc",
            "1.5",
            "99999999999999999999",
            &(i64::MAX / PAGE_SIZE + 1).to_string(),
        ] {
            assert_eq!(parse_page(Some(bad)), Err(super::bad("page")), "{bad}");
        }
    }

    #[test]
    fn cursors() {
        assert_eq!(Start::parse(&query(&[])), Ok(Start::Newest));
        assert_eq!(Start::parse(&query(&[("page", "1")])), Ok(Start::Newest));
        assert_eq!(Start::parse(&query(&[("page", "4")])), Ok(Start::Page(4)));
        assert_eq!(
            Start::parse(&query(&[("before", "17")])),
            Ok(Start::Before(RunId(17)))
        );
        assert_eq!(
            Start::parse(&query(&[("after", " 9 ")])),
            Ok(Start::After(RunId(9)))
        );
        // A cursor says where the page is: a page number beside it is ignored.
        assert_eq!(
            Start::parse(&query(&[("page", "4"), ("before", "17")])),
            Ok(Start::Before(RunId(17)))
        );
        assert_eq!(Start::parse(&query(&[("before", "")])), Ok(Start::Newest));
        for bad in ["0", "-3", "abc", "1.5", "99999999999999999999", "1;2"] {
            for name in ["before", "after"] {
                assert_eq!(
                    Start::parse(&query(&[(name, bad)])),
                    Err(super::bad("position")),
                    "{name}={bad}"
                );
            }
        }
        assert_eq!(
            Start::parse(&query(&[("before", "3"), ("after", "5")])),
            Err(super::bad("position"))
        );
        // A bad page number is still named as such.
        assert_eq!(
            Start::parse(&query(&[("page", "x"), ("before", "3")])),
            Err(super::bad("page"))
        );
    }

    #[test]
    fn dates_are_beijing_days() {
        let filters =
            Filters::parse(&query(&[("from", "2026-01-01"), ("to", "2026-01-01")])).unwrap();
        let store = filters.to_store();
        // 2026-01-01 00:00 +08 is 2025-12-31 16:00 UTC.
        assert_eq!(store.from, Some(1_767_196_800));
        assert_eq!(store.to, Some(1_767_196_800 + 86_400));
        assert_eq!(filters.query_string(), "from=2026-01-01&to=2026-01-01");
    }

    #[test]
    fn nonsense_names_the_field() {
        let cases = [
            (("from", "2026-13-45"), "from"),
            (("to", "yesterday"), "to"),
            (("key", "abc"), "key"),
            (("key", "-3"), "key"),
            (("preset", "1e3"), "preset"),
            (("model", "<script>"), "model"),
            (("model", "a/b/c"), "model"),
        ];
        for ((name, value), field) in cases {
            assert_eq!(
                Filters::parse(&query(&[(name, value)])),
                Err(super::bad(field)),
                "{name}={value}"
            );
        }
        assert_eq!(
            Filters::parse(&query(&[("from", "2026-02-02"), ("to", "2026-02-01")])),
            Err(super::bad("from_after_to"))
        );
    }

    #[test]
    fn empty_fields_are_no_filter() {
        let filters = Filters::parse(&query(&[
            ("key", ""),
            ("preset", " "),
            ("model", ""),
            ("from", ""),
            ("to", ""),
        ]))
        .unwrap();
        assert!(filters.is_empty());
        assert_eq!(filters.query_string(), "");
    }

    #[test]
    fn links_keep_the_filters() {
        let filters = Filters::parse(&query(&[
            ("key", "7"),
            ("preset", "9"),
            ("model", "Qwen/Qwen2.5-7B"),
        ]))
        .unwrap();
        let filter_query = filters.query_string();
        assert_eq!(filter_query, "key=7&preset=9&model=Qwen%2FQwen2.5-7B");
        assert_eq!(
            href("/history", &filter_query, "page=2"),
            "/history?key=7&preset=9&model=Qwen%2FQwen2.5-7B&page=2"
        );
        assert_eq!(href("/history", "", "page=2"), "/history?page=2");
        assert_eq!(href("/history", "", ""), "/history");
    }
}
