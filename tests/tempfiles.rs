//! The file store's temporary files: created exclusively inside the cache directory under
//! random names (`.<version>.<random>.tmp`, by `tempfile`), so a link planted beside a result
//! is never followed, overwritten or renamed into place; and the ones interrupted writes leave
//! are swept by `gc` and `clear`, while a live writer's stay.
#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use weft::cache::{Blob, FileStore, GcPolicy, ResultStore};

/// A temporary name for the result `hex`, of the kind writers make (`.<hex>.<tag>.tmp`) or
/// older versions of weft made (`<hex>.<pid>.<n>.tmp`).
fn temp_name(results: &Path, hex: &str, tag: &str) -> PathBuf {
    let name = match tag.strip_prefix("old-") {
        Some(n) => format!("{hex}.{}.{n}.tmp", std::process::id()),
        None => format!(".{hex}.{tag}.tmp"),
    };
    results.join(&hex[..2]).join(name)
}

/// A file at `path`, last modified `age` ago.
fn file_aged(path: &Path, age: Duration) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, b"WEFTBLB1 part of a result").unwrap();
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(SystemTime::now() - age)
        .unwrap();
}

#[test]
fn temporary_files_never_follow_links_and_leftovers_are_swept() {
    let dir = weft_tests::temp_dir("tempfiles", "cache");
    let outside = weft_tests::temp_dir("tempfiles", "outside");
    std::fs::create_dir_all(&outside).unwrap();
    let precious = outside.join("precious.txt");
    std::fs::write(&precious, b"not the cache's").unwrap();

    // Links planted beside the result, pointing outside the cache, at temporary names of both
    // kinds.
    let results = dir.join("results");
    let store = FileStore::new(&results);
    let v = weft::data_version_of(&"a large result".to_string());
    let hex = v.to_hex();
    let links: Vec<PathBuf> = ["old-0", "old-1", "AbC123"]
        .iter()
        .map(|tag| temp_name(&results, &hex, tag))
        .collect();
    std::fs::create_dir_all(links[0].parent().unwrap()).unwrap();
    for link in &links {
        std::os::unix::fs::symlink(&precious, link).unwrap();
    }
    let blob = Blob {
        format: "postcard".into(),
        type_name: "alloc::vec::Vec<u8>".into(),
        bytes: vec![7; 100_000],
    };
    store.put(&v, &blob).unwrap();

    assert_eq!(
        std::fs::read(&precious).unwrap(),
        b"not the cache's",
        "the file a link points at is never written"
    );
    for link in &links {
        let meta = std::fs::symlink_metadata(link).unwrap();
        assert!(
            meta.file_type().is_symlink(),
            "{} is left alone",
            link.display()
        );
    }
    let stored = results.join(&hex[..2]).join(&hex);
    assert!(
        std::fs::symlink_metadata(&stored).unwrap().is_file(),
        "the result is a file of the cache's, not a link renamed into place"
    );
    assert_eq!(store.get(&v).unwrap(), Some(blob));

    // What interrupted writes left (last modified long ago) goes; a live writer's (just
    // modified) stays, and so do the links planted just now.
    let stale = TEMP_OLD;
    let left_behind = results
        .join("ab")
        .join(format!("{}.4242.0.tmp", "ab".repeat(32)));
    file_aged(&left_behind, stale);
    let live = temp_name(&results, &"cd".repeat(32), "XyZ789");
    file_aged(&live, Duration::ZERO);
    let cache = weft::Cache::open(&dir).unwrap();
    let report = cache.gc(GcPolicy::default()).unwrap();
    assert_eq!(report.temp_files_removed, 1, "{report:?}");
    assert!(!left_behind.exists());
    assert!(live.exists(), "a live writer's temporary file stays");

    let left_behind = results
        .join("ef")
        .join(format!("{}.4242.3.tmp", "ef".repeat(32)));
    file_aged(&left_behind, stale);
    let report = cache.clear().unwrap();
    assert_eq!(report.temp_files_removed, 1, "{report:?}");
    assert!(!left_behind.exists());
    assert!(live.exists(), "a live writer's temporary file stays");
    assert_eq!(std::fs::read(&precious).unwrap(), b"not the cache's");

    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&outside);
}

/// Older than any live writer's temporary file can be.
const TEMP_OLD: Duration = Duration::from_secs(24 * 3600);

#[test]
fn the_staleness_bound_is_what_the_sweep_uses() {
    assert!(TEMP_OLD > weft::cache::TEMP_STALE_AFTER);
    // Just under the bound: kept; over it: swept.
    let dir = weft_tests::temp_dir("tempfiles", "bound");
    let store = FileStore::new(&dir);
    let young = dir.join("12").join(format!("{}.1.0.tmp", "12".repeat(32)));
    let old = dir.join("12").join(format!("{}.1.1.tmp", "12".repeat(32)));
    file_aged(
        &young,
        weft::cache::TEMP_STALE_AFTER - Duration::from_secs(60),
    );
    file_aged(
        &old,
        weft::cache::TEMP_STALE_AFTER + Duration::from_secs(60),
    );
    assert_eq!(store.sweep().unwrap(), 1);
    assert!(young.exists() && !old.exists());
    let _ = std::fs::remove_dir_all(&dir);
}
