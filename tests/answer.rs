//! Runs answered from the persistent cache before they are walked: a driver with nothing in
//! memory whose every node hits skips the walk, and everything else sees a walk of hits.
//!
//! Every test runs against every store (`on_every_store!`: SQLite and the in-memory store),
//! but the one about opening SQLite files alongside the graph.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use weft::cache::Status;
use weft::prelude::*;
use weft::{Adapter, Builder, CacheConfig, NodeInfo, NodeResult, RunInfo, RunSummary};
use weft_tests::stores::Store;

weft_tests::on_every_store!("answer":
    a_new_driver_answers_an_unchanged_run_without_walking_it,
    an_optional_input_left_out_and_a_requested_input_are_answered_as_walked,
    adapters_see_an_answered_run_as_a_walk_of_hits,
    a_run_with_a_node_that_must_execute_is_walked,
    a_run_cancelled_before_it_starts_is_cancelled_even_if_the_cache_could_answer_it,
);

fn temp_dir(name: &str) -> PathBuf {
    weft_tests::temp_dir("answer", name)
}

pub mod nodes {
    use std::cell::Cell;
    use weft::prelude::*;

    thread_local! {
        /// Calls of these nodes on this thread (the default executor runs a test's nodes on the
        /// test's thread; other tests running at the same time do not count).
        pub static CALLS: Cell<usize> = const { Cell::new(0) };
    }

    fn call() {
        CALLS.with(|c| c.set(c.get() + 1));
    }

    #[node]
    pub fn a(x: &u64) -> u64 {
        call();
        x + 1
    }
    #[node]
    pub fn b(a: &u64) -> u64 {
        call();
        a * 2
    }
    #[node]
    pub fn d(y: &u64) -> u64 {
        call();
        y * 10
    }
    #[node]
    pub fn c(b: &u64, d: &u64, label: Option<&String>) -> String {
        call();
        format!("{}{}", label.map_or("", String::as_str), b + d)
    }
}

fn cached(store: &Store) -> Driver {
    Builder::new()
        .with_modules(weft::modules![crate::nodes])
        .with_cache_config(store.config())
        .build()
        .unwrap()
}

fn statuses(dr: &Driver) -> BTreeMap<String, Status> {
    dr.cache()
        .unwrap()
        .records(None)
        .unwrap()
        .into_iter()
        .map(|r| (r.node, r.status))
        .collect()
}

fn all(status: Status) -> BTreeMap<String, Status> {
    ["a", "b", "c", "d"]
        .iter()
        .map(|n| (n.to_string(), status))
        .collect()
}

fn a_new_driver_answers_an_unchanged_run_without_walking_it(store: Store) {
    let run = |dr: &Driver, y: u64| {
        dr.execute_recorded(&["c"], inputs! { "x" => 1u64, "y" => y }, Inputs::new())
            .unwrap()
    };
    let dr = cached(&store);
    let (out, rec) = run(&dr, 5);
    assert_eq!(out.get::<String>("c").unwrap(), "54");
    assert!(!rec.answered, "an empty cache answers nothing");
    drop(dr);

    let calls = nodes::CALLS.with(|c| c.get());
    let dr = cached(&store);
    let (out, rec) = run(&dr, 5);
    assert!(rec.answered, "{rec:?}");
    assert!(rec.executed.is_empty());
    let mut reused = rec.reused.clone();
    reused.sort();
    assert_eq!(reused, ["a", "b", "c", "d"]);
    assert_eq!(statuses(&dr), all(Status::Hit), "one hit record per node");
    assert!(
        out.value("c").unwrap().is_loaded(),
        "a requested output is read before the run ends"
    );
    assert_eq!(out.get::<String>("c").unwrap(), "54");
    assert_eq!(nodes::CALLS.with(|c| c.get()), calls, "nothing ran");
    assert_eq!(dr.cache().unwrap().records(None).unwrap().len(), 4);

    // A change: `d` misses, so the run is walked (having recorded nothing of the attempt).
    let (out, rec) = run(&dr, 6);
    assert!(!rec.answered);
    assert_eq!(out.get::<String>("c").unwrap(), "64");
    let mut executed = rec.executed.clone();
    executed.sort();
    assert_eq!(executed, ["c", "d"]);
    let records = dr.cache().unwrap().records(None).unwrap();
    assert_eq!(records.len(), 4, "{records:?}");
    let mut expected = all(Status::Executed);
    expected.insert("a".into(), Status::Hit);
    expected.insert("b".into(), Status::Hit);
    assert_eq!(statuses(&dr), expected);

    // Once a run was walked, memory answers first: the same request again is memoized.
    let (_, rec) = run(&dr, 6);
    assert!(!rec.answered);
    assert_eq!(statuses(&dr), all(Status::Memo));
}

