//! A node's box in the SVG: its lines of text, its size, and its drawing.

use std::fmt::Write as _;

use ::layout::core::geometry::Point;

use super::escape::{fmt, xml_escape};
use super::{VizNode, VizRole};
use crate::type_name::short_type_name;

pub(super) const SANS: &str = "Helvetica, Arial, sans-serif";
pub(super) const MONO: &str = "Menlo, Consolas, DejaVu Sans Mono, monospace";
pub(super) const NAME_FONT: f64 = 14.0;
pub(super) const SMALL_FONT: f64 = 11.0;
pub(super) const NAME_LINE: f64 = 19.0;
pub(super) const SMALL_LINE: f64 = 15.0;
pub(super) const PAD_X: f64 = 12.0;
pub(super) const PAD_Y: f64 = 7.0;
/// Longest type/note line drawn in a box; longer ones are cut with an ellipsis
/// (the full text is in the node's tooltip).
pub(super) const MAX_SMALL_CHARS: usize = 56;

/// Rough width of `s` rendered at `size` px, `factor` being the average
/// advance of a character in ems.
pub(super) fn text_width(s: &str, size: f64, factor: f64) -> f64 {
    s.chars().count() as f64 * size * factor
}

fn clip_chars(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// The kinds of text line in a node box.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Line {
    Name,
    Type,
    Note,
}

impl Line {
    fn height(self) -> f64 {
        match self {
            Line::Name => NAME_LINE,
            Line::Type | Line::Note => SMALL_LINE,
        }
    }

    fn width(self, text: &str) -> f64 {
        match self {
            Line::Name => text_width(text, NAME_FONT, 0.62),
            Line::Type => text_width(text, SMALL_FONT, 0.61),
            Line::Note => text_width(text, SMALL_FONT, 0.55),
        }
    }

    /// Font attributes of the `<text>` element.
    fn attrs(self) -> String {
        match self {
            Line::Name => {
                format!("font-size=\"{NAME_FONT}\" font-weight=\"bold\" fill=\"#111827\"")
            }
            Line::Type => {
                format!("font-size=\"{SMALL_FONT}\" font-family=\"{MONO}\" fill=\"#374151\"")
            }
            Line::Note => {
                format!("font-size=\"{SMALL_FONT}\" font-style=\"italic\" fill=\"#4b5563\"")
            }
        }
    }

    fn font_size(self) -> f64 {
        match self {
            Line::Name => NAME_FONT,
            Line::Type | Line::Note => SMALL_FONT,
        }
    }
}

/// A node's box: its text lines and size.
#[derive(Debug, Clone)]
pub(super) struct NodeBox {
    lines: Vec<(Line, String)>,
    /// The node's name, as the group's `data-node` attribute (pages that show the picture
    /// find a node's box by it: `weft ui` links each box to the node's page).
    name: String,
    /// Hover text: the full name, type and note.
    tooltip: String,
    pub(super) w: f64,
    pub(super) h: f64,
}

impl NodeBox {
    pub(super) fn new(node: &VizNode) -> Self {
        let ty = short_type_name(&node.type_name);
        let lines: Vec<(Line, String)> = [
            (Line::Name, node.name.clone()),
            (Line::Type, clip_chars(&ty, MAX_SMALL_CHARS)),
            (Line::Note, clip_chars(&node.note, MAX_SMALL_CHARS)),
        ]
        .into_iter()
        .filter(|(_, text)| !text.is_empty())
        .collect();
        let w = lines.iter().map(|(k, t)| k.width(t)).fold(0.0, f64::max);
        let h = lines.iter().map(|(k, _)| k.height()).sum::<f64>();
        let mut tooltip = node.name.clone();
        if !ty.is_empty() {
            tooltip.push_str(": ");
            tooltip.push_str(&ty);
        }
        if !node.note.is_empty() {
            tooltip.push_str(" (");
            tooltip.push_str(&node.note);
            tooltip.push(')');
        }
        NodeBox {
            lines,
            name: node.name.clone(),
            tooltip,
            w: (w + 2.0 * PAD_X).max(64.0).ceil(),
            h: (h.max(NAME_LINE) + 2.0 * PAD_Y).ceil(),
        }
    }

    pub(super) fn render(&self, s: &mut String, role: VizRole, tl: Point, sz: Point) {
        let st = role.style();
        let rx = if st.rounded { 7.0 } else { 0.0 };
        let _ = write!(
            s,
            "<g class=\"weft-node\" data-node=\"{}\"><title>{}</title>",
            xml_escape(&self.name),
            xml_escape(&self.tooltip)
        );
        let _ = writeln!(
            s,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"{rx}\" {}/>",
            fmt(tl.x),
            fmt(tl.y),
            fmt(sz.x),
            fmt(sz.y),
            st.svg_attrs()
        );
        // The text block is centred in the box; each line's baseline sits so
        // that its capitals are centred in the line.
        let block: f64 = self.lines.iter().map(|(k, _)| k.height()).sum();
        let cx = tl.x + sz.x / 2.0;
        let mut y = tl.y + (sz.y - block) / 2.0;
        for (kind, text) in &self.lines {
            let baseline = y + (kind.height() + 0.7 * kind.font_size()) / 2.0;
            let _ = writeln!(
                s,
                "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" {}>{}</text>",
                fmt(cx),
                fmt(baseline),
                kind.attrs(),
                xml_escape(text)
            );
            y += kind.height();
        }
        s.push_str("</g>\n");
    }
}
