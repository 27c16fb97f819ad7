//! The stylesheet, script and favicon, compiled into the binary so it runs from any directory.
//! The stylesheet and the script are served without their comments and indentation (made once,
//! at the first request): the files stay readable, the pages stay light.

use std::sync::LazyLock;

use rocket::get;
use rocket::http::{ContentType, Header};
use rocket::response::Responder;

#[derive(Responder)]
pub struct Asset {
    body: &'static str,
    content_type: ContentType,
    cache: Header<'static>,
}

fn asset(body: &'static str, content_type: ContentType) -> Asset {
    // Pages link assets with `?v=<version>`, so a day of caching never serves a stale file.
    Asset {
        body,
        content_type,
        cache: Header::new("Cache-Control", "public, max-age=86400"),
    }
}

static STYLESHEET: LazyLock<String> =
    LazyLock::new(|| compact_css(include_str!("../../../assets/app.css")));
static SCRIPT: LazyLock<String> =
    LazyLock::new(|| compact_js(include_str!("../../../assets/app.js")));
static MODELS_SCRIPT: LazyLock<String> =
    LazyLock::new(|| compact_js(include_str!("../../../assets/models.js")));
static MODEL_BOX_SCRIPT: LazyLock<String> =
    LazyLock::new(|| compact_js(include_str!("../../../assets/model-box.js")));

static PASSKEYS_SCRIPT: LazyLock<String> =
    LazyLock::new(|| compact_js(include_str!("../../../assets/passkeys.js")));

static CHART_SCRIPT: LazyLock<String> =
    LazyLock::new(|| compact_js(include_str!("../../../assets/chart.js")));
static CHART_STYLESHEET: LazyLock<String> =
    LazyLock::new(|| compact_css(include_str!("../../../assets/chart.css")));

/// The charts' point readout (touch and focus), for the chart pages only.
#[get("/assets/chart.js")]
pub fn chart_script() -> Asset {
    asset(CHART_SCRIPT.as_str(), ContentType::JavaScript)
}

/// The charts' dashed forecast, grant marks and range switch, for the chart pages only.
#[get("/assets/chart.css")]
pub fn chart_stylesheet() -> Asset {
    asset(CHART_STYLESHEET.as_str(), ContentType::CSS)
}

#[get("/assets/app.css")]
pub fn stylesheet() -> Asset {
    asset(STYLESHEET.as_str(), ContentType::CSS)
}

#[get("/assets/app.js")]
pub fn script() -> Asset {
    asset(SCRIPT.as_str(), ContentType::JavaScript)
}

/// Model-id suggestions, linked only by the pages with a model field.
#[get("/assets/models.js")]
pub fn models_script() -> Asset {
    asset(MODELS_SCRIPT.as_str(), ContentType::JavaScript)
}

/// The suggestion list under a models textarea, linked only by the pages with one.
#[get("/assets/model-box.js")]
pub fn model_box_script() -> Asset {
    asset(MODEL_BOX_SCRIPT.as_str(), ContentType::JavaScript)
}

/// The browser's side of the passkey ceremonies, for the sign-in and passkey pages only.
#[get("/assets/passkeys.js")]
pub fn passkeys_script() -> Asset {
    asset(PASSKEYS_SCRIPT.as_str(), ContentType::JavaScript)
}

/// The stylesheet without `/* comments */`, and with every run of white space one space, none
/// next to `{`, `}` or `;` nor after `:` or `,`, and no `;` before `}`. (Nothing in app.css
/// puts those inside a string.)
fn compact_css(source: &str) -> String {
    let mut bare = String::with_capacity(source.len());
    let mut rest = source;
    while let Some(start) = rest.find("/*") {
        bare.push_str(&rest[..start]);
        rest = rest[start + 2..]
            .find("*/")
            .map_or("", |end| &rest[start + 2 + end + 2..]);
    }
    bare.push_str(rest);
    let spaced = bare.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out = String::with_capacity(spaced.len());
    let mut chars = spaced.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ' ' {
            let before = out.chars().last();
            let after = chars.peek().copied();
            if matches!(before, Some('{' | '}' | ';')) || matches!(after, Some('{' | '}' | ';')) {
                continue;
            }
        }
        out.push(c);
    }
    out.replace(": ", ":").replace(", ", ",").replace(";}", "}")
}

/// The script without its indentation, blank lines and lines that are only a `//` comment.
/// (app.js has no string or template literal spanning lines.)
fn compact_js(source: &str) -> String {
    source
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stylesheet_loses_comments_and_spacing_only() {
        let css = "/* a\n comment */\n:root {\n  --x: 1px; /* more */\n}\n\na, b > c:hover { color: red; margin: 0 auto; }\n";
        assert_eq!(
            compact_css(css),
            ":root{--x:1px}a,b > c:hover{color:red;margin:0 auto}"
        );
        assert_eq!(compact_css("a { b: c; } /* unclosed"), "a{b:c}");
        let real = compact_css(include_str!("../../../assets/app.css"));
        assert!(!real.contains("/*") && !real.contains('\n'));
        assert_eq!(real.matches('{').count(), real.matches('}').count());
        assert!(real.contains("@media (prefers-color-scheme:dark){"));
    }

    #[test]
    fn the_script_loses_indentation_and_comment_lines_only() {
        let js = "// top\n\"use strict\";\n  const a = \"//x\"; // tail kept\n\n  if (a) {\n    go();\n  }\n";
        assert_eq!(
            compact_js(js),
            "\"use strict\";\nconst a = \"//x\"; // tail kept\nif (a) {\ngo();\n}"
        );
    }
}

#[get("/assets/favicon.svg")]
pub fn favicon() -> Asset {
    asset(
        include_str!("../../../assets/favicon.svg"),
        ContentType::SVG,
    )
}

pub fn routes() -> Vec<rocket::Route> {
    rocket::routes![
        stylesheet,
        script,
        models_script,
        model_box_script,
        passkeys_script,
        chart_script,
        chart_stylesheet,
        favicon
    ]
}