fn an_optional_input_left_out_and_a_requested_input_are_answered_as_walked(store: Store) {
    let request = || inputs! { "x" => 2u64, "y" => 1u64, "label" => "n=".to_string() };
    let dr = cached(&store);
    dr.execute(&["c", "y"], request()).unwrap();
    dr.execute(&["c"], inputs! { "x" => 2u64, "y" => 1u64 })
        .unwrap();
    drop(dr);

    let dr = cached(&store);
    let (out, rec) = dr
        .execute_recorded(&["c", "y"], request(), Inputs::new())
        .unwrap();
    assert!(rec.answered);
    assert_eq!(out.get::<String>("c").unwrap(), "n=16");
    assert_eq!(out.get::<u64>("y").unwrap(), &1);
    let dr = cached(&store);
    let (out, rec) = dr
        .execute_recorded(&["c"], inputs! { "x" => 2u64, "y" => 1u64 }, Inputs::new())
        .unwrap();
    assert!(rec.answered, "an absent optional input is part of the key");
    assert_eq!(out.get::<String>("c").unwrap(), "16");
}

/// Counts the hooks adapters get.
#[derive(Default)]
struct Hooks {
    before: AtomicUsize,
    after_ok: AtomicUsize,
    summary: Mutex<Option<(usize, usize)>>,
}

impl Adapter for Hooks {
    fn before_node(&self, node: &NodeInfo<'_>) {
        assert!(node
            .inputs
            .iter()
            .all(|(_, v)| v.is_some() || node.name() == "c"));
        self.before.fetch_add(1, Ordering::SeqCst);
    }
    fn after_node(&self, _node: &NodeInfo<'_>, result: &NodeResult, _took: std::time::Duration) {
        if result.is_ok() {
            self.after_ok.fetch_add(1, Ordering::SeqCst);
        }
    }
    fn after_graph(&self, _run: &RunInfo<'_>, summary: &RunSummary<'_>) {
        *self.summary.lock().unwrap() = Some((summary.executed.len(), summary.reused.len()));
    }
}

fn adapters_see_an_answered_run_as_a_walk_of_hits(store: Store) {
    let run = |hooks: &Arc<Hooks>| {
        let dr = Builder::new()
            .with_modules(weft::modules![crate::nodes])
            .with_cache_config(store.config())
            .with_adapter_arc(hooks.clone())
            .build()
            .unwrap();
        dr.execute_recorded(&["c"], inputs! { "x" => 3u64, "y" => 3u64 }, Inputs::new())
            .unwrap()
            .1
    };
    let cold = Arc::new(Hooks::default());
    assert!(!run(&cold).answered);
    let warm = Arc::new(Hooks::default());
    assert!(run(&warm).answered);
    for hooks in [&cold, &warm] {
        assert_eq!(hooks.before.load(Ordering::SeqCst), 4);
        assert_eq!(hooks.after_ok.load(Ordering::SeqCst), 4);
    }
    assert_eq!(*cold.summary.lock().unwrap(), Some((4, 0)));
    assert_eq!(*warm.summary.lock().unwrap(), Some((0, 4)));
}

pub mod policy {
    use weft::prelude::*;
    #[node(cache = "recompute")]
    pub fn fresh(x: &u64) -> u64 {
        x + 1
    }
    #[node]
    pub fn after(fresh: &u64) -> u64 {
        fresh * 3
    }
}

