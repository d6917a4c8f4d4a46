//! `weft-bench parallel`: weft's side of `bench/compare.sh parallel`. Each case prints
//! `weft <case> <key> <value>`; `compare.sh` sets them beside Hamilton's and the physical limit.
//!
//! - io: 50 nodes each blocking 100 ms, `MultiThreading::new(10)`: limit 0.5 s.
//! - async: 1,000 async nodes each awaiting a 100 ms tokio timer, fan-in to one sync sum,
//!   `Driver`: limit 0.1 s.
//! - cpu: 8 CPU-bound nodes of ~50 ms: speed-up of `MultiThreading::new(2)` over `Sequential`
//!   (limit: the number of free cores, 2 on the reference machine).
//! - fanout: dynamic fan-out over 10,000 trivial items (and 1,000 / 100,000 for linearity).
//!
//! Every figure is the median of a few repetitions, each on a fresh driver (a long-lived driver
//! would remember the values and run nothing the second time). Building the driver is not timed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use weft::executors::{Executor, MultiThreading, Sequential};
use weft::{inputs, value_type, Builder, NodeSpec};

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// `name(seed) = seed + i` after `work` (run inside the node).
fn leaf(name: String, i: u64, work: impl Fn() + Send + Sync + 'static) -> NodeSpec {
    NodeSpec::builder(name, value_type!(u64))
        .param("seed", value_type!(u64))
        .sync(move |a| {
            work();
            Ok(Arc::new(a.get::<u64>(0)?.wrapping_add(i)))
        })
}

/// `total` sums `deps`.
fn total(deps: &[String]) -> NodeSpec {
    let mut b = NodeSpec::builder("total", value_type!(u64));
    for d in deps {
        b = b.param(d.clone(), value_type!(u64));
    }
    let n = deps.len();
    b.sync(move |a| {
        let mut s = 0u64;
        for i in 0..n {
            s = s.wrapping_add(*a.get::<u64>(i)?);
        }
        Ok(Arc::new(s))
    })
}

/// Times `execute(["total"])` on a fresh driver with `executor`, `reps` times; median seconds.
fn timed_sync(
    make: &dyn Fn() -> Vec<NodeSpec>,
    executor: impl Executor + Clone,
    reps: usize,
) -> f64 {
    let mut times = Vec::new();
    for _ in 0..reps {
        let dr = Builder::new()
            .with_nodes(make())
            .with_local_executor(executor.clone())
            .build()
            .expect("valid graph");
        let t = Instant::now();
        let out = dr
            .execute(&["total"], inputs! { "seed" => 1u64 })
            .expect("runs");
        times.push(t.elapsed().as_secs_f64());
        assert!(out.get::<u64>("total").is_ok());
    }
    median(times)
}

/// 50 nodes each blocking 100 ms, at most 10 at once.
fn io() {
    let make = || {
        let mut nodes: Vec<NodeSpec> = (0..50)
            .map(|i| {
                leaf(format!("io{i}"), i, || {
                    std::thread::sleep(Duration::from_millis(100))
                })
            })
            .collect();
        let names: Vec<String> = (0..50).map(|i| format!("io{i}")).collect();
        nodes.push(total(&names));
        nodes
    };
    let s = timed_sync(&make, MultiThreading::new(10), 5);
    println!("weft io_s {s:.3}");
}

/// 1,000 async nodes each awaiting a 100 ms timer, summed by one sync node.
fn asynchronous() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let make = || {
        let mut nodes: Vec<NodeSpec> = (0..1000u64)
            .map(|i| {
                NodeSpec::builder(format!("wait{i}"), value_type!(u64))
                    .param("seed", value_type!(u64))
                    .asynchronous(move |owned| {
                        Box::pin(async move {
                            tokio::time::sleep(Duration::from_millis(100)).await;
                            let seed = *owned.borrow().get::<u64>(0)?;
                            Ok(Arc::new(seed.wrapping_add(i)) as weft::AnyValue)
                        })
                    })
            })
            .collect();
        let names: Vec<String> = (0..1000).map(|i| format!("wait{i}")).collect();
        nodes.push(total(&names));
        nodes
    };
    let mut times = Vec::new();
    for _ in 0..5 {
        let s = rt.block_on(async {
            let dr = Builder::new()
                .with_nodes(make())
                .build()
                .expect("valid graph");
            let t = Instant::now();
            let out = dr
                .execute_async(&["total"], inputs! { "seed" => 1u64 })
                .await
                .expect("runs");
            let s = t.elapsed().as_secs_f64();
            assert!(out.get::<u64>("total").is_ok());
            s
        });
        times.push(s);
    }
    println!("weft async_s {:.3}", median(times));
}

