use super::*;

const K1: &str = "ms-00000000-0000-4000-8000-000000000001";

fn parse(body: &[u8], header: Option<&str>) -> Result<BalanceRequest, ApiError> {
    parse_request(body, header.map(str::to_owned), 50, Lang::Zh)
}

fn status(body: &[u8], header: Option<&str>) -> Status {
    match parse(body, header) {
        Ok(_) => Status::Ok,
        Err(error) => error.status,
    }
}

#[test]
fn header_and_body_key_must_agree() {
    let body = br#"{"models":"a/b","api_key":"ms-00000000-0000-4000-8000-000000000001"}"#;
    assert!(parse(body, Some("ms-00000000-0000-4000-8000-000000000001")).is_ok());
    assert!(parse(body, Some(" ms-00000000-0000-4000-8000-000000000001 ")).is_ok());
    let err = parse(body, Some("ms-00000000-0000-4000-8000-000000000002")).unwrap_err();
    assert_eq!(err.status, Status::Unauthorized);
    assert!(
        parse(
            br#"{"models":"a/b"}"#,
            Some("ms-00000000-0000-4000-8000-000000000002")
        )
        .is_ok()
    );
    assert!(
        parse(
            br#"{"models":"a/b","api_key":"  "}"#,
            Some("ms-00000000-0000-4000-8000-000000000002")
        )
        .is_ok()
    );
}

