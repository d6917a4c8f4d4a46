//! A process pool over a team cache: the workers read their inputs from and write their results
//! to the object store; another driver (another process, in its own directory) finds them all.

use std::collections::HashSet;
use std::io::Cursor;
use std::process::Command;

use object_store::{ObjectStore as _, ObjectStoreExt as _};
use weft::cache::{Cache, ObjectStores, ResultStore, Status};
use weft::remote::{ProcessPool, Report};
use weft::{inputs, Builder, CacheConfig};
use weft_tests::remote_support::Recording;
use weft_tests::stores::s3_url;

const WORKER: &str = env!("CARGO_BIN_EXE_remote_flow");

/// `remote_flow build label cubes_sum` with x=3 on two worker processes, in `cwd`.
fn flow_cli(cwd: &std::path::Path, cache: &str) -> Command {
    std::fs::create_dir_all(cwd).unwrap();
    let mut cmd = Command::new(WORKER);
    cmd.current_dir(cwd)
        .args(["build", "label", "cubes_sum", "--input", "x=3"])
        .args(["--input", "prefix=sum:", "--executor", "processes:2"])
        .args(["--cache", cache]);
    cmd
}

#[test]
fn workers_share_the_url_and_a_second_driver_gets_all_hits() {
    let url = s3_url("object", "pool");
    let (backend, tasks) = Recording::new(ProcessPool::new(2).program(WORKER));
    let dr = Builder::new()
        .with_modules(weft::modules![crate::flow])
        .with_cache_config(CacheConfig::locate(&url).unwrap())
        .with_remote_executor(backend)
        .build()
        .unwrap();
    let (out, run) = dr
        .request(&["label", "cubes_sum"])
        .inputs(inputs! { "x" => 3u64, "prefix" => "sum:".to_string() })
        .run()
        .unwrap();
    // The worker's result came through the store, read before the run ended.
    assert!(out.value("label").unwrap().is_loaded());
    assert_eq!(out.get::<String>("label").unwrap(), "sum:15");
    assert_eq!(*out.get::<u64>("cubes_sum").unwrap(), 36);
    let tasks = tasks.lock().unwrap().clone();
    assert!(
        tasks.len() >= 7,
        "every node and fan-out item is a task: {tasks:?}"
    );
    assert!(tasks.iter().all(|t| t.store == url), "{tasks:?}");
    // Every executed node's result is an object under the URL.
    let stores = ObjectStores::open(&url).unwrap();
    let stored: HashSet<_> = stores.list().unwrap().into_iter().map(|(v, _)| v).collect();
    let records = dr.cache().unwrap().records(Some(&run.run_id)).unwrap();
    let executed: Vec<_> = records
        .iter()
        .filter(|r| r.status == Status::Executed)
        .collect();
    assert!(executed.len() >= 4, "{records:?}");
    // The fan-out's items are stored by the workers: the driver, which cannot encode them
    // itself, records the key without a word.
    let warnings = dr.cache().unwrap().warnings();
    assert!(
        !warnings.iter().any(|w| w.contains("numbers")),
        "{warnings:?}"
    );
    for r in &executed {
        let v = r.data_version.unwrap();
        assert!(
            stored.contains(&v),
            "`{}`'s result {v:?} is not in {url}",
            r.node
        );
    }
    drop(dr);

    // Another process, with a directory of its own and nothing local: all hits.
    let elsewhere = weft_tests::temp_dir("object-pool", "elsewhere");
    let second = flow_cli(&elsewhere, &url).output().unwrap();
    let stdout = String::from_utf8_lossy(&second.stdout);
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(second.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("sum:15"), "{stdout}");
    assert!(
        !elsewhere.join(".weft").exists(),
        "nothing was written locally"
    );
    let cache = Cache::locate(&url).unwrap();
    let runs = cache.runs().unwrap();
    assert_eq!(runs.len(), 2, "{runs:?}");
    let hits = cache.records(Some(&runs[1].run_id)).unwrap();
    assert!(!hits.is_empty());
    assert!(hits.iter().all(|r| r.status == Status::Hit), "{hits:?}");

    // Credentials reach neither the cache's objects nor what the run printed.
    let secret = std::env::var("AWS_SECRET_ACCESS_KEY").unwrap();
    assert!(!stdout.contains(&secret) && !stderr.contains(&secret));
    let (raw, prefix) = super::raw(&url);
    let rt = super::runtime();
    let objects: Vec<Vec<u8>> = rt.block_on(async {
        let mut all = Vec::new();
        let mut dirs = vec![super::ObjectPath::from(prefix)];
        while let Some(dir) = dirs.pop() {
            let listed = raw.list_with_delimiter(Some(&dir)).await.unwrap();
            dirs.extend(listed.common_prefixes);
            for m in listed.objects {
                let got = raw.get(&m.location).await.unwrap();
                all.push(got.bytes().await.unwrap().to_vec());
            }
        }
        all
    });
    assert!(objects.len() > executed.len(), "{}", objects.len());
    let needle = secret.as_bytes();
    for o in &objects {
        assert!(
            !o.windows(needle.len()).any(|w| w == needle),
            "a secret in the cache"
        );
    }
}

#[test]
fn an_unreachable_store_url_is_an_error_naming_it() {
    let missing = "s3://weft-no-such-bucket/pool";
    // The flow refuses to start, naming the URL.
    let out = flow_cli(&weft_tests::temp_dir("object-pool", "unreachable"), missing)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("cache location `{missing}`: cannot reach it")),
        "{stderr}"
    );
    // What a worker opens: the same error.
    let e = weft::remote::open_store(missing).err().unwrap().to_string();
    assert!(
        e.contains(&format!("`{missing}`")) && e.contains("cannot reach it"),
        "{e}"
    );
    // A worker given a task on such a store refuses it, naming the store.
    let dr = Builder::new()
        .with_modules(weft::modules![crate::flow])
        .build()
        .unwrap();
    let task = serde_json::json!({
        "version": weft::remote::PROTOCOL, "run_id": "r", "store": missing, "nodes": [],
    });
    let mut report = Vec::new();
    dr.serve_worker_on(Cursor::new(format!("{task}\n")), &mut report)
        .unwrap();
    let report: Report = serde_json::from_slice(&report).unwrap();
    let why = report.refused.expect("refused");
    assert!(why.contains(&format!("`{missing}`")), "{why}");
}
