//! QR codes drawn on the server as inline SVG (no image crate, no outside service, nothing for
//! the Content-Security-Policy to allow).

use qrcode::QrCode;
use qrcode::render::svg;

/// `text` as an `<svg>` element to put in a page, or `None` when it is too long for a QR code.
/// Medium error correction and a quiet zone, as phone cameras like them.
pub fn svg(text: &str) -> Option<String> {
    let code = QrCode::with_error_correction_level(text, qrcode::EcLevel::M).ok()?;
    let image = code
        .render::<svg::Color<'_>>()
        .min_dimensions(220, 220)
        .quiet_zone(true)
        .build();
    // The renderer writes a standalone document; a page wants the element alone.
    let start = image.find("<svg")?;
    Some(image[start..].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_otpauth_uri_becomes_one_svg_element() {
        let drawn = svg("otpauth://totp/x:y?secret=JBSWY3DPEHPK3PXP&issuer=x").unwrap();
        assert!(
            drawn.starts_with("<svg") && drawn.ends_with("</svg>"),
            "{drawn}"
        );
        assert!(!drawn.contains("<?xml"));
        assert!(svg(&"x".repeat(8000)).is_none());
    }
}
