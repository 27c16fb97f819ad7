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
