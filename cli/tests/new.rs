//! `weft new NAME` with no flags: the scaffold is generated depending on the checkout the tool
//! was built from, then built, tested and run with cargo. Compiled dependencies are shared through the workspace's
//! target directory and lock file, so this takes about a minute, not ten.

mod common;

use std::process::Command as Std;

use common::{stdout, tempdir, weft, workspace};
use predicates::prelude::*;

const NAME: &str = "weft_new_scaffold_check";

#[test]
fn new_scaffold_builds_tests_and_runs() {
    let dir = tempdir();
    let root = workspace();
    weft(dir.path())
        .args(["new", NAME])
        .assert()
        .success()
        .stdout(predicate::str::contains(format!("created flow `{NAME}`")));
    let crate_dir = dir.path().join(NAME);
    for f in ["Cargo.toml", "src/main.rs", "src/nodes.rs", ".gitignore"] {
        assert!(crate_dir.join(f).is_file(), "{f} is generated");
    }
    let manifest = std::fs::read_to_string(crate_dir.join("Cargo.toml")).unwrap();
    let engine = root.join("engine").canonicalize().unwrap();
    assert!(
        manifest.contains(&format!(
            "weft = {{ package = \"weft-dataflow\", path = \"{}\" }}",
            engine.display()
        )),
        "depends on this checkout by default:\n{manifest}"
    );
    let main_rs = std::fs::read_to_string(crate_dir.join("src/main.rs")).unwrap();
    assert!(main_rs.contains("weft_cli::main(weft::modules![crate::nodes])"));

    // Refuses to overwrite.
    weft(dir.path())
        .args(["new", NAME])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("already exists"));

    std::fs::copy(root.join("Cargo.lock"), crate_dir.join("Cargo.lock")).unwrap();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    for sub in ["build", "test"] {
        let out = Std::new(&cargo)
            .arg(sub)
            .current_dir(&crate_dir)
            .env("CARGO_TARGET_DIR", &target)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "cargo {sub} in the scaffold failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        if sub == "test" {
            let text = stdout(&out);
            assert!(text.contains("test result: ok. 2 passed"), "{text}");
        }
    }

    // The generated binary is a flow CLI.
    let bin = target.join("debug").join(NAME);
    let out = Std::new(&bin)
        .args(["build", "--no-cache", "--output", "json"])
        .args(["--input", "text=to be or not to be"])
        .current_dir(&crate_dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["word_count"], 6);
    assert_eq!(v["mean_word_length"], 13.0 / 6.0);
    let out = Std::new(&bin)
        .args(["build", "--no-cache", "--input", "text="])
        .current_dir(&crate_dir)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "the fallible node fails on no words"
    );
}

#[test]
fn new_checks_its_arguments() {
    let dir = tempdir();
    weft(dir.path())
        .args(["new", "2fast"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot be a package name"));
    weft(dir.path())
        .args(["new", "flow", "--weft-path", "."])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("is not a weft checkout"));
    weft(dir.path())
        .args(["new", "nested/by_version", "--weft-version", "0.1"])
        .assert()
        .success()
        .stdout(predicate::str::contains("from crates.io"));
    let toml = std::fs::read_to_string(dir.path().join("nested/by_version/Cargo.toml")).unwrap();
    assert!(
        toml.contains("weft = { package = \"weft-dataflow\", version = \"0.1\" }")
            && toml.contains("name = \"by_version\""),
        "{toml}"
    );
    weft(dir.path())
        .args(["new", "both", "--weft-version", "0.1", "--weft-path", "."])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot be used with"));
}
