//! The two stores behind the cache, as traits: metadata (keys → data versions, runs, per-node
//! records) and results (content-addressed blobs, one per data version). Nothing here assumes a
//! local disk or a database: a shared filesystem or object storage can implement
//! [`ResultStore`], a server database [`MetadataStore`]. The engine has two implementations:
//! SQLite under a directory ([`SqliteStore`](super::SqliteStore) with
//! [`TieredStore`](super::TieredStore), the default) and in memory
//! ([`MemoryStore`](super::MemoryStore)); plug in others with
//! [`CacheConfig::with_stores`](super::CacheConfig::with_stores).

use serde::{Deserialize, Serialize};

use super::key::CacheKey;
use crate::fingerprint::DataVersion;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A blob exists but does not match its checksum or cannot be parsed.
    #[error("result {version} is corrupt: {why}")]
    Corrupt {
        /// The data version.
        version: String,
        /// What is wrong.
        why: String,
    },
    /// A `cache key → data version` entry failed its integrity check (damaged, or exchanged
    /// with another entry): the cache forgets it and recomputes the node.
    #[error("the entry for cache key {key} is corrupt: {why}")]
    CorruptKey {
        /// The cache key (hex).
        key: String,
        /// What is wrong.
        why: String,
    },
    /// File-system trouble.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// Trouble in the store's backend (a database, a remote service, …).
    #[error("cache store ({context}): {source}")]
    Backend {
        /// What was being done.
        context: String,
        /// The backend's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A cache location that cannot be used: a malformed URL, an unknown scheme, object
    /// storage in a build without the `object-store` feature, or a store that cannot be
    /// reached (the message names the location, never credentials).
    #[error("cache location `{location}`: {why}")]
    Location {
        /// The location as given (a directory or a URL).
        location: String,
        /// What is wrong, and what to do.
        why: String,
    },
    /// Anything else (decoding, unknown run, …).
    #[error("{0}")]
    Other(String),
}

impl StoreError {
    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> StoreError {
        let context = context.into();
        move |source| StoreError::Io { context, source }
    }
    pub(crate) fn sql(context: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError {
        move |source| StoreError::Backend {
            context: context.to_string(),
            source: Box::new(source),
        }
    }
}

/// A stored result: its bytes, the format they are in, and the Rust type they decode to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blob {
    /// Codec name (`postcard`, `json`, …).
    pub format: String,
    /// The Rust type name of the value.
    pub type_name: String,
    /// The encoded value.
    pub bytes: Vec<u8>,
}

/// Why [`ResultStore::put_stream`] stored nothing.
#[derive(Debug)]
#[non_exhaustive]
pub enum StreamError {
    /// The value could not be encoded (the encoder's own error).
    Encode(String),
    /// The store failed (writing, renaming, a full disk).
    Store(StoreError),
}

