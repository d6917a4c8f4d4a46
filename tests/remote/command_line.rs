//! The flow CLI's `--executor processes:N`.

/// `--executor processes:N` runs a flow CLI's nodes in workers that are the same binary
/// (`__weft-worker`), with the same config.
#[test]
fn a_flow_cli_runs_on_worker_processes() {
    let cache = weft_tests::temp_dir("remote-cli", "cache");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_remote_flow"))
        .args(["build", "label", "--input", "x=3", "--input", "prefix=sum:"])
        .args(["--executor", "processes:2", "--cache-dir"])
        .arg(&cache)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("sum:15"), "{stdout}");
    // The CLI's progress adapter sees the remote nodes as local ones (one line per node
    // when stderr is not a terminal) and counts them in the summary.
    for node in ["doubled", "squared", "total", "label"] {
        assert!(stderr.contains(&format!("executed  {node} (")), "{stderr}");
    }
    assert!(stderr.contains("4 executed, 0 hits, 0 failed"), "{stderr}");
    // A node that kills its worker fails with its name, and the flow exits 1.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_remote_flow"))
        .args([
            "build",
            "aborts",
            "--input",
            "x=1",
            "--executor",
            "processes:1",
            "--cache-dir",
        ])
        .arg(&cache)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("aborts") && stderr.contains("aborted"),
        "{stderr}"
    );
}
