//! Shared by the end-to-end tests: the real binaries, run in a fresh directory each.
#![allow(dead_code)] // each test file uses a different part

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use assert_cmd::Command;

/// The workspace root (`cli/..`).
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("cli/ has a parent")
        .to_path_buf()
}

/// The `flow_cli` example (the fixture flow), built once per test binary with cargo.
pub fn flow_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let mut build = escargot::CargoBuild::new()
            .manifest_path(workspace().join("Cargo.toml"))
            .package("weft-examples")
            .example("flow_cli")
            .current_release();
        // With caches on object storage when these tests are (`--cache s3://…`).
        if cfg!(feature = "object-store") {
            build = build.features("object-store");
        }
        let run = build.run().expect("the flow_cli example builds");
        run.path().to_path_buf()
    })
}

/// The flow CLI, run in `dir`.
pub fn flow(dir: &Path) -> Command {
    let mut c = Command::new(flow_bin());
    c.current_dir(dir).env_remove("RUST_LOG");
    c
}

/// The `weft` binary, run in `dir`.
pub fn weft(dir: &Path) -> Command {
    let mut c = Command::cargo_bin("weft").expect("the weft binary is built");
    c.current_dir(dir);
    c
}

/// The inputs that make `report` computable.
pub const REPORT_INPUTS: [&str; 8] = [
    "--input",
    "spend=10",
    "--input",
    "signups=4",
    "--input",
    "target_cost=2",
    "--input",
    "region=EU",
];

/// `build report ARGS` with [`REPORT_INPUTS`] in `dir`, which must succeed with the EU report:
/// its output.
pub fn built_report(dir: &Path, args: &[&str]) -> std::process::Output {
    let out = flow(dir)
        .args(["build", "report"])
        .args(args)
        .args(REPORT_INPUTS)
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(
        stdout(&out).contains("EU: 125% of target"),
        "{}",
        stdout(&out)
    );
    out
}

/// stdout as text.
pub fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// stderr as text.
pub fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A fresh working directory.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temporary directory")
}

/// Text made stable for snapshots: durations, run ids, hashes, dates replaced; runs of spaces
/// (table padding, which depends on the replaced widths) squeezed to two; the slowest nodes
/// (whose order depends on timing) sorted by name.
///
/// Per-node progress lines (`[2/4] executed  x`) are in the order the engine's scheduler ran the
/// nodes, which is its business: their counters become `[#/4]` and they are sorted by text.
pub fn redact(text: &str) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut progress: Vec<String> = Vec::new();
    for line in text.lines() {
        match line.strip_prefix('[').and_then(|l| l.split_once("] ")) {
            Some((counter, rest)) if counter.contains('/') => {
                let total = counter.split('/').nth(1).unwrap_or("?");
                progress.push(format!("[#/{total}] {rest}"));
            }
            _ => {
                progress.sort();
                lines.append(&mut progress);
                lines.push(line.to_string());
            }
        }
    }
    progress.sort();
    lines.append(&mut progress);
    let mut out = String::new();
    for line in &lines {
        let line = redact_line(line);
        let line = match line.strip_prefix("slowest: ") {
            Some(rest) => {
                let mut parts: Vec<&str> = rest.split(", ").collect();
                parts.sort_unstable();
                format!("slowest: {}", parts.join(", "))
            }
            None => line,
        };
        out.push_str(&squeeze(&line));
        out.push('\n');
    }
    out
}

fn squeeze(line: &str) -> String {
    let mut out = String::new();
    let mut spaces = 0;
    for c in line.chars() {
        if c == ' ' {
            spaces += 1;
            continue;
        }
        if spaces > 0 {
            out.push_str(if spaces == 1 { " " } else { "  " });
            spaces = 0;
        }
        out.push(c);
    }
    out
}

fn redact_line(line: &str) -> String {
    let mut words: Vec<String> = Vec::new();
    for w in line.split(' ') {
        let core = w.trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != 'µ' && c != '.');
        let hex = !core.is_empty() && core.chars().all(|c| c.is_ascii_hexdigit());
        let digits_and = |sep: char| {
            core.split(sep).count() == 3
                && core
                    .split(sep)
                    .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
        };
        let replacement = if hex && core.len() == 16 {
            Some("[run]")
        } else if hex && core.len() == 12 && core.chars().any(|c| c.is_ascii_digit()) {
            Some("[hash]")
        } else if is_duration(core) {
            Some("[time]")
        } else if digits_and('-') {
            Some("[date]")
        } else if digits_and(':') {
            Some("[clock]")
        } else {
            None
        };
        words.push(match replacement {
            Some(r) => w.replace(core, r),
            None => w.to_string(),
        });
    }
    words.join(" ")
}

