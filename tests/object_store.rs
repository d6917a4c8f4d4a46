//! The cache on object storage (feature `object-store`), against the real S3-compatible test
//! server `tests/run.sh` starts (`tests/services/s3.sh`, moto): results round-trip and are
//! written once, damaged objects are caught on read, four processes share one store without
//! losing a record, and an unreachable store is an error naming its URL. In
//! `object_store/`: a process pool whose workers share the URL (`pool.rs`), a driver killed
//! mid-run (`crash.rs`), transient failures retried and a failing store given up on
//! (`flaky.rs`).
//!
//! (The whole cache contract also runs on object storage: `object::…` tests in `cache.rs`,
//! `answer.rs` and `integrity.rs`.)

use std::process::Command;
use std::sync::Arc;

use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use weft::cache::{Blob, Cache, MetadataStore, ObjectStores, ResultStore, Status, StoreError};
use weft::{CacheConfig, DataVersion};
use weft_tests::cache_child_results;
use weft_tests::stores::s3_url;

#[path = "remote/flow.rs"]
mod flow;

fn blob(bytes: &[u8]) -> Blob {
    Blob {
        format: "postcard".into(),
        type_name: "u64".into(),
        bytes: bytes.to_vec(),
    }
}

/// A raw client on the test bucket, to damage objects behind the cache's back.
fn raw(url: &str) -> (Arc<dyn ObjectStore>, String) {
    let rest = url.strip_prefix("s3://").unwrap();
    let (bucket, prefix) = rest.split_once('/').unwrap();
    let store = AmazonS3Builder::from_env()
        .with_bucket_name(bucket)
        .build()
        .unwrap();
    (Arc::new(store), prefix.to_string())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn results_round_trip_are_written_once_and_verified_on_read() {
    let url = s3_url("object", "round-trip");
    let stores = ObjectStores::open(&url).unwrap();
    assert_eq!(stores.url(), url);
    let v = weft::data_version_of(&7u64);
    let w = weft::data_version_of(&8u64);
    assert!(!stores.contains(&v).unwrap());
    stores.put(&v, &blob(&[1, 2, 3])).unwrap();
    // Content-addressed and create-only: a second write of the same version changes nothing.
    stores.put(&v, &blob(&[9, 9])).unwrap();
    assert_eq!(stores.get(&v).unwrap(), Some(blob(&[1, 2, 3])));
    assert_eq!(stores.get(&w).unwrap(), None);
    let puts = stores.put_many(&[(w, blob(&[4])), (v, blob(&[5]))]);
    assert!(puts.iter().all(Result::is_ok), "{puts:?}");
    assert_eq!(stores.contains_many(&[v, w]), [true, true]);
    let mut listed = stores.list().unwrap();
    listed.sort();
    let mut expected = vec![v, w];
    expected.sort();
    assert_eq!(
        listed.iter().map(|(v, _)| *v).collect::<Vec<DataVersion>>(),
        expected
    );
    assert!(listed.iter().all(|(_, size)| *size > 0));

    // Damage the object behind the store's back: the read reports it, never returns it.
    let (raw, prefix) = raw(&url);
    let path = ObjectPath::from(format!("{prefix}/results/{}", v.to_hex()));
    let rt = runtime();
    let mut bytes = rt
        .block_on(async { raw.get(&path).await.unwrap().bytes().await.unwrap() })
        .to_vec();
    *bytes.last_mut().unwrap() ^= 0xff;
    rt.block_on(raw.put(&path, PutPayload::from(bytes.clone())))
        .unwrap();
    assert!(
        matches!(stores.get(&v), Err(StoreError::Corrupt { .. })),
        "{:?}",
        stores.get(&v)
    );
    // A partial object (a cut-off upload by some other tool) is caught the same way.
    bytes.truncate(bytes.len() / 2);
    rt.block_on(raw.put(&path, PutPayload::from(bytes)))
        .unwrap();
    assert!(matches!(stores.get(&v), Err(StoreError::Corrupt { .. })));
    stores.remove(&v).unwrap();
    stores.remove(&v).unwrap();
    assert_eq!(stores.get(&v).unwrap(), None);
}

#[test]
fn a_damaged_key_entry_is_caught_and_the_node_recomputed() {
    let url = s3_url("object", "damaged-key");
    let run = || {
        let dr = weft::Builder::new()
            .with_nodes([weft::NodeSpec::builder("double", weft::value_type!(u64))
                .param("x", weft::value_type!(u64))
                .code_version("double-v1")
                .sync(|a| Ok(Arc::new(a.get::<u64>(0)? * 2)))])
            .with_cache_config(CacheConfig::locate(&url).unwrap())
            .build()
            .unwrap();
        let (out, rec) = dr
            .execute_recorded(
                &["double"],
                weft::inputs! { "x" => 21u64 },
                weft::Inputs::new(),
            )
            .unwrap();
        assert_eq!(*out.get::<u64>("double").unwrap(), 42);
        let cache = dr.cache().unwrap();
        let status = cache.records(Some(&rec.run_id)).unwrap()[0].status;
        (status, cache.warnings())
    };
    assert_eq!(run().0, Status::Executed);
    assert_eq!(run().0, Status::Hit);

    // Point the key at another version behind the cache's back (its checksum no longer
    // matches): the lookup reports it, the key is forgotten, the node recomputed.
    let (raw, prefix) = raw(&url);
    let rt = runtime();
    let keys: Vec<ObjectPath> = rt.block_on(async {
        let listed = raw
            .list_with_delimiter(Some(&ObjectPath::from(format!("{prefix}/keys"))))
            .await
            .unwrap();
        listed.objects.into_iter().map(|m| m.location).collect()
    });
    assert_eq!(keys.len(), 1, "{keys:?}");
    let text = rt
        .block_on(async { raw.get(&keys[0]).await.unwrap().bytes().await.unwrap() })
        .to_vec();
    let mut entry: serde_json::Value = serde_json::from_slice(&text).unwrap();
    entry["version"] = weft::data_version_of(&1u64).to_hex().into();
    rt.block_on(raw.put(
        &keys[0],
        PutPayload::from(serde_json::to_vec(&entry).unwrap()),
    ))
    .unwrap();
    let stores = ObjectStores::open(&url).unwrap();
    let key = weft::cache::CacheKey::from_hex(keys[0].filename().unwrap()).unwrap();
    assert!(matches!(
        stores.lookup(&key),
        Err(StoreError::CorruptKey { .. })
    ));
    // A driver asks the store for the key once the last run's keys do not answer it: take
    // the finished markers away, and the next run meets the damaged entry, warns, recomputes
    // and stores the repair.
    rt.block_on(async {
        let listed = raw
            .list_with_delimiter(Some(&ObjectPath::from(format!("{prefix}/finished"))))
            .await
            .unwrap();
        assert_eq!(listed.objects.len(), 2);
        for m in listed.objects {
            raw.delete(&m.location).await.unwrap();
        }
    });
    assert!(stores.recent_keys().unwrap().is_empty());
    let (status, warnings) = run();
    assert_eq!(status, Status::Executed);
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("the cache's entry for `double` is unusable")),
        "{warnings:?}"
    );
    assert_eq!(
        stores.lookup(&key).unwrap(),
        Some(weft::data_version_of(&42u64))
    );
    assert_eq!(run().0, Status::Hit, "the repaired key hits");
}

