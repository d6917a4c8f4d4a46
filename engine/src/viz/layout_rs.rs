//! The `layout-rs` integration: it places the boxes and routes the edges;
//! the edges it draws are recorded, nothing else of its rendering is used.

use std::fmt::Write as _;

use ::layout::core::base::Orientation;
use ::layout::core::format::{ClipHandle, RenderBackend};
use ::layout::core::geometry::{Point, Position};
use ::layout::core::style::{LineStyleKind, StyleAttr};
use ::layout::std_shapes::shapes::{Arrow, Element, LineEndKind, ShapeKind};
use ::layout::topo::layout::VisualGraph;

use super::escape::fmt;
use super::placement::{EdgePlan, Placed, PlacedEdge};

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

pub(super) fn place_with_layout_rs(sizes: &[Point], plan: &EdgePlan, optimize: bool) -> Placed {
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
