//! The query string of `/history` and `/history/export`: parsed here, so a nonsense value is a
//! 400 page that names the field, never a routing error; and said again in links. Each filter
//! is read on its own: one that is wrong is named, and the others stay as they were asked for.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use rocket::form::FromForm;
use rusqlite::Connection;
use time::Date;

use crate::clock;
use crate::db::DbError;
use crate::db::history::{
    self as store, HistoryFilter, MAX_MODEL_MATCHES, RunKind, RunStatus, Source,
};
use crate::ids::{KeyId, PresetId, RunId, UserId};
use crate::modelscope::model_id::MAX_MODEL_ID_CHARS;
use crate::web::kit::notice::{Notice, NoticeCode};
use crate::web::kit::params::choice;

/// Runs on one page of `/history`.
pub const PAGE_SIZE: i64 = 50;

/// What a query value may leave unencoded (RFC 3986 unreserved characters).
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

crate::closed_set! {
    /// How the list shows scheduled free checks: one row per key and day, or each on its own.
    #[derive(Default)]
    pub enum ChecksShown { #[default] Day, Each }
}

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
    pub kind: Option<String>,
    pub source: Option<String>,
    pub status: Option<String>,
    pub checks: Option<String>,
    pub format: Option<String>,
}

/// Filters that parsed: what to ask the store, and how to say it again in links.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters {
    pub key: Option<KeyId>,
    pub preset: Option<PresetId>,
    /// A model id or a part of one, as typed (trimmed).
    pub model: Option<String>,
    pub from: Option<Date>,
    pub to: Option<Date>,
    pub kind: Option<RunKind>,
    pub source: Option<Source>,
    pub status: Option<RunStatus>,
    pub checks: ChecksShown,
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

/// A value of a closed set (trimmed, any case), or none.
fn parse_choice<T: std::str::FromStr>(raw: Option<&str>, field: &str) -> Result<Option<T>, Notice> {
    match present(raw) {
        None => Ok(None),
        Some(text) => choice(Some(text)).map(Some).ok_or_else(|| bad(field)),
    }
}

/// A model id or a part of one: what an id may hold (letters, digits, `-_.` and one `/`), so a
/// part that no id can contain is said to be wrong rather than matching nothing.
fn parse_model(raw: Option<&str>) -> Result<Option<String>, Notice> {
    let Some(part) = present(raw) else {
        return Ok(None);
    };
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/');
    let fits = part.chars().count() <= MAX_MODEL_ID_CHARS
        && part.chars().all(allowed)
        && part.matches('/').count() <= 1;
    if fits {
        Ok(Some(part.to_owned()))
    } else {
        Err(bad("model"))
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

/// Keeps a parsed value, or the first refusal (the value then counts as not given).
fn keep<T>(parsed: Result<Option<T>, Notice>, refused: &mut Option<Notice>) -> Option<T> {
    match parsed {
        Ok(value) => value,
        Err(notice) => {
            refused.get_or_insert(notice);
            None
        }
    }
}

impl Filters {
    /// Every filter that parsed, and the first that did not: the list is refused then, but the
    /// form keeps the others (a bad model part does not lose the chosen key).
    pub fn parse(query: &HistoryQuery) -> (Self, Option<Notice>) {
        let mut refused = None;
        let key = keep(parse_id(query.key.as_deref(), "key"), &mut refused);
        let preset = keep(parse_id(query.preset.as_deref(), "preset"), &mut refused);
        let model = keep(parse_model(query.model.as_deref()), &mut refused);
        let mut from = keep(parse_date(query.from.as_deref(), "from"), &mut refused);
        let mut to = keep(parse_date(query.to.as_deref(), "to"), &mut refused);
        if to.is_some_and(|to| to.next_day().is_none()) {
            refused.get_or_insert(bad("to"));
            to = None;
        }
        if let (Some(start), Some(end)) = (from, to)
            && start > end
        {
            refused.get_or_insert(bad("from_after_to"));
            (from, to) = (None, None);
        }
        // A census is stored as a probe run: the list filters by what is stored.
        let kind = keep(
            parse_choice(query.kind.as_deref(), "kind").and_then(|kind| match kind {
                Some(RunKind::Census) => Err(bad("kind")),
                kind => Ok(kind),
            }),
            &mut refused,
        );
        let source = keep(
            parse_choice(query.source.as_deref(), "source"),
            &mut refused,
        );
        let status = keep(
            parse_choice(query.status.as_deref(), "status"),
            &mut refused,
        );
        let checks = keep(
            parse_choice(query.checks.as_deref(), "checks"),
            &mut refused,
        );
        let filters = Self {
            key,
            preset,
            model,
            from,
            to,
            kind,
            source,
            status,
            checks: checks.unwrap_or_default(),
        };
        (filters, refused)
    }

    /// The store's filter: dates as `[from 00:00+08, to + 1 day 00:00+08)`, and the model part
    /// as the user's stored ids that contain it. `Ok(Err(_))`: the part is in too many ids.
    /// `folded`: scheduled checks one row a key and day (the list, unless each was asked for).
    pub fn to_store(
        &self,
        conn: &Connection,
        user_id: UserId,
        folded: bool,
    ) -> Result<Result<HistoryFilter, Notice>, DbError> {
        let models = match &self.model {
            None => None,
            Some(part) => {
                let found = store::models_matching(conn, user_id, part)?;
                if found.len() > MAX_MODEL_MATCHES {
                    return Ok(Err(Notice::new(NoticeCode::ModelTooMany)
                        .with_name(part.clone())
                        .with_n(MAX_MODEL_MATCHES as i64)
                        .on("filter-model")));
                }
                Some(found)
            }
        };
        Ok(Ok(HistoryFilter {
            api_key_id: self.key,
            preset_id: self.preset,
            models,
            from: self.from.map(clock::midnight),
            to: self.to.and_then(Date::next_day).map(clock::midnight),
            kind: self.kind,
            source: self.source,
            status: self.status,
            folded: folded && self.checks == ChecksShown::Day,
        }))
    }

    /// Whether any filter narrows the runs (how checks are shown does not).
    pub fn is_empty(&self) -> bool {
        *self
            == Self {
                checks: self.checks,
                ..Self::default()
            }
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
        if let Some(kind) = self.kind {
            pairs.push(("kind", kind.to_string()));
        }
        if let Some(source) = self.source {
            pairs.push(("source", source.to_string()));
        }
        if let Some(status) = self.status {
            pairs.push(("status", status.to_string()));
        }
        if self.checks != ChecksShown::default() {
            pairs.push(("checks", self.checks.to_string()));
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
mod tests;
