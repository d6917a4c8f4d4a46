//! Pictures of the DAG: DOT text and SVG rendered in-process.
//!
//! [`Viz`] is a plain description of a picture (nodes with a role, a type and
//! an optional note, plus dependency edges). It can be turned into Graphviz
//! DOT text ([`Viz::to_dot`]) or into a standalone SVG document laid out
//! in-process with the `layout-rs` crate ([`Viz::to_svg`]); no `dot` binary is
//! needed.
//!
//! Notes on the SVG renderer:
//! * `layout-rs` only computes the placement (ranks, node order, edge curves);
//!   the SVG itself is written here, so that node styles (dashed/bold borders,
//!   two fonts per node, tooltips) and the legend can be drawn.
//! * `layout-rs` asserts on cycles in its own checks and tests reachability
//!   with a path-enumerating search, so the graph is made acyclic here first
//!   (back edges are drawn reversed, with the arrowhead at the start) and the
//!   edges are handed over in topological order, which keeps that search
//!   trivial; its exhaustive self-verification is switched off.
//! * Should `layout-rs` panic anyway (the panic is caught; the default hook
//!   still prints it), or the graph be too large for it to lay out quickly, a
//!   simple built-in layered layout is used instead, so rendering never fails
//!   on user data.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::path::Path;

use ::layout::core::base::Orientation;
use ::layout::core::format::{ClipHandle, RenderBackend};
use ::layout::core::geometry::{Point, Position};
use ::layout::core::style::{LineStyleKind, StyleAttr};
use ::layout::std_shapes::shapes::{Arrow, Element, LineEndKind, ShapeKind};
use ::layout::topo::layout::VisualGraph;

/// What a node is in the picture; each role gets its own style and a legend entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum VizRole {
    /// An external input supplied at execute time (e.g. dashed box).
    Input,
    /// A config value fixed at build time.
    Config,
    /// A function node that is computed.
    Function,
    /// A requested output (function node, emphasised).
    Output,
    /// A node whose value was supplied as an override (not executed).
    Override,
    /// Cache run: the value was served from the cache.
    Hit,
    /// Cache run: the node was executed (no usable cache entry).
    Executed,
    /// Cache run: the node was recomputed (its cache entry was stale).
    Recomputed,
    /// Cache run: caching is disabled for the node.
    Disabled,
    /// Cache run: the node failed.
    Failed,
}

impl VizRole {
    /// Every role, in legend order.
    pub const ALL: [VizRole; 10] = [
        VizRole::Input,
        VizRole::Config,
        VizRole::Function,
        VizRole::Output,
        VizRole::Override,
        VizRole::Hit,
        VizRole::Executed,
        VizRole::Recomputed,
        VizRole::Disabled,
        VizRole::Failed,
    ];

