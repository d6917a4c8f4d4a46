//! Across processes (a second process, two at once, one that exits without dropping) and
//! SQLite's write-ahead log; a long chain of hits; a live second driver.

use super::*;

pub(crate) fn child(dir: &Path, variant: &str, n: usize, sleep_ms: u64, seed: u64) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cache_child"));
    cmd.arg(dir)
        .arg(variant)
        .arg(n.to_string())
        .arg(sleep_ms.to_string())
        .arg(seed.to_string());
    cmd
}

pub(crate) fn run_child(
    dir: &Path,
    variant: &str,
    n: usize,
    seed: u64,
) -> (BTreeMap<String, String>, String) {
    weft_tests::cache_child_results(&child(dir, variant, n, 0, seed).output().unwrap())
}

#[test]
pub(crate) fn a_second_process_hits_everything_and_an_edit_reruns_only_that_node() {
    let dir = temp_dir("process");
    let (s, total) = run_child(&dir, "a", 6, 1);
    assert_eq!(total, "total=7");
    assert!(s.values().all(|v| v == "executed"), "{s:?}");
    let (s, total) = run_child(&dir, "a", 6, 1);
    assert_eq!(total, "total=7");
    assert_eq!(s.len(), 7);
    assert!(s.values().all(|v| v == "hit"), "{s:?}");
    // "Rebuild" with step3 edited: step3 re-executes; its value is unchanged for an even
    // input (step3 sees 4), so everything after it hits.
    let (s, total) = run_child(&dir, "b", 6, 1);
    assert_eq!(total, "total=7");
    let executed: Vec<_> = s
        .iter()
        .filter(|(_, v)| *v != "hit")
        .map(|(k, _)| k.as_str())
        .collect();
    assert_eq!(executed, vec!["step3"], "{s:?}");
    // Run the old build on a new seed, then the edited one: the edit changes step3's value
    // for an odd input (5 -> 16), so step3 and everything after it rerun; before it, hits.
    run_child(&dir, "a", 6, 2);
    let (s, total) = run_child(&dir, "b", 6, 2);
    assert_eq!(total, "total=18");
    let executed: Vec<_> = s
        .iter()
        .filter(|(_, v)| *v == "executed")
        .map(|(k, _)| k.as_str())
        .collect();
    assert_eq!(
        executed,
        vec!["step3", "step4", "step5", "summary"],
        "{s:?}"
    );
    assert_eq!(s["step2"], "hit");
    // explain says why, from the cache directory alone.
    let e = weft::Cache::open(&dir)
        .unwrap()
        .explain("step4", None)
        .unwrap();
    assert!(
        e.reasons
            .iter()
            .any(|r| r.contains("dependency `step3` changed data version")),
        "{e}"
    );
    let e = weft::Cache::open(&dir)
        .unwrap()
        .explain("step3", None)
        .unwrap();
    assert!(
        e.reasons.iter().any(|r| r.contains("code version changed")),
        "{e}"
    );
}

#[test]
pub(crate) fn two_processes_share_one_cache_safely() {
    let dir = temp_dir("concurrent");
    let mut a = child(&dir, "a", 40, 1, 100).spawn().unwrap();
    let mut b = child(&dir, "a", 40, 1, 100).spawn().unwrap();
    assert!(a.wait().unwrap().success());
    assert!(b.wait().unwrap().success());
    let (s, total) = run_child(&dir, "a", 40, 100);
    assert_eq!(total, "total=140");
    assert!(s.values().all(|v| v == "hit"), "{s:?}");
}

/// Rows of `table` in the database file itself, ignoring its log (0 while even the table is
/// only in the log).
pub(crate) fn rows_in_file(dir: &Path, db: &str, table: &str) -> i64 {
    let uri = format!("file:{}?immutable=1", dir.join(db).display());
    let c = rusqlite::Connection::open_with_flags(
        uri,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_URI,
    )
    .unwrap();
    c.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .unwrap_or(0)
}

