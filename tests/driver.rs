//! One driver for sync and async callers: one run lock, the same options and records both ways,
//! one adapter contract (with built-in retries whose attempts count), cancellation that reaches
//! fan-outs.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use weft::prelude::*;
use weft::{
    Adapter, CancelToken, ExecuteError, Next, NodeError, NodeFuture, NodeInfo, NodeResult, RunInfo,
    RunRecord, RunSummary,
};

/// How a test runs a request: on the calling thread, or awaited on tokio.
#[derive(Clone, Copy, Debug)]
enum Way {
    Sync,
    Async,
}

const BOTH: [Way; 2] = [Way::Sync, Way::Async];

fn run(
    way: Way,
    dr: &Driver,
    outputs: &[&str],
    inputs: Inputs,
    overrides: Inputs,
    cancel: &CancelToken,
) -> Result<(Outputs, RunRecord), ExecuteError> {
    let request = dr
        .request(outputs)
        .inputs(inputs)
        .overrides(overrides)
        .cancel(cancel);
    match way {
        Way::Sync => request.run(),
        Way::Async => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime")
            .block_on(request.run_async()),
    }
}

pub mod mixed {
    use weft::prelude::*;

    #[node]
    pub fn doubled(x: &u64) -> u64 {
        x * 2
    }
    #[node]
    pub async fn fetched(x: &u64) -> u64 {
        tokio::task::yield_now().await;
        x + 100
    }
    #[node]
    pub fn both(doubled: &u64, fetched: &u64) -> u64 {
        doubled + fetched
    }
}

/// Counts runs in flight: the driver's one run lock means never more than one.
#[derive(Default)]
struct InFlight {
    now: AtomicUsize,
    peak: AtomicUsize,
    runs: AtomicUsize,
}