/// Content-addressed results: one blob per data version, put, read, listed and removed by
/// [`DataVersion`]. A version's blob never changes (the version is the hash of the value), so
/// storing it twice, from two drivers or processes at once, is harmless.
///
/// The cache calls it from its background writer thread (`put_many`, `contains_many`), from
/// the run's threads (`get`, when a stored value is first needed, and `remove`, when it is
/// unusable) and from inspection (`list`, `remove` for gc). Implementations must be safe to
/// share across threads; only `contains`, `put`, `get`, `remove` and `list` are required.
pub trait ResultStore: Send + Sync + 'static {
    /// Whether a blob for `version` exists (without reading it).
    fn contains(&self, version: &DataVersion) -> Result<bool, StoreError>;
    /// Which of `versions` have a blob (`false` where the store cannot say). One call for a
    /// batch: a store can answer it with one query.
    fn contains_many(&self, versions: &[DataVersion]) -> Vec<bool> {
        versions
            .iter()
            .map(|v| self.contains(v).unwrap_or(false))
            .collect()
    }
    /// Stores a blob atomically (readers never see a partial one). Storing an existing version
    /// again is a no-op.
    fn put(&self, version: &DataVersion, blob: &Blob) -> Result<(), StoreError>;
    /// Stores several blobs (a store may do it in one transaction); one result per item.
    fn put_many(&self, items: &[(DataVersion, Blob)]) -> Vec<Result<(), StoreError>> {
        items.iter().map(|(v, b)| self.put(v, b)).collect()
    }
    /// Stores a result by writing it as it is encoded, when the store can: the directory
    /// cache keeps a parquet or Arrow IPC result as a file of its own, written straight from
    /// the encoder (no copy of the encoded value in memory). `None` (the default) when it
    /// cannot: the cache then encodes to bytes and calls [`put`](Self::put). `encode` writes
    /// the result in `format` into the writer it is given; when it fails for want of a stored
    /// form (not of the writer), the error is [`StreamError::Encode`] and nothing is stored.
    /// Atomic like `put`; a version stored already is not written again.
    fn put_stream(
        &self,
        version: &DataVersion,
        format: &str,
        encode: &mut dyn FnMut(&mut dyn std::io::Write) -> Result<(), String>,
    ) -> Option<Result<(), StreamError>> {
        let _ = (version, format, encode);
        None
    }
    /// Reads and verifies a blob; `Ok(None)` when absent, `Err(Corrupt)` when damaged.
    fn get(&self, version: &DataVersion) -> Result<Option<Blob>, StoreError>;
    /// Deletes a blob (absent is fine).
    fn remove(&self, version: &DataVersion) -> Result<(), StoreError>;
    /// Every stored version with its size in bytes.
    fn list(&self) -> Result<Vec<(DataVersion, u64)>, StoreError>;
    /// The local file holding `version`'s result, when the store keeps it as one (the
    /// directory cache keeps parquet and Arrow IPC results as plain files any tool reads);
    /// `None` otherwise (the default).
    fn path_of(&self, _version: &DataVersion) -> Option<std::path::PathBuf> {
        None
    }
    /// Removes what interrupted writes left behind (temporary files, say), never what a live
    /// writer is still using; returns how many were removed. [`Cache::gc`](super::Cache::gc)
    /// and [`Cache::clear`](super::Cache::clear) call it. The default has nothing to remove.
    fn sweep(&self) -> Result<usize, StoreError> {
        Ok(0)
    }
    /// Optional upkeep at a [`Moment`] of the cache's life (the default does nothing). A
    /// result store is told of [`Moment::Open`] and [`Moment::Close`] only.
    fn maintain(&self, _moment: Moment) {}
    /// What the store has to tell the user since the last call (a damaged file quarantined
    /// and rebuilt, records left out as unreadable): the cache hands them on as warnings
    /// ([`Cache::warnings`](super::Cache::warnings)). The default has none.
    fn take_notices(&self) -> Vec<String> {
        Vec::new()
    }
}

/// Moments of a cache's life at which a store may do upkeep of its own
/// ([`MetadataStore::maintain`], [`ResultStore::maintain`]). Every hook is optional and no
/// result depends on it: a store that needs none ignores them. (SQLite uses them to fold its
/// write-ahead log when it has grown long, and to let a run's lookups share one read
/// transaction.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Moment {
    /// A driver starts using the store, on the cache's background thread while the run starts;
    /// nobody waits.
    Open,
    /// A run starts looking keys up (on the run's thread).
    RunStart,
    /// The run's lookups are over (on the run's thread).
    RunEnd,
    /// A driver is done with the store; its drop waits for this to return.
    Close,
}

/// How a node's value was obtained in a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Status {
    /// Retrieved from the result store (not executed).
    Hit,
    /// Executed after a miss, and stored.
    Executed,
    /// Executed because its behaviour is RECOMPUTE, and stored.
    Recomputed,
    /// Executed; behaviour DISABLE, so neither read nor stored.
    Disabled,
    /// Executed; behaviour IGNORE, so no key and not stored.
    Ignored,
    /// Executed but could not be cached (see the record's reason).
    Uncached,
    /// Reused from the long-lived driver's memory; the store was not consulted.
    Memo,
    /// The node failed.
    Failed,
}

impl Status {
    /// Lower-case name, as stored.
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::Hit => "hit",
            Status::Executed => "executed",
            Status::Recomputed => "recomputed",
            Status::Disabled => "disabled",
            Status::Ignored => "ignored",
            Status::Uncached => "uncached",
            Status::Memo => "memo",
            Status::Failed => "failed",
        }
    }
    /// Parses [`Status::as_str`].
    pub fn parse(s: &str) -> Option<Status> {
        Some(match s {
            "hit" => Status::Hit,
            "executed" => Status::Executed,
            "recomputed" => Status::Recomputed,
            "disabled" => Status::Disabled,
            "ignored" => Status::Ignored,
            "uncached" => Status::Uncached,
            "memo" => Status::Memo,
            "failed" => Status::Failed,
            _ => return None,
        })
    }
    /// Whether the node's body ran.
    pub fn executed(&self) -> bool {
        !matches!(self, Status::Hit | Status::Memo)
    }
}

