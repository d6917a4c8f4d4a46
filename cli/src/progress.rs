//! Progress of a build, as a [`weft::Adapter`]: a progress bar on a terminal, one line per node
//! otherwise, nothing with `--quiet`; and the numbers for the final summary.

use std::collections::{BTreeSet, HashSet};
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use weft::{Adapter, Next, NodeFuture, NodeInfo, NodeResult, RunInfo, RunSummary};

use crate::text;

/// How progress is shown (always on stderr, so stdout keeps only the results).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// A progress bar: nodes done/total, executed vs hits, the running node, elapsed time.
    Bar,
    /// One line per node (stderr is not a terminal: CI logs, pipes, files).
    Lines,
    /// Nothing during the run (`--quiet`); the summary is still printed.
    Quiet,
}

impl Mode {
    /// Quiet when asked, a bar when stderr is a terminal, lines otherwise.
    pub(crate) fn detect(quiet: bool) -> Mode {
        if quiet {
            Mode::Quiet
        } else if std::io::stderr().is_terminal() {
            Mode::Bar
        } else {
            Mode::Lines
        }
    }
}

/// How the run went, for the summary.
#[derive(Debug, Clone, Default)]
pub(crate) struct Report {
    pub(crate) run_id: String,
    /// Function nodes on the execution path.
    pub(crate) total: usize,
    pub(crate) executed: usize,
    /// Reused without running: cache hits (and values the driver had in memory).
    pub(crate) hits: usize,
    /// The nodes that failed (several when the driver keeps going).
    pub(crate) failed: Vec<String>,
    pub(crate) wall: Duration,
    /// The slowest executed nodes, slowest first (at most five).
    pub(crate) slowest: Vec<(String, Duration)>,
}

impl Report {
    /// `4 nodes in 12.3ms: 3 executed, 1 hit, 0 failed (run …)` and the slowest nodes.
    pub(crate) fn summary(&self) -> String {
        let mut s = format!(
            "{} node{} in {}: {} executed, {} hit{}, {} failed (run {})",
            self.total,
            if self.total == 1 { "" } else { "s" },
            text::duration(self.wall),
            self.executed,
            self.hits,
            if self.hits == 1 { "" } else { "s" },
            self.failed.len(),
            self.run_id
        );
        if !self.slowest.is_empty() {
            s.push_str("\nslowest: ");
            let parts: Vec<String> = self
                .slowest
                .iter()
                .map(|(n, d)| format!("{n} {}", text::duration(*d)))
                .collect();
            s.push_str(&parts.join(", "));
        }
        s
    }
}

#[derive(Default)]
struct State {
    bar: Option<ProgressBar>,
    total: usize,
    done: usize,
    executed: usize,
    hits: usize,
    /// Nodes whose execution got past the cache (so their body ran).
    in_body: HashSet<String>,
    failed: Vec<String>,
    /// Nodes running now (several with a parallel executor).
    running: BTreeSet<String>,
    timings: Vec<(String, Duration)>,
    report: Option<Report>,
}

/// The progress adapter. Install it after the cache (the driver puts the cache outermost), so
/// that its `wrap_node` is reached only by nodes that actually execute: that is how it tells
/// hits from executed nodes.
pub(crate) struct Progress {
    mode: Mode,
    verbose: bool,
    functions: HashSet<String>,
    /// Under `watch`, whose reports number the runs (`run 3: ..`): no run ids in the lines,
    /// so runs are numbered one way.
    watching: std::sync::atomic::AtomicBool,
    state: Mutex<State>,
}

impl Progress {
    /// `functions`: the names of the graph's function nodes (the execution path also lists
    /// inputs and config, which are not counted).
    pub(crate) fn new(mode: Mode, verbose: bool, functions: HashSet<String>) -> Self {
        Progress {
            mode,
            verbose,
            functions,
            watching: Default::default(),
            state: Mutex::new(State::default()),
        }
    }

