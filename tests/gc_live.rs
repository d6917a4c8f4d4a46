//! gc is safe with live runs: while a run holds its lease on the cache directory, gc collects
//! nothing (what the run wrote, or is about to read, stays) and says so; once no run is alive
//! it collects as asked. Builders racing gc in threads and in other processes never lose a
//! value they were about to read, and never return a wrong one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use weft::cache::GcPolicy;
use weft::{inputs, value_type, Builder, CacheConfig, Driver, NodeSpec};
use weft_tests::PATIENCE;

fn temp_dir(name: &str) -> PathBuf {
    weft_tests::temp_dir("gc-live", name)
}

/// A door a node waits at, with a bound: the test knows when the node is inside.
#[derive(Default)]
struct Door {
    state: Mutex<(bool, bool)>, // (inside, open)
    changed: Condvar,
}

impl Door {
    fn wait_inside(&self) {
        let mut s = self.state.lock().unwrap();
        s.0 = true;
        self.changed.notify_all();
        let _ = self
            .changed
            .wait_timeout_while(s, PATIENCE, |s| !s.1)
            .unwrap();
    }
    fn someone_inside(&self) {
        let s = self.state.lock().unwrap();
        let (s, _) = self
            .changed
            .wait_timeout_while(s, PATIENCE, |s| !s.0)
            .unwrap();
        assert!(s.0, "the run never reached its pause");
    }
    fn open(&self) {
        self.state.lock().unwrap().1 = true;
        self.changed.notify_all();
    }
}

const STEPS: usize = 30;

/// A chain `step0 … step{STEPS-1}` over `seed`, and `last` (RECOMPUTE), which waits at `door`
/// (when given) before it reads its argument: by then the run's hits are looked up, not read.
fn driver(dir: &Path, door: Option<Arc<Door>>) -> Driver {
    let mut nodes: Vec<NodeSpec> = (0..STEPS)
        .map(|i| {
            let dep = if i == 0 {
                "seed".into()
            } else {
                format!("step{}", i - 1)
            };
            NodeSpec::builder(format!("step{i}"), value_type!(u64))
                .param(dep, value_type!(u64))
                .code_version("v1")
                .sync(move |a| Ok(Arc::new(*a.get::<u64>(0)? * 3 + i as u64)))
        })
        .collect();
    nodes.push(
        NodeSpec::builder("last", value_type!(u64))
            .param(format!("step{}", STEPS - 1), value_type!(u64))
            .code_version("v1")
            .sync(move |a| {
                if let Some(door) = &door {
                    door.wait_inside();
                }
                Ok(Arc::new(*a.get::<u64>(0)? + 1))
            }),
    );
    Builder::new()
        .with_nodes(nodes)
        .with_cache_config(CacheConfig::at(dir).recompute(["last"]))
        .build()
        .unwrap()
}

fn expected(seed: u64) -> u64 {
    let mut x = seed;
    for i in 0..STEPS {
        x = x.wrapping_mul(3).wrapping_add(i as u64);
    }
    x + 1
}

fn last(dr: &Driver, seed: u64) -> u64 {
    let out = dr.execute(&["last"], inputs! { "seed" => seed }).unwrap();
    *out.get::<u64>("last").unwrap()
}

