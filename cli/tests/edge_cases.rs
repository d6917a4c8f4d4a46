//! The flow CLI where things go wrong around it: results that cannot be written, names given
//! twice, a cache directory that cannot be written or created, and the README's command lines.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::{built_report, flow, flow_bin, stderr, stdout, tempdir, REPORT_INPUTS};
use predicates::prelude::*;

/// The flow CLI in `dir` with `args`, its stdout going to `/dev/full` (every write fails with
/// "no space left on device", as on a full disk).
#[cfg(target_os = "linux")]
fn build_into_dev_full(dir: &Path, args: &[&str]) -> Output {
    into_dev_full(flow_bin(), dir, args)
}

/// `program` in `dir` with `args`, its stdout going to `/dev/full`.
#[cfg(target_os = "linux")]
fn into_dev_full(program: &Path, dir: &Path, args: &[&str]) -> Output {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full exists on Linux");
    Command::new(program)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .args(args)
        .stdout(full)
        .stderr(Stdio::piped())
        .output()
        .expect("the flow CLI runs")
}

#[cfg(target_os = "linux")]
#[test]
fn results_that_cannot_be_written_to_stdout_exit_1_naming_it() {
    let dir = tempdir();
    for format in ["json", "table"] {
        let mut args = vec!["build", "report", "--output", format];
        args.extend(REPORT_INPUTS);
        let out = build_into_dev_full(dir.path(), &args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "--output {format}: {err}");
        assert!(
            err.contains(
                "error: cannot write the results to stdout (/dev/full): No space left on device"
            ),
            "--output {format}: {err}"
        );
        // The run itself went well: its summary is there, before the error.
        assert!(err.contains("3 nodes in"), "{err}");
    }
}

