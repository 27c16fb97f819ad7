//! A real answer checked against a schema of the OpenAPI document: the JSON Schema keywords the
//! document uses for its answers (`$ref` within the document, `type`, `const`, `enum`,
//! `properties`, `required`, `additionalProperties`, `items`, `minItems`, `maxItems`,
//! `minimum`, `maximum`, `minLength`, `maxLength`, `anyOf`, `oneOf`, `allOf`, and `format:
//! date-time`). Anything else is not checked here (schemathesis checks the whole document in CI).

use serde_json::Value;

/// Every way `value` breaks `schema` (empty when it fits), each with the path where it does.
pub fn violations(doc: &Value, schema: &Value, value: &Value) -> Vec<String> {
    let mut found = Vec::new();
    check(doc, schema, value, "$", &mut found);
    found
}

/// Panics with every violation of the named component schema.
pub fn assert_fits(doc: &Value, name: &str, value: &Value) {
    let schema = &doc["components"]["schemas"][name];
    assert!(schema.is_object(), "no {name} schema");
    let found = violations(doc, schema, value);
    assert!(found.is_empty(), "{value}\ndoes not fit {name}: {found:#?}");
}

fn type_fits(name: &str, value: &Value) -> bool {
    match name {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "number" => value.is_number(),
        "integer" => value.is_i64() || value.is_u64(),
        _ => false,
    }
}

fn check(doc: &Value, schema: &Value, value: &Value, at: &str, found: &mut Vec<String>) {
    if let Some(reference) = schema["$ref"].as_str() {
        let mut target = doc;
        for part in reference.trim_start_matches("#/").split('/') {
            target = &target[part];
        }
        assert!(target.is_object(), "unresolved {reference}");
        check(doc, target, value, at, found);
    }
    match &schema["type"] {
        Value::String(name) if !type_fits(name, value) => {
            found.push(format!("{at}: not of type {name}"));
            return;
        }
        Value::Array(names)
            if !names
                .iter()
                .any(|n| type_fits(n.as_str().unwrap_or(""), value)) =>
        {
            found.push(format!("{at}: not of any type in {names:?}"));
            return;
        }
        _ => {}
    }
    if let Some(expected) = schema.get("const")
        && expected != value
    {
        found.push(format!("{at}: not {expected}"));
    }
    if let Some(choices) = schema["enum"].as_array()
        && !choices.contains(value)
    {
        found.push(format!("{at}: {value} is not one of {choices:?}"));
    }
    if let Some(n) = value.as_f64() {
        if let Some(min) = schema["minimum"].as_f64()
            && n < min
        {
            found.push(format!("{at}: {n} < {min}"));
        }
        if let Some(max) = schema["maximum"].as_f64()
            && n > max
        {
            found.push(format!("{at}: {n} > {max}"));
        }
    }
    if let Some(text) = value.as_str() {
        let length = text.chars().count() as u64;
        if schema["minLength"].as_u64().is_some_and(|min| length < min)
            || schema["maxLength"].as_u64().is_some_and(|max| length > max)
        {
            found.push(format!("{at}: length {length} out of bounds"));
        }
        if schema["format"] == "date-time"
            && time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
                .is_err()
        {
            found.push(format!("{at}: {text:?} is not an RFC 3339 date-time"));
        }
    }
    if let Some(items) = value.as_array() {
        let count = items.len() as u64;
        if schema["minItems"].as_u64().is_some_and(|min| count < min)
            || schema["maxItems"].as_u64().is_some_and(|max| count > max)
        {
            found.push(format!("{at}: {count} items out of bounds"));
        }
        if schema["items"].is_object() {
            for (i, item) in items.iter().enumerate() {
                check(doc, &schema["items"], item, &format!("{at}[{i}]"), found);
            }
        }
    }
    if let Some(object) = value.as_object() {
        for name in schema["required"].as_array().into_iter().flatten() {
            let name = name.as_str().unwrap_or_default();
            if !object.contains_key(name) {
                found.push(format!("{at}: {name} is missing"));
            }
        }
        let properties = schema["properties"].as_object();
        for (name, field) in object {
            match properties.and_then(|p| p.get(name)) {
                Some(sub) => check(doc, sub, field, &format!("{at}.{name}"), found),
                None if schema["additionalProperties"] == Value::Bool(false) => {
                    found.push(format!("{at}: {name} is not documented"));
                }
                None => {}
            }
        }
    }
    let fits = |sub: &Value| violations_at(doc, sub, value, at).is_empty();
    if let Some(all) = schema["allOf"].as_array() {
        for sub in all {
            check(doc, sub, value, at, found);
        }
    }
    if let Some(any) = schema["anyOf"].as_array()
        && !any.iter().any(fits)
    {
        found.push(format!("{at}: fits none of anyOf"));
    }
    if let Some(one) = schema["oneOf"].as_array()
        && one.iter().filter(|sub| fits(sub)).count() != 1
    {
        found.push(format!("{at}: does not fit exactly one of oneOf"));
    }
}

fn violations_at(doc: &Value, schema: &Value, value: &Value, at: &str) -> Vec<String> {
    let mut found = Vec::new();
    check(doc, schema, value, at, &mut found);
    found
}

#[test]
fn the_checker_catches_what_it_claims_to() {
    let doc = serde_json::json!({"components": {"schemas": {
        "Thing": {"type": "object", "additionalProperties": false, "required": ["a", "at"],
                  "properties": {"a": {"type": ["integer", "null"], "minimum": 1},
                                 "at": {"type": "string", "format": "date-time"},
                                 "kind": {"enum": ["x", "y"]}}}
    }}});
    let schema = serde_json::json!({"$ref": "#/components/schemas/Thing"});
    let good = serde_json::json!({"a": null, "at": "2026-12-01T09:00:00+08:00", "kind": "x"});
    assert!(violations(&doc, &schema, &good).is_empty());
    let bad = serde_json::json!({"a": 0, "at": "today", "kind": "z", "extra": 1});
    assert_eq!(violations(&doc, &schema, &bad).len(), 4);
    assert_eq!(
        violations(&doc, &schema, &serde_json::json!({"a": 1})).len(),
        1
    );
}
