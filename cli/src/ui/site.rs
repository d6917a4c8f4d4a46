//! What the pages read: the cache (opened read-only for inspection), what is known of the
//! flow when a flow's own binary serves the view (docs and modules, which the cache does not
//! keep), the live hub during watch mode, and memos of finished runs.
//!
//! A finished run never changes, so its tally and its picture are computed once: the runs page
//! then reads a run's events only the first time it shows it, and a run page lays its picture
//! out once. Runs still `running` are never memoized.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use weft::cache::{RunMeta, RunTally, StoreError};
use weft::viz::{Viz, VizNode, VizRole};
use weft::{Cache, Graph};

use super::live::Hub;

/// How many run pictures stay in memory.
const PICTURES_KEPT: usize = 32;

/// What the flow's code says about its nodes (the cache keeps names, types and versions, not
/// docs).
#[derive(Debug, Clone, Default)]
pub(crate) struct FlowInfo {
    /// Per function node: (module, doc).
    pub(crate) nodes: BTreeMap<String, (String, String)>,
    /// Per node: its dependencies (the graph's edges).
    pub(crate) deps: BTreeMap<String, Vec<String>>,
}

impl FlowInfo {
    /// The docs and modules of `graph`'s function nodes.
    pub(crate) fn of(graph: &Graph) -> FlowInfo {
        let nodes = graph
            .nodes()
            .iter()
            .filter_map(|n| {
                let spec = n.spec()?;
                Some((
                    n.name().to_string(),
                    (spec.module().to_string(), spec.doc().to_string()),
                ))
            })
            .collect();
        let deps = graph
            .nodes()
            .iter()
            .filter_map(|n| {
                let id = graph.id(n.name())?;
                let deps = graph
                    .deps(id)
                    .iter()
                    .map(|d| graph.nodes()[*d as usize].name().to_string());
                Some((n.name().to_string(), deps.collect()))
            })
            .collect();
        FlowInfo { nodes, deps }
    }

    /// Adds to a run's picture the flow's nodes the run has no record of: `skipped` for those
    /// its requested outputs needed (a failure upstream stopped them), `not on the path` for
    /// the others; with the graph's edges between them.
    fn complete(&self, viz: &mut Viz, outputs: &[String]) {
        let mut index: HashMap<String, usize> = viz
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.name.clone(), i))
            .collect();
        // What the outputs need, iteratively.
        let mut needed: HashSet<&str> = HashSet::new();
        let mut todo: Vec<&str> = outputs.iter().map(String::as_str).collect();
        while let Some(n) = todo.pop() {
            if needed.insert(n) {
                todo.extend(self.deps.get(n).into_iter().flatten().map(String::as_str));
            }
        }
        for name in self.nodes.keys() {
            if index.contains_key(name) {
                continue;
            }
            index.insert(name.clone(), viz.nodes.len());
            viz.nodes.push(VizNode {
                name: name.clone(),
                role: VizRole::Function,
                type_name: String::new(),
                note: if needed.contains(name.as_str()) {
                    "skipped".into()
                } else {
                    "not on the path".into()
                },
            });
        }
        let mut edges: HashSet<(usize, usize)> = viz.edges.iter().copied().collect();
        for (node, deps) in &self.deps {
            let Some(&to) = index.get(node) else { continue };
            for dep in deps {
                if let Some(&from) = index.get(dep) {
                    if edges.insert((from, to)) {
                        viz.edges.push((from, to));
                    }
                }
            }
        }
    }
}

/// Everything a page needs, shared by the server's handlers.
pub(crate) struct Site {
    pub(crate) cache: Cache,
    pub(crate) dir: PathBuf,
    pub(crate) flow: Option<FlowInfo>,
    pub(crate) live: Option<Hub>,
    tallies: Mutex<HashMap<String, RunTally>>,
    pictures: Mutex<HashMap<String, Arc<str>>>,
}

impl Site {
    pub(crate) fn new(
        cache: Cache,
        dir: PathBuf,
        flow: Option<FlowInfo>,
        live: Option<Hub>,
    ) -> Site {
        Site {
            cache,
            dir,
            flow,
            live,
            tallies: Mutex::default(),
            pictures: Mutex::default(),
        }
    }

    /// Every run, newest first.
    pub(crate) fn runs(&self) -> Result<Vec<RunMeta>, StoreError> {
        let mut runs = self.cache.runs()?;
        runs.reverse();
        Ok(runs)
    }

    /// The run with id `id`, if the cache has it (read alone: a run's pages do not list every
    /// run).
    pub(crate) fn run(&self, id: &str) -> Result<Option<RunMeta>, StoreError> {
        self.cache.run(id)
    }

    /// How `run` went (memoized once it finished).
    pub(crate) fn tally(&self, run: &RunMeta) -> Result<RunTally, StoreError> {
        if let Some(t) = lock(&self.tallies).get(&run.run_id) {
            return Ok(t.clone());
        }
        let t = self.cache.tally(&run.run_id)?;
        if run.status != "running" {
            lock(&self.tallies).insert(run.run_id.clone(), t.clone());
        }
        Ok(t)
    }

    /// The SVG picture of `run` (memoized once it finished).
    pub(crate) fn picture(&self, run: &RunMeta) -> Result<Arc<str>, StoreError> {
        if let Some(p) = lock(&self.pictures).get(&run.run_id) {
            return Ok(p.clone());
        }
        let mut viz = self.cache.run_picture(Some(&run.run_id))?;
        if let Some(flow) = &self.flow {
            flow.complete(&mut viz, &run.outputs);
        }
        let svg = viz
            .to_svg()
            .map_err(|e| StoreError::Other(format!("drawing run {}: {e}", run.run_id)))?;
        let svg: Arc<str> = Arc::from(svg);
        if run.status != "running" {
            let mut pictures = lock(&self.pictures);
            if pictures.len() >= PICTURES_KEPT {
                pictures.clear();
            }
            pictures.insert(run.run_id.clone(), svg.clone());
        }
        Ok(svg)
    }

    /// The doc and module of `node`, when the flow's binary serves the view.
    pub(crate) fn doc(&self, node: &str) -> Option<&(String, String)> {
        self.flow.as_ref()?.nodes.get(node)
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
