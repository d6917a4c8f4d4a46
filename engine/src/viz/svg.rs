//! A standalone SVG document for a [`Viz`], drawn here from a layout.

use std::fmt::Write as _;

use ::layout::core::geometry::Point;

use super::escape::{fmt, xml_escape};
use super::layout::place;
use super::legend::Legend;
use super::node_box::{text_width, NodeBox, SANS};
use super::placement::{EdgePlan, Placed};
use super::{Viz, VizError};

impl Viz {
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
        // Group boxes first, behind nodes and edges.
        for (label, members) in &self.groups {
            let rects: Vec<_> = (members.iter())
                .filter_map(|&m| placed.nodes.get(m))
                .collect();
            if rects.is_empty() {
                continue;
            }
            let x0 = rects
                .iter()
                .map(|(tl, _)| tl.x)
                .fold(f64::INFINITY, f64::min)
                - 8.0;
            let y0 = rects
                .iter()
                .map(|(tl, _)| tl.y)
                .fold(f64::INFINITY, f64::min)
                - 20.0;
            let x1 =
                (rects.iter().map(|(tl, sz)| tl.x + sz.x)).fold(f64::NEG_INFINITY, f64::max) + 8.0;
            let y1 =
                (rects.iter().map(|(tl, sz)| tl.y + sz.y)).fold(f64::NEG_INFINITY, f64::max) + 8.0;
            let _ = writeln!(
                s,
                "<g class=\"group\"><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"8\" \
                 fill=\"#f5f3ff\" stroke=\"#7c3aed\" stroke-dasharray=\"5,3\"/>\
                 <text x=\"{}\" y=\"{}\" font-size=\"11\" fill=\"#5b21b6\">{}</text></g>",
                fmt(x0),
                fmt(y0),
                fmt(x1 - x0),
                fmt(y1 - y0),
                fmt(x0 + 6.0),
                fmt(y0 + 13.0),
                xml_escape(label)
            );
        }
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

#[cfg(test)]
mod tests {
    use super::super::test_support::{assert_well_formed, edge_paths, layered, node, sample};
    use super::super::VizRole;
    use super::*;

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
            groups: Vec::new(),
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
    fn cycles_self_loops_duplicates_and_empty() {
        let viz = Viz {
            title: String::new(),
            nodes: (0..4)
                .map(|i| node(&format!("n{i}"), VizRole::Executed, "i32"))
                .collect(),
            edges: vec![(0, 1), (1, 2), (2, 0), (2, 2), (1, 2), (2, 1), (3, 3)],
            legend: true,
            groups: Vec::new(),
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
}
