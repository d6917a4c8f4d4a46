//! What the pages read: the cache (opened read-only for inspection), what is known of the
//! flow when a flow's own binary serves the view (docs and modules, which the cache does not
//! keep), the live hub during watch mode, and memos of finished runs.
//!
//! A finished run never changes, so its tally and its picture are computed once: the runs page
//! then reads a run's events only the first time it shows it, and a run page lays its picture
//! out once. Runs still `running` are never memoized.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use weft::cache::{RunMeta, RunTally, StoreError};
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
        FlowInfo { nodes }
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

    /// The run with id `id`, if the cache has it.
    pub(crate) fn run(&self, id: &str) -> Result<Option<RunMeta>, StoreError> {
        Ok(self.cache.runs()?.into_iter().find(|r| r.run_id == id))
    }

    /// How `run` went (memoized once it finished).
    pub(crate) fn tally(&self, run: &RunMeta) -> Result<RunTally, StoreError> {
        if let Some(t) = lock(&self.tallies).get(&run.run_id) {
            return Ok(t.clone());
        }
        let t = self.cache.tally(Some(&run.run_id))?;
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
        let svg = self
            .cache
            .run_picture(Some(&run.run_id))?
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
