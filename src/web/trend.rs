//! The trend chart's geometry: plain numbers for an inline `<svg>` drawn by `trend.html`.
//!
//! Nothing here writes markup. Coordinates are `f64`s and the polylines are built from them
//! alone, so no user or upstream text can reach an attribute; point titles are plain text that
//! the template escapes.

use super::view::beijing_time;

/// The `viewBox` of the chart, in user units.
pub const WIDTH: f64 = 720.0;
pub const HEIGHT: f64 = 280.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 40.0;

/// One stored row of the model, as the chart sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Unix seconds.
    pub at: i64,
    pub model_remaining: Option<i64>,
    pub account_remaining: Option<i64>,
    /// Hover text for the row's points (plain text; escaped by the template).
    pub title: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub x: f64,
    pub y: f64,
    pub value: i64,
    pub title: String,
}

/// One line of the chart: its points and the `points` attribute of its `<polyline>`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Series {
    pub points: Vec<Point>,
    /// `x,y x,y …`: digits, `.`, `-`, `,` and spaces only.
    pub polyline: String,
}

impl Series {
    fn new(points: Vec<Point>) -> Self {
        let polyline = points
            .iter()
            .map(|p| format!("{},{}", p.x, p.y))
            .collect::<Vec<_>>()
            .join(" ");
        Self { points, polyline }
    }
}

/// Everything the template needs to draw the chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    pub width: f64,
    pub height: f64,
    pub left: f64,
    pub right: f64,
    pub top: f64,
    pub bottom: f64,
    /// Model calls remaining (the main line).
    pub model: Series,
    /// Account calls remaining (the second line).
    pub account: Series,
    /// The value at the top and at the bottom of the y axis.
    pub y_max: i64,
    pub y_min: i64,
    /// Beijing time of the oldest and the newest sample.
    pub first_time: String,
    pub last_time: String,
    /// Where the axis labels sit.
    pub label_x_left: f64,
    pub label_y_bottom: f64,
}

