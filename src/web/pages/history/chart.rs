//! The trend charts' geometry: plain numbers for an inline `<svg>` (`chart.html`), one line
//! per key so keys are never mixed on one line.
//!
//! Nothing here writes markup. Coordinates are `f64`s and the polylines are built from them
//! alone, so no user or upstream text can reach an attribute; what a point says on hover is
//! plain data the template puts into words and escapes.

use crate::clock;
use crate::web::kit::view::points;

/// The `viewBox` of the chart, in user units.
pub const WIDTH: f64 = 720.0;
pub const HEIGHT: f64 = 280.0;
/// Room for the value labels (left) and the time labels (bottom): the stylesheet sizes text up to
/// 24 units on a phone, so a label stays about 12 px tall when the chart is drawn 360 px wide.
const LEFT: f64 = 80.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 18.0;
const BOTTOM: f64 = 44.0;
/// About this many gridlines between the bottom and the top of the value axis.
const TICKS: f64 = 4.0;

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
    /// The points a grant added just before this reading (`200`), when the balance rose.
    pub grant: Option<String>,
}

/// A dashed continuation of a line: from its last reading to where the forecast takes it
/// (zero at the run-out time, or the value at the chart's right edge if that comes first).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Projection {
    pub from: (i64, f64),
    pub to: (i64, f64),
}

/// A projection as drawn.
#[derive(Debug, Clone, PartialEq)]
pub struct Dashed {
    pub index: usize,
    pub x1: f64,
    pub y1: f64,
    pub x2: f64,
    pub y2: f64,
}

/// A labelled time on the x axis.
#[derive(Debug, Clone, PartialEq)]
pub struct XTick {
    pub x: f64,
    pub text: String,
}

/// What a chart may add to its lines: a fixed time span, labelled times, and a projection per
/// line name.
#[derive(Debug, Clone, Default)]
pub struct Frame {
    pub span: Option<(i64, i64)>,
    pub ticks: Vec<(i64, String)>,
    pub projections: Vec<(String, Projection)>,
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
    /// The value at the top and at the bottom of the y axis: round numbers just around the
    /// values drawn (not a fixed 0 to the daily limit, which flattens a line that moves little).
    pub y_max: f64,
    pub y_min: f64,
    /// Labelled gridlines from the bottom of the value axis to its top.
    pub ticks: Vec<Tick>,
    /// The smallest and largest value drawn.
    pub lowest: f64,
    pub highest: f64,
    /// Beijing time of the oldest and the newest point.
    pub first_time: String,
    pub last_time: String,
    /// Where the axis labels sit.
    pub label_x_left: f64,
    pub label_y_bottom: f64,
    /// Labelled times (a chart with a fixed span), and the dashed forecasts.
    pub x_ticks: Vec<XTick>,
    pub dashed: Vec<Dashed>,
}

/// One labelled gridline of the value axis.
#[derive(Debug, Clone, PartialEq)]
pub struct Tick {
    pub y: f64,
    pub value: f64,
}

impl Tick {
    pub fn text(&self) -> String {
        points(self.value)
    }
}

impl Chart {
    /// The lowest and highest values drawn as a page writes numbers (`250`, `12.5`).
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

/// A round step (1, 2 or 5 times a power of ten) that cuts `span` into about [`TICKS`] parts.
fn nice_step(span: f64) -> f64 {
    let raw = span / TICKS;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|step| *step >= raw)
        .unwrap_or(10.0 * magnitude);
    // Counts and points: no step finer than 0.5.
    step.max(0.5)
}

/// The y axis for values from `lowest` to `highest`: round ends on a round step around them.
/// A `limit` (the model's daily limit) within one step of the top becomes the top, so a line
/// close to its limit shows how close; a far-away limit is left out rather than squashing the
/// line flat. A single value gets a step of about half its size and a step of room each way (not
/// below 0 for values that are not negative).
fn axis(lowest: f64, highest: f64, limit: Option<f64>) -> (f64, f64, f64) {
    let span = highest - lowest;
    let step = nice_step(if span > 0.0 {
        span
    } else {
        (highest.abs() / 2.0).max(4.0)
    });
    let mut y_min = (lowest / step).floor() * step;
    let mut y_max = (highest / step).ceil() * step;
    if span <= 0.0 {
        y_min -= step;
        y_max += step;
        if lowest >= 0.0 {
            y_min = y_min.max(0.0);
        }
    }
    if let Some(limit) = limit
        && limit > y_max
        && limit <= y_max + step
    {
        y_max = limit;
    }
    (y_min, y_max, step)
}

/// The chart for `samples` (any order); `None` when no sample has a value.
///
/// The y axis runs between round numbers just around the values drawn (see [`axis`]), with a
/// labelled gridline at each round step.
pub fn build(samples: &[Sample]) -> Option<Chart> {
    build_in(samples, &Frame::default())
}

