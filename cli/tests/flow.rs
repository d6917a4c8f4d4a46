//! The flow CLI end to end: the `flow_cli` example (examples/flow_cli) run as a user would, in a
//! fresh directory each time, so every test has its own `.weft/cache`.

mod common;

use common::{built_report, flow, stderr, stdout, tempdir, weft, REPORT_INPUTS};
use predicates::prelude::*;

#[test]
fn build_prints_a_table_and_caches_for_the_next_process() {
    let dir = tempdir();
    let out = flow(dir.path())
        .arg("build")
        .arg("report")
        .args(REPORT_INPUTS)
        .assert()
        .success()
        .get_output()
        .clone();
    let table = stdout(&out);
    assert!(table.starts_with("OUTPUT  TYPE    VALUE\n"), "{table}");
    assert!(
        table.contains(r#"report  String  "EU: 125% of target cost per signup""#),
        "{table}"
    );
    let err = stderr(&out);
    assert!(
        err.contains("3 nodes in") && err.contains("3 executed, 0 hits, 0 failed"),
        "{err}"
    );
    // Not a terminal: one line per node.
    assert!(err.contains("[1/3] executed  spend_per_signup"), "{err}");
    assert!(dir.path().join(".weft/cache/meta.sqlite").is_file());

    // A new process with the same inputs executes nothing.
    let out = flow(dir.path())
        .arg("build")
        .arg("report")
        .args(REPORT_INPUTS)
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(stdout(&out), table, "same results from the cache");
    let err = stderr(&out);
    assert!(err.contains("0 executed, 3 hits, 0 failed"), "{err}");
    assert!(err.contains("[3/3] hit       report"), "{err}");
    // Verbose, it says the cache answered the whole run (a new process, every node stored).
    let out = built_report(dir.path(), &["--verbose"]);
    assert!(
        stderr(&out).contains("run: answered from the cache"),
        "{}",
        stderr(&out)
    );

    // And the cache says so, read by the standalone tool.
    let show = weft(dir.path())
        .args(["cache", "show"])
        .assert()
        .success()
        .get_output()
        .clone();
    let show = stdout(&show);
    assert!(show.contains("0 executed, 3 hits, 0 failed"), "{show}");
    for node in ["spend_per_signup", "cost_ratio", "report"] {
        let line = show
            .lines()
            .find(|l| l.starts_with(node))
            .unwrap_or_else(|| panic!("no line for {node} in\n{show}"));
        assert!(line.contains(" hit "), "{line}");
    }
}

#[test]
fn build_json_output_and_results_file() {
    let dir = tempdir();
    let out = flow(dir.path())
        .args([
            "build",
            "report",
            "budget_split",
            "--output",
            "json",
            "-o",
            "res.json",
        ])
        .args(REPORT_INPUTS)
        .args(["--input", r#"channels=["search","social"]"#, "--no-cache"])
        .assert()
        .success()
        .get_output()
        .clone();
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(printed["report"], "EU: 125% of target cost per signup");
    assert_eq!(printed["budget_split"]["search"], 5.0);
    assert_eq!(printed["budget_split"]["social"], 5.0);
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("res.json")).unwrap())
            .unwrap();
    assert_eq!(written, printed);
    assert!(
        !dir.path().join(".weft").exists(),
        "--no-cache leaves no cache behind"
    );
}

#[test]
fn no_outputs_builds_every_sink_with_inputs_from_a_file() {
    let dir = tempdir();
    std::fs::write(
        dir.path().join("inputs.json"),
        r#"{"spend": 12, "signups": "3", "channels": ["a", "b", "c"], "region": null}"#,
    )
    .unwrap();
    let out = flow(dir.path())
        .args([
            "build",
            "--inputs",
            "inputs.json",
            "--config",
            "target_cost=2",
        ])
        .args(["--output", "json", "--input", "spend=30"]) // --input wins over the file
        .assert()
        .success()
        .get_output()
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["budget_split", "headline"], "the DAG's sinks");
    assert_eq!(v["headline"], "ALL REGIONS: 500% OF TARGET COST PER SIGNUP");
    assert_eq!(v["budget_split"]["a"], 10.0);
}