fn child(cache: &str, n: usize, seed: u64) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cache_child"));
    cmd.arg(cache)
        .arg("a")
        .arg(n.to_string())
        .arg("0")
        .arg(seed.to_string());
    cmd
}

#[test]
fn four_processes_share_one_store_without_losing_a_record() {
    let url = s3_url("object", "four-processes");
    let n = 12;
    // Two pairs of processes on the same work, all four at once.
    let seeds = [1u64, 2, 1, 2];
    let children: Vec<_> = seeds
        .iter()
        .map(|seed| child(&url, n, *seed).output_spawned())
        .collect();
    let mut statuses = Vec::new();
    for (child, seed) in children.into_iter().zip(seeds) {
        let out = child.wait_with_output().unwrap();
        let (s, summary) = cache_child_results(&out);
        assert_eq!(summary, format!("total={}", seed + n as u64));
        assert_eq!(s.len(), n + 1, "{s:?}");
        assert!(s.values().all(|v| v == "executed" || v == "hit"), "{s:?}");
        statuses.push(s);
    }
    let cache = Cache::locate(&url).unwrap();
    assert_eq!(cache.location(), url);
    let runs = cache.runs().unwrap();
    assert_eq!(runs.len(), 4, "{runs:?}");
    for run in &runs {
        assert_eq!(run.status, "ok", "{run:?}");
        assert!(run.finished_at.is_some());
        let records = cache.records(Some(&run.run_id)).unwrap();
        assert_eq!(records.len(), n + 1, "every record of run {}", run.run_id);
    }
    // Every result is there and whole: a fifth process of each seed hits everything.
    for seed in [1u64, 2] {
        let (s, summary) = cache_child_results(&child(&url, n, seed).output().unwrap());
        assert_eq!(summary, format!("total={}", seed + n as u64));
        assert!(s.values().all(|v| v == "hit"), "{s:?}");
    }
    assert_eq!(cache.runs().unwrap().len(), 6);
}

