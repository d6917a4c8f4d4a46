//! Configuring and building a [`Driver`]: modules, config, adapters, cache, executor.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};

use salsa::Durability;

use super::{Core, Driver, PlanCache, State};
use crate::adapter::Adapter;
#[cfg(feature = "cache")]
use crate::cache::{Cache, CacheConfig};
use crate::error::{BuildError, Problem};
use crate::executor::{Executor, Sequential};
use crate::graph::Graph;
use crate::incremental::WeftDb;
use crate::inputs::Inputs;
use crate::modifiers::{when, Subdag};
use crate::module::Modules;
use crate::node::{CacheBehavior, NodeSpec};
use crate::value::Value;

/// Configures and builds a [`Driver`].
#[derive(Default)]
pub struct Builder {
    modules: Modules,
    extra: Vec<NodeSpec>,
    subdags: Vec<Subdag>,
    config: Inputs,
    adapters: Vec<Arc<dyn Adapter>>,
    allow_overrides: bool,
    #[cfg(feature = "cache")]
    cache: Option<CacheConfig>,
    executor: Option<Arc<dyn Executor>>,
    /// The backend of a remote executor (the executor above wraps it).
    #[cfg(feature = "remote")]
    remote: Option<Arc<dyn crate::remote::RemoteExecutor>>,
    keep_going: bool,
    memory_budget: Option<u64>,
}

