//! Reading the app's pages: entities, visible text, form fields and the ids in them.

/// Undoes the HTML escaping askama writes: the named entities it may use and any numeric one.
pub fn html_unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let decoded = rest.find(';').and_then(|end| {
            let entity = &rest[1..end];
            let c = match entity {
                "lt" => Some('<'),
                "gt" => Some('>'),
                "amp" => Some('&'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                _ => entity.strip_prefix('#').and_then(|number| {
                    let code = match number.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok(),
                        None => number.parse().ok(),
                    };
                    code.and_then(char::from_u32)
                }),
            };
            c.map(|c| (c, end + 1))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The page's text without tags, whitespace collapsed, entities undone.
pub fn visible_text(html: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                text.push(' ');
            }
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    html_unescape(&text.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// The first `name="csrf_token" value="…"` in a page, unescaped.
pub fn extract_csrf(html: &str) -> Option<String> {
    let marker = r#"name="csrf_token" value=""#;
    let start = html.find(marker)? + marker.len();
    let end = start + html[start..].find('"')?;
    Some(html_unescape(&html[start..end]))
}

/// The form error on a page (`<p class="error" role="alert">…</p>`), unescaped.
pub fn form_error(html: &str) -> Option<String> {
    let marker = r#"<p class="error" role="alert""#;
    let tag = html.find(marker)?;
    let start = tag + html[tag..].find('>')? + 1;
    let end = start + html[start..].find("</p>")?;
    Some(html_unescape(html[start..end].trim()))
}

/// Whether the page's form error is tied to the input named `field`: the words carry the id
/// `<field>-error`, an input named `field` is marked invalid and points at them, and no other
/// input is marked invalid.
pub fn error_tied_to(html: &str, field: &str) -> bool {
    let words = format!(r#"<p class="error" role="alert" id="{field}-error">"#);
    let pointer = format!(r#"aria-invalid="true" aria-describedby="{field}-error""#);
    let name = format!(r#"name="{field}""#);
    let marked: Vec<&str> = html
        .split('<')
        .filter(|tag| tag.contains(r#"aria-invalid="true""#))
        .collect();
    html.contains(&words)
        && !marked.is_empty()
        && marked
            .iter()
            .all(|tag| tag.contains(&name) && tag.contains(&pointer))
}

/// The token in `<p class="secret-once" id="new-token">…</p>`, if the page shows one.
pub fn shown_token(html: &str) -> Option<String> {
    let marker = r#"id="new-token">"#;
    let start = html.find(marker)? + marker.len();
    let end = start + html[start..].find('<')?;
    Some(html[start..end].trim().to_owned())
}

/// `N` for every form `action="{prefix}N{suffix}"` or link `href="{prefix}N{suffix}"` (a
/// destructive action links to its confirmation page, which posts to the same address).
pub fn ids_in_actions(html: &str, prefix: &str, suffix: &str) -> Vec<i64> {
    let mut ids: Vec<i64> = ["action", "href"]
        .iter()
        .flat_map(|attribute| {
            let marker = format!(r#"{attribute}="{prefix}"#);
            html.match_indices(&marker)
                .filter_map(|(at, _)| {
                    let rest = &html[at + marker.len()..];
                    let end = rest.find('"')?;
                    rest[..end].strip_suffix(suffix)?.parse().ok()
                })
                .collect::<Vec<_>>()
        })
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// The ids of the revoke forms on `/account` (`/account/sessions/N/revoke`).
pub fn revocable_sessions(html: &str) -> Vec<i64> {
    ids_in_actions(html, "/account/sessions/", "/revoke")
}

/// The words the keys page uses for a key that no longer opens.
pub const CANNOT_OPEN: &str = "无法解密";

/// One row of the keys table, as a user sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRow {
    pub id: i64,
    pub label: String,
    pub masked: String,
    pub cannot_open: bool,
}

/// The rows of the keys table (`<tr id="key-N">`).
pub fn key_rows(html: &str) -> Vec<KeyRow> {
    let mut rows = Vec::new();
    for (at, _) in html.match_indices(r#"<tr id="key-"#) {
        let rest = &html[at + r#"<tr id="key-"#.len()..];
        let id: i64 = rest[..rest.find('"').expect("id end")]
            .parse()
            .expect("numeric key id");
        let row = &rest[..rest.find("</tr>").expect("row end")];
        // A cell's content: what follows `<td …>` (cells carry a data-label) up to `</td>`.
        let after_tag = |piece: &str| -> String {
            piece
                .split_once('>')
                .map_or(String::new(), |(_, rest)| rest.to_owned())
        };
        let cell = |n: usize| -> String {
            let mut cells = row.split("<td").skip(1);
            let cell = after_tag(cells.nth(n).unwrap_or_default());
            html_unescape(&cell[..cell.find("</td>").unwrap_or(cell.len())])
        };
        let masked_cell = cell(1);
        let masked = masked_cell
            .split("<code")
            .nth(1)
            .map(after_tag)
            .and_then(|c| c.split("</code>").next().map(str::to_owned))
            .unwrap_or_default();
        rows.push(KeyRow {
            id,
            label: cell(0),
            masked,
            cannot_open: masked_cell.contains(CANNOT_OPEN),
        });
    }
    rows
}

#[cfg(test)]
mod self_tests {
    use super::*;

    #[test]
    fn html_unescape_handles_named_and_numeric_entities() {
        assert_eq!(
            html_unescape("&#60;b&#62; &lt;i&gt; &#x27;&amp;amp; & x;"),
            "<b> <i> '&amp; & x;"
        );
    }
}