fn is_duration(s: &str) -> bool {
    for unit in ["µs", "ms", "s"] {
        if let Some(num) = s.strip_suffix(unit) {
            if !num.is_empty() && num.chars().all(|c| c.is_ascii_digit() || c == '.') {
                return true;
            }
            if unit == "s" {
                // `2m03s`
                if let Some((m, sec)) = num.split_once('m') {
                    return m.chars().all(|c| c.is_ascii_digit())
                        && sec.chars().all(|c| c.is_ascii_digit());
                }
            }
        }
    }
    false
}

/// The `ui_flow` example (a flow with a file input, for the web view's live tests), built once
/// per test binary with cargo.
pub fn ui_flow_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let run = escargot::CargoBuild::new()
            .manifest_path(workspace().join("Cargo.toml"))
            .package("weft-examples")
            .example("ui_flow")
            .current_release()
            .run()
            .expect("the ui_flow example builds");
        run.path().to_path_buf()
    })
}

/// `ui_flow watch held_summary --ui` in `dir` (notes in `notes.txt`, written here): its `held`
/// node waits until the file `gate` exists, so a run stays in flight until the test opens it.
pub fn held_watch(dir: &Path, gate: &Path) -> Served {
    std::fs::write(dir.join("notes.txt"), "to be or not to be").unwrap();
    let mut cmd = std::process::Command::new(ui_flow_bin());
    cmd.current_dir(dir)
        .args([
            "watch",
            "held_summary",
            "--input",
            "notes=notes.txt",
            "--input",
            "name=Ada",
            "--input",
        ])
        .arg(format!("gate={}", gate.display()))
        .args(["--ui", "--ui-port", "0"]);
    Served::start(cmd)
}

/// How long a broken test waits for a condition before failing (only how long it hangs).
pub const PATIENCE: std::time::Duration = std::time::Duration::from_secs(120);

/// A server process (`weft ui`, `FLOW watch --ui`) started by a test, killed when dropped, and
/// the URL it printed.
pub struct Served {
    child: std::process::Child,
    pub url: String,
    /// The rest of its stdout, line by line.
    pub lines: std::sync::mpsc::Receiver<String>,
}

impl Served {
    /// Starts `cmd` with stdout piped and waits (bounded) for its `weft ui: … at URL` line.
    pub fn start(mut cmd: std::process::Command) -> Served {
        use std::io::BufRead;
        cmd.stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .env_remove("RUST_LOG");
        let child = cmd.spawn().expect("the server starts");
        let (tx, rx) = std::sync::mpsc::channel();
        // Owned at once, so that a failure below kills and reaps it (`Drop`).
        let mut served = Served {
            child,
            url: String::new(),
            lines: rx,
        };
        let stdout = served.child.stdout.take().expect("stdout is piped");
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let line = served.wait_for_line(" at http://");
        let at = line.find(" at http://").expect("the address");
        served.url = line[at + 4..]
            .split_whitespace()
            .next()
            .expect("a URL")
            .trim_end_matches('/')
            .to_string();
        served
    }

    /// Waits (bounded) for a line of stdout that contains `text`.
    pub fn wait_for_line(&self, text: &str) -> String {
        let deadline = std::time::Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let line = self
                .lines
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no line with `{text}` in time"));
            if line.contains(text) {
                return line;
            }
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The ids of the runs in the cache of `dir`, newest first (`cache runs --json`).
pub fn run_ids(dir: &Path) -> Vec<String> {
    let out = flow(dir)
        .args(["cache", "runs", "--json"])
        .output()
        .expect("cache runs");
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let mut ids: Vec<(f64, String)> = v
        .as_array()
        .expect("an array")
        .iter()
        .map(|r| {
            (
                r["started_at"].as_f64().expect("started_at"),
                r["run_id"].as_str().expect("run_id").to_string(),
            )
        })
        .collect();
    ids.sort_by(|a, b| b.0.total_cmp(&a.0));
    ids.into_iter().map(|(_, id)| id).collect()
}
