//! A process killed mid-run never corrupts the cache.
//!
//! The test kills a child process (`bin/crash_child.rs`, running the flow of `crash/flow.rs`) at
//! three well-defined points, reached by handshakes, never by timing: the child says when it has
//! paused inside a node (after the nodes before it executed), and the test holds SQLite write
//! locks on the cache's files and waits for what the child's writer has visibly done.
//!
//! - *Before any commit*: the test holds the metadata and result databases; the child pauses
//!   after a few nodes; nothing of its run can be committed when it dies.
//! - *During a commit, halfway through a result file*: the child's writer, set to write its
//!   first result file into a pipe the test made, stores the batch's rows, opens the pipe and
//!   cannot finish writing into it; the test kills it there and leaves a partial temporary
//!   file, which `gc` later sweeps.
//! - *During a commit, between results and keys*: the test holds the metadata database only;
//!   the child's writer stores the run's first results (rows and files) and then waits for the
//!   lock to commit their keys; the test kills it there.
//! - *After a commit*: no lock; the test kills the paused child once some of its keys are
//!   committed.
//!
//! After each kill, every key in the metadata must point at a stored, checksum-valid result
//! that decodes to the value an uncached run gives the node, every stored result (rows of
//! `results.sqlite`, files under `results/`) must be whole, and a new run must return exactly
//! the values of an uncached run.
#![cfg(unix)]

#[path = "crash/flow.rs"]
mod flow;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

use weft::cache::{FileStore, ResultStore, SqliteBlobs};
use weft::{inputs, Builder, DataVersion};

/// The longest the test waits for something the child does: a bound that only a hung child
/// reaches, never a guess at how fast it runs.
const PATIENCE: Duration = Duration::from_secs(120);

/// Each node's data version (hex) and value (as text), by node.
type Results = BTreeMap<String, (String, String)>;

/// What a run without a cache gives (the reference every run after a kill must match).
fn uncached(seed: u64) -> Results {
    let dr = Builder::new().with_nodes(flow::nodes(&[])).build().unwrap();
    let names = flow::names();
    let outputs: Vec<&str> = names.iter().map(String::as_str).collect();
    let out = dr.execute(&outputs, inputs! { "seed" => seed }).unwrap();
    names
        .iter()
        .map(|n| {
            let version = out.value(n).unwrap().version().to_hex();
            (n.clone(), (version, flow::render(n, &out).unwrap()))
        })
        .collect()
}

fn child(dir: &Path, seed: u64, pause: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_crash_child"));
    cmd.arg(dir).arg(seed.to_string()).arg(pause);
    cmd
}

/// A child run to completion: its values and its records' statuses.
struct Run {
    values: Results,
    statuses: BTreeMap<String, String>,
}

fn complete(dir: &Path, seed: u64) -> Run {
    let out = child(dir, seed, "none").output().unwrap();
    assert!(
        out.status.success(),
        "the child failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let mut run = Run {
        values: Results::new(),
        statuses: BTreeMap::new(),
    };
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let mut parts = line.splitn(4, ' ');
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some("value"), Some(node), Some(version), Some(value)) => {
                run.values
                    .insert(node.into(), (version.into(), value.into()));
            }
            (Some("status"), Some(node), Some(status), None) => {
                run.statuses.insert(node.into(), status.into());
            }
            _ => panic!("unexpected line from the child: {line:?}"),
        }
    }
    run
}

/// A child that pauses in some steps (see the flow), waiting for the test.
struct Paused {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
}

/// Starts a child of `seed` that pauses in each of `steps`.
fn start(dir: &Path, seed: u64, steps: &[usize]) -> Paused {
    let list: Vec<String> = steps.iter().map(usize::to_string).collect();
    spawn(child(dir, seed, &list.join(",")))
}

/// Spawns a child, its standard streams piped to the test.
fn spawn(mut cmd: Command) -> Paused {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = lines_of(child.stdout.take().unwrap());
    let stdin = child.stdin.take().unwrap();
    Paused {
        child,
        stdin,
        lines,
    }
}

/// Starts a child of `seed` that pauses in each of `steps` and whose cache's writer stops at
/// its first result file, writing it into `pipe` (see `bin/crash_child.rs`).
fn start_stopping(dir: &Path, seed: u64, steps: &[usize], pipe: &Path) -> Paused {
    let list: Vec<String> = steps.iter().map(usize::to_string).collect();
    let mut cmd = child(dir, seed, &list.join(","));
    cmd.arg(pipe);
    spawn(cmd)
}

