//! The cache never hands back a wrong value, and says so when it finds one: stored results and
//! `key → data version` entries exchanged or damaged are detected, reported, forgotten and
//! repaired (recomputed and stored again), and the next run hits the repairs.
//!
//! Results exchanged through the [`ResultStore`] trait run against every store; exchanging
//! SQLite's own rows, files and key rows runs on SQLite only.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use weft::cache::{ResultStore, Status};
use weft::prelude::*;
use weft::{DataVersion, NodeSpec};
use weft_tests::stores::Store;

weft_tests::on_every_store!("integrity":
    exchanged_results_are_never_returned_and_are_repaired,
);

/// Two small results (rows of `results.sqlite`) and two large ones (files) of one type, and a
/// node over all four that always runs (RECOMPUTE): a wrong input would show in it.
pub mod pair {
    use weft::prelude::*;
    #[node]
    pub fn left(x: &u64) -> Vec<u64> {
        vec![*x; 8]
    }
    #[node]
    pub fn right(x: &u64) -> Vec<u64> {
        vec![*x + 1; 8]
    }
    /// About 40 KiB encoded (large numbers take 10 bytes): a file of its own.
    #[node]
    pub fn big_left(x: &u64) -> Vec<u64> {
        vec![u64::MAX - *x * 3; 4096]
    }
    #[node]
    pub fn big_right(x: &u64) -> Vec<u64> {
        vec![u64::MAX - *x * 5; 4096]
    }
    /// 1.28 MB in memory: encoded and stored beside the writer, not with a commit's batch.
    #[node]
    pub fn huge(x: &u64) -> Vec<u64> {
        vec![u64::MAX - *x; 160_000]
    }
    #[node]
    pub fn total(left: &[u64], right: &[u64], big_left: &[u64], big_right: &[u64]) -> u64 {
        [left, right, big_left, big_right]
            .iter()
            .map(|v| v.iter().fold(0u64, |a, b| a.wrapping_add(*b)))
            .fold(0, u64::wrapping_add)
    }
}

const PAIR: [&str; 5] = ["left", "right", "big_left", "big_right", "total"];

fn pair_driver(store: &Store) -> Driver {
    Builder::new()
        .with_modules(weft::modules![crate::pair])
        .with_cache_config(store.config().recompute(["total"]))
        .build()
        .unwrap()
}

/// Every value of `names` as a `Vec<u64>` (`total` as a one-element vector).
fn values(out: &Outputs, names: &[&str]) -> BTreeMap<String, Vec<u64>> {
    names
        .iter()
        .map(|n| {
            let v = match *n {
                "total" => vec![*out.get::<u64>(n).unwrap()],
                _ => out.get::<Vec<u64>>(n).unwrap().clone(),
            };
            (n.to_string(), v)
        })
        .collect()
}

/// Statuses of the last run, by node (a node's later record wins: a repair's `executed`).
fn statuses(dr: &Driver) -> BTreeMap<String, Status> {
    dr.cache()
        .unwrap()
        .records(None)
        .unwrap()
        .into_iter()
        .map(|r| (r.node, r.status))
        .collect()
}

/// The result store of `store`, opened on its own (as another process would).
fn result_store(store: &Store) -> Arc<dyn ResultStore> {
    store.results()
}

/// Exchanges the results stored for `a` and `b`, through the store's own interface: each is
/// then a valid result (whole, checksum-true) stored under the other's version.
fn exchange(results: &dyn ResultStore, a: &DataVersion, b: &DataVersion) {
    let (blob_a, blob_b) = (
        results.get(a).unwrap().unwrap(),
        results.get(b).unwrap().unwrap(),
    );
    results.remove(a).unwrap();
    results.remove(b).unwrap();
    results.put(a, &blob_b).unwrap();
    results.put(b, &blob_a).unwrap();
}

