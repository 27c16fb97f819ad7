//! The trend charts' geometry: plain numbers for an inline `<svg>` (`chart.html`), one line
//! per key so keys are never mixed on one line.
//!
//! Nothing here writes markup. Coordinates are `f64`s and the polylines are built from them
//! alone, so no user or upstream text can reach an attribute; what a point says on hover is
//! plain data the template puts into words and escapes.

use crate::clock;
use crate::web::view::points;

/// The `viewBox` of the chart, in user units.
pub const WIDTH: f64 = 720.0;
pub const HEIGHT: f64 = 280.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 40.0;

/// One stored reading, as the chart sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Unix seconds.
    pub at: i64,
    /// Which line it belongs to (a key's label).
    pub line: String,
    /// The number drawn. Readings without it are not drawn.
    pub value: Option<f64>,
    /// A ceiling the value is measured against (a model's daily limit): the top of the scale
    /// when larger than every value, so the line reads as "how full".
    pub limit: Option<f64>,
    /// What the point says on hover.
    pub label: PointLabel,
}

/// A point's hover text, as data: the template says it in words.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PointLabel {
    pub time: String,
    pub key_label: Option<String>,
    pub model_remaining: String,
    pub model_limit: String,
    pub remaining: String,
    pub limit: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub x: f64,
    pub y: f64,
    pub value: f64,
    pub label: PointLabel,
}

/// One line of the chart: its name, its points and the `points` attribute of its `<polyline>`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Series {
    pub name: String,
    /// Picks the line's colour class (`line-0` …).
    pub index: usize,
    pub points: Vec<Point>,
    /// `x,y x,y …`: digits, `.`, `-`, `,` and spaces only.
    pub polyline: String,
}

impl Series {
    fn new(name: String, index: usize, points: Vec<Point>) -> Self {
        let polyline = points
            .iter()
            .map(|p| format!("{},{}", p.x, p.y))
            .collect::<Vec<_>>()
            .join(" ");
        Self {
            name,
            index,
            points,
            polyline,
        }
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
    /// One per line name, in the order the names first appear; points oldest first.
    pub lines: Vec<Series>,
    /// The value at the top and at the bottom of the y axis.
    pub y_max: f64,
    pub y_min: f64,
    /// The smallest and largest value drawn.
    pub lowest: f64,
    pub highest: f64,
    /// Beijing time of the oldest and the newest point.
    pub first_time: String,
    pub last_time: String,
    /// Where the axis labels sit.
    pub label_x_left: f64,
    pub label_y_bottom: f64,
}

impl Chart {
    /// The axis ends as a page writes numbers (`250`, `12.5`).
    pub fn y_max_text(&self) -> String {
        points(self.y_max)
    }

    pub fn y_min_text(&self) -> String {
        points(self.y_min)
    }

    pub fn lowest_text(&self) -> String {
        points(self.lowest)
    }