impl Builder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the `#[node]` functions of these modules (see [`modules!`](crate::modules)).
    pub fn with_modules(mut self, modules: Modules) -> Self {
        self.modules.extend(modules);
        self
    }

    /// Adds nodes built at run time (see [`NodeSpec::builder`]).
    pub fn with_nodes(mut self, nodes: impl IntoIterator<Item = NodeSpec>) -> Self {
        self.extra.extend(nodes);
        self
    }

    /// Adds a reusable part of a graph under its namespace (Hamilton's `@subdag`; see
    /// [`Subdag`]).
    pub fn with_subdag(mut self, subdag: Subdag) -> Self {
        self.subdags.push(subdag);
        self
    }

    /// Build-time configuration: each key satisfies parameters of that name, like an input
    /// that never changes. Keys must be disjoint from run inputs.
    pub fn with_config(mut self, config: Inputs) -> Self {
        for (k, (v, t)) in config.entries() {
            self.config.insert_erased(k.clone(), v.clone(), t);
        }
        self
    }

    /// Installs lifecycle adapters; they stack (see [`Adapter`]).
    pub fn with_adapter(mut self, adapter: impl Adapter) -> Self {
        self.adapters.push(Arc::new(adapter));
        self
    }

    /// Installs an adapter already behind an `Arc` (to keep a handle on it).
    pub fn with_adapter_arc(mut self, adapter: Arc<dyn Adapter>) -> Self {
        self.adapters.push(adapter);
        self
    }

    /// Caches results on disk in `.weft/cache`, with every node's behaviour DEFAULT unless its
    /// attribute says otherwise. See [`with_cache_config`](Self::with_cache_config).
    #[cfg(feature = "cache")]
    #[cfg_attr(docsrs, doc(cfg(feature = "cache")))]
    pub fn with_cache(self) -> Self {
        self.with_cache_config(CacheConfig::default())
    }

    /// Caches results as `config` says (directory, per-node behaviours, format).
    #[cfg(feature = "cache")]
    #[cfg_attr(docsrs, doc(cfg(feature = "cache")))]
    pub fn with_cache_config(mut self, config: CacheConfig) -> Self {
        self.cache = Some(config);
        self
    }

    /// Runs each node's attempts on `backend` — worker processes, a cluster — through the
    /// driver's scheduler and adapter stack (see [`weft::remote`](crate::remote)). Results are
    /// exchanged through a store: the cache directory when the driver has one, else the
    /// backend's own.
    ///
    /// ```
    /// use weft::{remote::ProcessPool, Builder};
    /// let builder = Builder::new().with_remote_executor(ProcessPool::new(4));
    /// # let _ = builder;
    /// ```
    #[cfg(feature = "remote")]
    #[cfg_attr(docsrs, doc(cfg(feature = "remote")))]
    pub fn with_remote_executor(mut self, backend: impl crate::remote::RemoteExecutor) -> Self {
        let backend: Arc<dyn crate::remote::RemoteExecutor> = Arc::new(backend);
        self.executor = Some(Arc::new(crate::remote::Remote(backend.clone())));
        self.remote = Some(backend);
        self
    }

    /// Runs nodes with `executor` (default: [`Sequential`](crate::executors::Sequential)).
    ///
    /// ```
    /// use weft::{executors::MultiThreading, Builder};
    /// let builder = Builder::new().with_local_executor(MultiThreading::new(10));
    /// ```
    pub fn with_local_executor(mut self, executor: impl Executor) -> Self {
        self.executor = Some(Arc::new(executor));
        #[cfg(feature = "remote")]
        {
            self.remote = None;
        }
        self
    }

    /// After a node fails, keep running everything that does not depend on it, and report
    /// every failure (default: stop scheduling at the first failure).
    pub fn keep_going(mut self, yes: bool) -> Self {
        self.keep_going = yes;
        self
    }

    /// Keeps the driver's memoized values within `bytes` (an estimate: each value's
    /// [`MemorySize`](crate::MemorySize)). Without it a driver keeps every value it computed
    /// until a newer one replaces it, which is what a long-lived driver with memory to spare
    /// wants.
    ///
    /// A value the current run still needs (a consumer on its plan has not run, or it is a
    /// requested output) is always kept; past that, the least recently used values are
    /// released while the total is over the budget. A released value is not lost: asked for
    /// again, it comes back from the persistent cache (a hit) or is computed again from the
    /// values it was made from, transparently. Values that cannot be fingerprinted are never
    /// released (a recomputation could not be recognised as the same value).
    ///
    /// `with_memory_budget(0)` is a one-shot run's policy: an intermediate value is released as
    /// soon as its last consumer has run, so a chain of big values needs about two of them in
    /// memory at a time.
    ///
    /// ```
    /// # mod m { use weft::prelude::*;
    /// #     #[node] pub fn big(n: &usize) -> Vec<u8> { vec![1; *n] }
    /// #     #[node] pub fn total(big: &Vec<u8>) -> u64 { big.iter().map(|&b| b as u64).sum() }
    /// # }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use weft::{inputs, Builder};
    /// let dr = Builder::new()
    ///     .with_modules(weft::modules![crate::m])
    ///     .with_memory_budget(0)
    ///     .build()?;
    /// let out = dr.execute(&["total"], inputs! { "n" => 1_000_000usize })?;
    /// assert_eq!(*out.get::<u64>("total")?, 1_000_000);
    /// // `big` went as soon as `total` had read it; only the output stays.
    /// assert!(dr.resident_bytes() < 1_000);
    /// # Ok(()) }
    /// ```
    pub fn with_memory_budget(mut self, bytes: u64) -> Self {
        self.memory_budget = Some(bytes);
        self
    }

    /// Lets a later module redefine a node of an earlier one instead of failing.
    pub fn allow_module_overrides(mut self) -> Self {
        self.allow_overrides = true;
        self
    }

    /// Collects the nodes, validates the graph and starts the incremental core.
    pub fn build(self) -> Result<Driver, BuildError> {
        // An existing cache (or given stores) starts opening (on its writer thread) while the
        // graph is built; a new directory is created only once the graph is known to be valid.
        let warnings = crate::warnings::Warnings::default();
        #[cfg(feature = "cache")]
        let mut opening = self
            .cache
            .as_ref()
            .filter(|cfg| cfg.has_stores() || cfg.path().is_dir())
            .map(|cfg| Cache::opening(cfg, warnings.clone()));
        let mut problems = Vec::new();
        let mut specs: Vec<NodeSpec> = Vec::with_capacity(self.extra.len());
        let mut position: rustc_hash::FxHashMap<Arc<str>, usize> = Default::default();
        let mut origin: BTreeMap<String, Vec<String>> = BTreeMap::new();
        // `#[node(subdag(..))]` functions register their subdag in their module.
        let mut subdags = self.modules.subdags();
        subdags.extend(self.subdags);
        let parts: Vec<(String, Vec<NodeSpec>)> = subdags
            .into_iter()
            .map(|s| {
                let label = format!("(subdag {})", s.namespace());
                (label, s.expand(self.config.entries(), &mut problems))
            })
            .collect();
        // `#[node(with_columns(..))]` groups of the listed modules: their column nodes, passed
        // columns and `<node>.with_columns`.
        let listed = self.modules.paths().to_vec();
        let groups: Vec<(String, Vec<NodeSpec>)> = (listed.iter())
            .flat_map(|m| crate::columns::ColumnGroup::registered_in(m))
            .map(|g| {
                let label = format!("(with_columns {})", g.node);
                (label, g.expand(&listed, &mut problems))
            })
            .collect();
        let sources = self
            .modules
            .collect()
            .into_iter()
            .chain(std::iter::once(("(with_nodes)".to_string(), self.extra)))
            .chain(parts)
            .chain(groups);
        let mut dropped = when::Dropped::default();
        for (module, nodes) in sources {
            if nodes.is_empty() && module != "(with_nodes)" && !module.starts_with('(') {
                problems.push(Problem::EmptyModule(module.clone()));
            }
            // `#[node(when(..))]`: only the functions the config selects are nodes.
            let mut nodes = dropped.filter(nodes, self.config.entries());
            if module != "(with_nodes)" {
                let (kept, clashes) = when::one_per_name(&module, nodes);
                nodes = kept;
                problems.extend(clashes);
            }
            position.reserve(nodes.len());
            for spec in nodes {
                if let Some(&pos) = position.get(spec.name()) {
                    let first = specs[pos].module().to_string();
                    let mods = origin
                        .entry(spec.name().to_string())
                        .or_insert_with(|| vec![first]);
                    mods.push(module.clone());
                    if self.allow_overrides {
                        specs[pos] = spec;
                    }
                } else {
                    position.insert(spec.name.clone(), specs.len());
                    specs.push(spec);
                }
            }
        }
        if !self.allow_overrides {
            for (name, modules) in origin {
                if modules.len() > 1 {
                    problems.push(Problem::Duplicate { name, modules });
                }
            }
        }
        problems.extend(dropped.problems(&specs));
        let graph = Arc::new(Graph::build(specs, self.config.entries(), problems)?);
        // Behaviours apply to the in-memory core too: RECOMPUTE and DISABLE nodes run on
        // every execute, with or without a persistent cache.
        #[cfg(feature = "cache")]
        let behaviors = (self.cache.clone().unwrap_or_default())
            .resolve(&graph)
            .map_err(|problems| BuildError { problems })?;
        // Without the cache feature there is no configuration: the nodes' attributes say.
        #[cfg(not(feature = "cache"))]
        let behaviors: Vec<CacheBehavior> = (graph.nodes().iter())
            .map(|n| n.spec().and_then(|s| s.cache_behavior()))
            .map(|b| b.unwrap_or(CacheBehavior::Default))
            .collect();
        let always_rerun = behaviors
            .iter()
            .map(|b| matches!(b, CacheBehavior::Recompute | CacheBehavior::Disable))
            .collect();
        let user_adapters = self.adapters.len();
        #[cfg(feature = "cache")]
        check_formats(&graph, self.cache.as_ref())?;
        let mut adapters = self.adapters;
        // Retries sit just inside the cache: user adapters see every attempt.
        adapters.insert(0, Arc::new(crate::adapter::Retry));
        #[cfg(feature = "cache")]
        let cache = match &self.cache {
            None => None,
            Some(cfg) => {
                let mut formats: Vec<Arc<str>> = Vec::new();
                let policy = graph.nodes().iter().zip(&behaviors).filter_map(|(n, b)| {
                    let spec = n.spec()?;
                    let format = cfg.format_of_node(spec);
                    let format = match formats.iter().find(|f| ***f == *format) {
                        Some(f) => f.clone(),
                        None => {
                            formats.push(Arc::from(format.as_str()));
                            formats[formats.len() - 1].clone()
                        }
                    };
                    Some((spec.name.clone(), (*b, format)))
                });
                let opening = opening
                    .take()
                    .unwrap_or_else(|| Cache::opening(cfg, warnings.clone()));
                let cache = opening.finish(policy).map_err(|e| BuildError {
                    problems: vec![Problem::Cache(format!(
                        "cannot open the cache at {}: {e}",
                        cfg.path().display()
                    ))],
                })?;
                // Outermost: a hit skips every other wrapper (hooks still observe it).
                adapters.insert(0, Arc::new(cache.adapter()));
                Some(cache)
            }
        };
        let executor = self.executor.unwrap_or_else(|| Arc::new(Sequential));
        let mut db = WeftDb::with_memory_budget(
            graph.clone(),
            adapters,
            always_rerun,
            executor.parallelism(),
            user_adapters,
            self.memory_budget,
        );
        #[cfg(feature = "remote")]
        if let Some(backend) = self.remote {
            let problem = |why: String| BuildError {
                problems: vec![Problem::Cache(why)],
            };
            // The store the workers share: the cache's (its directory, or its URL: a team
            // cache), else the backend's own.
            let shared = match self.cache.as_ref().and_then(CacheConfig::shared_results) {
                Some(shared) => shared,
                None => {
                    let location = backend.default_store().ok_or_else(|| {
                        problem(format!(
                            "the remote executor `{}` needs a store that the driver and its \
                             workers share: build the driver with a cache directory or URL \
                             (Builder::with_cache_config)",
                            backend.name()
                        ))
                    })?;
                    crate::remote::open_store(&location).map(|store| (location, store))
                }
            };
            let (location, store) = shared.map_err(|e| {
                problem(format!(
                    "cannot open the store shared with the workers of `{}`: {e}",
                    backend.name()
                ))
            })?;
            let dispatch = crate::remote::Dispatch::new(backend, &graph, location, store);
            let _ = db.engine_arc().remote.set(Arc::new(dispatch));
        }
        for (key, (value, _)) in self.config.entries() {
            if let Some(id) = graph.id(key) {
                let v = Value::new(value.clone(), graph.get(id).value_type());
                db.set_external(id, Some(v), Durability::HIGH);
            }
        }
        Ok(Driver::from_core(Core {
            graph,
            run_lock: Arc::new(tokio::sync::Mutex::new(())),
            plans: Mutex::new(PlanCache::new()),
            #[cfg(feature = "cache")]
            cache,
            executor,
            keep_going: self.keep_going,
            config: self.config,
            warnings,
            state: Mutex::new(State {
                db,
                overridden: HashSet::new(),
                rerun_pending: false,
                walked: false,
            }),
        }))
    }
}

