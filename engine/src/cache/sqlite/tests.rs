//! The SQLite metadata store's own tests: layouts and upgrades, records, recent keys.
use super::connection::user_version;
use super::layout::SCHEMA_VERSION;
use super::*;
use rusqlite::Connection;

fn temp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("weft-sqlite-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("meta.sqlite")
}

fn record(run: &str, node: &str, status: Status, key: u8, dv: u8) -> MetaWrite {
    MetaWrite::Record(Box::new(NodeRecord {
        run_id: run.into(),
        node: node.into(),
        status,
        behavior: "default".into(),
        cache_key: Some(CacheKey::from_bytes([key; 32])),
        data_version: Some(DataVersion::from_bytes([dv; 32])),
        code_version: "v1".into(),
        deps: vec![("x".into(), Some(DataVersion::from_bytes([9; 32])))],
        ignored: Vec::new(),
        reason: None,
        duration_us: 5,
        error: None,
        type_name: "u64".into(),
    }))
}

fn run(id: &str, started_at: f64, status: &str) -> MetaWrite {
    MetaWrite::BeginRun(RunMeta {
        run_id: id.into(),
        started_at,
        finished_at: None,
        outputs: vec!["b".into()],
        status: status.into(),
    })
}

/// Records key `[k; 32]` for data version `[v; 32]`.
fn put_key(store: &SqliteStore, k: u8, v: u8) {
    store
        .write(&[MetaWrite::Key {
            cache_key: CacheKey::from_bytes([k; 32]),
            node: "n".into(),
            data_version: DataVersion::from_bytes([v; 32]),
        }])
        .unwrap();
}

