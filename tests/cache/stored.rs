//! Stored results: damaged, missing and large ones, a failed run's, inspection and gc, values
//! that do not round-trip, cache formats.

use super::*;

pub(crate) fn result_path(dir: &Path, version_hex: &str) -> PathBuf {
    dir.join("results")
        .join(&version_hex[..2])
        .join(version_hex)
}

/// Small results are rows of `results.sqlite`: damage one, delete another.
pub(crate) fn damage_inline(dir: &Path, corrupt: &str, delete: &str) {
    let db = rusqlite::Connection::open(dir.join("results.sqlite")).unwrap();
    let n = db
        .execute(
            "UPDATE results SET bytes = X'0102' WHERE data_version = unhex(?1)",
            [corrupt],
        )
        .unwrap();
    assert_eq!(n, 1);
    let n = db
        .execute(
            "DELETE FROM results WHERE data_version = unhex(?1)",
            [delete],
        )
        .unwrap();
    assert_eq!(n, 1);
}

/// SQLite only: it damages SQLite's rows (see `a_missing_result_is_recomputed_with_a_warning`
/// for every store).
#[test]
pub(crate) fn corrupt_or_missing_results_are_recomputed_with_a_warning() {
    let dir = temp_dir("corrupt");
    let store = Store::Sqlite(dir.clone());
    let build = || cached(weft::modules![crate::lazy], &store);
    let dr = build();
    dr.execute(&["c"], inputs! { "x" => 2u64 }).unwrap();
    let versions = dr.cache().unwrap().data_versions(None).unwrap();
    drop(dr);
    damage_inline(&dir, &versions["c"].to_hex(), &versions["b"].to_hex());

    let dr = build();
    let out = dr.execute(&["c"], inputs! { "x" => 2u64 }).unwrap();
    // Keys still match, so a, b and c hit; reading c finds it corrupt and recomputes it,
    // which needs b, whose result is missing: recomputed too (from a, read intact).
    assert_eq!(out.get::<Counted>("c").unwrap(), &Counted(9));
    let warnings = dr.cache().unwrap().warnings();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("`b`") && w.contains("missing")),
        "{warnings:?}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("`c`") && w.contains("checksum")),
        "{warnings:?}"
    );
    drop(dr);
    // The damaged entries were forgotten and their repairs stored: the next run hits them.
    let dr = build();
    let out = dr.execute(&["c"], inputs! { "x" => 2u64 }).unwrap();
    let s = statuses(&dr);
    assert_eq!(
        (s["a"], s["b"], s["c"]),
        (Status::Hit, Status::Hit, Status::Hit)
    );
    assert_eq!(out.get::<Counted>("c").unwrap(), &Counted(9));
    assert!(dr.cache().unwrap().warnings().is_empty());
}

/// A result the store no longer has (deleted through the [`ResultStore`] trait) is
/// recomputed with a warning, and its key forgotten.
pub(crate) fn a_missing_result_is_recomputed_with_a_warning(store: Store) {
    let build = || cached(weft::modules![crate::lazy], &store);
    let dr = build();
    dr.execute(&["c"], inputs! { "x" => 3u64 }).unwrap();
    let versions = dr.cache().unwrap().data_versions(None).unwrap();
    drop(dr);
    let results: Arc<dyn ResultStore> = store.results();
    results.remove(&versions["c"]).unwrap();
    assert!(!results.contains(&versions["c"]).unwrap());

    let dr = build();
    let out = dr.execute(&["c"], inputs! { "x" => 3u64 }).unwrap();
    assert_eq!(out.get::<Counted>("c").unwrap(), &Counted(11));
    let warnings = dr.cache().unwrap().warnings();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("`c`") && w.contains("the result is missing")),
        "{warnings:?}"
    );
    drop(dr);
    let dr = build();
    dr.execute(&["c"], inputs! { "x" => 3u64 }).unwrap();
    let s = statuses(&dr);
    // The repair made as `c` was read after its run was stored: `c` hits.
    assert_eq!((s["b"], s["c"]), (Status::Hit, Status::Hit), "{s:?}");
    assert!(results.contains(&versions["c"]).unwrap(), "stored afresh");
}

