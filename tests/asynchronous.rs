//! The async driver on real tokio: concurrency of async nodes, sync nodes off the event loop,
//! caching and hooks with async nodes, incrementality, and the same results as other executors.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use weft::cache::Status;
use weft::prelude::*;
use weft::{Adapter, Builder, CacheConfig, NodeInfo, NodeResult};

pub mod profile {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::time::Duration;
    use weft::prelude::*;

    pub static LIVE: AtomicUsize = AtomicUsize::new(0);
    pub static PEAK: AtomicUsize = AtomicUsize::new(0);
    pub static CALLS: AtomicUsize = AtomicUsize::new(0);
    pub static TICKS_DONE: AtomicBool = AtomicBool::new(false);
    pub static SYNC_SAW_TICKS: AtomicBool = AtomicBool::new(false);

    async fn call(what: String) -> String {
        CALLS.fetch_add(1, Ordering::SeqCst);
        let now = LIVE.fetch_add(1, Ordering::SeqCst) + 1;
        PEAK.fetch_max(now, Ordering::SeqCst);
        // A rendezvous, not a timer: each call waits (bounded) until all three are in flight,
        // which only happens if they are awaited concurrently.
        let deadline = std::time::Instant::now() + weft_tests::PATIENCE;
        while PEAK.load(Ordering::SeqCst) < 3 && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        LIVE.fetch_sub(1, Ordering::SeqCst);
        what
    }

    #[node]
    pub async fn user_data(user_id: &str) -> String {
        call(format!("data:{user_id}")).await
    }
    #[node]
    pub async fn user_orders(user_id: &str) -> Vec<String> {
        vec![call(format!("order:{user_id}")).await]
    }
    #[node]
    pub async fn user_preferences(user_id: &str) -> String {
        call(format!("prefs:{user_id}")).await
    }
    /// Sync, waits for all three.
    #[node]
    pub fn user_profile(user_data: &str, user_orders: &[String], user_preferences: &str) -> String {
        format!("{user_data}|{}|{user_preferences}", user_orders.join(","))
    }

    /// Ticks on the event loop.
    #[node]
    pub async fn ticker(user_id: &str) -> usize {
        for _ in 0..5 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        TICKS_DONE.store(true, Ordering::SeqCst);
        user_id.len()
    }
    /// Blocks its thread until the ticker is done (bounded): if it ran on the event loop of
    /// this current-thread runtime, the ticker could never finish.
    #[node]
    pub fn blocking(user_id: &str) -> usize {
        let deadline = std::time::Instant::now() + weft_tests::PATIENCE;
        while !TICKS_DONE.load(Ordering::SeqCst) && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        SYNC_SAW_TICKS.store(TICKS_DONE.load(Ordering::SeqCst), Ordering::SeqCst);
        user_id.len()
    }
}

// A current-thread runtime: if a sync node ran on the event loop, nothing else could progress.
#[tokio::test]
async fn async_nodes_overlap_and_sync_nodes_stay_off_the_event_loop() {
    let dr = Builder::new()
        .with_modules(weft::modules![crate::profile])
        .build()
        .unwrap();
    let out = dr
        .execute_async(
            &["user_profile", "ticker", "blocking"],
            inputs! { "user_id" => "123" },
        )
        .await
        .unwrap();
    assert_eq!(
        out.get::<String>("user_profile").unwrap(),
        "data:123|order:123|prefs:123"
    );
    assert_eq!(
        profile::PEAK.load(Ordering::SeqCst),
        3,
        "the three calls overlapped"
    );
    assert!(
        profile::SYNC_SAW_TICKS.load(Ordering::SeqCst),
        "the async ticker finished while the sync node blocked its own thread"
    );
    // Memoized: nothing runs again.
    let calls = profile::CALLS.load(Ordering::SeqCst);
    let (_, rec) = dr
        .request(&["user_profile"])
        .inputs(inputs! { "user_id" => "123" })
        .run_async()
        .await
        .unwrap();
    assert!(rec.executed.is_empty(), "{rec:?}");
    assert_eq!(profile::CALLS.load(Ordering::SeqCst), calls);
    // A new input reruns the async chain.
    let (out, rec) = dr
        .request(&["user_profile"])
        .inputs(inputs! { "user_id" => "7" })
        .run_async()
        .await
        .unwrap();
    assert_eq!(rec.executed.len(), 4, "{rec:?}");
    assert_eq!(
        out.get::<String>("user_profile").unwrap(),
        "data:7|order:7|prefs:7"
    );
}

