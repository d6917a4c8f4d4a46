//! The README's commands run. Every line of its `sh` blocks is one of the kinds below, and each
//! is run as written (from a scratch directory, cargo pointed at this checkout), so a README
//! command that stops working fails here:
//!
//! - `cargo run --example NAME [-- ARGS]`: the example, with `--manifest-path` added;
//! - `cargo install --path cli`: installed into a scratch root (`--root`, `--debug`, sharing
//!   the target directory, so compiled dependencies are reused);
//! - `weft ARGS`: the binary that install produced;
//! - `bash tests/run.sh`: the suite that runs this test; not run from inside itself.
//!
//! A line of another kind fails the test until it is classified here. Each block runs in its
//! own directory, in order (a flow's `weft cache runs` sees the runs of the lines above it).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{tempdir, workspace};

/// The README's `sh` blocks, each a list of commands without their comments.
fn sh_blocks(readme: &str) -> Vec<Vec<String>> {
    let mut blocks = Vec::new();
    let mut current: Option<Vec<String>> = None;
    for line in readme.lines() {
        let trimmed = line.trim();
        match (&mut current, trimmed) {
            (None, "```sh") => current = Some(Vec::new()),
            (Some(_), "```") => blocks.extend(current.take()),
            (Some(block), text) => {
                let command = text.split(" #").next().unwrap_or("").trim();
                if !command.is_empty() && !command.starts_with('#') {
                    block.push(command.to_string());
                }
            }
            (None, _) => {}
        }
    }
    blocks
}

fn run(mut cmd: Command, line: &str) {
    let out = cmd.output().unwrap_or_else(|e| panic!("`{line}`: {e}"));
    assert!(
        out.status.success(),
        "README command `{line}` failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_readmes_commands_run() {
    let root = workspace();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let blocks = sh_blocks(&readme);
    let lines: Vec<&String> = blocks.iter().flatten().collect();
    // The two set-up commands and the flow CLI lines are all there.
    for must in [
        "cargo install --path cli",
        "weft new my_flow",
        "cargo run --example flow_cli -- build report",
    ] {
        assert!(
            lines.iter().any(|l| l.starts_with(must)),
            "the README lost `{must}`"
        );
    }
    assert!(
        lines.iter().all(|l| !l.contains("...") && !l.contains('…')),
        "a README command must be complete, not elided: {lines:?}"
    );

    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let scratch = tempdir();
    let install_root = scratch.path().join("install");
    let weft_bin = install_root.join("bin").join("weft");
    // `cargo install` first: the blocks' `weft` lines need the binary it makes.
    assert!(
        lines.iter().any(|l| *l == "cargo install --path cli"),
        "the README installs the tool with `cargo install --path cli`"
    );
    let mut install = Command::new(&cargo);
    install
        .args(["install", "--path"])
        .arg(root.join("cli"))
        .arg("--root")
        .arg(&install_root)
        .arg("--debug")
        // A target directory of its own: `cargo install` builds the CLI with its default
        // features, and in the shared one it would replace the `weft` binary other tests run.
        .env("CARGO_TARGET_DIR", target.join("readme-install"));
    run(install, "cargo install --path cli");
    assert!(
        weft_bin.is_file(),
        "cargo install made {}",
        weft_bin.display()
    );

    for (i, block) in blocks.iter().enumerate() {
        let dir = scratch.path().join(format!("block{i}"));
        std::fs::create_dir_all(&dir).unwrap();
        for line in block {
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                ["cargo", "run", "--example", rest @ ..] => {
                    let mut c = Command::new(&cargo);
                    c.args(["run", "--quiet", "--manifest-path"])
                        .arg(root.join("Cargo.toml"))
                        .arg("--example")
                        .args(rest)
                        .current_dir(&dir)
                        .env("CARGO_TARGET_DIR", &target)
                        .env_remove("RUST_LOG");
                    run(c, line);
                }
                ["cargo", "install", "--path", "cli"] => {} // done above
                ["weft", "ui", args @ ..] => {
                    // A server: started on a free port, seen to announce its address, stopped.
                    let mut c = Command::new(&weft_bin);
                    c.arg("ui")
                        .args(args)
                        .args(["--port", "0"])
                        .current_dir(&dir)
                        .stdout(std::process::Stdio::piped());
                    let mut child = c.spawn().unwrap();
                    let stdout = child.stdout.take().unwrap();
                    // Ends at the announcement, or at EOF if the server exits instead.
                    let announced = std::io::BufRead::lines(std::io::BufReader::new(stdout))
                        .map_while(Result::ok)
                        .any(|l| l.contains(" at http://127.0.0.1:"));
                    let _ = child.kill();
                    let _ = child.wait();
                    assert!(announced, "`{line}` serves on 127.0.0.1");
                }
                ["weft", args @ ..] => {
                    let mut c = Command::new(&weft_bin);
                    c.args(args).current_dir(&dir);
                    run(c, line);
                    if args.first() == Some(&"new") {
                        let name = args.last().unwrap();
                        assert!(dir.join(name).join("Cargo.toml").is_file(), "`{line}`");
                    }
                }
                ["bash", "tests/run.sh"] => {} // the suite that runs this test
                _ => panic!(
                    "README command `{line}` is of no known kind; teach cli/tests/docs.rs to \
                     run it"
                ),
            }
        }
        check_outputs(&dir, block);
    }
}

/// What the flow CLI lines leave behind: the JSON results file, and a cache with their runs.
fn check_outputs(dir: &Path, block: &[String]) {
    if block.iter().any(|l| l.contains("-o results.json")) {
        let text = std::fs::read_to_string(dir.join("results.json")).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert!(
            v.to_string().contains("EU") || v.to_string().contains("report"),
            "{v}"
        );
    }
    if block
        .iter()
        .any(|l| l.starts_with("cargo run --example flow_cli"))
    {
        assert!(
            dir.join(".weft/cache").is_dir(),
            "the flow's cache is in {dir:?}"
        );
    }
}

#[test]
fn sh_blocks_are_read_without_comments() {
    let text =
        "x\n```sh\ncargo run --example a   # note\n# only a comment\n```\n```text\nno\n```\n";
    assert_eq!(sh_blocks(text), [vec!["cargo run --example a".to_string()]]);
}