/// Runs `total` after `damage`, and checks: the values are those of the first run, each of
/// `named` is reported, and the next driver hits everything without a warning.
fn survives(store: &Store, damage: impl FnOnce(&BTreeMap<String, DataVersion>), named: &[&str]) {
    let dr = pair_driver(store);
    let out = dr.execute(&PAIR, inputs! { "x" => 7u64 }).unwrap();
    let reference = values(&out, &PAIR);
    let versions = dr.cache().unwrap().data_versions(None).unwrap();
    drop(out);
    drop(dr);
    damage(&versions);

    let dr = pair_driver(store);
    let out = dr.execute(&PAIR, inputs! { "x" => 7u64 }).unwrap();
    assert_eq!(values(&out, &PAIR), reference, "no wrong value, ever");
    let warnings = dr.cache().unwrap().warnings();
    for node in named {
        assert!(
            warnings.iter().any(|w| w.contains(&format!("`{node}`"))),
            "`{node}` is reported: {warnings:?}"
        );
    }
    drop(out);
    drop(dr);

    let dr = pair_driver(store);
    let out = dr.execute(&PAIR, inputs! { "x" => 7u64 }).unwrap();
    assert_eq!(values(&out, &PAIR), reference);
    let s = statuses(&dr);
    for node in &PAIR[..4] {
        assert_eq!(s[*node], Status::Hit, "the repair of `{node}` hits: {s:?}");
    }
    let warnings = dr.cache().unwrap().warnings();
    assert!(warnings.is_empty(), "{warnings:?}");
    let after = dr.cache().unwrap().data_versions(None).unwrap();
    assert_eq!(after, versions, "the same data versions as the first run");
}

fn exchanged_results_are_never_returned_and_are_repaired(store: Store) {
    let results = result_store(&store);
    survives(
        &store,
        |v| {
            exchange(&*results, &v["left"], &v["right"]);
            exchange(&*results, &v["big_left"], &v["big_right"]);
        },
        &["left", "right", "big_left", "big_right"],
    );
    // Each warning says what is wrong.
    let dr = pair_driver(&store);
    let versions = dr.cache().unwrap().data_versions(None).unwrap();
    drop(dr);
    exchange(&*results, &versions["left"], &versions["right"]);
    let dr = pair_driver(&store);
    let out = dr.execute(&["left"], inputs! { "x" => 7u64 }).unwrap();
    assert_eq!(out.get::<Vec<u64>>("left").unwrap(), &vec![7u64; 8]);
    let warnings = dr.cache().unwrap().warnings();
    assert!(
        warnings.iter().any(|w| w.contains("`left`")
            && w.contains(&versions["right"].short())
            && w.contains("stored under another version")),
        "{warnings:?}"
    );
}

/// The path of the file holding the result `v`.
fn result_file(dir: &Path, v: &DataVersion) -> std::path::PathBuf {
    let hex = v.to_hex();
    dir.join("results").join(&hex[..2]).join(hex)
}

/// SQLite's own files and rows exchanged, as a careless copy or a bug in the store could.
#[test]
fn exchanged_rows_and_files_are_never_returned_and_are_repaired() {
    let store = Store::sqlite("integrity", "rows-and-files");
    let dir = store.dir().to_path_buf();
    survives(
        &store,
        |v| {
            // Files: renamed over each other.
            let (a, b) = (
                result_file(&dir, &v["big_left"]),
                result_file(&dir, &v["big_right"]),
            );
            let parked = dir.join("parked");
            std::fs::rename(&a, &parked).unwrap();
            std::fs::rename(&b, &a).unwrap();
            std::fs::rename(&parked, &b).unwrap();
            // Rows: every column but the version exchanged.
            let db = rusqlite::Connection::open(dir.join("results.sqlite")).unwrap();
            let (l, r) = (
                v["left"].as_bytes().to_vec(),
                v["right"].as_bytes().to_vec(),
            );
            let aside = b"aside".to_vec();
            let rename = |from: &Vec<u8>, to: &Vec<u8>| {
                let n = db
                    .execute(
                        "UPDATE results SET data_version = ?2 WHERE data_version = ?1",
                        [from, to],
                    )
                    .unwrap();
                assert_eq!(n, 1);
            };
            rename(&l, &aside);
            rename(&r, &l);
            rename(&aside, &r);
        },
        &["left", "right", "big_left", "big_right"],
    );
}