/// `Command::spawn` with piped output.
trait SpawnPiped {
    fn output_spawned(&mut self) -> std::process::Child;
}

impl SpawnPiped for Command {
    fn output_spawned(&mut self) -> std::process::Child {
        self.stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    }
}

#[test]
fn an_unreachable_store_is_an_error_naming_the_url_and_no_secret() {
    let url = s3_url("object", "unreachable");
    // A port nothing listens on.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let out = child(&url, 2, 1)
        .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("cache location `{url}`: cannot reach it")),
        "{err}"
    );
    let secret = std::env::var("AWS_SECRET_ACCESS_KEY").unwrap();
    assert!(!err.contains(&secret), "{err}");

    // A bucket that does not exist, on a server that answers.
    let missing = "s3://weft-no-such-bucket/cache";
    let e = ObjectStores::open(missing).unwrap_err().to_string();
    assert!(
        e.starts_with(&format!("cache location `{missing}`: cannot reach it")),
        "{e}"
    );
    assert!(!e.contains(&secret), "{e}");
}

#[test]
fn runs_and_records_on_object_storage_read_like_any_cache() {
    let url = s3_url("object", "inspect");
    let (s, _) = cache_child_results(&child(&url, 3, 5).output().unwrap());
    assert!(s.values().all(|v| v == "executed"), "{s:?}");
    let (s, _) = cache_child_results(&child(&url, 3, 5).output().unwrap());
    assert!(s.values().all(|v| v == "hit"), "{s:?}");
    let cache = Cache::locate(&url).unwrap();
    let history = cache.metadata().history("step1", 10).unwrap();
    assert_eq!(
        history.iter().map(|r| r.status).collect::<Vec<_>>(),
        [Status::Hit, Status::Executed],
        "newest first"
    );
    let e = cache.explain("summary", None).unwrap().to_string();
    assert!(e.contains("hit"), "{e}");
    // gc keeps what the last run uses and deletes the rest with the older run.
    let report = cache
        .gc(weft::cache::GcPolicy {
            keep_runs: Some(1),
            max_bytes: None,
        })
        .unwrap();
    assert_eq!(report.runs_removed, 1);
    assert_eq!(report.results_removed, 0, "the kept run uses every result");
    let report = cache.clear().unwrap();
    assert_eq!(report.runs_removed, 1);
    assert_eq!(report.results_removed, 4);
    assert!(cache.runs().unwrap().is_empty());
    let (s, _) = cache_child_results(&child(&url, 3, 5).output().unwrap());
    assert!(
        s.values().all(|v| v == "executed"),
        "a cleared cache recomputes: {s:?}"
    );
}

#[path = "object_store/pool.rs"]
mod process_pool;

#[path = "object_store/crash.rs"]
mod crash;

#[path = "object_store/flaky.rs"]
mod flaky;
