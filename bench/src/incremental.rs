//! `weft-bench incremental`: what a rerun costs after one small change, and how fast the
//! watcher reacts to a save.
//!
//! - a 10,001-node graph: 100 inputs `x{i}`, each feeding 99 nodes and a group sum, and a sink
//!   over the 100 group sums. Changing one input reruns its 101 nodes (99, its sum, the sink);
//!   the rest is reused. *Engine time* is the rerun's wall time minus the time spent in node
//!   bodies (the run record's per-node durations);
//! - the watcher's latency: from a file's rename-over (an editor's atomic save) to the end of
//!   the rerun of a trivial node reading it, against the debounce window.

use std::sync::mpsc::channel;
use std::sync::Arc;
use std::time::{Duration, Instant};

use weft::watch::Update;
use weft::{value_type, Builder, FileInput, Inputs, NodeSpec, Watcher};

const GROUPS: usize = 100;
const PER_GROUP: usize = 99;
const DEBOUNCE: Duration = Duration::from_millis(50);

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn graph() -> Vec<NodeSpec> {
    let mut nodes = Vec::with_capacity(GROUPS * (PER_GROUP + 1) + 1);
    for g in 0..GROUPS {
        let mut sum = NodeSpec::builder(format!("s{g}"), value_type!(u64)).code_version("sum-v1");
        for j in 0..PER_GROUP {
            let add = j as u64;
            nodes.push(
                NodeSpec::builder(format!("g{g}_{j}"), value_type!(u64))
                    .param(format!("x{g}"), value_type!(u64))
                    .code_version("add-v1")
                    .sync(move |a| Ok(Arc::new(a.get::<u64>(0)?.wrapping_add(add)))),
            );
            sum = sum.param(format!("g{g}_{j}"), value_type!(u64));
        }
        nodes.push(sum.sync(|a| {
            let mut s = 0u64;
            for i in 0..PER_GROUP {
                s = s.wrapping_add(*a.get::<u64>(i)?);
            }
            Ok(Arc::new(s))
        }));
    }
    let mut sink = NodeSpec::builder("sink", value_type!(u64)).code_version("sum-v1");
    for g in 0..GROUPS {
        sink = sink.param(format!("s{g}"), value_type!(u64));
    }
    nodes.push(sink.sync(|a| {
        let mut s = 0u64;
        for i in 0..GROUPS {
            s = s.wrapping_add(*a.get::<u64>(i)?);
        }
        Ok(Arc::new(s))
    }));
    nodes
}

fn inputs(changed: usize, value: u64) -> Inputs {
    let mut i = Inputs::new();
    for g in 0..GROUPS {
        i.insert(format!("x{g}"), if g == changed { value } else { 1u64 });
    }
    i
}

/// Medians: engine ms of a one-leaf rerun, ms of a full first run, ms of a rerun with nothing
/// changed; and how many nodes a one-leaf rerun executes.
fn reruns() -> (f64, f64, f64, usize) {
    let mut engine = Vec::new();
    let mut noop = Vec::new();
    let mut full = Vec::new();
    let mut executed = 0;
    for rep in 0..5 {
        let dr = Builder::new()
            .with_nodes(graph())
            .build()
            .expect("valid graph");
        let t = Instant::now();
        dr.execute_recorded(&["sink"], inputs(usize::MAX, 0), Inputs::new())
            .expect("runs");
        full.push(t.elapsed().as_secs_f64() * 1e3);
        for k in 0..9u64 {
            let changed = (rep * 13 + k as usize * 7) % GROUPS;
            let one_changed = inputs(changed, k + 2);
            let t = Instant::now();
            let (_, record) = dr
                .execute_recorded(&["sink"], one_changed, Inputs::new())
                .expect("runs");
            let wall = t.elapsed();
            let bodies: Duration = record.durations.values().sum();
            executed = record.executed.len();
            engine.push(wall.saturating_sub(bodies).as_secs_f64() * 1e3);
            // Back to the baseline for the next change; then a rerun with nothing changed.
            dr.execute_recorded(&["sink"], inputs(usize::MAX, 0), Inputs::new())
                .expect("runs");
            let same = inputs(usize::MAX, 0);
            let t = Instant::now();
            dr.execute_recorded(&["sink"], same, Inputs::new())
                .expect("runs");
            noop.push(t.elapsed().as_secs_f64() * 1e3);
        }
    }
    (median(engine), median(full), median(noop), executed)
}

/// Median ms from a rename-over to the end of the rerun it causes.
fn watch_latency() -> f64 {
    let dir = std::env::temp_dir().join(format!("weft-bench-watch-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("data.txt");
    std::fs::write(&file, "0").expect("write");
    let size = NodeSpec::builder("size", value_type!(u64))
        .param("data", value_type!(FileInput))
        .code_version("size-v1")
        .sync(|a| {
            let f = a.get::<FileInput>(0)?;
            let bytes = f.read().map_err(weft::NodeError::user)?;
            Ok(Arc::new(bytes.len() as u64))
        });
    let dr = Builder::new()
        .with_nodes([size])
        .build()
        .expect("valid graph");
    let mut inputs = Inputs::new();
    inputs.insert("data", FileInput::new(&file));
    let watcher = Watcher::new(&dr, &["size"], inputs).debounce(DEBOUNCE);
    let stop = watcher.stop_handle();
    let (tx, rx) = channel::<Instant>();
    let mut latencies = Vec::new();
    std::thread::scope(|s| {
        s.spawn(move || {
            watcher
                .run(|u| {
                    if let Update::Ran { report, .. } = u {
                        if report.is_completed() {
                            let _ = tx.send(Instant::now());
                        }
                    }
                })
                .expect("watcher runs");
        });
        rx.recv_timeout(Duration::from_secs(30)).expect("first run");
        for k in 1..=11 {
            let tmp = dir.join(".data.txt.tmp");
            std::fs::write(&tmp, "x".repeat(k)).expect("write");
            let t0 = Instant::now();
            std::fs::rename(&tmp, &file).expect("rename");
            let t1 = rx.recv_timeout(Duration::from_secs(30)).expect("a rerun");
            latencies.push(t1.duration_since(t0).as_secs_f64() * 1e3);
            // Let the watcher settle so saves do not overlap.
            std::thread::sleep(DEBOUNCE * 2);
        }
        stop.stop();
    });
    let _ = std::fs::remove_dir_all(&dir);
    median(latencies)
}

pub fn run() {
    let (engine, full, noop, executed) = reruns();
    println!(
        "weft incremental nodes {} rerun1leaf_engine_ms {engine:.3} executed {executed} \
         noop_rerun_ms {noop:.3} full_ms {full:.2}",
        GROUPS * (PER_GROUP + 1) + 1
    );
    let latency = watch_latency();
    let debounce = DEBOUNCE.as_secs_f64() * 1e3;
    println!("weft watch latency_ms {latency:.1} debounce_ms {debounce:.0}");
    println!(
        "incremental: rerun1leaf {engine:.2} ms, full {full:.2} ms, watch latency {latency:.1} ms (debounce {debounce:.0} ms)"
    );
}
