//! The persistent cache, on real SQLite files and real blob directories, across drivers and
//! across processes (including processes killed mid-run).
//!
//! Tests about the cache's behaviour run against every store (`on_every_store!`: SQLite, the
//! in-memory store and, with feature `object-store`, the S3 test server, as `sqlite::…`,
//! `memory::…` and `object::…`); those about SQLite's files (damaged
//! rows and files, the write-ahead log) or about processes (which share a directory, not
//! memory) run on SQLite only.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use weft::cache::{GcPolicy, ResultStore, Status, StoreError};
use weft::prelude::*;
use weft::{value_type, CacheBehavior, CacheConfig, NodeSpec, Problem};
use weft_tests::stores::Store;

weft_tests::on_every_store!("cache":
    second_driver_hits_everything_and_loads_only_what_it_returns,
    behaviours_recompute_disable_ignore,
    driver_lists_beat_attributes_and_defaults_opt_in,
    unfingerprintable_values_stay_in_memory_and_are_reported_once,
    a_missing_result_is_recomputed_with_a_warning,
    a_failed_run_keeps_what_succeeded,
    inspection_runs_versions_store_explain_view_gc,
    values_that_do_not_round_trip_are_not_stored,
    a_codec_wrongly_marked_exact_is_caught_when_read,
    a_finished_run_is_visible_to_another_live_driver_at_once,
    an_ignored_input_stays_out_of_keys_and_explain_says_so,
    a_cancelled_run_is_recorded_as_cancelled_with_what_it_did;
    in_process_stores: a_long_chain_of_hits_is_read_and_dropped_without_deep_recursion,
);

fn temp_dir(name: &str) -> PathBuf {
    weft_tests::temp_dir("cache", name)
}

/// A driver over `modules` with the cache in `store` (each test's "new process").
fn cached(modules: weft::Modules, store: &Store) -> Driver {
    Builder::new()
        .with_modules(modules)
        .with_cache_config(store.config())
        .build()
        .unwrap()
}

/// Statuses of the last run, by node.
fn statuses(dr: &Driver) -> BTreeMap<String, Status> {
    let cache = dr.cache().unwrap();
    cache
        .records(None)
        .unwrap()
        .into_iter()
        .map(|r| (r.node, r.status))
        .collect()
}

fn status_map(pairs: &[(&str, Status)]) -> BTreeMap<String, Status> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

/// Counts how often values of this type are deserialized (i.e. loaded from the store) on this
/// thread: the default executor runs a test's nodes, and reads its hits, on the test's thread,
/// and other tests running at the same time do not count.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Counted(pub u64);
thread_local! {
    pub static LOADS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}
fn loads() -> usize {
    LOADS.with(|l| l.get())
}
impl<'de> serde::Deserialize<'de> for Counted {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        LOADS.with(|l| l.set(l.get() + 1));
        u64::deserialize(d).map(Counted)
    }
}

pub mod lazy {
    use super::Counted;
    use weft::prelude::*;
    #[node]
    pub fn a(x: &u64) -> Counted {
        Counted(x + 1)
    }
    #[node]
    pub fn b(a: &Counted) -> Counted {
        Counted(a.0 * 2)
    }
    #[node]
    pub fn c(b: &Counted) -> Counted {
        Counted(b.0 + 3)
    }
}

fn second_driver_hits_everything_and_loads_only_what_it_returns(store: Store) {
    let build = || cached(weft::modules![crate::lazy], &store);
    let dr = build();
    let out = dr.execute(&["c"], inputs! { "x" => 1u64 }).unwrap();
    assert_eq!(out.get::<Counted>("c").unwrap(), &Counted(7));
    assert_eq!(
        statuses(&dr),
        status_map(&[
            ("a", Status::Executed),
            ("b", Status::Executed),
            ("c", Status::Executed)
        ])
    );
    // The long-lived driver answers from memory before the disk.
    dr.execute(&["c"], inputs! { "x" => 1u64 }).unwrap();
    assert_eq!(
        statuses(&dr),
        status_map(&[
            ("a", Status::Memo),
            ("b", Status::Memo),
            ("c", Status::Memo)
        ])
    );
    drop(dr);

    if let Store::Memory { dir, .. } = &store {
        assert!(
            !dir.join("meta.sqlite").exists() && !dir.join("results.sqlite").exists(),
            "the memory store writes no files"
        );
    }
    let before = loads();
    let dr = build();
    let (out, rec) = dr
        .execute_recorded(&["c"], inputs! { "x" => 1u64 }, Inputs::new())
        .unwrap();
    assert!(rec.executed.is_empty(), "{rec:?}");
    assert_eq!(
        statuses(&dr),
        status_map(&[("a", Status::Hit), ("b", Status::Hit), ("c", Status::Hit)])
    );
    assert_eq!(loads(), before, "hits are lazy");
    assert!(!out.value("c").unwrap().is_loaded());
    assert_eq!(out.get::<Counted>("c").unwrap(), &Counted(7));
    assert_eq!(loads(), before + 1, "only the output was read");
}

