//! What a rerun did and why: [`RunReport`], shared by the watcher and [`Session`](crate::Session).

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::driver::{Driver, RunRecord};
use crate::error::ExecuteError;
use crate::files::{FileInput, FileSet};
use crate::fingerprint::DataVersion;
use crate::graph::{NodeId, NodeKind};
use crate::inputs::Inputs;
use crate::outputs::Outputs;
use crate::plan::Plan;

/// What started a run.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Trigger {
    /// The watcher's (or session's) first run.
    Start,
    /// Files changed on disk (the paths the events named).
    Files(Vec<PathBuf>),
    /// A session was asked for a value.
    Request,
}

/// An input (or overridden node) whose value changed since the previous completed run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The input's (or overridden node's) name.
    pub input: String,
    /// For a [`FileInput`] or [`FileSet`], the file or glob it names.
    pub file: Option<String>,
    /// How it changed.
    pub kind: ChangeKind,
}

/// How an input changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChangeKind {
    /// Its data version differs (for a file: its content; a file that appears is a change).
    Changed,
    /// A file input whose file is missing now.
    Missing,
    /// Its value cannot be fingerprinted, so it counts as changed on every run.
    Opaque,
    /// An override now replaces the node's value.
    Overridden,
    /// The node's override was removed: it computes its own value again.
    OverrideRemoved,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = &self.input;
        match (&self.file, self.kind) {
            (Some(file), ChangeKind::Missing) => write!(f, "{file} missing"),
            (Some(file), _) => write!(f, "{file} changed"),
            (None, ChangeKind::Opaque) => write!(f, "`{name}` (not fingerprintable)"),
            (None, ChangeKind::Overridden) => write!(f, "`{name}` overridden"),
            (None, ChangeKind::OverrideRemoved) => write!(f, "`{name}` no longer overridden"),
            (None, _) => write!(f, "`{name}` changed"),
        }
    }
}

/// Why a node ran.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reason {
    /// These changed inputs (or overridden nodes) are upstream of it.
    Changed(Vec<String>),
    /// It had not been computed before (the first run, or the first request that needs it).
    New,
    /// Nothing upstream changed: it failed last time, or it always recomputes
    /// (`cache = "recompute"` or `"disable"`).
    Rerun,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Changed(inputs) => {
                let list: Vec<String> = inputs.iter().map(|i| format!("`{i}`")).collect();
                write!(f, "because {} changed", list.join(", "))
            }
            Reason::New => f.write_str("not computed before"),
            Reason::Rerun => f.write_str("retried after a failure, or always recomputes"),
        }
    }
}

/// One node that ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRun {
    /// The node.
    pub name: String,
    /// Why it ran.
    pub reason: Reason,
    /// How long its body took (through the adapters).
    pub duration: Option<Duration>,
}

/// How a run ended.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum RunStatus {
    /// Every requested output was computed.
    Completed,
    /// A node failed, or the request was invalid; the error names the node (and the file).
    Failed(Arc<ExecuteError>),
    /// A newer change arrived and the run was abandoned between nodes.
    Cancelled,
}

/// What one run did: which nodes ran and why, which were reused, and how long it took.
///
/// `Display` is one line; the alternate form (`{:#}`, or [`verbose`](Self::verbose)) adds a
/// line per node:
///
/// ```text
/// run 2: data.csv changed; ran rows, total; reused 1; 0.41 ms
///   ran     rows     0.18 ms  because `data_path` changed
///   ran     total    0.01 ms  because `data_path` changed
///   reused  title
/// ```
#[derive(Debug, Clone)]
pub struct RunReport {
    /// 1 for the first run of a watcher or session, then counting up.
    pub number: u64,
    /// What started it.
    pub trigger: Trigger,
    /// The inputs whose data version changed since the previous completed run.
    pub changed: Vec<Change>,
    /// The nodes that ran, in execution order.
    pub executed: Vec<NodeRun>,
    /// The nodes whose remembered value was reused.
    pub reused: Vec<String>,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// Completed, failed or cancelled.
    pub status: RunStatus,
}

impl RunReport {
    /// The names of the nodes that ran, in order.
    pub fn executed_names(&self) -> Vec<&str> {
        self.executed.iter().map(|n| n.name.as_str()).collect()
    }

    /// Whether `node` ran.
    pub fn ran(&self, node: &str) -> bool {
        self.executed.iter().any(|n| n.name == node)
    }

    /// Why `node` ran, if it did.
    pub fn reason(&self, node: &str) -> Option<&Reason> {
        self.executed
            .iter()
            .find(|n| n.name == node)
            .map(|n| &n.reason)
    }

    /// Whether every requested output was computed.
    pub fn is_completed(&self) -> bool {
        matches!(self.status, RunStatus::Completed)
    }

    /// Whether a newer change cancelled it.
    pub fn is_cancelled(&self) -> bool {
        matches!(self.status, RunStatus::Cancelled)
    }

