//! Where node boxes and edges go: an estimate of what a layout costs `layout-rs`, and the
//! choice between it and the simple layered layout.

use ::layout::core::geometry::Point;

use super::layered::place_simple;
use super::layout_rs::place_with_layout_rs;
use super::placement::{EdgePlan, Placed, PlacedEdge};

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

pub(super) fn place(sizes: &[Point], plan: &EdgePlan) -> Placed {
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

#[cfg(test)]
mod tests {
    use super::super::node_box::NodeBox;
    use super::super::test_support::{assert_well_formed, layered, node};
    use super::super::{Viz, VizRole};
    use super::*;

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
            groups: Vec::new(),
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
}
