//! Looking into a cache: runs, records, data versions, stored values, why a node re-executed,
//! a picture of a run, and housekeeping (gc, clear). Everything here works on a cache directory
//! alone, without the flow's code (the `weft cache` commands use it).

use std::collections::{BTreeMap, HashSet};
use std::fmt;
#[cfg(feature = "viz")]
use std::{collections::HashMap, path::Path};

use serde::de::DeserializeOwned;

use super::store::{NodeRecord, ResultStore, RunMeta, RunTally, Status, StoreError};

/// How far back [`Cache::explain`] looks for a node's previous keyed record.
const EXPLAIN_HISTORY: usize = 10_000;
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

/// Why a node executed (or hit) in a run, compared with its previous record.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    /// The node.
    pub node: String,
    /// The run explained.
    pub run_id: String,
    /// What happened in that run.
    pub status: Status,
    /// The reasons, in words (empty for a hit that needs none).
    pub reasons: Vec<String>,
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` in run {}: {}",
            self.node,
            self.run_id,
            self.status.as_str()
        )?;
        for r in &self.reasons {
            write!(f, "\n  - {r}")?;
        }
        Ok(())
    }
}

/// What `gc` keeps.
#[derive(Debug, Clone, Copy, Default)]
pub struct GcPolicy {
    /// Keep at most this many most recent runs.
    pub keep_runs: Option<usize>,
    /// Then drop the oldest runs until the stored results fit in this many bytes.
    pub max_bytes: Option<u64>,
}

/// What `gc` did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GcReport {
    /// Runs deleted.
    pub runs_removed: usize,
    /// Result blobs deleted.
    pub results_removed: usize,
    /// Bytes freed.
    pub bytes_freed: u64,
    /// Bytes still stored.
    pub bytes_kept: u64,
    /// Temporary files interrupted writes had left (see [`ResultStore::sweep`]).
    pub temp_files_removed: usize,
    /// Lease files killed runs had left (see [`Cache::runs`]: such a run is `interrupted`).
    pub leases_removed: usize,
    /// Runs alive on the cache directory when gc was asked for (in this process or another):
    /// while there are any, gc collects nothing (what they wrote, or will read, stays) and
    /// only sweeps leftovers; run it again once they are done.
    pub live_runs: usize,
}

fn short<T: std::fmt::Display>(digest: &Option<T>) -> String {
    digest.as_ref().map_or("none".into(), |d| {
        let mut s = d.to_string();
        s.truncate(12);
        s
    })
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

    fn run_or_last(&self, run: Option<&str>) -> Result<String, StoreError> {
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

    /// Why `node` executed (or hit) in `run` (`None`: the last run that has it), compared
    /// with the node's previous record: which dependency's data version, or the code version,
    /// changed.
    pub fn explain(&self, node: &str, run: Option<&str>) -> Result<Explanation, StoreError> {
        self.flush();
        let run = run.map(|r| self.run_or_last(Some(r))).transpose()?;
        // The previous record that had a key (memo records carry none): usually among the
        // few before this one, so a few are read first, and the long history only if not.
        let keyed = |h: &&NodeRecord| h.cache_key.is_some() || h.status == Status::Hit;
        let mut history = Vec::new();
        for limit in [16, EXPLAIN_HISTORY] {
            history = self.node_history(node, run.as_deref(), limit)?;
            if history.len() < limit || history[1..].iter().any(|h| keyed(&h)) {
                break;
            }
        }
        if history.is_empty() {
            return Err(StoreError::Other(format!(
                "no record of node `{node}` in {}",
                self.location()
            )));
        }
        if let Some(run) = &run {
            if history[0].run_id != *run {
                return Err(StoreError::Other(format!(
                    "node `{node}` did not take part in run {run}"
                )));
            }
        }
        let this = &history[0];
        let prev = history[1..].iter().find(keyed);
        let mut reasons = Vec::new();
        match this.status {
            Status::Hit => reasons.push(format!(
                "key {} matched a stored result",
                short(&this.cache_key)
            )),
            Status::Memo => {
                reasons.push("reused from the driver's memory; the cache was not consulted".into())
            }
            Status::Disabled => {
                reasons.push("behaviour DISABLE: always executes, never stored".into())
            }
            Status::Ignored => {
                reasons.push("behaviour IGNORE: always executes, not part of keys".into())
            }
            Status::Recomputed => {
                reasons.push("behaviour RECOMPUTE: always executes, then stored".into())
            }
            Status::Failed => reasons.push(format!(
                "failed: {}",
                this.error.clone().unwrap_or_default()
            )),
            Status::Uncached | Status::Executed => {}
        }
        for dep in &this.ignored {
            reasons.push(format!(
                "dependency `{dep}` is ignored: left out of the key, so a change to it does not \
                 make this node run again, and a hit may hold a value computed from an older \
                 `{dep}` (recompute this node, or stop ignoring `{dep}`, if that matters)"
            ));
        }
        if matches!(
            this.status,
            Status::Executed | Status::Uncached | Status::Recomputed
        ) {
            if let Some(r) = &this.reason {
                reasons.push(r.clone());
            }
            match prev {
                None => reasons.push("no earlier record of this node: first run".into()),
                Some(prev) => {
                    let changes = diff(prev, this);
                    if changes.is_empty() && this.status == Status::Executed {
                        reasons.push(format!(
                            "same code and inputs as run {}, whose result is no longer stored",
                            prev.run_id
                        ));
                    }
                    reasons.extend(changes);
                }
            }
        }
        Ok(Explanation {
            node: node.to_string(),
            run_id: this.run_id.clone(),
            status: this.status,
            reasons,
        })
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

    /// Deletes old runs and the results no remaining run uses, and what interrupted writes
    /// left behind ([`ResultStore::sweep`]). On a cache directory where runs are alive (see
    /// [`GcReport::live_runs`]) it collects nothing but leftovers: a run in flight may have
    /// written keys its records do not show yet, or be about to read an old run's results.
    /// While gc works, runs that start on the directory wait for it.
    pub fn gc(&self, policy: GcPolicy) -> Result<GcReport, StoreError> {
        self.flush();
        let hold = match &self.inner.place {
            super::Place::Dir(dir) => match super::lease::hold_for_gc(dir)? {
                Some(hold) => Some(hold),
                None => {
                    let live = self
                        .runs()?
                        .iter()
                        .filter(|r| r.status == "running")
                        .count();
                    return Ok(GcReport {
                        temp_files_removed: self.inner.results.sweep()?,
                        live_runs: live.max(1),
                        ..GcReport::default()
                    });
                }
            },
            super::Place::Stores(_) => None,
        };
        self.collect(policy, hold.as_ref())
    }

    /// What [`gc`](Self::gc) does once it holds the directory (`hold`; none for stores).
    fn collect(
        &self,
        policy: GcPolicy,
        hold: Option<&super::lease::GcHold>,
    ) -> Result<GcReport, StoreError> {
        let runs = self.runs()?;
        let mut doomed: Vec<String> = Vec::new();
        if let Some(keep) = policy.keep_runs {
            let n = runs.len().saturating_sub(keep);
            doomed.extend(runs[..n].iter().map(|r| r.run_id.clone()));
        }
        let mut report = GcReport {
            temp_files_removed: self.inner.results.sweep()?,
            ..GcReport::default()
        };
        if let (super::Place::Dir(dir), Some(hold)) = (&self.inner.place, hold) {
            report.leases_removed = super::lease::sweep(dir, hold);
        }
        let mut remaining: Vec<&RunMeta> = runs
            .iter()
            .filter(|r| !doomed.contains(&r.run_id))
            .collect();
        loop {
            let kept: HashSet<DataVersion> =
                self.inner.meta.forget_runs(&doomed)?.into_iter().collect();
            report.runs_removed += doomed.len();
            doomed.clear();
            let mut kept_bytes = 0;
            for (v, size) in self.inner.results.list()? {
                if kept.contains(&v) {
                    kept_bytes += size;
                } else {
                    self.inner.results.remove(&v)?;
                    report.results_removed += 1;
                    report.bytes_freed += size;
                }
            }
            report.bytes_kept = kept_bytes;
            match policy.max_bytes {
                Some(max) if kept_bytes > max && !remaining.is_empty() => {
                    doomed.push(remaining.remove(0).run_id.clone());
                }
                _ => break,
            }
        }
        // Counted once everything is deleted: a driver that read the last run's keys before
        // this (it saw the count before too) drops them as its run starts.
        if let (super::Place::Dir(dir), Some(hold)) = (&self.inner.place, hold) {
            super::lease::count_gc(dir, hold)?;
        }
        Ok(report)
    }

    /// Deletes every run, key and stored result, and what interrupted writes left behind
    /// (temporary files a live writer may still be using stay: see [`ResultStore::sweep`]).
    ///
    /// On a cache directory, `clear` works even when the stores cannot be written (a full
    /// disk: SQLite needs room to delete) or read: if deleting through the stores fails while
    /// no run is alive, the cache's files are removed instead, and the next driver or
    /// [`Cache::open`] starts an empty cache (this handle is not to be used afterwards).
    pub fn clear(&self) -> Result<GcReport, StoreError> {
        self.flush();
        let everything = GcPolicy {
            keep_runs: Some(0),
            max_bytes: None,
        };
        let super::Place::Dir(dir) = &self.inner.place else {
            return self.gc(everything);
        };
        // The directory is held from here to the end: taken again after a failed collection,
        // it could be found taken (another thread of this process forking a child between the
        // two holds lends the child the first one's lock until it execs).
        let Some(hold) = super::lease::hold_for_gc(dir)? else {
            // A live run: gc says so, and collects only leftovers.
            return self.gc(everything);
        };
        match self.collect(everything, Some(&hold)) {
            Ok(report) => Ok(report),
            Err(e) => {
                let report = wipe(dir).map_err(|w| StoreError::Io {
                    context: format!(
                        "clearing {} failed ({e}), and so did removing its files",
                        dir.display()
                    ),
                    source: w,
                })?;
                super::lease::count_gc(dir, &hold)?;
                Ok(report)
            }
        }
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

/// Removes a cache directory's databases (with their logs) and result files; what they held
/// is reported as removed.
fn wipe(dir: &std::path::Path) -> std::io::Result<GcReport> {
    let mut report = GcReport::default();
    let results = dir.join("results");
    if results.exists() {
        for entry in walk(&results)? {
            report.bytes_freed += entry.metadata().map_or(0, |m| m.len());
            report.results_removed += 1;
        }
        std::fs::remove_dir_all(&results)?;
    }
    for db in ["meta.sqlite", "results.sqlite"] {
        for suffix in ["", "-wal", "-shm"] {
            match std::fs::remove_file(dir.join(format!("{db}{suffix}"))) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
    }
    Ok(report)
}

/// Every file under `dir` (two levels: `results/ab/<version>`).
fn walk(dir: &std::path::Path) -> std::io::Result<Vec<std::fs::DirEntry>> {
    let mut files = Vec::new();
    for sub in std::fs::read_dir(dir)? {
        let sub = sub?;
        if sub.file_type()?.is_dir() {
            files.extend(std::fs::read_dir(sub.path())?.flatten());
        } else {
            files.push(sub);
        }
    }
    Ok(files)
}

/// What changed between two records of a node.
fn diff(prev: &NodeRecord, this: &NodeRecord) -> Vec<String> {
    let mut out = Vec::new();
    if prev.code_version != this.code_version {
        out.push(format!(
            "code version changed: {} -> {}",
            &prev.code_version.chars().take(12).collect::<String>(),
            &this.code_version.chars().take(12).collect::<String>()
        ));
    }
    let before: BTreeMap<&str, &Option<DataVersion>> =
        prev.deps.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let after: BTreeMap<&str, &Option<DataVersion>> =
        this.deps.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let ignored = |r: &NodeRecord, dep: &str| r.ignored.iter().any(|d| d == dep);
    for (dep, v) in &after {
        match (ignored(prev, dep), ignored(this, dep)) {
            (false, true) if before.contains_key(dep) => {
                out.push(format!("dependency `{dep}` is now ignored"));
                continue;
            }
            (true, false) if before.contains_key(dep) => {
                out.push(format!("dependency `{dep}` is no longer ignored"));
                continue;
            }
            (true, true) => continue,
            _ => {}
        }
        match before.get(dep) {
            None => out.push(format!("new dependency `{dep}`")),
            Some(old) if old != v => out.push(format!(
                "dependency `{dep}` changed data version: {} -> {}",
                short(old),
                short(v)
            )),
            _ => {}
        }
    }
    for dep in before.keys() {
        if !after.contains_key(dep) {
            out.push(format!("dependency `{dep}` was removed"));
        }
    }
    out
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