/// A driver over `n` nodes with results of 15 KiB each (stored as rows of `results.sqlite`).
pub(crate) fn big_results(dir: &Path, n: u8) -> (Driver, Vec<String>) {
    let nodes = (0..n).map(|i| {
        NodeSpec::builder(format!("big{i}"), value_type!(Vec<u8>))
            .param("x", value_type!(u64))
            .code_version("big-v1")
            .sync(move |a| Ok(Arc::new(vec![i ^ *a.get::<u64>(0)? as u8; 15 * 1024])))
    });
    let dr = Builder::new()
        .with_nodes(nodes)
        .with_cache_config(CacheConfig::at(dir))
        .build()
        .unwrap();
    (dr, (0..n).map(|i| format!("big{i}")).collect())
}

pub(crate) fn wal_len(dir: &Path, db: &str) -> u64 {
    std::fs::metadata(dir.join(format!("{db}-wal")))
        .map(|m| m.len())
        .unwrap_or(0)
}

/// SQLite only (its write-ahead log), as is the next test.
///
/// A log of middling length left by a process
/// process's writer thread, in the background (the first connection of every process re-reads
/// the whole log); a short one is left alone (folding costs two fsyncs).
#[test]
pub(crate) fn the_next_process_folds_a_middling_log_and_leaves_a_short_one() {
    let dir = temp_dir("checkpoint");
    // 12 results of 15 KiB: a results log between the two limits; the metadata log is short.
    let (dr, names) = big_results(&dir, 12);
    let outputs: Vec<&str> = names.iter().map(String::as_str).collect();
    dr.execute(&outputs, inputs! { "x" => 1u64 }).unwrap();
    drop(dr);
    let results_log = wal_len(&dir, "results.sqlite");
    assert!(
        results_log > weft::cache::WAL_FOLD_BYTES
            && results_log < weft::cache::WAL_FOLD_AT_END_BYTES
    );
    assert!(wal_len(&dir, "meta.sqlite") < weft::cache::WAL_FOLD_BYTES);
    assert_eq!(rows_in_file(&dir, "results.sqlite", "results"), 0);
    assert_eq!(rows_in_file(&dir, "meta.sqlite", "runs"), 0);
    let (dr, _) = big_results(&dir, 12);
    dr.cache().unwrap().flush();
    assert_eq!(
        rows_in_file(&dir, "results.sqlite", "results"),
        12,
        "folded"
    );
    assert_eq!(wal_len(&dir, "results.sqlite"), 0, "and emptied");
    assert_eq!(
        rows_in_file(&dir, "meta.sqlite", "runs"),
        0,
        "the short one is not"
    );
    // And the second process hits everything.
    dr.execute(&outputs, inputs! { "x" => 1u64 }).unwrap();
    assert!(statuses(&dr).values().all(|s| *s == Status::Hit));
}

/// A large write (a cold run) is folded by the driver that made it, as it ends, so that the
/// next process starts on a short log.
#[test]
pub(crate) fn a_driver_that_wrote_a_long_log_folds_it_as_it_ends() {
    let dir = temp_dir("checkpoint-end");
    let (dr, names) = big_results(&dir, 80);
    let outputs: Vec<&str> = names.iter().map(String::as_str).collect();
    dr.execute(&outputs, inputs! { "x" => 1u64 }).unwrap();
    dr.cache().unwrap().flush();
    assert!(wal_len(&dir, "results.sqlite") > weft::cache::WAL_FOLD_AT_END_BYTES);
    assert_eq!(rows_in_file(&dir, "results.sqlite", "results"), 0);
    drop(dr);
    assert_eq!(rows_in_file(&dir, "results.sqlite", "results"), 80);
    assert_eq!(wal_len(&dir, "results.sqlite"), 0);
}