pub mod policies {
    use std::cell::Cell;
    use weft::prelude::*;

    // Per thread: each test (and each store's run of it) has its own.
    thread_local! {
        pub static RAW_CALLS: Cell<usize> = const { Cell::new(0) };
        pub static SAMPLE: Cell<u64> = const { Cell::new(10) };
    }

    /// Always fetch fresh data.
    #[node(cache = "recompute")]
    pub fn raw(day: &u64) -> u64 {
        RAW_CALLS.with(|c| c.set(c.get() + 1));
        day * 100
    }
    #[node]
    pub fn clean(raw: &u64) -> u64 {
        raw + 1
    }
    /// Non-deterministic: never cached.
    #[node(cache = "disable")]
    pub fn sample(clean: &u64) -> u64 {
        clean + SAMPLE.with(Cell::get)
    }
    #[node]
    pub fn model(sample: &u64) -> u64 {
        sample * 2
    }
    /// A client: its value stays out of children's keys.
    #[node(cache = "ignore")]
    pub fn client(api_key: &str) -> String {
        format!("client({api_key})")
    }
    #[node]
    pub fn fetched(client: &str, day: &u64) -> u64 {
        assert!(client.starts_with("client("));
        *day
    }
}

fn behaviours_recompute_disable_ignore(store: Store) {
    let build = || cached(weft::modules![crate::policies], &store);
    let outs = ["model", "fetched"];
    let inputs = |key: &str| inputs! { "day" => 3u64, "api_key" => key.to_string() };
    let dr = build();
    dr.execute(&outs, inputs("k1")).unwrap();
    assert_eq!(
        statuses(&dr),
        status_map(&[
            ("raw", Status::Recomputed),
            ("clean", Status::Executed),
            ("sample", Status::Disabled),
            ("model", Status::Executed),
            ("client", Status::Ignored),
            ("fetched", Status::Executed),
        ])
    );
    let calls = policies::RAW_CALLS.with(|c| c.get());
    // In the same driver RECOMPUTE and DISABLE still execute; the rest is memoized, and
    // children of unchanged values are cut off.
    dr.execute(&outs, inputs("k1")).unwrap();
    assert_eq!(policies::RAW_CALLS.with(|c| c.get()), calls + 1);
    let s = statuses(&dr);
    assert_eq!(s["raw"], Status::Recomputed);
    assert_eq!(s["sample"], Status::Disabled);
    assert_eq!(s["clean"], Status::Memo);
    assert_eq!(s["model"], Status::Memo);
    drop(dr);

    // New driver: RECOMPUTE runs but its unchanged value lets `clean` hit; DISABLE runs, is
    // not stored, and its unchanged value lets `model` hit; a changed api_key re-runs the
    // IGNOREd client but `fetched` still hits because the client is not in its key.
    let dr = build();
    dr.execute(&outs, inputs("k2")).unwrap();
    assert_eq!(
        statuses(&dr),
        status_map(&[
            ("raw", Status::Recomputed),
            ("clean", Status::Hit),
            ("sample", Status::Disabled),
            ("model", Status::Hit),
            ("client", Status::Ignored),
            ("fetched", Status::Hit),
        ])
    );
    // A DISABLE node whose value changed makes its children miss.
    policies::SAMPLE.with(|s| s.set(11));
    drop(dr);
    let dr = build();
    dr.execute(&outs, inputs("k2")).unwrap();
    let s = statuses(&dr);
    assert_eq!(s["model"], Status::Executed);
    let out = dr.execute(&["model"], inputs("k2")).unwrap();
    assert_eq!(*out.get::<u64>("model").unwrap(), (301 + 11) * 2);
}

