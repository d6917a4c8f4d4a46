//! Storing the inputs of a run's tasks: once each, different ones side by side.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Barrier;

use super::*;
use crate::cache::{Blob, MemoryStore, StoreError};
use crate::{value_type, CancelToken};

/// A result store that counts what is put into it; with `meet = n`, each put waits
/// (up to a minute, then fails) until `n` puts are under way at once.
#[derive(Default)]
struct Counting {
    inner: MemoryStore,
    puts: AtomicUsize,
    meet: usize,
    begun: (Mutex<usize>, Condvar),
}

impl ResultStore for Counting {
    fn contains(&self, v: &DataVersion) -> Result<bool, StoreError> {
        self.inner.contains(v)
    }
    fn put(&self, v: &DataVersion, blob: &Blob) -> Result<(), StoreError> {
        self.puts.fetch_add(1, Ordering::SeqCst);
        let (begun, signal) = &self.begun;
        let mut n = begun.lock().unwrap();
        *n += 1;
        signal.notify_all();
        let (n, waited) = signal
            .wait_timeout_while(n, std::time::Duration::from_secs(60), |n| *n < self.meet)
            .unwrap();
        if waited.timed_out() {
            return Err(StoreError::Location {
                location: "test".into(),
                why: format!("only {} of {} puts under way at once", *n, self.meet),
            });
        }
        drop(n);
        self.inner.put(v, blob)
    }
    fn get(&self, v: &DataVersion) -> Result<Option<Blob>, StoreError> {
        self.inner.get(v)
    }
    fn remove(&self, v: &DataVersion) -> Result<(), StoreError> {
        self.inner.remove(v)
    }
    fn list(&self) -> Result<Vec<(DataVersion, u64)>, StoreError> {
        self.inner.list()
    }
}

struct NoCluster;

impl RemoteExecutor for NoCluster {
    fn name(&self) -> String {
        "none".into()
    }
    fn slots(&self) -> usize {
        1
    }
    fn run(&self, _: &Task, _: &CancelToken) -> Result<Report, RemoteError> {
        Err(RemoteError::Transport("no cluster".into()))
    }
}

/// A node taking input `x`, and its graph.
fn one_node() -> (NodeSpec, Graph) {
    let spec = NodeSpec::builder("double", value_type!(u64))
        .param("x", value_type!(u64))
        .sync(|args| Ok(Arc::new(*args.get::<u64>(0)? * 2)));
    let graph = Graph::build(vec![spec.clone()], &Default::default(), Vec::new()).unwrap();
    (spec, graph)
}

#[test]
fn an_input_the_first_tasks_all_need_is_stored_once() {
    let (spec, graph) = one_node();
    let store = Arc::new(Counting::default());
    let dispatch = Dispatch::new(Arc::new(NoCluster), &graph, "mem".into(), store.clone());
    let x = Value::new(Arc::new(21u64), value_type!(u64));
    let start = Barrier::new(8);
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                start.wait();
                dispatch.ensure_stored(&spec, &[("x", x.clone())]).unwrap();
            });
        }
    });
    assert_eq!(store.puts.load(Ordering::SeqCst), 1);
    assert!(store.contains(&x.version()).unwrap());
}

#[test]
fn different_inputs_are_stored_side_by_side() {
    let (spec, graph) = one_node();
    // Each put waits for the other to begin: stored one after the other, they fail.
    let store = Arc::new(Counting {
        meet: 2,
        ..Counting::default()
    });
    let dispatch = Dispatch::new(Arc::new(NoCluster), &graph, "mem".into(), store.clone());
    std::thread::scope(|s| {
        let runs: Vec<_> = [1u64, 2]
            .map(|n| {
                let (dispatch, spec) = (&dispatch, &spec);
                s.spawn(move || {
                    let x = Value::new(Arc::new(n), value_type!(u64));
                    dispatch.ensure_stored(spec, &[("x", x)])
                })
            })
            .into_iter()
            .collect();
        for r in runs {
            r.join().unwrap().unwrap();
        }
    });
    assert_eq!(store.puts.load(Ordering::SeqCst), 2);
}
