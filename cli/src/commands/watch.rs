//! `watch`: build, then rebuild whenever a file input's content changes (`weft::Watcher`),
//! printing what ran and why after each run.

use weft::watch::Update;

use crate::args::{Executor, WatchArgs};
use crate::error::CliError;
use crate::{render, Cli, Exit};

use super::execute::sync_driver;
use super::request::{request, Request};

/// Runs `watch` until stopped (or `--max-runs`); fails if the last run failed.
pub(super) fn run(cli: &Cli, w: WatchArgs) -> Result<Exit, CliError> {
    let a = &w.build;
    if matches!(a.executor, Executor::Async) {
        return Err(CliError::usage(
            "`watch` runs with --executor sequential, threads[:N] or processes[:N]; `async` is for `build`",
        ));
    }
    let Request {
        outputs,
        inputs,
        config,
        cache_config,
        progress,
    } = request(cli, a)?;
    let driver = sync_driver(cli, a, config, cache_config, progress)?;
    let names: Vec<&str> = outputs.iter().map(String::as_str).collect();
    let watcher = weft::Watcher::new(&driver, &names, inputs)
        .debounce(std::time::Duration::from_millis(w.debounce));
    let stop = watcher.stop_handle();
    let mut runs = 0usize;
    let mut failed = false;
    let mut warned = std::collections::BTreeSet::new();
    watcher
        .run(|update| match update {
            Update::Watching(files) if files.is_empty() => {
                outln!(
                    "watch: no file inputs on the path to {}; nothing to watch after this run",
                    names.join(", ")
                );
            }
            Update::Watching(files) => outln!("watching {}", files.join(", ")),
            Update::Ran {
                report,
                outputs: got,
            } => {
                if a.verbose {
                    outln!("{report:#}");
                } else {
                    outln!("{report}");
                }
                match got {
                    Some(got) => {
                        failed = false;
                        out!("{}", render::table(&render::rows(got, &outputs)));
                    }
                    None => failed = true,
                }
                // The cache's new warnings, once the outputs are read (reading a stored value
                // that turns out unusable warns too).
                if let Some(cache) = driver.cache() {
                    for warning in cache.warnings() {
                        if warned.insert(warning.clone()) {
                            eprintln!("warning: {warning}");
                        }
                    }
                }
                runs += 1;
                if w.max_runs.is_some_and(|m| runs >= m) {
                    stop.stop();
                }
            }
            Update::Cancelling { paths, .. } => {
                outln!("changed while running: {}; restarting", paths_text(paths));
            }
            Update::Unchanged(paths) => {
                outln!("saved without changes: {} (nothing ran)", paths_text(paths));
            }
            Update::Warning(m) => eprintln!("warning: {m}"),
            // An update added to weft after this CLI was written: show it rather than drop it.
            other => eprintln!("watch: {other:?}"),
        })
        .map_err(|e| CliError::usage(e.to_string()))?;
    Ok(if failed { Exit::Failure } else { Exit::Success })
}

/// `a, b` for the paths of a watch update.
fn paths_text(paths: &[std::path::PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}
