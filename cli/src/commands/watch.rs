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
    progress.watching();
    let live = Live::new(&w, a.no_cache)?;
    let driver = sync_driver(
        cli,
        a,
        None,
        config,
        cache_config,
        progress,
        live.adapters(),
    )?;
    live.serve(&driver, std::path::Path::new(&a.cache))?;
    let names: Vec<&str> = outputs.iter().map(String::as_str).collect();
    let watcher = weft::Watcher::new(&driver, &names, inputs)
        .debounce(std::time::Duration::from_millis(w.debounce));
    let stop = watcher.stop_handle();
    let mut runs = 0usize;
    let mut failed = false;
    let mut warned = 0usize;
    watcher
        .run(|update| {
            live.watch(update);
            match update {
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
                    // The driver's new warnings, once the outputs are read (reading a stored
                    // value that turns out unusable warns too).
                    for warning in driver.warnings().into_iter().skip(warned) {
                        eprintln!("warning: {warning}");
                        warned += 1;
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
                // Shown by the report at the end of the run (and live by `--ui`).
                Update::Started { .. } => {}
                // An update added to weft after this CLI was written: show it rather than drop it.
                other => eprintln!("watch: {other:?}"),
            }
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

/// The live web view of `watch --ui`: its hub (fed by an adapter on the driver and by the
/// watcher's updates) and where it listens. Does nothing without `--ui` or the `ui` feature.
#[derive(Default)]
struct Live {
    #[cfg(feature = "ui")]
    view: Option<(crate::ui::live::Hub, crate::ui::args::Listen)>,
}

impl Live {
    #[cfg(feature = "ui")]
    fn new(w: &WatchArgs, no_cache: bool) -> Result<Live, CliError> {
        let Some(listen) = w.ui.listen() else {
            return Ok(Live::default());
        };
        if no_cache {
            return Err(CliError::usage(
                "--ui shows the runs the cache records: drop --no-cache to use it",
            ));
        }
        Ok(Live {
            view: Some((crate::ui::live::Hub::default(), listen)),
        })
    }

    #[cfg(not(feature = "ui"))]
    fn new(_: &WatchArgs, _: bool) -> Result<Live, CliError> {
        Ok(Live::default())
    }

    /// The adapters the driver needs.
    fn adapters(&self) -> Vec<std::sync::Arc<dyn weft::Adapter>> {
        #[cfg(feature = "ui")]
        if let Some((hub, _)) = &self.view {
            return vec![std::sync::Arc::new(crate::ui::live::LiveAdapter::new(
                hub.clone(),
            ))];
        }
        Vec::new()
    }

    /// Starts serving the driver's cache, live; the URL is printed.
    fn serve(&self, _driver: &weft::Driver, _dir: &std::path::Path) -> Result<(), CliError> {
        #[cfg(feature = "ui")]
        if let Some((hub, listen)) = &self.view {
            let cache = _driver
                .cache()
                .cloned()
                .ok_or_else(|| CliError::usage("--ui needs the cache (drop --no-cache)"))?;
            let flow = crate::ui::FlowInfo::of(_driver.graph());
            let server = crate::ui::Server::live(cache, _dir, flow, hub.clone(), listen)?;
            server.announce("live view");
            // Dropping the handle detaches the server's thread: it serves as long as the
            // process lives.
            drop(server);
        }
        Ok(())
    }

    /// Tells the pages what the watcher says.
    fn watch(&self, _update: &Update) {
        #[cfg(feature = "ui")]
        if let Some((hub, _)) = &self.view {
            hub.watch(_update);
        }
    }
}
