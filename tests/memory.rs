//! Memory is bounded: a one-shot run releases an intermediate value once its last consumer has
//! run (peak resident memory measured in a child process, `bin/memory_child.rs`), and a
//! long-lived driver keeps its memoized values within its budget, least recently used released
//! first, a released value coming back from the cache or computed again.

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use weft::{
    inputs, value_type, Builder, CacheConfig, CacheFormats, Driver, Fingerprint, FingerprintHasher,
    MemorySize, NodeSpec,
};
use weft_tests::temp_dir;

const MB: u64 = 1 << 20;

/// Runs the child's chain; returns (baseline, peak, value) in bytes.
fn chain(kind: &str, nodes: usize, megabytes: u64, budget: &str) -> (u64, u64, u64) {
    chain_with(kind, nodes, megabytes, budget, &[])
}

/// [`chain`] with more arguments (a cache directory, its store backlog).
fn chain_with(
    kind: &str,
    nodes: usize,
    megabytes: u64,
    budget: &str,
    more: &[&str],
) -> (u64, u64, u64) {
    let out = Command::new(env!("CARGO_BIN_EXE_memory_child"))
        .args([kind, &nodes.to_string(), &megabytes.to_string(), budget])
        .args(more)
        .output()
        .expect("memory_child starts");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "memory_child failed: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let field = |name: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
            .unwrap_or_else(|| panic!("no `{name}` in {text}"))
    };
    (field("baseline"), field("peak"), field("value"))
}

fn assert_peak_within(kind: &str, (baseline, peak, value): (u64, u64, u64), values: u64) {
    let used = peak.saturating_sub(baseline);
    assert!(
        used <= values * value,
        "{kind}: the run peaked at {} MB over its baseline, more than {values} values of {} MB",
        used / MB,
        value / MB
    );
}

#[test]
fn a_one_shot_chain_of_big_buffers_holds_about_two_at_a_time() {
    let run = chain("bytes", 50, 100, "0");
    assert_peak_within("bytes", run, 3);
}

#[cfg(feature = "polars")]
#[test]
fn a_one_shot_chain_of_big_frames_holds_about_two_at_a_time() {
    let run = chain("frame", 50, 100, "0");
    assert_peak_within("frame", run, 3);
}

/// With the cache on, a big value is held until it is stored; a run that makes values faster
/// than they are encoded waits for room (`CacheConfig::store_backlog`) instead of holding them
/// all (before, this chain held 35 frames of 100 MB at once). With no backlog each value waits
/// for the one before it to be stored: the figure, three frames, holds.
#[cfg(feature = "polars")]
#[test]
fn a_cold_cached_chain_of_big_frames_waits_for_its_writes_instead_of_holding_them() {
    let dir = temp_dir("memory", "cached-chain");
    let cache = dir.join("cache");
    let run = chain_with("frame", 50, 100, "0", &[cache.to_str().unwrap(), "0"]);
    assert_peak_within("frame, cached, no backlog", run, 3);
    // 20 steps are enough to tell: unbounded, this chain held 15 frames.
    let (baseline, peak, value) = chain_with(
        "frame",
        20,
        100,
        "0",
        &[dir.join("default").to_str().unwrap()],
    );
    let used = peak.saturating_sub(baseline);
    let bound = 3 * value + weft::cache::DEFAULT_STORE_BACKLOG as u64;
    assert!(
        used <= bound,
        "frame, cached, default backlog: the run peaked at {} MB over its baseline, more than \
         three values of {} MB and the backlog",
        used / MB,
        value / MB
    );
    // Waiting lost nothing: every step's frame is a parquet file in the cache.
    let cache = weft::Cache::open(&cache).expect("the cache opens");
    let records = cache.records(None).expect("the run's records");
    assert_eq!(records.len(), 50, "{records:?}");
    for r in &records {
        let file = cache.result_path(&r.node, None).expect("a stored file");
        assert_eq!(file.extension().unwrap(), "parquet", "{}", r.node);
    }
}

