//! A flow run in a child process by the cache tests: a second process, a "rebuilt" binary
//! (another variant of one node), two processes at once. (The process the crash test kills is
//! `crash_child`.)
//!
//! `cache_child CACHE VARIANT N SLEEP_MS SEED` builds a chain `step0 … step{N-1}` over input
//! `seed` plus a `summary` node, executes `summary` with the cache at CACHE (a directory, or
//! an object-store URL: `CacheConfig::locate`), and prints one line per node record:
//! `node status`, then `summary VALUE`. A cache that cannot be opened is reported on stderr,
//! exit code 2.

use std::sync::Arc;
use std::time::Duration;

use weft::{inputs, value_type, Builder, CacheConfig, NodeSpec};

fn step(i: usize, sleep_ms: u64, variant: &str) -> NodeSpec {
    let dep = if i == 0 {
        "seed".to_string()
    } else {
        format!("step{}", i - 1)
    };
    // Variant "b" edits the body of step3 only: a different code version, as a rebuild with
    // an edited function would have.
    let edited = variant == "b" && i == 3;
    NodeSpec::builder(format!("step{i}"), value_type!(u64))
        .param(dep, value_type!(u64))
        .code_version(if edited { "step-v2" } else { "step-v1" })
        .sync(move |a| {
            std::thread::sleep(Duration::from_millis(sleep_ms));
            let x = *a.get::<u64>(0)?;
            // The edit keeps the value the same for even inputs: early cutoff downstream.
            Ok(Arc::new(if edited { x + 1 + (x % 2) * 10 } else { x + 1 }))
        })
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = &args[1];
    let variant = args[2].clone();
    let n: usize = args[3].parse().expect("N");
    let sleep_ms: u64 = args[4].parse().expect("SLEEP_MS");
    let seed: u64 = args[5].parse().expect("SEED");
    let mut nodes: Vec<NodeSpec> = (0..n).map(|i| step(i, sleep_ms, &variant)).collect();
    nodes.push(
        NodeSpec::builder("summary", value_type!(String))
            .param(format!("step{}", n - 1), value_type!(u64))
            .code_version("summary-v1")
            .sync(|a| Ok(Arc::new(format!("total={}", a.get::<u64>(0)?)))),
    );
    let config = CacheConfig::locate(dir).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(2)
    });
    let dr = Builder::new()
        .with_nodes(nodes)
        .with_cache_config(config)
        .build()
        .expect("valid graph");
    let (out, run) = dr
        .execute_recorded(
            &["summary"],
            inputs! { "seed" => seed },
            weft::Inputs::new(),
        )
        .expect("runs");
    if std::env::var_os("WEFT_CHILD_EXIT").is_some() {
        // As a program that ends with `std::process::exit` would: nothing is dropped.
        println!("summary {}", out.get::<String>("summary").expect("summary"));
        std::process::exit(0);
    }
    let cache = dr.cache().expect("cache");
    for r in cache.records(Some(&run.run_id)).expect("records") {
        println!("{} {}", r.node, r.status.as_str());
    }
    println!("summary {}", out.get::<String>("summary").expect("summary"));
}