fn driver_lists_beat_attributes_and_defaults_opt_in(store: Store) {
    // `raw` says recompute; the driver's default list wins. Everything else is opted out.
    let dr = Builder::new()
        .with_modules(weft::modules![crate::policies])
        .with_cache_config(
            store
                .config()
                .default_behavior(CacheBehavior::Disable)
                .default_nodes(["raw", "clean"]),
        )
        .build()
        .unwrap();
    dr.execute(
        &["clean", "fetched"],
        inputs! { "day" => 1u64, "api_key" => "k".to_string() },
    )
    .unwrap();
    let s = statuses(&dr);
    assert_eq!(s["raw"], Status::Executed);
    assert_eq!(s["clean"], Status::Executed);
    assert_eq!(s["fetched"], Status::Disabled);
    assert_eq!(
        s["client"],
        Status::Ignored,
        "its own attribute beats the default"
    );

    let err = Builder::new()
        .with_modules(weft::modules![crate::policies])
        .with_cache_config(store.config().recompute(["raw", "cleen"]).disable(["raw"]))
        .build()
        .err()
        .unwrap();
    let text = err.to_string();
    assert_eq!(err.problems.len(), 2, "{text}");
    assert!(
        text.contains("`raw` is listed as both recompute and disable"),
        "{text}"
    );
    assert!(
        text.contains("`cleen`") && text.contains("did you mean `clean`"),
        "{text}"
    );
    assert!(matches!(err.problems[0], Problem::CachePolicy(_)));

    let dr = Builder::new()
        .with_modules(weft::modules![crate::policies])
        .with_cache_config(store.config().recompute_all())
        .build()
        .unwrap();
    dr.execute(&["clean"], inputs! { "day" => 1u64 }).unwrap();
    assert_eq!(statuses(&dr)["clean"], Status::Recomputed);
}

pub mod ignored_input {
    use weft::prelude::*;
    #[node]
    pub fn reply(question: &str, client: &str) -> String {
        format!("{client} answers {question}")
    }
}

fn an_ignored_input_stays_out_of_keys_and_explain_says_so(store: Store) {
    let build = |cfg: CacheConfig| {
        Builder::new()
            .with_modules(weft::modules![crate::ignored_input])
            .with_cache_config(cfg)
            .build()
    };
    let ignoring = || store.config().ignore(["client"]);
    let ask = |dr: &Driver, question: &str, client: &str| {
        let out = dr
            .execute(
                &["reply"],
                inputs! { "question" => question.to_string(), "client" => client.to_string() },
            )
            .unwrap();
        out.get::<String>("reply").unwrap().clone()
    };
    let dr = build(ignoring()).unwrap();
    assert_eq!(ask(&dr, "q1", "v1"), "v1 answers q1");
    drop(dr);

    // A new client alone: `reply`'s key is unchanged, so it hits, with the value the old client
    // gave (the hazard), and explain says why.
    let dr = build(ignoring()).unwrap();
    assert_eq!(
        ask(&dr, "q1", "v2"),
        "v1 answers q1",
        "stale, as documented"
    );
    assert_eq!(statuses(&dr)["reply"], Status::Hit);
    let e = dr.cache().unwrap().explain("reply", None).unwrap();
    assert!(
        e.reasons
            .iter()
            .any(|r| r.contains("dependency `client` is ignored")
                && r.contains("a hit may hold a value computed from an older `client`")),
        "{e}"
    );
    // A new question misses; only the question is named as changed.
    drop(dr);
    let dr = build(ignoring()).unwrap();
    assert_eq!(ask(&dr, "q2", "v2"), "v2 answers q2");
    assert_eq!(statuses(&dr)["reply"], Status::Executed);
    let e = dr.cache().unwrap().explain("reply", None).unwrap();
    assert!(
        e.reasons
            .iter()
            .any(|r| r.contains("dependency `question` changed data version")),
        "{e}"
    );
    assert!(
        !e.reasons.iter().any(|r| r.contains("`client` changed")),
        "an ignored dependency is not reported as changed to none: {e}"
    );
    drop(dr);

    // No longer ignored: the client is part of the key again, and explain says what changed.
    let dr = build(store.config()).unwrap();
    assert_eq!(ask(&dr, "q2", "v2"), "v2 answers q2");
    assert_eq!(statuses(&dr)["reply"], Status::Executed);
    let e = dr.cache().unwrap().explain("reply", None).unwrap();
    assert!(
        e.reasons
            .iter()
            .any(|r| r.contains("dependency `client` is no longer ignored")),
        "{e}"
    );
    assert!(!e.reasons.iter().any(|r| r.contains("is ignored")), "{e}");
    drop(dr);

    // Only `ignore` applies to an input; unknown names are still errors.
    let err = build(store.config().recompute(["client"]))
        .err()
        .expect("an input cannot be recomputed");
    assert!(
        matches!(&err.problems[..], [Problem::CachePolicy(m)]
            if m.contains("input `client`") && m.contains("only `ignore`")),
        "{err}"
    );
    let err = build(store.config().ignore(["clinet"]))
        .err()
        .expect("no such node or input");
    assert!(
        matches!(&err.problems[..], [Problem::CachePolicy(m)] if m.contains("`clinet`")),
        "{err}"
    );
}

