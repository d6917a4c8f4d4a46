//! The legend drawn under the SVG: one swatch per role that appears.

use std::fmt::Write as _;

use super::escape::{fmt, xml_escape};
use super::node_box::text_width;
use super::VizRole;

/// The legend's entries, laid out in rows.
pub(super) struct Legend {
    /// (role, x, y) of each entry, relative to the legend's top-left corner.
    entries: Vec<(VizRole, f64, f64)>,
    pub(super) w: f64,
    pub(super) h: f64,
}

impl Legend {
    const SWATCH_W: f64 = 28.0;
    const SWATCH_H: f64 = 16.0;
    const ROW_H: f64 = 24.0;
    const PAD: f64 = 10.0;
    const HEAD_H: f64 = 20.0;
    const FONT: f64 = 12.0;

    /// Lays the entries out in rows no wider than `max_w` (at least one per row).
    pub(super) fn new(roles: &[VizRole], max_w: f64) -> Self {
        if roles.is_empty() {
            return Legend {
                entries: Vec::new(),
                w: 0.0,
                h: 0.0,
            };
        }
        let mut entries = Vec::new();
        let (mut x, mut y) = (Self::PAD, Self::PAD + Self::HEAD_H);
        let mut w: f64 = Self::PAD + text_width("Legend", Self::FONT, 0.62) + Self::PAD;
        for &role in roles {
            let ew = Self::SWATCH_W + 6.0 + text_width(role.label(), Self::FONT, 0.55);
            if x > Self::PAD && x + ew + Self::PAD > max_w {
                x = Self::PAD;
                y += Self::ROW_H;
            }
            entries.push((role, x, y));
            x += ew;
            w = w.max(x + Self::PAD);
            x += 16.0;
        }
        let h = y + Self::ROW_H + Self::PAD - 4.0;
        Legend {
            entries,
            w: w.ceil(),
            h: h.ceil(),
        }
    }

    pub(super) fn render(&self, s: &mut String, left: f64, top: f64) {
        let _ = writeln!(s, "<g transform=\"translate({} {})\">", fmt(left), fmt(top));
        let _ = writeln!(
            s,
            "<rect x=\"0\" y=\"0\" width=\"{}\" height=\"{}\" rx=\"6\" fill=\"#f9fafb\" \
             stroke=\"#9ca3af\" stroke-width=\"1\" stroke-dasharray=\"4,3\"/>",
            fmt(self.w),
            fmt(self.h)
        );
        let _ = writeln!(
            s,
            "<text x=\"{}\" y=\"{}\" font-size=\"{}\" font-weight=\"bold\" fill=\"#374151\">Legend</text>",
            fmt(Self::PAD),
            fmt(Self::PAD + 12.0),
            Self::FONT
        );
        for &(role, x, y) in &self.entries {
            let st = role.style();
            let rx = if st.rounded { 4.0 } else { 0.0 };
            let _ = writeln!(
                s,
                "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"{rx}\" {}/>",
                fmt(x),
                fmt(y + (Self::ROW_H - Self::SWATCH_H) / 2.0),
                Self::SWATCH_W,
                Self::SWATCH_H,
                st.svg_attrs()
            );
            let _ = writeln!(
                s,
                "<text x=\"{}\" y=\"{}\" font-size=\"{}\" fill=\"#111827\">{}</text>",
                fmt(x + Self::SWATCH_W + 6.0),
                fmt(y + Self::ROW_H / 2.0 + 0.35 * Self::FONT),
                Self::FONT,
                xml_escape(role.label())
            );
        }
        s.push_str("</g>\n");
    }
}