    /// The text of this role's legend entry.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            VizRole::Input => "input",
            VizRole::Config => "config",
            VizRole::Function => "function",
            VizRole::Output => "output",
            VizRole::Override => "override",
            VizRole::Hit => "cache hit",
            VizRole::Executed => "executed",
            VizRole::Recomputed => "recomputed",
            VizRole::Disabled => "cache disabled",
            VizRole::Failed => "failed",
        }
    }

    fn style(self) -> RoleStyle {
        let (fill, stroke) = match self {
            VizRole::Input => ("#dbeafe", "#2563eb"),
            VizRole::Config => ("#ede9fe", "#7c3aed"),
            VizRole::Function => ("#ffffff", "#374151"),
            VizRole::Output => ("#fde68a", "#92400e"),
            VizRole::Override => ("#e5e7eb", "#4b5563"),
            VizRole::Hit => ("#bbf7d0", "#15803d"),
            VizRole::Executed => ("#fed7aa", "#c2410c"),
            VizRole::Recomputed => ("#fdba74", "#9a3412"),
            VizRole::Disabled => ("#d1d5db", "#6b7280"),
            VizRole::Failed => ("#fecaca", "#dc2626"),
        };
        let border = match self {
            VizRole::Input => Border::Dashed,
            VizRole::Disabled => Border::Dotted,
            _ => Border::Solid,
        };
        let width = match self {
            VizRole::Output => 2.5,
            VizRole::Failed => 2.0,
            _ => 1.2,
        };
        // External values (inputs, config) are square; computed ones rounded.
        let rounded = !matches!(self, VizRole::Input | VizRole::Config);
        RoleStyle {
            fill,
            stroke,
            width,
            border,
            rounded,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Border {
    Solid,
    Dashed,
    Dotted,
}

#[derive(Debug, Clone, Copy)]
struct RoleStyle {
    fill: &'static str,
    stroke: &'static str,
    width: f64,
    border: Border,
    rounded: bool,
}

impl RoleStyle {
    fn dot_style(&self) -> String {
        let mut parts = vec!["filled"];
        if self.rounded {
            parts.push("rounded");
        }
        match self.border {
            Border::Solid => {}
            Border::Dashed => parts.push("dashed"),
            Border::Dotted => parts.push("dotted"),
        }
        parts.join(",")
    }

    fn svg_attrs(&self) -> String {
        let dash = match self.border {
            Border::Solid => "",
            Border::Dashed => " stroke-dasharray=\"6,3\"",
            Border::Dotted => " stroke-dasharray=\"2,2\"",
        };
        format!(
            "fill=\"{}\" stroke=\"{}\" stroke-width=\"{}\"{}",
            self.fill, self.stroke, self.width, dash
        )
    }
}

/// One node of the picture.
#[derive(Debug, Clone)]
pub struct VizNode {
    /// The node's name, shown in bold.
    pub name: String,
    /// What the node is; decides its style.
    pub role: VizRole,
    /// Rust type name of the node's value, shown under the name (shorten `alloc::string::String` to `String` etc: strip module paths from each path segment of the type, keep generics).
    pub type_name: String,
    /// Optional extra line (e.g. "12.3 ms"), shown under the type when non-empty.
    pub note: String,
}

/// A picture of a DAG, ready to be rendered as DOT or SVG.
#[derive(Debug, Clone, Default)]
pub struct Viz {
    /// Shown above the graph when non-empty.
    pub title: String,
    /// The nodes; edges refer to them by index.
    pub nodes: Vec<VizNode>,
    /// (from, to) indices into `nodes`: `from` is a dependency of `to`.
    pub edges: Vec<(usize, usize)>,
    /// Whether to draw a legend of the roles that appear.
    pub legend: bool,
}

/// Why a picture could not be made or saved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VizError {
    /// An edge names a node index past the end of `nodes`.
    #[error("edge ({0}, {1}) refers to a node index that does not exist")]
    BadEdge(usize, usize),
    /// Writing the output file failed.
    #[error("could not write {path}: {source}")]
    Io {
        /// The file that was being written.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// Shortens a Rust type name as printed by `std::any::type_name`: every path
/// is cut down to its last segment, generics and punctuation are kept, e.g.
/// `alloc::vec::Vec<alloc::string::String>` becomes `Vec<String>`.
#[must_use]
pub fn short_type_name(full: &str) -> String {
    let mut out = String::with_capacity(full.len());
    // Byte offset in `out` where the current path segment starts.
    let mut seg_start = 0;
    let mut chars = full.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ':' && chars.peek() == Some(&':') {
            chars.next();
            if out.len() > seg_start {
                // Drop the module/type prefix just written.
                out.truncate(seg_start);
            } else {
                // `<T as Trait>::Assoc` and the like: nothing to strip.
                out.push_str("::");
                seg_start = out.len();
            }
        } else if c.is_alphanumeric() || matches!(c, '_' | '#' | '{' | '}') {
            out.push(c);
        } else {
            out.push(c);
            seg_start = out.len();
        }
    }
    out
}

impl Viz {
    /// Graphviz DOT text (digraph, rankdir=LR). Node names and types must be escaped properly (quotes, backslashes, <, >, &). Roles styled apart (colours/shapes), with a legend cluster when `legend` is true.
    ///
    /// # Errors
    /// [`VizError::BadEdge`] if an edge refers to a node that does not exist.
    pub fn to_dot(&self) -> Result<String, VizError> {
        self.check_edges()?;
        let mut s = String::new();
        s.push_str("digraph weft {\n");
        s.push_str("  graph [rankdir=LR, fontname=\"Helvetica,Arial,sans-serif\"");
        if !self.title.is_empty() {
            let _ = write!(
                s,
                ", label=\"{}\", labelloc=t, labeljust=l, fontsize=16",
                dot_quote(&self.title)
            );
        }
        s.push_str("];\n");
        s.push_str(
            "  node [shape=box, style=\"rounded,filled\", \
             fontname=\"Helvetica,Arial,sans-serif\", fontsize=12, \
             margin=\"0.15,0.06\"];\n",
        );
        s.push_str("  edge [color=\"#6b7280\", arrowsize=0.7];\n");

        for (i, node) in self.nodes.iter().enumerate() {
            let st = node.role.style();
            // An HTML-like label: bold name, then type and note in small type.
            // (Graphviz rejects empty <B></B>, so empty parts are left out.)
            let mut lines = Vec::new();
            if !node.name.is_empty() {
                lines.push(format!("<B>{}</B>", html_escape(&node.name)));
            }
            let ty = short_type_name(&node.type_name);
            if !ty.is_empty() {
                lines.push(format!(
                    "<FONT POINT-SIZE=\"10\" FACE=\"Courier\" COLOR=\"#374151\">{}</FONT>",
                    html_escape(&ty)
                ));
            }
            if !node.note.is_empty() {
                lines.push(format!(
                    "<FONT POINT-SIZE=\"10\" COLOR=\"#4b5563\"><I>{}</I></FONT>",
                    html_escape(&node.note)
                ));
            }
            let label = if lines.is_empty() {
                "\" \"".to_string()
            } else {
                format!("<{}>", lines.join("<BR/>"))
            };
            let _ = writeln!(
                s,
                "  n{i} [label={label}, tooltip=\"{}\", style=\"{}\", fillcolor=\"{}\", color=\"{}\", penwidth={}];",
                dot_quote(&node.name),
                st.dot_style(),
                st.fill,
                st.stroke,
                st.width
            );
        }

        let mut seen = HashSet::new();
        for &(from, to) in &self.edges {
            if seen.insert((from, to)) {
                let _ = writeln!(s, "  n{from} -> n{to};");
            }
        }

        let roles = self.legend_roles();
        if !roles.is_empty() {
            s.push_str("  subgraph cluster_legend {\n");
            s.push_str(
                "    graph [label=\"Legend\", labelloc=t, labeljust=l, fontsize=12, \
                 style=\"rounded,dashed\", color=\"#9ca3af\"];\n",
            );
            for (k, role) in roles.iter().enumerate() {
                let st = role.style();
                let _ = writeln!(
                    s,
                    "    legend{k} [label=\"{}\", fontsize=10, height=0.3, margin=\"0.12,0.02\", style=\"{}\", fillcolor=\"{}\", color=\"{}\", penwidth={}];",
                    role.label(),
                    st.dot_style(),
                    st.fill,
                    st.stroke,
                    st.width
                );
            }
            s.push_str("  }\n");
        }
        s.push_str("}\n");
        Ok(s)
    }

    /// A standalone SVG document laid out with layout-rs (left to right or top-down, whichever layout-rs does well), nodes styled by role with the same colours as the DOT, and a legend (drawn as extra nodes or an SVG group) when `legend` is true. Text must be XML-escaped.
    ///
    /// # Errors
    /// [`VizError::BadEdge`] if an edge refers to a node that does not exist.
    pub fn to_svg(&self) -> Result<String, VizError> {
        self.check_edges()?;
        let boxes: Vec<NodeBox> = self.nodes.iter().map(NodeBox::new).collect();
        let sizes: Vec<Point> = boxes.iter().map(|b| Point::new(b.w, b.h)).collect();
        let plan = EdgePlan::new(self.nodes.len(), &self.edges);
        let placed = place(&sizes, &plan);
        Ok(self.render_svg(&boxes, &placed))
    }

    /// Writes DOT or SVG depending on the file extension (".dot"/".gv" → DOT, anything else → SVG), atomically: write a temp file beside it then rename.
    ///
    /// # Errors
    /// [`VizError::BadEdge`] as for [`Viz::to_dot`], or [`VizError::Io`] if
    /// the file cannot be written.
    pub fn write(&self, path: impl AsRef<std::path::Path>) -> Result<(), VizError> {
        let path = path.as_ref();
        let is_dot = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("dot") || e.eq_ignore_ascii_case("gv"));
        let text = if is_dot {
            self.to_dot()?
        } else {
            self.to_svg()?
        };
        write_atomic(path, text.as_bytes()).map_err(|source| VizError::Io {
            path: path.display().to_string(),
            source,
        })
    }

    fn check_edges(&self) -> Result<(), VizError> {
        let n = self.nodes.len();
        match self.edges.iter().find(|&&(a, b)| a >= n || b >= n) {
            Some(&(a, b)) => Err(VizError::BadEdge(a, b)),
            None => Ok(()),
        }
    }

    /// The roles to show in the legend (those that appear, in a fixed order).
    fn legend_roles(&self) -> Vec<VizRole> {
        if !self.legend {
            return Vec::new();
        }
        VizRole::ALL
            .into_iter()
            .filter(|r| self.nodes.iter().any(|n| n.role == *r))
            .collect()
    }

    fn render_svg(&self, boxes: &[NodeBox], placed: &Placed) -> String {
        const MARGIN: f64 = 16.0;
        const TITLE_H: f64 = 30.0;

        // Bounding box of the drawing as laid out.
        let (mut min_x, mut min_y) = (f64::INFINITY, f64::INFINITY);
        let (mut max_x, mut max_y) = (f64::NEG_INFINITY, f64::NEG_INFINITY);
        let mut grow = |p: Point| {
            if p.x.is_finite() && p.y.is_finite() {
                min_x = min_x.min(p.x);
                min_y = min_y.min(p.y);
                max_x = max_x.max(p.x);
                max_y = max_y.max(p.y);
            }
        };
        for (tl, sz) in &placed.nodes {
            grow(*tl);
            grow(tl.add(*sz));
        }
        for e in &placed.edges {
            for p in &e.points {
                grow(*p);
            }
        }
        if min_x > max_x || min_y > max_y {
            (min_x, min_y, max_x, max_y) = (0.0, 0.0, 0.0, 0.0);
        }
        let graph_w = max_x - min_x;
        let graph_h = max_y - min_y;

        let title_h = if self.title.is_empty() { 0.0 } else { TITLE_H };
        let graph_top = MARGIN + title_h;
        let dx = MARGIN - min_x;
        let dy = graph_top - min_y;

        let roles = self.legend_roles();
        let legend = Legend::new(&roles, graph_w.max(360.0));
        let legend_top = graph_top + graph_h + if self.nodes.is_empty() { 0.0 } else { 24.0 };

        let title_w = text_width(&self.title, 16.0, 0.62);
        let width = (graph_w.max(legend.w).max(title_w) + 2.0 * MARGIN).ceil();
        let height = if roles.is_empty() {
            graph_top + graph_h + MARGIN
        } else {
            legend_top + legend.h + MARGIN
        }
        .ceil();

        let mut s = String::new();
        s.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n");
        let _ = writeln!(
            s,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
             viewBox=\"0 0 {width} {height}\" font-family=\"{SANS}\">"
        );
        if !self.title.is_empty() {
            let _ = writeln!(s, "<title>{}</title>", xml_escape(&self.title));
        }
        s.push_str(
            "<defs>\n\
             <marker id=\"weft-end\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" \
             markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\">\
             <path d=\"M0,0 L10,5 L0,10 z\" fill=\"#6b7280\"/></marker>\n\
             <marker id=\"weft-start\" viewBox=\"0 0 10 10\" refX=\"0\" refY=\"5\" \
             markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\">\
             <path d=\"M10,0 L0,5 L10,10 z\" fill=\"#6b7280\"/></marker>\n\
             </defs>\n",
        );
        let _ = writeln!(
            s,
            "<rect x=\"0\" y=\"0\" width=\"{width}\" height=\"{height}\" fill=\"#ffffff\"/>"
        );
        if !self.title.is_empty() {
            let _ = writeln!(
                s,
                "<text x=\"{MARGIN}\" y=\"{}\" font-size=\"16\" font-weight=\"bold\" fill=\"#111827\">{}</text>",
                MARGIN + 16.0,
                xml_escape(&self.title)
            );
        }

        let _ = writeln!(s, "<g transform=\"translate({} {})\">", fmt(dx), fmt(dy));
        s.push_str("<g fill=\"none\" stroke=\"#6b7280\" stroke-width=\"1.3\">\n");
        for e in &placed.edges {
            let _ = write!(s, "<path d=\"{}\"", e.d);
            if e.start_head {
                s.push_str(" marker-start=\"url(#weft-start)\"");
            }
            if e.end_head {
                s.push_str(" marker-end=\"url(#weft-end)\"");
            }
            s.push_str("/>\n");
        }
        s.push_str("</g>\n");
        for (i, (node, nb)) in self.nodes.iter().zip(boxes).enumerate() {
            let Some((tl, sz)) = placed.nodes.get(i) else {
                continue;
            };
            nb.render(&mut s, node.role, *tl, *sz);
        }
        s.push_str("</g>\n");

        if !roles.is_empty() {
            legend.render(&mut s, MARGIN, legend_top);
        }
        s.push_str("</svg>\n");
        s
    }
}

// ---------------------------------------------------------------------------
// Escaping helpers.

/// Characters that XML 1.0 does not allow at all.
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{fffe}' && c != '\u{ffff}')
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if is_xml_char(c) => out.push(c),
            _ => out.push('\u{fffd}'),
        }
    }
    out
}

