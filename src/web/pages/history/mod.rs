//! `/history`: the list with its filters, one run's detail, a model's trend, and the export.

mod balance;
mod chart;
mod detail;
mod export;
mod export_format;
mod filters;
mod ledger;
mod list;
mod trend;

use rocket::Route;

pub fn routes() -> Vec<Route> {
    rocket::routes![
        list::list,
        balance::balance_trend,
        detail::detail,
        detail::confirm_delete,
        detail::delete,
        trend::model_trend,
        export::export,
    ]
}

/// `850 ms`, `12.3 s`.
fn duration_text(ms: i64) -> String {
    if ms < 1000 {
        format!("{} ms", ms.max(0))
    } else {
        format!("{:.1} s", ms as f64 / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration_text(850), "850 ms");
        assert_eq!(duration_text(12_345), "12.3 s");
    }
}