/// [`build`] within `frame`: its span (else the samples' own), its labelled times and its
/// projections (whose ends count for the value axis).
pub fn build_in(samples: &[Sample], frame: &Frame) -> Option<Chart> {
    let mut drawn: Vec<(&Sample, f64)> = samples
        .iter()
        .filter_map(|s| s.value.map(|value| (s, value)))
        .collect();
    // Oldest first; the sort is stable, so runs at the same second keep their order.
    drawn.sort_by_key(|(s, _)| s.at);
    let (first_at, last_at) = frame
        .span
        .unwrap_or((drawn.first()?.0.at, drawn.last()?.0.at));

    let projected = frame.projections.iter().map(|(_, p)| p.to.1);
    let lowest = drawn
        .iter()
        .map(|(_, v)| *v)
        .chain(projected.clone())
        .fold(f64::INFINITY, f64::min);
    let highest = drawn
        .iter()
        .map(|(_, v)| *v)
        .chain(projected)
        .fold(f64::NEG_INFINITY, f64::max);
    let top_limit = drawn.iter().filter_map(|(s, _)| s.limit).reduce(f64::max);
    let (y_min, y_max, step) = axis(lowest, highest, top_limit);
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
    let mut ticks = Vec::new();
    let mut value = y_min;
    while value <= y_max + step / 1000.0 {
        ticks.push(Tick {
            y: y_of(value),
            value,
        });
        value += step;
    }
    if ticks.last().is_some_and(|t| t.value < y_max) {
        // A limit set the top between two steps: label it too.
        ticks.push(Tick {
            y: y_of(y_max),
            value: y_max,
        });
    }

    let dashed = frame
        .projections
        .iter()
        .filter_map(|(name, p)| {
            let index = names.iter().position(|n| n == name)?;
            Some(Dashed {
                index,
                x1: x_of(p.from.0),
                y1: y_of(p.from.1),
                x2: x_of(p.to.0),
                y2: y_of(p.to.1),
            })
        })
        .collect();
    let x_ticks = frame
        .ticks
        .iter()
        .filter(|(at, _)| (first_at..=last_at).contains(at))
        .map(|(at, text)| XTick {
            x: x_of(*at),
            text: text.clone(),
        })
        .collect();
    Some(Chart {
        x_ticks,
        dashed,
        width: WIDTH,
        height: HEIGHT,
        left: plot_left,
        right: plot_right,
        top: plot_top,
        bottom: plot_bottom,
        lines,
        y_max,
        y_min,
        ticks,
        lowest,
        highest,
        first_time: clock::minutes(first_at),
        last_time: clock::minutes(last_at),
        label_x_left: plot_left - 8.0,
        label_y_bottom: plot_bottom + 30.0,
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
        assert_eq!(
            point.y,
            f64::midpoint(chart.top, chart.bottom),
            "one value sits between round numbers either side of it"
        );
        assert_eq!((chart.y_min, chart.y_max), (6.0, 8.0));
        assert_eq!(chart.first_time, chart.last_time);
        let steady = build(&[
            sample(1, Some(42), Some(100)),
            sample(2, Some(42), Some(100)),
        ])
        .unwrap();
        let ticks: Vec<String> = steady.ticks.iter().map(Tick::text).collect();
        assert_eq!(ticks, ["30", "40", "50", "60"]);
    }

    #[test]
    fn the_axis_fits_the_values_not_zero_to_the_limit() {
        // A quota that moves little near its limit is not squashed into a flat line at the top.
        let chart = build(&[
            sample(1, Some(495), Some(500)),
            sample(2, Some(488), Some(500)),
            sample(3, Some(481), Some(500)),
        ])
        .unwrap();
        assert_eq!((chart.y_min, chart.y_max), (480.0, 500.0));
        let ticks: Vec<String> = chart.ticks.iter().map(Tick::text).collect();
        assert_eq!(ticks, ["480", "485", "490", "495", "500"]);
        assert_eq!(chart.ticks[0].y, chart.bottom);
        assert_eq!(chart.ticks[4].y, chart.top);
        // A limit far above the values is not the top.
        let low = build(&[
            sample(1, Some(12), Some(500)),
            sample(2, Some(38), Some(500)),
        ])
        .unwrap();
        assert_eq!((low.y_min, low.y_max), (10.0, 40.0));
        // A limit between round steps just above the values is, and is labelled.
        let near = build(&[
            sample(1, Some(100), Some(123)),
            sample(2, Some(118), Some(123)),
        ])
        .unwrap();
        assert_eq!(near.y_max, 123.0);
        assert_eq!(near.ticks.last().map(Tick::text).as_deref(), Some("123"));
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