/// One node in one run: the structured cache event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeRecord {
    /// The run.
    pub run_id: String,
    /// The node.
    pub node: String,
    /// How its value was obtained.
    pub status: Status,
    /// Its cache behaviour (`default`, `recompute`, `disable`, `ignore`).
    pub behavior: String,
    /// The cache key looked up, when it had one.
    pub cache_key: Option<CacheKey>,
    /// The value's data version, when it has a real one.
    pub data_version: Option<DataVersion>,
    /// The node's code version.
    pub code_version: String,
    /// Its dependencies in parameter order, with their data versions as used in the key;
    /// `None` for an absent optional input, or one left out of the key (IGNORE).
    pub deps: Vec<(String, Option<DataVersion>)>,
    /// The dependencies left out of the key because they are IGNOREd (nodes or inputs).
    #[serde(default)]
    pub ignored: Vec<String>,
    /// Why it missed or was not cached, in words.
    pub reason: Option<String>,
    /// Wall time of the lookup plus execution, in microseconds.
    pub duration_us: u64,
    /// The error, for failed nodes.
    pub error: Option<String>,
    /// The value's Rust type.
    pub type_name: String,
}

/// One run of a driver with a cache.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunMeta {
    /// Its id.
    pub run_id: String,
    /// Unix time (seconds) it started.
    pub started_at: f64,
    /// Unix time it ended, if it did.
    pub finished_at: Option<f64>,
    /// The requested outputs.
    pub outputs: Vec<String>,
    /// `running`, `ok` or `failed`.
    pub status: String,
}

/// How a run went, counted from its records without their bodies (what the runs page of
/// `weft ui` and `cache runs` show for each run).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RunTally {
    /// Records per status.
    pub counts: std::collections::BTreeMap<Status, usize>,
    /// The sum of the nodes' durations, in microseconds.
    pub busy_us: u64,
}

impl RunTally {
    /// The tally of `records`.
    pub fn of(records: impl IntoIterator<Item = (Status, u64)>) -> RunTally {
        let mut t = RunTally::default();
        for (status, us) in records {
            *t.counts.entry(status).or_default() += 1;
            t.busy_us += us;
        }
        t
    }

    /// How many records have `status`.
    pub fn count(&self, status: Status) -> usize {
        self.counts.get(&status).copied().unwrap_or(0)
    }

    /// How many records.
    pub fn nodes(&self) -> usize {
        self.counts.values().sum()
    }

    /// Nodes whose body ran (executed, recomputed, disabled, ignored, uncached, failed).
    pub fn executed(&self) -> usize {
        self.counts
            .iter()
            .filter(|(s, _)| s.executed())
            .map(|(_, n)| n)
            .sum()
    }

    /// Nodes answered without running (cache hits and the driver's memory).
    pub fn reused(&self) -> usize {
        self.count(Status::Hit) + self.count(Status::Memo)
    }
}

/// A batch of node records, as the cache collects them while a run goes (sharing the nodes'
/// specs, so that a batch costs little until it is stored). [`Records::to_records`] gives them
/// as [`NodeRecord`]s, in execution order.
#[derive(Clone, Default)]
pub struct Records(pub(super) Vec<super::Draft>);

impl Records {
    /// How many records.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The records.
    pub fn to_records(&self) -> Vec<NodeRecord> {
        self.0
            .iter()
            .cloned()
            .map(super::Draft::into_record)
            .collect()
    }
}

impl std::fmt::Debug for Records {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.to_records()).finish()
    }
}

/// A write to the metadata store; a batch of them commits atomically.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum MetaWrite {
    /// A run started.
    BeginRun(RunMeta),
    /// A run ended.
    EndRun {
        /// The run.
        run_id: String,
        /// `ok` or `failed`.
        status: String,
        /// Unix time.
        finished_at: f64,
    },
    /// A node's record (boxed: a key, the most common write, is a third of its size, and
    /// a cold run holds a write per node until its commit).
    Record(Box<NodeRecord>),
    /// Node records as the cache drafts them (see [`Records`]).
    Records(Records),
    /// `cache_key → data_version`, valid once the blob is stored.
    Key {
        /// The key.
        cache_key: CacheKey,
        /// The node (for inspection and gc).
        node: String,
        /// The value's version.
        data_version: DataVersion,
    },
}

