//! Looking into a cache: runs, records, data versions, stored values and a picture of a run
//! (why a node re-executed is [`explain`](super::explain), housekeeping [`gc`](super::gc)).
//! Everything here works on a cache directory alone, without the flow's code (the `weft cache`
//! commands use it).

use std::collections::BTreeMap;
#[cfg(feature = "viz")]
use std::{
    collections::{HashMap, HashSet},
    path::Path,
};

use serde::de::DeserializeOwned;

#[cfg(feature = "viz")]
use super::store::Status;
use super::store::{NodeRecord, ResultStore, RunMeta, RunTally, StoreError};
use super::Cache;
use crate::fingerprint::DataVersion;
#[cfg(feature = "viz")]
use crate::viz::{Viz, VizNode, VizRole};

/// Typed access to stored results.
pub struct ResultStoreHandle<'a>(&'a dyn ResultStore);

impl ResultStoreHandle<'_> {
    /// Reads, verifies and decodes the value stored for `version`. The stored value's type
    /// must be `T`: another type is an error naming both, never a value decoded from bytes
    /// that were not written as a `T`.
    pub fn get<T: DeserializeOwned>(&self, version: &DataVersion) -> Result<T, StoreError> {
        let blob = self.0.get(version)?.ok_or_else(|| {
            StoreError::Other(format!("no stored result for {}", version.short()))
        })?;
        let asked = std::any::type_name::<T>();
        if blob.type_name != asked {
            let (stored, asked) = crate::type_name::short_type_name_pair(&blob.type_name, asked);
            return Err(StoreError::Other(format!(
                "stored result {} is a `{stored}`, not a `{asked}`; ask for `get::<{stored}>`",
                version.short(),
            )));
        }
        let decoded = match blob.format.as_str() {
            "postcard" => postcard::from_bytes(&blob.bytes).map_err(|e| e.to_string()),
            "json" => serde_json::from_slice(&blob.bytes).map_err(|e| e.to_string()),
            other => Err(format!("unknown format `{other}`")),
        };
        decoded.map_err(|e| {
            let (stored, asked) =
                crate::type_name::short_type_name_pair(&blob.type_name, std::any::type_name::<T>());
            StoreError::Other(format!(
                "stored result {} is a `{stored}` in {}; cannot decode it as `{asked}`: {e}",
                version.short(),
                blob.format,
            ))
        })
    }

    /// The stored blob for `version` as it is (format, Rust type, bytes), verified but not
    /// decoded: for tools that show values whose type they do not know (`weft ui`).
    pub fn blob(&self, version: &DataVersion) -> Result<Option<super::Blob>, StoreError> {
        self.0.get(version)
    }

    /// Whether a result is stored for `version`.
    pub fn contains(&self, version: &DataVersion) -> bool {
        self.0.contains(version).unwrap_or(false)
    }
}

impl Cache {
    /// Every run, oldest first. A run recorded as `running` that no live process holds (it
    /// was killed, or its process stopped before recording its end) has status `interrupted`
    /// (cache directories only: runs on stores given to [`Cache::with_stores`] hold no lease).
    pub fn runs(&self) -> Result<Vec<RunMeta>, StoreError> {
        self.flush();
        let mut runs = self.inner.meta.runs()?;
        for r in &mut runs {
            self.mark_interrupted(r);
        }
        Ok(runs)
    }

