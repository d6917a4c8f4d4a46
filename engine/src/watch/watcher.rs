//! The watcher: OS file events (notify, debounced), re-hashing, reruns on a worker thread,
//! cancellation of stale runs. See the [module docs](super).

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;
use std::path::PathBuf;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::time::{Duration, Instant};

use notify_debouncer_full::notify::RecursiveMode;
use notify_debouncer_full::{new_debouncer, DebounceEventResult};

use crate::cancel::CancelToken;
use crate::driver::{Driver, RunRecord};
use crate::error::ExecuteError;
use crate::graph::NodeId;
use crate::inputs::Inputs;
use crate::outputs::Outputs;
use crate::plan::Plan;

use super::targets::{
    config_files, desired_watches, notify_hint, relevant_paths, rewatch, targets, Target,
};
use super::{Reporter, RunReport, Trigger, Versions};

/// The debounce window used unless [`Watcher::debounce`] says otherwise.
pub const DEFAULT_DEBOUNCE: Duration = Duration::from_millis(50);

/// Something the watcher tells its callback.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Update {
    /// Watching started: the files and globs watched, as given in the inputs.
    Watching(Vec<String>),
    /// A run ended (completed, failed or cancelled). `outputs` holds the requested values when
    /// it completed.
    Ran {
        /// What the run did.
        report: RunReport,
        /// The requested outputs, when the run completed.
        outputs: Option<Outputs>,
    },
    /// Files changed while run number `run` was in flight: it is being cancelled, and a new
    /// run starts as soon as it stops (at the next node boundary).
    Cancelling {
        /// The stale run's number.
        run: u64,
        /// The files whose change made it stale.
        paths: Vec<PathBuf>,
    },
    /// Run number `run` starts (before its first node), and why: the watcher's first run, or
    /// the files whose change made it due.
    Started {
        /// The run's number (as in its [`RunReport`]).
        run: u64,
        /// What started it.
        trigger: Trigger,
    },
    /// Watched files were written but their content is what the last run saw: nothing ran.
    Unchanged(Vec<PathBuf>),
    /// Something the watcher could not do (a directory it could not watch, an OS event error).
    /// It keeps watching.
    Warning(String),
}

impl Update {
    /// The report, for [`Update::Ran`].
    pub fn report(&self) -> Option<&RunReport> {
        match self {
            Update::Ran { report, .. } => Some(report),
            _ => None,
        }
    }

    /// The outputs of a completed run.
    pub fn outputs(&self) -> Option<&Outputs> {
        match self {
            Update::Ran { outputs, .. } => outputs.as_ref(),
            _ => None,
        }
    }
}

impl fmt::Display for Update {
    /// One line; with `{:#}`, a run's report has a line per node.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Update::Watching(paths) if paths.is_empty() => {
                f.write_str("watching nothing: no input of the requested outputs is a file")
            }
            Update::Watching(paths) => write!(f, "watching {}", paths.join(", ")),
            Update::Ran { report, .. } if f.alternate() => write!(f, "{report:#}"),
            Update::Ran { report, .. } => write!(f, "{report}"),
            Update::Cancelling { run, paths } => {
                let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
                write!(f, "{} changed: cancelling run {run}", shown.join(", "))
            }
            Update::Unchanged(paths) => {
                let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
                write!(f, "{}: content unchanged, nothing to run", shown.join(", "))
            }
            Update::Warning(w) => write!(f, "warning: {w}"),
            Update::Started { run, trigger } => match trigger {
                Trigger::Files(paths) => {
                    let shown: Vec<String> =
                        paths.iter().map(|p| p.display().to_string()).collect();
                    write!(f, "run {run} started: {} changed", shown.join(", "))
                }
                Trigger::Start | Trigger::Request => write!(f, "run {run} started"),
            },
        }
    }
}

/// The watcher could not start, or the request can never succeed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WatchError {
    /// The request itself is invalid (unknown outputs, missing or mistyped inputs): no file
    /// change can fix it.
    #[error("{0}")]
    Execute(#[from] ExecuteError),
    /// The operating system's file watcher could not be started or refused a path.
    #[error("cannot watch {what}: {message}")]
    Watch {
        /// The path (or "files") that could not be watched.
        what: String,
        /// Why, with a suggestion.
        message: String,
    },
}

/// Stops a running [`Watcher`] from another thread (a Ctrl-C handler, a test).
#[derive(Clone, Debug)]
pub struct StopHandle(Sender<Msg>);

impl StopHandle {
    /// Asks the watcher to stop: a run in flight is cancelled, its report delivered, and
    /// [`Watcher::run`] returns.
    pub fn stop(&self) {
        let _ = self.0.send(Msg::Stop);
    }
}