/// Every cache format named by a node, for a type, or as the driver's default must exist and
/// fit: a typo, a format weft does not have, or one the node's type cannot be stored in (a
/// `Vec<u64>` as parquet) is a build error naming the node, the type and what is available,
/// never a node quietly left uncached.
#[cfg(feature = "cache")]
fn check_formats(graph: &Graph, cfg: Option<&crate::CacheConfig>) -> Result<(), BuildError> {
    let known = crate::probe::known_formats();
    let hint = |f: &str| {
        crate::error::suggest(f, known.iter().copied())
            .map(|s| format!(" (did you mean `{s}`?)"))
            .unwrap_or_default()
    };
    let mut problems = Vec::new();
    let type_formats: Vec<_> = cfg.map(|c| c.type_formats().collect()).unwrap_or_default();
    for node in graph.nodes() {
        let Some(spec) = node.spec() else { continue };
        let ty = spec.output();
        let (format, whose) = match spec.cache_format() {
            Some(f) => (f, format!("node `{}` asks for", node.name())),
            None => match type_formats.iter().find(|(id, _, _)| *id == ty.id()) {
                Some((_, _, f)) => (
                    *f,
                    format!("the cache's format for node `{}` is", node.name()),
                ),
                None => continue,
            },
        };
        if !known.contains(&format) {
            problems.push(Problem::Cache(format!(
                "{whose} cache format `{format}`{}, which weft does not have; available: {}",
                hint(format),
                known.join(", ")
            )));
        } else if let Some(codec) = ty.codec().filter(|c| !c.supports(format)) {
            problems.push(Problem::Cache(format!(
                "{whose} cache format `{format}`, which does not fit its type `{}`; a `{}` is \
                 stored as {}",
                ty.short_name(),
                ty.short_name(),
                codec.formats.join(" or ")
            )));
        }
    }
    for (_, name, format) in &type_formats {
        if !known.contains(format) {
            problems.push(Problem::Cache(format!(
                "the cache's format for `{}` is `{format}`{}, which weft does not have; \
                 available: {}",
                crate::short_type_name(name),
                hint(format),
                known.join(", ")
            )));
        }
    }
    if let Some(format) = cfg.map(|c| c.default_format()) {
        if !known.contains(&format) {
            problems.push(Problem::Cache(format!(
                "the cache's default format `{format}`{} does not exist; available: {}",
                hint(format),
                known.join(", ")
            )));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(BuildError { problems })
    }
}
