//! A damaged cache heals itself and says so: a malformed `meta.sqlite` or `results.sqlite`
//! (garbage in the first page, or in every other page) is moved aside with a warning and
//! rebuilt, the run gives the values of an uncached run, and the next run hits again; `clear`
//! works on a malformed cache; one unreadable run record or batch of records never hides the
//! others.

#[path = "crash/flow.rs"]
mod flow;

use std::collections::BTreeMap;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use weft::cache::Status;
use weft::{inputs, Builder, CacheConfig, Driver};

fn temp_dir(name: &str) -> PathBuf {
    weft_tests::temp_dir("healing", name)
}

fn driver(dir: &Path) -> Driver {
    Builder::new()
        .with_nodes(flow::nodes(&[]))
        .with_cache_config(CacheConfig::at(dir))
        .build()
        .expect("a damaged cache never stops a build")
}

/// Every node's value, as text.
fn run(dir: &Path, seed: u64) -> (BTreeMap<String, String>, Vec<String>, Vec<Status>) {
    let dr = driver(dir);
    let names = flow::names();
    let outputs: Vec<&str> = names.iter().map(String::as_str).collect();
    let out = dr.execute(&outputs, inputs! { "seed" => seed }).unwrap();
    let values = names
        .iter()
        .map(|n| (n.clone(), flow::render(n, &out).unwrap()))
        .collect();
    let cache = dr.cache().unwrap();
    let warnings = cache.warnings();
    let statuses = cache
        .records(None)
        .unwrap()
        .into_iter()
        .map(|r| r.status)
        .collect();
    (values, warnings, statuses)
}

fn uncached(seed: u64) -> BTreeMap<String, String> {
    let dr = Builder::new().with_nodes(flow::nodes(&[])).build().unwrap();
    let names = flow::names();
    let outputs: Vec<&str> = names.iter().map(String::as_str).collect();
    let out = dr.execute(&outputs, inputs! { "seed" => seed }).unwrap();
    names
        .iter()
        .map(|n| (n.clone(), flow::render(n, &out).unwrap()))
        .collect()
}

/// Folds the write-ahead log into the database file, so that damage to the file is what a
/// reader sees.
fn fold_log(db: &Path) {
    let c = rusqlite::Connection::open(db).unwrap();
    c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .unwrap();
}

const PAGE: u64 = 4096;

/// Overwrites pages of `db` with garbage: the first page only, or every page but the first.
fn garbage(db: &Path, first_page: bool) {
    fold_log(db);
    let len = std::fs::metadata(db).unwrap().len();
    assert!(len >= 2 * PAGE, "{} is too small to damage", db.display());
    let mut f = std::fs::OpenOptions::new().write(true).open(db).unwrap();
    let (from, to) = if first_page { (0, PAGE) } else { (PAGE, len) };
    f.seek(SeekFrom::Start(from)).unwrap();
    let junk: Vec<u8> = (0..(to - from)).map(|i| (i * 131 % 251) as u8).collect();
    f.write_all(&junk).unwrap();
}

/// How many copies of database `name` were moved aside. A copy's write-ahead log and
/// shared-memory index go with it (`<copy>-wal`, `<copy>-shm`) when they exist, which depends on
/// whether an earlier connection had closed yet: they are part of that copy, not copies.
fn moved_aside(dir: &Path, name: &str) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            let file = e
                .as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .into_owned();
            file.starts_with(&format!("{name}.malformed-"))
                && !file.ends_with("-wal")
                && !file.ends_with("-shm")
        })
        .count()
}