#[derive(Debug)]
enum Msg {
    Fs(DebounceEventResult),
    Stop,
    Done {
        number: u64,
        result: Result<(Outputs, RunRecord), ExecuteError>,
        elapsed: Duration,
    },
}

/// Re-executes a request whenever a file it reads changes. See the [module docs](super).
///
/// ```no_run
/// use weft::prelude::*;
/// use weft::{FileInput, Watcher};
///
/// #[node]
/// pub fn word_count(notes: &FileInput) -> Result<usize, weft::files::FileError> {
///     Ok(notes.read_to_string()?.split_whitespace().count())
/// }
///
/// fn main() -> Result<(), Box<dyn std::error::Error>> {
///     let dr = Builder::new().with_modules(weft::modules![crate]).build()?;
///     let watcher = Watcher::new(&dr, &["word_count"], inputs! { "notes" => FileInput::new("notes.md") });
///     let stop = watcher.stop_handle(); // e.g. for a Ctrl-C handler
///     # stop.stop();
///     watcher.run(|update| println!("{update}"))?; // until `stop.stop()`
///     Ok(())
/// }
/// ```
pub struct Watcher<'d> {
    driver: &'d Driver,
    outputs: Vec<String>,
    inputs: Inputs,
    overrides: Inputs,
    debounce: Duration,
    tx: Sender<Msg>,
    rx: Receiver<Msg>,
}

impl<'d> Watcher<'d> {
    /// Watches the files among `inputs` that `outputs` depend on.
    pub fn new(driver: &'d Driver, outputs: &[&str], inputs: Inputs) -> Self {
        let (tx, rx) = channel();
        Watcher {
            driver,
            outputs: outputs.iter().map(|s| s.to_string()).collect(),
            inputs,
            overrides: Inputs::new(),
            debounce: DEFAULT_DEBOUNCE,
            tx,
            rx,
        }
    }

    /// Overrides for every run (see [`Driver::execute_with_overrides`]); a file given as an
    /// override of an input is watched too.
    pub fn overrides(mut self, overrides: Inputs) -> Self {
        self.overrides = overrides;
        self
    }

    /// How long events are collected before a run starts (default 50 ms). Events on one
    /// path within the window are one change; an editor's atomic save is one change.
    pub fn debounce(mut self, window: Duration) -> Self {
        self.debounce = window.max(Duration::from_millis(1));
        self
    }

    /// A handle that stops [`run`](Self::run) from another thread.
    pub fn stop_handle(&self) -> StopHandle {
        StopHandle(self.tx.clone())
    }