pub mod big {
    use weft::prelude::*;
    /// 64 KiB: stored as a file of its own.
    #[node]
    pub fn blob(n: &u8) -> Vec<u8> {
        vec![*n; 64 * 1024]
    }
    #[node]
    pub fn total(blob: &[u8]) -> u64 {
        blob.iter().map(|b| *b as u64).sum()
    }
}

/// SQLite only (the directory's files).
#[test]
pub(crate) fn large_results_are_files_written_atomically_and_verified() {
    let dir = temp_dir("big");
    let build = || {
        Builder::new()
            .with_modules(weft::modules![crate::stored::big])
            .with_cache_config(CacheConfig::at(&dir).recompute(["total"]))
            .build()
            .unwrap()
    };
    let dr = build();
    dr.execute(&["total"], inputs! { "n" => 3u8 }).unwrap();
    let v = dr.cache().unwrap().data_versions(None).unwrap()["blob"].to_hex();
    drop(dr);
    let path = result_path(&dir, &v);
    assert!(path.is_file(), "large results are files");
    let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".tmp")
        })
        .collect();
    assert!(leftovers.is_empty(), "no temporary files left");
    let mut bytes = std::fs::read(&path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 1;
    std::fs::write(&path, bytes).unwrap();
    // `total` recomputes and needs `blob`: a hit whose file is corrupt, so it is recomputed.
    let dr = build();
    let out = dr.execute(&["total"], inputs! { "n" => 3u8 }).unwrap();
    assert_eq!(*out.get::<u64>("total").unwrap(), 3 * 64 * 1024);
    let warnings = dr.cache().unwrap().warnings();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("`blob`") && w.contains("corrupt")),
        "{warnings:?}"
    );
}

pub mod flaky {
    use std::cell::Cell;
    use weft::prelude::*;
    thread_local! {
        // Per thread: each test (and each store's run of it) has its own.
        pub static BROKEN: Cell<bool> = const { Cell::new(true) };
    }
    #[node]
    pub fn good(x: &u64) -> u64 {
        x + 1
    }
    #[node]
    pub fn bad(good: &u64) -> Result<u64, std::io::Error> {
        if BROKEN.with(Cell::get) {
            Err(std::io::Error::other("upstream API down"))
        } else {
            Ok(good * 2)
        }
    }
}

pub(crate) fn a_failed_run_keeps_what_succeeded(store: Store) {
    let build = || cached(weft::modules![crate::stored::flaky], &store);
    let dr = build();
    let err = dr
        .execute(&["bad"], inputs! { "x" => 1u64 })
        .expect_err("`bad` fails");
    let text = err.to_string();
    assert!(
        text.contains("`bad`") && text.contains("upstream API down"),
        "the error names the node and says why: {text}"
    );
    let s = statuses(&dr);
    assert_eq!(s["good"], Status::Executed);
    assert_eq!(s["bad"], Status::Failed);
    let runs = dr.cache().unwrap().runs().unwrap();
    assert_eq!(runs.last().unwrap().status, "failed");
    drop(dr);
    flaky::BROKEN.with(|b| b.set(false));
    let dr = build();
    let out = dr.execute(&["bad"], inputs! { "x" => 1u64 }).unwrap();
    assert_eq!(*out.get::<u64>("bad").unwrap(), 4);
    let s = statuses(&dr);
    assert_eq!(s["good"], Status::Hit);
    assert_eq!(s["bad"], Status::Executed);
}

