//! A driver killed mid-run on object storage leaves nothing half-written: every key it committed
//! points at a whole result, its records read back, its run stays unfinished, and the next run
//! uses what it committed and gives the values an uncached run gives.

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use object_store::path::Path as ObjectPath;
use object_store::ObjectStore as _;
use weft::cache::{Cache, CacheKey, MetadataStore, ObjectStores, Status};
use weft_tests::stores::s3_url;

/// The cache keys committed under the cache at `url` (one object each).
fn keys(url: &str) -> Vec<CacheKey> {
    let (raw, prefix) = super::raw(url);
    let listed = super::runtime().block_on(async {
        let dir = ObjectPath::from(format!("{prefix}/keys"));
        raw.list_with_delimiter(Some(&dir)).await.unwrap()
    });
    listed
        .objects
        .iter()
        .map(|m| CacheKey::from_hex(m.location.filename().unwrap()).unwrap())
        .collect()
}

#[test]
fn a_driver_killed_mid_run_leaves_no_half_written_record() {
    let url = s3_url("object", "killed");
    let (n, seed) = (200usize, 7u64);
    // A chain of 100 ms steps. The cache hands the writer a batch per 64 items (about 32
    // nodes) during a run, which it commits within 50 ms: the first keys are in after about
    // 32 steps, the run ends after 200, and the test kills it in between.
    let mut child = Command::new(env!("CARGO_BIN_EXE_cache_child"))
        .args([url.as_str(), "a", &n.to_string(), "100", &seed.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while keys(&url).is_empty() {
        assert!(child.try_wait().unwrap().is_none(), "the child ended early");
        assert!(
            start.elapsed() < weft_tests::PATIENCE,
            "no key was committed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    assert_eq!(child.wait().unwrap().signal(), Some(9), "killed mid-run");

    let cache = Cache::locate(&url).unwrap();
    let runs = cache.runs().unwrap();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert!(
        runs[0].finished_at.is_none() && runs[0].status != "ok",
        "{runs:?}"
    );
    // Step i's value is seed + i + 1: every committed key names one of them, stored whole.
    let step_values: Vec<u64> = (1..=n as u64).map(|i| seed + i).collect();
    let stores = ObjectStores::open(&url).unwrap();
    let committed = keys(&url);
    assert!(!committed.is_empty());
    for key in &committed {
        let version = stores
            .lookup(key)
            .unwrap()
            .expect("a committed key has a version");
        let value: u64 = cache.result_store().get(&version).unwrap();
        assert!(step_values.contains(&value), "{value}");
        assert_eq!(weft::data_version_of(&value), version);
    }
    // The killed run's records read back whole, and each executed one's result is stored.
    let records = cache.records(Some(&runs[0].run_id)).unwrap();
    let executed: Vec<String> = records
        .iter()
        .filter(|r| r.status == Status::Executed)
        .map(|r| r.node.clone())
        .collect();
    for r in &records {
        if let Some(v) = r.data_version {
            let value: u64 = cache.result_store().get(&v).unwrap();
            assert_eq!(r.node, format!("step{}", value - seed - 1), "{r:?}");
        }
    }

    // The next run gives the uncached values and hits what the killed run recorded.
    let out = super::child(&url, n, seed).output().unwrap();
    let (statuses, summary): (BTreeMap<String, String>, String) =
        weft_tests::cache_child_results(&out);
    assert_eq!(summary, format!("total={}", seed + n as u64));
    for node in &executed {
        assert_eq!(statuses[node], "hit", "{node}: {statuses:?}");
    }
    let runs = cache.runs().unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[1].status, "ok", "{runs:?}");
}