/// One decimal is plenty for a chart 720 units wide and keeps the markup small.
fn round(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

/// The chart for `samples` (any order); `None` when no sample carries a number.
pub fn build(samples: &[Sample]) -> Option<Chart> {
    let mut samples: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.model_remaining.is_some() || s.account_remaining.is_some())
        .collect();
    if samples.is_empty() {
        return None;
    }
    // Oldest first; the sort is stable, so runs at the same second keep their order.
    samples.sort_by_key(|s| s.at);
    let first_at = samples.first()?.at;
    let last_at = samples.last()?.at;

    let values = samples
        .iter()
        .flat_map(|s| [s.model_remaining, s.account_remaining])
        .flatten();
    let (min, max) = values.fold((0_i64, 1_i64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let (plot_left, plot_right) = (LEFT, WIDTH - RIGHT);
    let (plot_top, plot_bottom) = (TOP, HEIGHT - BOTTOM);

    let x_of = |at: i64| -> f64 {
        if last_at == first_at {
            return round(f64::midpoint(plot_left, plot_right));
        }
        let share = (at - first_at) as f64 / (last_at - first_at) as f64;
        round(plot_left + share * (plot_right - plot_left))
    };
    let y_of = |value: i64| -> f64 {
        let share = (value - min) as f64 / (max - min) as f64;
        round(plot_bottom - share * (plot_bottom - plot_top))
    };
    let series = |pick: fn(&Sample) -> Option<i64>| {
        Series::new(
            samples
                .iter()
                .filter_map(|s| {
                    pick(s).map(|value| Point {
                        x: x_of(s.at),
                        y: y_of(value),
                        value,
                        title: s.title.clone(),
                    })
                })
                .collect(),
        )
    };

    Some(Chart {
        width: WIDTH,
        height: HEIGHT,
        left: plot_left,
        right: plot_right,
        top: plot_top,
        bottom: plot_bottom,
        model: series(|s| s.model_remaining),
        account: series(|s| s.account_remaining),
        y_max: max,
        y_min: min,
        first_time: beijing_time(first_at),
        last_time: beijing_time(last_at),
        label_x_left: plot_left - 6.0,
        label_y_bottom: plot_bottom + 18.0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(at: i64, model: Option<i64>, account: Option<i64>) -> Sample {
        Sample {
            at,
            model_remaining: model,
            account_remaining: account,
            title: format!("t{at}"),
        }
    }

    #[test]
    fn no_numbers_no_chart() {
        assert_eq!(build(&[]), None);
        assert_eq!(build(&[sample(1, None, None), sample(2, None, None)]), None);
    }

    #[test]
    fn oldest_left_newest_right_zero_at_the_bottom() {
        // Given newest first, drawn oldest first.
        let chart = build(&[
            sample(300, Some(0), Some(1000)),
            sample(200, Some(250), None),
            sample(100, Some(500), Some(2000)),
        ])
        .unwrap();
        let model = &chart.model.points;
        assert_eq!(model.len(), 3);
        assert_eq!(model[0].title, "t100");
        assert_eq!(model[0].x, chart.left);
        assert_eq!(model[2].x, chart.right);
        assert!(model[0].x < model[1].x && model[1].x < model[2].x);
        assert_eq!(chart.y_max, 2000);
        assert_eq!(chart.y_min, 0);
        assert_eq!(model[2].y, chart.bottom, "0 sits on the x axis");
        // The account line shares the scale: its 2000 is the top.
        assert_eq!(chart.account.points.len(), 2);
        assert_eq!(chart.account.points[0].y, chart.top);
        assert_eq!(model[0].value, 500);
        assert!(model[0].y > chart.top && model[0].y < chart.bottom);
    }

    #[test]
    fn one_sample_sits_in_the_middle() {
        let chart = build(&[sample(42, Some(7), None)]).unwrap();
        let point = &chart.model.points[0];
        assert_eq!(point.x, round(f64::midpoint(chart.left, chart.right)));
        assert_eq!(point.y, chart.top, "the only value is the maximum");
        assert!(chart.account.points.is_empty());
        assert_eq!(chart.account.polyline, "");
        assert_eq!(chart.first_time, chart.last_time);
    }

    #[test]
    fn all_zero_does_not_divide_by_zero() {
        let chart = build(&[sample(1, Some(0), Some(0)), sample(2, Some(0), Some(0))]).unwrap();
        assert_eq!(chart.y_max, 1);
        for p in chart.model.points.iter().chain(&chart.account.points) {
            assert!(p.x.is_finite() && p.y.is_finite());
            assert_eq!(p.y, chart.bottom);
        }
    }

    #[test]
    fn negative_values_extend_the_axis() {
        let chart = build(&[sample(1, Some(-5), None), sample(2, Some(5), None)]).unwrap();
        assert_eq!(chart.y_min, -5);
        assert_eq!(chart.model.points[0].y, chart.bottom);
    }

    #[test]
    fn polylines_carry_numbers_only() {
        let mut hostile = sample(1_800_000_000, Some(3), Some(9));
        hostile.title = r#"<script>alert(1)</script>" onerror="x'&"#.to_owned();
        let chart = build(&[hostile, sample(1_800_000_600, Some(1), Some(8))]).unwrap();
        for line in [&chart.model.polyline, &chart.account.polyline] {
            assert!(!line.is_empty());
            assert!(
                line.chars()
                    .all(|c| c.is_ascii_digit() || matches!(c, '.' | ',' | ' ' | '-')),
                "{line}"
            );
        }
        // The title is kept verbatim for the template to escape.
        assert!(chart.model.points[0].title.contains("<script>"));
    }

    #[test]
    fn times_label_the_ends_in_beijing_time() {
        // 2026-01-01 00:00 UTC is 08:00 in Beijing.
        let chart = build(&[
            sample(1_767_225_600, Some(1), None),
            sample(1_767_312_000, Some(2), None),
        ])
        .unwrap();
        assert_eq!(chart.first_time, "2026-01-01 08:00");
        assert_eq!(chart.last_time, "2026-01-02 08:00");
    }
}