pub(crate) fn inspection_runs_versions_store_explain_view_gc(store: Store) {
    let build = || cached(weft::modules![crate::lazy], &store);
    let dr = build();
    dr.execute(&["c"], inputs! { "x" => 1u64 }).unwrap();
    dr.execute(&["c"], inputs! { "x" => 5u64 }).unwrap();
    let cache = dr.cache().unwrap();
    let runs = cache.runs().unwrap();
    assert_eq!(runs.len(), 2);
    let last = cache.last_run_id().unwrap();
    assert_eq!(last, runs[1].run_id);
    let dv = cache.data_versions(Some(&last)).unwrap()["b"];
    let b: Counted = cache.result_store().get(&dv).unwrap();
    assert_eq!(b, Counted(12));
    let wrong = cache.result_store().get::<String>(&dv);
    assert!(
        matches!(&wrong, Err(StoreError::Other(why))
            if why.contains("is a `Counted`, not a `String`")),
        "{wrong:?}"
    );

    let e = cache.explain("b", None).unwrap();
    assert_eq!(e.status, Status::Executed);
    assert!(
        e.reasons
            .iter()
            .any(|r| r.contains("dependency `a` changed data version")),
        "{e}"
    );
    let e = cache.explain("a", Some(&runs[0].run_id)).unwrap();
    assert!(e.reasons.iter().any(|r| r.contains("first run")), "{e}");
    let unknown = cache.explain("zzz", None);
    assert!(
        matches!(&unknown, Err(StoreError::Other(why)) if why.contains("no record of node `zzz`")),
        "{unknown:?}"
    );

    let svg = store.dir().join("run.svg");
    cache.view_run(None, &svg).unwrap();
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.contains("<svg") && text.contains("executed"));
    let pic = cache.run_picture(None).unwrap();
    assert_eq!(pic.nodes.len(), 4, "a, b, c and the input x");

    // gc: keep the last run; the first run's results (x = 1) go.
    let report = cache
        .gc(GcPolicy {
            keep_runs: Some(1),
            max_bytes: None,
        })
        .unwrap();
    assert_eq!(report.runs_removed, 1);
    assert_eq!(report.results_removed, 3);
    assert_eq!(cache.runs().unwrap().len(), 1);
    assert!(cache.result_store().contains(&dv));
    let report = cache.clear().unwrap();
    assert_eq!(report.results_removed, 3);
    assert!(cache.runs().unwrap().is_empty());
    drop(dr);
    // A cleared cache recomputes.
    let dr = build();
    dr.execute(&["c"], inputs! { "x" => 5u64 }).unwrap();
    assert_eq!(statuses(&dr)["c"], Status::Executed);
}

pub mod json_values {
    use weft::prelude::*;
    /// postcard can encode a `serde_json::Value` but not decode it.
    #[node]
    pub fn payload(n: &u64) -> serde_json::Value {
        serde_json::json!({ "n": n, "tags": ["a", "b"] })
    }
    #[node(cache(format = "json"))]
    pub fn payload_json(n: &u64) -> serde_json::Value {
        serde_json::json!({ "n": n })
    }
}

pub(crate) fn values_that_do_not_round_trip_are_not_stored(store: Store) {
    let build = || cached(weft::modules![crate::stored::json_values], &store);
    let dr = build();
    dr.execute(&["payload", "payload_json"], inputs! { "n" => 1u64 })
        .unwrap();
    let warnings = dr.cache().unwrap().warnings();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("`payload`") && w.contains("round trip through postcard")),
        "{warnings:?}"
    );
    drop(dr);
    let dr = build();
    let out = dr
        .execute(&["payload", "payload_json"], inputs! { "n" => 1u64 })
        .unwrap();
    let s = statuses(&dr);
    // Executed again (never a hit that cannot be read back), and recorded as not stored.
    assert_eq!(s["payload"], Status::Uncached);
    let record = dr
        .cache()
        .unwrap()
        .records(None)
        .unwrap()
        .into_iter()
        .find(|r| r.node == "payload")
        .unwrap();
    assert!(
        record
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("round trip through postcard")),
        "{record:?}"
    );
    assert_eq!(s["payload_json"], Status::Hit);
    assert_eq!(
        out.get::<serde_json::Value>("payload_json").unwrap()["n"],
        1
    );
}