/// The measurement sees what a driver keeps: without a budget every value of the chain stays.
#[test]
fn without_a_budget_every_value_of_the_chain_stays() {
    let (baseline, peak, value) = chain("bytes", 6, 100, "none");
    assert!(
        peak.saturating_sub(baseline) >= 5 * value,
        "6 values of {} MB kept, but the peak was only {} MB over the baseline",
        value / MB,
        peak.saturating_sub(baseline) / MB
    );
}

/// A value that counts its live instances (per test) and says it holds 1 MB.
struct Tracked {
    n: u64,
    live: &'static AtomicUsize,
}

static LIVE_COMPUTED: AtomicUsize = AtomicUsize::new(0);
static LIVE_CACHED: AtomicUsize = AtomicUsize::new(0);

impl Tracked {
    fn new(n: u64, live: &'static AtomicUsize) -> Tracked {
        live.fetch_add(1, Ordering::SeqCst);
        Tracked { n, live }
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.live.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Fingerprint for Tracked {
    fn fingerprint(&self, h: &mut FingerprintHasher) {
        self.n.fingerprint(h);
    }
}

impl MemorySize for Tracked {
    fn heap_size(&self) -> usize {
        MB as usize
    }
}

impl CacheFormats for Tracked {
    const FORMATS: &'static [&'static str] = &["tracked"];
    fn encode(&self, _format: &str) -> Result<Vec<u8>, String> {
        Ok(self.n.to_le_bytes().to_vec())
    }
    fn decode(bytes: &[u8], _format: &str) -> Result<Self, String> {
        let raw: [u8; 8] = bytes.try_into().map_err(|_| "not 8 bytes".to_string())?;
        Ok(Tracked::new(u64::from_le_bytes(raw), &LIVE_CACHED))
    }
}

/// Five independent nodes `v0` … `v4`, each a `Tracked` of 10 × (its number + 1).
fn five(live: &'static AtomicUsize) -> Vec<NodeSpec> {
    (0..5u64)
        .map(|i| {
            NodeSpec::builder(format!("v{i}"), value_type!(Tracked))
                .param("base", value_type!(u64))
                .sync(move |a| Ok(Arc::new(Tracked::new(a.get::<u64>(0)? * (i + 1), live))))
        })
        .collect()
}

/// Asks for each of the five values in turn, as a notebook would, dropping each answer.
fn touch_all(dr: &Driver) {
    for i in 0..5 {
        let out = dr
            .execute(&[format!("v{i}").as_str()], inputs! { "base" => 10u64 })
            .expect("runs");
        assert_eq!(
            out.get::<Tracked>(&format!("v{i}")).unwrap().n,
            10 * (i + 1)
        );
    }
}

#[test]
fn a_long_lived_driver_keeps_its_values_within_its_budget() {
    let dr = Builder::new()
        .with_nodes(five(&LIVE_COMPUTED))
        .with_memory_budget(2 * MB + MB / 2)
        .build()
        .unwrap();
    touch_all(&dr);
    // Two values fit the budget, plus the last run's output, kept until the next run.
    assert!(
        dr.resident_bytes() <= 3 * MB + 100,
        "{}",
        dr.resident_bytes()
    );
    assert!(LIVE_COMPUTED.load(Ordering::SeqCst) <= 3);
    // The most recently used are kept: asking for `v4` again runs nothing.
    let (_, run) = dr
        .execute_recorded(&["v4"], inputs! { "base" => 10u64 }, weft::Inputs::new())
        .unwrap();
    assert!(run.executed.is_empty(), "{run:?}");
    // `v0` was released: it is computed again, the same value.
    let (out, run) = dr
        .execute_recorded(&["v0"], inputs! { "base" => 10u64 }, weft::Inputs::new())
        .unwrap();
    assert_eq!(out.get::<Tracked>("v0").unwrap().n, 10);
    assert_eq!(run.executed, ["v0"]);
    drop(out);
    assert!(LIVE_COMPUTED.load(Ordering::SeqCst) <= 3);
}

#[test]
fn a_released_value_comes_back_from_the_cache() {
    let dir = temp_dir("memory", "cache");
    let dr = Builder::new()
        .with_nodes(five(&LIVE_CACHED))
        .with_cache_config(CacheConfig::at(&dir))
        .with_memory_budget(2 * MB + MB / 2)
        .build()
        .unwrap();
    touch_all(&dr);
    assert!(
        dr.resident_bytes() <= 3 * MB + 100,
        "{}",
        dr.resident_bytes()
    );
    let (out, run) = dr
        .execute_recorded(&["v0"], inputs! { "base" => 10u64 }, weft::Inputs::new())
        .unwrap();
    assert_eq!(out.get::<Tracked>("v0").unwrap().n, 10);
    assert!(run.executed.is_empty(), "{run:?}");
    assert_eq!(run.hits, ["v0"]);
}

static LIVE_SESSION: AtomicUsize = AtomicUsize::new(0);

#[test]
fn a_session_stays_within_its_drivers_budget() {
    let dr = Builder::new()
        .with_nodes(five(&LIVE_SESSION))
        .with_memory_budget(2 * MB + MB / 2)
        .build()
        .unwrap();
    let mut s = weft::Session::new(dr);
    s.set("base", 10u64);
    for i in 0..5u64 {
        assert_eq!(s.get::<Tracked>(&format!("v{i}")).unwrap().n, 10 * (i + 1));
    }
    assert!(LIVE_SESSION.load(Ordering::SeqCst) <= 3);
    // `last` still shows a released value: computed again, the same.
    assert_eq!(s.last::<Tracked>("v0").map(|t| t.n), Some(10));
}

/// A chain `c0 … c{n-1}` of `Tracked` values; each body notes how many were alive when it
/// started (in `peak`).
fn tracked_chain(
    n: usize,
    live: &'static AtomicUsize,
    peak: &'static AtomicUsize,
) -> Vec<NodeSpec> {
    (0..n)
        .map(|i| {
            let dep = if i == 0 {
                "base".to_string()
            } else {
                format!("c{}", i - 1)
            };
            let ty = if i == 0 {
                value_type!(u64)
            } else {
                value_type!(Tracked)
            };
            NodeSpec::builder(format!("c{i}"), value_type!(Tracked))
                .param(dep, ty)
                .sync(move |a| {
                    peak.fetch_max(live.load(Ordering::SeqCst), Ordering::SeqCst);
                    let before = if i == 0 {
                        *a.get::<u64>(0)?
                    } else {
                        a.get::<Tracked>(0)?.n
                    };
                    Ok(Arc::new(Tracked::new(before + 1, live)))
                })
        })
        .collect()
}

static LIVE_THREADS: AtomicUsize = AtomicUsize::new(0);
static PEAK_THREADS: AtomicUsize = AtomicUsize::new(0);

/// Every executor reports to the one scheduler, which releases a value after its last consumer.
#[test]
fn a_one_shot_run_on_threads_holds_one_value_while_the_next_is_made() {
    let dr = Builder::new()
        .with_nodes(tracked_chain(20, &LIVE_THREADS, &PEAK_THREADS))
        .with_local_executor(weft::executors::MultiThreading::new(4))
        .with_memory_budget(0)
        .build()
        .unwrap();
    let out = dr.execute(&["c19"], inputs! { "base" => 0u64 }).unwrap();
    assert_eq!(out.get::<Tracked>("c19").unwrap().n, 20);
    assert!(PEAK_THREADS.load(Ordering::SeqCst) <= 1, "{PEAK_THREADS:?}");
    assert_eq!(
        LIVE_THREADS.load(Ordering::SeqCst),
        1,
        "only the output is left"
    );
}

static LIVE_ASYNC: AtomicUsize = AtomicUsize::new(0);
static PEAK_ASYNC: AtomicUsize = AtomicUsize::new(0);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_shot_async_run_holds_one_value_while_the_next_is_made() {
    let dr = Builder::new()
        .with_nodes(tracked_chain(20, &LIVE_ASYNC, &PEAK_ASYNC))
        .with_memory_budget(0)
        .build()
        .unwrap();
    let out = dr
        .execute_async(&["c19"], inputs! { "base" => 0u64 })
        .await
        .unwrap();
    assert_eq!(out.get::<Tracked>("c19").unwrap().n, 20);
    assert!(PEAK_ASYNC.load(Ordering::SeqCst) <= 1, "{PEAK_ASYNC:?}");
    assert_eq!(
        LIVE_ASYNC.load(Ordering::SeqCst),
        1,
        "only the output is left"
    );
}
