//! Metadata on object storage: keys, runs and records as small JSON objects (see `layout.rs`
//! for which object is written when, and by whom).
//!
//! A key's object carries a checksum of key and version, so an object that was damaged, or
//! copied under another key, is caught ([`StoreError::CorruptKey`]) and forgotten. A batch of
//! writes is applied in two steps: first everything but the ends of runs (runs, record
//! batches, keys — several PUTs in flight), then the ends; so a run counts as finished (and
//! its keys are offered to the next run) only once all its records are in.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;

use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt, PutPayload};
use serde::{Deserialize, Serialize};

use super::bridge::IN_FLIGHT;
use super::layout::{self, Layout};
use super::ObjectStores;
use crate::cache::{CacheKey, MetaWrite, MetadataStore, NodeRecord, RunMeta, Status, StoreError};
use crate::fingerprint::DataVersion;

/// The object under `keys/<cache key>`.
#[derive(Serialize, Deserialize)]
struct KeyEntry {
    /// The data version (hex).
    version: DataVersion,
    /// The node (for inspection).
    node: String,
    /// blake3 of key and version (hex).
    check: String,
}

fn key_check(key: &CacheKey, version: &DataVersion) -> String {
    let mut h = blake3::Hasher::new();
    h.update(b"weft-object-key-v1\0");
    h.update(key.as_bytes());
    h.update(version.as_bytes());
    h.finalize().to_hex().to_string()
}

impl ObjectStores {
    /// Every object under `prefix/dir` (recursively), sorted by path.
    pub(super) fn list_dir(&self, dir: &str) -> Result<Vec<ObjectMeta>, StoreError> {
        self.list_under(self.shared.layout.dir(dir))
    }

    fn list_under(&self, path: Path) -> Result<Vec<ObjectMeta>, StoreError> {
        let store = self.shared.store.clone();
        let failed = self.failed("listing", &path);
        let mut all: Vec<ObjectMeta> = self
            .shared
            .bridge
            .run(async move { store.list(Some(&path)).try_collect().await.map_err(failed) })?;
        all.sort_by(|a, b| a.location.cmp(&b.location));
        Ok(all)
    }

    /// Reads objects, several in flight; `None` for one that vanished meanwhile.
    fn get_all(&self, paths: Vec<Path>) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        let store = self.shared.store.clone();
        let url = self.shared.url.clone();
        self.shared.bridge.run(async move {
            futures::stream::iter(paths)
                .map(|path| {
                    let store = store.clone();
                    let url = url.clone();
                    async move {
                        let got = match store.get(&path).await {
                            Ok(got) => got.bytes().await,
                            Err(e) => Err(e),
                        };
                        match got {
                            Ok(b) => Ok(Some(b.to_vec())),
                            Err(object_store::Error::NotFound { .. }) => Ok(None),
                            Err(e) => Err(super::failed(&url, "reading", &path)(e)),
                        }
                    }
                })
                .buffered(IN_FLIGHT)
                .try_collect()
                .await
        })
    }

    /// Writes objects (plain PUTs, each atomic), several in flight.
    fn put_all(&self, items: Vec<(Path, Vec<u8>)>) -> Result<(), StoreError> {
        let store = self.shared.store.clone();
        let url = self.shared.url.clone();
        self.shared.bridge.run(async move {
            futures::stream::iter(items)
                .map(|(path, bytes)| {
                    let store = store.clone();
                    let url = url.clone();
                    async move {
                        store
                            .put(&path, PutPayload::from(bytes))
                            .await
                            .map(|_| ())
                            .map_err(super::failed(&url, "writing", &path))
                    }
                })
                .buffer_unordered(IN_FLIGHT)
                .try_collect::<()>()
                .await
        })
    }

    /// Deletes objects (absent ones are fine), several in flight.
    fn delete_all(&self, paths: Vec<Path>) -> Result<(), StoreError> {
        let store = self.shared.store.clone();
        let url = self.shared.url.clone();
        self.shared.bridge.run(async move {
            futures::stream::iter(paths)
                .map(|path| {
                    let store = store.clone();
                    let url = url.clone();
                    async move {
                        match store.delete(&path).await {
                            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                            Err(e) => Err(super::failed(&url, "deleting", &path)(e)),
                        }
                    }
                })
                .buffer_unordered(IN_FLIGHT)
                .try_collect::<()>()
                .await
        })
    }

    pub(super) fn delete(&self, path: Path) -> Result<(), StoreError> {
        self.delete_all(vec![path])
    }

    fn json<T: for<'de> Deserialize<'de>>(
        &self,
        path: &Path,
        bytes: &[u8],
    ) -> Result<T, StoreError> {
        serde_json::from_slice(bytes).map_err(|e| {
            StoreError::Other(format!(
                "the object `{path}` in {} cannot be read: {e}",
                self.shared.url
            ))
        })
    }

    /// The stored run, if any.
    fn run_meta(&self, run_id: &str) -> Result<Option<RunMeta>, StoreError> {
        let path = self.shared.layout.run(run_id);
        match self.get_all(vec![path.clone()])?.pop().flatten() {
            Some(bytes) => self.json(&path, &bytes).map(Some),
            None => Ok(None),
        }
    }

    /// The last finished run (by start time), from the names of the finished markers.
    fn last_finished(&self) -> Result<Option<String>, StoreError> {
        Ok(self
            .list_dir(layout::FINISHED)?
            .last()
            .and_then(|m| Layout::finished_run(&m.location)))
    }
}