pub mod fetch {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use weft::prelude::*;
    pub static FETCHES: AtomicUsize = AtomicUsize::new(0);

    #[node]
    pub async fn fetched(url: &str) -> String {
        FETCHES.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        format!("body of {url}")
    }
    #[node]
    pub fn length(fetched: &str) -> usize {
        fetched.len()
    }
}

/// Records every node the hooks saw, with its result's data version.
#[derive(Default)]
struct Seen(Mutex<Vec<(String, bool)>>, AtomicUsize);
impl Adapter for Seen {
    fn after_node(&self, node: &NodeInfo<'_>, result: &NodeResult, _took: Duration) {
        self.0.lock().unwrap().push((
            node.name().to_string(),
            result.as_ref().is_ok_and(|v| v.is_fingerprinted()),
        ));
    }
    fn wrap_node<'a>(
        &'a self,
        node: &'a NodeInfo<'a>,
        next: weft::Next<'a>,
    ) -> weft::NodeFuture<'a> {
        self.1.fetch_add(1, Ordering::SeqCst);
        next.run(node)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caching_and_hooks_work_with_async_nodes() {
    let dir = std::env::temp_dir().join(format!("weft-async-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let seen = Arc::new(Seen::default());
    let build = || {
        Builder::new()
            .with_modules(weft::modules![crate::fetch])
            .with_cache_config(CacheConfig::at(&dir))
            .with_adapter_arc(seen.clone())
            .build()
    };
    let dr = build().unwrap();
    let out = dr
        .execute_async(&["length"], inputs! { "url" => "u" })
        .await
        .unwrap();
    assert_eq!(*out.get::<usize>("length").unwrap(), "body of u".len());
    assert_eq!(fetch::FETCHES.load(Ordering::SeqCst), 1);
    assert_eq!(
        seen.1.load(Ordering::SeqCst),
        2,
        "one wrap method saw the async node and the sync node"
    );
    assert_eq!(
        *seen.0.lock().unwrap(),
        vec![("fetched".to_string(), true), ("length".to_string(), true)],
        "hooks see resolved values"
    );
    drop(dr);

    // A new driver: the async node is a cache hit, its body does not run.
    let dr = build().unwrap();
    dr.execute_async(&["length"], inputs! { "url" => "u" })
        .await
        .unwrap();
    assert_eq!(fetch::FETCHES.load(Ordering::SeqCst), 1);
    let statuses: BTreeMap<String, Status> = dr
        .cache()
        .unwrap()
        .records(None)
        .unwrap()
        .into_iter()
        .map(|r| (r.node, r.status))
        .collect();
    assert_eq!(statuses["fetched"], Status::Hit);
    assert_eq!(statuses["length"], Status::Hit);
}

#[tokio::test]
async fn an_async_failure_names_the_node() {
    let failing = weft::NodeSpec::builder("remote", weft::value_type!(u64))
        .param("x", weft::value_type!(u64))
        .asynchronous(|_args| Box::pin(async { Err(weft::NodeError::user("503 from upstream")) }));
    let dr = Builder::new().with_nodes([failing]).build().unwrap();
    let err = dr
        .execute_async(&["remote"], inputs! { "x" => 1u64 })
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("node `remote` failed: 503 from upstream"),
        "{err}"
    );
    let _ = AtomicBool::new(false);
}