    pub fn highest_text(&self) -> String {
        points(self.highest)
    }
}

/// One decimal is plenty for a chart 720 units wide and keeps the markup small.
fn round(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

/// The chart for `samples` (any order); `None` when no sample has a value.
///
/// The y axis runs from 0 (or a lower value, should one appear) to the largest of the limits
/// and values seen, so a line near the top means "nearly all left".
pub fn build(samples: &[Sample]) -> Option<Chart> {
    let mut drawn: Vec<(&Sample, f64)> = samples
        .iter()
        .filter_map(|s| s.value.map(|value| (s, value)))
        .collect();
    // Oldest first; the sort is stable, so runs at the same second keep their order.
    drawn.sort_by_key(|(s, _)| s.at);
    let first_at = drawn.first()?.0.at;
    let last_at = drawn.last()?.0.at;

    let lowest = drawn.iter().map(|(_, v)| *v).fold(f64::INFINITY, f64::min);
    let highest = drawn
        .iter()
        .map(|(_, v)| *v)
        .fold(f64::NEG_INFINITY, f64::max);
    let top_limit = drawn
        .iter()
        .filter_map(|(s, _)| s.limit)
        .fold(0.0, f64::max);
    let y_min = lowest.min(0.0);
    let y_max = highest.max(top_limit).max(y_min + 1.0);
    let (plot_left, plot_right) = (LEFT, WIDTH - RIGHT);
    let (plot_top, plot_bottom) = (TOP, HEIGHT - BOTTOM);

    let x_of = |at: i64| -> f64 {
        if last_at == first_at {
            return round(f64::midpoint(plot_left, plot_right));
        }
        let share = (at - first_at) as f64 / (last_at - first_at) as f64;
        round(plot_left + share * (plot_right - plot_left))
    };
    let y_of = |value: f64| -> f64 {
        let share = (value - y_min) / (y_max - y_min);
        round(plot_bottom - share * (plot_bottom - plot_top))
    };

    let mut names: Vec<&str> = Vec::new();
    for (sample, _) in &drawn {
        if !names.contains(&sample.line.as_str()) {
            names.push(&sample.line);
        }
    }
    let lines = names
        .iter()
        .enumerate()
        .map(|(index, name)| {
            let points = drawn
                .iter()
                .filter(|(s, _)| s.line == *name)
                .map(|(s, value)| Point {
                    x: x_of(s.at),
                    y: y_of(*value),
                    value: *value,
                    label: s.label.clone(),
                })
                .collect();
            Series::new((*name).to_owned(), index, points)
        })
        .collect();

    Some(Chart {
        width: WIDTH,
        height: HEIGHT,
        left: plot_left,
        right: plot_right,
        top: plot_top,
        bottom: plot_bottom,
        lines,
        y_max,
        y_min,
        lowest,
        highest,
        first_time: clock::minutes(first_at),
        last_time: clock::minutes(last_at),
        label_x_left: plot_left - 6.0,
        label_y_bottom: plot_bottom + 18.0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(at: i64, remaining: Option<i64>, limit: Option<i64>) -> Sample {
        Sample {
            at,
            line: String::new(),
            value: remaining.map(|v| v as f64),
            limit: limit.map(|v| v as f64),
            label: PointLabel {
                time: format!("t{at}"),
                ..PointLabel::default()
            },
        }
    }

    #[test]
    fn no_numbers_no_chart() {
        assert_eq!(build(&[]), None);
        assert_eq!(
            build(&[sample(1, None, Some(500)), sample(2, None, None)]),
            None
        );
    }

    #[test]
    fn oldest_left_newest_right_zero_at_the_bottom_limit_at_the_top() {
        // Given newest first, drawn oldest first; the row without a number is skipped.
        let chart = build(&[
            sample(400, None, None),
            sample(300, Some(0), Some(500)),
            sample(200, Some(250), Some(500)),
            sample(100, Some(400), Some(500)),
        ])
        .unwrap();
        let points = &chart.lines[0].points;
        assert_eq!(points.len(), 3);
        assert_eq!(points[0].label.time, "t100");
        assert_eq!(points[0].x, chart.left);
        assert_eq!(points[2].x, chart.right);
        assert!(points[0].x < points[1].x && points[1].x < points[2].x);
        assert_eq!((chart.y_min, chart.y_max), (0.0, 500.0));
        assert_eq!((chart.lowest, chart.highest), (0.0, 400.0));
        assert_eq!(points[2].y, chart.bottom, "0 sits on the x axis");
        assert_eq!(points[1].y, f64::midpoint(chart.top, chart.bottom));
        assert_eq!(points[0].value, 400.0);
        assert!(points[0].y > chart.top && points[0].y < points[1].y);
        assert_eq!(chart.first_time, clock::minutes(100));
        assert_eq!(chart.last_time, clock::minutes(300));
    }

    #[test]
    fn without_a_limit_the_largest_value_is_the_top() {
        let chart = build(&[sample(1, Some(20), None), sample(2, Some(80), None)]).unwrap();
        assert_eq!(chart.y_max, 80.0);
        assert_eq!(chart.lines[0].points[1].y, chart.top);
    }

    #[test]
    fn one_sample_sits_in_the_middle() {
        let chart = build(&[sample(42, Some(7), None)]).unwrap();
        let point = &chart.lines[0].points[0];
        assert_eq!(point.x, round(f64::midpoint(chart.left, chart.right)));
        assert_eq!(point.y, chart.top, "the only value is the maximum");
        assert_eq!(chart.first_time, chart.last_time);
    }

    #[test]
    fn all_zero_does_not_divide_by_zero() {
        let chart = build(&[sample(1, Some(0), None), sample(1, Some(0), None)]).unwrap();
        assert_eq!(chart.y_max, 1.0);
        for p in &chart.lines[0].points {
            assert!(p.x.is_finite() && p.y.is_finite());
            assert_eq!(p.y, chart.bottom);
        }
    }

    #[test]
    fn negative_values_extend_the_axis() {
        let chart = build(&[sample(1, Some(-5), None), sample(2, Some(5), None)]).unwrap();
        assert_eq!(chart.y_min, -5.0);
        assert_eq!(chart.lines[0].points[0].y, chart.bottom);
        assert_eq!(chart.lines[0].points[1].y, chart.top);
    }

    #[test]
    fn the_polyline_carries_numbers_only() {
        let mut hostile = sample(1_800_000_000, Some(3), Some(9));
        hostile.label.key_label = Some(r#"<script>alert(1)</script>" onerror="x'&"#.to_owned());
        let chart = build(&[hostile, sample(1_800_000_600, Some(1), Some(9))]).unwrap();
        let line = &chart.lines[0].polyline;
        assert_eq!(line.split(' ').count(), 2);
        assert!(
            line.chars()
                .all(|c| c.is_ascii_digit() || matches!(c, '.' | ',' | ' ' | '-')),
            "{line}"
        );
        // The label is kept verbatim for the template to escape.
        assert!(
            chart.lines[0].points[0]
                .label
                .key_label
                .as_deref()
                .is_some_and(|k| k.contains("<script>"))
        );
    }

    #[test]
    fn each_key_gets_its_own_line() {
        let mut a = sample(1, Some(10), None);
        a.line = "main".into();
        let mut b = sample(2, Some(20), None);
        b.line = "spare".into();
        let mut c = sample(3, Some(15), None);
        c.line = "main".into();
        let chart = build(&[a, b, c]).unwrap();
        let lines: Vec<(&str, usize)> = chart
            .lines
            .iter()
            .map(|l| (l.name.as_str(), l.points.len()))
            .collect();
        assert_eq!(lines, [("main", 2), ("spare", 1)]);
        assert_eq!(chart.lines[1].index, 1);
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
