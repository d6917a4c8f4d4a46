//! Housekeeping of a cache: `gc` (old runs, results no run uses, leftovers of interrupted
//! writes) and `clear` (everything), safe while other processes use the directory.

use std::collections::HashSet;

#[cfg(doc)]
use super::store::ResultStore;
use super::store::{RunMeta, StoreError};
use super::Cache;
use crate::fingerprint::DataVersion;

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
impl Cache {
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