    /// Runs the request once, then again after every change, calling `on_update` on this
    /// thread with each [`Update`], until the [`StopHandle`] is used. Runs execute on a worker
    /// thread so that a newer change can cancel them.
    ///
    /// Returns an error at once if the request is invalid (unknown outputs; a first run failing
    /// on missing or mistyped inputs) or the OS watcher cannot start. A failing node is not an
    /// error: it is reported, and the watcher waits for the next change.
    pub fn run(self, mut on_update: impl FnMut(&Update)) -> Result<(), WatchError> {
        let Watcher {
            driver,
            outputs,
            inputs,
            overrides,
            debounce,
            tx,
            rx,
        } = self;
        let graph = driver.graph();
        let names: Vec<&str> = outputs.iter().map(String::as_str).collect();
        let override_ids: HashSet<NodeId> = overrides
            .names()
            .filter_map(|n| graph.id(n))
            .filter(|&id| graph.get(id).spec().is_some())
            .collect();
        let plan = Plan::new(graph, &names, &override_ids)?;
        let targets = targets(graph, &plan, &inputs, &overrides);
        for warning in config_files(graph, &plan) {
            on_update(&Update::Warning(warning));
        }

        let fs_tx = tx.clone();
        let tick = (debounce / 4).clamp(Duration::from_millis(1), Duration::from_millis(10));
        let mut debouncer = new_debouncer(debounce, Some(tick), move |r: DebounceEventResult| {
            let _ = fs_tx.send(Msg::Fs(r));
        })
        .map_err(|e| WatchError::Watch {
            what: "files".into(),
            message: notify_hint(&e.to_string()),
        })?;
        let mut watched: BTreeMap<PathBuf, RecursiveMode> = BTreeMap::new();
        for (dir, mode) in desired_watches(&targets) {
            debouncer.watch(&dir, mode).map_err(|e| WatchError::Watch {
                what: format!("`{}`", dir.display()),
                message: notify_hint(&e.to_string()),
            })?;
            watched.insert(dir, mode);
        }
        on_update(&Update::Watching(
            targets
                .iter()
                .map(|t| match t {
                    Target::File { shown, .. } | Target::Set { shown, .. } => shown.clone(),
                })
                .collect(),
        ));

        let mut reporter = Reporter::default();
        let result = std::thread::scope(|scope| -> Result<(), WatchError> {
            struct InFlight {
                number: u64,
                cancel: CancelToken,
                trigger: Trigger,
                versions: Versions,
            }
            let start = |number: u64, cancel: CancelToken| {
                let tx = tx.clone();
                let (inputs, overrides) = (inputs.clone(), overrides.clone());
                let outputs = &outputs;
                scope.spawn(move || {
                    let names: Vec<&str> = outputs.iter().map(String::as_str).collect();
                    let t = Instant::now();
                    let result = driver.execute_cancellable(&names, inputs, overrides, &cancel);
                    let _ = tx.send(Msg::Done {
                        number,
                        result,
                        elapsed: t.elapsed(),
                    });
                });
            };

            // The versions of the newest run, started or due.
            let mut latest = Versions::of(driver, &plan, &inputs, &overrides);
            let mut in_flight = Some(InFlight {
                number: reporter.next_number(),
                cancel: CancelToken::new(),
                trigger: Trigger::Start,
                versions: latest.clone(),
            });
            if let Some(f) = &in_flight {
                on_update(&Update::Started {
                    run: f.number,
                    trigger: f.trigger.clone(),
                });
                start(f.number, f.cancel.clone());
            }
            let mut due: Option<Vec<PathBuf>> = None;
            let mut stopping = false;
            while let Ok(msg) = rx.recv() {
                match msg {
                    Msg::Stop => {
                        stopping = true;
                        match &in_flight {
                            Some(f) => f.cancel.cancel(),
                            None => break,
                        }
                    }
                    Msg::Fs(Err(errors)) => {
                        for e in errors {
                            on_update(&Update::Warning(notify_hint(&e.to_string())));
                        }
                    }
                    Msg::Fs(Ok(events)) => {
                        for e in &events {
                            tracing::trace!(kind = ?e.kind, paths = ?e.paths, "file event");
                        }
                        if stopping {
                            continue;
                        }
                        let rescan = events.iter().any(|e| e.need_rescan());
                        let paths = relevant_paths(&events, &targets);
                        if paths.is_empty() && !rescan {
                            continue;
                        }
                        for w in rewatch(&mut debouncer, &mut watched, &targets, &paths) {
                            on_update(&Update::Warning(w));
                        }
                        let now = Versions::of(driver, &plan, &inputs, &overrides);
                        if now == latest {
                            on_update(&Update::Unchanged(paths));
                            continue;
                        }
                        latest = now;
                        due.get_or_insert_with(Vec::new)
                            .extend(paths.iter().cloned());
                        match &in_flight {
                            Some(f) => {
                                if !f.cancel.is_cancelled() {
                                    f.cancel.cancel();
                                    on_update(&Update::Cancelling {
                                        run: f.number,
                                        paths,
                                    });
                                }
                            }
                            None => {
                                let f = InFlight {
                                    number: reporter.next_number(),
                                    cancel: CancelToken::new(),
                                    trigger: Trigger::Files(dedup(due.take())),
                                    versions: latest.clone(),
                                };
                                on_update(&Update::Started {
                                    run: f.number,
                                    trigger: f.trigger.clone(),
                                });
                                start(f.number, f.cancel.clone());
                                in_flight = Some(f);
                            }
                        }
                    }
                    Msg::Done {
                        number,
                        result,
                        elapsed,
                    } => {
                        let Some(f) = in_flight.take() else { continue };
                        if number == 1 {
                            if let Err(
                                e @ (ExecuteError::BadInputs(_) | ExecuteError::UnknownOutputs(_)),
                            ) = result
                            {
                                return Err(WatchError::Execute(e));
                            }
                        }
                        let report = reporter.report(
                            driver, number, f.trigger, f.versions, &inputs, &overrides, &result,
                            elapsed,
                        );
                        on_update(&Update::Ran {
                            report,
                            outputs: result.ok().map(|(o, _)| o),
                        });
                        if stopping {
                            break;
                        }
                        if let Some(paths) = due.take() {
                            let f = InFlight {
                                number: reporter.next_number(),
                                cancel: CancelToken::new(),
                                trigger: Trigger::Files(dedup(Some(paths))),
                                versions: latest.clone(),
                            };
                            on_update(&Update::Started {
                                run: f.number,
                                trigger: f.trigger.clone(),
                            });
                            start(f.number, f.cancel.clone());
                            in_flight = Some(f);
                        }
                    }
                }
            }
            if let Some(f) = &in_flight {
                // Only on an early return: let the worker end quickly.
                f.cancel.cancel();
            }
            Ok(())
        });
        debouncer.stop();
        result
    }
}

fn dedup(paths: Option<Vec<PathBuf>>) -> Vec<PathBuf> {
    let set: BTreeSet<PathBuf> = paths.unwrap_or_default().into_iter().collect();
    set.into_iter().collect()
}
