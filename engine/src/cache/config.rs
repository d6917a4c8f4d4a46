//! Cache configuration and behaviour resolution (Hamilton's precedence: driver lists, then the
//! node's own attribute, then the default behaviour).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{Location, MetadataStore, ResultStore, StoreError};

use crate::error::{suggest, Problem};
use crate::graph::Graph;
use crate::node::CacheBehavior;

/// Where the cache lives and how each node uses it.
///
/// By default the cache is SQLite metadata and results under a directory ([`at`](Self::at));
/// [`with_stores`](Self::with_stores) plugs in any [`MetadataStore`] and [`ResultStore`]
/// instead, such as the engine's [`MemoryStore`](super::MemoryStore).
///
/// ```
/// use weft::{CacheBehavior, CacheConfig};
/// let cfg = CacheConfig::at("./my_cache")
///     .recompute(["raw_data"])
///     .disable(["random_sample"]);
/// assert_eq!(cfg.path(), std::path::Path::new("./my_cache"));
/// let all = CacheConfig::default().recompute_all();
/// let opt_in = CacheConfig::default().default_behavior(CacheBehavior::Disable).default_nodes(["expensive"]);
/// # let _ = (all, opt_in);
/// ```
#[derive(Debug, Clone)]
pub struct CacheConfig {
    path: PathBuf,
    lists: BTreeMap<String, CacheBehavior>,
    conflicts: Vec<(String, CacheBehavior, CacheBehavior)>,
    recompute_all: bool,
    default_behavior: CacheBehavior,
    format: String,
    /// Default formats per type (`format_for`): type id, type name, format.
    type_formats: Vec<(std::any::TypeId, &'static str, String)>,
    stores: Option<Stores>,
    backlog: usize,
}

/// A cache's results as other processes reach them: where they are, and the store
/// ([`CacheConfig::shared_results`]).
#[cfg(feature = "remote")]
pub(crate) type SharedResults = (String, Arc<dyn ResultStore>);

/// A metadata store and a result store given to [`CacheConfig::with_stores`].
#[derive(Clone)]
pub(crate) struct Stores {
    pub(crate) meta: Arc<dyn MetadataStore>,
    pub(crate) results: Arc<dyn ResultStore>,
    /// Where they are, when made from a URL ([`CacheConfig::locate`]).
    pub(crate) label: Option<String>,
}

impl std::fmt::Debug for Stores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Stores { .. }")
    }
}

impl Default for CacheConfig {
    /// The cache at `.weft/cache`, every node DEFAULT, values in postcard.
    fn default() -> Self {
        CacheConfig::at(".weft/cache")
    }
}

impl CacheConfig {
    /// A cache in directory `path`.
    pub fn at(path: impl AsRef<Path>) -> Self {
        CacheConfig {
            path: path.as_ref().to_path_buf(),
            lists: BTreeMap::new(),
            conflicts: Vec::new(),
            recompute_all: false,
            default_behavior: CacheBehavior::Default,
            format: "postcard".into(),
            type_formats: Vec::new(),
            stores: None,
            backlog: super::DEFAULT_STORE_BACKLOG,
        }
    }

    /// Keeps the cache in these stores instead of SQLite under the directory: any
    /// [`MetadataStore`] and [`ResultStore`] (a database server, object storage, or the
    /// engine's [`MemoryStore`](super::MemoryStore)). Drivers given the same stores share the
    /// cache. The directory ([`path`](Self::path)) is then not used.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use weft::cache::MemoryStore;
    /// use weft::CacheConfig;
    /// let store = MemoryStore::new();
    /// let cfg = CacheConfig::default().with_stores(Arc::new(store.clone()), Arc::new(store));
    /// assert!(cfg.has_stores());
    /// ```
    pub fn with_stores(
        mut self,
        meta: Arc<dyn MetadataStore>,
        results: Arc<dyn ResultStore>,
    ) -> Self {
        self.stores = Some(Stores {
            meta,
            results,
            label: None,
        });
        self
    }

    /// The cache at `location`: a directory path or `file://PATH` (SQLite, as
    /// [`at`](Self::at)), or an object-storage URL — `s3://bucket/prefix`, `gs://bucket/prefix`,
    /// `az://container/prefix` — shared by every driver given the same URL, on any machine
    /// (feature `object-store`; without it such a URL is an error saying so). See
    /// [`Location`](super::Location) for the syntax, and `ObjectStores` (feature
    /// `object-store`) or the book's "Shared stores" chapter for credentials, retries and
    /// guarantees.
    ///
    /// An object store is connected to here, with one request: a URL that cannot be reached
    /// (or a bucket that does not exist, or refused credentials) is an error naming the URL.
    ///
    /// ```
    /// use weft::CacheConfig;
    /// let cfg = CacheConfig::locate("./my_cache").unwrap().recompute(["raw_data"]);
    /// assert_eq!(cfg.path(), std::path::Path::new("./my_cache"));
    /// let e = CacheConfig::locate("ftp://host/cache").unwrap_err().to_string();
    /// assert!(e.starts_with("cache location `ftp://host/cache`: unknown scheme"), "{e}");
    /// ```
    pub fn locate(location: &str) -> Result<Self, StoreError> {
        match Location::parse(location)? {
            Location::Dir(dir) => Ok(CacheConfig::at(dir)),
            Location::Object { url } => {
                let (meta, results) = super::object_stores(&url)?;
                let mut cfg = CacheConfig::default().with_stores(meta, results);
                if let Some(s) = cfg.stores.as_mut() {
                    s.label = Some(url);
                }
                Ok(cfg)
            }
        }
    }

