//! The built-in fallback layout: plain layers, left to right.

use ::layout::core::geometry::Point;

use super::escape::fmt;
use super::placement::{EdgePlan, Placed, PlacedEdge};

/// A plain layered layout (longest path ranks, one barycentre sweep), left to
/// right. Used for huge graphs and if layout-rs fails.
pub(super) fn place_simple(sizes: &[Point], plan: &EdgePlan) -> Placed {
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
