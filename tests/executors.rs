//! Executors: the same results whatever runs the nodes; bounded concurrency; failures,
//! keep-going and cancellation; the incremental core under threads.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use weft::executors::{Executor, MultiThreading, Sequential};
use weft::prelude::*;
use weft::{value_type, CacheConfig, CancelToken, ExecuteError, NodeError, NodeSpec};

/// A small deterministic generator (xorshift), so failures reproduce from the seed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// A random DAG: node i depends on up to 3 earlier nodes or inputs `in0..in3`.
fn random_dag(seed: u64, n: usize) -> (Vec<NodeSpec>, Vec<String>) {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut nodes = Vec::new();
    let mut has_dependents = vec![false; n];
    for i in 0..n {
        let k = 1 + rng.below(3) as usize;
        let mut deps: Vec<String> = Vec::new();
        for _ in 0..k {
            let d = if i == 0 || rng.below(4) == 0 {
                format!("in{}", rng.below(4))
            } else {
                let j = rng.below(i as u64) as usize;
                has_dependents[j] = true;
                format!("n{j}")
            };
            if !deps.contains(&d) {
                deps.push(d);
            }
        }
        let salt = rng.next();
        let mut b =
            NodeSpec::builder(format!("n{i}"), value_type!(u64)).code_version(format!("v{salt}"));
        for d in &deps {
            b = b.param(d.clone(), value_type!(u64));
        }
        let arity = deps.len();
        let mix = move |a: &weft::Args<'_>| -> Result<u64, NodeError> {
            let mut h = salt;
            for p in 0..arity {
                h = h.rotate_left(7) ^ a.get::<u64>(p)?.wrapping_mul(0x100_0000_01b3);
            }
            Ok(h)
        };
        // Every third node is async: every executor must run both kinds.
        if i % 3 == 2 {
            nodes.push(b.asynchronous(move |owned| {
                Box::pin(async move {
                    tokio::task::yield_now().await;
                    let h = mix(&owned.borrow())?;
                    Ok(Arc::new(h) as weft::AnyValue)
                })
            }));
        } else {
            nodes.push(b.sync(move |a| Ok(Arc::new(mix(a)?))));
        }
    }
    let sinks = (0..n)
        .filter(|&i| !has_dependents[i])
        .map(|i| format!("n{i}"))
        .collect();
    (nodes, sinks)
}

/// Output values, and each node's (name, cache status, data version).
type RunResult = (
    BTreeMap<String, u64>,
    Vec<(String, String, Option<weft::DataVersion>)>,
);

fn random_inputs(seed: u64) -> Inputs {
    inputs! { "in0" => 1u64, "in1" => 2u64, "in2" => 3u64, "in3" => seed }
}

fn run_all(executor: impl Executor, seed: u64, cache_dir: &std::path::Path) -> RunResult {
    let (nodes, sinks) = random_dag(seed, 40);
    let dr = Builder::new()
        .with_nodes(nodes)
        .with_local_executor(executor)
        .with_cache_config(CacheConfig::at(cache_dir))
        .build()
        .unwrap();
    let outs: Vec<&str> = sinks.iter().map(String::as_str).collect();
    let out = dr.execute(&outs, random_inputs(seed)).unwrap();
    collect(&out, &sinks, dr.cache().unwrap())
}

fn run_async(seed: u64, cache_dir: &std::path::Path) -> RunResult {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (nodes, sinks) = random_dag(seed, 40);
        let dr = weft::Builder::new()
            .with_nodes(nodes)
            .with_cache_config(CacheConfig::at(cache_dir))
            .build()
            .unwrap();
        let outs: Vec<&str> = sinks.iter().map(String::as_str).collect();
        let out = dr.execute_async(&outs, random_inputs(seed)).await.unwrap();
        collect(&out, &sinks, dr.cache().unwrap())
    })
}

fn collect(out: &weft::Outputs, sinks: &[String], cache: &weft::Cache) -> RunResult {
    let values = sinks
        .iter()
        .map(|s| (s.clone(), *out.get::<u64>(s).unwrap()))
        .collect();
    let mut records: Vec<_> = cache
        .records(None)
        .unwrap()
        .into_iter()
        .map(|r| (r.node, r.status.as_str().to_string(), r.data_version))
        .collect();
    records.sort();
    (values, records)
}