    /// This cache's results as other processes reach them (the store a driver shares with its
    /// remote workers): where they are — the directory, created if missing and made absolute,
    /// or the URL of stores made by [`locate`](Self::locate), whose connection is shared — and
    /// the store. `None` for stores given by hand, which have no address.
    #[cfg(feature = "remote")]
    pub(crate) fn shared_results(&self) -> Option<Result<SharedResults, StoreError>> {
        let Some(s) = &self.stores else {
            let dir = &self.path;
            let made = std::fs::create_dir_all(dir).map_err(StoreError::io(format!(
                "cannot create the cache directory {}",
                dir.display()
            )));
            return Some(made.map(|()| {
                let absolute = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.clone());
                (absolute.display().to_string(), super::dir_results(dir))
            }));
        };
        let url = s.label.clone()?;
        Some(Ok((url, s.results.clone())))
    }

    /// Whether the cache uses stores given to [`with_stores`](Self::with_stores) (otherwise,
    /// SQLite under [`path`](Self::path)).
    pub fn has_stores(&self) -> bool {
        self.stores.is_some()
    }

    pub(crate) fn stores(&self) -> Option<&Stores> {
        self.stores.as_ref()
    }

    fn list(
        mut self,
        nodes: impl IntoIterator<Item = impl Into<String>>,
        b: CacheBehavior,
    ) -> Self {
        for n in nodes {
            let n = n.into();
            if let Some(prev) = self.lists.insert(n.clone(), b) {
                if prev != b {
                    self.conflicts.push((n, prev, b));
                }
            }
        }
        self
    }

    /// These nodes always execute, and their results are stored.
    pub fn recompute(self, nodes: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.list(nodes, CacheBehavior::Recompute)
    }
    /// These nodes always execute and never touch the store.
    pub fn disable(self, nodes: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.list(nodes, CacheBehavior::Disable)
    }
    /// These nodes execute without a key, and stay out of their children's keys. Inputs may be
    /// listed too: an ignored input is left out of its dependents' keys.
    ///
    /// An ignored node or input is a staleness hazard: a dependent whose key is otherwise
    /// unchanged hits, and returns the value stored when the ignored value was different. Ignore
    /// only what does not change results (a client, a logger, a connection).
    ///
    /// ```
    /// use weft::CacheConfig;
    /// // `api_client` is an input: a new client does not make its dependents run again.
    /// let cfg = CacheConfig::default().ignore(["api_client"]);
    /// # let _ = cfg;
    /// ```
    pub fn ignore(self, nodes: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.list(nodes, CacheBehavior::Ignore)
    }
    /// These nodes use DEFAULT whatever their attribute or the default behaviour says.
    pub fn default_nodes(self, nodes: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.list(nodes, CacheBehavior::Default)
    }
    /// Every node RECOMPUTEs (a full refresh that still stores results).
    pub fn recompute_all(mut self) -> Self {
        self.recompute_all = true;
        self
    }
    /// The behaviour of nodes no list or attribute mentions.
    pub fn default_behavior(mut self, b: CacheBehavior) -> Self {
        self.default_behavior = b;
        self
    }
    /// The default format of stored values (`postcard` or `json`); types that cannot be stored
    /// in it (data frames) keep their own default.
    pub fn format(mut self, format: impl Into<String>) -> Self {
        self.format = format.into();
        self
    }
    /// The default format of stored values of type `T`, over [`format`](Self::format): data
    /// frames in `ipc` instead of their own default `parquet`, say. A node's own
    /// `#[node(cache(format = ".."))]` still wins. A format `T` cannot be stored in is a
    /// build error naming both.
    ///
    /// ```
    /// use weft::CacheConfig;
    /// let cfg = CacheConfig::at("./my_cache").format("json").format_for::<Vec<u64>>("postcard");
    /// assert_eq!(cfg.format_of::<Vec<u64>>(), Some("postcard"));
    /// assert_eq!(cfg.format_of::<String>(), None);
    /// ```
    pub fn format_for<T: 'static>(mut self, format: impl Into<String>) -> Self {
        let id = std::any::TypeId::of::<T>();
        self.type_formats.retain(|(t, _, _)| *t != id);
        self.type_formats
            .push((id, std::any::type_name::<T>(), format.into()));
        self
    }
    /// How many bytes of large results (1 MiB or more each) may wait to be stored while the
    /// run goes on; default [`DEFAULT_STORE_BACKLOG`](super::DEFAULT_STORE_BACKLOG), 256 MiB.
    ///
    /// Large results are encoded and written beside the run. A node whose large result would
    /// take the results waiting beyond this waits until enough of them are stored (a result
    /// bigger than the limit goes when none waits), so a run that makes big values faster than
    /// they are written holds a bounded number of them, not all. Lower it to bound memory
    /// tighter (0: each large result waits for the one before it to be stored), raise it to
    /// let a run race further ahead of its writes.
    ///
    /// ```
    /// use weft::CacheConfig;
    /// let cfg = CacheConfig::at("./my_cache").store_backlog(64 << 20);
    /// assert_eq!(cfg.backlog(), 64 << 20);
    /// ```
    pub fn store_backlog(mut self, bytes: usize) -> Self {
        self.backlog = bytes;
        self
    }
    /// The limit set by [`store_backlog`](Self::store_backlog).
    pub fn backlog(&self) -> usize {
        self.backlog
    }
    /// The format set for type `T` with [`format_for`](Self::format_for), if any.
    pub fn format_of<T: 'static>(&self) -> Option<&str> {
        self.type_format(std::any::TypeId::of::<T>())
    }
    pub(crate) fn type_format(&self, id: std::any::TypeId) -> Option<&str> {
        (self.type_formats.iter())
            .find(|(t, _, _)| *t == id)
            .map(|(_, _, f)| f.as_str())
    }
    /// The per-type defaults: type name and format.
    pub(crate) fn type_formats(
        &self,
    ) -> impl Iterator<Item = (std::any::TypeId, &'static str, &str)> {
        (self.type_formats.iter()).map(|(t, n, f)| (*t, *n, f.as_str()))
    }
    /// The format a node's result is stored in: its own attribute, else the default for its
    /// type, else the driver's default when the type has it, else the type's own default.
    pub(crate) fn format_of_node(&self, spec: &crate::node::NodeSpec) -> String {
        let ty = spec.output();
        if let Some(f) = spec.cache_format() {
            return f.to_string();
        }
        if let Some(f) = self.type_format(ty.id()) {
            return f.to_string();
        }
        match ty.codec() {
            Some(c) if !c.supports(&self.format) && !c.formats.is_empty() => c.formats[0].into(),
            _ => self.format.clone(),
        }
    }
    /// The cache directory (for SQLite, the default stores).
    pub fn path(&self) -> &Path {
        &self.path
    }
    /// The default format.
    pub fn default_format(&self) -> &str {
        &self.format
    }

    /// The names listed as IGNORE (function nodes and inputs).
    pub(crate) fn ignored(&self) -> impl Iterator<Item = &str> {
        self.lists
            .iter()
            .filter(|(_, b)| **b == CacheBehavior::Ignore)
            .map(|(n, _)| n.as_str())
    }

    /// Each node's behaviour, or the problems with the configuration (unknown nodes, a node
    /// in two lists, an input listed as anything but IGNORE).
    pub(crate) fn resolve(&self, graph: &Graph) -> Result<Vec<CacheBehavior>, Vec<Problem>> {
        let mut problems = Vec::new();
        for (node, a, b) in &self.conflicts {
            problems.push(Problem::CachePolicy(format!(
                "node `{node}` is listed as both {} and {}; keep one",
                behavior_name(*a),
                behavior_name(*b)
            )));
        }
        for (node, behavior) in &self.lists {
            let found = graph.node(node);
            if found.is_some_and(|n| n.spec().is_none()) {
                // An input: only IGNORE (leave it out of keys) means anything for it.
                if *behavior != CacheBehavior::Ignore {
                    problems.push(Problem::CachePolicy(format!(
                        "cache configuration lists input `{node}` as {}; an input is never \
                         executed or stored, so only `ignore` (leave it out of its dependents' \
                         keys) applies to it",
                        behavior_name(*behavior)
                    )));
                }
                continue;
            }
            if found.is_none() {
                let hint = suggest(
                    node,
                    graph
                        .nodes()
                        .iter()
                        .filter(|n| n.spec().is_some())
                        .map(|n| n.name()),
                )
                .map(|h| format!(" (did you mean `{h}`?)"))
                .unwrap_or_default();
                problems.push(Problem::CachePolicy(format!(
                    "cache configuration names `{node}`, which is not a node or input of the \
                     flow{hint}"
                )));
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(graph
            .nodes()
            .iter()
            .map(|n| {
                if self.recompute_all {
                    return CacheBehavior::Recompute;
                }
                if let Some(b) = self.lists.get(n.name()) {
                    return *b;
                }
                n.spec()
                    .and_then(|s| s.cache_behavior())
                    .unwrap_or(self.default_behavior)
            })
            .collect())
    }
}

/// Lower-case name of a behaviour.
pub fn behavior_name(b: CacheBehavior) -> &'static str {
    match b {
        CacheBehavior::Default => "default",
        CacheBehavior::Recompute => "recompute",
        CacheBehavior::Disable => "disable",
        CacheBehavior::Ignore => "ignore",
    }
}