/// What SQLite's plan for `sql` says it does, step by step.
fn query_plan(c: &Connection, sql: &str) -> Vec<String> {
    c.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
        .unwrap()
        .query_map([], |r| r.get::<_, String>(3))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn layout_3_is_upgraded_in_place_and_the_last_run_is_found_by_index() {
    let path = temp("v3");
    // A layout-3 file: today's tables without the index and the keys' checksums, and what
    // a run left in it.
    {
        put_key(&SqliteStore::open(&path).unwrap(), 4, 5);
    }
    let c = Connection::open(&path).unwrap();
    c.execute_batch(
        "DROP INDEX runs_by_start; DROP INDEX cache_keys_by_node; \
         ALTER TABLE cache_keys DROP COLUMN checksum; DROP TABLE record_parts; \
         PRAGMA user_version = 3;",
    )
    .unwrap();
    drop(c);

    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(
        store.lookup(&CacheKey::from_bytes([4; 32])).unwrap(),
        Some(DataVersion::from_bytes([5; 32])),
        "an upgrade in place keeps what the cache knew"
    );
    let c = Connection::open(&path).unwrap();
    assert_eq!(user_version(&c).unwrap(), SCHEMA_VERSION);
    let plan = query_plan(&c, LAST_RUN);
    assert!(
        plan.iter().any(|p| p.contains("runs_by_start")),
        "the last run is found through the index, not a scan: {plan:?}"
    );
    assert_eq!(
        record_rows(&path).1,
        0,
        "layout 8's manifests table is there"
    );
    assert_eq!(
        store.holds_node("n").unwrap(),
        Some(true),
        "layout 9's index"
    );
}

#[test]
fn whether_a_node_holds_keys_is_one_index_probe() {
    let store = SqliteStore::open(&temp("holds")).unwrap();
    assert_eq!(store.holds_node("n").unwrap(), Some(false));
    put_key(&store, 1, 2);
    assert_eq!(store.holds_node("n").unwrap(), Some(true));
    assert_eq!(store.holds_node("m").unwrap(), Some(false));
    store.forget_key(&CacheKey::from_bytes([1; 32])).unwrap();
    assert_eq!(store.holds_node("n").unwrap(), Some(false));
    let plan = query_plan(
        &store.reader().unwrap(),
        "SELECT EXISTS(SELECT 1 FROM cache_keys WHERE node = 'n')",
    );
    assert!(
        plan.iter().any(|p| p.contains("cache_keys_by_node")),
        "found through the index, not a scan: {plan:?}"
    );
}

/// A file a newer weft wrote is refused, with a message saying so, and left as it was: an
/// older weft used to take it for a layout it does not know and drop its tables.
#[test]
fn a_newer_layout_is_refused_and_left_untouched() {
    let path = temp("newer");
    put_key(&SqliteStore::open(&path).unwrap(), 4, 5);
    let c = Connection::open(&path).unwrap();
    c.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .unwrap();
    drop(c);
    let e = SqliteStore::open(&path).err().expect("refused");
    let said = e.to_string();
    assert!(
        said.contains("newer weft") && said.contains(&path.display().to_string()),
        "{said}"
    );
    let c = Connection::open(&path).unwrap();
    assert_eq!(user_version(&c).unwrap(), SCHEMA_VERSION + 1);
    let keys: i64 = c
        .query_row("SELECT count(*) FROM cache_keys", [], |r| r.get(0))
        .unwrap();
    assert_eq!(keys, 1, "what it holds is still there");
}

#[test]
fn an_older_layout_is_replaced_on_open() {
    let path = temp("old");
    let c = Connection::open(&path).unwrap();
    c.execute_batch(
        "CREATE TABLE node_runs(seq INTEGER PRIMARY KEY, run_id TEXT);
         CREATE TABLE cache_keys(cache_key TEXT PRIMARY KEY, node TEXT, data_version TEXT);
         INSERT INTO cache_keys VALUES ('abc', 'n', 'def');",
    )
    .unwrap();
    drop(c);
    let store = SqliteStore::open(&path).unwrap();
    let key = CacheKey::from_bytes([1; 32]);
    assert_eq!(store.lookup(&key).unwrap(), None);
    put_key(&store, 1, 2);
    assert_eq!(
        store.lookup(&key).unwrap(),
        Some(DataVersion::from_bytes([2; 32]))
    );
    let c = Connection::open(&path).unwrap();
    assert_eq!(user_version(&c).unwrap(), SCHEMA_VERSION);
}

#[test]
fn records_round_trip_in_batches() {
    let store = SqliteStore::open(&temp("records")).unwrap();
    store
        .write(&[
            run("r1", 1.0, "running"),
            record("r1", "a", Status::Executed, 1, 2),
        ])
        .unwrap();
    store
        .write(&[record("r1", "b", Status::Hit, 3, 4)])
        .unwrap();
    let records = store.records("r1").unwrap();
    let names: Vec<&str> = records.iter().map(|r| r.node.as_str()).collect();
    assert_eq!(names, ["a", "b"]);
    assert_eq!(records[1].status, Status::Hit);
    assert_eq!(records[1].run_id, "r1");
    assert_eq!(records[0].deps[0].1, Some(DataVersion::from_bytes([9; 32])));
    assert_eq!(store.history("b", 10).unwrap().len(), 1);
}

#[test]
fn recent_keys_come_from_the_last_finished_run_minus_forgotten_ones() {
    let store = SqliteStore::open(&temp("recent")).unwrap();
    let end = |id: &str| MetaWrite::EndRun {
        run_id: id.into(),
        status: "ok".into(),
        finished_at: 2.0,
    };
    store
        .write(&[
            run("old", 1.0, "running"),
            record("old", "a", Status::Executed, 1, 1),
            end("old"),
            run("new", 2.0, "running"),
            record("new", "a", Status::Hit, 1, 1),
            record("new", "b", Status::Executed, 2, 2),
            record("new", "c", Status::Uncached, 3, 3),
            record("new", "d", Status::Failed, 4, 4),
            end("new"),
            // Still running: not a source of hints.
            run("running", 3.0, "running"),
            record("running", "e", Status::Executed, 5, 5),
        ])
        .unwrap();
    let keys = |s: &SqliteStore| {
        let mut k: Vec<u8> = s
            .recent_keys()
            .unwrap()
            .iter()
            .map(|(k, _)| k.as_bytes()[0])
            .collect();
        k.sort();
        k
    };
    assert_eq!(keys(&store), [1, 2]);
    store.forget_key(&CacheKey::from_bytes([2; 32])).unwrap();
    assert_eq!(keys(&store), [1]);
}

#[test]
fn tallies_and_history_up_to_a_run_agree_with_the_records() {
    let store = SqliteStore::open(&temp("tally")).unwrap();
    for (i, id) in ["r1", "r2", "r3"].into_iter().enumerate() {
        let v = i as u8;
        store
            .write(&[
                run(id, i as f64, "ok"),
                record(id, "a", Status::Executed, 10 + v, 20 + v),
                record(id, "b", Status::Hit, 30, 40),
            ])
            .unwrap();
    }
    store
        .write(&[record("r3", "c", Status::Failed, 50, 60)])
        .unwrap();
    let t = store.tally("r3").unwrap();
    assert_eq!(
        t,
        RunTally::of(
            store
                .records("r3")
                .unwrap()
                .iter()
                .map(|r| (r.status, r.duration_us))
        )
    );
    assert_eq!(
        (t.nodes(), t.executed(), t.reused(), t.count(Status::Failed)),
        (3, 2, 1, 1)
    );
    assert_eq!(t.busy_us, 15);
    assert_eq!(store.tally("nope").unwrap().nodes(), 0);

    // Up to r2, newest first, bounded; the default (filtering `history`) agrees.
    let through = store.history_through("a", "r2", 10).unwrap();
    let runs: Vec<&str> = through.iter().map(|r| r.run_id.as_str()).collect();
    assert_eq!(runs, ["r2", "r1"]);
    assert_eq!(store.history_through("a", "r3", 1).unwrap()[0].run_id, "r3");
    let all = store.history("a", usize::MAX).unwrap();
    let at = all.iter().position(|r| r.run_id == "r2").unwrap();
    assert_eq!(through, all[at..].to_vec());
    assert!(store.history_through("c", "r2", 10).unwrap().is_empty());
}

#[test]
fn one_run_is_read_by_its_id_as_the_list_has_it() {
    let store = SqliteStore::open(&temp("one-run")).unwrap();
    store
        .write(&[run("r1", 1.0, "ok"), run("r2", 2.0, "running")])
        .unwrap();
    store
        .write(&[MetaWrite::EndRun {
            run_id: "r2".into(),
            status: "failed".into(),
            finished_at: 3.0,
        }])
        .unwrap();
    for listed in store.runs().unwrap() {
        assert_eq!(store.run(&listed.run_id).unwrap(), Some(listed));
    }
    assert_eq!(store.run("r2").unwrap().unwrap().status, "failed");
    // An id, not a prefix.
    assert_eq!(store.run("r").unwrap(), None);
    assert_eq!(store.run("nope").unwrap(), None);
}

/// Counts of `(record bodies, record parts, run_records rows)`.
fn record_rows(path: &Path) -> (i64, i64, i64) {
    let c = Connection::open(path).unwrap();
    let n = |t: &str| -> i64 {
        c.query_row(&format!("SELECT COUNT(*) FROM {t}"), [], |r| r.get(0))
            .unwrap()
    };
    (n("record_bodies"), n("record_parts"), n("run_records"))
}

#[test]
fn a_warm_run_after_a_cold_one_stores_no_record_body_again() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("meta.sqlite");
    let end = |id: &str| MetaWrite::EndRun {
        run_id: id.into(),
        status: "ok".into(),
        finished_at: 2.0,
    };
    let nodes = ["a", "b", "c", "d", "e"];
    let rec = |run: &str, i: usize, status| record(run, nodes[i], status, i as u8, 10 + i as u8);
    // A cold run commits its records as they come: three parts.
    {
        let store = SqliteStore::open(&path).unwrap();
        store
            .write(&[
                run("cold", 1.0, "running"),
                rec("cold", 0, Status::Executed),
            ])
            .unwrap();
        store
            .write(&[
                rec("cold", 1, Status::Executed),
                rec("cold", 2, Status::Executed),
            ])
            .unwrap();
        store
            .write(&[
                rec("cold", 3, Status::Executed),
                rec("cold", 4, Status::Failed),
                end("cold"),
            ])
            .unwrap();
        assert_eq!(record_rows(&path), (3, 3, 1), "one row naming three parts");
    }
    // A warm run in a new process: its records come at once, and are cut as the cold run's.
    let store = SqliteStore::open(&path).unwrap();
    let warm: Vec<MetaWrite> = std::iter::once(run("warm", 2.0, "running"))
        .chain((0..5).map(|i| rec("warm", i, Status::Hit)))
        .chain([end("warm")])
        .collect();
    store.write(&warm).unwrap();
    assert_eq!(
        record_rows(&path),
        (3, 3, 2),
        "the warm run adds its row of events, and no body or manifest"
    );

    // Both runs read back whole and in order, with their own events.
    for (id, statuses) in [
        (
            "cold",
            vec![
                Status::Executed,
                Status::Executed,
                Status::Executed,
                Status::Executed,
                Status::Failed,
            ],
        ),
        ("warm", vec![Status::Hit; 5]),
    ] {
        let got = store.records(id).unwrap();
        let names: Vec<&str> = got.iter().map(|r| r.node.as_str()).collect();
        assert_eq!(names, nodes, "{id}");
        assert_eq!(got.iter().map(|r| r.status).collect::<Vec<_>>(), statuses);
        assert_eq!(store.tally(id).unwrap().nodes(), 5);
    }
    let history: Vec<String> = store
        .history("c", 10)
        .unwrap()
        .into_iter()
        .map(|r| r.run_id)
        .collect();
    assert_eq!(history, ["warm", "cold"]);
    let mut hints: Vec<u8> = store
        .recent_keys()
        .unwrap()
        .iter()
        .map(|(k, _)| k.as_bytes()[0])
        .collect();
    hints.sort();
    assert_eq!(hints, [0, 1, 2, 3, 4], "the warm run's keys");

    // gc: the bodies stay while a run names them, through its manifest.
    store.forget_runs(&["cold".to_string()]).unwrap();
    assert_eq!(record_rows(&path), (3, 3, 1));
    assert_eq!(store.records("warm").unwrap().len(), 5);
    store.forget_runs(&["warm".to_string()]).unwrap();
    assert_eq!(record_rows(&path), (0, 0, 0));
}