#[test]
fn swapping_the_executor_never_changes_results_or_cache_records() {
    let base = std::env::temp_dir().join(format!("weft-exec-prop-{}", std::process::id()));
    for seed in 1..=12u64 {
        let dir = |name: &str| {
            let d = base.join(format!("{seed}-{name}"));
            let _ = std::fs::remove_dir_all(&d);
            d
        };
        let reference = run_all(Sequential, seed, &dir("seq"));
        assert!(!reference.0.is_empty());
        for (name, result) in [
            ("t1", run_all(MultiThreading::new(1), seed, &dir("t1"))),
            ("t4", run_all(MultiThreading::new(4), seed, &dir("t4"))),
            ("async", run_async(seed, &dir("async"))),
        ] {
            assert_eq!(result, reference, "seed {seed}, executor {name}");
        }
    }
    let _ = std::fs::remove_dir_all(&base);
}

use weft_tests::Overlap;

#[test]
fn max_tasks_bounds_concurrency_and_independent_nodes_overlap() {
    // Each node waits until four run at once: only an executor that runs four independent
    // nodes together lets the first of them go on (under a sequential one, the first would wait
    // out its patience, and the peak would be 1).
    let overlap = Arc::new(Overlap::new());
    let nodes: Vec<NodeSpec> = (0..12)
        .map(|i| {
            let overlap = overlap.clone();
            NodeSpec::builder(format!("s{i}"), value_type!(u64))
                .param("x", value_type!(u64))
                .sync(move |a| {
                    overlap.meet(4);
                    Ok(Arc::new(*a.get::<u64>(0)? + i as u64))
                })
        })
        .collect();
    let dr = Builder::new()
        .with_nodes(nodes)
        .with_local_executor(MultiThreading::new(4))
        .build()
        .unwrap();
    let names: Vec<String> = (0..12).map(|i| format!("s{i}")).collect();
    let outs: Vec<&str> = names.iter().map(String::as_str).collect();
    let out = dr.execute(&outs, inputs! { "x" => 1u64 }).unwrap();
    assert_eq!(*out.get::<u64>("s11").unwrap(), 12);
    assert_eq!(
        overlap.peak(),
        4,
        "four independent nodes ran at once, never more than max_tasks"
    );
    assert_eq!(dr.executor_name(), "threads(4)");
}

fn failing(name: &str, dep: &str) -> NodeSpec {
    let n = name.to_string();
    NodeSpec::builder(name, value_type!(u64))
        .param(dep, value_type!(u64))
        .sync(move |_| Err(NodeError::user(format!("{n} is broken"))))
}

/// The failed nodes an error names (one, or several when the run kept going).
fn failed_nodes(err: &ExecuteError) -> Vec<String> {
    let mut nodes = match err {
        ExecuteError::NodeFailed { node, source, .. } => {
            assert!(matches!(source, NodeError::User(_)), "{err}");
            vec![node.clone()]
        }
        ExecuteError::Many(all) => all.iter().flat_map(failed_nodes).collect(),
        other => panic!("expected node failures, got: {other}"),
    };
    nodes.sort();
    nodes
}