#[test]
fn keys_are_checked_as_sent() {
    let long = format!(r#"{{"models":"a/b","api_key":"{}"}}"#, "k".repeat(257));
    assert_eq!(status(long.as_bytes(), None), Status::BadRequest);
    let padded = format!(r#"{{"models":"a/b","api_key":"  {K1}  "}}"#);
    assert_eq!(status(padded.as_bytes(), None), Status::Ok);
    // Not a key of any shape: said before any upstream call.
    let nbsp_padded = format!("\u{a0}{K1}");
    let long = "k".repeat(201);
    for bad in [
        "k",
        "sk-123",
        "ms-1",
        "ms-12 3456789",
        nbsp_padded.as_str(),
        &long,
    ] {
        let body = format!(r#"{{"models":"a/b","api_key":"{bad}"}}"#);
        assert_eq!(status(body.as_bytes(), None), Status::BadRequest, "{bad}");
    }
    // A control character is refused even where trimming would remove it.
    assert_eq!(
        status(
            br#"{"models":"a/b","api_key":"ms-00000000-0000-4000-8000-000000000001\n"}"#,
            None
        ),
        Status::BadRequest
    );
    assert_eq!(
        status(
            br#"{"models":"a/b"}"#,
            Some("ms-00000000-0000-4000-8000-000000000001\u{7f}")
        ),
        Status::BadRequest
    );
    assert_eq!(
        status(br#"{"models":"a/b","api_key":"ms-\u0085"}"#, None),
        Status::BadRequest
    );
    // No key at all is the planner's `MissingKey`, unless a saved key stands in.
    let request = parse(br#"{"models":"a/b"}"#, None).unwrap();
    assert_eq!(request.pasted_key, None);
}

#[test]
fn another_shape_of_key_is_tried() {
    for key in [
        "sk-abcdefgh",
        "12345678-abcd-abcd-1234-1234567890ab",
        "ms-<script>",
    ] {
        let body = serde_json::json!({"models": "a/b", "api_key": key}).to_string();
        assert_eq!(status(body.as_bytes(), None), Status::Ok, "{key}");
    }
}

#[test]
fn a_census_has_a_positive_budget_and_calls_models() {
    let request = parse(
        br#"{"models":"a/b","api_key":"sk-abcdefgh","measure_prices":true,"budget":2.5}"#,
        None,
    )
    .unwrap();
    assert!(request.census);
    assert_eq!(request.budget, Some(2.5));
    for budget in ["0", "-1", "\"3\"", "true", "1e10"] {
        let body = format!(
            r#"{{"models":"a/b","api_key":"sk-abcdefgh","measure_prices":true,"budget":{budget}}}"#
        );
        assert_eq!(
            status(body.as_bytes(), None),
            Status::BadRequest,
            "{budget}"
        );
    }
    let body = br#"{"models":"a/b","api_key":"sk-abcdefgh","measure_prices":true,"probe":false}"#;
    assert_eq!(status(body, None), Status::BadRequest);
    let body = br#"{"models":"a/b","api_key":"sk-abcdefgh","measure_prices":"yes"}"#;
    assert_eq!(status(body, None), Status::BadRequest);
}

#[test]
fn models_are_counted_as_sent_and_both_names_are_checked() {
    let many = vec!["a/b"; 51];
    let body = serde_json::json!({"models": many, "api_key": K1}).to_string();
    assert_eq!(status(body.as_bytes(), None), Status::BadRequest);
    let body = serde_json::json!({"models": many.join(" "), "api_key": K1}).to_string();
    assert_eq!(status(body.as_bytes(), None), Status::BadRequest);
    let body = serde_json::json!({"models": many[..50], "api_key": K1}).to_string();
    assert_eq!(status(body.as_bytes(), None), Status::Ok);
    assert_eq!(
        status(br#"{"models":["a/b"],"models_":5,"api_key":"ms-00000000-0000-4000-8000-000000000001"}"#, None),
        Status::BadRequest
    );
    assert_eq!(
        status(
            br#"{"models":null,"api_key":"ms-00000000-0000-4000-8000-000000000001"}"#,
            None
        ),
        Status::BadRequest
    );
    assert_eq!(
        status(
            br#"{"models":null,"probe":false,"api_key":"ms-00000000-0000-4000-8000-000000000001"}"#,
            None
        ),
        Status::Ok
    );
}

#[test]
fn every_models_field_needs_one_valid_id() {
    let ok = br#"{"models":["bad id","a/b"],"api_key":"ms-00000000-0000-4000-8000-000000000001"}"#;
    assert_eq!(status(ok, None), Status::Ok);
    let ok = br#"{"models":"zz a/b","api_key":"ms-00000000-0000-4000-8000-000000000001"}"#;
    assert_eq!(status(ok, None), Status::Ok);
    let none =
        br#"{"models":["bad id","-x/y"],"api_key":"ms-00000000-0000-4000-8000-000000000001"}"#;
    assert_eq!(status(none, None), Status::BadRequest);
    let unused = br#"{"models":["a/b"],"models_":"AAA","api_key":"ms-00000000-0000-4000-8000-000000000001"}"#;
    assert_eq!(status(unused, None), Status::BadRequest);
}

#[test]
fn ids_may_be_whole_floats() {
    let request = parse(br#"{"preset":7.0,"key_id":3}"#, None).unwrap();
    assert_eq!(request.preset, Some(Named::Id(PresetId(7))));
    for id in ["7.5", "0", "-1", "1e19", "9223372036854775808"] {
        let body = format!(r#"{{"preset":{id},"key_id":3}}"#);
        assert_eq!(status(body.as_bytes(), None), Status::BadRequest, "{id}");
    }
}

#[test]
fn the_site_is_spelled_as_documented() {
    let request = parse(
        br#"{"models":"a/b","api_key":"ms-00000000-0000-4000-8000-000000000001","site":"ai"}"#,
        None,
    )
    .unwrap();
    assert_eq!(request.site, Some(Site::Ai));
    for site in [r#""AI""#, r#"" cn""#, r#""com""#, "1"] {
        let body = format!(
            r#"{{"models":"a/b","api_key":"ms-00000000-0000-4000-8000-000000000001","site":{site}}}"#
        );
        assert_eq!(status(body.as_bytes(), None), Status::BadRequest, "{site}");
    }
}

#[test]
fn models_string_is_split() {
    let request = parse(
        br#"{"models":"a/b, c/d e/f","api_key":"ms-00000000-0000-4000-8000-000000000001"}"#,
        None,
    )
    .unwrap();
    assert_eq!(request.models, ["a/b", "c/d", "e/f"]);
    let request = parse(
        br#"{"models_":["a/b"],"api_key":"ms-00000000-0000-4000-8000-000000000001"}"#,
        None,
    )
    .unwrap();
    assert_eq!(request.models, ["a/b"]);
}

#[test]
fn a_saved_key_and_preset_stand_in_only_for_what_is_missing() {
    let request = parse(br#"{"preset":"daily","key_id":3}"#, None).unwrap();
    assert!(request.models.is_empty());
    assert_eq!(request.preset, Some(Named::Name("daily".into())));
    assert_eq!(request.saved_key, Some(Named::Id(KeyId(3))));
    assert_eq!(request.pasted_key, None);
    let request = parse(
        br#"{"models":["a/b"],"key_id":3,"api_key":"ms-00000000-0000-4000-8000-000000000001"}"#,
        None,
    )
    .unwrap();
    assert_eq!(request.pasted_key.as_deref(), Some(K1));
}
