//! `weft dev`: a real flow crate (from `weft new`), real cargo builds, real file watching.
//! Saving an edit to one node rebuilds the crate and reruns the flow: only that node executes,
//! the rest are cache hits; a compile error is shown and the loop waits for the next save.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::{tempdir, weft, workspace};

const NAME: &str = "weft_dev_loop_check";

/// The longest the test waits for the next line it expects (each wait may include a cargo
/// build on a busy machine): only a loop that hangs reaches it.
const PATIENCE: Duration = Duration::from_secs(600);

/// Lines of the dev loop's output, up to the next line containing `marker`.
fn until(rx: &mpsc::Receiver<String>, marker: &str) -> Vec<String> {
    let mut seen = Vec::new();
    loop {
        match rx.recv_timeout(PATIENCE) {
            Ok(line) => {
                let done = line.contains(marker);
                seen.push(line);
                if done {
                    return seen;
                }
            }
            Err(e) => panic!(
                "no `{marker}` from weft dev ({e}); output so far:\n{}",
                seen.join("\n")
            ),
        }
    }
}

/// Saves like an editor that writes a temporary file and renames it over the source: one
/// change, seen whole (a plain write empties the file first, and a batch of events that saw it
/// empty would make a rebuild of its own).
fn save(path: &std::path::Path, content: &str) {
    let tmp = path.with_extension("rs.tmp");
    std::fs::write(&tmp, content).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

#[test]
fn dev_rebuilds_on_save_and_reruns_only_the_edited_node() {
    let dir = tempdir();
    let root = workspace();
    weft(dir.path())
        .args(["new", NAME, "--weft-path"])
        .arg(&root)
        .assert()
        .success();
    let crate_dir = dir.path().join(NAME);
    std::fs::copy(root.join("Cargo.lock"), crate_dir.join("Cargo.lock")).unwrap();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root.join("target"));

    let mut child = Command::new(assert_cmd::cargo::cargo_bin("weft"))
        .args(["dev", "--debounce", "150", "--rebuilds", "3", "--dir"])
        .arg(&crate_dir)
        .args(["--", "build", "--input", "text=to be or not to be"])
        .env("CARGO_TARGET_DIR", &target)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    for stream in [
        Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ] {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
    }

    let first = until(&rx, "flow exited with 0");
    assert!(
        first
            .iter()
            .any(|l| l.contains("executed") && l.contains("word_count")),
        "{first:#?}"
    );

    // Edit one node's body.
    let nodes = crate_dir.join("src/nodes.rs");
    let source = std::fs::read_to_string(&nodes).unwrap();
    let edited = source.replace("    words.len()\n", "    words.len() * 1\n");
    assert_ne!(source, edited);
    save(&nodes, &edited);
    let second = until(&rx, "flow exited with 0");
    let line = |node: &str| {
        second
            .iter()
            .find(|l| l.ends_with(&format!(" {node}")) || l.contains(&format!(" {node} (")))
            .cloned()
            .unwrap_or_default()
    };
    assert!(line("word_count").contains("executed"), "{second:#?}");
    assert!(line("words").contains("hit"), "{second:#?}");
    assert!(line("mean_word_length").contains("hit"), "{second:#?}");

    // A compile error is shown, then fixed.
    save(&nodes, &edited.replace("words.len() * 1", "words.len() *"));
    let broken = until(&rx, "the build failed");
    assert!(broken.iter().any(|l| l.contains("error")), "{broken:#?}");
    save(&nodes, &source);
    until(&rx, "flow exited with 0");
    let status = child.wait().unwrap();
    assert!(status.success());
}
