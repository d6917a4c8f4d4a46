//! A chain of big values run in a child process by the memory suite (`tests/memory.rs`), so
//! that its peak resident memory is the run's alone.
//!
//! `memory_child KIND N MB BUDGET [CACHE_DIR [BACKLOG]]` builds a chain `step0 … step{N-1}` of
//! values of about MB megabytes each (KIND `bytes`: a byte buffer; `frame`: a polars data
//! frame, feature `polars`), executes `step{N-1}` with the memory budget BUDGET (bytes, or
//! `none`) — with a cache in CACHE_DIR if given (and its store backlog, in bytes) — and prints
//! `baseline BYTES` (resident before the run), `peak BYTES` (the process's high-water mark
//! after it, `VmHWM`) and `value BYTES`.

use std::sync::Arc;

use weft::{inputs, value_type, Builder, Fingerprint, FingerprintHasher, NodeSpec};

/// A byte buffer fingerprinted in one pass (a `Vec<u8>` is hashed byte by byte, too slow for
/// 5 GB in a debug build).
struct Blob(Vec<u8>);

impl Fingerprint for Blob {
    fn fingerprint(&self, h: &mut FingerprintHasher) {
        h.write(&self.0);
    }
}

/// A field of `/proc/self/status`, in bytes.
fn status(field: &str) -> u64 {
    let text = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = text
        .lines()
        .find(|l| l.starts_with(field))
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"));
    let kb: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("a number of kB");
    kb * 1024
}

fn bytes_chain(n: usize) -> Vec<NodeSpec> {
    let ty = value_type!(Blob);
    let mut nodes = vec![NodeSpec::builder("step0", ty)
        .param("size", value_type!(usize))
        .sync(|a| Ok(Arc::new(Blob(vec![7u8; *a.get::<usize>(0)?]))))];
    for i in 1..n {
        nodes.push(
            NodeSpec::builder(format!("step{i}"), ty)
                .param(format!("step{}", i - 1), ty)
                .sync(move |a| {
                    // A new buffer (a copy, changed): each step holds a value of its own.
                    let mut next = a.get::<Blob>(0)?.0.clone();
                    next[i] = next[i].wrapping_add(1);
                    Ok(Arc::new(Blob(next)))
                }),
        );
    }
    nodes
}

#[cfg(feature = "polars")]
fn frame_chain(n: usize, size: usize) -> Vec<NodeSpec> {
    use weft::frames::polars::prelude::*;
    let ty: weft::ValueType = value_type!(DataFrame);
    let rows = size / 8;
    let mut nodes = vec![NodeSpec::builder("step0", ty)
        .param("size", value_type!(usize))
        .sync(move |_| {
            let x = Series::new("x".into(), vec![1i64; rows]);
            Ok(Arc::new(
                DataFrame::new(rows, vec![x.into()]).map_err(weft::__private::user_error)?,
            ))
        })];
    for i in 1..n {
        nodes.push(
            NodeSpec::builder(format!("step{i}"), ty)
                .param(format!("step{}", i - 1), ty)
                .sync(move |a| {
                    // A new column computed from the last one: new buffers at every step.
                    let df = a.get::<DataFrame>(0)?;
                    let x = df.column("x").map_err(weft::__private::user_error)?;
                    let next = (x.as_materialized_series() + 1i64).with_name("x".into());
                    let out = DataFrame::new(rows, vec![next.into()])
                        .map_err(weft::__private::user_error)?;
                    Ok(Arc::new(out))
                }),
        );
    }
    nodes
}

#[cfg(not(feature = "polars"))]
fn frame_chain(_: usize, _: usize) -> Vec<NodeSpec> {
    eprintln!("frames need the `polars` feature");
    std::process::exit(2)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let kind = args[1].as_str();
    let n: usize = args[2].parse().expect("N");
    let size: usize = args[3].parse::<usize>().expect("MB") << 20;
    let nodes = match kind {
        "bytes" => bytes_chain(n),
        "frame" => frame_chain(n, size),
        other => panic!("unknown kind {other}"),
    };
    let mut builder = Builder::new().with_nodes(nodes);
    if args[4] != "none" {
        builder = builder.with_memory_budget(args[4].parse().expect("BUDGET"));
    }
    if let Some(dir) = args.get(5) {
        let mut cfg = weft::CacheConfig::at(dir);
        if let Some(backlog) = args.get(6) {
            cfg = cfg.store_backlog(backlog.parse().expect("BACKLOG"));
        }
        builder = builder.with_cache_config(cfg);
    }
    let dr = builder.build().expect("valid graph");
    let baseline = status("VmRSS:");
    let last = format!("step{}", n - 1);
    let out = dr
        .execute(&[last.as_str()], inputs! { "size" => size })
        .expect("the chain runs");
    assert!(out.value(&last).is_ok());
    println!("baseline {baseline}");
    println!("peak {}", status("VmHWM:"));
    println!("value {size}");
}