/// `n` nodes of one type, `n{i}(x) = x * (i + 1)`, and one more, `other`, that does not need
/// them.
fn many(n: usize) -> Vec<NodeSpec> {
    let mut nodes: Vec<NodeSpec> = (0..n)
        .map(|i| {
            NodeSpec::builder(format!("n{i}"), weft::value_type!(u64))
                .param("x", weft::value_type!(u64))
                .code_version("v1")
                .sync(move |a| Ok(Arc::new(*a.get::<u64>(0)? * (i as u64 + 1))))
        })
        .collect();
    nodes.push(
        NodeSpec::builder("other", weft::value_type!(u64))
            .param("x", weft::value_type!(u64))
            .code_version("v1")
            .sync(|a| Ok(Arc::new(*a.get::<u64>(0)? + 1000))),
    );
    nodes
}

fn many_driver(dir: &Path, n: usize) -> Driver {
    Builder::new()
        .with_nodes(many(n))
        .with_cache_config(weft::CacheConfig::at(dir))
        .build()
        .unwrap()
}

/// Rotates the data versions of every `cache_keys` row (each row gets the next one's).
fn rotate_key_rows(dir: &Path) -> usize {
    let db = rusqlite::Connection::open(dir.join("meta.sqlite")).unwrap();
    let rows: Vec<(Vec<u8>, Vec<u8>)> = db
        .prepare("SELECT cache_key, data_version FROM cache_keys ORDER BY cache_key")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for (i, (key, _)) in rows.iter().enumerate() {
        let next = &rows[(i + 1) % rows.len()].1;
        db.execute(
            "UPDATE cache_keys SET data_version = ?2 WHERE cache_key = ?1",
            rusqlite::params![key, next],
        )
        .unwrap();
    }
    rows.len()
}

/// Every row of the key table exchanged with another: each lookup fails its check, is
/// reported, and its node recomputed and stored again.
#[test]
fn exchanged_key_rows_are_never_used_and_are_repaired() {
    const N: usize = 200;
    let dir = weft_tests::temp_dir("integrity", "key-rows");
    let names: Vec<String> = (0..N).map(|i| format!("n{i}")).collect();
    let outputs: Vec<&str> = names.iter().map(String::as_str).collect();
    let expected = |out: &Outputs| {
        for (i, n) in outputs.iter().enumerate() {
            assert_eq!(*out.get::<u64>(n).unwrap(), 3 * (i as u64 + 1), "`{n}`");
        }
    };
    let dr = many_driver(&dir, N);
    expected(&dr.execute(&outputs, inputs! { "x" => 3u64 }).unwrap());
    // Another run last, so that the next one looks its keys up in the table (the last run's
    // keys answer first, and they are checked apart: see the next test).
    dr.execute(&["other"], inputs! { "x" => 3u64 }).unwrap();
    drop(dr);
    assert_eq!(rotate_key_rows(&dir), N + 1);

    let dr = many_driver(&dir, N);
    expected(&dr.execute(&outputs, inputs! { "x" => 3u64 }).unwrap());
    let s = statuses(&dr);
    assert!(
        outputs.iter().all(|n| s[*n] == Status::Executed),
        "every damaged key misses: {s:?}"
    );
    let warnings = dr.cache().unwrap().warnings();
    let reported = outputs
        .iter()
        .filter(|n| {
            warnings
                .iter()
                .any(|w| w.contains(&format!("`{n}`")) && w.contains("checksum"))
        })
        .count();
    assert_eq!(reported, N, "{warnings:?}");
    dr.execute(&["other"], inputs! { "x" => 3u64 }).unwrap();
    drop(dr);

    // Repaired: the next driver hits every key, from the table.
    let dr = many_driver(&dir, N);
    expected(&dr.execute(&outputs, inputs! { "x" => 3u64 }).unwrap());
    let s = statuses(&dr);
    assert!(outputs.iter().all(|n| s[*n] == Status::Hit), "{s:?}");
    assert!(dr.cache().unwrap().warnings().is_empty());
}