    /// The error of a failed run.
    pub fn error(&self) -> Option<&ExecuteError> {
        match &self.status {
            RunStatus::Failed(e) => Some(e),
            _ => None,
        }
    }

    /// The report with a line per node (same as `{:#}`).
    pub fn verbose(&self) -> impl fmt::Display + '_ {
        Verbose(self)
    }
}

struct Verbose<'a>(&'a RunReport);

impl fmt::Display for Verbose<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#}", self.0)
    }
}

/// `0.123 ms`, `12.3 ms`, `1.23 s`.
pub(crate) fn millis(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1e3;
    if ms < 1.0 {
        format!("{ms:.3} ms")
    } else if ms < 1000.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{:.2} s", ms / 1e3)
    }
}

fn list(names: &[&str], max: usize) -> String {
    if names.len() <= max {
        names.join(", ")
    } else {
        format!("{} and {} more", names[..max].join(", "), names.len() - max)
    }
}

impl fmt::Display for RunReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "run {}: ", self.number)?;
        if !self.changed.is_empty() {
            let changes: Vec<String> = self.changed.iter().map(|c| c.to_string()).collect();
            let shown: Vec<&str> = changes.iter().map(String::as_str).collect();
            write!(f, "{}", list(&shown, 3))?;
        } else if self.trigger == Trigger::Start {
            write!(f, "first run")?;
        } else {
            write!(f, "no input changed")?;
        }
        match &self.status {
            RunStatus::Completed => {
                let ran = self.executed_names();
                if ran.is_empty() {
                    write!(f, "; nothing ran")?;
                } else {
                    write!(f, "; ran {}", list(&ran, 5))?;
                }
                write!(
                    f,
                    "; reused {}; {}",
                    self.reused.len(),
                    millis(self.elapsed)
                )?;
            }
            RunStatus::Cancelled => write!(
                f,
                "; cancelled after {} (a newer change arrived)",
                millis(self.elapsed)
            )?,
            RunStatus::Failed(_) if f.alternate() => {
                write!(f, "; failed after {}:", millis(self.elapsed))?;
            }
            RunStatus::Failed(e) => {
                let text = e.to_string();
                let first = text.lines().next().unwrap_or("");
                write!(f, "; failed after {}: {first}", millis(self.elapsed))?;
            }
        }
        if f.alternate() {
            let width = self
                .executed
                .iter()
                .map(|n| n.name.len())
                .chain(self.reused.iter().map(String::len))
                .max()
                .unwrap_or(0);
            for n in &self.executed {
                let took = n.duration.map(millis).unwrap_or_default();
                write!(f, "\n  ran     {:<width$}  {took:>9}  {}", n.name, n.reason)?;
            }
            for n in &self.reused {
                write!(f, "\n  reused  {n}")?;
            }
            if let RunStatus::Failed(e) = &self.status {
                for line in e.to_string().lines() {
                    write!(f, "\n  | {line}")?;
                }
            }
        }
        Ok(())
    }
}

/// An input's version as the reporter sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Seen {
    Absent,
    Version(DataVersion),
    /// Not fingerprintable: the driver counts it as changed on every run.
    Opaque,
}

/// The versions of the inputs (and overridden nodes) a plan reads, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Versions {
    values: BTreeMap<String, Seen>,
    overridden: BTreeSet<String>,
}

impl Versions {
    /// Fingerprints what `plan` reads from `inputs` and `overrides`. Files are read from disk
    /// without touching the check their `read` does against the run's fingerprint.
    pub(crate) fn of(driver: &Driver, plan: &Plan, inputs: &Inputs, overrides: &Inputs) -> Self {
        let graph = driver.graph();
        let mut out = Versions::default();
        for &id in &plan.order {
            let node = graph.get(id);
            let external = matches!(node.kind(), NodeKind::Input { .. });
            if !external && !plan.overridden.contains(&id) {
                continue;
            }
            if !external {
                out.overridden.insert(node.name().to_string());
            }
            let given = overrides
                .entries()
                .get(node.name())
                .or_else(|| inputs.entries().get(node.name()));
            let seen = match given {
                None => Seen::Absent,
                Some((value, _)) => {
                    if let Some(file) = value.downcast_ref::<FileInput>() {
                        Seen::Version(file.current_version())
                    } else if let Some(set) = value.downcast_ref::<FileSet>() {
                        Seen::Version(set.current_version())
                    } else {
                        match node.value_type().fingerprint(&**value) {
                            Some(v) => Seen::Version(v),
                            None => Seen::Opaque,
                        }
                    }
                }
            };
            out.values.insert(node.name().to_string(), seen);
        }
        out
    }