impl MetadataStore for ObjectStores {
    fn lookup(&self, cache_key: &CacheKey) -> Result<Option<DataVersion>, StoreError> {
        let path = self.shared.layout.key(cache_key);
        let Some(bytes) = self.get_all(vec![path])?.pop().flatten() else {
            return Ok(None);
        };
        let corrupt = |why: &str| StoreError::CorruptKey {
            key: cache_key.to_hex(),
            why: why.to_string(),
        };
        let entry: KeyEntry = serde_json::from_slice(&bytes)
            .map_err(|e| corrupt(&format!("unreadable entry: {e}")))?;
        if entry.check != key_check(cache_key, &entry.version) {
            return Err(corrupt("its checksum does not match key and version"));
        }
        Ok(Some(entry.version))
    }

    fn recent_keys(&self) -> Result<Vec<(CacheKey, DataVersion)>, StoreError> {
        let Some(run_id) = self.last_finished()? else {
            return Ok(Vec::new());
        };
        let forgotten: HashSet<CacheKey> = self
            .list_dir(layout::FORGOTTEN)?
            .iter()
            .filter_map(|m| CacheKey::from_hex(&Layout::name(&m.location)?))
            .collect();
        Ok(self
            .records(&run_id)?
            .into_iter()
            .filter(|r| {
                matches!(
                    r.status,
                    Status::Hit | Status::Executed | Status::Recomputed
                )
            })
            .filter_map(|r| Some((r.cache_key?, r.data_version?)))
            .filter(|(k, _)| !forgotten.contains(k))
            .collect())
    }

    fn write(&self, batch: &[MetaWrite]) -> Result<(), StoreError> {
        let layout = &self.shared.layout;
        let mut first: Vec<(Path, Vec<u8>)> = Vec::new();
        let mut begun: HashMap<&str, &RunMeta> = HashMap::new();
        let mut records: Vec<(String, Vec<NodeRecord>)> = Vec::new();
        let mut add = |r: NodeRecord| match records.iter_mut().find(|(id, _)| *id == r.run_id) {
            Some((_, rs)) => rs.push(r),
            None => records.push((r.run_id.clone(), vec![r])),
        };
        let mut ends = Vec::new();
        for w in batch {
            match w {
                MetaWrite::BeginRun(run) => {
                    first.push((layout.run(&run.run_id), to_json(run)?));
                    begun.insert(run.run_id.as_str(), run);
                }
                MetaWrite::Record(r) => add((**r).clone()),
                MetaWrite::Records(rs) => rs.to_records().into_iter().for_each(&mut add),
                MetaWrite::Key {
                    cache_key,
                    node,
                    data_version,
                } => {
                    let entry = KeyEntry {
                        version: *data_version,
                        node: node.clone(),
                        check: key_check(cache_key, data_version),
                    };
                    first.push((layout.key(cache_key), to_json(&entry)?));
                }
                MetaWrite::EndRun {
                    run_id,
                    status,
                    finished_at,
                } => ends.push((run_id, status, *finished_at)),
            }
        }
        for (run_id, rs) in records {
            let seq = self.shared.seq.fetch_add(1, Ordering::Relaxed);
            let path = layout.record_batch(&run_id, seq, &self.shared.writer);
            first.push((path, to_json(&rs)?));
        }
        self.put_all(first)?;
        let mut last = Vec::new();
        for (run_id, status, finished_at) in ends {
            let run = match begun.get(run_id.as_str()) {
                Some(run) => Some((*run).clone()),
                None => self.run_meta(run_id)?,
            };
            let Some(mut run) = run else { continue };
            run.status = status.clone();
            run.finished_at = Some(finished_at);
            last.push((layout.run(run_id), to_json(&run)?));
            last.push((layout.finished(run.started_at, run_id), Vec::new()));
        }
        self.put_all(last)
    }

