//! File inputs and watch mode, on real files in temporary directories, watched with the real
//! OS file events (inotify on Linux). Timeouts below only bound how long a broken test hangs;
//! nothing here asserts on speed.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use weft::prelude::*;
use weft::watch::{ChangeKind, Reason, StopHandle, Update, WatchError};
use weft::{value_type, CacheConfig, ExecuteError, FileInput, FileSet, Watcher};

use weft_tests::PATIENCE;

fn temp_dir(name: &str) -> PathBuf {
    let d = weft_tests::temp_dir("watch", name);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Writes like an editor that saves atomically: a temporary file, then a rename over the target.
fn atomic_save(path: &Path, content: &str) {
    let tmp = path.with_file_name(format!(
        ".{}.tmp",
        path.file_name().unwrap().to_string_lossy()
    ));
    std::fs::write(&tmp, content).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// Changes the file's modification time only.
fn touch(path: &Path) {
    let f = std::fs::File::options().append(true).open(path).unwrap();
    f.set_modified(SystemTime::now() + Duration::from_secs(60))
        .unwrap();
}

pub mod flow {
    use weft::files::FileError;
    use weft::prelude::*;
    use weft::FileInput;

    /// One number per line.
    #[node]
    pub fn rows(data: &FileInput) -> Result<Vec<u64>, FileError> {
        Ok(data
            .read_to_string()?
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect())
    }

    #[node]
    pub fn total(rows: &[u64]) -> u64 {
        rows.iter().sum()
    }

    #[node]
    pub fn title(names: &FileInput) -> Result<String, FileError> {
        Ok(names.read_to_string()?.trim().to_string())
    }

    #[node]
    pub fn summary(total: &u64, title: &str) -> String {
        format!("{title}: {total}")
    }
}

fn flow_driver() -> Driver {
    Builder::new()
        .with_modules(weft::modules![crate::flow])
        .build()
        .unwrap()
}

/// The watcher's updates, received on the test's thread.
struct Updates(Receiver<Update>);

impl Updates {
    /// The next update, `Started` ones skipped (the tests below look at what runs did).
    fn next(&self) -> Update {
        loop {
            match self
                .0
                .recv_timeout(PATIENCE)
                .expect("the watcher sent no update in time")
            {
                Update::Started { .. } => continue,
                other => return other,
            }
        }
    }

    /// The next update that is not `Unchanged` (a batch of events that changed nothing, such as
    /// the tail of an earlier save).
    fn next_change(&self) -> Update {
        loop {
            match self.next() {
                Update::Unchanged(_) => continue,
                other => return other,
            }
        }
    }

    /// The next run's report and outputs; any update before it must be `Unchanged`.
    fn next_run(&self) -> (weft::RunReport, Option<Outputs>) {
        loop {
            match self.next() {
                Update::Ran { report, outputs } => return (report, outputs),
                Update::Unchanged(_) => continue,
                other => panic!("unexpected update: {other}"),
            }
        }
    }

    /// Runs until one completes with `summary == want`. Every run on the way must be
    /// cancelled or completed, or have failed because a file changed while it was read (a
    /// newer run follows then).
    fn until_summary(&self, want: &str) -> weft::RunReport {
        loop {
            let (report, outputs) = self.next_run();
            let superseded = report.error().is_some_and(|e| {
                e.to_string()
                    .contains("changed while the run was reading it")
            });
            if report.is_cancelled() || superseded {
                continue;
            }
            assert!(report.is_completed(), "{report:#}");
            let got = outputs.unwrap().get::<String>("summary").unwrap().clone();
            if got == want {
                return report;
            }
        }
    }
}

/// Stops the watcher when dropped, so that a failing assertion does not leave the scope
/// waiting for a watcher nobody stops.
struct StopOnDrop(StopHandle);

impl StopOnDrop {
    fn stop(&self) {
        self.0.stop();
    }
}

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.stop();
    }
}

/// Starts `watcher` on a scoped thread; returns its updates and a stop handle.
fn spawn<'s, 'd: 's>(
    scope: &'s std::thread::Scope<'s, '_>,
    watcher: Watcher<'d>,
) -> (
    Updates,
    StopOnDrop,
    std::thread::ScopedJoinHandle<'s, Result<(), WatchError>>,
) {
    let stop = StopOnDrop(watcher.stop_handle());
    let (tx, rx): (Sender<Update>, _) = channel();
    let handle = scope.spawn(move || {
        watcher.run(move |u| {
            // Shown when a test fails.
            eprintln!("update: {u:#}");
            let _ = tx.send(u.clone());
        })
    });
    (Updates(rx), stop, handle)
}

