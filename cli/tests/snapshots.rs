//! Snapshot tests (insta) of every `--help` of both binaries, and of a build's output (table on
//! stdout, per-node lines and summary on stderr) with durations and run ids redacted.
//! Review changes with `cargo insta review`, or accept them with `INSTA_UPDATE=always`.

mod common;

use common::{flow, redact, stderr, stdout, tempdir, weft, REPORT_INPUTS};

fn help(out: std::process::Output) -> String {
    assert!(out.status.success());
    stdout(&out)
}

#[test]
fn flow_help() {
    let dir = tempdir();
    let subcommands: &[&[&str]] = &[
        &[],
        &["build"],
        &["list"],
        &["viz"],
        &["explain"],
        &["completions"],
        &["cache"],
        &["cache", "runs"],
        &["cache", "show"],
        &["cache", "explain"],
        &["cache", "view"],
        &["cache", "gc"],
        &["cache", "clear"],
    ];
    for sub in subcommands {
        let out = flow(dir.path()).args(*sub).arg("--help").output().unwrap();
        let name = format!("flow_help_{}", sub.join("_"));
        insta::assert_snapshot!(name.trim_end_matches('_'), help(out));
    }
}

#[test]
fn weft_help() {
    let dir = tempdir();
    let subcommands: &[&[&str]] = &[
        &[],
        &["new"],
        &["completions"],
        &["cache"],
        &["cache", "gc"],
    ];
    for sub in subcommands {
        let out = weft(dir.path()).args(*sub).arg("--help").output().unwrap();
        let name = format!("weft_help_{}", sub.join("_"));
        insta::assert_snapshot!(name.trim_end_matches('_'), help(out));
    }
}

#[test]
fn build_table_output() {
    let dir = tempdir();
    let out = flow(dir.path())
        .args(["build", "report", "budget_split"])
        .args(REPORT_INPUTS)
        .args(["--input", r#"channels=["search","social","video"]"#])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    insta::assert_snapshot!("build_table_stdout", stdout(&out));
    insta::assert_snapshot!("build_table_stderr", redact(&stderr(&out)));

    // The same build in a new process: all hits.
    let out = flow(dir.path())
        .args(["build", "report", "budget_split"])
        .args(REPORT_INPUTS)
        .args(["--input", r#"channels=["search","social","video"]"#])
        .output()
        .unwrap();
    insta::assert_snapshot!("build_table_stderr_all_hits", redact(&stderr(&out)));

    let out = weft(dir.path()).args(["cache", "show"]).output().unwrap();
    // Records come in execution order, which is the scheduler's business: rows sorted.
    let text = redact(&stdout(&out));
    let (head, rows) = text.split_once("REASON\n").expect("a table");
    let mut rows: Vec<&str> = rows.lines().collect();
    rows.sort_unstable();
    insta::assert_snapshot!(
        "cache_show_all_hits",
        format!("{head}REASON\n{}\n", rows.join("\n"))
    );
}

#[test]
fn list_text_output() {
    let dir = tempdir();
    let out = flow(dir.path())
        .args(["list", "--config", "target_cost=2"])
        .output()
        .unwrap();
    insta::assert_snapshot!("list_text", help(out));
}

#[test]
fn error_output() {
    let dir = tempdir();
    let out = flow(dir.path())
        .args([
            "build",
            "report",
            "--input",
            "spend=ten",
            "--input",
            "regon=EU",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    insta::assert_snapshot!("bad_inputs_stderr", stderr(&out));
}
