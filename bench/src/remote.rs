//! `weft-bench remote`: the process pool's per-task overhead (a 1,000-node chain of trivial
//! nodes, one task per node, and the same chain as one task group), and the speed-up of a
//! 16-node CPU-bound graph on `processes:2` and on `threads:2` over one thread. The workers are
//! this binary (`weft-bench __weft-worker SHAPE` builds the same graph and serves tasks).

use std::sync::Arc;
use std::time::Instant;

use weft::executors::{MultiThreading, Sequential};
use weft::remote::ProcessPool;
use weft::{inputs, value_type, Builder, Driver, NodeSpec};

use crate::{median, shapes};

/// Rounds of the CPU-bound nodes' loop (~tens of ms each in a release build).
const SPIN: u64 = 30_000_000;

fn shape(name: &str) -> Option<shapes::Shape> {
    match name {
        "chain1000" => Some(shapes::chain(1000)),
        "chain1000-grouped" => {
            let mut s = shapes::chain(1000);
            s.nodes = s.nodes.into_iter().map(|n| n.with_task("chain")).collect();
            Some(s)
        }
        "busy16" => Some(busy(16)),
        other => crate::cluster::shape(other),
    }
}

/// `n` CPU-bound nodes on `seed`, one sink summing them.
fn busy(n: usize) -> shapes::Shape {
    let mut nodes: Vec<NodeSpec> = (0..n)
        .map(|i| {
            NodeSpec::builder(format!("busy{i}"), value_type!(u64))
                .param("seed", value_type!(u64))
                .code_version("busy-v1")
                .sync(move |a| {
                    let mut h = *a.get::<u64>(0)? + i as u64;
                    for k in 0..SPIN {
                        h = h
                            .wrapping_mul(6364136223846793005)
                            .wrapping_add(k ^ (h >> 33));
                    }
                    Ok(Arc::new(h))
                })
        })
        .collect();
    nodes.push(shapes::sum(
        "sink".into(),
        (0..n).map(|i| format!("busy{i}")).collect(),
    ));
    shapes::Shape {
        nodes,
        outputs: vec!["sink".into()],
    }
}

/// The worker side: builds SHAPE and serves the pool's tasks.
pub fn serve(name: &str) {
    let Some(s) = shape(name) else {
        eprintln!("unknown shape {name}");
        std::process::exit(2);
    };
    let dr = Builder::new()
        .with_nodes(s.nodes)
        .build()
        .expect("valid graph");
    if let Err(e) = dr.serve_worker() {
        eprintln!("worker: {e}");
        std::process::exit(1);
    }
}

fn pool(name: &str, n: usize) -> ProcessPool {
    let exe = std::env::current_exe().expect("own path");
    ProcessPool::new(n).program(exe).args([name])
}

/// Median seconds of `reps` cold runs (a fresh driver each) of SHAPE on `make`'s driver.
fn time_runs(name: &str, reps: usize, make: &dyn Fn(Builder) -> Builder) -> f64 {
    let mut times = Vec::new();
    for _ in 0..reps {
        let s = shape(name).expect("known shape");
        let outputs: Vec<String> = s.outputs.clone();
        let outputs: Vec<&str> = outputs.iter().map(String::as_str).collect();
        let dr: Driver = make(Builder::new().with_nodes(s.nodes))
            .build()
            .expect("valid graph");
        let t = Instant::now();
        let out = dr
            .execute(&outputs, inputs! { "seed" => 1u64 })
            .expect("runs");
        assert!(out.get::<u64>(outputs[0]).is_ok());
        times.push(t.elapsed().as_secs_f64());
    }
    median(times)
}

/// A pool that adds up the time its tasks take (to tell the round trips from the driver's own
/// work).
#[derive(Clone)]
struct Timed(ProcessPool, Arc<std::sync::Mutex<f64>>);

impl weft::remote::RemoteExecutor for Timed {
    fn name(&self) -> String {
        self.0.name()
    }
    fn slots(&self) -> usize {
        self.0.slots()
    }
    fn default_store(&self) -> Option<String> {
        self.0.default_store()
    }
    fn run(
        &self,
        task: &weft::remote::Task,
        cancel: &weft::CancelToken,
    ) -> Result<weft::remote::Report, weft::remote::RemoteError> {
        let t = Instant::now();
        let r = self.0.run(task, cancel);
        *self.1.lock().unwrap_or_else(|p| p.into_inner()) += t.elapsed().as_secs_f64();
        r
    }
}

pub fn run() {
    if std::env::var_os("WEFT_BENCH_GROUPED_ONLY").is_some() {
        let g = Timed(pool("chain1000-grouped", 2), Arc::default());
        time_runs("chain1000-grouped", 1, &|b| {
            b.with_remote_executor(g.clone())
        });
        *g.1.lock().unwrap() = 0.0;
        let s = time_runs("chain1000-grouped", 5, &|b| {
            b.with_remote_executor(g.clone())
        });
        println!(
            "grouped run {:.3} ms, tasks {:.3} ms per run",
            s * 1e3,
            *g.1.lock().unwrap() * 1e3 / 5.0
        );
        return;
    }
    // Per-task overhead: a chain runs one task at a time, so its time per node is one round
    // trip (task out, inputs read, body, result stored, report back). Workers are started by a
    // first run, not timed.
    let p = pool("chain1000", 2);
    time_runs("chain1000", 1, &|b| b.with_remote_executor(p.clone()));
    let task_s = time_runs("chain1000", 5, &|b| b.with_remote_executor(p.clone()));
    println!("weft remote_task_ms {:.3}", task_s * 1e3 / 1000.0);
    let g = pool("chain1000-grouped", 2);
    time_runs("chain1000-grouped", 1, &|b| {
        b.with_remote_executor(g.clone())
    });
    let grouped_s = time_runs("chain1000-grouped", 9, &|b| {
        b.with_remote_executor(g.clone())
    });
    println!(
        "weft remote_grouped_us_per_node {:.3}",
        grouped_s * 1e6 / 1000.0
    );
    // CPU-bound: 16 nodes on one thread, two threads, two worker processes.
    let c = pool("busy16", 2);
    time_runs("busy16", 1, &|b| b.with_remote_executor(c.clone()));
    let one = time_runs("busy16", 3, &|b| b.with_local_executor(Sequential));
    let threads = time_runs("busy16", 3, &|b| {
        b.with_local_executor(MultiThreading::new(2))
    });
    let procs = time_runs("busy16", 3, &|b| b.with_remote_executor(c.clone()));
    println!("weft remote_cpu_one_s {one:.3}");
    println!("weft remote_cpu_threads2_s {threads:.3}");
    println!("weft remote_cpu_processes2_s {procs:.3}");
    println!("weft remote_cpu_threads_speedup {:.2}", one / threads);
    println!("weft remote_cpu_speedup {:.2}", one / procs);
}