#[test]
fn recompute_executes_a_cached_node_again() {
    let dir = tempdir();
    flow(dir.path())
        .args(["build", "report"])
        .args(REPORT_INPUTS)
        .assert()
        .success();
    let out = flow(dir.path())
        .args(["build", "report", "--recompute", "spend_per_signup"])
        .args(REPORT_INPUTS)
        .assert()
        .success()
        .get_output()
        .clone();
    let err = stderr(&out);
    // Recomputed to the same value: its children still hit.
    assert!(err.contains("1 executed, 2 hits"), "{err}");
    flow(dir.path())
        .args(["explain", "spend_per_signup"])
        .assert()
        .success()
        .stdout(predicate::str::contains("recomputed"));
    fails_with(
        dir.path(),
        &[
            &["build", "report", "--recompute", "spend_per_signp"][..],
            &REPORT_INPUTS,
        ]
        .concat(),
        2,
        "did you mean `spend_per_signup`?",
    );
    let out = flow(dir.path())
        .args(["build", "report", "--recompute-all", "-q"])
        .args(REPORT_INPUTS)
        .assert()
        .success()
        .get_output()
        .clone();
    let err = stderr(&out);
    assert!(err.contains("3 executed, 0 hits"), "{err}");
    assert!(
        !err.contains("[1/3]"),
        "--quiet prints only the summary: {err}"
    );
}

#[test]
fn explain_says_which_input_changed() {
    let dir = tempdir();
    flow(dir.path())
        .args(["build", "report"])
        .args(REPORT_INPUTS)
        .assert()
        .success();
    flow(dir.path())
        .args([
            "build",
            "report",
            "--input",
            "spend=20",
            "--input",
            "signups=4",
        ])
        .args(["--input", "target_cost=2"])
        .assert()
        .success();
    flow(dir.path())
        .args(["explain", "spend_per_signup"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "dependency `spend` changed data version",
        ));
    fails_with(
        dir.path(),
        &["explain", "reprot"],
        2,
        "unknown node `reprot` (did you mean `report`?)",
    );
}