/// The last run's keys (read from its records, to answer a warm run's lookups) are checked
/// against the records' hash: a damaged batch gives no keys, with a warning, and is dropped.
#[test]
fn damaged_records_give_no_keys_and_are_dropped() {
    const N: usize = 20;
    let dir = weft_tests::temp_dir("integrity", "records");
    let names: Vec<String> = (0..N).map(|i| format!("n{i}")).collect();
    let outputs: Vec<&str> = names.iter().map(String::as_str).collect();
    let dr = many_driver(&dir, N);
    dr.execute(&outputs, inputs! { "x" => 4u64 }).unwrap();
    drop(dr);
    // Exchange two data versions inside the run's records (bytes the hash covers): two
    // nodes' whose records share a body (a run's records are stored in parts, cut where its
    // commits fell).
    let db = rusqlite::Connection::open(dir.join("meta.sqlite")).unwrap();
    let bodies: Vec<(Vec<u8>, Vec<u8>)> = db
        .prepare("SELECT hash, bytes FROM record_bodies")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let versions = weft::Cache::open(&dir)
        .unwrap()
        .data_versions(None)
        .unwrap();
    let at = |body: &[u8], v: &[u8; 32]| body.windows(32).position(|w| w == v);
    // (`n0` is `x` itself, whose version the records name as a dependency too.)
    let (hash, mut body, (i, j)) = bodies
        .into_iter()
        .find_map(|(hash, body)| {
            let mine: Vec<usize> = (1..N)
                .filter(|i| at(&body, versions[&format!("n{i}")].as_bytes()).is_some())
                .collect();
            (mine.len() >= 2).then(|| (hash, body, (mine[0], mine[1])))
        })
        .expect("a body holding two nodes' records");
    let (a, b) = (
        *versions[&format!("n{i}")].as_bytes(),
        *versions[&format!("n{j}")].as_bytes(),
    );
    let (ia, ib) = (at(&body, &a).unwrap(), at(&body, &b).unwrap());
    body[ia..ia + 32].copy_from_slice(&b);
    body[ib..ib + 32].copy_from_slice(&a);
    db.execute(
        "UPDATE record_bodies SET bytes = ?2 WHERE hash = ?1",
        rusqlite::params![hash, body],
    )
    .unwrap();
    drop(db);

    let dr = many_driver(&dir, N);
    let out = dr.execute(&outputs, inputs! { "x" => 4u64 }).unwrap();
    for k in [i, j] {
        assert_eq!(
            *out.get::<u64>(&format!("n{k}")).unwrap(),
            4 * (k as u64 + 1)
        );
    }
    let warnings = dr.cache().unwrap().warnings();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("last run's keys are unusable") && w.contains("damaged")),
        "{warnings:?}"
    );
    // The keys in the table (checked) answered instead.
    assert!(statuses(&dr).values().all(|s| *s == Status::Hit));
    drop(dr);

    let dr = many_driver(&dir, N);
    dr.execute(&outputs, inputs! { "x" => 4u64 }).unwrap();
    assert!(dr.cache().unwrap().warnings().is_empty());
    assert!(statuses(&dr).values().all(|s| *s == Status::Hit));
}

/// A result store that refuses every write while it is full (a full disk, a lost mount).
struct Refusing(weft::cache::MemoryStore, Arc<AtomicBool>);

impl Refusing {
    /// A store over `memory`, full from the start, and its switch.
    fn full(memory: &weft::cache::MemoryStore) -> (Refusing, Arc<AtomicBool>) {
        let full = Arc::new(AtomicBool::new(true));
        (Refusing(memory.clone(), full.clone()), full)
    }
}

