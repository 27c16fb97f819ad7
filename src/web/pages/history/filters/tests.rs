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
            "kind" => q.kind = value,
            "source" => q.source = value,
            "status" => q.status = value,
            "checks" => q.checks = value,
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

/// Filters that all parsed.
fn parsed(pairs: &[(&str, &str)]) -> Filters {
    let (filters, refused) = Filters::parse(&query(pairs));
    assert_eq!(refused, None, "{pairs:?}");
    filters
}

#[test]
fn dates_are_beijing_days() {
    let filters = parsed(&[("from", "2026-01-01"), ("to", "2026-01-01")]);
    // 2026-01-01 00:00 +08 is 2025-12-31 16:00 UTC.
    assert_eq!(filters.from.map(clock::midnight), Some(1_767_196_800));
    assert_eq!(
        filters.to.and_then(Date::next_day).map(clock::midnight),
        Some(1_767_196_800 + 86_400)
    );
    assert_eq!(filters.query_string(), "from=2026-01-01&to=2026-01-01");
}

#[test]
fn nonsense_names_the_field_and_keeps_the_others() {
    let cases = [
        (("from", "2026-13-45"), "from"),
        (("to", "yesterday"), "to"),
        (("key", "abc"), "key"),
        (("key", "-3"), "key"),
        (("preset", "1e3"), "preset"),
        (("model", "<script>"), "model"),
        (("model", "a/b/c"), "model"),
        (("model", "qwen 3"), "model"),
        (("kind", "probes"), "kind"),
        (("kind", "census"), "kind"),
        (("source", "cron"), "source"),
        (("status", "bad"), "status"),
        (("checks", "all"), "checks"),
    ];
    for ((name, value), field) in cases {
        let other = if name == "key" {
            ("preset", "9")
        } else {
            ("key", "7")
        };
        let (filters, refused) = Filters::parse(&query(&[(name, value), other]));
        assert_eq!(refused, Some(super::bad(field)), "{name}={value}");
        // The filter beside it is still there, for the form and the links.
        let kept = filters.query_string();
        assert_eq!(kept, format!("{}={}", other.0, other.1), "{name}={value}");
    }
    let (filters, refused) =
        Filters::parse(&query(&[("from", "2026-02-02"), ("to", "2026-02-01")]));
    assert_eq!(refused, Some(super::bad("from_after_to")));
    assert!(filters.is_empty());
}

#[test]
fn kinds_sources_and_statuses_are_read_in_any_case() {
    let filters = parsed(&[
        ("kind", " Check "),
        ("source", "SCHEDULE"),
        ("status", "failed"),
        ("checks", "Each"),
        ("model", "FLAG"),
    ]);
    assert_eq!(filters.kind, Some(RunKind::Check));
    assert_eq!(filters.source, Some(Source::Schedule));
    assert_eq!(filters.status, Some(RunStatus::Failed));
    assert_eq!(filters.checks, ChecksShown::Each);
    assert_eq!(filters.model.as_deref(), Some("FLAG"));
    assert_eq!(
        filters.query_string(),
        "model=FLAG&kind=check&source=schedule&status=failed&checks=each"
    );
    // How checks are shown is no filter.
    assert!(parsed(&[("checks", "each")]).is_empty());
    assert_eq!(parsed(&[("checks", "day")]).query_string(), "");
}

#[test]
fn empty_fields_are_no_filter() {
    let filters = parsed(&[
        ("key", ""),
        ("preset", " "),
        ("model", ""),
        ("from", ""),
        ("to", ""),
        ("kind", ""),
        ("source", ""),
        ("status", ""),
        ("checks", ""),
    ]);
    assert!(filters.is_empty());
    assert_eq!(filters.query_string(), "");
}

#[test]
fn links_keep_the_filters() {
    let filters = parsed(&[("key", "7"), ("preset", "9"), ("model", "Qwen/Qwen2.5-7B")]);
    let filter_query = filters.query_string();
    assert_eq!(filter_query, "key=7&preset=9&model=Qwen%2FQwen2.5-7B");
    assert_eq!(
        href("/history", &filter_query, "page=2"),
        "/history?key=7&preset=9&model=Qwen%2FQwen2.5-7B&page=2"
    );
    assert_eq!(href("/history", "", "page=2"), "/history?page=2");
    assert_eq!(href("/history", "", ""), "/history");
}
