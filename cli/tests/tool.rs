//! The standalone `weft` binary end to end: `weft cache …` on a real cache directory made by
//! the fixture flow, `weft completions`, usage errors.

mod common;

use std::path::Path;

use common::{flow, stderr, stdout, tempdir, weft, REPORT_INPUTS};
use predicates::prelude::*;

/// Two runs in `dir/my_cache`: the first executes everything, the second (another `spend`)
/// re-executes `spend_per_signup` and what depends on it.
fn two_runs(dir: &Path) -> (String, String) {
    for spend in ["10", "20"] {
        flow(dir)
            .args(["build", "report", "--cache-dir", "my_cache", "-q"])
            .args(&REPORT_INPUTS[2..]) // all but `spend`: an input given twice is an error
            .args(["--input", &format!("spend={spend}")])
            .assert()
            .success();
    }
    let out = weft(dir)
        .args(["cache", "runs", "--json", "--cache-dir", "my_cache"])
        .assert()
        .success()
        .get_output()
        .clone();
    let runs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let runs = runs.as_array().unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0]["executed"], 3);
    assert_eq!(runs[0]["status"], "ok");
    assert_eq!(runs[0]["outputs"][0], "report");
    let id = |i: usize| runs[i]["run_id"].as_str().unwrap().to_string();
    (id(0), id(1))
}

#[test]
fn cache_runs_and_show() {
    let dir = tempdir();
    let (first, second) = two_runs(dir.path());
    let out = weft(dir.path())
        .args(["cache", "--cache-dir", "my_cache", "runs"])
        .assert()
        .success()
        .get_output()
        .clone();
    let table = stdout(&out);
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("RUN "), "{table}");
    assert!(lines[1].starts_with(&first) && lines[1].contains("3 (3 executed, 0 hits)"));
    assert!(lines[2].starts_with(&second) && lines[2].contains(" ok "));

    // `show` of a run by prefix: one record per node, status, duration, version, reason.
    let out = weft(dir.path())
        .args(["cache", "show", &first[..6], "--cache-dir", "my_cache"])
        .assert()
        .success()
        .get_output()
        .clone();
    let show = stdout(&out);
    assert!(show.starts_with(&format!("run {first} · ok")), "{show}");
    let row = show
        .lines()
        .find(|l| l.starts_with("spend_per_signup"))
        .unwrap();
    assert!(row.contains("executed"), "{row}");
    assert!(row.contains("no stored result for this key"), "{row}");

    let out = weft(dir.path())
        .args(["cache", "show", "--json", "--cache-dir", "my_cache"])
        .assert()
        .success()
        .get_output()
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["run"]["run_id"], second.as_str());
    let records = v["records"].as_array().unwrap();
    assert_eq!(records.len(), 3);
    assert!(records.iter().all(|r| r["status"] == "executed"));

    weft(dir.path())
        .args(["cache", "show", "zzzz", "--cache-dir", "my_cache"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no run `zzzz`"));
}

#[test]
fn cache_explain_names_the_changed_dependency() {
    let dir = tempdir();
    let (first, _) = two_runs(dir.path());
    weft(dir.path())
        .args([
            "cache",
            "explain",
            "spend_per_signup",
            "--cache-dir",
            "my_cache",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "dependency `spend` changed data version",
        ));
    weft(dir.path())
        .args(["cache", "explain", "report", "--run", &first])
        .args(["--cache-dir", "my_cache"])
        .assert()
        .success()
        .stdout(predicate::str::contains("first run"));
    weft(dir.path())
        .args(["cache", "explain", "reprot", "--cache-dir", "my_cache"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("did you mean `report`?"));
}

#[test]
fn cache_view_writes_a_picture() {
    let dir = tempdir();
    two_runs(dir.path());
    weft(dir.path())
        .args(["cache", "view", "-o", "run.svg", "--cache-dir", "my_cache"])
        .assert()
        .success()
        .stderr(predicate::str::contains("wrote run.svg"));
    let svg = std::fs::read_to_string(dir.path().join("run.svg")).unwrap();
    assert!(svg.contains("<svg") && svg.contains("spend_per_signup"));
    weft(dir.path())
        .args(["cache", "view", "-o", "run.dot", "--cache-dir", "my_cache"])
        .assert()
        .success();
    let dot = std::fs::read_to_string(dir.path().join("run.dot")).unwrap();
    assert!(dot.starts_with("digraph"));
}

#[test]
fn cache_gc_and_clear() {
    let dir = tempdir();
    let (_, second) = two_runs(dir.path());
    weft(dir.path())
        .args(["cache", "gc", "--keep-runs", "1", "--cache-dir", "my_cache"])
        .assert()
        .success()
        .stdout(predicate::str::contains("removed 1 run and "));
    let out = weft(dir.path())
        .args(["cache", "runs", "--json", "--cache-dir", "my_cache"])
        .output()
        .unwrap();
    let runs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(runs.as_array().unwrap().len(), 1);
    assert_eq!(runs[0]["run_id"], second.as_str());

    // The kept run's results still serve hits.
    let out = flow(dir.path())
        .args(["build", "report", "--cache-dir", "my_cache"])
        .args(&REPORT_INPUTS[2..]) // all but `spend`
        .args(["--input", "spend=20"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(
        stderr(&out).contains("0 executed, 3 hits"),
        "{}",
        stderr(&out)
    );

    weft(dir.path())
        .args([
            "cache",
            "gc",
            "--max-size",
            "lots",
            "--cache-dir",
            "my_cache",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("`lots` is not a size"));
    weft(dir.path())
        .args(["cache", "gc", "--max-size", "0B", "--cache-dir", "my_cache"])
        .assert()
        .success()
        .stdout(predicate::str::contains("0 B kept"));

    weft(dir.path())
        .args(["cache", "clear", "--cache-dir", "my_cache"])
        .assert()
        .success()
        .stdout(predicate::str::contains("cleared my_cache"));
    weft(dir.path())
        .args(["cache", "runs", "--cache-dir", "my_cache"])
        .assert()
        .success()
        .stdout(predicate::str::contains("no runs in `my_cache`"));
}

#[test]
fn cache_commands_need_a_cache() {
    let dir = tempdir();
    weft(dir.path())
        .args(["cache", "runs"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "no cache in `.weft/cache` (no meta.sqlite there)",
        ));
    assert!(
        !dir.path().join(".weft").exists(),
        "inspection creates nothing"
    );
}

#[test]
fn completions_and_usage() {
    let dir = tempdir();
    weft(dir.path())
        .args(["completions", "fish"])
        .assert()
        .success()
        .stdout(predicate::str::contains("complete -c weft"));
    weft(dir.path()).assert().code(2);
    // `weft dev` outside a crate says what to do.
    weft(dir.path()).args(["dev"]).assert().code(2).stderr(
        predicate::str::contains("has no Cargo.toml").and(predicate::str::contains("weft new")),
    );
    weft(dir.path())
        .arg("--version")
        .assert()
        .success()
        .stdout(predicate::str::starts_with("weft "));
}