/// Pure computation, `rounds` rounds of xorshift.
fn spin(rounds: u64) -> u64 {
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    for i in 0..rounds {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x = x.wrapping_add(i);
    }
    std::hint::black_box(x)
}

/// Rounds of [`spin`] taking about `target` (median of a few probes).
fn rounds_for(target: Duration) -> u64 {
    let probe = 5_000_000u64;
    let per_round = median(
        (0..5)
            .map(|_| {
                let t = Instant::now();
                spin(probe);
                t.elapsed().as_secs_f64() / probe as f64
            })
            .collect(),
    );
    (target.as_secs_f64() / per_round.max(1e-12)) as u64
}

/// 8 CPU-bound nodes of ~50 ms: sequential vs two threads.
fn cpu() {
    let rounds = rounds_for(Duration::from_millis(50));
    let make = move || {
        let mut nodes: Vec<NodeSpec> = (0..8)
            .map(|i| {
                leaf(format!("cpu{i}"), i, move || {
                    spin(rounds);
                })
            })
            .collect();
        let names: Vec<String> = (0..8).map(|i| format!("cpu{i}")).collect();
        nodes.push(total(&names));
        nodes
    };
    let seq = timed_sync(&make, Sequential, 7);
    let thr = timed_sync(&make, MultiThreading::new(2), 7);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("weft cpu_sequential_s {seq:.3}");
    println!("weft cpu_threads2_s {thr:.3}");
    println!("weft cpu_cores {cores}");
    println!("weft cpu_speedup {:.2}", seq / thr);
}

/// A fan-out over `n` (an input) trivial items: `items -> Parallel<u64>`, `inc` per item, `sum`
/// collects.
fn fanout_graph() -> Vec<NodeSpec> {
    vec![
        NodeSpec::builder("items", value_type!(weft::Parallel<u64>))
            .param("n", value_type!(u64))
            .expands::<u64>(value_type!(u64))
            .sync(|a| {
                Ok(Arc::new(
                    (0..*a.get::<u64>(0)?).collect::<weft::Parallel<u64>>(),
                ))
            }),
        NodeSpec::builder("inc", value_type!(u64))
            .param("items", value_type!(u64))
            .sync(|a| Ok(Arc::new(a.get::<u64>(0)? + 1))),
        NodeSpec::builder("sum", value_type!(u64))
            .collect_param("inc", value_type!(u64))
            .sync(|a| Ok(Arc::new(a.collect::<u64>(0)?.iter().sum::<u64>()))),
    ]
}

/// Milliseconds to run a fan-out over `n` items on a fresh driver (median of `reps`).
fn fanout_ms(n: u64, reps: usize, executor: impl Executor + Clone) -> f64 {
    let mut times = Vec::new();
    for _ in 0..reps {
        let dr = Builder::new()
            .with_nodes(fanout_graph())
            .with_local_executor(executor.clone())
            .build()
            .expect("valid graph");
        let t = Instant::now();
        let out = dr.execute(&["sum"], inputs! { "n" => n }).expect("runs");
        times.push(t.elapsed().as_secs_f64() * 1e3);
        assert_eq!(*out.get::<u64>("sum").expect("sum"), n * (n + 1) / 2);
    }
    median(times)
}

/// Dynamic fan-out: 10,000 trivial items, and 1,000 / 100,000 to show the cost is linear.
fn fanout() {
    let threads = MultiThreading::new(2);
    let k1 = fanout_ms(1_000, 9, threads);
    let k10 = fanout_ms(10_000, 9, threads);
    let k100 = fanout_ms(100_000, 3, threads);
    println!("weft fanout1k_ms {k1:.2}");
    println!("weft fanout100k_ms {k100:.2}");
    println!(
        "weft fanout_us_per_item 1k {:.2} 10k {:.2} 100k {:.2}",
        k1 * 1e3 / 1e3,
        k10 * 1e3 / 1e4,
        k100 * 1e3 / 1e5
    );
    println!("weft fanout10k_ms {k10:.2}");
}

/// `weft-bench parallel`.
pub fn run() {
    io();
    asynchronous();
    cpu();
    fanout();
}