pub mod lying {
    use weft::prelude::*;
    use weft::{CacheFormats, Fingerprint, FingerprintHasher};

    /// A type whose codec claims to be exact (`CacheFormats::EXACT`, so the cache stores it
    /// without proving the round trip) but decodes to another value.
    #[derive(Debug, Clone, PartialEq)]
    pub struct Lossy(pub u64);

    impl Fingerprint for Lossy {
        fn fingerprint(&self, h: &mut FingerprintHasher) {
            self.0.fingerprint(h);
        }
    }

    impl CacheFormats for Lossy {
        const FORMATS: &'static [&'static str] = &["lossy"];
        const EXACT: bool = true;
        fn encode(&self, _format: &str) -> Result<Vec<u8>, String> {
            Ok(self.0.to_le_bytes().to_vec())
        }
        fn decode(bytes: &[u8], _format: &str) -> Result<Self, String> {
            let raw: [u8; 8] = bytes.try_into().map_err(|_| "not 8 bytes".to_string())?;
            Ok(Lossy(u64::from_le_bytes(raw) + 1))
        }
    }

    #[node]
    pub fn lossy(n: &u64) -> Lossy {
        Lossy(*n * 10)
    }
}

pub(crate) fn a_codec_wrongly_marked_exact_is_caught_when_read(store: Store) {
    use crate::lying::Lossy;
    let build = || cached(weft::modules![crate::stored::lying], &store);
    let dr = build();
    let out = dr.execute(&["lossy"], inputs! { "n" => 4u64 }).unwrap();
    assert_eq!(out.get::<Lossy>("lossy").unwrap(), &Lossy(40));
    // Stored without a round trip (the codec says it is exact).
    assert_eq!(statuses(&dr)["lossy"], Status::Executed);
    drop(dr);
    // Read back, the value is not the one its version names: never handed out, recomputed.
    let dr = build();
    let out = dr.execute(&["lossy"], inputs! { "n" => 4u64 }).unwrap();
    assert_eq!(out.get::<Lossy>("lossy").unwrap(), &Lossy(40));
    let warnings = dr.cache().unwrap().warnings();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("stored result of `lossy`")
                && w.contains("a result stored under another version")),
        "{warnings:?}"
    );
}

pub mod formats {
    use weft::prelude::*;

    #[node(cache(format = "jsno"))]
    pub fn typo(x: &u64) -> u64 {
        *x
    }
    #[node(cache(format = "parquet"))]
    pub fn frame(x: &u64) -> u64 {
        *x
    }
    #[node(cache(format = "json"))]
    pub fn fine(x: &u64) -> u64 {
        *x
    }
}

#[test]
pub(crate) fn an_unknown_cache_format_is_a_build_error_naming_node_format_and_choices() {
    let dir = temp_dir("formats");
    let err = Builder::new()
        .with_modules(weft::modules![crate::stored::formats])
        .with_cache_config(CacheConfig::at(&dir))
        .build()
        .err()
        .expect("unknown formats do not build");
    let messages: Vec<String> = err
        .problems
        .iter()
        .map(|p| match p {
            Problem::Cache(m) => m.clone(),
            other => panic!("not a cache problem: {other}"),
        })
        .collect();
    assert_eq!(messages.len(), 2, "{messages:?}");
    // A configuration error, named as such.
    assert!(
        err.to_string()
            .starts_with("the configuration is invalid (2 problems):"),
        "{err}"
    );
    assert!(
        messages.iter().any(|m| m.contains("node `typo`")
            && m.contains("`jsno`")
            && m.contains("did you mean `json`?")
            && m.contains("available: postcard, json")),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.contains("node `frame`") && m.contains("`parquet`")),
        "{messages:?}"
    );
    assert!(
        !dir.exists(),
        "a graph that does not build creates no cache"
    );
}
