//! [`MemoryStore`]: a cache's metadata and results in memory, for tests, short-lived tools and
//! as the plainest example of the store traits. Clones share one store, so drivers given the
//! same store (through [`CacheConfig::with_stores`](super::CacheConfig::with_stores)) share the
//! cache for as long as the process lives.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use super::key::CacheKey;
use super::store::{
    Blob, MetaWrite, MetadataStore, NodeRecord, ResultStore, RunMeta, Status, StoreError,
};
use crate::fingerprint::DataVersion;

/// Metadata and results in memory: a [`MetadataStore`] and a [`ResultStore`] at once. Cloning
/// it shares the contents.
///
/// ```
/// use std::sync::Arc;
/// use weft::cache::{Cache, MemoryStore};
/// use weft::prelude::*;
/// use weft::CacheConfig;
///
/// #[weft::node]
/// fn doubled(x: &u64) -> u64 {
///     x * 2
/// }
///
/// let store = MemoryStore::new();
/// let config = || CacheConfig::default().with_stores(Arc::new(store.clone()), Arc::new(store.clone()));
/// for _ in 0..2 {
///     let dr = Builder::new()
///         .with_modules(weft::modules![self])
///         .with_cache_config(config())
///         .build()
///         .unwrap();
///     let out = dr.execute(&["doubled"], inputs! { "x" => 21u64 }).unwrap();
///     assert_eq!(*out.get::<u64>("doubled").unwrap(), 42);
/// }
/// // The second driver found the first one's result.
/// let cache = Cache::with_stores(Arc::new(store.clone()), Arc::new(store));
/// assert_eq!(cache.records(None).unwrap()[0].status, weft::cache::Status::Hit);
/// ```
#[derive(Clone, Default)]
pub struct MemoryStore {
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    keys: HashMap<CacheKey, DataVersion>,
    /// Keys forgotten because their result was unusable (older records still name them).
    forgotten: HashSet<CacheKey>,
    /// Oldest first, as started.
    runs: Vec<RunMeta>,
    /// Every record, in the order written.
    records: Vec<NodeRecord>,
    blobs: HashMap<DataVersion, Blob>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.state();
        f.debug_struct("MemoryStore")
            .field("keys", &s.keys.len())
            .field("runs", &s.runs.len())
            .field("records", &s.records.len())
            .field("results", &s.blobs.len())
            .finish()
    }
}

impl MetadataStore for MemoryStore {
    fn lookup(&self, cache_key: &CacheKey) -> Result<Option<DataVersion>, StoreError> {
        Ok(self.state().keys.get(cache_key).copied())
    }

    fn recent_keys(&self) -> Result<Vec<(CacheKey, DataVersion)>, StoreError> {
        let s = self.state();
        // The last finished run by start time (the later-started of equals).
        let last = s
            .runs
            .iter()
            .enumerate()
            .filter(|(_, r)| r.status != "running")
            .max_by(|(i, a), (j, b)| a.started_at.total_cmp(&b.started_at).then(i.cmp(j)));
        let Some((_, last)) = last else {
            return Ok(Vec::new());
        };
        Ok(s.records
            .iter()
            .filter(|r| r.run_id == last.run_id)
            .filter(|r| {
                matches!(
                    r.status,
                    Status::Hit | Status::Executed | Status::Recomputed
                )
            })
            .filter_map(|r| Some((r.cache_key?, r.data_version?)))
            .filter(|(k, _)| !s.forgotten.contains(k))
            .collect())
    }

    fn write(&self, batch: &[MetaWrite]) -> Result<(), StoreError> {
        let mut s = self.state();
        for w in batch {
            match w {
                MetaWrite::BeginRun(run) => {
                    s.runs.retain(|r| r.run_id != run.run_id);
                    s.runs.push(run.clone());
                }
                MetaWrite::EndRun {
                    run_id,
                    status,
                    finished_at,
                } => {
                    if let Some(r) = s.runs.iter_mut().find(|r| r.run_id == *run_id) {
                        r.status = status.clone();
                        r.finished_at = Some(*finished_at);
                    }
                }
                MetaWrite::Record(r) => s.records.push((**r).clone()),
                MetaWrite::Records(rs) => s.records.extend(rs.to_records()),
                MetaWrite::Key {
                    cache_key,
                    data_version,
                    ..
                } => {
                    s.keys.insert(*cache_key, *data_version);
                    s.forgotten.remove(cache_key);
                }
            }
        }
        Ok(())
    }

    fn runs(&self) -> Result<Vec<RunMeta>, StoreError> {
        let mut runs = self.state().runs.clone();
        runs.sort_by(|a, b| a.started_at.total_cmp(&b.started_at));
        Ok(runs)
    }

    fn records(&self, run_id: &str) -> Result<Vec<NodeRecord>, StoreError> {
        Ok(self
            .state()
            .records
            .iter()
            .filter(|r| r.run_id == run_id)
            .cloned()
            .collect())
    }

    fn history(&self, node: &str, limit: usize) -> Result<Vec<NodeRecord>, StoreError> {
        Ok(self
            .state()
            .records
            .iter()
            .rev()
            .filter(|r| r.node == node)
            .take(limit)
            .cloned()
            .collect())
    }