/// A hit is held lazily together with the values it could be recomputed from; a long cached
/// chain of hits is then a long chain of values, and letting go of it must not recurse once
/// per node (a 20,000-node chain overflowed a test thread's stack that way).
pub(crate) fn a_long_chain_of_hits_is_read_and_dropped_without_deep_recursion(store: Store) {
    let n = 20_000;
    let build = || {
        let nodes = (0..n).map(|i| {
            let dep = if i == 0 {
                "x".to_string()
            } else {
                format!("c{}", i - 1)
            };
            NodeSpec::builder(format!("c{i}"), value_type!(u64))
                .param(dep, value_type!(u64))
                .code_version("c-v1")
                .sync(|a| Ok(Arc::new(a.get::<u64>(0)? + 1)))
        });
        Builder::new()
            .with_nodes(nodes)
            .with_cache_config(store.config())
            .build()
            .unwrap()
    };
    let last = format!("c{}", n - 1);
    let dr = build();
    dr.execute(&[&last], inputs! { "x" => 0u64 }).unwrap();
    drop(dr);
    // Answered from the cache (no walk).
    let dr = build();
    let (out, rec) = dr
        .execute_recorded(&[&last], inputs! { "x" => 0u64 }, Inputs::new())
        .unwrap();
    assert!(rec.answered, "{:?}", rec.executed);
    drop(dr);
    assert_eq!(out.get::<u64>(&last).unwrap(), &(n as u64));
    drop(out);
    // Never loaded: the whole chain is released when the driver goes.
    let dr = build();
    let out = dr.execute(&[&last], inputs! { "x" => 0u64 }).unwrap();
    drop(out);
    drop(dr);
    // Walked: a driver that has walked a run (the first node, on an input the cache has not
    // seen) walks the next one too, which hits node by node through the cache's adapter.
    let dr = build();
    let (out, rec) = dr
        .execute_recorded(&["c0"], inputs! { "x" => 1u64 }, Inputs::new())
        .unwrap();
    assert_eq!(
        (out.get::<u64>("c0").unwrap(), &*rec.executed),
        (&2, &["c0".to_string()][..])
    );
    let (out, rec) = dr
        .execute_recorded(&[&last], inputs! { "x" => 0u64 }, Inputs::new())
        .unwrap();
    assert!(!rec.answered, "walked");
    assert!(rec.executed.is_empty(), "{:?}", rec.executed);
    let s = statuses(&dr);
    assert_eq!(s.len(), n);
    assert!(
        s.values().all(|s| *s == Status::Hit),
        "every node hit, on the walk"
    );
    assert_eq!(out.get::<u64>(&last).unwrap(), &(n as u64));
    drop(dr);
    drop(out);
}

/// A run's last commit happens after `execute` returns; a second driver opened on the same
/// directory while the first is alive still sees the whole run, and so does the first's cache.
pub(crate) fn a_finished_run_is_visible_to_another_live_driver_at_once(store: Store) {
    let first = cached(weft::modules![crate::lazy], &store);
    first.execute(&["c"], inputs! { "x" => 5u64 }).unwrap();
    let second = cached(weft::modules![crate::lazy], &store);
    second.execute(&["c"], inputs! { "x" => 5u64 }).unwrap();
    assert!(statuses(&second).values().all(|s| *s == Status::Hit));
    // The first driver's handle reads the same runs, its own included.
    assert_eq!(first.cache().unwrap().runs().unwrap().len(), 2);
}

/// A run that computed something is committed before `execute` returns: a program that ends
/// with `std::process::exit` (dropping nothing) still leaves its results for the next one.
#[test]
pub(crate) fn results_survive_a_process_exit_that_drops_nothing() {
    let dir = temp_dir("exit");
    let out = child(&dir, "a", 4, 0, 3)
        .env("WEFT_CHILD_EXIT", "1")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("total=7"));
    let (s, total) = run_child(&dir, "a", 4, 3);
    assert_eq!(total, "total=7");
    assert!(s.values().all(|v| v == "hit"), "{s:?}");
}