impl Adapter for InFlight {
    fn before_graph(&self, _run: &RunInfo<'_>) {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
    }
    fn after_graph(&self, _run: &RunInfo<'_>, _summary: &RunSummary<'_>) {
        self.now.fetch_sub(1, Ordering::SeqCst);
        self.runs.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn sync_and_async_requests_share_one_driver_from_several_threads() {
    let flight = Arc::new(InFlight::default());
    let dr = Builder::new()
        .with_modules(weft::modules![crate::mixed])
        .with_adapter_arc(flight.clone())
        .build()
        .unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    const ROUNDS: u64 = 8;
    std::thread::scope(|s| {
        for t in 0..3u64 {
            let dr = dr.clone();
            s.spawn(move || {
                for r in 0..ROUNDS {
                    let x = t * 1000 + r % 3;
                    let (out, record) = dr
                        .request(&["both"])
                        .inputs(inputs! { "x" => x })
                        .run()
                        .unwrap();
                    assert_eq!(*out.get::<u64>("both").unwrap(), x * 2 + x + 100);
                    let seen = record.executed.len() + record.reused.len();
                    assert_eq!(seen, 3, "every function node is accounted for: {record:?}");
                }
            });
        }
        for t in 3..6u64 {
            let dr = dr.clone();
            let handle = rt.handle().clone();
            s.spawn(move || {
                handle.block_on(async {
                    let mut tasks = Vec::new();
                    for r in 0..ROUNDS {
                        let dr = dr.clone();
                        tasks.push(tokio::spawn(async move {
                            let x = t * 1000 + r % 3;
                            let (out, record) = dr
                                .request(&["both"])
                                .inputs(inputs! { "x" => x })
                                .run_async()
                                .await
                                .unwrap();
                            assert_eq!(*out.get::<u64>("both").unwrap(), x * 2 + x + 100);
                            assert_eq!(record.executed.len() + record.reused.len(), 3);
                        }));
                    }
                    for task in tasks {
                        task.await.unwrap();
                    }
                })
            });
        }
    });
    assert_eq!(flight.runs.load(Ordering::SeqCst), 6 * ROUNDS as usize);
    assert_eq!(
        flight.peak.load(Ordering::SeqCst),
        1,
        "runs of one driver never overlap"
    );
    // The driver still answers from memory afterwards, either way: the second of two
    // identical requests runs nothing.
    for way in BOTH {
        let again = || {
            run(
                way,
                &dr,
                &["both"],
                inputs! { "x" => 77u64 },
                Inputs::new(),
                &CancelToken::new(),
            )
            .unwrap()
        };
        again();
        let (_, record) = again();
        assert!(record.executed.is_empty(), "{way:?}: {record:?}");
        assert_eq!(record.memoized().count(), 3, "{way:?}: {record:?}");
        assert!(record.hits.is_empty(), "no persistent cache: {record:?}");
    }
}

#[test]
fn overrides_work_both_ways() {
    for way in BOTH {
        let dr = Builder::new()
            .with_modules(weft::modules![crate::mixed])
            .build()
            .unwrap();
        let (out, record) = run(
            way,
            &dr,
            &["both"],
            inputs! { "x" => 1u64 },
            inputs! { "fetched" => 7u64 },
            &CancelToken::new(),
        )
        .unwrap();
        assert_eq!(*out.get::<u64>("both").unwrap(), 2 + 7, "{way:?}");
        assert!(
            !record.executed.contains(&"fetched".to_string()),
            "{way:?}: an overridden node does not run: {record:?}"
        );
    }
}

pub mod failing {
    use weft::prelude::*;

    #[node]
    pub fn left(x: &u64) -> Result<u64, String> {
        Err(format!("left cannot take {x}"))
    }
    #[node]
    pub async fn right(x: &u64) -> Result<u64, String> {
        Err(format!("right cannot take {x}"))
    }
    #[node]
    pub fn fine(x: &u64) -> u64 {
        *x
    }
}

#[test]
fn keep_going_reports_every_failure_both_ways() {
    for way in BOTH {
        let dr = Builder::new()
            .with_modules(weft::modules![crate::failing])
            .keep_going(true)
            .build()
            .unwrap();
        let err = run(
            way,
            &dr,
            &["left", "right", "fine"],
            inputs! { "x" => 3u64 },
            Inputs::new(),
            &CancelToken::new(),
        )
        .unwrap_err();
        let ExecuteError::Many(errors) = &err else {
            panic!("{way:?}: expected every failure, got {err}");
        };
        let mut failed: Vec<&str> = errors
            .iter()
            .map(|e| match e {
                ExecuteError::NodeFailed { node, .. } => node.as_str(),
                other => panic!("{way:?}: not a node failure: {other}"),
            })
            .collect();
        failed.sort_unstable();
        assert_eq!(failed, ["left", "right"], "{way:?}");
    }
}

pub mod chain {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::OnceLock;
    use weft::prelude::*;

    /// The token the first node cancels (the test sets it before each run).
    pub static TOKEN: OnceLock<std::sync::Mutex<weft::CancelToken>> = OnceLock::new();
    pub static AFTER: AtomicUsize = AtomicUsize::new(0);

    #[node]
    pub fn first(x: &u64) -> u64 {
        TOKEN.get().unwrap().lock().unwrap().cancel();
        *x
    }
    #[node]
    pub fn second(first: &u64) -> u64 {
        AFTER.fetch_add(1, Ordering::SeqCst);
        first + 1
    }
}

#[test]
fn cancellation_stops_a_run_between_nodes_both_ways() {
    let slot = chain::TOKEN.get_or_init(|| Mutex::new(CancelToken::new()));
    for way in BOTH {
        let dr = Builder::new()
            .with_modules(weft::modules![crate::chain])
            .build()
            .unwrap();
        let token = CancelToken::new();
        *slot.lock().unwrap() = token.clone();
        let before = chain::AFTER.load(Ordering::SeqCst);
        let err = run(
            way,
            &dr,
            &["second"],
            inputs! { "x" => 1u64 },
            Inputs::new(),
            &token,
        )
        .unwrap_err();
        assert!(matches!(err, ExecuteError::Cancelled), "{way:?}: {err}");
        assert_eq!(
            chain::AFTER.load(Ordering::SeqCst),
            before,
            "{way:?}: no node starts after the cancel"
        );
        // A fresh token: the run completes, and `first` (which finished) is not rerun.
        *slot.lock().unwrap() = CancelToken::new();
        let (out, _) = run(
            way,
            &dr,
            &["second"],
            inputs! { "x" => 1u64 },
            Inputs::new(),
            &CancelToken::new(),
        )
        .unwrap();
        assert_eq!(*out.get::<u64>("second").unwrap(), 2);
    }
}

pub mod flaky {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use weft::prelude::*;

    pub static CALLS: AtomicUsize = AtomicUsize::new(0);
    pub static ASYNC_CALLS: AtomicUsize = AtomicUsize::new(0);

    /// Fails twice, then succeeds.
    #[node(retries = 2)]
    pub fn flaky(x: &u64) -> Result<u64, String> {
        match CALLS.fetch_add(1, Ordering::SeqCst) % 3 {
            0 | 1 => Err("connection reset".into()),
            _ => Ok(*x),
        }
    }

    /// Fails twice, then succeeds; awaited.
    #[node(retries = 2)]
    pub async fn flaky_async(x: &u64) -> Result<u64, String> {
        match ASYNC_CALLS.fetch_add(1, Ordering::SeqCst) % 3 {
            0 | 1 => Err("503".into()),
            _ => Ok(*x + 1),
        }
    }
}

/// Records the attempts its `wrap_node` sees and how often the hooks fire.
#[derive(Default)]
struct Attempts {
    wrapped: Mutex<Vec<(String, u32)>>,
    before: AtomicUsize,
    after: AtomicUsize,
}

impl Adapter for Attempts {
    fn before_node(&self, _node: &NodeInfo<'_>) {
        self.before.fetch_add(1, Ordering::SeqCst);
    }
    fn after_node(&self, _node: &NodeInfo<'_>, _result: &NodeResult, _took: Duration) {
        self.after.fetch_add(1, Ordering::SeqCst);
    }
    fn wrap_node<'a>(&'a self, node: &'a NodeInfo<'a>, next: Next<'a>) -> NodeFuture<'a> {
        self.wrapped
            .lock()
            .unwrap()
            .push((node.name().to_string(), node.attempt));
        next.run(node)
    }
}

#[test]
fn retries_are_an_adapter_and_attempts_count_for_sync_and_async_nodes() {
    for way in BOTH {
        let seen = Arc::new(Attempts::default());
        let dr = Builder::new()
            .with_modules(weft::modules![crate::flaky])
            .with_adapter_arc(seen.clone())
            .build()
            .unwrap();
        let (out, _) = run(
            way,
            &dr,
            &["flaky", "flaky_async"],
            inputs! { "x" => 4u64 },
            Inputs::new(),
            &CancelToken::new(),
        )
        .unwrap();
        assert_eq!(*out.get::<u64>("flaky").unwrap(), 4);
        assert_eq!(*out.get::<u64>("flaky_async").unwrap(), 5);
        let mut wrapped = seen.wrapped.lock().unwrap().clone();
        wrapped.sort();
        assert_eq!(
            wrapped,
            [
                ("flaky".to_string(), 0),
                ("flaky".to_string(), 1),
                ("flaky".to_string(), 2),
                ("flaky_async".to_string(), 0),
                ("flaky_async".to_string(), 1),
                ("flaky_async".to_string(), 2),
            ],
            "{way:?}: an adapter inside the built-in Retry sees every attempt"
        );
        assert_eq!(seen.before.load(Ordering::SeqCst), 2, "{way:?}");
        assert_eq!(seen.after.load(Ordering::SeqCst), 2, "{way:?}");
    }
}

pub mod panicking {
    use weft::prelude::*;

    #[node]
    pub async fn exploding(x: &u64) -> u64 {
        if *x > 0 {
            panic!("exploded on {x}");
        }
        0
    }
}

#[test]
fn a_panicking_async_body_is_a_node_error_both_ways() {
    for way in BOTH {
        let dr = Builder::new()
            .with_modules(weft::modules![crate::panicking])
            .build()
            .unwrap();
        let err = run(
            way,
            &dr,
            &["exploding"],
            inputs! { "x" => 1u64 },
            Inputs::new(),
            &CancelToken::new(),
        )
        .unwrap_err();
        assert!(
            matches!(&err, ExecuteError::NodeFailed { node, source: NodeError::Panic(m), .. }
                if node == "exploding" && m.contains("exploded on 1")),
            "{way:?}: {err}"
        );
    }
}

pub mod items {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::OnceLock;
    use weft::prelude::*;

    pub static TOKEN: OnceLock<weft::CancelToken> = OnceLock::new();
    pub static RAN: AtomicUsize = AtomicUsize::new(0);

    #[node]
    pub fn numbers(n: &u64) -> Parallel<u64> {
        (0..*n).collect()
    }
    /// The third item cancels the run.
    #[node]
    pub fn squared(numbers: &u64) -> u64 {
        RAN.fetch_add(1, Ordering::SeqCst);
        if *numbers == 2 {
            TOKEN.get().unwrap().cancel();
        }
        numbers * numbers
    }
    #[node]
    pub fn total(squared: Collect<u64>) -> u64 {
        squared.iter().sum()
    }
}

#[test]
fn cancellation_stops_a_fan_out_between_items() {
    let token = items::TOKEN.get_or_init(CancelToken::new).clone();
    // The sequential executor runs items one at a time, in order.
    let dr = Builder::new()
        .with_modules(weft::modules![crate::items])
        .build()
        .unwrap();
    let err = dr
        .request(&["total"])
        .inputs(inputs! { "n" => 100u64 })
        .cancel(&token)
        .run()
        .unwrap_err();
    assert!(matches!(err, ExecuteError::Cancelled), "{err}");
    assert_eq!(
        items::RAN.load(Ordering::SeqCst),
        3,
        "items 0, 1 and 2 ran; no item started after the cancel"
    );
    // Not cancelled: the fan-out completes, the three items already computed are reused.
    let (out, _) = dr
        .request(&["total"])
        .inputs(inputs! { "n" => 100u64 })
        .run()
        .unwrap();
    assert_eq!(
        *out.get::<u64>("total").unwrap(),
        (0..100u64).map(|i| i * i).sum::<u64>()
    );
    assert_eq!(items::RAN.load(Ordering::SeqCst), 100);
}