pub struct Opaque(pub u64);

fn a_cancelled_run_is_recorded_as_cancelled_with_what_it_did(store: Store) {
    // `first` cancels its own run: `second` is never dispatched.
    let cancel = weft::CancelToken::new();
    let stop = cancel.clone();
    let nodes = vec![
        NodeSpec::builder("first", value_type!(u64))
            .param("x", value_type!(u64))
            .code_version("first-v1")
            .sync(move |a| {
                stop.cancel();
                Ok(Arc::new(*a.get::<u64>(0)? + 1))
            }),
        NodeSpec::builder("second", value_type!(u64))
            .param("first", value_type!(u64))
            .code_version("second-v1")
            .sync(|a| Ok(Arc::new(*a.get::<u64>(0)? * 2))),
    ];
    let dr = Builder::new()
        .with_nodes(nodes)
        .with_cache_config(store.config())
        .build()
        .unwrap();
    let err = dr
        .execute_cancellable(&["second"], inputs! { "x" => 1u64 }, Inputs::new(), &cancel)
        .map(|_| ())
        .expect_err("the run cancels itself");
    assert!(matches!(err, weft::ExecuteError::Cancelled), "{err}");
    let runs = dr.cache().unwrap().runs().unwrap();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0].status, "cancelled", "{runs:?}");
    assert_eq!(
        statuses(&dr),
        status_map(&[("first", Status::Executed)]),
        "what it did before it stopped"
    );
    // The next run finishes what was left and says `ok`.
    let out = dr.execute(&["second"], inputs! { "x" => 1u64 }).unwrap();
    assert_eq!(*out.get::<u64>("second").unwrap(), 4);
    let runs = dr.cache().unwrap().runs().unwrap();
    assert_eq!(runs.last().unwrap().status, "ok", "{runs:?}");
}

fn opaque_nodes() -> Vec<NodeSpec> {
    vec![
        NodeSpec::builder("handle", value_type!(Opaque))
            .param("x", value_type!(u64))
            .sync(|a| Ok(Arc::new(Opaque(*a.get::<u64>(0)?)))),
        NodeSpec::builder("derived", value_type!(u64))
            .param("handle", value_type!(Opaque))
            .sync(|a| Ok(Arc::new(a.get::<Opaque>(0)?.0 + 1))),
        NodeSpec::builder("after", value_type!(u64))
            .param("derived", value_type!(u64))
            .sync(|a| Ok(Arc::new(a.get::<u64>(0)? * 10))),
    ]
}

fn unfingerprintable_values_stay_in_memory_and_are_reported_once(store: Store) {
    let build = || {
        Builder::new()
            .with_nodes(opaque_nodes())
            .with_cache_config(store.config())
            .build()
            .unwrap()
    };
    let dr = build();
    let out = dr.execute(&["after"], inputs! { "x" => 4u64 }).unwrap();
    assert_eq!(*out.get::<u64>("after").unwrap(), 50);
    let s = statuses(&dr);
    assert_eq!(s["handle"], Status::Uncached);
    assert_eq!(
        s["derived"],
        Status::Uncached,
        "never keyed on an unfingerprintable value"
    );
    assert_eq!(
        s["after"],
        Status::Executed,
        "its own inputs are fingerprintable"
    );
    let warnings = dr.cache().unwrap().warnings();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings
        .iter()
        .any(|w| w.contains("`handle`") && w.contains("cannot be fingerprinted")));
    assert!(warnings
        .iter()
        .any(|w| w.contains("`derived`") && w.contains("dependency `handle`")));
    drop(dr);
    let dr = build();
    dr.execute(&["after"], inputs! { "x" => 4u64 }).unwrap();
    let s = statuses(&dr);
    assert_eq!(s["derived"], Status::Uncached);
    assert_eq!(s["after"], Status::Hit, "same value from `derived`: a hit");
}

