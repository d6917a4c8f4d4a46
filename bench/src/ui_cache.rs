//! `weft-bench ui-cache DIR`: the cache the web view's benchmark (`bench/compare.sh ui`) reads:
//! 1,000 runs of a 1,000-node flow. The flow is ten chains of 100 nodes, each on its own seed
//! input; run `r` changes seed `r % 10`, so each run executes one chain (100 nodes) and reuses
//! the other 900 — the records of a flow being iterated on. Prints how long writing took.

use std::sync::Arc;
use std::time::Instant;

use weft::{value_type, Builder, Inputs, NodeSpec};

/// Chains, and nodes per chain.
const CHAINS: usize = 10;
const LENGTH: usize = 100;
/// Runs written.
pub const RUNS: u64 = 1_000;

fn flow() -> (Vec<NodeSpec>, Vec<String>) {
    let mut nodes = Vec::with_capacity(CHAINS * LENGTH);
    let mut outputs = Vec::new();
    for c in 0..CHAINS {
        for i in 0..LENGTH {
            let dep = if i == 0 {
                format!("seed{c}")
            } else {
                format!("c{c}_n{}", i - 1)
            };
            nodes.push(
                NodeSpec::builder(format!("c{c}_n{i}"), value_type!(u64))
                    .param(dep, value_type!(u64))
                    .code_version("ui-inc-v1")
                    .sync(|a| Ok(Arc::new(a.get::<u64>(0)?.wrapping_add(1)))),
            );
        }
        outputs.push(format!("c{c}_n{}", LENGTH - 1));
    }
    (nodes, outputs)
}

pub fn run(dir: &str) {
    let t = Instant::now();
    let (nodes, outputs) = flow();
    let outputs: Vec<&str> = outputs.iter().map(String::as_str).collect();
    let dr = Builder::new()
        .with_nodes(nodes)
        .with_cache_config(weft::CacheConfig::at(dir))
        .build()
        .expect("valid graph");
    let mut seeds = [0u64; CHAINS];
    for r in 0..RUNS {
        seeds[(r as usize) % CHAINS] = r + 1;
        let mut inputs = Inputs::new();
        for (c, s) in seeds.iter().enumerate() {
            inputs = inputs.with(format!("seed{c}"), *s);
        }
        dr.execute(&outputs, inputs).expect("runs");
    }
    if let Some(cache) = dr.cache() {
        cache.flush();
    }
    println!(
        "ui-cache runs {RUNS} nodes {} write_s {:.1}",
        CHAINS * LENGTH,
        t.elapsed().as_secs_f64()
    );
}