#[test]
fn a_damaged_manifest_is_reported_and_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("meta.sqlite");
    let store = SqliteStore::open(&path).unwrap();
    store
        .write(&[
            run("r", 1.0, "running"),
            record("r", "a", Status::Executed, 1, 1),
        ])
        .unwrap();
    store
        .write(&[
            record("r", "b", Status::Executed, 2, 2),
            MetaWrite::EndRun {
                run_id: "r".into(),
                status: "ok".into(),
                finished_at: 2.0,
            },
        ])
        .unwrap();
    assert_eq!(store.records("r").unwrap().len(), 2);
    // A part's count changed: the manifest no longer matches its hash.
    Connection::open(&path)
        .unwrap()
        .execute("UPDATE record_parts SET records = 2 WHERE idx = 0", [])
        .unwrap();
    assert!(store.records("r").unwrap().is_empty());
    assert!(
        store.take_notices().iter().any(|n| n.contains("damaged")),
        "the damage is said"
    );
    let err = store.recent_keys().unwrap_err().to_string();
    assert!(err.contains("damaged"), "{err}");
    // Dropped (the sound bodies it named are left for gc): the next run's hints are empty,
    // not an error.
    assert_eq!(record_rows(&path), (2, 0, 0));
    assert!(store.recent_keys().unwrap().is_empty());
}