#[test]
fn every_executor_gives_the_same_results() {
    let dir = tempdir();
    let run = |executor: &str| {
        let out = flow(dir.path())
            .args(["build", "--output", "json", "--executor", executor, "-v"])
            .args(["--cache-dir", executor])
            .args(REPORT_INPUTS)
            .args(["--input", r#"channels=["a","b"]"#])
            .assert()
            .success()
            .get_output()
            .clone();
        (stdout(&out), stderr(&out))
    };
    let (sequential, log) = run("sequential");
    assert!(log.contains("executor: sequential"), "{log}");
    assert!(log.contains("5 executed, 0 hits, 0 failed"), "{log}");
    let v: serde_json::Value = serde_json::from_str(&sequential).unwrap();
    assert_eq!(v["headline"], "EU: 125% OF TARGET COST PER SIGNUP");
    for executor in ["threads:2", "async"] {
        let (out, log) = run(executor);
        assert_eq!(out, sequential, "{executor}");
        assert!(
            log.contains("5 executed, 0 hits, 0 failed"),
            "{executor}: {log}"
        );
        // A second process: hits, the async node included.
        let (out, log) = run(executor);
        assert_eq!(out, sequential, "{executor}");
        assert!(
            log.contains("0 executed, 5 hits, 0 failed"),
            "{executor}: {log}"
        );
    }
    let (_, log) = run("threads:2");
    assert!(log.contains("executor: threads(2)"), "{log}");
    let (_, log) = run("async");
    assert!(log.contains("executor: async (tokio)"), "{log}");
    fails_with(
        dir.path(),
        &["build", "report", "--executor", "threads:zero"],
        2,
        "at least 1",
    );
    fails_with(
        dir.path(),
        &["build", "report", "--executor", "fibers"],
        2,
        "unknown executor `fibers`",
    );
}

#[test]
fn keep_going_runs_what_does_not_depend_on_the_failure() {
    let dir = tempdir();
    let args = [
        "--input",
        "spend=10",
        "--input",
        "signups=0",
        "--input",
        "target_cost=2",
        "--input",
        r#"channels=["a"]"#,
    ];
    let out = flow(dir.path())
        .args(["build", "--keep-going"])
        .args(args)
        .assert()
        .code(1)
        .get_output()
        .clone();
    let err = stderr(&out);
    assert!(err.contains("executed  budget_split"), "{err}");
    assert!(err.contains("1 executed, 0 hits, 1 failed"), "{err}");
    assert!(
        err.contains("error: node `spend_per_signup` failed"),
        "{err}"
    );
}

#[test]
fn list_json_describes_nodes_inputs_and_config() {
    let dir = tempdir();
    let out = flow(dir.path())
        .args(["list", "--json", "--config", "target_cost=2"])
        .assert()
        .success()
        .get_output()
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("list --json parses");
    let functions = v["functions"].as_array().unwrap();
    let names: Vec<&str> = functions
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "budget_split",
            "cost_ratio",
            "headline",
            "report",
            "spend_per_signup"
        ]
    );
    assert_eq!(functions[2]["async"], true);
    let report = &functions[3];
    assert_eq!(report["module"], "flow_cli::nodes");
    assert_eq!(report["function"], "report");
    assert_eq!(report["type"], "alloc::string::String");
    assert_eq!(
        report["doc"],
        "A one-line report for a region (all regions when none is given)."
    );
    assert_eq!(report["tags"]["stage"], "prod");
    assert_eq!(report["dependencies"][1]["name"], "region");
    assert_eq!(report["dependencies"][1]["optional"], true);
    assert_eq!(report["dependencies"][1]["kind"], "optional");
    assert_eq!(report["dependencies"][0]["kind"], "required");
    let inputs: Vec<&str> = v["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(inputs, ["channels", "region", "signups", "spend"]);
    assert_eq!(v["config"][0]["name"], "target_cost");
    assert_eq!(v["config"][0]["needed_by"][0], "cost_ratio");
}

#[test]
fn viz_writes_svg_or_dot() {
    let dir = tempdir();
    flow(dir.path())
        .args(["viz", "-o", "x.svg"])
        .assert()
        .success()
        .stderr(predicate::str::contains("wrote x.svg (10 nodes)"));
    let svg = std::fs::read_to_string(dir.path().join("x.svg")).unwrap();
    assert!(svg.contains("<svg") && svg.contains("budget_split"));
    flow(dir.path())
        .args(["viz", "report", "-o", "report.dot"])
        .assert()
        .success();
    let dot = std::fs::read_to_string(dir.path().join("report.dot")).unwrap();
    assert!(dot.starts_with("digraph"), "{dot}");
    assert!(dot.contains("cost_ratio") && !dot.contains("budget_split"));
    fails_with(dir.path(), &["viz", "reprot"], 2, "did you mean `report`?");
}

#[test]
fn flow_cache_subcommands_work_too() {
    let dir = tempdir();
    flow(dir.path())
        .args(["build", "report"])
        .args(REPORT_INPUTS)
        .assert()
        .success();
    flow(dir.path())
        .args(["cache", "runs"])
        .assert()
        .success()
        .stdout(predicate::str::contains("3 (3 executed, 0 hits)"));
    fails_with(
        dir.path(),
        &["cache", "--cache-dir", "elsewhere", "runs"],
        2,
        "no cache in `elsewhere`",
    );
}

#[test]
fn completions_for_the_flow() {
    let dir = tempdir();
    flow(dir.path())
        .args(["completions", "bash"])
        .assert()
        .success()
        .stdout(predicate::str::contains("flow_cli").and(predicate::str::contains("--recompute")));
    flow(dir.path())
        .args(["completions", "zsh"])
        .assert()
        .success()
        .stdout(predicate::str::contains("#compdef flow_cli"));
}

#[test]
fn watch_runs_reports_and_stops() {
    let dir = tempdir();
    let out = flow(dir.path())
        .args(["watch", "report", "--max-runs", "1", "--no-cache"])
        .args(REPORT_INPUTS)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("nothing to watch after this run"), "{text}");
    assert!(text.contains("report"), "{text}");
    // Bad requests fail before anything is watched.
    flow(dir.path())
        .args(["watch", "reprot", "--max-runs", "1"])
        .args(REPORT_INPUTS)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("did you mean `report`"));
    flow(dir.path())
        .args(["watch", "report", "--executor", "async"])
        .args(REPORT_INPUTS)
        .assert()
        .code(2);
}