/// Starts a child of `seed` that pauses in `step{step}`, and returns once it has.
fn pause_at(dir: &Path, seed: u64, step: usize) -> Paused {
    let mut child = start(dir, seed, &[step]);
    child.reached(step);
    child
}

/// The lines a reader gives, as they come.
fn lines_of(r: impl Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(r).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

impl Paused {
    /// Waits until the child says it paused in `step{step}`.
    fn reached(&mut self, step: usize) {
        let want = format!("paused step{step}");
        let got = self.lines.recv_timeout(PATIENCE);
        if got.as_deref() != Ok(want.as_str()) {
            let _ = self.child.kill();
            let _ = self.child.wait();
            let mut err = String::new();
            let _ = self.child.stderr.take().unwrap().read_to_string(&mut err);
            panic!("the child did not pause in step{step} (it said {got:?}): {err}");
        }
    }

    /// Lets the child go on from its pause.
    fn go_on(&mut self) {
        writeln!(self.stdin, "go").unwrap();
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL, and proof that the child died of it (rather than ending its run).
    fn kill(mut self) {
        self.child.kill().unwrap();
        let status = self.child.wait().unwrap();
        assert_eq!(
            status.signal(),
            Some(9),
            "the child was not killed: {status}"
        );
    }
}

/// A write lock on one of the cache's SQLite databases, held by the test: nothing another
/// process writes there commits until it is dropped.
struct WriteLock(rusqlite::Connection);

fn write_lock(path: &Path) -> WriteLock {
    let c = rusqlite::Connection::open(path).unwrap();
    c.busy_timeout(PATIENCE).unwrap();
    c.execute_batch("BEGIN IMMEDIATE").unwrap();
    WriteLock(c)
}

impl Drop for WriteLock {
    fn drop(&mut self) {
        let _ = self.0.execute_batch("ROLLBACK");
    }
}

/// Waits until `cond` holds, checking every few milliseconds, for at most [`PATIENCE`].
fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !cond() {
        assert!(Instant::now() < deadline, "gave up waiting until {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The keys committed in the metadata: (node, data version in hex).
fn committed_keys(dir: &Path) -> BTreeSet<(String, String)> {
    let c = rusqlite::Connection::open(dir.join("meta.sqlite")).unwrap();
    c.busy_timeout(PATIENCE).unwrap();
    let mut stmt = c
        .prepare("SELECT node, lower(hex(data_version)) FROM cache_keys")
        .unwrap();
    let keys = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    keys
}

fn inline(dir: &Path) -> SqliteBlobs {
    SqliteBlobs::open(&dir.join("results.sqlite")).unwrap()
}

fn files(dir: &Path) -> FileStore {
    FileStore::new(dir.join("results"))
}

/// The data versions (hex) of every stored result, rows and files alike.
fn stored(dir: &Path) -> BTreeSet<String> {
    let mut all = inline(dir).list().unwrap();
    all.extend(files(dir).list().unwrap());
    all.into_iter().map(|(v, _)| v.to_hex()).collect()
}

fn version(hex: &str) -> DataVersion {
    DataVersion::from_hex(hex).unwrap()
}

/// A stored result decoded as its node's type, as text.
fn decoded(cache: &weft::Cache, node: &str, v: &DataVersion) -> String {
    let store = cache.result_store();
    let text = if node.starts_with("step") {
        store.get::<u64>(v).map(|x| x.to_string())
    } else if node.starts_with("big") {
        store.get::<Vec<u8>>(v).map(|b| flow::render_big(&b))
    } else {
        store.get::<String>(v)
    };
    text.unwrap_or_else(|e| {
        panic!(
            "the result of `{node}` ({}) cannot be read: {e}",
            v.to_hex()
        )
    })
}

/// Every stored result is whole, and every key points at a stored result that decodes to the
/// value an uncached run (one of `references`) gives its node.
fn assert_intact(dir: &Path, references: &[&Results]) {
    let (rows, files) = (inline(dir), files(dir));
    for (kind, store) in [
        ("row", &rows as &dyn ResultStore),
        ("file", &files as &dyn ResultStore),
    ] {
        for (v, _) in store.list().unwrap() {
            let got = store.get(&v);
            assert!(
                matches!(got, Ok(Some(_))),
                "stored result {} ({kind}) is not whole: {got:?}",
                v.to_hex()
            );
        }
    }
    let cache = weft::Cache::open(dir).unwrap();
    let keys = committed_keys(dir);
    for (node, hex) in &keys {
        let v = version(hex);
        let in_row = matches!(rows.get(&v), Ok(Some(_)));
        let in_file = matches!(files.get(&v), Ok(Some(_)));
        assert!(
            in_row || in_file,
            "the key of `{node}` points at {hex}, which is not stored"
        );
        let expected = references
            .iter()
            .find_map(|r| {
                r.get(node)
                    .filter(|(h, _)| h == hex)
                    .map(|(_, value)| value)
            })
            .unwrap_or_else(|| panic!("the key of `{node}` points at {hex}, no uncached value"));
        assert_eq!(&decoded(&cache, node, &v), expected, "`{node}` ({hex})");
    }
}

/// The data versions (hex) of a run's values.
fn versions(r: &Results) -> BTreeSet<String> {
    r.values().map(|(v, _)| v.clone()).collect()
}

fn temp_dir(name: &str) -> PathBuf {
    weft_tests::temp_dir("crash", name)
}

#[test]
fn killing_the_process_mid_run_never_corrupts_the_cache() {
    let dir = temp_dir("kill");
    // One run to fill the cache, then one per kill point, each with values of its own (the
    // seeds are far apart).
    let seeds = [1_000u64, 2_000_000, 3_000_000, 4_000_000, 5_000_000];
    let refs: Vec<Results> = seeds.iter().map(|s| uncached(*s)).collect();
    let all_refs: Vec<&Results> = refs.iter().collect();
    let mine = |i: usize| versions(&refs[i]);
    let keyed = |i: usize| -> BTreeSet<(String, String)> {
        committed_keys(&dir)
            .into_iter()
            .filter(|(_, v)| mine(i).contains(v))
            .collect()
    };
    // After a kill: the cache is intact, and a new run gives the values of an uncached run
    // (its statuses are returned).
    let recovers = |i: usize| -> BTreeMap<String, String> {
        assert_intact(&dir, &all_refs);
        let run = complete(&dir, seeds[i]);
        assert_eq!(run.values, refs[i], "the run after the kill");
        assert_intact(&dir, &all_refs);
        run.statuses
    };
    let all = |statuses: &BTreeMap<String, String>, status: &str| {
        assert_eq!(statuses.len(), flow::names().len(), "{statuses:?}");
        assert!(statuses.values().all(|s| s == status), "{statuses:?}");
    };

    // A first, complete run fills the cache: rows, files and keys.
    let first = complete(&dir, seeds[0]);
    assert_eq!(first.values, refs[0]);
    all(&first.statuses, "executed");
    assert_intact(&dir, &all_refs);

    // Before any commit: with both databases held, the child executes step0..step2 and dies
    // in step3.
    {
        let _meta = write_lock(&dir.join("meta.sqlite"));
        let _results = write_lock(&dir.join("results.sqlite"));
        pause_at(&dir, seeds[1], 3).kill();
    }
    assert!(keyed(1).is_empty());
    assert!(
        stored(&dir).is_disjoint(&mine(1)),
        "nothing of the run is stored"
    );
    all(&recovers(1), "executed");

    // During a commit, halfway through writing a result file: the child pauses before the
    // run's first commit; the test makes a pipe and lets the child go on, its writer set to
    // stop at its first result file (`big5`: see `bin/crash_child.rs`) by writing it into the
    // pipe. (The file store creates its temporary files exclusively, never opening what is
    // at their name, so the pipe cannot simply be put there.) Once the writer has opened the
    // pipe it cannot finish writing (the result is larger than a pipe holds, and nobody
    // reads): the batch's rows are stored, its first file is not, and the test kills the child
    // there, then leaves what a writer killed halfway through the file leaves: a partial
    // temporary file, `results/ab/.<version>.<random>.tmp`.
    let big5 = refs[2]["big5"].0.clone();
    let partial = {
        let pipe = dir.join("stop-here.pipe");
        let made = Command::new("mkfifo").arg(&pipe).status().unwrap();
        assert!(made.success(), "mkfifo {}: {made}", pipe.display());
        let mut child = start_stopping(&dir, seeds[2], &[3, 55], &pipe);
        child.reached(3);
        let (opened_tx, opened) = channel();
        let reading = pipe.clone();
        std::thread::spawn(move || {
            let _ = opened_tx.send(std::fs::File::open(reading));
        });
        child.go_on();
        let reader = opened.recv_timeout(PATIENCE).unwrap_or_else(|_| {
            panic!("the child's writer never began writing its first result file")
        });
        let pid = child.pid();
        child.kill();
        drop(reader);
        std::fs::remove_file(&pipe).unwrap();
        let tmp = dir
            .join("results")
            .join(&big5[..2])
            .join(format!(".{big5}.{pid}x.tmp"));
        std::fs::create_dir_all(tmp.parent().unwrap()).unwrap();
        std::fs::write(&tmp, b"WEFTBLB1 half of a result").unwrap();
        tmp
    };
    assert!(
        keyed(2).is_empty(),
        "keys committed before their results were stored: {:?}",
        keyed(2)
    );
    assert!(
        stored(&dir).contains(&refs[2]["step0"].0),
        "rows are stored before files"
    );
    assert!(!files(&dir).contains(&version(&big5)).unwrap());
    all(&recovers(2), "executed");

    // During a commit, between storing results and committing their keys: with the metadata
    // held, the child's writer stores the run's first results (rows, then files) and waits to
    // commit their keys; the child dies there.
    let big5 = refs[3]["big5"].0.clone();
    {
        let _meta = write_lock(&dir.join("meta.sqlite"));
        let paused = pause_at(&dir, seeds[3], 55);
        wait_until("the child's writer stored `big5` as a file", || {
            files(&dir).contains(&version(&big5)).unwrap()
        });
        paused.kill();
    }
    assert!(
        keyed(3).is_empty(),
        "keys committed while the test held the metadata: {:?}",
        keyed(3)
    );
    assert!(
        stored(&dir).contains(&refs[3]["step0"].0),
        "rows are stored before files"
    );
    // The keys are missing: every node runs again, and its key then points at the result the
    // killed process stored (which `recovers` checks).
    all(&recovers(3), "executed");

    // After a commit: the child's writer commits some keys while it is paused.
    let paused = pause_at(&dir, seeds[4], 55);
    wait_until("some key of the child's run is committed", || {
        !keyed(4).is_empty()
    });
    paused.kill();
    let committed = keyed(4);
    let runs = weft::Cache::open(&dir).unwrap().runs().unwrap();
    assert!(
        runs.iter().any(|r| r.status == "interrupted"),
        "the killed run is shown as interrupted (its lease is free): {runs:?}"
    );
    assert!(
        runs.iter().all(|r| r.status != "running"),
        "no run is alive: {runs:?}"
    );
    // What was committed before the kill is used: those nodes hit.
    let statuses = recovers(4);
    for (node, _) in &committed {
        assert_eq!(statuses[node], "hit", "{node}: {statuses:?}");
    }

    // Every run again: all of it hits, with the values of an uncached run.
    for (seed, reference) in seeds.iter().zip(&refs) {
        let run = complete(&dir, *seed);
        assert_eq!(&run.values, reference);
        all(&run.statuses, "hit");
    }
    assert_intact(&dir, &all_refs);

    // The partial temporary file the killed writer left is swept by `gc` once it is older than
    // a live writer's could be, and nothing else changes.
    assert!(
        partial.exists(),
        "no run touches another writer's temporary file"
    );
    let an_hour_ago = std::time::SystemTime::now() - Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(&partial)
        .unwrap()
        .set_modified(an_hour_ago)
        .unwrap();
    let report = weft::Cache::open(&dir)
        .unwrap()
        .gc(weft::cache::GcPolicy::default())
        .unwrap();
    assert_eq!(report.temp_files_removed, 1, "{report:?}");
    // The leases of the three runs killed on the directory (the one stopped in a pipe ran on
    // given stores, which hold none).
    assert_eq!(report.leases_removed, 3, "{report:?}");
    assert!(!partial.exists());
    assert_intact(&dir, &all_refs);
    let _ = std::fs::remove_dir_all(&dir);
}
