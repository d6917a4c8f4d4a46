//! The generated DAGs shared with the Hamilton side (`hamilton_bench.py` builds the same ones).

use std::sync::Arc;

use weft::{value_type, NodeSpec};

/// A generated graph: its nodes and the outputs to request.
pub struct Shape {
    pub nodes: Vec<NodeSpec>,
    pub outputs: Vec<String>,
}

fn inc(name: String, dep: String) -> NodeSpec {
    NodeSpec::builder(name, value_type!(u64))
        .param(dep, value_type!(u64))
        .code_version("inc-v1")
        .sync(|a| Ok(Arc::new(a.get::<u64>(0)?.wrapping_add(1))))
}

/// `name`: the wrapping sum of the `u64` nodes `deps`.
pub fn sum(name: String, deps: Vec<String>) -> NodeSpec {
    let mut b = NodeSpec::builder(name, value_type!(u64)).code_version("sum-v1");
    let n = deps.len();
    for d in deps {
        b = b.param(d, value_type!(u64));
    }
    b.sync(move |a| {
        let mut s = 0u64;
        for i in 0..n {
            s = s.wrapping_add(*a.get::<u64>(i)?);
        }
        Ok(Arc::new(s))
    })
}

/// `n0 <- n1 <- … <- n{n-1}`, fed by input `seed`.
pub fn chain(n: usize) -> Shape {
    let nodes = (0..n)
        .map(|i| {
            let dep = if i == 0 {
                "seed".to_string()
            } else {
                format!("n{}", i - 1)
            };
            inc(format!("n{i}"), dep)
        })
        .collect();
    Shape {
        nodes,
        outputs: vec![format!("n{}", n - 1)],
    }
}

/// `n` leaves on `seed`, one sink summing them all.
pub fn fan_in(n: usize) -> Shape {
    let mut nodes: Vec<NodeSpec> = (0..n)
        .map(|i| inc(format!("leaf{i}"), "seed".into()))
        .collect();
    nodes.push(sum(
        "sink".into(),
        (0..n).map(|i| format!("leaf{i}")).collect(),
    ));
    Shape {
        nodes,
        outputs: vec!["sink".into()],
    }
}

/// `layers` × `width` grid: each node sums two nodes of the layer before.
pub fn grid(layers: usize, width: usize) -> Shape {
    let mut nodes = Vec::new();
    for l in 0..layers {
        for j in 0..width {
            let name = format!("g{l}_{j}");
            if l == 0 {
                nodes.push(inc(name, "seed".into()));
            } else {
                let a = format!("g{}_{}", l - 1, j);
                let b = format!("g{}_{}", l - 1, (j + 1) % width);
                nodes.push(sum(name, vec![a, b]));
            }
        }
    }
    Shape {
        nodes,
        outputs: (0..width).map(|j| format!("g{}_{j}", layers - 1)).collect(),
    }
}
