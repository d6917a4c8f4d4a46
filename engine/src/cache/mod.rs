//! The persistent cache: SQLite metadata and a content-addressed result store, wrapping node
//! execution as an [`Adapter`].
//!
//! For each node that reaches it (the in-memory incremental core answers first), the cache
//! builds the key from the node's name, code version, output type and its dependencies' data
//! versions, looks it up, and on a hit returns the stored value *lazily*: nothing is read or
//! decoded until a node that must run, or a requested output, needs it. On a miss the node runs
//! and its value is stored by a background writer.

mod answer;
mod blobs;
mod config;
mod inline;
mod inspect;
mod key;
mod records;
mod sqlite;
mod store;
mod writer;

use rustc_hash::{FxHashMap, FxHashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

pub use blobs::FileStore;
pub use config::{behavior_name, CacheConfig};
pub use inline::{SqliteBlobs, TieredStore};
pub use inspect::{Explanation, GcPolicy, GcReport, ResultStoreHandle};
pub use key::{cache_key, CacheKey, KeyPart};
pub use sqlite::{SqliteStore, WAL_FOLD_AT_END_BYTES, WAL_FOLD_BYTES};
pub use store::{
    Blob, MetaWrite, MetadataStore, Moment, NodeRecord, Records, ResultStore, RunMeta, Status,
    StoreError,
};

use crate::adapter::{Adapter, Next, NodeFuture, NodeInfo, NodeResult, RunInfo, RunSummary};
use crate::fingerprint::DataVersion;
use crate::node::CacheBehavior;
use crate::value::Value;
use writer::{Item, Msg, Warnings, Writer};

/// Results up to this many encoded bytes are stored as rows of `results.sqlite`; larger ones
/// as one file each under `results/`.
pub const INLINE_MAX: usize = 16 * 1024;

/// A cache directory: metadata and results. Obtained from a driver built with a cache
/// ([`Driver::cache`](crate::Driver::cache)), or opened on a directory alone for inspection
/// ([`Cache::open`]).
#[derive(Clone)]
pub struct Cache {
    inner: Arc<Inner>,
}

struct Inner {
    dir: PathBuf,
    meta: Arc<dyn MetadataStore>,
    results: Arc<dyn ResultStore>,
    writer: Option<Arc<Writer>>,
    /// Behaviour and format per node, for a cache attached to a driver.
    policy: Policy,
    warned: Warnings,
    run: Mutex<RunTrack>,
    /// The first run's hints, read ahead by the writer thread.
    hints_ahead: Mutex<Option<std::sync::mpsc::Receiver<Hints>>>,
}

#[derive(Default)]
struct RunTrack {
    /// The current run's id, shared by its records.
    run_id: Option<Arc<str>>,
    /// Nodes the cache saw during the current run (the others were memo hits).
    seen: FxHashSet<Arc<str>>,
    /// Whether the cache answered the whole run (every node a hit, see `answer`).
    answered: bool,
    /// Work not yet handed to the writer.
    outbox: Vec<Item>,
    /// The keys the latest finished run used ([`MetadataStore::recent_keys`]), loaded at the
    /// run's first lookup.
    hints: Option<Hints>,
}

/// Keys the last finished run used, to answer lookups from ([`MetadataStore::recent_keys`]).
pub(crate) type Hints = Arc<FxHashMap<CacheKey, DataVersion>>;

/// Reads the [`Hints`] (none when the store has none or cannot say).
pub(crate) fn read_hints(meta: &dyn MetadataStore) -> Hints {
    Arc::new(
        meta.recent_keys()
            .map(|pairs| pairs.into_iter().collect())
            .unwrap_or_default(),
    )
}

/// Each node's cache behaviour and storage format, as the driver resolved them.
pub(crate) type Policy = FxHashMap<Arc<str>, (CacheBehavior, Arc<str>)>;

/// How many items travel to the writer together.
const OUTBOX_BATCH: usize = 64;

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

impl Cache {
    /// Opens the cache in `dir` (SQLite metadata in `dir/meta.sqlite`, small results in
    /// `dir/results.sqlite`, large ones in `dir/results/`), for inspection and housekeeping.
    pub fn open(dir: impl AsRef<Path>) -> Result<Cache, StoreError> {
        Self::open_read_only(dir.as_ref())
    }

    /// Opens the cache with custom stores (e.g. a shared result store).
    pub fn with_stores(
        dir: impl AsRef<Path>,
        meta: Arc<dyn MetadataStore>,
        results: Arc<dyn ResultStore>,
    ) -> Cache {
        Cache {
            inner: Arc::new(Inner {
                dir: dir.as_ref().to_path_buf(),
                meta,
                results,
                writer: None,
                policy: Policy::default(),
                warned: Warnings::default(),
                run: Mutex::default(),
                hints_ahead: Mutex::default(),
            }),
        }
    }

    /// A cache that writes nothing itself (for inspection and housekeeping).
    fn open_read_only(dir: &Path) -> Result<Cache, StoreError> {
        // Runs of other live drivers on this directory are committed in the background after
        // `execute` returns: what they wrote is visible to this one from the start.
        writer::settle(dir);
        let (meta, results) = open_stores(dir)?;
        Ok(Cache {
            inner: Arc::new(Inner {
                dir: dir.to_path_buf(),
                meta,
                results,
                writer: None,
                policy: Policy::default(),
                warned: Warnings::default(),
                run: Mutex::default(),
                hints_ahead: Mutex::default(),
            }),
        })
    }

    /// Starts opening the cache in `dir` for a driver: its writer thread opens the stores and
    /// reads the first run's hints while the driver builds its graph.
    pub(crate) fn opening(dir: &Path) -> Opening {
        writer::settle(dir);
        let warned = Warnings::default();
        let (opened_tx, opened) = std::sync::mpsc::channel();
        let (hints_tx, hints) = std::sync::mpsc::channel();
        let owned = dir.to_path_buf();
        let writer = Writer::spawn(
            move || open_stores(&owned),
            warned.clone(),
            opened_tx,
            hints_tx,
        )
        .map(|w| w.register(dir));
        Opening {
            dir: dir.to_path_buf(),
            writer,
            opened,
            hints,
            warned,
        }
    }
    /// The cache directory.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// The metadata store (with everything this cache has written committed).
    pub fn metadata(&self) -> &dyn MetadataStore {
        self.flush();
        &*self.inner.meta
    }

    /// Warnings given so far (each once, everything written so far committed first): values
    /// that cannot be fingerprinted or stored, corrupt or missing results.
    pub fn warnings(&self) -> Vec<String> {
        self.flush();
        self.inner
            .warned
            .0
            .lock()
            .map(|w| w.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Waits until everything this cache has written is committed. A run that only hit is
    /// recorded in the background after `execute` returns (one that executed anything is
    /// committed before); the reading methods of `Cache` call this first, so they always see
    /// the runs of this process. Call it before a `std::process::exit` that skips dropping
    /// the driver if that run's record matters.
    pub fn flush(&self) {
        if let Some(w) = &self.inner.writer {
            w.flush();
        }
    }

    pub(crate) fn adapter(&self) -> CacheAdapter {
        CacheAdapter(self.inner.clone())
    }
}

/// A driver's cache being opened (see [`Cache::opening`]).
pub(crate) struct Opening {
    dir: PathBuf,
    writer: Result<Arc<Writer>, StoreError>,
    opened: std::sync::mpsc::Receiver<writer::Opened>,
    hints: std::sync::mpsc::Receiver<Hints>,
    warned: Warnings,
}

impl Opening {
    /// Waits for the stores to be open and attaches `policy`.
    pub(crate) fn finish(self, policy: Policy) -> Result<Cache, StoreError> {
        let writer = self.writer?;
        let (meta, results) = self.opened.recv().map_err(|_| {
            StoreError::Other("the cache's writer thread stopped while opening it".into())
        })??;
        Ok(Cache {
            inner: Arc::new(Inner {
                dir: self.dir,
                meta,
                results,
                writer: Some(writer),
                policy,
                warned: self.warned,
                run: Mutex::default(),
                hints_ahead: Mutex::new(Some(self.hints)),
            }),
        })
    }
}

/// The stores of a cache directory: SQLite metadata, results tiered by size.
fn open_stores(dir: &Path) -> writer::Opened {
    let meta: Arc<dyn MetadataStore> = Arc::new(SqliteStore::open(&dir.join("meta.sqlite"))?);
    let results: Arc<dyn ResultStore> = Arc::new(TieredStore::new(
        SqliteBlobs::lazy(&dir.join("results.sqlite")),
        FileStore::new(dir.join("results")),
        INLINE_MAX,
    ));
    Ok((meta, results))
}

impl Inner {
    fn warn_once(&self, message: String) {
        self.warned.once(message);
    }

    /// Queues a metadata write.
    fn send(&self, w: MetaWrite) {
        self.queue(Item::Meta(w));
    }

    /// Queues work for the writer, which receives it in batches.
    fn queue(&self, item: Item) {
        let Some(writer) = &self.writer else { return };
        let batch = {
            let mut t = self.run.lock().unwrap_or_else(|p| p.into_inner());
            t.outbox.push(item);
            if t.outbox.len() < OUTBOX_BATCH {
                return;
            }
            std::mem::take(&mut t.outbox)
        };
        writer.send(Msg::Items(batch));
    }

    /// Hands everything queued to the writer.
    fn send_outbox(&self) {
        let Some(writer) = &self.writer else { return };
        let batch = std::mem::take(&mut self.run.lock().unwrap_or_else(|p| p.into_inner()).outbox);
        if !batch.is_empty() {
            writer.send(Msg::Items(batch));
        }
    }

    /// The latest finished run's keys, loaded once per run (a store without them, or an
    /// error, gives none: every lookup then asks the store).
    /// The first run's were read ahead by the writer thread while the run started.
    fn load_hints(&self) -> Hints {
        let ahead = self
            .hints_ahead
            .lock()
            .ok()
            .and_then(|mut p| p.take())
            .and_then(|rx| rx.recv().ok());
        let hints = ahead.unwrap_or_else(|| read_hints(&*self.meta));
        if let Ok(mut t) = self.run.lock() {
            t.hints = Some(hints.clone());
        }
        hints
    }

    fn behavior(&self, node: &str) -> (CacheBehavior, &str) {
        self.policy
            .get(node)
            .map_or((CacheBehavior::Default, "postcard"), |(b, f)| (*b, &**f))
    }

    /// A lazily-loaded stored value. A corrupt result is forgotten (so the next lookup misses)
    /// and reported; the engine then recomputes the value.
    fn lazy_value(
        self: &Arc<Self>,
        spec: &crate::node::NodeSpec,
        key: CacheKey,
        version: DataVersion,
    ) -> Value {
        let me = self.clone();
        let ty = spec.output();
        let name = spec.name.clone();
        Value::lazy(
            version,
            ty,
            Box::new(move || {
                let codec = ty
                    .codec()
                    .ok_or_else(|| format!("`{}` cannot be deserialized", ty.short_name()))?;
                let problem = match me.results.get(&version) {
                    Ok(Some(blob)) => match (codec.decode)(&blob.bytes, &blob.format) {
                        Ok(v) => return Ok(v),
                        Err(e) => format!("cannot decode: {e}"),
                    },
                    Ok(None) => "the result is missing".to_string(),
                    Err(e) => e.to_string(),
                };
                me.warn_once(format!(
                    "stored result of `{name}` ({}) is unusable ({problem}); recomputing it",
                    version.short()
                ));
                let _ = me.meta.forget_key(&key);
                // The run's hints may still list the key: read them again when next needed.
                if let Ok(mut t) = me.run.lock() {
                    t.hints = None;
                }
                let _ = me.results.remove(&version);
                Err(problem)
            }),
        )
    }
}

/// The [`Adapter`] that consults and fills the cache.
pub(crate) struct CacheAdapter(Arc<Inner>);

impl Adapter for CacheAdapter {
    fn needs_values(&self) -> bool {
        true
    }

    fn before_graph(&self, run: &RunInfo<'_>) {
        if let Ok(mut t) = self.0.run.lock() {
            t.seen.clear();
            t.answered = false;
            t.hints = None;
            t.run_id = Some(Arc::from(run.run_id));
        }
        self.0.meta.begin_lookups();
        self.0.send(MetaWrite::BeginRun(RunMeta {
            run_id: run.run_id.to_string(),
            started_at: now(),
            finished_at: None,
            outputs: run.outputs.to_vec(),
            status: "running".into(),
        }));
    }

    fn after_graph(&self, run: &RunInfo<'_>, summary: &RunSummary<'_>) {
        let (seen, answered) = self
            .0
            .run
            .lock()
            .map(|mut t| (std::mem::take(&mut t.seen), t.answered))
            .unwrap_or_default();
        for (name, spec, value) in summary.values {
            if answered || seen.contains(*name) {
                continue;
            }
            let (behavior, _) = self.0.behavior(name);
            let mut draft = Draft::new(Arc::from(run.run_id), spec, behavior);
            draft.status = Status::Memo;
            draft.type_name = value.value_type().name();
            draft.data_version = value.is_fingerprinted().then(|| value.version());
            draft.deps = vec![None; spec.params().len()];
            self.0.queue(Item::Record(Box::new(draft)));
        }
        self.0.send(MetaWrite::EndRun {
            run_id: run.run_id.to_string(),
            status: if summary.failed.is_some() {
                "failed"
            } else {
                "ok"
            }
            .into(),
            finished_at: now(),
        });
        self.0.meta.end_lookups();
        self.0.send_outbox();
        // A run that computed something is committed before `execute` returns: its results
        // survive even a `std::process::exit` that skips dropping the driver. A run of hits
        // only (nothing to lose but its records) is committed while the caller goes on; reads
        // through `Cache`, other drivers on the directory and dropping the driver wait for it.
        if let Some(w) = &self.0.writer {
            if summary.executed.is_empty() {
                w.commit();
            } else {
                w.flush();
            }
        }
    }

    fn wrap_node<'a>(&'a self, node: &'a NodeInfo<'a>, next: Next<'a>) -> NodeFuture<'a> {
        match self.0.begin(node) {
            Begin::Hit(v) => Box::pin(std::future::ready(Ok(v))),
            Begin::Miss(ctx) => Box::pin(async move {
                let result = next.run(node).await;
                self.0.end(node, ctx, result)
            }),
        }
    }
}

/// What the cache decided before a node runs.
enum Begin {
    /// A stored result, lazily loaded.
    Hit(Value),
    /// The node must run; what to record afterwards.
    Miss(Box<MissContext>),
}

/// What a dependency brings to a key.
#[derive(Clone, Copy)]
pub(crate) enum Dep {
    /// An optional input that was not given.
    Absent,
    /// A value with this data version.
    Version(DataVersion),
    /// A value of this type, which cannot be fingerprinted.
    Opaque(&'static str),
}

impl Dep {
    pub(crate) fn of(value: Option<&Value>) -> Dep {
        match value {
            None => Dep::Absent,
            Some(v) if v.is_fingerprinted() => Dep::Version(v.version()),
            Some(v) => Dep::Opaque(v.value_type().name()),
        }
    }
}

/// A node's key and record before its lookup (see `Inner::keyed`).
struct Keyed {
    behavior: CacheBehavior,
    format: String,
    key: Option<CacheKey>,
    unkeyable: Option<String>,
    record: Draft,
}

struct MissContext {
    start: Instant,
    behavior: CacheBehavior,
    format: String,
    key: Option<CacheKey>,
    unkeyable: Option<String>,
    record: Draft,
}

/// A node's record as the cache fills it in on the run's thread. The writer hands drafts to the
/// store as [`Records`]; [`NodeRecord`]s (with strings of their own) are made of them only when
/// a store asks.
#[derive(Clone)]
pub(crate) struct Draft {
    run_id: Arc<str>,
    /// The node's name, code version and parameters (shared with its spec).
    name: Arc<str>,
    code_version: Arc<str>,
    params: Arc<[crate::node::ParamSpec]>,
    status: Status,
    behavior: CacheBehavior,
    cache_key: Option<CacheKey>,
    data_version: Option<DataVersion>,
    /// In parameter order (the names are the spec's).
    deps: Vec<Option<DataVersion>>,
    reason: Option<String>,
    duration_us: u64,
    error: Option<String>,
    type_name: &'static str,
}

impl Draft {
    fn new(run_id: Arc<str>, spec: &crate::node::NodeSpec, behavior: CacheBehavior) -> Draft {
        Draft {
            run_id,
            name: spec.name.clone(),
            code_version: spec.code_version.clone(),
            params: spec.params.clone(),
            status: Status::Executed,
            behavior,
            cache_key: None,
            data_version: None,
            deps: Vec::new(),
            reason: None,
            duration_us: 0,
            error: None,
            type_name: spec.output().name(),
        }
    }

    pub(crate) fn into_record(self) -> NodeRecord {
        NodeRecord {
            run_id: String::from(&*self.run_id),
            node: String::from(&*self.name),
            status: self.status,
            behavior: behavior_name(self.behavior).to_string(),
            cache_key: self.cache_key,
            data_version: self.data_version,
            code_version: String::from(&*self.code_version),
            deps: self
                .params
                .iter()
                .map(|p| String::from(p.name()))
                .zip(self.deps.into_iter().chain(std::iter::repeat(None)))
                .collect(),
            reason: self.reason,
            duration_us: self.duration_us,
            error: self.error,
            type_name: String::from(self.type_name),
        }
    }
}

impl Inner {
    /// Looks the node up: a hit, or what to do after it runs.
    fn begin(self: &Arc<Self>, node: &NodeInfo<'_>) -> Begin {
        let start = Instant::now();
        let (hints, run_id) = match self.run.lock() {
            Ok(mut t) => {
                t.seen.insert(node.spec.name.clone());
                (t.hints.clone(), t.run_id.clone())
            }
            Err(_) => (None, None),
        };
        let mut keyed = self.keyed(node, run_id);
        if let (Some(key), CacheBehavior::Default) = (keyed.key, keyed.behavior) {
            let hints = hints.unwrap_or_else(|| self.load_hints());
            match self.find(&hints, &key) {
                // A hit is not even checked for presence here: it is read only if needed, and
                // a missing or corrupt result is then recomputed (see `lazy_value`).
                Ok(Some(version)) => {
                    let record = &mut keyed.record;
                    record.status = Status::Hit;
                    record.data_version = Some(version);
                    record.duration_us = start.elapsed().as_micros() as u64;
                    self.queue(Item::Record(Box::new(keyed.record)));
                    return Begin::Hit(self.lazy_value(node.spec, key, version));
                }
                Ok(None) => keyed.record.reason = Some("no stored result for this key".into()),
                Err(e) => {
                    self.warn_once(format!("cannot read cache metadata: {e}"));
                    keyed.record.reason = Some(format!("metadata unreadable: {e}"));
                }
            }
        }
        let Keyed {
            behavior,
            format,
            key,
            unkeyable,
            record,
        } = keyed;
        Begin::Miss(Box::new(MissContext {
            start,
            behavior,
            format,
            key,
            unkeyable,
            record,
        }))
    }

    /// The node's behaviour, format and key (`None` when it has none: not DEFAULT or
    /// RECOMPUTE, or a dependency cannot be fingerprinted), and its record so far.
    fn keyed(&self, node: &NodeInfo<'_>, run_id: Option<Arc<str>>) -> Keyed {
        let run_id = run_id
            .filter(|id| **id == *node.run_id)
            .unwrap_or_else(|| Arc::from(node.run_id));
        let deps = node.inputs.iter().map(|(d, v)| (*d, Dep::of(v.as_ref())));
        self.keyed_by(node.spec, run_id, deps)
    }

    /// [`keyed`](Self::keyed), from the node's dependencies' states alone.
    fn keyed_by<'d>(
        &self,
        spec: &crate::node::NodeSpec,
        run_id: Arc<str>,
        deps: impl ExactSizeIterator<Item = (&'d str, Dep)>,
    ) -> Keyed {
        let name = spec.name();
        let (behavior, format) = self.behavior(name);
        let mut record = Draft::new(run_id, spec, behavior);
        record.deps.reserve_exact(deps.len());

        // IGNORE dependencies are left out; an unfingerprintable one makes the node
        // uncacheable (never folded into a key).
        let mut parts = smallvec::SmallVec::<[(&str, KeyPart); 8]>::new();
        let mut unkeyable = None;
        for (dep, state) in deps {
            let dep_ignored = self
                .policy
                .get(dep)
                .is_some_and(|(b, _)| *b == CacheBehavior::Ignore);
            match state {
                _ if dep_ignored => record.deps.push(None),
                Dep::Absent => {
                    record.deps.push(None);
                    parts.push((dep, KeyPart::Absent));
                }
                Dep::Version(v) => {
                    record.deps.push(Some(v));
                    parts.push((dep, KeyPart::Version(v)));
                }
                Dep::Opaque(type_name) => {
                    record.deps.push(None);
                    unkeyable.get_or_insert_with(|| {
                        format!(
                            "dependency `{dep}` is a `{}`, which cannot be fingerprinted (implement weft::Fingerprint or serde::Serialize for it)",
                            crate::short_type_name(type_name)
                        )
                    });
                }
            }
        }
        let key = match (&unkeyable, behavior) {
            (None, CacheBehavior::Default | CacheBehavior::Recompute) => Some(cache_key(
                name,
                spec.code_version(),
                spec.output().name(),
                &parts,
            )),
            _ => None,
        };
        record.cache_key = key;
        Keyed {
            behavior,
            format: format.to_string(),
            key,
            unkeyable,
            record,
        }
    }

    /// The data version stored for `key`: from the last run's keys, else the store.
    fn find(&self, hints: &Hints, key: &CacheKey) -> Result<Option<DataVersion>, StoreError> {
        match hints.get(key) {
            Some(v) => Ok(Some(*v)),
            None => self.meta.lookup(key),
        }
    }

    /// Records the node's run and stores its value when it should be.
    fn end(
        self: &Arc<Self>,
        node: &NodeInfo<'_>,
        ctx: Box<MissContext>,
        result: NodeResult,
    ) -> NodeResult {
        let inner = self;
        let name = node.name();
        let spec = node.spec;
        let MissContext {
            start,
            behavior,
            format,
            key,
            unkeyable,
            mut record,
        } = *ctx;
        record.duration_us = start.elapsed().as_micros() as u64;
        let value = match result {
            Ok(v) => v,
            Err(e) => {
                record.status = Status::Failed;
                record.error = Some(e.to_string());
                inner.queue(Item::Record(Box::new(record)));
                return Err(e);
            }
        };
        if value.is_fingerprinted() {
            record.data_version = Some(value.version());
        }
        record.status = match behavior {
            CacheBehavior::Disable => Status::Disabled,
            CacheBehavior::Ignore => Status::Ignored,
            CacheBehavior::Recompute => Status::Recomputed,
            CacheBehavior::Default => Status::Executed,
        };
        let storable = matches!(behavior, CacheBehavior::Default | CacheBehavior::Recompute);
        if storable {
            let why_not = if let Some(why) = unkeyable {
                Some(why)
            } else if !value.is_fingerprinted() {
                Some(format!(
                    "its value, a `{}`, cannot be fingerprinted (implement weft::Fingerprint or serde::Serialize for it)",
                    spec.output().short_name()
                ))
            } else if value.value_type().codec().is_none() {
                Some(format!(
                    "its value, a `{}`, cannot be serialized (derive serde's Serialize and Deserialize)",
                    spec.output().short_name()
                ))
            } else {
                None
            };
            match (why_not, key) {
                (Some(why), _) => {
                    inner.warn_once(format!("`{name}` is kept in memory only: {why}"));
                    record.status = Status::Uncached;
                    record.reason = Some(why);
                }
                (None, Some(key)) => inner.queue(Item::Store {
                    value: value.clone(),
                    format: format.to_string(),
                    key: MetaWrite::Key {
                        cache_key: key,
                        node: name.to_string(),
                        data_version: value.version(),
                    },
                }),
                (None, None) => {}
            }
        }
        inner.queue(Item::Record(Box::new(record)));
        Ok(value)
    }
}
