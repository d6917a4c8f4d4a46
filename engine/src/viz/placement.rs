//! What a layout takes and gives: the edges made acyclic for the layout engine
//! ([`EdgePlan`]), and the boxes and edge paths it placed ([`Placed`]). Both layouts
//! (`layout_rs.rs`, `layered.rs`) work on these; `layout.rs` chooses between them.

use std::collections::BTreeMap;

use ::layout::core::geometry::Point;

use super::escape::fmt;

/// The edges as handed to the layout engine: acyclic, deduplicated, and in
/// topological order of their source.
#[derive(Debug)]
pub(super) struct EdgePlan {
    /// (from, to, arrowhead at `from`, arrowhead at `to`): `from` comes
    /// before `to` in a DFS order, and the list is sorted by that order.
    pub(super) edges: Vec<(usize, usize, bool, bool)>,
    /// Nodes that depend on themselves.
    pub(super) self_loops: Vec<usize>,
}

impl EdgePlan {
    pub(super) fn new(n: usize, raw: &[(usize, usize)]) -> Self {
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
pub(super) struct Placed {
    /// (top-left, size) per node, indexed like `Viz::nodes`.
    pub(super) nodes: Vec<(Point, Point)>,
    pub(super) edges: Vec<PlacedEdge>,
}

#[derive(Debug)]
pub(super) struct PlacedEdge {
    /// SVG path data.
    pub(super) d: String,
    /// Points of the path (for the bounding box).
    pub(super) points: Vec<Point>,
    pub(super) start_head: bool,
    pub(super) end_head: bool,
}

impl PlacedEdge {
    /// A single cubic Bézier through `p` (start, two controls, end).
    pub(super) fn cubic(p: [Point; 4], start_head: bool, end_head: bool) -> Self {
        let [a, b, c, d] = p.map(|q| format!("{},{}", fmt(q.x), fmt(q.y)));
        PlacedEdge {
            d: format!("M{a} C{b} {c} {d}"),
            points: p.to_vec(),
            start_head,
            end_head,
        }
    }
}