/// Keys → data versions, runs and node records.
///
/// The cache looks keys up on the run's threads (`recent_keys` once per run, then `lookup`
/// for keys not among them), writes batches from its background writer thread (`write`: a
/// key only after its result is in the [`ResultStore`]) and reads runs and records for
/// inspection (`runs`, `records`, `history`, and `forget_runs` for gc). `recent_keys` and
/// `maintain` are optional.
pub trait MetadataStore: Send + Sync + 'static {
    /// The data version stored under `cache_key`, if any; [`StoreError::CorruptKey`] when the
    /// entry fails a check the store makes (SQLite keeps a checksum of key and version in each
    /// row): the cache then forgets the key and recomputes the node.
    fn lookup(&self, cache_key: &CacheKey) -> Result<Option<DataVersion>, StoreError>;
    /// Keys the most recent finished run used (hit, or stored), with their data versions,
    /// leaving out keys forgotten since ([`forget_key`](Self::forget_key)). The cache answers
    /// lookups from these before asking [`lookup`](Self::lookup): a warm run then reads a row
    /// or two instead of searching once per node. A pair whose result has vanished is harmless:
    /// reading it fails, the node is recomputed with a warning, and the key forgotten. The
    /// default has none.
    fn recent_keys(&self) -> Result<Vec<(CacheKey, DataVersion)>, StoreError> {
        Ok(Vec::new())
    }
    /// Whether any key of `node` is stored. `Some(false)` tells the cache the node cannot hit,
    /// so that it runs without waiting for its inputs' data versions (a large frame's is
    /// taken while the node runs, beside it). `None` when the store cannot say cheaply (the
    /// default): the cache then keys the node first and looks the key up, as always.
    fn holds_node(&self, _node: &str) -> Result<Option<bool>, StoreError> {
        Ok(None)
    }
    /// Applies a batch in one transaction.
    fn write(&self, batch: &[MetaWrite]) -> Result<(), StoreError>;
    /// All runs, oldest first.
    fn runs(&self) -> Result<Vec<RunMeta>, StoreError>;
    /// Run `run_id` (an id as [`runs`](Self::runs) lists it), if stored: what showing one run
    /// needs, without listing them all. The default looks it up in [`runs`](Self::runs); a
    /// store that can read one run alone does (SQLite by its key, object storage by its object).
    fn run(&self, run_id: &str) -> Result<Option<RunMeta>, StoreError> {
        Ok(self.runs()?.into_iter().find(|r| r.run_id == run_id))
    }
    /// The records of one run, in execution order.
    fn records(&self, run_id: &str) -> Result<Vec<NodeRecord>, StoreError>;
    /// A node's records across runs, newest first, at most `limit`.
    fn history(&self, node: &str, limit: usize) -> Result<Vec<NodeRecord>, StoreError>;
    /// A node's records in run `run_id` and the runs written before it, newest first, at most
    /// `limit`: what explaining the node in that run, or showing its history up to it, needs,
    /// without reading the runs after it. The default filters [`history`](Self::history).
    fn history_through(
        &self,
        node: &str,
        run_id: &str,
        limit: usize,
    ) -> Result<Vec<NodeRecord>, StoreError> {
        let all = self.history(node, usize::MAX)?;
        let Some(at) = all.iter().position(|r| r.run_id == run_id) else {
            return Ok(Vec::new());
        };
        Ok(all.into_iter().skip(at).take(limit).collect())
    }
    /// How run `run_id` went ([`RunTally`]). The default counts [`records`](Self::records); a
    /// store may count without decoding whole records (SQLite reads only the events).
    fn tally(&self, run_id: &str) -> Result<RunTally, StoreError> {
        Ok(RunTally::of(
            self.records(run_id)?
                .iter()
                .map(|r| (r.status, r.duration_us)),
        ))
    }
    /// Deletes the given runs with their records, then every key whose data version no
    /// remaining record uses. Returns the data versions still referenced.
    fn forget_runs(&self, run_ids: &[String]) -> Result<Vec<DataVersion>, StoreError>;
    /// Deletes the mapping for one key (after it or its blob turned out unusable), and leaves it
    /// out of [`recent_keys`](Self::recent_keys) until it is stored again.
    fn forget_key(&self, cache_key: &CacheKey) -> Result<(), StoreError>;
    /// Optional upkeep at a [`Moment`] of the cache's life (the default does nothing).
    fn maintain(&self, _moment: Moment) {}
    /// What the store has to tell the user since the last call (a damaged file quarantined
    /// and rebuilt, records left out as unreadable): the cache hands them on as warnings
    /// ([`Cache::warnings`](super::Cache::warnings)). The default has none.
    fn take_notices(&self) -> Vec<String> {
        Vec::new()
    }
}