    fn forget_runs(&self, run_ids: &[String]) -> Result<Vec<DataVersion>, StoreError> {
        let mut s = self.state();
        let doomed: HashSet<&str> = run_ids.iter().map(String::as_str).collect();
        s.runs.retain(|r| !doomed.contains(r.run_id.as_str()));
        s.records.retain(|r| !doomed.contains(r.run_id.as_str()));
        let used: HashSet<DataVersion> = s.records.iter().filter_map(|r| r.data_version).collect();
        s.keys.retain(|_, v| used.contains(v));
        let kept: HashSet<DataVersion> = s.keys.values().copied().collect();
        Ok(kept.into_iter().collect())
    }

    fn forget_key(&self, cache_key: &CacheKey) -> Result<(), StoreError> {
        let mut s = self.state();
        s.keys.remove(cache_key);
        s.forgotten.insert(*cache_key);
        Ok(())
    }
}

impl ResultStore for MemoryStore {
    fn contains(&self, version: &DataVersion) -> Result<bool, StoreError> {
        Ok(self.state().blobs.contains_key(version))
    }

    fn put(&self, version: &DataVersion, blob: &Blob) -> Result<(), StoreError> {
        self.state()
            .blobs
            .entry(*version)
            .or_insert_with(|| blob.clone());
        Ok(())
    }

    fn get(&self, version: &DataVersion) -> Result<Option<Blob>, StoreError> {
        Ok(self.state().blobs.get(version).cloned())
    }

    fn remove(&self, version: &DataVersion) -> Result<(), StoreError> {
        self.state().blobs.remove(version);
        Ok(())
    }

    fn list(&self) -> Result<Vec<(DataVersion, u64)>, StoreError> {
        Ok(self
            .state()
            .blobs
            .iter()
            .map(|(v, b)| (*v, b.bytes.len() as u64))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(run: &str, node: &str, status: Status, key: u8, dv: u8) -> MetaWrite {
        MetaWrite::Record(Box::new(NodeRecord {
            run_id: run.into(),
            node: node.into(),
            status,
            behavior: "default".into(),
            cache_key: Some(CacheKey::from_bytes([key; 32])),
            data_version: Some(DataVersion::from_bytes([dv; 32])),
            code_version: "v1".into(),
            deps: Vec::new(),
            ignored: Vec::new(),
            reason: None,
            duration_us: 1,
            error: None,
            type_name: "u64".into(),
        }))
    }

    fn run(id: &str, started_at: f64) -> MetaWrite {
        MetaWrite::BeginRun(RunMeta {
            run_id: id.into(),
            started_at,
            finished_at: None,
            outputs: Vec::new(),
            status: "running".into(),
        })
    }

    fn end(id: &str) -> MetaWrite {
        MetaWrite::EndRun {
            run_id: id.into(),
            status: "ok".into(),
            finished_at: 9.0,
        }
    }

    fn key(store: &MemoryStore, k: u8, v: u8) {
        store
            .write(&[MetaWrite::Key {
                cache_key: CacheKey::from_bytes([k; 32]),
                node: "n".into(),
                data_version: DataVersion::from_bytes([v; 32]),
            }])
            .unwrap();
    }

    #[test]
    fn recent_keys_come_from_the_last_finished_run_minus_forgotten_ones() {
        let store = MemoryStore::new();
        store
            .write(&[
                run("old", 1.0),
                record("old", "a", Status::Executed, 1, 1),
                end("old"),
                run("new", 2.0),
                record("new", "a", Status::Hit, 1, 1),
                record("new", "b", Status::Executed, 2, 2),
                record("new", "c", Status::Uncached, 3, 3),
                end("new"),
                run("running", 3.0),
                record("running", "e", Status::Executed, 5, 5),
            ])
            .unwrap();
        let keys = |s: &MemoryStore| {
            let mut k: Vec<u8> = s
                .recent_keys()
                .unwrap()
                .iter()
                .map(|(k, _)| k.as_bytes()[0])
                .collect();
            k.sort();
            k
        };
        assert_eq!(keys(&store), [1, 2]);
        store.forget_key(&CacheKey::from_bytes([2; 32])).unwrap();
        assert_eq!(keys(&store), [1]);
        // Clones share the store.
        assert_eq!(store.clone().runs().unwrap().len(), 3);
        assert_eq!(store.history("a", 10).unwrap()[0].run_id, "new");
    }

    #[test]
    fn forgetting_runs_drops_the_keys_no_remaining_record_uses() {
        let store = MemoryStore::new();
        store
            .write(&[
                run("r1", 1.0),
                record("r1", "a", Status::Executed, 1, 1),
                run("r2", 2.0),
                record("r2", "b", Status::Executed, 2, 2),
            ])
            .unwrap();
        key(&store, 1, 1);
        key(&store, 2, 2);
        let kept = store.forget_runs(&["r1".into()]).unwrap();
        assert_eq!(kept, vec![DataVersion::from_bytes([2; 32])]);
        assert_eq!(store.lookup(&CacheKey::from_bytes([1; 32])).unwrap(), None);
        assert_eq!(store.runs().unwrap().len(), 1);
        assert!(store.records("r1").unwrap().is_empty());
    }
}
