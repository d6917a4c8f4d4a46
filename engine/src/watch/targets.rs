//! What a watch watches: the files and file sets a request reads ([`Target`]), the directories
//! to watch for them, and which OS events concern them.

use std::any::TypeId;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use notify_debouncer_full::notify::{EventKind, RecursiveMode};
use notify_debouncer_full::DebouncedEvent;

use crate::files::{FileInput, FileSet};
use crate::graph::{Graph, NodeKind};
use crate::inputs::Inputs;
use crate::plan::Plan;

/// A file or set the request reads, with absolute paths for matching events.
pub(super) enum Target {
    File { shown: String, abs: PathBuf },
    Set { shown: String, set: FileSet },
}

impl Target {
    /// Whether an event at `path` may concern this target: the file itself, a member of the
    /// set, or a directory above them (created, removed or renamed).
    fn concerns(&self, path: &Path) -> bool {
        match self {
            Target::File { abs, .. } => path == abs || abs.starts_with(path),
            Target::Set { set, .. } => set.may_concern(path) || set.root().starts_with(path),
        }
    }

    /// Where to watch: the parent directory (a file) or the root (a set), recursively for a
    /// set; the nearest existing ancestor, not recursively, while those are missing.
    pub(super) fn watch_point(&self) -> Option<(PathBuf, RecursiveMode)> {
        let (dir, mode) = match self {
            Target::File { abs, .. } => (abs.parent()?.to_path_buf(), RecursiveMode::NonRecursive),
            Target::Set { set, .. } => (set.root().to_path_buf(), RecursiveMode::Recursive),
        };
        if dir.is_dir() {
            return Some((dir, mode));
        }
        dir.ancestors()
            .skip(1)
            .find(|a| a.is_dir())
            .map(|a| (a.to_path_buf(), RecursiveMode::NonRecursive))
    }
}

/// The files and sets among the inputs (and overrides) the plan reads.
pub(super) fn targets(
    graph: &Graph,
    plan: &Plan,
    inputs: &Inputs,
    overrides: &Inputs,
) -> Vec<Target> {
    let mut out = Vec::new();
    for &id in &plan.order {
        let node = graph.get(id);
        if !matches!(node.kind(), NodeKind::Input { .. }) {
            continue;
        }
        let Some((value, _)) = overrides
            .entries()
            .get(node.name())
            .or_else(|| inputs.entries().get(node.name()))
        else {
            continue;
        };
        if let Some(file) = value.downcast_ref::<FileInput>() {
            let abs = std::path::absolute(file.path()).unwrap_or_else(|_| file.path().into());
            out.push(Target::File {
                shown: file.path().display().to_string(),
                abs,
            });
        } else if let Some(set) = value.downcast_ref::<FileSet>() {
            let root = std::path::absolute(set.root()).unwrap_or_else(|_| set.root().into());
            out.push(Target::Set {
                shown: set.to_string(),
                set: FileSet::new(root, set.pattern()),
            });
        }
    }
    out
}

/// Config values that are files: read once at build, never watched.
pub(super) fn config_files(graph: &Graph, plan: &Plan) -> Vec<String> {
    plan.order
        .iter()
        .map(|&id| graph.get(id))
        .filter(|n| match n.kind() {
            NodeKind::Config { ty } => {
                ty.id() == TypeId::of::<FileInput>() || ty.id() == TypeId::of::<FileSet>()
            }
            _ => false,
        })
        .map(|n| {
            format!(
                "config `{}` is a file: config is fingerprinted once, when the driver is \
                 built, so changes to it are not seen; pass it as an input to watch it",
                n.name()
            )
        })
        .collect()
}

pub(super) fn desired_watches(targets: &[Target]) -> BTreeMap<PathBuf, RecursiveMode> {
    let mut out = BTreeMap::new();
    for t in targets {
        if let Some((dir, mode)) = t.watch_point() {
            let entry = out.entry(dir).or_insert(mode);
            if mode == RecursiveMode::Recursive {
                *entry = RecursiveMode::Recursive;
            }
        }
    }
    out
}

/// Moves watches where they should be now (directories appear and disappear); a watched
/// directory named by an event (removed, recreated, renamed) is watched afresh.
pub(super) fn rewatch<W, C>(
    debouncer: &mut notify_debouncer_full::Debouncer<W, C>,
    watched: &mut BTreeMap<PathBuf, RecursiveMode>,
    targets: &[Target],
    paths: &[PathBuf],
) -> Vec<String>
where
    W: notify_debouncer_full::notify::Watcher,
    C: notify_debouncer_full::FileIdCache,
{
    let mut warnings = Vec::new();
    let desired = desired_watches(targets);
    let stale: Vec<PathBuf> = watched
        .iter()
        .filter(|(dir, mode)| {
            desired.get(*dir) != Some(*mode) || paths.iter().any(|p| dir.starts_with(p))
        })
        .map(|(dir, _)| dir.clone())
        .collect();
    for dir in stale {
        let _ = debouncer.unwatch(&dir);
        watched.remove(&dir);
    }
    for (dir, mode) in desired {
        if watched.contains_key(&dir) {
            continue;
        }
        match debouncer.watch(&dir, mode) {
            Ok(()) => {
                watched.insert(dir, mode);
            }
            Err(e) => warnings.push(format!(
                "cannot watch `{}`: {}",
                dir.display(),
                notify_hint(&e.to_string())
            )),
        }
    }
    warnings
}

/// The paths of `events` that concern a target (access events are ignored), sorted.
pub(super) fn relevant_paths(events: &[DebouncedEvent], targets: &[Target]) -> Vec<PathBuf> {
    let mut out = BTreeSet::new();
    for e in events {
        if matches!(e.kind, EventKind::Access(_)) {
            continue;
        }
        for p in &e.paths {
            if targets.iter().any(|t| t.concerns(p)) {
                out.insert(p.clone());
            }
        }
    }
    out.into_iter().collect()
}

/// Adds a fix to the OS watcher's most common failure.
pub(super) fn notify_hint(message: &str) -> String {
    if message.contains("inotify") || message.contains("No space left") {
        format!(
            "{message}; the system's limit of inotify watches or instances is reached: raise \
             fs.inotify.max_user_watches / max_user_instances (sysctl), or watch fewer files"
        )
    } else {
        message.to_string()
    }
}