    fn runs(&self) -> Result<Vec<RunMeta>, StoreError> {
        let paths: Vec<Path> = self
            .list_dir(layout::RUNS)?
            .into_iter()
            .map(|m| m.location)
            .collect();
        let mut runs = Vec::new();
        for (path, bytes) in paths.iter().zip(self.get_all(paths.clone())?) {
            if let Some(bytes) = bytes {
                runs.push(self.json::<RunMeta>(path, &bytes)?);
            }
        }
        runs.sort_by(|a, b| a.started_at.total_cmp(&b.started_at));
        Ok(runs)
    }

    fn run(&self, run_id: &str) -> Result<Option<RunMeta>, StoreError> {
        self.run_meta(run_id)
    }

    fn records(&self, run_id: &str) -> Result<Vec<NodeRecord>, StoreError> {
        let paths: Vec<Path> = self
            .list_under(self.shared.layout.records_of(run_id))?
            .into_iter()
            .map(|m| m.location)
            .collect();
        let mut out = Vec::new();
        for (path, bytes) in paths.iter().zip(self.get_all(paths.clone())?) {
            if let Some(bytes) = bytes {
                out.extend(self.json::<Vec<NodeRecord>>(path, &bytes)?);
            }
        }
        Ok(out)
    }

    fn history(&self, node: &str, limit: usize) -> Result<Vec<NodeRecord>, StoreError> {
        let mut out = Vec::new();
        for run in self.runs()?.iter().rev() {
            if out.len() >= limit {
                break;
            }
            let mine = self.records(&run.run_id)?;
            out.extend(mine.into_iter().rev().filter(|r| r.node == node));
        }
        out.truncate(limit);
        Ok(out)
    }

    fn forget_runs(&self, run_ids: &[String]) -> Result<Vec<DataVersion>, StoreError> {
        let layout = &self.shared.layout;
        if !run_ids.is_empty() {
            let doomed: HashSet<&str> = run_ids.iter().map(String::as_str).collect();
            let mut paths: Vec<Path> = self
                .list_dir(layout::FINISHED)?
                .into_iter()
                .map(|m| m.location)
                .filter(|p| Layout::finished_run(p).is_some_and(|id| doomed.contains(id.as_str())))
                .collect();
            for id in run_ids {
                paths.push(layout.run(id));
                paths.extend(
                    self.list_under(layout.records_of(id))?
                        .into_iter()
                        .map(|m| m.location),
                );
            }
            self.delete_all(paths)?;
        }
        // Keys whose version no remaining record uses go.
        let mut used: HashSet<DataVersion> = HashSet::new();
        for run in self.runs()? {
            used.extend(
                self.records(&run.run_id)?
                    .iter()
                    .filter_map(|r| r.data_version),
            );
        }
        let keys: Vec<Path> = self
            .list_dir(layout::KEYS)?
            .into_iter()
            .map(|m| m.location)
            .collect();
        let mut kept = HashSet::new();
        let mut gone = Vec::new();
        for (path, bytes) in keys.iter().zip(self.get_all(keys.clone())?) {
            let version = bytes.and_then(|b| serde_json::from_slice::<KeyEntry>(&b).ok());
            match version {
                Some(e) if used.contains(&e.version) => {
                    kept.insert(e.version);
                }
                _ => gone.push(path.clone()),
            }
        }
        self.delete_all(gone)?;
        Ok(kept.into_iter().collect())
    }

    fn forget_key(&self, cache_key: &CacheKey) -> Result<(), StoreError> {
        self.delete(self.shared.layout.key(cache_key))?;
        self.put_all(vec![(self.shared.layout.forgotten(cache_key), Vec::new())])
    }
}

fn to_json<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|e| StoreError::Other(format!("encoding metadata: {e}")))
}