    /// Run `run_id` (an id as [`runs`](Self::runs) lists it, not a prefix), if the cache has
    /// it, with the status [`runs`](Self::runs) would give it: one run read without listing
    /// them all, for tools showing one run of many.
    ///
    /// ```
    /// let dir = std::env::temp_dir().join(format!("weft-doc-run-{}", std::process::id()));
    /// let cache = weft::Cache::open(&dir)?;
    /// assert!(cache.run("0123456789abcdef")?.is_none());
    /// # std::fs::remove_dir_all(&dir).ok();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn run(&self, run_id: &str) -> Result<Option<RunMeta>, StoreError> {
        self.flush();
        let mut run = self.inner.meta.run(run_id)?;
        if let Some(r) = &mut run {
            self.mark_interrupted(r);
        }
        Ok(run)
    }

    /// A run recorded as `running` that no live process holds is `interrupted`.
    fn mark_interrupted(&self, r: &mut RunMeta) {
        if let super::Place::Dir(dir) = &self.inner.place {
            if r.status == "running" && !super::lease::is_live(dir, &r.run_id) {
                r.status = "interrupted".into();
            }
        }
    }

    /// The id of the most recent run.
    pub fn last_run_id(&self) -> Option<String> {
        self.runs().ok()?.pop().map(|r| r.run_id)
    }

    pub(super) fn run_or_last(&self, run: Option<&str>) -> Result<String, StoreError> {
        self.run_meta_or_last(run).map(|m| m.run_id)
    }

    /// Run `run` (a whole id, read alone, or else a prefix of one), or the last run.
    fn run_meta_or_last(&self, run: Option<&str>) -> Result<RunMeta, StoreError> {
        match run {
            Some(r) => {
                if let Some(meta) = self.run(r)? {
                    return Ok(meta);
                }
                let mut matches: Vec<_> = (self.runs()?.into_iter())
                    .filter(|m| m.run_id.starts_with(r))
                    .collect();
                match matches.len() {
                    1 => Ok(matches.remove(0)),
                    0 => Err(StoreError::Other(format!(
                        "no run `{r}` in {} (see `weft cache runs`)",
                        self.location()
                    ))),
                    _ => Err(StoreError::Other(format!("run prefix `{r}` is ambiguous"))),
                }
            }
            None => self
                .runs()?
                .pop()
                .ok_or_else(|| StoreError::Other(format!("no runs in {}", self.location()))),
        }
    }

    /// The structured cache events (one record per node) of a run (`None`: the last run).
    pub fn records(&self, run: Option<&str>) -> Result<Vec<NodeRecord>, StoreError> {
        let run = self.run_or_last(run)?;
        self.inner.meta.records(&run)
    }

    /// Each node's data version in a run (`None`: the last run).
    pub fn data_versions(
        &self,
        run: Option<&str>,
    ) -> Result<BTreeMap<String, DataVersion>, StoreError> {
        Ok(self
            .records(run)?
            .into_iter()
            .filter_map(|r| Some((r.node, r.data_version?)))
            .collect())
    }

    /// The file holding `node`'s stored result in `run` (`None`: the last run that has the
    /// node): for results in a file format (parquet, Arrow IPC) a plain file any tool reads.
    /// An error says why there is none (no such node, no stored result, or a result kept
    /// inline in SQLite or in a store without files).
    pub fn result_path(
        &self,
        node: &str,
        run: Option<&str>,
    ) -> Result<std::path::PathBuf, StoreError> {
        self.flush();
        let version = match run {
            Some(r) => self.data_versions(Some(r))?.remove(node),
            None => {
                (self.inner.meta.history(node, 10_000)?.into_iter()).find_map(|h| h.data_version)
            }
        };
        let Some(version) = version else {
            return Err(StoreError::Other(format!(
                "no stored result of node `{node}` in {} (see `weft cache show`)",
                self.location()
            )));
        };
        self.inner.results.path_of(&version).ok_or_else(|| {
            StoreError::Other(format!(
                "the result of `{node}` ({}) is not a file of its own: small results are rows \
                 of results.sqlite, and only parquet and ipc results are plain files; use \
                 #[node(cache(format = \"parquet\"))] for a file any tool reads",
                version.short()
            ))
        })
    }

    /// Typed access to stored values.
    pub fn result_store(&self) -> ResultStoreHandle<'_> {
        self.flush();
        ResultStoreHandle(&*self.inner.results)
    }

    /// How run `run_id` went (an id as [`runs`](Self::runs) lists it, not a prefix: tools
    /// showing many runs call this once per run, so it does not list the runs to resolve
    /// one): records per status and the time its nodes took, counted without decoding whole
    /// records. An unknown id has an empty tally.
    pub fn tally(&self, run_id: &str) -> Result<RunTally, StoreError> {
        self.flush();
        self.inner.meta.tally(run_id)
    }

    /// The records of `node` across runs, newest first, at most `limit`: those of run
    /// `run_id` (an id as [`runs`](Self::runs) lists it) and before it, or, for `None`, the
    /// latest. Reads only as far back as `limit` records need.
    pub fn node_history(
        &self,
        node: &str,
        run_id: Option<&str>,
        limit: usize,
    ) -> Result<Vec<NodeRecord>, StoreError> {
        self.flush();
        match run_id {
            Some(run) => self.inner.meta.history_through(node, run, limit),
            None => self.inner.meta.history(node, limit),
        }
    }

    /// A picture of a run (`None`: the last run): hits, executed, recomputed, disabled and
    /// failed nodes styled apart, with timings. Written as SVG, or DOT for `.dot`.
    #[cfg(feature = "viz")]
    #[cfg_attr(docsrs, doc(cfg(feature = "viz")))]
    pub fn view_run(&self, run: Option<&str>, path: impl AsRef<Path>) -> Result<(), StoreError> {
        let viz = self.run_picture(run)?;
        viz.write(path.as_ref())
            .map_err(|e| StoreError::Other(e.to_string()))
    }

    /// The picture [`view_run`](Self::view_run) writes.
    #[cfg(feature = "viz")]
    #[cfg_attr(docsrs, doc(cfg(feature = "viz")))]
    pub fn run_picture(&self, run: Option<&str>) -> Result<Viz, StoreError> {
        let meta = self.run_meta_or_last(run)?;
        let run_id = meta.run_id.clone();
        let records = self.inner.meta.records(&run_id)?;
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut nodes = Vec::new();
        let mut failure = None;
        for r in &records {
            index.insert(r.node.clone(), nodes.len());
            let role = r.status.viz_role();
            let mut note = format!(
                "{} · {:.2} ms",
                r.status.as_str(),
                r.duration_us as f64 / 1e3
            );
            // A failure's own words, in the picture (first line, kept short).
            if let Some(error) = &r.error {
                let line = first_line(error, 60);
                note.push_str(&format!(": {line}"));
                failure.get_or_insert_with(|| {
                    format!("`{}` failed: {}", r.node, first_line(error, 100))
                });
            }
            nodes.push(VizNode {
                name: r.node.clone(),
                role,
                type_name: r.type_name.clone(),
                note,
            });
        }
        // Every requested node is in the picture: one that never ran (something it needs
        // failed first) is greyed.
        for output in &meta.outputs {
            if !index.contains_key(output) {
                index.insert(output.clone(), nodes.len());
                nodes.push(VizNode {
                    name: output.clone(),
                    role: VizRole::NotRun,
                    type_name: String::new(),
                    note: "requested; not run".into(),
                });
            }
        }
        let mut edges = Vec::new();
        let mut inputs: HashSet<String> = HashSet::new();
        for r in &records {
            for (dep, version) in &r.deps {
                if !index.contains_key(dep) && inputs.insert(dep.clone()) {
                    // No version and not ignored: an optional input that was not given
                    // (a memoized node's record has no versions of its dependencies).
                    let absent =
                        version.is_none() && !r.ignored.contains(dep) && r.status != Status::Memo;
                    index.insert(dep.clone(), nodes.len());
                    nodes.push(VizNode {
                        name: dep.clone(),
                        role: if absent {
                            VizRole::OptionalInput
                        } else {
                            VizRole::Input
                        },
                        type_name: String::new(),
                        note: if absent {
                            "not given".into()
                        } else {
                            String::new()
                        },
                    });
                }
                edges.push((index[dep], index[&r.node]));
            }
        }
        let title = match failure {
            Some(why) if meta.status == "failed" => format!("weft run {run_id} · failed: {why}"),
            Some(why) => format!("weft run {run_id} · {why}"),
            None => format!("weft run {run_id}"),
        };
        Ok(Viz {
            title,
            nodes,
            edges,
            legend: true,
            groups: Vec::new(),
        })
    }
}

#[cfg(feature = "viz")]
impl Status {
    /// How pictures of runs draw a node with this status (and so its colours, see
    /// [`VizRole::colours`]).
    ///
    /// ```
    /// use weft::cache::Status;
    /// use weft::viz::VizRole;
    /// assert_eq!(Status::Memo.viz_role(), VizRole::Hit);
    /// ```
    pub fn viz_role(self) -> VizRole {
        match self {
            Status::Hit | Status::Memo => VizRole::Hit,
            Status::Executed | Status::Uncached | Status::Ignored => VizRole::Executed,
            Status::Recomputed => VizRole::Recomputed,
            Status::Disabled => VizRole::Disabled,
            Status::Failed => VizRole::Failed,
        }
    }
}

/// The first line of `text`, at most `max` characters (an ellipsis marks a cut).
#[cfg(feature = "viz")]
fn first_line(text: &str, max: usize) -> String {
    let line = text.lines().next().unwrap_or("");
    if line.chars().count() <= max {
        line.to_string()
    } else {
        let cut: String = line.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}
