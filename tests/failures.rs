//! Failures stop promptly: without keep-going no node starts after the first failure, on every
//! executor (the test counts what ran). (Panics: `panics.rs`.)

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use weft::executors::{MultiThreading, Sequential};
use weft::prelude::*;
use weft::{value_type, ExecuteError, NodeError, NodeSpec};
use weft::{Adapter, NodeInfo, NodeResult};
use weft_tests::PATIENCE;

/// A flag that can be waited for, with a bound.
#[derive(Default)]
struct Flag {
    set: Mutex<bool>,
    changed: Condvar,
}

impl Flag {
    fn raise(&self) {
        *self.set.lock().unwrap() = true;
        self.changed.notify_all();
    }
    fn is_set(&self) -> bool {
        *self.set.lock().unwrap()
    }
    /// Waits until the flag is raised; false if it never is within [`PATIENCE`].
    fn wait(&self) -> bool {
        let set = self.set.lock().unwrap();
        let (set, _) = self
            .changed
            .wait_timeout_while(set, PATIENCE, |s| !*s)
            .unwrap();
        *set
    }
}

/// Raises its flag when a node's failure has gone through the stack: the run's halt token is
/// set by then (weft sets it before any hook hears of the failure).
struct SeesFailure(Arc<Flag>);

impl Adapter for SeesFailure {
    fn after_node(&self, _node: &NodeInfo<'_>, result: &NodeResult, _took: Duration) {
        if result.is_err() {
            self.0.raise();
        }
    }
}

const WORKERS: usize = 300;

/// `bad` fails; `gate` (after `pre`) waits until the failure has been seen; `WORKERS` nodes
/// depend on `gate`, so all of them become ready only after the failure: none may start.
/// Returns the nodes and the count of workers that started.
fn flow(seen: &Arc<Flag>) -> (Vec<NodeSpec>, Arc<AtomicUsize>, Arc<AtomicBool>) {
    let started = Arc::new(AtomicUsize::new(0));
    let gate_gave_up = Arc::new(AtomicBool::new(false));
    let mut nodes = vec![
        NodeSpec::builder("bad", value_type!(u64))
            .param("x", value_type!(u64))
            .sync(|_| Err(NodeError::user("bad is broken"))),
        NodeSpec::builder("pre", value_type!(u64))
            .param("x", value_type!(u64))
            .sync(|a| Ok(Arc::new(*a.get::<u64>(0)?))),
    ];
    let (flag, gave_up) = (seen.clone(), gate_gave_up.clone());
    nodes.push(
        NodeSpec::builder("gate", value_type!(u64))
            .param("pre", value_type!(u64))
            .sync(move |a| {
                if !flag.wait() {
                    gave_up.store(true, Ordering::SeqCst);
                }
                Ok(Arc::new(*a.get::<u64>(0)?))
            }),
    );
    for i in 0..WORKERS {
        let started = started.clone();
        nodes.push(
            NodeSpec::builder(format!("w{i}"), value_type!(u64))
                .param("gate", value_type!(u64))
                .sync(move |a| {
                    started.fetch_add(1, Ordering::SeqCst);
                    Ok(Arc::new(*a.get::<u64>(0)? + 1))
                }),
        );
    }
    (nodes, started, gate_gave_up)
}

fn outputs() -> Vec<String> {
    let mut outs = vec!["bad".to_string()];
    outs.extend((0..WORKERS).map(|i| format!("w{i}")));
    outs
}

fn check(err: ExecuteError, started: &AtomicUsize, gave_up: &AtomicBool, executor: &str) {
    assert!(
        matches!(&err, ExecuteError::NodeFailed { node, .. } if node == "bad"),
        "{executor}: {err}"
    );
    assert!(
        !gave_up.load(Ordering::SeqCst),
        "{executor}: the failure was never seen"
    );
    assert_eq!(
        started.load(Ordering::SeqCst),
        0,
        "{executor}: no node starts after the first failure"
    );
}

#[test]
fn no_node_starts_after_the_first_failure_on_any_executor() {
    let outs = outputs();
    let outs: Vec<&str> = outs.iter().map(String::as_str).collect();
    for threads in [0usize, 2, 8] {
        let seen = Arc::new(Flag::default());
        let (nodes, started, gave_up) = flow(&seen);
        let b = Builder::new()
            .with_nodes(nodes)
            .with_adapter(SeesFailure(seen.clone()));
        let dr = match threads {
            0 => b.with_local_executor(Sequential),
            n => b.with_local_executor(MultiThreading::new(n)),
        }
        .build()
        .unwrap();
        let err = dr.execute(&outs, inputs! { "x" => 1u64 }).unwrap_err();
        check(err, &started, &gave_up, &format!("threads({threads})"));
    }

    // The async walk dispatches every ready node at once: the halt token stops those that
    // have not started.
    let seen = Arc::new(Flag::default());
    let (nodes, started, gave_up) = flow(&seen);
    let dr = Builder::new()
        .with_nodes(nodes)
        .with_adapter(SeesFailure(seen.clone()))
        .build()
        .unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(4)
        .enable_all()
        .build()
        .unwrap();
    let err = rt
        .block_on(dr.execute_async(&outs, inputs! { "x" => 1u64 }))
        .unwrap_err();
    check(err, &started, &gave_up, "async");

    // Already dispatched is not started: `bad` and the workers become ready together (after
    // `pre`), in that order, and the async walk spawns them all at once onto a blocking pool of
    // one thread, which takes them in order. Only the halt token stops the queued workers.
    let started = Arc::new(AtomicUsize::new(0));
    let mut nodes = vec![
        NodeSpec::builder("pre", value_type!(u64))
            .param("x", value_type!(u64))
            .sync(|a| Ok(Arc::new(*a.get::<u64>(0)?))),
        NodeSpec::builder("bad", value_type!(u64))
            .param("pre", value_type!(u64))
            .sync(|_| Err(NodeError::user("bad is broken"))),
    ];
    for i in 0..WORKERS {
        let started = started.clone();
        nodes.push(
            NodeSpec::builder(format!("w{i}"), value_type!(u64))
                .param("pre", value_type!(u64))
                .sync(move |a| {
                    started.fetch_add(1, Ordering::SeqCst);
                    Ok(Arc::new(*a.get::<u64>(0)? + 1))
                }),
        );
    }
    let dr = Builder::new().with_nodes(nodes).build().unwrap();
    let one = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .max_blocking_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let err = one
        .block_on(dr.execute_async(&outs, inputs! { "x" => 1u64 }))
        .unwrap_err();
    assert!(
        matches!(&err, ExecuteError::NodeFailed { node, .. } if node == "bad"),
        "{err}"
    );
    assert_eq!(
        started.load(Ordering::SeqCst),
        0,
        "async: nothing dispatched before the failure starts after it"
    );

    // With keep-going, everything independent of the failure runs.
    let seen = Arc::new(Flag::default());
    let (nodes, started, _) = flow(&seen);
    let dr = Builder::new()
        .with_nodes(nodes)
        .with_adapter(SeesFailure(seen.clone()))
        .with_local_executor(MultiThreading::new(4))
        .keep_going(true)
        .build()
        .unwrap();
    dr.execute(&outs, inputs! { "x" => 1u64 }).unwrap_err();
    assert_eq!(started.load(Ordering::SeqCst), WORKERS);
    assert!(seen.is_set());
}
