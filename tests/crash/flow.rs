//! The flow of the crash test, shared by the test (`crash.rs`, which runs it in-process without a
//! cache for the reference values) and by the child process it kills (`bin/crash_child.rs`).
//!
//! A chain `step0 … step{STEPS-1}` over the input `seed` (each adds one), large side results
//! `big{m}` for each `m` in [`BIG_AT`] (more than the cache keeps inline, so they are stored as
//! files), and `summary` over the last step and every `big`. A step can *pause*: at the start of
//! its body it prints `paused stepK` and waits for a line on standard input before it goes on
//! (and exits, status 3, when standard input closes): a point where the test acts on the process
//! or kills it.

use std::io::{BufRead, Write};
use std::sync::Arc;

use weft::{value_type, NodeSpec, Outputs};

/// Steps in the chain.
pub const STEPS: usize = 60;
/// The steps a large result is made from.
pub const BIG_AT: [usize; 3] = [5, 15, 40];
/// Bytes in a large result: over the cache's inline limit, so each is a file, and over a pipe's
/// buffer (64 KiB), so that writing one into a pipe that nobody reads blocks.
pub const BIG_LEN: usize = 128 * 1024;

/// Every node of the flow, the steps in `pauses` pausing as the module doc says.
pub fn nodes(pauses: &[usize]) -> Vec<NodeSpec> {
    let mut nodes: Vec<NodeSpec> = (0..STEPS).map(|i| step(i, pauses.contains(&i))).collect();
    nodes.extend(BIG_AT.iter().map(|&m| {
        NodeSpec::builder(format!("big{m}"), value_type!(Vec<u8>))
            .param(format!("step{m}"), value_type!(u64))
            .code_version("big-v1")
            .sync(|a| {
                let x = *a.get::<u64>(0)?;
                Ok(Arc::new(big(x)))
            })
    }));
    let mut summary = NodeSpec::builder("summary", value_type!(String))
        .param(format!("step{}", STEPS - 1), value_type!(u64))
        .code_version("summary-v1");
    for m in BIG_AT {
        summary = summary.param(format!("big{m}"), value_type!(Vec<u8>));
    }
    nodes.push(summary.sync(|a| {
        let mut bytes = 0u64;
        for i in 0..BIG_AT.len() {
            bytes += a
                .get::<Vec<u8>>(i + 1)?
                .iter()
                .map(|b| *b as u64)
                .sum::<u64>();
        }
        Ok(Arc::new(format!(
            "total={} bytes={bytes}",
            a.get::<u64>(0)?
        )))
    }));
    nodes
}

fn step(i: usize, pause: bool) -> NodeSpec {
    let dep = if i == 0 {
        "seed".to_string()
    } else {
        format!("step{}", i - 1)
    };
    NodeSpec::builder(format!("step{i}"), value_type!(u64))
        .param(dep, value_type!(u64))
        .code_version("step-v1")
        .sync(move |a| {
            if pause {
                wait_for_the_test(i);
            }
            Ok(Arc::new(*a.get::<u64>(0)? + 1))
        })
}

/// The pause: says where it is, then waits for a line (go on), or for standard input to close
/// (the test is gone: so is this process).
fn wait_for_the_test(i: usize) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "paused step{i}");
    let _ = out.flush();
    drop(out);
    let mut line = String::new();
    match std::io::stdin().lock().read_line(&mut line) {
        Ok(n) if n > 0 => {}
        _ => std::process::exit(3),
    }
}

/// A large result made from `x`.
pub fn big(x: u64) -> Vec<u8> {
    (0..BIG_LEN as u64).map(|j| ((x + j) % 251) as u8).collect()
}

/// The names of every node, in a fixed order.
pub fn names() -> Vec<String> {
    let mut names: Vec<String> = (0..STEPS).map(|i| format!("step{i}")).collect();
    names.extend(BIG_AT.iter().map(|m| format!("big{m}")));
    names.push("summary".into());
    names
}

/// A node's value as text: how the child reports it and how the test compares it.
pub fn render(node: &str, out: &Outputs) -> Result<String, weft::ExecuteError> {
    Ok(if node.starts_with("step") {
        out.get::<u64>(node)?.to_string()
    } else if node.starts_with("big") {
        render_big(out.get::<Vec<u8>>(node)?)
    } else {
        out.get::<String>(node)?.clone()
    })
}

/// A large result as text: its length and a position-sensitive digest.
pub fn render_big(bytes: &[u8]) -> String {
    let digest = bytes.iter().fold(0u64, |h, b| {
        h.wrapping_mul(0x100_0000_01b3).wrapping_add(*b as u64)
    });
    format!("len={} digest={digest:016x}", bytes.len())
}
