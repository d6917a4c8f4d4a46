//! What the flow CLI says when a request is wrong: bad input text, unknown names, missing
//! inputs, a failing node, usage errors.

use super::*;

#[test]
fn bad_input_text_names_the_input_the_type_and_the_text() {
    let dir = tempdir();
    flow(dir.path())
        .args([
            "build",
            "report",
            "--input",
            "spend=10",
            "--input",
            "signups=four",
        ])
        .args(["--input", "target_cost=2"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains(
            "input `signups` expects a `u64`, but `four` is not one: invalid digit found in string",
        ));
    assert!(
        !dir.path().join(".weft").exists(),
        "nothing ran, the cache directory was not even created"
    );
}

#[test]
fn messages_show_short_type_names() {
    let dir = tempdir();
    let out = flow(dir.path())
        .args(["build", "budget_split", "--input", "spend=10"])
        .args(["--input", "channels=search"])
        .assert()
        .code(2)
        .get_output()
        .clone();
    let err = stderr(&out);
    assert!(
        err.contains("input `channels` expects a `Vec<String>`, but `search` is not one"),
        "{err}"
    );
    assert!(!err.contains("alloc::"), "{err}");
}

#[test]
fn unknown_names_get_did_you_mean() {
    let dir = tempdir();
    fails_with(
        dir.path(),
        &[&["build", "reprot"][..], &REPORT_INPUTS].concat(),
        2,
        "unknown output: `reprot` (did you mean `report`?)",
    );
    fails_with(
        dir.path(),
        &["build", "report", "--input", "spnd=10"],
        2,
        "unknown input `spnd` (did you mean `spend`?)",
    );
    fails_with(
        dir.path(),
        &["build", "report", "--config", "target_cots=2"],
        2,
        "unknown config key `target_cots` (did you mean `target_cost`?)",
    );
    fails_with(
        dir.path(),
        &["build", "--input", "cost_ratio=1"],
        2,
        "`cost_ratio` is computed by a node of the flow; it cannot be given with --input",
    );
}

#[test]
fn missing_inputs_are_all_listed() {
    let dir = tempdir();
    let out = flow(dir.path())
        .args(["build", "report", "--input", "spend=10"])
        .assert()
        .code(2)
        .get_output()
        .clone();
    let err = stderr(&out);
    assert!(err.contains("2 problems with the inputs"), "{err}");
    assert!(
        err.contains(
            "missing input `signups: u64` (needed by `spend_per_signup`); pass it with --input signups=…"
        ),
        "{err}"
    );
    assert!(
        err.contains("missing input `target_cost: f64` (needed by `cost_ratio`)"),
        "{err}"
    );
    assert!(
        !err.contains("region"),
        "optional inputs are not missing: {err}"
    );
}

#[test]
fn a_failing_node_exits_1_with_its_error_and_upstream_path() {
    let dir = tempdir();
    let out = flow(dir.path())
        .args([
            "build",
            "report",
            "--input",
            "spend=10",
            "--input",
            "signups=0",
        ])
        .args(["--input", "target_cost=2"])
        .assert()
        .code(1)
        .stdout("")
        .get_output()
        .clone();
    let err = stderr(&out);
    assert!(
        err.contains(
            "error: node `spend_per_signup` failed: no signups: cannot divide spend by zero"
        ),
        "{err}"
    );
    assert!(
        err.contains("upstream path: report <- cost_ratio <- spend_per_signup"),
        "{err}"
    );
    assert!(err.contains("0 executed, 0 hits, 1 failed"), "{err}");

    // The cache recorded the failure; `explain` reads it.
    flow(dir.path())
        .args(["explain", "spend_per_signup"])
        .assert()
        .success()
        .stdout(predicate::str::contains("failed: no signups"));
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempdir();
    flow(dir.path()).assert().code(2);
    flow(dir.path()).args(["frobnicate"]).assert().code(2);
    fails_with(
        dir.path(),
        &["build", "--input", "no_equals_sign"],
        2,
        "expected NAME=VALUE",
    );
    fails_with(
        dir.path(),
        &["build", "--inputs", "missing.json"],
        2,
        "cannot read the inputs file `missing.json`",
    );
    std::fs::write(dir.path().join("list.json"), "[1]").unwrap();
    fails_with(
        dir.path(),
        &["build", "--inputs", "list.json"],
        2,
        "must hold a JSON object",
    );
    flow(dir.path()).args(["--help"]).assert().success();
}