fn write_flow_files(dir: &Path) -> (PathBuf, PathBuf) {
    let data = dir.join("data.txt");
    let names = dir.join("names.txt");
    std::fs::write(&data, "1\n2\n").unwrap();
    std::fs::write(&names, "sales").unwrap();
    (data, names)
}

#[test]
fn a_file_input_is_versioned_by_content_not_path() {
    let dir = temp_dir("content");
    let (data, names) = write_flow_files(&dir);
    let dr = flow_driver();
    let inputs = inputs! { "data" => FileInput::new(&data), "names" => FileInput::new(&names) };
    let run = |i: &Inputs| dr.execute_recorded(&["summary"], i.clone(), Inputs::new());

    let (out, rec) = run(&inputs).unwrap();
    assert_eq!(rec.executed, ["rows", "title", "total", "summary"]);
    assert_eq!(out.get::<String>("summary").unwrap(), "sales: 3");

    // Rewritten with the same bytes, touched: nothing runs.
    std::fs::write(&data, "1\n2\n").unwrap();
    touch(&names);
    assert!(run(&inputs).unwrap().1.executed.is_empty());

    // New content: exactly the nodes downstream of that file run.
    std::fs::write(&data, "1\n2\n3\n").unwrap();
    let (out, rec) = run(&inputs).unwrap();
    assert_eq!(rec.executed, ["rows", "total", "summary"]);
    assert_eq!(rec.reused, ["title"]);
    assert_eq!(out.get::<String>("summary").unwrap(), "sales: 6");

    // Another path with the same bytes is the same data version.
    let copy = dir.join("copy.txt");
    std::fs::copy(&data, &copy).unwrap();
    let moved = inputs! { "data" => FileInput::new(&copy), "names" => FileInput::new(&names) };
    assert!(run(&moved).unwrap().1.executed.is_empty());

    // A missing file is a change, and the node's error names the file; no panic.
    std::fs::remove_file(&data).unwrap();
    let err = run(&inputs).unwrap_err();
    let text = err.to_string();
    assert!(matches!(&err, ExecuteError::NodeFailed { node, .. } if node == "rows"));
    assert!(
        text.contains("data.txt") && text.contains("does not exist"),
        "{text}"
    );
    // It comes back with the old content: the failed node is retried, and so is `total`,
    // whose dependency went from failed to a value; `total` equals its last value, so
    // `summary` is cut off early.
    std::fs::write(&data, "1\n2\n3\n").unwrap();
    let (out, rec) = run(&inputs).unwrap();
    assert_eq!(rec.executed, ["rows", "total"]);
    assert_eq!(rec.reused, ["title", "summary"]);
    assert_eq!(out.get::<String>("summary").unwrap(), "sales: 6");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn file_inputs_key_the_persistent_cache_by_content_and_parse_from_text() {
    let dir = temp_dir("cache");
    let (data, names) = write_flow_files(&dir);
    let build = || {
        Builder::new()
            .with_modules(weft::modules![crate::flow])
            .with_cache_config(CacheConfig::at(dir.join("cache")))
            .build()
            .unwrap()
    };
    let inputs = || inputs! { "data" => FileInput::new(&data), "names" => FileInput::new(&names) };
    let (_, rec) = build()
        .execute_recorded(&["summary"], inputs(), Inputs::new())
        .unwrap();
    assert_eq!(rec.executed.len(), 4);
    // A new driver (a new process): everything hits.
    let (_, rec) = build()
        .execute_recorded(&["summary"], inputs(), Inputs::new())
        .unwrap();
    assert!(rec.executed.is_empty(), "{rec:?}");
    // The file changed between processes: only what reads it runs. Hamilton's loader
    // given a path would hit here and return stale data.
    std::fs::write(&data, "10\n").unwrap();
    let (out, rec) = build()
        .execute_recorded(&["summary"], inputs(), Inputs::new())
        .unwrap();
    assert_eq!(rec.executed, ["rows", "total", "summary"]);
    assert_eq!(out.get::<String>("summary").unwrap(), "sales: 10");

    // Text (the CLI) and JSON give a file input as its path.
    let ty = value_type!(FileInput);
    assert!(ty.is_fingerprintable());
    let parsed = (ty.parser().unwrap())("data.csv").unwrap();
    assert_eq!(
        parsed.downcast_ref::<FileInput>().unwrap().path(),
        Path::new("data.csv")
    );
    let codec = ty.codec().expect("serde round trip");
    let json = (codec.encode)(&FileInput::new("a/b.csv"), "json").unwrap();
    assert_eq!(json, br#""a/b.csv""#);
    let back = (codec.decode)(&json, "json").unwrap();
    assert_eq!(back.downcast_ref(), Some(&FileInput::new("a/b.csv")));
    let sets = value_type!(FileSet).codec().unwrap();
    let set = (sets.decode)(br#""data/**/*.csv""#, "json").unwrap();
    assert_eq!(set.downcast_ref(), Some(&FileSet::glob("data/**/*.csv")));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_file_that_changes_during_the_run_is_not_read_as_the_old_version() {
    let dir = temp_dir("changed");
    let path = dir.join("x.txt");
    std::fs::write(&path, "old").unwrap();
    let file = FileInput::new(&path);
    // The run fingerprints the file...
    let _ = weft::data_version_of(&file);
    // ...then someone saves before the node reads it.
    std::fs::write(&path, "new").unwrap();
    let err = file.read_to_string().unwrap_err();
    assert!(matches!(err, weft::files::FileError::Changed { .. }));
    assert!(err.to_string().contains("x.txt"), "{err}");
    // The next fingerprint sees the new content, and the read succeeds.
    let _ = weft::data_version_of(&file);
    assert_eq!(file.read_to_string().unwrap(), "new");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn saving_a_file_reruns_only_its_dependents_and_says_why() {
    let dir = temp_dir("save");
    let (data, names) = write_flow_files(&dir);
    let dr = flow_driver();
    let watcher = summary_watcher(&dr, &data, &names);
    std::thread::scope(|s| {
        let (updates, stop, handle) = spawn(s, watcher);
        match updates.next() {
            Update::Watching(paths) => {
                assert_eq!(paths.len(), 2, "{paths:?}");
                assert!(paths.iter().any(|p| p.ends_with("data.txt")));
            }
            other => panic!("expected Watching, got {other}"),
        }
        let (first, outputs) = updates.next_run();
        assert_eq!(first.number, 1);
        assert_eq!(
            first.executed_names(),
            ["rows", "title", "total", "summary"]
        );
        assert_eq!(first.reason("rows"), Some(&Reason::New));
        assert_eq!(
            outputs.unwrap().get::<String>("summary").unwrap(),
            "sales: 3"
        );
        assert!(first.to_string().starts_with("run 1: first run; ran rows"));

        std::fs::write(&data, "1\n2\n4\n").unwrap();
        let report = updates.until_summary("sales: 7");
        assert_eq!(report.executed_names(), ["rows", "total", "summary"]);
        assert_eq!(report.reused, ["title"]);
        assert_eq!(
            report.reason("total"),
            Some(&Reason::Changed(vec!["data".into()]))
        );
        assert_eq!(report.changed.len(), 1);
        assert!(report.changed[0]
            .file
            .as_deref()
            .unwrap()
            .ends_with("data.txt"));
        assert!(report.executed.iter().all(|n| n.duration.is_some()));
        // Terse: one line naming the file; verbose: a line per node.
        let terse = report.to_string();
        assert!(!terse.contains('\n'));
        assert!(
            terse.contains("data.txt changed; ran rows, total, summary; reused 1; "),
            "{terse}"
        );
        let verbose = format!("{report:#}");
        assert_eq!(verbose.lines().count(), 1 + 3 + 1, "{verbose}");
        assert!(verbose.contains("because `data` changed"), "{verbose}");
        assert!(verbose.lines().last().unwrap().contains("reused  title"));

        stop.stop();
        handle.join().unwrap().unwrap();
    });
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn atomic_saves_bursts_and_touches() {
    let dir = temp_dir("editor");
    let (data, names) = write_flow_files(&dir);
    let dr = flow_driver();
    let watcher = summary_watcher(&dr, &data, &names);
    std::thread::scope(|s| {
        let (updates, stop, handle) = spawn(s, watcher);
        assert!(matches!(updates.next(), Update::Watching(_)));
        updates.until_summary("sales: 3");

        // An editor's atomic save (temp file + rename over): one change, never "missing".
        atomic_save(&data, "5\n");
        let report = updates.until_summary("sales: 5");
        assert!(
            report.changed.iter().all(|c| c.kind != ChangeKind::Missing),
            "{report:#}"
        );

        // A burst of writes: whatever runs on the way, it ends with the last content.
        for i in 1..=5 {
            std::fs::write(&data, format!("{i}0\n")).unwrap();
        }
        updates.until_summary("sales: 50");

        // A touch and a save without changes run nothing: the next updates are `Unchanged`
        // until the next real change, which runs. (Saved atomically: a plain write empties the
        // file first, and a batch of events could see it empty.)
        touch(&data);
        atomic_save(&names, "sales");
        match updates.next() {
            Update::Unchanged(paths) => assert!(!paths.is_empty()),
            other => panic!("a touch must not rerun anything, got: {other}"),
        }
        std::fs::write(&names, "revenue").unwrap();
        let report = updates.until_summary("revenue: 50");
        assert_eq!(report.executed_names(), ["title", "summary"]);

        stop.stop();
        handle.join().unwrap().unwrap();
    });
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_file_that_disappears_is_an_error_naming_it_and_is_watched_until_it_returns() {
    let dir = temp_dir("missing");
    let (data, names) = write_flow_files(&dir);
    // `later.txt` lives in directories that do not exist yet.
    let later = dir.join("not/yet/later.txt");
    let dr = flow_driver();
    let inputs = inputs! { "data" => FileInput::new(&data), "names" => FileInput::new(&later) };
    let watcher = Watcher::new(&dr, &["summary"], inputs).debounce(Duration::from_millis(30));
    std::thread::scope(|s| {
        let (updates, stop, handle) = spawn(s, watcher);
        assert!(matches!(updates.next(), Update::Watching(_)));
        // The first run fails on the missing file; the watcher keeps going.
        let (report, _) = updates.next_run();
        let text = report.error().expect("fails").to_string();
        assert!(
            text.contains("later.txt") && text.contains("does not exist"),
            "{text}"
        );
        assert!(report.to_string().contains("failed"));

        // The directories and the file appear: it runs.
        std::fs::create_dir_all(later.parent().unwrap()).unwrap();
        std::fs::write(&later, "late").unwrap();
        updates.until_summary("late: 3");

        // Removed: a failure naming the file, reported as missing.
        std::fs::remove_file(&data).unwrap();
        let (report, _) = updates.next_run();
        assert!(
            report.changed.iter().any(|c| c.kind == ChangeKind::Missing),
            "{report:#}"
        );
        let text = report.error().expect("fails").to_string();
        assert!(text.contains("node `rows` failed"), "{text}");
        assert!(text.contains("data.txt"), "{text}");
        assert!(report.to_string().contains("data.txt missing"), "{report}");

        // Back again: the failed node reruns.
        std::fs::write(&data, "7\n").unwrap();
        updates.until_summary("late: 7");
        stop.stop();
        handle.join().unwrap().unwrap();
    });
    let _ = std::fs::remove_dir_all(&dir);
    let _ = names;
}

#[test]
fn invalid_requests_fail_at_once_and_config_files_are_flagged() {
    let dir = temp_dir("invalid");
    let (data, _) = write_flow_files(&dir);
    let dr = flow_driver();
    let err = Watcher::new(&dr, &["summry"], Inputs::new())
        .run(|_| {})
        .unwrap_err();
    assert!(err.to_string().contains("did you mean `summary`?"), "{err}");
    // `names` is missing: no file change can fix that.
    let err = Watcher::new(
        &dr,
        &["summary"],
        inputs! { "data" => FileInput::new(&data) },
    )
    .run(|_| {})
    .unwrap_err();
    assert!(
        matches!(&err, WatchError::Execute(ExecuteError::BadInputs(_))),
        "{err}"
    );
    assert!(err.to_string().contains("missing input `names"), "{err}");

    // A file given as config is fingerprinted once: the watcher says so.
    let dr = Builder::new()
        .with_modules(weft::modules![crate::flow])
        .with_config(inputs! { "names" => FileInput::new(dir.join("names.txt")) })
        .build()
        .unwrap();
    let watcher = Watcher::new(
        &dr,
        &["summary"],
        inputs! { "data" => FileInput::new(&data) },
    );
    let stop = watcher.stop_handle();
    let mut seen = Vec::new();
    watcher
        .run(|u| {
            seen.push(u.to_string());
            if u.report().is_some() {
                stop.stop();
            }
        })
        .unwrap();
    assert!(
        seen[0].contains("config `names` is a file") && seen[0].contains("pass it as an input"),
        "{seen:?}"
    );
    assert!(seen.iter().any(|l| l.starts_with("watching ")), "{seen:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A watcher of `summary` over the two flow files, debounced briefly.
fn summary_watcher<'d>(dr: &'d weft::Driver, data: &Path, names: &Path) -> Watcher<'d> {
    let inputs = inputs! { "data" => FileInput::new(data), "names" => FileInput::new(names) };
    Watcher::new(dr, &["summary"], inputs).debounce(Duration::from_millis(30))
}

#[path = "watch/cancel.rs"]
mod cancel;
#[path = "watch/sets.rs"]
mod sets;