/// A cache damaged by `damage` heals in the next run: right values, a warning naming the file
/// and saying it was moved aside, a file moved aside, and the run after that hits everything
/// without a warning.
fn heals(name: &str, file: &str, damage: impl FnOnce(&Path)) {
    let dir = temp_dir(name);
    let reference = uncached(11);
    let (first, warnings, _) = run(&dir, 11);
    assert_eq!(first, reference);
    assert!(warnings.is_empty(), "{warnings:?}");
    damage(&dir.join(file));

    let (healed, warnings, _) = run(&dir, 11);
    assert_eq!(healed, reference, "no wrong value from a damaged cache");
    assert!(
        warnings
            .iter()
            .any(|w| w.contains(file) && w.contains("malformed") && w.contains("moved aside")),
        "the damage is reported: {warnings:?}"
    );
    assert_eq!(moved_aside(&dir, file), 1, "the damaged file is kept aside");

    let (again, warnings, statuses) = run(&dir, 11);
    assert_eq!(again, reference);
    assert!(warnings.is_empty(), "healed: {warnings:?}");
    assert!(
        statuses.iter().all(|s| *s == Status::Hit),
        "the rebuilt cache caches again: {statuses:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn garbage_in_the_first_page_of_the_metadata_is_healed() {
    heals("meta-first", "meta.sqlite", |db| garbage(db, true));
}

#[test]
fn garbage_in_the_pages_of_the_metadata_is_healed() {
    heals("meta-pages", "meta.sqlite", |db| garbage(db, false));
}

#[test]
fn garbage_in_the_first_page_of_the_results_is_healed() {
    heals("results-first", "results.sqlite", |db| garbage(db, true));
}

#[test]
fn garbage_in_the_pages_of_the_results_is_healed() {
    heals("results-pages", "results.sqlite", |db| garbage(db, false));
}

#[test]
fn a_malformed_cache_can_always_be_inspected_and_cleared() {
    for first_page in [true, false] {
        let dir = temp_dir("clear");
        run(&dir, 5);
        drop(driver(&dir));
        garbage(&dir.join("meta.sqlite"), first_page);
        garbage(&dir.join("results.sqlite"), first_page);
        let cache = weft::Cache::open(&dir).expect("a malformed cache opens");
        assert!(cache.runs().unwrap().is_empty(), "the rebuilt metadata");
        let report = cache.clear().expect("clear always works");
        assert_eq!(report.live_runs, 0);
        let warnings = cache.warnings();
        for file in ["meta.sqlite", "results.sqlite"] {
            assert!(
                warnings
                    .iter()
                    .any(|w| w.contains(file) && w.contains("moved aside")),
                "{file}: {warnings:?}"
            );
        }
        assert!(
            std::fs::read_dir(dir.join("results"))
                .map(|d| d
                    .flatten()
                    .all(|e| e.path().is_dir()
                        && std::fs::read_dir(e.path()).unwrap().next().is_none()))
                .unwrap_or(true),
            "clear removed the result files nothing refers to any more"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn one_unreadable_run_record_never_hides_the_others() {
    let dir = temp_dir("records");
    for seed in [1u64, 2, 3] {
        run(&dir, seed);
    }
    let ids: Vec<String> = weft::Cache::open(&dir)
        .unwrap()
        .runs()
        .unwrap()
        .into_iter()
        .map(|r| r.run_id)
        .collect();
    assert_eq!(ids.len(), 3);
    let before = weft::Cache::open(&dir)
        .unwrap()
        .records(Some(&ids[2]))
        .unwrap();
    assert_eq!(before.len(), flow::names().len());
    {
        let c = rusqlite::Connection::open(dir.join("meta.sqlite")).unwrap();
        // The second run's row: a start time that is not a number.
        c.execute(
            "UPDATE runs SET started_at = 'yesterday' WHERE run_id = ?1",
            [&ids[1]],
        )
        .unwrap();
        // The third run's records: every body it names (its row's, or the parts its manifest
        // lists, as its commits fell) that no other run names no longer matches its hash. (A
        // part whose records are the same in two runs is one body, and damaging it would hide
        // the other run's records too, rightly.)
        let named_by = |runs: &str| {
            format!(
                "SELECT body FROM run_records WHERE run_id {runs} UNION \
                 SELECT p.body FROM record_parts p JOIN run_records r ON p.manifest = r.body \
                 WHERE r.run_id {runs}"
            )
        };
        let damaged = c
            .execute(
                &format!(
                    "UPDATE record_bodies SET bytes = x'00010203' WHERE hash IN ({}) \
                     AND hash NOT IN ({})",
                    named_by("= ?1"),
                    named_by("!= ?1")
                ),
                [&ids[2]],
            )
            .unwrap();
        assert!(damaged > 0, "the third run has records of its own");
    }
    let cache = weft::Cache::open(&dir).unwrap();
    let runs: Vec<String> = cache
        .runs()
        .unwrap()
        .into_iter()
        .map(|r| r.run_id)
        .collect();
    assert_eq!(runs, [ids[0].clone(), ids[2].clone()], "the readable runs");
    assert_eq!(
        cache.records(Some(&ids[0])).unwrap().len(),
        flow::names().len(),
        "the first run's records are whole"
    );
    let after = cache.records(Some(&ids[2])).unwrap();
    assert!(after.len() < before.len(), "the damaged batch is left out");
    assert!(
        after.iter().all(|r| before.contains(r)),
        "what is left of the run is what it recorded"
    );
    cache
        .explain("summary", None)
        .expect("explain works past a damaged batch");
    let warnings = cache.warnings();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("run record") && w.contains("left out")),
        "{warnings:?}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("damaged") && w.contains("left out")),
        "{warnings:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