#[cfg(target_os = "linux")]
#[test]
fn a_results_file_that_cannot_be_written_exits_1_naming_it() {
    let dir = tempdir();
    let mut args = vec!["build", "report", "-o", "/dev/full"];
    args.extend(REPORT_INPUTS);
    fails_with(
        dir.path(),
        &args,
        1,
        "error: cannot write the results to `/dev/full`: No space left on device",
    );
    // Both destinations failing: both are named, the file's error last.
    let out = build_into_dev_full(dir.path(), &args);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let stdout_at = err.find("error: cannot write the results to stdout (/dev/full)");
    let file_at = err.find("error: cannot write the results to `/dev/full`");
    assert!(
        stdout_at.is_some() && file_at.is_some() && stdout_at < file_at,
        "{err}"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn every_command_printing_on_stdout_fails_when_it_cannot() {
    let dir = tempdir();
    let mut build = vec!["build", "report", "-q"];
    build.extend(REPORT_INPUTS);
    flow(dir.path()).args(&build).assert().success();
    let weft = assert_cmd::cargo::cargo_bin("weft");
    for (program, args, what) in [
        (flow_bin(), &["list", "--json"][..], "the list"),
        (flow_bin(), &["list"], "the list"),
        (flow_bin(), &["explain", "report"], "the explanation"),
        (
            flow_bin(),
            &["completions", "bash"],
            "the completion script",
        ),
        (flow_bin(), &["cache", "runs"], "the runs"),
        (flow_bin(), &["cache", "show", "--json"], "the run"),
        (weft.as_path(), &["cache", "show"], "the run"),
        (
            weft.as_path(),
            &["completions", "zsh"],
            "the completion script",
        ),
    ] {
        let out = into_dev_full(program, dir.path(), args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains(&format!(
                "error: cannot write {what} to stdout (/dev/full): No space left on device"
            )),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn a_results_file_in_a_missing_directory_exits_1_naming_it() {
    let dir = tempdir();
    let out = flow(dir.path())
        .args(["build", "report", "-o", "missing/results.json"])
        .args(REPORT_INPUTS)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "error: cannot write the results to `missing/results.json`",
        ))
        .get_output()
        .clone();
    // stdout was fine: the table is there.
    assert!(stdout(&out).contains("report  String"), "{}", stdout(&out));
}

#[test]
fn an_input_given_twice_is_a_usage_error_naming_it() {
    let dir = tempdir();
    let mut args = vec!["build", "report", "--input", "spend=11"];
    args.extend(REPORT_INPUTS);
    fails_with(
        dir.path(),
        &args,
        2,
        "input `spend` is given 2 times with --input (`11`, `10`); give it once",
    );
    // Nothing ran, so no cache was created.
    assert!(!dir.path().join(".weft").exists());

    let mut args = vec!["build", "report", "--config", "target_cost=1"];
    args.extend(["--config", "target_cost=3"]);
    args.extend(&REPORT_INPUTS[..4]);
    fails_with(
        dir.path(),
        &args,
        2,
        "config `target_cost` is given 2 times with --config (`1`, `3`); give it once",
    );
    // --input still wins over the inputs file: that is not a name given twice.
    std::fs::write(dir.path().join("inputs.json"), r#"{"spend": 99}"#).unwrap();
    built_report(dir.path(), &["--no-cache", "--inputs", "inputs.json"]);
}

#[test]
fn a_cache_directory_that_cannot_be_created_is_a_usage_error_naming_it() {
    let dir = tempdir();
    // A regular file where a directory should be: fails for every user, root included.
    std::fs::write(dir.path().join("afile"), "").unwrap();
    let mut args = vec!["build", "report", "--cache-dir", "afile/cache"];
    args.extend(REPORT_INPUTS);
    fails_with(
        dir.path(),
        &args,
        2,
        "error: cannot create the cache directory `afile/cache`",
    );
    args.extend(["--executor", "async"]);
    fails_with(
        dir.path(),
        &args,
        2,
        "error: cannot create the cache directory `afile/cache`",
    );
}

#[test]
fn a_malformed_cache_is_healed_and_said_and_a_cache_that_cannot_be_opened_exits_1() {
    let dir = tempdir();
    let mut args = vec!["build", "report"];
    args.extend(REPORT_INPUTS);
    flow(dir.path()).args(&args).assert().success();
    // Garbage over the whole metadata database: moved aside and rebuilt, with a warning on
    // stderr even with --quiet, and the build succeeds.
    let meta = dir.path().join(".weft/cache/meta.sqlite");
    let _ = std::fs::remove_file(dir.path().join(".weft/cache/meta.sqlite-wal"));
    std::fs::write(&meta, vec![0x5Au8; 16384]).unwrap();
    let mut quiet = args.clone();
    quiet.push("--quiet");
    flow(dir.path()).args(&quiet).assert().success().stderr(
        predicate::str::contains("meta.sqlite was malformed")
            .and(predicate::str::contains("moved aside")),
    );
    flow(dir.path())
        .args(["cache", "runs"])
        .assert()
        .success()
        .stdout(predicate::str::contains("ok"));
    // A cache whose database cannot be opened at all (a directory in its place): exit 1,
    // like every cache problem, naming it.
    std::fs::remove_file(&meta).unwrap();
    std::fs::create_dir(&meta).unwrap();
    fails_with(dir.path(), &args, 1, "cannot open the cache at");
}

/// Runs the flow CLI in `dir` as a user who does not own the files there: as root (whom
/// permission bits do not stop), as `nobody` through `setpriv` (util-linux), from a copy of the
/// binary in `dir` (the target directory may be out of that user's reach).
fn flow_as_non_owner(dir: &Path, args: &[&str]) -> Output {
    let probe = dir.join(".owner");
    std::fs::write(&probe, "").unwrap();
    let root = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(&probe).unwrap()) == 0;
    std::fs::remove_file(&probe).unwrap();
    let mut cmd = if root {
        let bin = dir.join("flow_cli");
        if !bin.exists() {
            std::fs::copy(flow_bin(), &bin).unwrap();
            chmod(&bin, 0o755);
        }
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(bin);
        c
    } else {
        Command::new(flow_bin())
    };
    cmd.current_dir(dir)
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("the flow CLI runs (as root, this test needs `setpriv` from util-linux)")
}

/// Sets the permission bits of `path`.
fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn a_read_only_cache_is_used_and_said_not_to_store() {
    let dir = tempdir();
    chmod(dir.path(), 0o755); // the other user must reach the cache
    let cache = dir.path().join(".weft/cache");
    let mut first = vec!["build", "report"];
    first.extend(REPORT_INPUTS);
    flow(dir.path()).args(&first).assert().success();
    let runs = || {
        let out = flow(dir.path())
            .args(["cache", "runs", "--json"])
            .assert()
            .success()
            .get_output()
            .clone();
        stdout(&out)
    };
    let stored = runs();

    // Nothing in it can be written: neither the directory nor its files.
    chmod(&dir.path().join(".weft"), 0o755);
    for entry in std::fs::read_dir(&cache).unwrap() {
        chmod(&entry.unwrap().path(), 0o444);
    }
    chmod(&cache, 0o555);
    let mut args: Vec<&str> = REPORT_INPUTS[..6].to_vec();
    args.splice(0..0, ["build", "report", "--input", "region=US"]);
    let out = flow_as_non_owner(dir.path(), &args);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        stdout(&out).contains("US: 125% of target"),
        "{}",
        stdout(&out)
    );
    assert!(
        err.contains(
            "warning: the cache directory `.weft/cache` is not writable (cannot create a file \
             in it: Permission denied"
        ),
        "{err}"
    );
    assert!(
        err.contains("nothing this run computes will be stored"),
        "{err}"
    );
    // It was read (two hits) and nothing was stored.
    assert!(err.contains("1 executed, 2 hits"), "{err}");
    assert_eq!(runs(), stored, "no run was recorded");

    // The directory writable but its stores read-only: said as well, naming a store.
    chmod(&cache, 0o777);
    let out = flow_as_non_owner(dir.path(), &args);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("warning: the cache directory `.weft/cache` is not writable (cannot write `"),
        "{err}"
    );
    assert_eq!(runs(), stored, "no run was recorded");
}

/// Runs the flow CLI with `args`, expecting exit `code` and `message` on stderr.
fn fails_with(dir: &Path, args: &[&str], code: i32, message: &str) {
    flow(dir)
        .args(args)
        .assert()
        .code(code)
        .stderr(predicate::str::contains(message));
}

#[test]
fn a_store_backlog_is_a_size_needs_the_cache_and_changes_no_result() {
    let dir = tempdir();
    let mut args = vec!["build", "report", "--store-backlog", "lots"];
    args.extend(REPORT_INPUTS);
    fails_with(dir.path(), &args, 2, "`lots` is not a size");
    let mut args = vec!["build", "report", "--no-cache", "--store-backlog", "1MiB"];
    args.extend(REPORT_INPUTS);
    fails_with(dir.path(), &args, 2, "cannot be used with");
    // No backlog at all: each result waits for the one before to be stored; the same report,
    // and a second run finds every result stored.
    built_report(dir.path(), &["--store-backlog", "0"]);
    let second = built_report(dir.path(), &["--store-backlog", "0"]);
    assert!(
        stderr(&second).contains("0 executed"),
        "{}",
        stderr(&second)
    );
}

#[test]
fn a_memory_budget_is_a_size_and_changes_no_result() {
    let dir = tempdir();
    let mut args = vec!["build", "report", "--no-cache", "--memory-budget", "lots"];
    args.extend(REPORT_INPUTS);
    fails_with(dir.path(), &args, 2, "`lots` is not a size");
    // Every executor, with the one-shot default (0) and with a budget: the same report.
    for budget in [None, Some("1KiB"), Some("2GB")] {
        for executor in ["sequential", "threads:2", "async"] {
            let mut cmd = flow(dir.path());
            cmd.args(["build", "report", "--no-cache", "--executor", executor])
                .args(REPORT_INPUTS);
            if let Some(b) = budget {
                cmd.args(["--memory-budget", b]);
            }
            let out = cmd.assert().success().get_output().clone();
            assert!(
                stdout(&out).contains("EU: 125% of target"),
                "{executor} {budget:?}: {}",
                stdout(&out)
            );
        }
    }
}
