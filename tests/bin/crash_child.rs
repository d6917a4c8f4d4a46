//! The process the crash test kills (`tests/crash.rs`): runs the flow of `crash/flow.rs` with the
//! cache in a directory.
//!
//! `crash_child DIR SEED PAUSES` executes every node with `seed = SEED` and the cache in DIR;
//! PAUSES is a comma-separated list of the steps that pause (see the flow), or `none`. After the run it prints one line per
//! node, `value NODE DATA_VERSION VALUE`, then one per node record, `status NODE STATUS`.

#[path = "../crash/flow.rs"]
mod flow;

use weft::{inputs, Builder, CacheConfig};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, dir, seed, pauses] = &args[..] else {
        eprintln!("usage: crash_child DIR SEED PAUSES");
        std::process::exit(2);
    };
    let seed: u64 = seed.parse().expect("SEED is a number");
    let pauses: Vec<usize> = match pauses.as_str() {
        "none" => Vec::new(),
        list => list
            .split(',')
            .map(|s| s.parse().expect("PAUSES lists steps"))
            .collect(),
    };
    let dr = Builder::new()
        .with_nodes(flow::nodes(&pauses))
        .with_cache_config(CacheConfig::at(dir))
        .build()
        .expect("valid graph");
    let names = flow::names();
    let outputs: Vec<&str> = names.iter().map(String::as_str).collect();
    let (out, run) = dr
        .execute_recorded(&outputs, inputs! { "seed" => seed }, weft::Inputs::new())
        .expect("runs");
    for name in &names {
        let version = out.value(name).expect("requested").version().to_hex();
        let value = flow::render(name, &out).expect("requested");
        println!("value {name} {version} {value}");
    }
    let cache = dr.cache().expect("cache");
    for r in cache.records(Some(&run.run_id)).expect("records") {
        println!("status {} {}", r.node, r.status.as_str());
    }
}