    /// For `watch`: runs are named by the watch report's number, not by their ids.
    pub(crate) fn watching(&self) {
        self.watching
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// The report of the last run, once it ended.
    pub(crate) fn report(&self) -> Option<Report> {
        self.lock().report.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn message(st: &State) -> String {
        let mut m = format!("{} executed · {} hits", st.executed, st.hits);
        if !st.running.is_empty() {
            let names: Vec<&str> = st.running.iter().map(String::as_str).collect();
            m.push_str(&format!(" · running {}", names.join(", ")));
        }
        m
    }

    fn line(&self, st: &State, text: String) {
        match (&st.bar, self.mode) {
            (Some(bar), _) if self.verbose => bar.println(text),
            (None, Mode::Lines) => eprintln!("{text}"),
            _ => {}
        }
    }
}

impl Adapter for Progress {
    fn before_graph(&self, run: &RunInfo<'_>) {
        let total = run
            .execution_path
            .iter()
            .filter(|n| self.functions.contains(**n))
            .count();
        let mut st = self.lock();
        *st = State {
            total,
            ..State::default()
        };
        if self.mode == Mode::Bar {
            let bar =
                ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(
                "{spinner:.green} [{elapsed_precise}] [{bar:30.cyan/blue}] {pos}/{len} {wide_msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
            bar.set_style(style);
            bar.set_message(Self::message(&st));
            bar.enable_steady_tick(Duration::from_millis(100));
            st.bar = Some(bar);
        }
        if self.verbose {
            let line = if self.watching.load(std::sync::atomic::Ordering::Relaxed) {
                format!("{total} nodes on the path")
            } else {
                format!("run {}: {total} nodes on the path", run.run_id)
            };
            self.line(&st, line);
        }
    }

    fn before_node(&self, node: &NodeInfo<'_>) {
        let mut st = self.lock();
        st.running.insert(node.name().to_string());
        if let Some(bar) = &st.bar {
            bar.set_message(Self::message(&st));
        }
    }

    fn wrap_node<'a>(&'a self, node: &'a NodeInfo<'a>, next: Next<'a>) -> NodeFuture<'a> {
        self.lock().in_body.insert(node.name().to_string());
        next.run(node)
    }

    fn after_node(&self, node: &NodeInfo<'_>, result: &NodeResult, took: Duration) {
        let mut st = self.lock();
        let name = node.name();
        let ran = st.in_body.remove(name);
        st.running.remove(name);
        st.done += 1;
        let what = match result {
            Err(e) => {
                st.failed.push(name.to_string());
                format!("failed    {name}: {e}")
            }
            Ok(_) if ran => {
                st.executed += 1;
                st.timings.push((name.to_string(), took));
                format!("executed  {name} ({})", text::duration(took))
            }
            Ok(_) => {
                st.hits += 1;
                format!("hit       {name}")
            }
        };
        let line = format!("[{}/{}] {what}", st.done, st.total.max(st.done));
        if let Some(bar) = &st.bar {
            bar.set_position(st.done as u64);
            bar.set_message(Self::message(&st));
        }
        if result.is_err() {
            // Failures show even above a bar; the error itself follows at the end.
            if let Some(bar) = &st.bar {
                bar.println(line);
                return;
            }
        }
        self.line(&st, line);
    }

    fn after_graph(&self, run: &RunInfo<'_>, summary: &RunSummary<'_>) {
        let mut st = self.lock();
        if let Some(bar) = st.bar.take() {
            bar.finish_and_clear();
        }
        let mut slowest = std::mem::take(&mut st.timings);
        slowest.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        slowest.truncate(5);
        st.report = Some(Report {
            run_id: run.run_id.to_string(),
            total: st.total,
            // A failed node's body ran, but it is counted as failed, not executed.
            executed: summary
                .executed
                .iter()
                .filter(|n| !st.failed.iter().any(|f| f == *n))
                .count(),
            hits: summary.reused.len(),
            failed: std::mem::take(&mut st.failed),
            wall: summary.duration,
            slowest,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_names_counts_and_slowest_nodes() {
        let r = Report {
            run_id: "abc".into(),
            total: 3,
            executed: 2,
            hits: 1,
            failed: Vec::new(),
            wall: Duration::from_millis(12),
            slowest: vec![
                ("a".into(), Duration::from_millis(10)),
                ("b".into(), Duration::from_micros(5)),
            ],
        };
        assert_eq!(
            r.summary(),
            "3 nodes in 12.0ms: 2 executed, 1 hit, 0 failed (run abc)\nslowest: a 10.0ms, b 5µs"
        );
    }
}