/// Runs the flow CLI with `args`, expecting exit `code` and `message` on stderr.
fn fails_with(dir: &std::path::Path, args: &[&str], code: i32, message: &str) {
    flow(dir)
        .args(args)
        .assert()
        .code(code)
        .stderr(predicate::str::contains(message));
}

#[test]
fn list_and_build_select_nodes_by_tag() {
    let dir = tempdir();
    let names = |args: &[&str]| -> Vec<String> {
        let out = flow(dir.path())
            .args(["list", "--json"])
            .args(args)
            .assert()
            .success()
            .get_output()
            .clone();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["functions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        names(&["--tag", "owner=growth"]),
        ["cost_ratio", "report", "spend_per_signup"]
    );
    assert_eq!(
        names(&["--tag", "owner", "--tag", "stage=prod"]),
        ["report"]
    );
    assert!(names(&["--tag", "owner=finance"]).is_empty());

    // `build --tag`: the tagged nodes are the outputs.
    let out = flow(dir.path())
        .args([
            "build",
            "--tag",
            "stage=prod",
            "--output",
            "json",
            "--no-cache",
        ])
        .args(REPORT_INPUTS)
        .assert()
        .success()
        .get_output()
        .clone();
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        printed.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["report"]
    );
    flow(dir.path())
        .args(["build", "--tag", "stage=dev", "--no-cache"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("no node is tagged stage=dev"));
}

#[test]
fn cache_warnings_are_printed_even_with_quiet() {
    let dir = tempdir();
    flow(dir.path())
        .args(["build", "report"])
        .args(REPORT_INPUTS)
        .assert()
        .success();
    // The stored results vanish; their keys stay: the next run hits, reads them, finds them
    // missing and recomputes them, which must not pass unsaid.
    let cache = dir.path().join(".weft/cache");
    for f in ["results.sqlite", "results.sqlite-wal", "results.sqlite-shm"] {
        let _ = std::fs::remove_file(cache.join(f));
    }
    let _ = std::fs::remove_dir_all(cache.join("results"));
    let out = built_report(dir.path(), &["--quiet"]);
    let err = stderr(&out);
    assert!(
        err.contains("warning: stored result of `report`") && err.contains("missing"),
        "{err}"
    );
    // The repair was stored: the next process hits everything, without a warning.
    let out = flow(dir.path())
        .args(["build", "report", "--quiet"])
        .args(REPORT_INPUTS)
        .assert()
        .success()
        .get_output()
        .clone();
    let err = stderr(&out);
    assert!(
        err.contains("0 executed, 3 hits") && !err.contains("warning"),
        "{err}"
    );

    // `watch` says so too, after its run.
    for f in ["results.sqlite", "results.sqlite-wal", "results.sqlite-shm"] {
        let _ = std::fs::remove_file(cache.join(f));
    }
    let out = flow(dir.path())
        .args(["watch", "report", "--max-runs", "1", "--quiet"])
        .args(REPORT_INPUTS)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(r#""EU: 125% of target cost per signup""#),
        "{}",
        stdout(&out)
    );
    let err = stderr(&out);
    assert!(
        err.contains("warning: stored result of `report`") && err.contains("missing"),
        "{err}"
    );
}

#[path = "flow/messages.rs"]
mod messages;
