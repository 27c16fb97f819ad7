//! The SQL of a listing: which index drives it, and the conditions that keep to the filter.

use rusqlite::types::Value;

use super::{Direction, HistoryFilter};
use crate::db::history::{RunKind, Source};
use crate::ids::{RunId, UserId};

/// Which index walks a listing: the one that serves its most selective filter, so a page reads
/// about as many rows as it shows. Every choice is ordered by `(started_at DESC, id DESC)`
/// within each value of the columns before the time; several values (`IN`) are read range by
/// range, each stopping once the page is full (SQLite's ordered `IN` with `LIMIT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Driver {
    /// `query_results_by_user_model_time`: one user's rows of the models, newest first.
    Model,
    /// A key's runs (`queries_listed_by_key`: by status and head; `queries_by_key_time`: all),
    /// once the key is known to be the user's.
    Key,
    /// `queries_by_preset_time`, once the preset is known to be the user's.
    Preset,
    /// `queries_by_user_class`: the user's runs by source, kind, status and head.
    Class,
    /// Every run of the user (`queries_listed_by_user_time`, folded: the listed ones).
    User,
}

impl Driver {
    pub(super) fn for_filter(filter: &HistoryFilter) -> Self {
        let by_kind_or_source = filter.kind.is_some() || filter.source.is_some();
        if filter.models.is_some() {
            Self::Model
        } else if filter.api_key_id.is_some() && by_kind_or_source {
            // A key's runs of a kind or source: the user's runs of that kind or source, the
            // key's among them about one in as many keys as the user has (a key's own runs
            // would be walked past every run of the other kinds and sources).
            Self::Class
        } else if filter.api_key_id.is_some() {
            Self::Key
        } else if filter.preset_id.is_some() {
            Self::Preset
        } else if filter.has_class() {
            Self::Class
        } else {
            Self::User
        }
    }

    /// The index it walks, and whether that index leads with status and head (after the
    /// key): a key's runs by status, or its folded list, are a few ranges of it.
    fn index(self, filter: &HistoryFilter) -> (&'static str, bool) {
        let by_status = filter.folded || filter.status.is_some();
        match self {
            Self::Model => ("query_results_by_user_model_time", false),
            Self::Key if by_status => ("queries_listed_by_key", true),
            Self::Key => ("queries_by_key_time", false),
            Self::Preset => ("queries_by_preset_time", false),
            Self::Class => ("queries_by_user_class", true),
            Self::User if filter.folded => ("queries_listed_by_user_time", false),
            Self::User => ("queries_by_user_time", false),
        }
    }
}

/// `column = ?` or `column IN (?, …)`, with the values added to `args`.
fn one_of(column: &str, values: Vec<Value>, args: &mut Vec<Value>) -> String {
    let count = values.len();
    args.extend(values);
    if count == 1 {
        format!("{column} = ?")
    } else {
        format!("{column} IN ({})", vec!["?"; count].join(", "))
    }
}

/// `column = n` or `column IN (n, …)` with the numbers written in: a partial index's condition
/// (`head = 2`) is only used when the query says it in so many words.
fn one_of_literal(column: &str, values: &[i64]) -> String {
    let list: Vec<String> = values.iter().map(i64::to_string).collect();
    if list.len() == 1 {
        format!("{column} = {}", list[0])
    } else {
        format!("{column} IN ({})", list.join(", "))
    }
}

/// A list of model ids padded to the next power of two (repeating the last), so the statement
/// cache holds a few shapes rather than one per count.
fn padded(models: &[String]) -> Vec<String> {
    let mut list = models.to_vec();
    if let Some(last) = models.last() {
        list.resize(models.len().next_power_of_two(), last.clone());
    }
    list
}

fn texts(values: &[impl AsRef<str>]) -> Vec<Value> {
    values
        .iter()
        .map(|v| Value::Text(v.as_ref().to_owned()))
        .collect()
}

