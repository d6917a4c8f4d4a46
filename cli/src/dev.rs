//! `weft dev`: the code-edit loop. Watches a flow crate's sources; on each save it rebuilds the
//! crate with cargo and reruns the flow with the given arguments. The flow's persistent cache
//! and the nodes' code versions make only the edited nodes, and what depends on their values,
//! run again. A compile error is shown and the loop waits for the next save.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use notify_debouncer_full::notify::RecursiveMode;

use crate::error::CliError;

/// Arguments of `weft dev`.
#[derive(clap::Args, Debug)]
pub(crate) struct DevArgs {
    /// The flow's package, when the crate is in a workspace with several binaries
    #[arg(short = 'p', long, value_name = "PACKAGE")]
    package: Option<String>,

    /// The crate's directory (default: the current directory)
    #[arg(long, value_name = "DIR", default_value = ".")]
    dir: PathBuf,

    /// Wait this long after a save before rebuilding (milliseconds)
    #[arg(long, value_name = "MS", default_value_t = 200)]
    debounce: u64,

    /// Stop after this many rebuilds (default: run until interrupted)
    #[arg(long, value_name = "N")]
    rebuilds: Option<usize>,

    /// The flow's arguments, after `--` (e.g. `-- build report --input x=1`)
    #[arg(last = true, value_name = "FLOW ARGS")]
    flow_args: Vec<String>,

    #[cfg(feature = "ui")]
    #[command(flatten)]
    ui: crate::ui::args::LiveUiArgs,
}

/// The web view of `dev --ui` (nothing without `--ui` or the `ui` feature).
#[derive(Default)]
struct View {
    #[cfg(feature = "ui")]
    view: Option<crate::ui::dev_view::DevView>,
}

impl View {
    fn new(_a: &DevArgs, _dir: &Path) -> View {
        #[cfg(feature = "ui")]
        if let Some(listen) = _a.ui.listen() {
            let cache = crate::ui::dev_view::cache_dir_of(_dir, &_a.flow_args);
            return View {
                view: Some(crate::ui::dev_view::DevView::new(listen, cache)),
            };
        }
        View::default()
    }

    fn rebuilding(&mut self, _paths: &[PathBuf]) {
        #[cfg(feature = "ui")]
        if let Some(v) = &mut self.view {
            v.rebuilding(_paths);
        }
    }

    fn cycle_ended(&mut self, _code: Option<i32>, _took: Duration) {
        #[cfg(feature = "ui")]
        if let Some(v) = &mut self.view {
            v.cycle_ended(_code, _took);
        }
    }
}

pub(crate) fn run(a: DevArgs) -> Result<(), CliError> {
    let dir = a.dir.canonicalize().map_err(|e| {
        CliError::usage(format!(
            "cannot open the crate directory {}: {e}",
            a.dir.display()
        ))
    })?;
    if !dir.join("Cargo.toml").is_file() {
        return Err(CliError::usage(format!(
            "{} has no Cargo.toml; run `weft dev` in a flow crate (see `weft new`)",
            dir.display()
        )));
    }
    let (tx, rx) = mpsc::channel();
    let mut debouncer = notify_debouncer_full::new_debouncer(
        Duration::from_millis(a.debounce),
        None,
        move |events: notify_debouncer_full::DebounceEventResult| {
            if let Ok(events) = events {
                let relevant = events.iter().any(|e| {
                    e.paths.iter().any(|p| {
                        p.extension().is_some_and(|x| x == "rs")
                            || p.file_name().is_some_and(|n| n == "Cargo.toml")
                    })
                });
                if relevant {
                    let paths: Vec<PathBuf> = events
                        .iter()
                        .flat_map(|e| e.paths.iter().cloned())
                        .collect();
                    let _ = tx.send(paths);
                }
            }
        },
    )
    .map_err(|e| CliError::failure(format!("cannot watch {}: {e}", dir.display())))?;
    for watched in [dir.join("src"), dir.join("Cargo.toml")] {
        if watched.exists() {
            debouncer
                .watch(&watched, RecursiveMode::Recursive)
                .map_err(|e| {
                    CliError::failure(format!("cannot watch {}: {e}", watched.display()))
                })?;
        }
    }
    outln!(
        "weft dev: watching {} (Ctrl-C to stop)",
        dir.join("src").display()
    );
    let mut view = View::new(&a, &dir);
    let mut rebuilds = 0;
    loop {
        let t = std::time::Instant::now();
        let code = cycle(&dir, &a);
        view.cycle_ended(code, t.elapsed());
        if a.rebuilds.is_some_and(|n| rebuilds >= n) {
            return Ok(());
        }
        let Ok(mut paths) = rx.recv() else {
            return Ok(());
        };
        // A save is often several events: take them all.
        while let Ok(more) = rx.try_recv() {
            paths.extend(more);
        }
        paths.sort();
        paths.dedup();
        let shown: Vec<PathBuf> = paths
            .iter()
            .map(|p| p.strip_prefix(&dir).unwrap_or(p).to_path_buf())
            .collect();
        view.rebuilding(&shown);
        rebuilds += 1;
        outln!("\nweft dev: change detected, rebuilding ...");
    }
}

/// Builds the crate; on success runs the flow binary with the flow arguments and returns its
/// exit code (`None`: the build failed, or the flow could not be started).
fn cycle(dir: &Path, a: &DevArgs) -> Option<i32> {
    match build(dir, a.package.as_deref()) {
        Ok(binary) => {
            let status = Command::new(&binary)
                .args(&a.flow_args)
                .current_dir(dir)
                .status();
            match status {
                Ok(s) => {
                    let code = s.code().unwrap_or(-1);
                    outln!("weft dev: flow exited with {code}; waiting for changes");
                    Some(code)
                }
                Err(e) => {
                    outln!("weft dev: cannot run {}: {e}", binary.display());
                    None
                }
            }
        }
        Err(message) => {
            outln!("{message}");
            outln!("weft dev: the build failed; fix it and save to try again");
            None
        }
    }
}

/// `cargo build`, returning the flow's executable (from cargo's JSON messages) or the
/// compiler's rendered errors.
fn build(dir: &Path, package: Option<&str>) -> Result<PathBuf, String> {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.arg("build")
        .arg("--message-format=json-diagnostic-rendered-ansi")
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if let Some(p) = package {
        cmd.args(["-p", p]);
    }
    let out = cmd
        .output()
        .map_err(|e| format!("weft dev: cannot run cargo: {e}"))?;
    let mut executable = None;
    let mut diagnostics = String::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        match msg["reason"].as_str() {
            Some("compiler-artifact") => {
                if let Some(exe) = msg["executable"].as_str() {
                    executable = Some(PathBuf::from(exe));
                }
            }
            Some("compiler-message") => {
                if let Some(rendered) = msg["message"]["rendered"].as_str() {
                    diagnostics.push_str(rendered);
                }
            }
            _ => {}
        }
    }
    if !out.status.success() {
        return Err(diagnostics);
    }
    executable.ok_or_else(|| {
        "weft dev: the build produced no executable; pass -p PACKAGE for the flow's binary".into()
    })
}
