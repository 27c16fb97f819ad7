//! One row of the `/history` ledger: a run with its kind, source, the points available after
//! it and what it spent; or, with scheduled checks folded, a key's free checks of one day (the
//! newest check stands for them) with their count, failures, lowest and highest points and a
//! link to each of them.

use super::filters::{ChecksShown, Filters, href};
use crate::clock;
use crate::db::history::{RunKind, RunStatus, RunSummary, Source};
use crate::ids::RunId;
use crate::web::kit::view::points;

pub struct RunRow {
    pub id: RunId,
    pub time: String,
    /// `None`: a pasted key.
    pub key_label: Option<String>,
    /// As shown: a census (stored as a probe run) is its own kind here.
    pub kind: RunKind,
    pub source: Source,
    pub preset_name: Option<String>,
    pub ok_count: i64,
    pub failed_count: i64,
    /// Available points read after the run (`None`: not read).
    pub available: Option<String>,
    pub spent: Option<String>,
    /// The day this run stands for, in a folded list.
    pub day: Option<DayRow>,
}

/// A key's scheduled free checks of one day.
pub struct DayRow {
    pub runs: i64,
    pub low: Option<String>,
    pub high: Option<String>,
    /// The list of that day's checks, one row each.
    pub href: String,
}

impl RunRow {
    /// `status`: the list's status filter, kept in the link to a day's checks.
    pub fn from_summary(run: &RunSummary, status: Option<RunStatus>) -> Self {
        let (ok_count, failed_count) = match run.day {
            Some(day) => (day.runs - day.failed_runs, day.failed_runs),
            None => (run.ok_count, run.failed_count),
        };
        Self {
            id: run.id,
            time: clock::minutes(run.started_at),
            key_label: run.key_label.clone(),
            kind: match (run.kind, run.census) {
                (RunKind::Probe, true) => RunKind::Census,
                (kind, _) => kind,
            },
            source: run.source,
            preset_name: run.preset_name.clone(),
            ok_count,
            failed_count,
            available: run.balance.available.map(points),
            spent: run.points_spent.map(points),
            day: run.day.map(|day| {
                let date = clock::date_of(day.day);
                let each = Filters {
                    key: run.api_key_id,
                    from: date,
                    to: date,
                    kind: Some(RunKind::Check),
                    source: Some(Source::Schedule),
                    status,
                    checks: ChecksShown::Each,
                    ..Filters::default()
                };
                DayRow {
                    runs: day.runs,
                    low: day.low.map(points),
                    high: day.high.map(points),
                    href: href("/history", &each.query_string(), ""),
                }
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::check_days::CheckDay;
    use crate::db::history::StoredBalance;
    use crate::ids::KeyId;
    use crate::modelscope::Site;

    #[test]
    fn a_day_row_counts_its_checks_and_links_to_each() {
        // 2026-03-02 00:00 in Beijing.
        let day = 1_772_380_800;
        let run = RunSummary {
            id: RunId(9),
            api_key_id: Some(KeyId(3)),
            key_label: Some("main".into()),
            preset_id: None,
            preset_name: None,
            source: Source::Schedule,
            kind: RunKind::Check,
            site: Site::Cn,
            started_at: day + 86_000,
            duration_ms: 40,
            model_count: 0,
            ok_count: 0,
            failed_count: 0,
            balance: StoredBalance {
                available: Some(240.5),
                ..StoredBalance::default()
            },
            before: StoredBalance::default(),
            points_spent: None,
            census: false,
            unclean: None,
            shared_points_spent: None,
            day: Some(CheckDay {
                day,
                runs: 288,
                failed_runs: 3,
                low: Some(240.5),
                high: Some(250.0),
            }),
        };
        let row = RunRow::from_summary(&run, Some(RunStatus::Failed));
        assert_eq!((row.ok_count, row.failed_count), (285, 3));
        assert_eq!(row.available.as_deref(), Some("240.5"));
        let day = row.day.unwrap();
        assert_eq!(
            (day.low.as_deref(), day.high.as_deref()),
            (Some("240.5"), Some("250"))
        );
        assert_eq!(
            day.href,
            "/history?key=3&from=2026-03-02&to=2026-03-02&kind=check&source=schedule\
             &status=failed&checks=each"
        );
    }
}