/// The SQL of one listing and its arguments. The driving index is named (`INDEXED BY`) so the
/// plan cannot drift to an index that walks the whole history for a rare key or model. A key or
/// preset filter starts from that key's or preset's own row, the user's or none (`CROSS JOIN`
/// keeps those first), so another user's id costs a lookup, not a walk of their runs. Nothing
/// is joined after the driver: SQLite stops reading each range of an `IN` list once the page
/// is full only when that range is the innermost loop. With a model filter, `model` is the
/// model whose rows drive (one of `filter.models`; several are merged by `super::merge`).
pub(super) fn listing_sql(
    columns: &str,
    user_id: UserId,
    filter: &HistoryFilter,
    model: Option<&str>,
    cursor: Option<(i64, RunId)>,
    direction: Direction,
) -> (String, Vec<Value>) {
    let driver = Driver::for_filter(filter);
    let (index, leads_with_status) = driver.index(filter);
    let mut from: Vec<String> = Vec::new();
    let mut conditions: Vec<String> = Vec::new();
    let mut args: Vec<Value> = Vec::new();
    if let Some(key_id) = filter.api_key_id {
        from.push("api_keys k".to_owned());
        conditions.push("k.id = ? AND k.user_id = ?".to_owned());
        args.extend([key_id.into(), user_id.into()]);
    }
    if let Some(preset_id) = filter.preset_id {
        from.push("presets p".to_owned());
        conditions.push("p.id = ? AND p.user_id = ?".to_owned());
        args.extend([preset_id.into(), user_id.into()]);
    }
    // The driving table, then `queries` when it is not the driver; `time` and `id` are the
    // driver's columns that carry the order.
    let (time, id) = if driver == Driver::Model {
        let models = filter.models.as_deref().unwrap_or_default();
        from.push(format!("query_results r INDEXED BY {index}"));
        from.push("queries q".to_owned());
        conditions.push("r.user_id = ? AND r.model = ?".to_owned());
        args.push(user_id.into());
        args.push(Value::Text(model.unwrap_or_default().to_owned()));
        // A run is listed once: by its first row of the models (the model's own index for
        // one; with several, the run's earlier rows, a handful, against the list).
        let earlier = if models.len() <= 1 {
            "query_results d WHERE d.query_id = r.query_id AND d.model = r.model".to_owned()
        } else {
            let list = one_of("d.model", texts(&padded(models)), &mut args);
            format!(
                "query_results d INDEXED BY query_results_by_query WHERE d.query_id = r.query_id AND {list}"
            )
        };
        conditions.push(format!(
            "q.id = r.query_id AND q.user_id = r.user_id
             AND NOT EXISTS (SELECT 1 FROM {earlier} AND d.position < r.position)"
        ));
        ("r.started_at", "r.query_id")
    } else {
        from.push(format!("queries q INDEXED BY {index}"));
        conditions.push("q.user_id = ?".to_owned());
        args.push(user_id.into());
        ("q.started_at", "q.id")
    };
    if filter.api_key_id.is_some() {
        conditions.push("q.api_key_id = k.id".to_owned());
    }
    if filter.preset_id.is_some() {
        conditions.push("q.preset_id = p.id".to_owned());
    }
    // Source, kind, status and head: the driving index's leading columns when it has them
    // (every value listed, so its order holds), plain conditions otherwise.
    let in_index = |column: &str| match driver {
        Driver::Class => true,
        _ => leads_with_status && matches!(column, "any_failed" | "head"),
    };
    let sources = match filter.source {
        Some(source) => vec![source.as_str()],
        None if in_index("source") => Source::ALL.iter().map(|s| s.as_str()).collect(),
        None => Vec::new(),
    };
    if !sources.is_empty() {
        conditions.push(one_of("q.source", texts(&sources), &mut args));
    }
    let kinds = match filter.kind {
        Some(kind) => vec![kind.as_str()],
        None if in_index("kind") => RunKind::ALL.iter().map(|k| k.as_str()).collect(),
        None => Vec::new(),
    };
    if !kinds.is_empty() {
        conditions.push(one_of("q.kind", texts(&kinds), &mut args));
    }
    if in_index("any_failed") || filter.status.is_some() {
        conditions.push(one_of_literal("q.any_failed", &filter.any_failed()));
    }
    if in_index("head") || filter.folded {
        conditions.push(one_of_literal("q.head", filter.heads()));
    }
    let mut sql = format!(
        "SELECT {columns} FROM {} WHERE {}",
        from.join(" CROSS JOIN "),
        conditions.join(" AND ")
    );
    // A date bound on the side the walk starts from would start the index range there, and
    // the walk would step over every row between it and the cursor: the cursor replaces the
    // bound when it is the tighter one (rows past the cursor are inside the bound then), and is
    // left out when it is not (every row inside the bound is past the cursor then).
    let (mut from, mut to) = (filter.from, filter.to);
    let mut cursor = cursor;
    match (direction, cursor) {
        (Direction::Older, Some((at, _))) if to.is_some_and(|to| at < to) => to = None,
        (Direction::Older, Some(_)) if to.is_some() => cursor = None,
        (Direction::Newer, Some((at, _))) if from.is_some_and(|from| at >= from) => from = None,
        (Direction::Newer, Some(_)) if from.is_some() => cursor = None,
        _ => {}
    }
    if let Some(from) = from {
        sql.push_str(&format!(" AND {time} >= ?"));
        args.push(from.into());
    }
    if let Some(to) = to {
        sql.push_str(&format!(" AND {time} < ?"));
        args.push(to.into());
    }
    let (compare, order) = match direction {
        Direction::Older => ("<", "DESC"),
        Direction::Newer => (">", "ASC"),
    };
    if let Some((started_at, run_id)) = cursor {
        sql.push_str(&format!(" AND ({time}, {id}) {compare} (?, ?)"));
        args.push(started_at.into());
        args.push(run_id.into());
    }
    sql.push_str(&format!(" ORDER BY {time} {order}, {id} {order}"));
    (sql, args)
}