fn a_run_with_a_node_that_must_execute_is_walked(store: Store) {
    let build = || {
        Builder::new()
            .with_modules(weft::modules![crate::policy])
            .with_cache_config(store.config())
            .build()
            .unwrap()
    };
    build()
        .execute(&["after"], inputs! { "x" => 1u64 })
        .unwrap();
    let dr = build();
    let (out, rec) = dr
        .execute_recorded(&["after"], inputs! { "x" => 1u64 }, Inputs::new())
        .unwrap();
    assert!(!rec.answered, "RECOMPUTE executes every run");
    assert_eq!(rec.executed, ["fresh"]);
    assert_eq!(out.get::<u64>("after").unwrap(), &6);
    let statuses = statuses(&dr);
    assert_eq!(statuses["fresh"], Status::Recomputed);
    assert_eq!(statuses["after"], Status::Hit);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_async_driver_answers_too_on_sqlite() {
    the_async_driver_answers_too(Store::sqlite("answer", "async")).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_async_driver_answers_too_in_memory() {
    the_async_driver_answers_too(Store::memory("answer", "async")).await
}

#[cfg(feature = "object-store")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_async_driver_answers_too_on_object_storage() {
    the_async_driver_answers_too(Store::object("answer", "async")).await
}

async fn the_async_driver_answers_too(store: Store) {
    let build = || {
        Builder::new()
            .with_modules(weft::modules![crate::nodes])
            .with_cache_config(store.config())
            .build()
    };
    let request = || inputs! { "x" => 4u64, "y" => 1u64 };
    let dr = build().unwrap();
    let (_, rec) = dr
        .request(&["c"])
        .inputs(request())
        .run_async()
        .await
        .unwrap();
    assert!(!rec.answered);
    drop(dr);
    let dr = build().unwrap();
    let (out, rec) = dr
        .request(&["c"])
        .inputs(request())
        .run_async()
        .await
        .unwrap();
    assert!(rec.answered);
    assert_eq!(out.get::<String>("c").unwrap(), "20");
}

pub mod broken {
    use weft::prelude::*;
    /// Takes a `u64` from a node that gives a `String`: a type mismatch.
    #[node]
    pub fn mismatched(text: &u64) -> u64 {
        *text
    }
    #[node]
    pub fn text(x: &u64) -> String {
        x.to_string()
    }
}

/// SQLite only: about its directory and files.
#[test]
fn opening_the_cache_alongside_the_graph_keeps_errors_and_creates_nothing_early() {
    // A graph error with no cache yet: the error, and no cache directory.
    let dir = temp_dir("errors");
    let build = |dir: &Path| {
        Builder::new()
            .with_modules(weft::modules![crate::broken])
            .with_cache_config(CacheConfig::at(dir))
            .build()
    };
    assert!(build(&dir).is_err());
    assert!(
        !dir.exists(),
        "a graph that does not build creates no cache"
    );

    // With an existing cache (opened while the graph is built): the same error, promptly.
    let store = Store::Sqlite(dir.clone());
    cached(&store)
        .execute(&["b"], inputs! { "x" => 1u64 })
        .unwrap();
    let err = build(&dir).err().expect("the graph is invalid").to_string();
    assert!(err.contains("mismatched"), "{err}");
    let dr = cached(&store);
    let (_, rec) = dr
        .execute_recorded(&["b"], inputs! { "x" => 1u64 }, Inputs::new())
        .unwrap();
    assert!(rec.answered, "the cache is intact");

    // A cache that cannot be opened (its database is a directory) is a build error naming it.
    let bad = temp_dir("bad");
    std::fs::create_dir_all(bad.join("meta.sqlite")).unwrap();
    let err = Builder::new()
        .with_modules(weft::modules![crate::nodes])
        .with_cache_config(CacheConfig::at(&bad))
        .build()
        .err()
        .expect("not a database")
        .to_string();
    assert!(err.contains("cannot open the cache at"), "{err}");
    assert!(err.contains(&bad.display().to_string()), "{err}");

    // A database that is not one is moved aside, with a warning, and rebuilt (`healing.rs`).
    let garbage = temp_dir("garbage");
    std::fs::create_dir_all(&garbage).unwrap();
    std::fs::write(garbage.join("meta.sqlite"), vec![7u8; 4096]).unwrap();
    let dr = Builder::new()
        .with_modules(weft::modules![crate::nodes])
        .with_cache_config(CacheConfig::at(&garbage))
        .build()
        .expect("a malformed cache is healed");
    let warnings = dr.cache().unwrap().warnings();
    assert!(
        warnings.iter().any(|w| w.contains("moved aside")),
        "{warnings:?}"
    );
}

fn a_run_cancelled_before_it_starts_is_cancelled_even_if_the_cache_could_answer_it(store: Store) {
    let request = || inputs! { "x" => 5u64, "y" => 5u64 };
    cached(&store).execute(&["c"], request()).unwrap();
    let dr = cached(&store);
    let cancel = weft::CancelToken::new();
    cancel.cancel();
    let err = dr
        .execute_cancellable(&["c"], request(), Inputs::new(), &cancel)
        .map(|(_, rec)| rec)
        .expect_err("cancelled");
    assert!(matches!(err, weft::ExecuteError::Cancelled), "{err}");
    let (_, rec) = dr
        .execute_cancellable(&["c"], request(), Inputs::new(), &weft::CancelToken::new())
        .unwrap();
    assert!(rec.executed.is_empty(), "{rec:?}");
}