#[test]
fn the_first_failure_stops_new_work_unless_keep_going() {
    let started = Arc::new(AtomicUsize::new(0));
    // The workers depend on `gate`, so they become ready only after it is done: behind both
    // failing nodes in the ready queue, whatever order the three first nodes take.
    let make = || {
        let mut nodes = vec![
            failing("bad1", "x"),
            failing("bad2", "x"),
            NodeSpec::builder("gate", value_type!(u64))
                .param("x", value_type!(u64))
                .sync(|a| Ok(Arc::new(*a.get::<u64>(0)?))),
        ];
        for i in 0..30 {
            let started = started.clone();
            nodes.push(
                NodeSpec::builder(format!("w{i}"), value_type!(u64))
                    .param("gate", value_type!(u64))
                    .sync(move |a| {
                        started.fetch_add(1, Ordering::SeqCst);
                        Ok(Arc::new(*a.get::<u64>(0)?))
                    }),
            );
        }
        nodes
    };
    let mut outs = vec!["bad1".to_string(), "bad2".to_string()];
    outs.extend((0..30).map(|i| format!("w{i}")));
    let outs: Vec<&str> = outs.iter().map(String::as_str).collect();

    let dr = Builder::new()
        .with_nodes(make())
        .with_local_executor(MultiThreading::new(2))
        .build()
        .unwrap();
    let err = dr.execute(&outs, inputs! { "x" => 1u64 }).unwrap_err();
    // Both failing nodes may be in flight when the first fails; nothing new starts. With two
    // workers, a worker frees up only when a node ends, and by the time `gate` has ended (and
    // the first worker is ready) a failing node is next in the queue: no worker node ever
    // starts before a failure has stopped the run.
    let failed = failed_nodes(&err);
    assert!(
        failed == ["bad1"] || failed == ["bad2"] || failed == ["bad1", "bad2"],
        "{err}"
    );
    assert_eq!(
        started.load(Ordering::SeqCst),
        0,
        "scheduling stopped after the failure"
    );

    started.store(0, Ordering::SeqCst);
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let dr = Builder::new()
        .with_nodes(make())
        .with_local_executor(MultiThreading::new(2))
        .keep_going(true)
        .with_adapter(Failures(seen.clone()))
        .build()
        .unwrap();
    let err = dr.execute(&outs, inputs! { "x" => 1u64 }).unwrap_err();
    assert!(
        matches!(&err, ExecuteError::Many(all) if all.len() == 2),
        "{err}"
    );
    assert_eq!(failed_nodes(&err), ["bad1", "bad2"]);
    assert_eq!(
        started.load(Ordering::SeqCst),
        30,
        "everything independent still ran"
    );
    assert!(
        err.to_string().contains("bad1 is broken") && err.to_string().contains("bad2 is broken")
    );
    // Adapters see every failure, not only the first.
    let mut seen = seen.lock().unwrap().clone();
    seen.sort();
    assert_eq!(seen, ["bad1", "bad2"]);
}

/// Records the failures a run's summary reports.
struct Failures(Arc<std::sync::Mutex<Vec<String>>>);

impl weft::Adapter for Failures {
    fn after_graph(&self, _run: &weft::RunInfo<'_>, summary: &weft::RunSummary<'_>) {
        let mut seen = self.0.lock().unwrap();
        seen.extend(summary.failures.iter().map(|f| f.to_string()));
        assert_eq!(summary.failed, summary.failures.first().copied());
    }
}

pub mod chain {
    use weft::prelude::*;
    #[node]
    pub fn a(x: &u64) -> u64 {
        x + 1
    }
    #[node]
    pub fn b(a: &u64) -> u64 {
        a * 2
    }
    #[node]
    pub fn c(y: &u64) -> u64 {
        y + 100
    }
    #[node]
    pub fn d(b: &u64, c: &u64) -> u64 {
        b + c
    }
}

#[test]
fn memoization_and_early_cutoff_hold_under_threads() {
    let dr = Builder::new()
        .with_modules(weft::modules![crate::chain])
        .with_local_executor(MultiThreading::new(3))
        .build()
        .unwrap();
    let (out, rec) = dr
        .execute_recorded(&["d"], inputs! { "x" => 1u64, "y" => 1u64 }, Inputs::new())
        .unwrap();
    assert_eq!(*out.get::<u64>("d").unwrap(), 105);
    assert_eq!(rec.executed.len(), 4);
    let (_, rec) = dr
        .execute_recorded(&["d"], inputs! { "x" => 1u64, "y" => 1u64 }, Inputs::new())
        .unwrap();
    assert!(rec.executed.is_empty());
    let (out, rec) = dr
        .execute_recorded(&["d"], inputs! { "x" => 1u64, "y" => 2u64 }, Inputs::new())
        .unwrap();
    assert_eq!(rec.executed, vec!["c", "d"]);
    assert_eq!(*out.get::<u64>("d").unwrap(), 106);
    assert!(rec.durations.contains_key("c"));
}