impl ResultStore for Refusing {
    fn contains(&self, version: &DataVersion) -> Result<bool, weft::cache::StoreError> {
        self.0.contains(version)
    }
    fn put(
        &self,
        v: &DataVersion,
        blob: &weft::cache::Blob,
    ) -> Result<(), weft::cache::StoreError> {
        if !self.1.load(Ordering::SeqCst) {
            return self.0.put(v, blob);
        }
        Err(weft::cache::StoreError::Other(
            "no space left on the device".into(),
        ))
    }
    fn get(
        &self,
        version: &DataVersion,
    ) -> Result<Option<weft::cache::Blob>, weft::cache::StoreError> {
        self.0.get(version)
    }
    fn remove(&self, version: &DataVersion) -> Result<(), weft::cache::StoreError> {
        self.0.remove(version)
    }
    fn list(&self) -> Result<Vec<(DataVersion, u64)>, weft::cache::StoreError> {
        self.0.list()
    }
}

/// A value the store refuses is reported (a warning naming the node and why) and recorded as
/// not stored, never as stored: a small one (stored with a commit's batch) and a large one
/// (encoded and stored by an encoder thread).
#[test]
fn a_result_that_cannot_be_stored_is_reported_and_recorded_as_uncached() {
    for (node, len) in [("left", 8), ("huge", 160_000)] {
        let memory = weft::cache::MemoryStore::new();
        let (refusing, _) = Refusing::full(&memory);
        let config = weft::CacheConfig::at(weft_tests::temp_dir("integrity", "refusing"))
            .with_stores(Arc::new(memory.clone()), Arc::new(refusing));
        let dr = Builder::new()
            .with_modules(weft::modules![crate::pair])
            .with_cache_config(config)
            .build()
            .unwrap();
        let out = dr.execute(&[node], inputs! { "x" => 1u64 }).unwrap();
        assert_eq!(out.get::<Vec<u64>>(node).unwrap().len(), len);
        let warnings = dr.cache().unwrap().warnings();
        assert!(
            warnings
                .iter()
                .any(|w| w.contains(&format!("`{node}` was not stored"))
                    && w.contains("no space left on the device")),
            "{warnings:?}"
        );
        let record = &dr.cache().unwrap().records(None).unwrap()[0];
        assert_eq!(record.status, Status::Uncached, "{node}: {record:?}");
        assert!(
            record
                .reason
                .as_deref()
                .unwrap_or("")
                .contains("no space left"),
            "{record:?}"
        );
    }
}

/// A long-lived driver whose store refused a value (a full disk) and later takes it again
/// (space freed): the run that stores it records it as executed, and a new driver hits it, as
/// if nothing had failed before. A small value (stored with a commit's batch) and a large one
/// (stored by an encoder thread).
#[test]
fn a_value_stored_after_an_earlier_failure_is_recorded_as_stored() {
    for (node, len) in [("left", 8), ("huge", 160_000)] {
        let memory = weft::cache::MemoryStore::new();
        let (refusing, full) = Refusing::full(&memory);
        let results: Arc<dyn ResultStore> = Arc::new(refusing);
        let dir = weft_tests::temp_dir("integrity", "freed");
        let driver = || {
            let config =
                weft::CacheConfig::at(&dir).with_stores(Arc::new(memory.clone()), results.clone());
            Builder::new()
                .with_modules(weft::modules![crate::pair])
                .with_cache_config(config)
                .build()
                .unwrap()
        };
        let run = |dr: &Driver, x: u64, want: Status| {
            let (out, run) = dr
                .execute_recorded(&[node], inputs! { "x" => x }, weft::Inputs::new())
                .unwrap();
            assert_eq!(out.get::<Vec<u64>>(node).unwrap().len(), len);
            let cache = dr.cache().unwrap();
            cache.flush();
            let records = cache.records(Some(&run.run_id)).unwrap();
            let record = records.iter().find(|r| r.node == node).unwrap();
            assert_eq!(record.status, want, "{node}, x = {x}: {record:?}");
        };
        let dr = driver();
        run(&dr, 1, Status::Uncached);
        full.store(false, Ordering::SeqCst);
        // Another input, then the first again: computed anew (the driver memoizes only the
        // last inputs' values), and stored this time under the key that failed before.
        run(&dr, 2, Status::Executed);
        run(&dr, 1, Status::Executed);
        drop(dr);
        run(&driver(), 1, Status::Hit);
    }
}
