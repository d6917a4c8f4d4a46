//! Pictures and checks shared by the renderers' tests.

use super::{Viz, VizNode, VizRole};

pub(super) fn node(name: &str, role: VizRole, ty: &str) -> VizNode {
    VizNode {
        name: name.to_string(),
        role,
        type_name: ty.to_string(),
        note: String::new(),
    }
}

/// inputs a, b -> sum -> report; config scale -> report.
pub(super) fn sample(legend: bool) -> Viz {
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
        groups: Vec::new(),
    }
}

/// A minimal XML well-formedness check: entities are known, tags nest.
pub(super) fn assert_well_formed(xml: &str) {
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
pub(super) fn edge_paths(svg: &str) -> usize {
    svg.lines().filter(|l| l.starts_with("<path d=\"M")).count()
}

pub(super) fn layered(n: usize, width: usize) -> Viz {
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
        groups: Vec::new(),
    }
}
