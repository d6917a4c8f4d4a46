//! The persistent cache: a metadata store (keys → data versions, runs, records) and a
//! content-addressed result store, wrapping node execution as an
//! [`Adapter`](crate::Adapter). Both stores are traits ([`MetadataStore`], [`ResultStore`]):
//! SQLite under a directory by default, in memory ([`MemoryStore`]), or any other given to
//! [`CacheConfig::with_stores`].
//!
//! For each node that reaches it (the in-memory incremental core answers first), the cache
//! builds the key from the node's name, code version, output type and its dependencies' data
//! versions, looks it up, and on a hit returns the stored value *lazily*: nothing is read or
//! decoded until a node that must run, or a requested output, needs it. On a miss the node runs
//! and its value is stored by a background writer.

mod adapter;
mod answer;
mod backlog;
mod blobs;
mod config;
mod draft;
mod encode;
mod explain;
mod gc;
mod inline;
mod inspect;
mod key;
mod keying;
mod lease;
mod location;
mod memory;
#[cfg(feature = "object-store")]
mod object;
mod pending;
mod records;
mod sqlite;
mod store;
mod writer;

use rustc_hash::{FxHashMap, FxHashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

pub use backlog::DEFAULT_STORE_BACKLOG;
pub use blobs::{FileStore, TEMP_STALE_AFTER};
pub use config::{behavior_name, CacheConfig};
pub use explain::Explanation;
pub use gc::{GcPolicy, GcReport};
pub use inline::{SqliteBlobs, TieredStore};
pub use inspect::ResultStoreHandle;
pub use key::{cache_key, CacheKey, KeyPart};
pub use location::Location;
pub use memory::MemoryStore;
#[cfg(feature = "object-store")]
pub use object::ObjectStores;
pub use sqlite::SqliteStore;
/// SQLite tuning (when the write-ahead log is folded), for tests of the SQLite store only.
#[doc(hidden)]
pub use sqlite::{WAL_FOLD_AT_END_BYTES, WAL_FOLD_BYTES};
pub use store::{
    Blob, MetaWrite, MetadataStore, Moment, NodeRecord, Records, ResultStore, RunMeta, RunTally,
    Status, StoreError, StreamError,
};

pub(crate) use adapter::CacheAdapter;
pub(crate) use draft::Draft;
pub(crate) use keying::{read_hints, Dep, Hints};

use crate::node::CacheBehavior;
use writer::{Item, Msg, Warnings, Writer};

/// Results up to this many encoded bytes are stored as rows of `results.sqlite`; larger ones
/// as one file each under `results/`.
pub const INLINE_MAX: usize = 16 * 1024;

/// A cache: metadata and results. Obtained from a driver built with a cache
/// ([`Driver::cache`](crate::Driver::cache)), or opened on a directory ([`Cache::open`]) or on
/// stores ([`Cache::with_stores`]) alone for inspection.
#[derive(Clone)]
pub struct Cache {
    inner: Arc<Inner>,
}

struct Inner {
    dir: PathBuf,
    /// Where the stores are (for the writers' registry and messages).
    place: Place,
    meta: Arc<dyn MetadataStore>,
    results: Arc<dyn ResultStore>,
    writer: Option<Arc<Writer>>,
    /// Room for large results waiting to be stored (`CacheConfig::store_backlog`).
    backlog: Arc<backlog::Backlog>,
    /// Behaviour and format per node, for a cache attached to a driver.
    policy: Policy,
    warned: Warnings,
    run: Mutex<RunTrack>,
    /// The first run's hints, read ahead by the writer thread.
    hints_ahead: Mutex<Option<std::sync::mpsc::Receiver<Hints>>>,
    /// Whether any key was ever forgotten (see `RunTrack::forgotten`): until then, lookups
    /// need not ask.
    forgot_any: std::sync::atomic::AtomicBool,
    /// How many gcs the directory had seen when the hints were read (see `lease::gc_count`).
    gc_seen: std::sync::atomic::AtomicU64,
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
    /// Keys forgotten during this run (their entry or result was unusable): they miss for the
    /// rest of it, whatever the store's view of the run's start (a SQLite run reads one
    /// snapshot) still says.
    forgotten: FxHashSet<CacheKey>,
    /// Whether a run is under way (between the adapter's `before_graph` and `after_graph`).
    /// Work queued outside one (the repair of a stored result found unusable when a value is
    /// read after its run) goes to the writer at once.
    running: bool,
    /// The keys the latest finished run used ([`MetadataStore::recent_keys`]), loaded at the
    /// run's first lookup.
    hints: Option<Hints>,
    /// The current run's lease on the cache directory (see `lease`).
    lease: Option<lease::Lease>,
}

/// Each node's cache behaviour and storage format, as the driver resolved them.
pub(crate) type Policy = FxHashMap<Arc<str>, (CacheBehavior, Arc<str>)>;

/// How many items travel to the writer together.
const OUTBOX_BATCH: usize = 64;

impl Cache {
    /// Opens the cache in `dir` (SQLite metadata in `dir/meta.sqlite`, small results in
    /// `dir/results.sqlite`, large ones in `dir/results/`), for inspection and housekeeping.
    pub fn open(dir: impl AsRef<Path>) -> Result<Cache, StoreError> {
        let dir = dir.as_ref();
        // Runs of other live drivers on this directory are committed in the background after
        // `execute` returns: what they wrote is visible to this one from the start.
        let place = Place::Dir(dir.to_path_buf());
        writer::settle(&place);
        let (meta, results) = open_stores(dir)?;
        Ok(Cache::read_only(dir.to_path_buf(), place, meta, results))
    }

    /// A cache on these stores, for inspection and housekeeping ([`runs`](Self::runs),
    /// [`explain`](Self::explain), [`gc`](Self::gc), …) of any [`MetadataStore`] and
    /// [`ResultStore`]; what live drivers of this process wrote to them is committed first.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use weft::cache::{Cache, MemoryStore};
    /// let store = MemoryStore::new();
    /// let cache = Cache::with_stores(Arc::new(store.clone()), Arc::new(store));
    /// assert!(cache.runs().unwrap().is_empty());
    /// ```
    pub fn with_stores(meta: Arc<dyn MetadataStore>, results: Arc<dyn ResultStore>) -> Cache {
        let place = Place::Stores(None);
        writer::settle(&place);
        Cache::read_only(PathBuf::new(), place, meta, results)
    }

    /// Opens the cache at `location` for inspection and housekeeping: a directory (as
    /// [`Cache::open`]), `file://PATH`, or an object-storage URL such as
    /// `s3://bucket/prefix` (feature `object-store`; see [`Location`]). An object store that
    /// cannot be reached is an error naming the URL.
    ///
    /// ```
    /// let dir = std::env::temp_dir().join(format!("weft-locate-doc-{}", std::process::id()));
    /// let cache = weft::Cache::locate(dir.to_str().unwrap()).unwrap();
    /// assert!(cache.runs().unwrap().is_empty());
    /// let e = weft::Cache::locate("s4://bucket").err().unwrap().to_string();
    /// assert!(e.contains("unknown scheme"), "{e}");
    /// # std::fs::remove_dir_all(dir).ok();
    /// ```
    pub fn locate(location: &str) -> Result<Cache, StoreError> {
        match Location::parse(location)? {
            Location::Dir(dir) => Cache::open(dir),
            Location::Object { url } => {
                let (meta, results) = object_stores(&url)?;
                let place = Place::Stores(Some(url));
                writer::settle(&place);
                Ok(Cache::read_only(PathBuf::new(), place, meta, results))
            }
        }
    }

    /// A cache that writes nothing itself (for inspection and housekeeping).
    fn read_only(
        dir: PathBuf,
        place: Place,
        meta: Arc<dyn MetadataStore>,
        results: Arc<dyn ResultStore>,
    ) -> Cache {
        Cache {
            inner: Arc::new(Inner {
                dir,
                place,
                meta,
                results,
                writer: None,
                backlog: backlog::Backlog::new(backlog::DEFAULT_STORE_BACKLOG),
                policy: Policy::default(),
                warned: Warnings::default(),
                run: Mutex::default(),
                hints_ahead: Mutex::default(),
                forgot_any: Default::default(),
                gc_seen: Default::default(),
            }),
        }
    }

    /// Starts opening the cache `config` describes for a driver: its writer thread opens the
    /// stores (SQLite under the directory, unless stores were given) and reads the first run's
    /// hints while the driver builds its graph.
    pub(crate) fn opening(config: &CacheConfig, warned: Warnings) -> Opening {
        let dir = config.path().to_path_buf();
        let (place, given) = match config.stores() {
            Some(s) => (Place::Stores(s.label.clone()), Some(s.clone())),
            None => (Place::Dir(dir.clone()), None),
        };
        writer::settle(&place);
        // Counted before the writer reads the hints: a gc after this makes them stale.
        let gc_seen = match &place {
            Place::Dir(d) => lease::gc_count(d),
            Place::Stores(_) => 0,
        };
        let (opened_tx, opened) = std::sync::mpsc::channel();
        let (hints_tx, hints) = std::sync::mpsc::channel();
        let owned = dir.clone();
        let writer = Writer::spawn(
            move || match given {
                Some(s) => Ok((s.meta, s.results)),
                None => open_stores(&owned),
            },
            warned.clone(),
            opened_tx,
            hints_tx,
        )
        .map(|w| w.register(place.clone()));
        Opening {
            dir,
            place,
            writer,
            opened,
            hints,
            gc_seen,
            warned,
            ignored: config.ignored().map(Arc::from).collect(),
            backlog: config.backlog(),
        }
    }

    /// The cache directory (for a cache on stores given to
    /// [`CacheConfig::with_stores`], the configured path, which it does not use; empty for
    /// [`Cache::with_stores`]).
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// Where the cache is, in words: its directory, or "the cache's stores".
    pub fn location(&self) -> String {
        match &self.inner.place {
            Place::Dir(d) => d.display().to_string(),
            Place::Stores(Some(label)) => label.clone(),
            Place::Stores(None) => "the cache's stores".to_string(),
        }
    }

    /// The metadata store (with everything this cache has written committed).
    pub fn metadata(&self) -> &dyn MetadataStore {
        self.flush();
        &*self.inner.meta
    }

    /// Warnings given so far (each once, everything written so far committed first): values
    /// that cannot be fingerprinted or stored, corrupt or missing results, damaged databases
    /// moved aside and rebuilt, records left out as unreadable (the stores' notices,
    /// [`MetadataStore::take_notices`]).
    pub fn warnings(&self) -> Vec<String> {
        self.flush();
        for n in self
            .inner
            .meta
            .take_notices()
            .into_iter()
            .chain(self.inner.results.take_notices())
        {
            self.inner.warn_once(n);
        }
        self.inner
            .warned
            .all()
            .into_iter()
            .filter_map(|w| match w {
                crate::Warning::Cache(message) => Some(message),
                _ => None,
            })
            .collect()
    }

    /// Waits until everything this cache has written is committed. A run that only hit is
    /// recorded in the background after `execute` returns (one that executed anything is
    /// committed before); the reading methods of `Cache` call this first, so they always see
    /// the runs of this process. Call it before a `std::process::exit` that skips dropping
    /// the driver if that run's record matters.
    pub fn flush(&self) {
        self.inner.send_outbox();
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
    place: Place,
    writer: Result<Arc<Writer>, StoreError>,
    opened: std::sync::mpsc::Receiver<writer::Opened>,
    hints: std::sync::mpsc::Receiver<Hints>,
    gc_seen: u64,
    warned: Warnings,
    /// Names the configuration lists as IGNORE (inputs among them are not in the policy).
    ignored: Vec<Arc<str>>,
    /// `CacheConfig::store_backlog`.
    backlog: usize,
}

impl Opening {
    /// Waits for the stores to be open and attaches `policy` (the function nodes'), with the
    /// inputs the configuration ignores. Only what differs from DEFAULT behaviour stored as
    /// postcard is kept (what a node missing from the policy gets): a flow of default nodes
    /// then has no map of a million names to build and to hash every node's name into.
    pub(crate) fn finish(
        self,
        policy: impl IntoIterator<Item = (Arc<str>, (CacheBehavior, Arc<str>))>,
    ) -> Result<Cache, StoreError> {
        let ignored: FxHashSet<&Arc<str>> = self.ignored.iter().collect();
        let mut policy: Policy = policy
            .into_iter()
            .filter(|(name, (b, f))| {
                *b != CacheBehavior::Default || &**f != "postcard" || ignored.contains(name)
            })
            .collect();
        for name in self.ignored {
            policy
                .entry(name)
                .or_insert_with(|| (CacheBehavior::Ignore, Arc::from("postcard")));
        }
        let writer = self.writer?;
        let (meta, results) = self.opened.recv().map_err(|_| {
            StoreError::Other("the cache's writer thread stopped while opening it".into())
        })??;
        Ok(Cache {
            inner: Arc::new(Inner {
                dir: self.dir,
                place: self.place,
                meta,
                results,
                writer: Some(writer),
                backlog: backlog::Backlog::new(self.backlog),
                policy,
                warned: self.warned,
                run: Mutex::default(),
                hints_ahead: Mutex::new(Some(self.hints)),
                forgot_any: Default::default(),
                gc_seen: self.gc_seen.into(),
            }),
        })
    }
}

/// Which stores a cache uses: a directory (SQLite), or stores given by the caller. Opening a
/// cache first waits for the live drivers of the process on the same place to commit (see
/// `writer::settle`); stores given by the caller cannot be told apart (clones of one store are
/// the same store), so all drivers on given stores count as one place, except that stores
/// made from a URL ([`CacheConfig::locate`]) are told apart by it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Place {
    Dir(PathBuf),
    Stores(Option<String>),
}

/// The stores of the object-storage cache at `url` (already parsed by [`Location`]).
#[cfg(feature = "object-store")]
pub(crate) fn object_stores(url: &str) -> writer::Opened {
    let stores = ObjectStores::open(url)?;
    Ok((Arc::new(stores.clone()), Arc::new(stores)))
}

/// Without the `object-store` feature, an object-storage URL is an error saying so.
#[cfg(not(feature = "object-store"))]
pub(crate) fn object_stores(url: &str) -> writer::Opened {
    Err(StoreError::Location {
        location: url.to_string(),
        why: "a cache on object storage needs the cargo feature `object-store` of \
              weft-dataflow (or of weft-dataflow-cli), which this build was compiled without; \
              enable it, or give a directory"
            .to_string(),
    })
}

/// The stores of a cache directory: SQLite metadata, results tiered by size.
fn open_stores(dir: &Path) -> writer::Opened {
    let meta: Arc<dyn MetadataStore> = Arc::new(SqliteStore::open(&dir.join("meta.sqlite"))?);
    Ok((meta, dir_results(dir)))
}

/// The result store of a cache directory: small results in `results.sqlite` (opened when
/// first used), large ones as files under `results/`.
pub(crate) fn dir_results(dir: &Path) -> Arc<dyn ResultStore> {
    Arc::new(TieredStore::new(
        SqliteBlobs::lazy(&dir.join("results.sqlite")),
        FileStore::new(dir.join("results")),
        INLINE_MAX,
    ))
}

impl Drop for Inner {
    /// Hands what is still queued to the writer, which commits it as it closes.
    fn drop(&mut self) {
        self.send_outbox();
    }
}

impl Inner {
    fn warn_once(&self, message: String) {
        self.warned.once(message);
    }

    /// Queues a metadata write.
    fn send(&self, w: MetaWrite) {
        self.queue(Item::Meta(w));
    }

    /// Queues work for the writer, which receives it in batches during a run, at once
    /// otherwise (and commits it soon).
    ///
    /// A large value (see [`encode::ENCODE_BESIDE_BYTES`]) travels at once, with what waits
    /// before it, so that it is encoded while the run goes on.
    fn queue(&self, item: Item) {
        let Some(writer) = &self.writer else { return };
        // Large: it holds room in the backlog (the adapter sized it once, as it reserved).
        let large = matches!(
            &item,
            Item::Store { held: Some(_), .. } | Item::Settle { held: Some(_), .. }
        );
        let (batch, running) = {
            let mut t = self.run.lock().unwrap_or_else(|p| p.into_inner());
            t.outbox.push(item);
            if t.running && t.outbox.len() < OUTBOX_BATCH && !large {
                return;
            }
            (std::mem::take(&mut t.outbox), t.running)
        };
        writer.send(Msg::Items(batch));
        if !running {
            writer.commit();
        }
    }

    /// Hands everything queued to the writer.
    fn send_outbox(&self) {
        let Some(writer) = &self.writer else { return };
        let batch = std::mem::take(&mut self.run.lock().unwrap_or_else(|p| p.into_inner()).outbox);
        if !batch.is_empty() {
            writer.send(Msg::Items(batch));
        }
    }
}