    /// What changed from `base` (the previous completed runs) to `self`.
    fn changes_since(&self, base: &Versions) -> Vec<(String, ChangeKind)> {
        let mut out = Vec::new();
        for (name, seen) in &self.values {
            let newly_overridden =
                self.overridden.contains(name) && !base.overridden.contains(name);
            if *seen == Seen::Opaque {
                out.push((name.clone(), ChangeKind::Opaque));
            } else if newly_overridden {
                out.push((name.clone(), ChangeKind::Overridden));
            } else if base.values.get(name).is_some_and(|b| b != seen) {
                out.push((name.clone(), ChangeKind::Changed));
            }
        }
        for name in base.overridden.difference(&self.overridden) {
            out.push((name.clone(), ChangeKind::OverrideRemoved));
        }
        out
    }

    /// Folds a completed run's versions into the baseline.
    fn absorb(&mut self, run: Versions) {
        for gone in self.overridden.difference(&run.overridden) {
            self.values.remove(gone);
        }
        self.overridden = run.overridden;
        self.values.extend(run.values);
    }
}

/// Builds [`RunReport`]s: remembers the versions of the last completed run and which nodes
/// were ever computed.
#[derive(Default)]
pub(crate) struct Reporter {
    baseline: Option<Versions>,
    computed: HashSet<String>,
    runs: u64,
}

impl Reporter {
    /// The number the next run gets.
    pub(crate) fn next_number(&mut self) -> u64 {
        self.runs += 1;
        self.runs
    }

    /// Reports a finished run numbered `number` that read `versions`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn report(
        &mut self,
        driver: &Driver,
        number: u64,
        trigger: Trigger,
        versions: Versions,
        inputs: &Inputs,
        overrides: &Inputs,
        result: &Result<(Outputs, RunRecord), ExecuteError>,
        elapsed: Duration,
    ) -> RunReport {
        let graph = driver.graph();
        let changes: Vec<(String, ChangeKind)> = match &self.baseline {
            None => Vec::new(),
            Some(base) => versions.changes_since(base),
        };
        let changed: Vec<Change> = changes
            .iter()
            .map(|(name, kind)| {
                let value = overrides
                    .entries()
                    .get(name)
                    .or_else(|| inputs.entries().get(name))
                    .map(|(v, _)| v);
                let file = value.and_then(|v| v.downcast_ref::<FileInput>());
                let set = value.and_then(|v| v.downcast_ref::<FileSet>());
                let kind = match file {
                    Some(f) if !f.exists() => ChangeKind::Missing,
                    _ => *kind,
                };
                Change {
                    input: name.clone(),
                    file: file
                        .map(|f| f.path().display().to_string())
                        .or_else(|| set.map(|s| s.to_string())),
                    kind,
                }
            })
            .collect();
        let changed_names: Vec<String> = changes.iter().map(|(n, _)| n.clone()).collect();

        // Downstream of each change, as a set of node ids.
        let downstream: Vec<(String, HashSet<NodeId>)> = changed_names
            .iter()
            .filter_map(|name| graph.id(name).map(|id| (name.clone(), id)))
            .map(|(name, id)| {
                // A node whose override was removed runs because of it, too.
                let mut seen = HashSet::from([id]);
                let mut stack = vec![id];
                while let Some(x) = stack.pop() {
                    for &d in &graph.get(x).dependents {
                        if seen.insert(d) {
                            stack.push(d);
                        }
                    }
                }
                (name, seen)
            })
            .collect();

        let (status, executed, reused) = match result {
            Ok((_, record)) => {
                let executed = record
                    .executed
                    .iter()
                    .map(|name| {
                        let id = graph.id(name);
                        let because: Vec<String> = downstream
                            .iter()
                            .filter(|(_, set)| id.is_some_and(|id| set.contains(&id)))
                            .map(|(n, _)| n.clone())
                            .collect();
                        let reason = if !because.is_empty() {
                            Reason::Changed(because)
                        } else if !self.computed.contains(name) {
                            Reason::New
                        } else {
                            Reason::Rerun
                        };
                        NodeRun {
                            name: name.clone(),
                            reason,
                            duration: record.durations.get(name).copied(),
                        }
                    })
                    .collect();
                self.computed.extend(record.executed.iter().cloned());
                self.computed.extend(record.reused.iter().cloned());
                (RunStatus::Completed, executed, record.reused.clone())
            }
            Err(ExecuteError::Cancelled) => (RunStatus::Cancelled, Vec::new(), Vec::new()),
            Err(e) => (
                RunStatus::Failed(Arc::new(clone_error(e))),
                Vec::new(),
                Vec::new(),
            ),
        };
        if !matches!(status, RunStatus::Cancelled) {
            // Merged, so that a request reading other inputs does not forget these.
            self.baseline
                .get_or_insert_with(Versions::default)
                .absorb(versions);
        }
        RunReport {
            number,
            trigger,
            changed,
            executed,
            reused,
            elapsed,
            status,
        }
    }
}

/// A report keeps its own copy of the error.
fn clone_error(e: &ExecuteError) -> ExecuteError {
    e.clone()
}