fn result_path(dir: &Path, version_hex: &str) -> PathBuf {
    dir.join("results")
        .join(&version_hex[..2])
        .join(version_hex)
}

/// Small results are rows of `results.sqlite`: damage one, delete another.
fn damage_inline(dir: &Path, corrupt: &str, delete: &str) {
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
fn corrupt_or_missing_results_are_recomputed_with_a_warning() {
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
fn a_missing_result_is_recomputed_with_a_warning(store: Store) {
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
fn large_results_are_files_written_atomically_and_verified() {
    let dir = temp_dir("big");
    let build = || {
        Builder::new()
            .with_modules(weft::modules![crate::big])
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

fn a_failed_run_keeps_what_succeeded(store: Store) {
    let build = || cached(weft::modules![crate::flaky], &store);
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

fn inspection_runs_versions_store_explain_view_gc(store: Store) {
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

fn child(dir: &Path, variant: &str, n: usize, sleep_ms: u64, seed: u64) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cache_child"));
    cmd.arg(dir)
        .arg(variant)
        .arg(n.to_string())
        .arg(sleep_ms.to_string())
        .arg(seed.to_string());
    cmd
}

fn run_child(dir: &Path, variant: &str, n: usize, seed: u64) -> (BTreeMap<String, String>, String) {
    let out = child(dir, variant, n, 0, seed).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut statuses = BTreeMap::new();
    let mut summary = String::new();
    for line in text.lines() {
        let (k, v) = line.split_once(' ').unwrap();
        if k == "summary" && v.starts_with("total=") {
            summary = v.to_string();
        } else {
            statuses.insert(k.to_string(), v.to_string());
        }
    }
    (statuses, summary)
}

#[test]
fn a_second_process_hits_everything_and_an_edit_reruns_only_that_node() {
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
fn two_processes_share_one_cache_safely() {
    let dir = temp_dir("concurrent");
    let mut a = child(&dir, "a", 40, 1, 100).spawn().unwrap();
    let mut b = child(&dir, "a", 40, 1, 100).spawn().unwrap();
    assert!(a.wait().unwrap().success());
    assert!(b.wait().unwrap().success());
    let (s, total) = run_child(&dir, "a", 40, 100);
    assert_eq!(total, "total=140");
    assert!(s.values().all(|v| v == "hit"), "{s:?}");
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

fn values_that_do_not_round_trip_are_not_stored(store: Store) {
    let build = || cached(weft::modules![crate::json_values], &store);
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

fn a_codec_wrongly_marked_exact_is_caught_when_read(store: Store) {
    use crate::lying::Lossy;
    let build = || cached(weft::modules![crate::lying], &store);
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

/// Rows of `table` in the database file itself, ignoring its log (0 while even the table is
/// only in the log).
fn rows_in_file(dir: &Path, db: &str, table: &str) -> i64 {
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
fn big_results(dir: &Path, n: u8) -> (Driver, Vec<String>) {
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

fn wal_len(dir: &Path, db: &str) -> u64 {
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
fn the_next_process_folds_a_middling_log_and_leaves_a_short_one() {
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
fn a_driver_that_wrote_a_long_log_folds_it_as_it_ends() {
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
fn a_long_chain_of_hits_is_read_and_dropped_without_deep_recursion(store: Store) {
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
fn a_finished_run_is_visible_to_another_live_driver_at_once(store: Store) {
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
fn results_survive_a_process_exit_that_drops_nothing() {
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
fn an_unknown_cache_format_is_a_build_error_naming_node_format_and_choices() {
    let dir = temp_dir("formats");
    let err = Builder::new()
        .with_modules(weft::modules![crate::formats])
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
