//! `weft-bench cluster ray|dask ADDRESS PYTHON`: issue 17's figures, weft's side (Hamilton's is
//! `bench/hamilton_cluster.py`, on the same clusters in the same run of `compare.sh cluster`):
//! a 16-node CPU-bound graph (each node ~0.5 s of work: a busy loop on the clock, as
//! Hamilton's side does) and a 200-node trivial graph (199 leaves and a sink), each node one
//! cluster task. One executor serves every run (one Ray job, one Dask client), as one Ray
//! connection serves Hamilton's; each timed run has a new `seed`, so nothing is a cache hit.

use std::sync::Arc;
use std::time::{Duration, Instant};

use weft::{inputs, value_type, Builder, CacheConfig, NodeSpec};

use crate::{median, shapes};

/// Timed runs of the trivial graph (as many on Hamilton's side): a run takes a fifth of a
/// second, and a median of three moved by a fifth from one script run to the next.
const TRIVIAL_REPS: usize = 9;

/// How long each CPU-bound node works.
const WORK: Duration = Duration::from_millis(500);

/// The cluster shapes (the workers build them too: `__weft-worker SHAPE`).
pub fn shape(name: &str) -> Option<shapes::Shape> {
    match name {
        "cpu16" => Some(cpu(16)),
        "trivial200" => Some(shapes::fan_in(199)),
        _ => None,
    }
}

/// `n` nodes each busy for [`WORK`], one sink summing them.
fn cpu(n: usize) -> shapes::Shape {
    let mut nodes: Vec<NodeSpec> = (0..n)
        .map(|i| {
            NodeSpec::builder(format!("cpu{i}"), value_type!(u64))
                .param("seed", value_type!(u64))
                .code_version("cpu-v1")
                .sync(move |a| {
                    let mut h = *a.get::<u64>(0)? + i as u64;
                    let start = Instant::now();
                    while start.elapsed() < WORK {
                        for k in 0..10_000u64 {
                            h = h
                                .wrapping_mul(6364136223846793005)
                                .wrapping_add(k ^ (h >> 33));
                        }
                    }
                    Ok(Arc::new(h % 1000))
                })
        })
        .collect();
    nodes.push(shapes::sum(
        "sink".into(),
        (0..n).map(|i| format!("cpu{i}")).collect(),
    ));
    shapes::Shape {
        nodes,
        outputs: vec!["sink".into()],
    }
}

/// `builder` running its nodes on the backend `kind` at `address`, the bridge run by
/// `python`, the workers this binary building shape `name`.
fn on_cluster(builder: Builder, kind: &str, address: &str, python: &str, name: &str) -> Builder {
    let exe = std::env::current_exe().expect("own path");
    match kind {
        #[cfg(feature = "ray")]
        "ray" => builder.with_remote_executor(
            weft::remote::RayExecutor::new()
                .address(address)
                .python(python)
                .program(&exe)
                .args([name]),
        ),
        #[cfg(feature = "dask")]
        "dask" => {
            let dask = weft::remote::DaskExecutor::new()
                .address(address)
                .python(python)
                .program(&exe)
                .args([name]);
            builder.with_remote_executor(match in_flight() {
                Some(n) => dask.in_flight(n),
                None => dask,
            })
        }
        other => {
            let _ = (builder, address, python, exe, name);
            eprintln!("weft-bench was built without the `{other}` feature");
            std::process::exit(2)
        }
    }
}

/// Tasks in flight on Dask when `WEFT_BENCH_IN_FLIGHT` says (else the executor's default:
/// four per worker thread of the cluster, at least 16).
#[cfg(feature = "dask")]
fn in_flight() -> Option<usize> {
    std::env::var("WEFT_BENCH_IN_FLIGHT")
        .ok()
        .and_then(|v| v.parse().ok())
}

/// Median seconds of `reps` runs of shape `name` on one driver over `kind`, after one
/// untimed run (the Ray job's start, the workers' first process).
fn time_runs(kind: &str, address: &str, python: &str, name: &str, reps: usize) -> f64 {
    let s = shape(name).expect("known shape");
    let outputs: Vec<String> = s.outputs.clone();
    let outputs: Vec<&str> = outputs.iter().map(String::as_str).collect();
    let cache = std::env::temp_dir().join(format!(
        "weft-bench-cluster-{kind}-{name}-{}",
        std::process::id()
    ));
    let builder = Builder::new()
        .with_nodes(s.nodes)
        .with_cache_config(CacheConfig::at(&cache));
    let builder = on_cluster(builder, kind, address, python, name);
    let dr = builder.build().expect("valid graph");
    let mut times = Vec::new();
    for seed in 0..=reps as u64 {
        let t = Instant::now();
        let out = dr
            .execute(&outputs, inputs! { "seed" => 1000 + seed })
            .expect("runs");
        assert!(out.get::<u64>(outputs[0]).is_ok());
        if seed > 0 {
            times.push(t.elapsed().as_secs_f64());
        }
    }
    drop(dr);
    let _ = std::fs::remove_dir_all(&cache);
    median(times)
}

pub fn run(kind: &str, address: &str, python: &str) {
    let cpu = time_runs(kind, address, python, "cpu16", 3);
    println!("weft {kind}_cpu16_s {cpu:.3}");
    let trivial = time_runs(kind, address, python, "trivial200", TRIVIAL_REPS);
    println!("weft {kind}_trivial200_s {trivial:.3}");
    println!("weft {kind}_ms_per_task {:.3}", trivial * 1e3 / 200.0);
}