#[test]
fn cancelling_stops_the_run_and_the_driver_stays_usable() {
    // The tenth node to start cancels the run itself: at least nine have finished by then, and
    // of 40 independent nodes on two workers, most never start.
    let token = CancelToken::new();
    let started = Arc::new(AtomicUsize::new(0));
    let nodes: Vec<NodeSpec> = (0..40)
        .map(|i| {
            let (token, started) = (token.clone(), started.clone());
            NodeSpec::builder(format!("s{i}"), value_type!(u64))
                .param("x", value_type!(u64))
                .sync(move |a| {
                    if started.fetch_add(1, Ordering::SeqCst) + 1 == 10 {
                        token.cancel();
                    }
                    Ok(Arc::new(*a.get::<u64>(0)? + i as u64))
                })
        })
        .collect();
    let dr = Builder::new()
        .with_nodes(nodes)
        .with_local_executor(MultiThreading::new(2))
        .build()
        .unwrap();
    let names: Vec<String> = (0..40).map(|i| format!("s{i}")).collect();
    let outs: Vec<&str> = names.iter().map(String::as_str).collect();
    let err = dr
        .execute_cancellable(&outs, inputs! { "x" => 1u64 }, Inputs::new(), &token)
        .unwrap_err();
    assert!(matches!(err, ExecuteError::Cancelled), "{err}");
    let ran = started.load(Ordering::SeqCst);
    assert!(
        (10..=11).contains(&ran),
        "nothing started after the cancel ({ran} ran)"
    );
    // Nodes that finished keep their values; the rest run now.
    let (_, rec) = dr
        .execute_recorded(&outs, inputs! { "x" => 1u64 }, Inputs::new())
        .unwrap();
    assert_eq!(
        rec.reused.len(),
        ran,
        "the nodes that ran keep their values: {rec:?}"
    );
    assert_eq!(rec.executed.len(), 40 - rec.reused.len(), "{rec:?}");
    assert_eq!(started.load(Ordering::SeqCst), ran + rec.executed.len());
}

pub mod resilient {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use weft::prelude::*;

    pub static FLAKY_CALLS: AtomicUsize = AtomicUsize::new(0);
    pub static HOPELESS_CALLS: AtomicUsize = AtomicUsize::new(0);

    /// Fails twice, then works.
    #[node(retries = 2)]
    pub fn flaky(x: &u64) -> Result<u64, std::io::Error> {
        if FLAKY_CALLS.fetch_add(1, Ordering::SeqCst) < 2 {
            return Err(std::io::Error::other("connection reset"));
        }
        Ok(x + 1)
    }

    #[node(retries = 1)]
    pub fn hopeless(x: &u64) -> Result<u64, std::io::Error> {
        HOPELESS_CALLS.fetch_add(1, Ordering::SeqCst);
        Err(std::io::Error::other(format!("no luck with {x}")))
    }

    /// Set when the test is done with `stuck`: it never returns before.
    pub static RELEASED: (std::sync::Mutex<bool>, std::sync::Condvar) =
        (std::sync::Mutex::new(false), std::sync::Condvar::new());

    /// Blocks until the test releases it (or for the test's patience, if the timeout failed).
    #[node(timeout = "50ms")]
    pub fn stuck(x: &u64) -> u64 {
        let (released, changed) = &RELEASED;
        let g = released.lock().unwrap();
        let _ = changed.wait_timeout_while(g, weft_tests::PATIENCE, |r| !*r);
        *x
    }

    /// Never finishes within the test's patience.
    #[node(timeout = "50ms")]
    pub async fn stuck_async(x: &u64) -> u64 {
        tokio::time::sleep(weft_tests::PATIENCE).await;
        *x
    }
}

#[test]
fn retries_and_timeouts_from_node_attributes() {
    let dr = Builder::new()
        .with_modules(weft::modules![crate::resilient])
        .with_local_executor(MultiThreading::new(2))
        .build()
        .unwrap();
    let out = dr.execute(&["flaky"], inputs! { "x" => 1u64 }).unwrap();
    assert_eq!(*out.get::<u64>("flaky").unwrap(), 2);
    assert_eq!(resilient::FLAKY_CALLS.load(Ordering::SeqCst), 3);

    let err = dr
        .execute(&["hopeless"], inputs! { "x" => 1u64 })
        .unwrap_err();
    assert_eq!(failed_nodes(&err), ["hopeless"]);
    assert!(err.to_string().contains("no luck with 1"), "{err}");
    assert_eq!(
        resilient::HOPELESS_CALLS.load(Ordering::SeqCst),
        2,
        "one try and one retry"
    );

    for node in ["stuck", "stuck_async"] {
        let err = dr.execute(&[node], inputs! { "x" => 1u64 }).unwrap_err();
        assert!(
            matches!(&err, ExecuteError::NodeFailed { node: n, source: NodeError::Timeout(t), .. } if n == node && *t == Duration::from_millis(50)),
            "{err}"
        );
    }
    let (released, changed) = &resilient::RELEASED;
    *released.lock().unwrap() = true;
    changed.notify_all();
}