/// Text for a Graphviz HTML-like label (`<...>`).
fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control() => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// Text for a Graphviz double-quoted string.
fn dot_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' | '\t' => out.push(' '),
            c if c.is_control() => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// A number for SVG output: two decimals at most, no `-0`.
fn fmt(v: f64) -> String {
    if !v.is_finite() {
        return "0".to_string();
    }
    let r = (v * 100.0).round() / 100.0;
    if r == 0.0 {
        "0".to_string()
    } else {
        format!("{r}")
    }
}

// ---------------------------------------------------------------------------
// Node boxes: sizes and drawing.

const SANS: &str = "Helvetica, Arial, sans-serif";
const MONO: &str = "Menlo, Consolas, DejaVu Sans Mono, monospace";
const NAME_FONT: f64 = 14.0;
const SMALL_FONT: f64 = 11.0;
const NAME_LINE: f64 = 19.0;
const SMALL_LINE: f64 = 15.0;
const PAD_X: f64 = 12.0;
const PAD_Y: f64 = 7.0;
/// Longest type/note line drawn in a box; longer ones are cut with an ellipsis
/// (the full text is in the node's tooltip).
const MAX_SMALL_CHARS: usize = 56;

/// Rough width of `s` rendered at `size` px, `factor` being the average
/// advance of a character in ems.
fn text_width(s: &str, size: f64, factor: f64) -> f64 {
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
struct NodeBox {
    lines: Vec<(Line, String)>,
    /// Hover text: the full name, type and note.
    tooltip: String,
    w: f64,
    h: f64,
}

impl NodeBox {
    fn new(node: &VizNode) -> Self {
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
            tooltip,
            w: (w + 2.0 * PAD_X).max(64.0).ceil(),
            h: (h.max(NAME_LINE) + 2.0 * PAD_Y).ceil(),
        }
    }

    fn render(&self, s: &mut String, role: VizRole, tl: Point, sz: Point) {
        let st = role.style();
        let rx = if st.rounded { 7.0 } else { 0.0 };
        let _ = write!(s, "<g><title>{}</title>", xml_escape(&self.tooltip));
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

// ---------------------------------------------------------------------------
// Legend.

struct Legend {
    /// (role, x, y) of each entry, relative to the legend's top-left corner.
    entries: Vec<(VizRole, f64, f64)>,
    w: f64,
    h: f64,
}

impl Legend {
    const SWATCH_W: f64 = 28.0;
    const SWATCH_H: f64 = 16.0;
    const ROW_H: f64 = 24.0;
    const PAD: f64 = 10.0;
    const HEAD_H: f64 = 20.0;
    const FONT: f64 = 12.0;

    /// Lays the entries out in rows no wider than `max_w` (at least one per row).
    fn new(roles: &[VizRole], max_w: f64) -> Self {
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

    fn render(&self, s: &mut String, left: f64, top: f64) {
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

// ---------------------------------------------------------------------------
// Layout.

/// The edges as handed to the layout engine: acyclic, deduplicated, and in
/// topological order of their source.
#[derive(Debug)]
struct EdgePlan {
    /// (from, to, arrowhead at `from`, arrowhead at `to`): `from` comes
    /// before `to` in a DFS order, and the list is sorted by that order.
    edges: Vec<(usize, usize, bool, bool)>,
    /// Nodes that depend on themselves.
    self_loops: Vec<usize>,
}

impl EdgePlan {
    fn new(n: usize, raw: &[(usize, usize)]) -> Self {
        let mut succ: Vec<Vec<usize>> = vec![Vec::new(); n];
        let mut self_loops = Vec::new();
        for &(a, b) in raw {
            if a == b {
                if !self_loops.contains(&a) {
                    self_loops.push(a);
                }
            } else if a < n && b < n {
                succ[a].push(b);
            }
        }
        // Reverse post-order of a DFS: a topological order when the graph is
        // acyclic; otherwise the edges pointing backwards break every cycle.
        let mut visited = vec![false; n];
        let mut post = Vec::with_capacity(n);
        for root in 0..n {
            if visited[root] {
                continue;
            }
            visited[root] = true;
            let mut stack = vec![(root, 0usize)];
            while let Some(top) = stack.last_mut() {
                let (v, i) = *top;
                if let Some(&w) = succ[v].get(i) {
                    top.1 += 1;
                    if !visited[w] {
                        visited[w] = true;
                        stack.push((w, 0));
                    }
                } else {
                    post.push(v);
                    stack.pop();
                }
            }
        }
        let mut pos = vec![0usize; n];
        for (k, &v) in post.iter().rev().enumerate() {
            pos[v] = k;
        }
        let mut merged: BTreeMap<(usize, usize), (usize, usize, bool, bool)> = BTreeMap::new();
        for &(a, b) in raw {
            if a == b || a >= n || b >= n {
                continue;
            }
            let (from, to, fwd) = if pos[a] < pos[b] {
                (a, b, true)
            } else {
                (b, a, false)
            };
            let e = merged
                .entry((pos[from], pos[to]))
                .or_insert((from, to, false, false));
            if fwd {
                e.3 = true;
            } else {
                e.2 = true;
            }
        }
        EdgePlan {
            edges: merged.into_values().collect(),
            self_loops,
        }
    }
}

/// A finished layout: node boxes and edge paths, in one coordinate system.
#[derive(Debug, Default)]
struct Placed {
    /// (top-left, size) per node, indexed like `Viz::nodes`.
    nodes: Vec<(Point, Point)>,
    edges: Vec<PlacedEdge>,
}

#[derive(Debug)]
struct PlacedEdge {
    /// SVG path data.
    d: String,
    /// Points of the path (for the bounding box).
    points: Vec<Point>,
    start_head: bool,
    end_head: bool,
}

impl PlacedEdge {
    /// A single cubic Bézier through `p` (start, two controls, end).
    fn cubic(p: [Point; 4], start_head: bool, end_head: bool) -> Self {
        let [a, b, c, d] = p.map(|q| format!("{},{}", fmt(q.x), fmt(q.y)));
        PlacedEdge {
            d: format!("M{a} C{b} {c} {d}"),
            points: p.to_vec(),
            start_head,
            end_head,
        }
    }
}

/// How much work a layout is for layout-rs, estimated on the longest-path
/// ranking it starts from (its own rank optimisation only shortens edges).
#[derive(Debug, Clone, Copy, PartialEq)]
struct LayoutCost {
    /// Nodes plus the invisible joints of edges that span several ranks.
    virtual_nodes: usize,
    /// Sum over neighbouring ranks of `len(r)^2 * len(r+1)`: what one sweep
    /// of its edge-crossing optimiser costs (it runs fifty).
    crossing_work: f64,
}

impl LayoutCost {
    /// Above this, crossing optimisation is skipped (it would take seconds).
    const MAX_CROSSING_WORK: f64 = 500_000.0;
    /// Above this, layout-rs is not used at all: its coordinate assignment
    /// looks ranks up linearly and grows roughly cubically.
    const MAX_VIRTUAL_NODES: usize = 1200;

    fn estimate(n: usize, plan: &EdgePlan) -> Self {
        let mut rank = vec![0usize; n];
        for &(a, b, _, _) in &plan.edges {
            rank[b] = rank[b].max(rank[a] + 1);
        }
        let levels = rank.iter().copied().max().unwrap_or(0) + 1;
        let mut row = vec![0usize; levels + 1];
        for &r in &rank {
            row[r] += 1;
        }
        for &(a, b, _, _) in &plan.edges {
            for slot in &mut row[rank[a] + 1..rank[b]] {
                *slot += 1;
            }
        }
        LayoutCost {
            virtual_nodes: row.iter().sum(),
            crossing_work: row
                .windows(2)
                .map(|w| (w[0] as f64).powi(2) * w[1] as f64)
                .sum(),
        }
    }
}

fn place(sizes: &[Point], plan: &EdgePlan) -> Placed {
    if sizes.is_empty() {
        return Placed::default();
    }
    let cost = LayoutCost::estimate(sizes.len(), plan);
    let mut placed = None;
    if cost.virtual_nodes <= LayoutCost::MAX_VIRTUAL_NODES {
        let optimize = cost.crossing_work <= LayoutCost::MAX_CROSSING_WORK;
        // layout-rs asserts its invariants; a failure there must not take the
        // caller down, so it falls back to the simple layout.
        placed = std::panic::catch_unwind(|| place_with_layout_rs(sizes, plan, optimize)).ok();
    }
    let mut placed = placed.unwrap_or_else(|| place_simple(sizes, plan));
    // Self-dependencies: a small loop on top of the node (layout-rs draws
    // these as a barely visible stub).
    for &v in &plan.self_loops {
        if let Some(&(tl, sz)) = placed.nodes.get(v) {
            let x1 = tl.x + sz.x * 0.5 + 14.0;
            let x0 = x1 - 22.0;
            let pts = [
                Point::new(x0, tl.y),
                Point::new(x0 - 8.0, tl.y - 22.0),
                Point::new(x1 + 8.0, tl.y - 22.0),
                Point::new(x1, tl.y),
            ];
            placed.edges.push(PlacedEdge::cubic(pts, false, true));
        }
    }
    placed
}

/// Records the edges that layout-rs draws; nodes are read back from the graph.
#[derive(Debug, Default)]
struct EdgeRecorder {
    edges: Vec<PlacedEdge>,
}

impl RenderBackend for EdgeRecorder {
    fn draw_rect(
        &mut self,
        _: Point,
        _: Point,
        _: &StyleAttr,
        _: Option<String>,
        _: Option<ClipHandle>,
    ) {
    }

    fn draw_line(&mut self, _: Point, _: Point, _: &StyleAttr, _: Option<String>) {}

    fn draw_circle(&mut self, _: Point, _: Point, _: &StyleAttr, _: Option<String>) {}

    fn draw_text(&mut self, _: Point, _: &str, _: &StyleAttr) {}

    fn draw_arrow(
        &mut self,
        path: &[(Point, Point)],
        _dashed: bool,
        head: (bool, bool),
        _look: &StyleAttr,
        _properties: Option<String>,
        _text: &str,
    ) {
        // layout-rs paths: [(start, control), (control, point), (control, point)...]
        // drawn as "M start C control control point S control point ...".
        if path.len() < 2 {
            return;
        }
        let p = |pt: Point| format!("{},{}", fmt(pt.x), fmt(pt.y));
        let mut d = format!(
            "M{} C{} {} {}",
            p(path[0].0),
            p(path[0].1),
            p(path[1].0),
            p(path[1].1)
        );
        for seg in &path[2..] {
            let _ = write!(d, " S{} {}", p(seg.0), p(seg.1));
        }
        let points = path.iter().flat_map(|s| [s.0, s.1]).collect();
        self.edges.push(PlacedEdge {
            d,
            points,
            start_head: head.0,
            end_head: head.1,
        });
    }

    fn create_clip(&mut self, _: Point, _: Point, _: usize) -> ClipHandle {
        0
    }
}

fn place_with_layout_rs(sizes: &[Point], plan: &EdgePlan, optimize: bool) -> Placed {
    let dir = Orientation::LeftToRight;
    let mut vg = VisualGraph::new(dir);
    // The default verification re-checks the whole graph for cycles after
    // every edge, enumerating paths; the plan is acyclic by construction.
    vg.dag.set_validate(false);
    let look = StyleAttr::simple();
    let handles: Vec<_> = sizes
        .iter()
        .map(|&sz| {
            let mut el =
                Element::create(ShapeKind::Box(String::new()), look.clone(), dir.flip(), sz);
            // Gap between ranks (x) and between neighbours in a rank (y).
            el.pos = Position::new(Point::zero(), sz, Point::zero(), Point::new(70.0, 22.0));
            vg.add_node(el)
        })
        .collect();
    for &(from, to, start, end) in &plan.edges {
        let arrow = Arrow::new(
            if start {
                LineEndKind::Arrow
            } else {
                LineEndKind::None
            },
            if end {
                LineEndKind::Arrow
            } else {
                LineEndKind::None
            },
            LineStyleKind::Normal,
            "",
            &look,
            &None,
            &None,
        );
        vg.add_edge(arrow, handles[from], handles[to]);
    }
    let mut rec = EdgeRecorder::default();
    vg.do_it(false, !optimize, false, &mut rec);
    let nodes = handles
        .iter()
        .map(|&h| {
            let pos = vg.pos(h);
            (pos.bbox(false).0, pos.size(false))
        })
        .collect();
    Placed {
        nodes,
        edges: rec.edges,
    }
}

/// A plain layered layout (longest path ranks, one barycentre sweep), left to
/// right. Used for huge graphs and if layout-rs fails.
fn place_simple(sizes: &[Point], plan: &EdgePlan) -> Placed {
    const RANK_GAP: f64 = 70.0;
    const NODE_GAP: f64 = 22.0;
    let n = sizes.len();
    // Ranks: the plan's edges all go forward and are sorted by source in
    // topological order, so one pass suffices.
    let mut rank = vec![0usize; n];
    for &(a, b, _, _) in &plan.edges {
        rank[b] = rank[b].max(rank[a] + 1);
    }
    let levels = rank.iter().copied().max().unwrap_or(0) + 1;
    let mut rows: Vec<Vec<usize>> = vec![Vec::new(); levels];
    for (v, &r) in rank.iter().enumerate() {
        rows[r].push(v);
    }
    let mut preds: Vec<Vec<usize>> = vec![Vec::new(); n];
    for &(a, b, _, _) in &plan.edges {
        preds[b].push(a);
    }
    // Order each rank by the mean position of its predecessors.
    let mut slot = vec![0.0f64; n];
    for row in &mut rows {
        let key = |v: &usize| -> f64 {
            let p = &preds[*v];
            if p.is_empty() {
                f64::MAX
            } else {
                p.iter().map(|&u| slot[u]).sum::<f64>() / p.len() as f64
            }
        };
        row.sort_by(|a, b| key(a).total_cmp(&key(b)));
        for (k, &v) in row.iter().enumerate() {
            slot[v] = k as f64;
        }
    }
    let mut nodes = vec![(Point::zero(), Point::zero()); n];
    let height = |row: &Vec<usize>| -> f64 {
        row.iter().map(|&v| sizes[v].y + NODE_GAP).sum::<f64>() - NODE_GAP
    };
    let tallest = rows.iter().map(height).fold(0.0, f64::max);
    let mut x = 0.0;
    for row in &rows {
        let w = row.iter().map(|&v| sizes[v].x).fold(0.0, f64::max);
        // Centre each rank vertically.
        let mut y = (tallest - height(row)) / 2.0;
        for &v in row {
            let sz = sizes[v];
            nodes[v] = (Point::new(x + (w - sz.x) / 2.0, y), sz);
            y += sz.y + NODE_GAP;
        }
        x += w + RANK_GAP;
    }
    // Edges between neighbouring ranks are single curves; longer ones would
    // cut through the ranks in between, so they run in lanes under the graph.
    let long = plan
        .edges
        .iter()
        .filter(|&&(a, b, _, _)| rank[b] > rank[a] + 1)
        .count();
    let lane_gap = if long == 0 {
        0.0
    } else {
        (600.0 / long as f64).clamp(0.5, 6.0)
    };
    let mut lane_y = tallest + 18.0;
    let mut edges = Vec::new();
    for &(a, b, start, end) in &plan.edges {
        let (ta, sa) = nodes[a];
        let (tb, sb) = nodes[b];
        let p0 = Point::new(ta.x + sa.x, ta.y + sa.y / 2.0);
        let p3 = Point::new(tb.x, tb.y + sb.y / 2.0);
        if rank[b] == rank[a] + 1 {
            let c = ((p3.x - p0.x) / 2.0).max(20.0);
            let p1 = Point::new(p0.x + c, p0.y);
            let p2 = Point::new(p3.x - c, p3.y);
            edges.push(PlacedEdge::cubic([p0, p1, p2, p3], start, end));
            continue;
        }
        let y = lane_y;
        lane_y += lane_gap;
        let pts = [
            p0,
            Point::new(p0.x + 40.0, p0.y),
            Point::new(p0.x + 10.0, y),
            Point::new(p0.x + 50.0, y),
            Point::new(p3.x - 50.0, y),
            Point::new(p3.x - 10.0, y),
            Point::new(p3.x - 40.0, p3.y),
            p3,
        ];
        let q: Vec<String> = pts
            .iter()
            .map(|p| format!("{},{}", fmt(p.x), fmt(p.y)))
            .collect();
        edges.push(PlacedEdge {
            d: format!(
                "M{} C{} {} {} L{} C{} {} {}",
                q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[7]
            ),
            points: pts.to_vec(),
            start_head: start,
            end_head: end,
        });
    }
    Placed { nodes, edges }
}

// ---------------------------------------------------------------------------
// Files.

fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "viz".to_string());
    let tmp = path.with_file_name(format!(
        ".{name}.{}-{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, role: VizRole, ty: &str) -> VizNode {
        VizNode {
            name: name.to_string(),
            role,
            type_name: ty.to_string(),
            note: String::new(),
        }
    }

    /// inputs a, b -> sum -> report; config scale -> report.
    fn sample(legend: bool) -> Viz {
        Viz {
            title: "sample".to_string(),
            nodes: vec![
                node("alpha", VizRole::Input, "u64"),
                node("beta", VizRole::Input, "alloc::string::String"),
                node("scale", VizRole::Config, "f64"),
                node("total", VizRole::Function, "core::option::Option<u64>"),
                node(
                    "report",
                    VizRole::Output,
                    "alloc::vec::Vec<alloc::string::String>",
                ),
            ],
            edges: vec![(0, 3), (1, 3), (3, 4), (2, 4)],
            legend,
        }
    }

    /// A minimal XML well-formedness check: entities are known, tags nest.
    fn assert_well_formed(xml: &str) {
        let body = xml.trim_start();
        assert!(body.starts_with("<?xml") || body.starts_with("<svg"));
        let mut stack: Vec<&str> = Vec::new();
        let mut rest = body;
        while let Some(i) = rest.find(['<', '&']) {
            let (text, tail) = rest.split_at(i);
            assert!(!text.contains('>'), "stray '>' in text {text:?}");
            if tail.starts_with('&') {
                let end = tail.find(';').expect("unterminated entity");
                let ent = &tail[1..end];
                assert!(
                    matches!(ent, "amp" | "lt" | "gt" | "quot" | "apos") || ent.starts_with('#'),
                    "unknown entity {ent}"
                );
                rest = &tail[end + 1..];
                continue;
            }
            let end = tail.find('>').expect("unterminated tag");
            let tag = &tail[1..end];
            assert!(!tag.contains('<'), "'<' inside tag {tag:?}");
            assert_eq!(
                tag.matches('"').count() % 2,
                0,
                "unbalanced quotes in {tag:?}"
            );
            if tag.starts_with('?') || tag.starts_with('!') || tag.ends_with('/') {
                // Declaration or empty element.
            } else if let Some(name) = tag.strip_prefix('/') {
                assert_eq!(stack.pop(), Some(name), "mismatched </{name}>");
            } else {
                stack.push(tag.split_whitespace().next().unwrap_or(""));
            }
            rest = &tail[end + 1..];
        }
        assert!(stack.is_empty(), "unclosed tags {stack:?}");
        assert!(body.trim_end().ends_with("</svg>"));
    }

    /// Number of edges drawn (marker shapes are not on lines of their own).
    fn edge_paths(svg: &str) -> usize {
        svg.lines().filter(|l| l.starts_with("<path d=\"M")).count()
    }

    #[test]
    fn dot_has_every_node_and_edge() {
        let viz = sample(false);
        let dot = viz.to_dot().expect("dot");
        assert!(dot.starts_with("digraph"));
        assert!(dot.contains("rankdir=LR"));
        for (i, n) in viz.nodes.iter().enumerate() {
            assert!(dot.contains(&format!("  n{i} [")), "missing node {i}");
            assert!(dot.contains(&format!("<B>{}</B>", n.name)));
        }
        for (a, b) in &viz.edges {
            assert!(
                dot.contains(&format!("n{a} -> n{b};")),
                "missing edge {a}->{b}"
            );
        }
        // Types are shortened and HTML-escaped.
        assert!(dot.contains("Vec&lt;String&gt;"));
        assert!(dot.contains("Option&lt;u64&gt;"));
        // Roles styled apart.
        assert!(dot.contains("fillcolor=\"#dbeafe\""));
        assert!(dot.contains("fillcolor=\"#fde68a\""));
        assert!(dot.contains("dashed"));
        assert!(!dot.contains("cluster_legend"));
        assert_eq!(dot.matches('{').count(), dot.matches('}').count());
    }

    #[test]
    fn dot_escapes_quotes_backslashes_and_markup() {
        let viz = Viz {
            title: "a \"t\" \\ title".to_string(),
            nodes: vec![
                node("say \"hi\"", VizRole::Function, "u8"),
                node("back\\slash <b> & co", VizRole::Output, "u8"),
            ],
            edges: vec![(0, 1)],
            legend: false,
        };
        let dot = viz.to_dot().expect("dot");
        // Quoted strings: \" and \\.
        assert!(dot.contains("tooltip=\"say \\\"hi\\\"\""));
        assert!(dot.contains("tooltip=\"back\\\\slash <b> & co\""));
        assert!(dot.contains("label=\"a \\\"t\\\" \\\\ title\""));
        // HTML labels: entities.
        assert!(dot.contains("<B>say &quot;hi&quot;</B>"));
        assert!(dot.contains("<B>back\\slash &lt;b&gt; &amp; co</B>"));
        // Never a raw, unescaped quote inside a string.
        assert!(!dot.contains("say \"hi\""));
        // Every line has balanced unescaped quotes.
        for line in dot.lines() {
            let unescaped = line.replace("\\\\", "").replace("\\\"", "");
            assert_eq!(unescaped.matches('"').count() % 2, 0, "line {line}");
        }
    }

    #[test]
    fn dot_legend_cluster() {
        let dot = sample(true).to_dot().expect("dot");
        assert!(dot.contains("subgraph cluster_legend"));
        for label in ["input", "config", "function", "output"] {
            assert!(dot.contains(&format!("label=\"{label}\"")), "{label}");
        }
        // Only roles that appear.
        assert!(!dot.contains("label=\"override\""));
        assert!(!dot.contains("cache hit"));
    }

    #[test]
    fn svg_is_well_formed_and_has_nodes() {
        let viz = sample(false);
        let svg = viz.to_svg().expect("svg");
        assert_well_formed(&svg);
        for n in &viz.nodes {
            assert!(
                svg.contains(&format!(">{}</text>", n.name)),
                "missing {}",
                n.name
            );
        }
        assert!(svg.contains(">Vec&lt;String&gt;</text>"));
        assert!(svg.contains(">Option&lt;u64&gt;</text>"));
        // Same colours as the DOT.
        for fill in ["#dbeafe", "#ede9fe", "#ffffff", "#fde68a"] {
            assert!(svg.contains(&format!("fill=\"{fill}\"")), "{fill}");
        }
        assert!(svg.contains("stroke-dasharray"));
        // Four edges, each with an arrowhead.
        assert_eq!(svg.matches("marker-end=\"url(#weft-end)\"").count(), 4);
        assert!(!svg.contains("NaN"));
    }

    #[test]
    fn svg_legend_only_when_asked() {
        let with = sample(true).to_svg().expect("svg");
        assert_well_formed(&with);
        assert!(with.contains(">Legend</text>"));
        for label in ["input", "config", "function", "output"] {
            assert!(with.contains(&format!(">{label}</text>")), "{label}");
        }
        assert!(!with.contains(">override</text>"));

        let without = sample(false).to_svg().expect("svg");
        assert!(!without.contains("Legend"));
        for label in ["input", "config", "function", "output"] {
            assert!(!without.contains(label), "{label}");
        }
    }

    #[test]
    fn svg_escapes_text() {
        let viz = Viz {
            title: "<t> & \"u\"".to_string(),
            nodes: vec![
                node("a<b & \"c\" 'd'", VizRole::Function, "x::Y<&'static str>"),
                node("ctl\u{1}char", VizRole::Hit, ""),
            ],
            edges: vec![(0, 1)],
            legend: true,
        };
        let svg = viz.to_svg().expect("svg");
        assert_well_formed(&svg);
        assert!(svg.contains("a&lt;b &amp; &quot;c&quot; &apos;d&apos;"));
        assert!(svg.contains("Y&lt;&amp;&apos;static str&gt;"));
        assert!(svg.contains("&lt;t&gt; &amp; &quot;u&quot;"));
        assert!(!svg.contains('\u{1}'));
        assert!(svg.contains(">cache hit</text>"));
    }

    #[test]
    fn bad_edge_is_an_error() {
        let mut viz = sample(true);
        viz.edges.push((1, 5));
        assert!(matches!(viz.to_dot(), Err(VizError::BadEdge(1, 5))));
        assert!(matches!(viz.to_svg(), Err(VizError::BadEdge(1, 5))));
        let err = viz.write(std::env::temp_dir().join("weft-viz-never-written.svg"));
        assert!(matches!(err, Err(VizError::BadEdge(1, 5))));
        viz.edges = vec![(7, 0)];
        assert!(matches!(viz.to_svg(), Err(VizError::BadEdge(7, 0))));
        assert_eq!(
            VizError::BadEdge(7, 0).to_string(),
            "edge (7, 0) refers to a node index that does not exist"
        );
    }

    #[test]
    fn type_names_are_shortened() {
        let cases = [
            ("alloc::vec::Vec<alloc::string::String>", "Vec<String>"),
            ("core::option::Option<u64>", "Option<u64>"),
            ("alloc::string::String", "String"),
            ("u64", "u64"),
            ("", ""),
            (
                "std::collections::hash::map::HashMap<alloc::string::String, alloc::vec::Vec<(u64, f64)>>",
                "HashMap<String, Vec<(u64, f64)>>",
            ),
            ("&'static str", "&'static str"),
            ("&mut [alloc::string::String; 3]", "&mut [String; 3]"),
            ("dyn core::ops::function::Fn(i32) -> i32", "dyn Fn(i32) -> i32"),
            ("<T as core::ops::arith::Add>::Output", "<T as Add>::Output"),
            ("my_crate::nodes::{{closure}}", "{{closure}}"),
            (
                "core::result::Result<alloc::sync::Arc<my::Thing>, std::io::error::Error>",
                "Result<Arc<Thing>, Error>",
            ),
        ];
        for (full, short) in cases {
            assert_eq!(short_type_name(full), short, "{full}");
        }
    }

    #[test]
    fn cycles_self_loops_duplicates_and_empty() {
        let viz = Viz {
            title: String::new(),
            nodes: (0..4)
                .map(|i| node(&format!("n{i}"), VizRole::Executed, "i32"))
                .collect(),
            edges: vec![(0, 1), (1, 2), (2, 0), (2, 2), (1, 2), (2, 1), (3, 3)],
            legend: true,
        };
        let svg = viz.to_svg().expect("svg");
        assert_well_formed(&svg);
        // 0->1, 1<->2 merged with both heads, 2->0 reversed, two self loops.
        assert_eq!(edge_paths(&svg), 5);
        assert!(svg.contains("marker-start"));
        let dot = viz.to_dot().expect("dot");
        assert_eq!(dot.matches(" -> ").count(), 6);

        let empty = Viz::default();
        assert_well_formed(&empty.to_svg().expect("svg"));
        assert!(empty.to_dot().expect("dot").starts_with("digraph"));
        let empty_legend = Viz {
            legend: true,
            ..Viz::default()
        };
        assert!(!empty_legend.to_svg().expect("svg").contains("Legend"));
    }

    fn layered(n: usize, width: usize) -> Viz {
        let nodes: Vec<VizNode> = (0..n)
            .map(|i| {
                let role = if i < width {
                    VizRole::Input
                } else if i + width >= n {
                    VizRole::Output
                } else {
                    VizRole::Function
                };
                node(&format!("node_{i}"), role, "alloc::vec::Vec<f64>")
            })
            .collect();
        let mut edges = Vec::new();
        for i in width..n {
            let prev = (i / width - 1) * width;
            edges.push((prev + i % width, i));
            edges.push((prev + (i * 7 + 3) % width, i));
        }
        Viz {
            title: "layered".to_string(),
            nodes,
            edges,
            legend: true,
        }
    }

    fn overlapping(placed: &Placed) -> Option<(usize, usize)> {
        for (i, (a, sa)) in placed.nodes.iter().enumerate() {
            for (j, (b, sb)) in placed.nodes.iter().enumerate().skip(i + 1) {
                let apart = a.x + sa.x <= b.x
                    || b.x + sb.x <= a.x
                    || a.y + sa.y <= b.y
                    || b.y + sb.y <= a.y;
                if !apart {
                    return Some((i, j));
                }
            }
        }
        None
    }

    #[test]
    fn large_layered_graph_renders_quickly() {
        let viz = layered(200, 10);
        let start = std::time::Instant::now();
        let svg = viz.to_svg().expect("svg");
        let took = start.elapsed();
        assert!(took.as_secs() < 30, "took {took:?}");
        assert_well_formed(&svg);
        for n in &viz.nodes {
            assert!(svg.contains(&format!(">{}</text>", n.name)));
        }
        assert_eq!(edge_paths(&svg), viz.edges.len());
        let dot = viz.to_dot().expect("dot");
        assert_eq!(dot.matches(" -> ").count(), viz.edges.len());
    }

    #[test]
    fn layouts_do_not_overlap_nodes() {
        let viz = layered(60, 6);
        let sizes: Vec<Point> = viz
            .nodes
            .iter()
            .map(|n| {
                let b = NodeBox::new(n);
                Point::new(b.w, b.h)
            })
            .collect();
        let mut edges = viz.edges.clone();
        edges.push((59, 3)); // a cycle
        let plan = EdgePlan::new(sizes.len(), &edges);
        let fancy = place_with_layout_rs(&sizes, &plan, true);
        assert_eq!(fancy.nodes.len(), sizes.len());
        assert_eq!(overlapping(&fancy), None);
        let simple = place_simple(&sizes, &plan);
        assert_eq!(simple.nodes.len(), sizes.len());
        assert_eq!(overlapping(&simple), None);
        assert_eq!(simple.edges.len(), plan.edges.len());
    }

    #[test]
    fn huge_or_dense_graphs_use_the_simple_layout() {
        // Every node depends on many earlier ones: lots of long edges.
        let n = 120;
        let nodes = (0..n)
            .map(|i| node(&format!("v{i}"), VizRole::Function, "u8"))
            .collect();
        let edges = (1..n)
            .flat_map(|i| (0..6).map(move |k| ((i * 31 + k * 17) % i, i)))
            .collect();
        let viz = Viz {
            title: String::new(),
            nodes,
            edges,
            legend: false,
        };
        let plan = EdgePlan::new(n, &viz.edges);
        let cost = LayoutCost::estimate(n, &plan);
        assert!(
            cost.virtual_nodes > LayoutCost::MAX_VIRTUAL_NODES,
            "{cost:?}"
        );
        let start = std::time::Instant::now();
        let svg = viz.to_svg().expect("svg");
        assert!(start.elapsed().as_secs() < 5);
        assert_well_formed(&svg);
    }

    #[test]
    fn write_picks_format_by_extension() {
        let dir = std::env::temp_dir().join(format!("weft-viz-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        let viz = sample(true);
        for (file, prefix) in [
            ("g.dot", "digraph"),
            ("g.GV", "digraph"),
            ("g.svg", "<?xml"),
            ("g", "<?xml"),
        ] {
            let path = dir.join(file);
            viz.write(&path).expect("write");
            let text = std::fs::read_to_string(&path).expect("read");
            assert!(text.starts_with(prefix), "{file}");
        }
        // No temp files left behind.
        let names: Vec<String> = std::fs::read_dir(&dir)
            .expect("readdir")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
        // A missing directory is an Io error naming the path.
        let bad = dir.join("missing").join("g.svg");
        match viz.write(&bad) {
            Err(VizError::Io { path, .. }) => assert!(path.ends_with("g.svg")),
            other => panic!("expected Io error, got {other:?}"),
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