#[test]
fn gc_collects_nothing_while_a_run_is_alive() {
    let dir = temp_dir("paused");
    assert_eq!(last(&driver(&dir, None), 4), expected(4));

    // A second run: every step hits (looked up, not yet read), `last` pauses before reading.
    let door = Arc::new(Door::default());
    let dr = driver(&dir, Some(door.clone()));
    let run = std::thread::spawn(move || {
        let value = last(&dr, 4);
        (value, dr.cache().unwrap().warnings())
    });
    door.someone_inside();
    let cache = weft::Cache::open(&dir).unwrap();
    let runs = cache.runs().unwrap();
    assert!(
        runs.iter().all(|r| r.status != "interrupted"),
        "a live run is never taken for an interrupted one: {runs:?}"
    );
    for policy in [
        GcPolicy {
            keep_runs: Some(0),
            max_bytes: None,
        },
        GcPolicy {
            keep_runs: None,
            max_bytes: Some(0),
        },
    ] {
        let report = cache.gc(policy).unwrap();
        assert_eq!(report.live_runs, 1, "{report:?}");
        assert_eq!(
            (report.runs_removed, report.results_removed),
            (0, 0),
            "{report:?}"
        );
    }
    let report = cache.clear().unwrap();
    assert_eq!((report.live_runs, report.results_removed), (1, 0));
    door.open();
    let (value, warnings) = run.join().unwrap();
    assert_eq!(value, expected(4));
    assert!(
        warnings.is_empty(),
        "nothing the live run read was collected: {warnings:?}"
    );

    // No run alive: gc collects.
    let report = cache.clear().unwrap();
    assert_eq!(report.live_runs, 0);
    assert_eq!(report.runs_removed, 2, "{report:?}");
    assert!(report.results_removed > 0, "{report:?}");
    assert!(cache.runs().unwrap().is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn builders_racing_gc_in_threads_never_lose_what_they_read() {
    let dir = temp_dir("race");
    let done = Arc::new(AtomicBool::new(false));
    let gcs = {
        let (dir, done) = (dir.clone(), done.clone());
        std::thread::spawn(move || {
            let mut reports = Vec::new();
            // At least a few gcs, then until every builder is done.
            while !done.load(Ordering::SeqCst) || reports.len() < 3 {
                let cache = weft::Cache::open(&dir).unwrap();
                let policy = match reports.len() % 3 {
                    0 => GcPolicy {
                        keep_runs: Some(0),
                        max_bytes: None,
                    },
                    1 => GcPolicy {
                        keep_runs: Some(2),
                        max_bytes: None,
                    },
                    _ => GcPolicy {
                        keep_runs: None,
                        max_bytes: Some(64),
                    },
                };
                reports.push(cache.gc(policy).unwrap());
            }
            reports
        })
    };
    let builders: Vec<_> = (0..4u64)
        .map(|b| {
            let dir = dir.clone();
            std::thread::spawn(move || {
                let mut warnings = BTreeMap::new();
                for round in 0..4u64 {
                    // A new driver each round (it reads the last run's keys as it opens), and
                    // seeds shared between builders: hits on what others stored.
                    let dr = driver(&dir, None);
                    let seed = (b + round) % 3;
                    assert_eq!(last(&dr, seed), expected(seed), "builder {b} round {round}");
                    let w = dr.cache().unwrap().warnings();
                    if !w.is_empty() {
                        warnings.insert((b, round), w);
                    }
                }
                warnings
            })
        })
        .collect();
    let mut lost = BTreeMap::new();
    for b in builders {
        lost.extend(b.join().unwrap());
    }
    done.store(true, Ordering::SeqCst);
    let reports = gcs.join().unwrap();
    assert!(
        lost.is_empty(),
        "a builder lost a stored value it was about to read: {lost:?}"
    );
    assert!(reports.len() >= 3);
    // The cache is whole: a last run hits everything with the right value.
    let dr = driver(&dir, None);
    assert_eq!(last(&dr, 2), expected(2));
    assert!(dr.cache().unwrap().warnings().is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

/// A run's outputs are read before it lets go of the cache directory: a gc right after the run
/// (in another process, say, while the caller has not looked at its outputs yet) cannot take a
/// result the run returned. Both ways a run ends: answered from the cache without a walk, and
/// walked (`last` recomputes) with a hit no executed node reads among the outputs (`step0`).
#[test]
fn a_run_returns_its_outputs_read_so_a_gc_after_it_takes_nothing_from_them() {
    let dir = temp_dir("outputs");
    let step0 = 5u64 * 3; // `step0` is `seed * 3 + 0`
    for (what, outputs) in [
        ("answered", vec!["step0"]),
        ("walked", vec!["step0", "last"]),
    ] {
        // Everything stored (again: the round before collected it all).
        {
            let dr = driver(&dir, None);
            assert_eq!(last(&dr, 5), expected(5));
        }
        let dr = driver(&dir, None);
        let (out, record) = dr
            .execute_recorded(&outputs, inputs! { "seed" => 5u64 }, weft::Inputs::new())
            .unwrap();
        assert_eq!(record.answered, what == "answered", "{what}: {record:?}");
        assert!(
            record.hits.iter().any(|h| h == "step0"),
            "{what}: `step0` came from the cache: {record:?}"
        );
        assert!(
            out.value("step0").unwrap().is_loaded(),
            "{what}: the output was read before the run ended"
        );
        // The run has let go of the directory: gc collects everything.
        dr.cache().unwrap().flush();
        let report = weft::Cache::open(&dir)
            .unwrap()
            .gc(GcPolicy {
                keep_runs: Some(0),
                max_bytes: None,
            })
            .unwrap();
        assert_eq!(report.live_runs, 0, "{what}: {report:?}");
        assert!(report.results_removed > 0, "{what}: {report:?}");
        assert_eq!(*out.get::<u64>("step0").unwrap(), step0, "{what}");
        assert!(
            dr.cache().unwrap().warnings().is_empty(),
            "{what}: nothing the run returned was lost: {:?}",
            dr.cache().unwrap().warnings()
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
