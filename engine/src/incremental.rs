//! The incremental core on salsa.
//!
//! One `#[salsa::input] NodeSlot` per graph node and one tracked query, [`node_value`], for all
//! of them. A slot's `external` field holds an input, config or override value; a function node's
//! query reads its dependencies' queries, then runs the body. Values compare by data version,
//! which is what gives early cutoff: a recomputed node whose value did not change is
//! "backdated", and its dependents are not re-executed.
//!
//! Queries never recurse deeply: the driver walks the plan in topological order, so when a
//! node's query asks for a dependency, that dependency was already verified or computed in this
//! revision and the answer is a memo hit.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use salsa::{Durability, Setter};

use crate::adapter::Adapter;
use crate::cancel::CancelToken;
use crate::error::NodeError;
use crate::fingerprint::DataVersion;
use crate::graph::{Graph, NodeId};
use crate::invoke::OwnedRuntime;
use crate::memory::{Cell, Residency};
use crate::node::ParamSpec;
use crate::value::Value;
use std::collections::HashMap;

/// Where a node's failure started, shared by every node downstream of it.
#[derive(Debug)]
pub struct Failure {
    /// The node whose body failed.
    pub node: NodeId,
    /// Its error.
    pub error: NodeError,
    /// The item of a fan-out it failed on, if inside one.
    pub item: Option<usize>,
}

/// The memoized answer of a node's query.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// A value.
    Value(Value),
    /// An optional input that was not given.
    Absent,
    /// The node, or one upstream of it, failed.
    Failed(Arc<Failure>),
}

/// What salsa memoizes for a node: its value's cell (which may release the value; see
/// [`crate::memory`]), or why there is none.
#[derive(Clone, Debug)]
pub(crate) enum Memo {
    Value(Arc<Cell>),
    Absent,
    Failed(Arc<Failure>),
}

impl PartialEq for Memo {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Memo::Value(a), Memo::Value(b)) => a.version() == b.version(),
            (Memo::Absent, Memo::Absent) => true,
            // Failures never compare equal: dependents re-check.
            _ => false,
        }
    }
}

impl PartialEq for Outcome {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Outcome::Value(a), Outcome::Value(b)) => a == b,
            (Outcome::Absent, Outcome::Absent) => true,
            // Failures never compare equal: dependents re-check.
            _ => false,
        }
    }
}

#[salsa::input]
pub struct NodeSlot {
    #[returns(copy)]
    pub id: NodeId,
    #[returns(ref)]
    pub external: Option<Value>,
}

/// Bumped before a run in which some nodes must execute again regardless of their inputs
/// (nodes that failed last time; nodes whose policy is to always recompute).
#[salsa::input(singleton)]
pub struct Epoch {
    #[returns(copy)]
    pub n: u64,
}

#[salsa::db]
pub trait EngineDb: salsa::Database {
    fn engine(&self) -> &Engine;
}

/// The salsa database: storage plus the engine shared by every clone.
#[salsa::db]
#[derive(Clone)]
pub struct WeftDb {
    storage: salsa::Storage<Self>,
    engine: Arc<Engine>,
}

#[salsa::db]
impl salsa::Database for WeftDb {}

#[salsa::db]
impl EngineDb for WeftDb {
    fn engine(&self) -> &Engine {
        &self.engine
    }
}

/// State shared by all database handles: the graph, the slots, the adapters, per-run records.
pub struct Engine {
    /// This engine, for values that recompute themselves later (a lazy hit's fallback).
    pub(crate) me: std::sync::Weak<Engine>,
    pub(crate) graph: Arc<Graph>,
    slots: OnceLock<Vec<NodeSlot>>,
    epoch: OnceLock<Epoch>,
    pub(crate) adapters: Vec<Arc<dyn Adapter>>,
    /// How many of `adapters` the user installed (the others are the cache and retries).
    #[cfg_attr(not(feature = "cache"), allow(dead_code))]
    pub(crate) user_adapters: usize,
    /// The run currently executing (its number and id).
    run_no: AtomicU64,
    run_id: Mutex<Arc<str>>,
    /// The cancel token of the run currently executing (fan-outs check it between items).
    cancel: Mutex<CancelToken>,
    /// The number of the last run in which a node failed (see [`Engine::halted`]).
    failed_in: AtomicU64,
    /// For each node, the number of the last run in which its body executed.
    executed_in: Vec<AtomicU64>,
    /// For each node, the number of the last run in which it went through the adapter stack
    /// (executed, or answered by the persistent cache).
    reached_in: Vec<AtomicU64>,
    /// For each node, how long its last execution took (µs, adapters included).
    pub(crate) took_us: Vec<AtomicU64>,
    /// For each node, whether the epoch should make it re-execute (policy).
    pub(crate) always_rerun: Vec<bool>,
    pub(crate) runtime: OnceLock<Result<OwnedRuntime, String>>,
    /// Results of async bodies awaited natively by the async driver, keyed by the node's code
    /// version and its arguments' data versions. A node's query returns the entry matching its
    /// current key instead of running the body again: a pure function of the key, so salsa
    /// needs no untracked read and memoization and early cutoff are unchanged.
    side: Mutex<HashMap<NodeId, SideEntry>>,
    /// Values of nodes inside fan-outs, per item, keyed by node and arguments' data versions,
    /// with the run that last used them (older entries are dropped as runs go by).
    pub(crate) items: crate::fanout::ItemMemo,
    /// Which memoized values stay in memory (the driver's memory budget).
    pub(crate) memory: Residency,
    /// Where attempts run when the executor is remote (set once, at build).
    #[cfg(feature = "remote")]
    pub(crate) remote: OnceLock<Arc<dyn Attempts>>,
}

/// Where a node's attempts run when they do not run in this process: a remote executor's
/// dispatch (`remote::Dispatch`), set once at build. The engine calls it and knows nothing of
/// how it works; the remote side depends on the engine, not the other way round.
#[cfg(feature = "remote")]
pub(crate) trait Attempts: Send + Sync {
    /// One attempt at node `id` on `args`: its value, or the node's error.
    fn call(&self, engine: &Engine, id: NodeId, args: &[Option<Value>])
        -> Result<Value, NodeError>;
    /// A run starts (the backend's hook; a backend that cannot start fails the run's tasks).
    fn begin_run(&self, run_id: &str);
    /// The run ended.
    fn end_run(&self);
    /// Whether a result of node `id` came with an earlier task group member's task (answered
    /// without a round trip).
    fn has_prefetched(&self, id: NodeId) -> bool;
}

/// An async result in the side table: its key and the body's result.
type SideEntry = (DataVersion, Result<Value, NodeError>);

impl WeftDb {
    #[cfg_attr(not(feature = "remote"), allow(dead_code))]
    pub(crate) fn new(
        graph: Arc<Graph>,
        adapters: Vec<Arc<dyn Adapter>>,
        always_rerun: Vec<bool>,
        fanout_threads: usize,
        user_adapters: usize,
    ) -> WeftDb {
        Self::with_memory_budget(
            graph,
            adapters,
            always_rerun,
            fanout_threads,
            user_adapters,
            None,
        )
    }

    /// [`new`](Self::new) with the driver's memory budget (see [`crate::memory`]).
    pub(crate) fn with_memory_budget(
        graph: Arc<Graph>,
        adapters: Vec<Arc<dyn Adapter>>,
        always_rerun: Vec<bool>,
        fanout_threads: usize,
        user_adapters: usize,
        memory_budget: Option<u64>,
    ) -> WeftDb {
        let n = graph.nodes().len();
        let engine = Arc::new_cyclic(|me| Engine {
            me: me.clone(),
            graph,
            slots: OnceLock::new(),
            epoch: OnceLock::new(),
            adapters,
            user_adapters,
            run_no: AtomicU64::new(0),
            run_id: Mutex::new(Arc::from("")),
            cancel: Mutex::new(CancelToken::new()),
            failed_in: AtomicU64::new(u64::MAX),
            executed_in: (0..n).map(|_| AtomicU64::new(0)).collect(),
            reached_in: (0..n).map(|_| AtomicU64::new(0)).collect(),
            took_us: (0..n).map(|_| AtomicU64::new(0)).collect(),
            always_rerun,
            runtime: OnceLock::new(),
            side: Mutex::new(HashMap::new()),
            items: crate::fanout::ItemMemo::new(fanout_threads),
            memory: Residency::new(memory_budget, n),
            #[cfg(feature = "remote")]
            remote: OnceLock::new(),
        });
        let db = WeftDb {
            storage: salsa::Storage::default(),
            engine: engine.clone(),
        };
        // A function node's slot holds only an override, which is rare: HIGH until one is set
        // (then LOW), so a function node's durability is that of what it reads. Inputs are
        // LOW; config is set HIGH by the builder. salsa then skips re-validating everything
        // that depends on config alone when only inputs change.
        let slots: Vec<NodeSlot> = (0..n as NodeId)
            .map(|id| {
                let durability = if engine.graph.get(id).spec().is_some() {
                    Durability::HIGH
                } else {
                    Durability::LOW
                };
                NodeSlot::builder(id, None)
                    .id_durability(Durability::HIGH)
                    .external_durability(durability)
                    .new(&db)
            })
            .collect();
        let _ = engine.slots.set(slots);
        let _ = engine.epoch.set(Epoch::builder(0).new(&db));
        db
    }

    pub(crate) fn engine_arc(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// Sets a node's external value unless it already holds one with the same data version.
    /// Returns whether anything changed.
    pub(crate) fn set_external(
        &mut self,
        id: NodeId,
        value: Option<Value>,
        durability: Durability,
    ) -> bool {
        let slot = self.engine.slot(id);
        let same = match (slot.external(self), &value) {
            (None, None) => true,
            (Some(a), Some(b)) => a == b,
            _ => false,
        };
        if same {
            return false;
        }
        slot.set_external(self)
            .with_durability(durability)
            .to(value);
        true
    }

    /// Starts a new revision in which nodes reading the epoch re-execute.
    pub(crate) fn bump_epoch(&mut self) {
        let e = *self
            .engine
            .epoch
            .get()
            .expect("epoch is set at construction");
        let n = e.n(self);
        e.set_n(self).to(n + 1);
    }

    /// The values of a node's dependencies, in parameter order (`None` inside for an absent
    /// optional input); `None` if one of them failed. Dependencies must be done.
    #[cfg(feature = "async")]
    pub(crate) fn dependency_values(&self, id: NodeId) -> Option<Vec<Option<Value>>> {
        let graph = &self.engine.graph;
        let mut out = Vec::with_capacity(graph.deps(id).len());
        for &d in graph.deps(id) {
            match self.read(d) {
                Outcome::Value(v) => out.push(Some(v)),
                Outcome::Absent => out.push(None),
                Outcome::Failed(_) => return None,
            }
        }
        Some(out)
    }

    /// The value an input or config node was given (`None`: an absent optional input),
    /// read without a query.
    #[cfg(feature = "cache")]
    pub(crate) fn external(&self, id: NodeId) -> Option<Value> {
        self.engine.slot(id).external(self).clone()
    }

    /// The node's outcome in the current revision (computing it if needed). A released value
    /// comes back lazily: it is computed again only when its data is read.
    pub(crate) fn outcome(&self, id: NodeId) -> Outcome {
        self.engine.memory.touch(id);
        self.read(id)
    }

    fn read(&self, id: NodeId) -> Outcome {
        self.engine
            .outcome_of(node_value(self, self.engine.slot(id)))
    }

    /// The node's memoized cell, if it has a value (computing it if needed).
    pub(crate) fn cell(&self, id: NodeId) -> Option<Arc<Cell>> {
        match node_value(self, self.engine.slot(id)) {
            Memo::Value(cell) => Some(cell.clone()),
            _ => None,
        }
    }

    /// Computes the node's value again now if it was released (so that a run asking for it
    /// does the work, and records it, rather than whoever reads the value later).
    pub(crate) fn reload(&self, id: NodeId) {
        if let Some(cell) = self.cell(id).filter(|c| c.resident().is_none()) {
            let _ = cell.value(&self.engine.me).data();
        }
    }

    /// Whether the node failed in the current revision (computing it if needed); reads no
    /// value.
    pub(crate) fn failed(&self, id: NodeId) -> bool {
        matches!(node_value(self, self.engine.slot(id)), Memo::Failed(_))
    }
}

impl Engine {
    fn outcome_of(&self, memo: &Memo) -> Outcome {
        match memo {
            Memo::Value(cell) => Outcome::Value(cell.value(&self.me)),
            Memo::Absent => Outcome::Absent,
            Memo::Failed(f) => Outcome::Failed(f.clone()),
        }
    }

    fn slot(&self, id: NodeId) -> NodeSlot {
        self.slots.get().expect("slots are set at construction")[id as usize]
    }

    pub(crate) fn begin_run(&self, run_id: Arc<str>, cancel: CancelToken) -> u64 {
        if let Ok(mut r) = self.run_id.lock() {
            *r = run_id;
        }
        if let Ok(mut c) = self.cancel.lock() {
            *c = cancel;
        }
        let run_no = self.run_no.fetch_add(1, Ordering::SeqCst) + 1;
        self.items.begin_run(run_no);
        run_no
    }

    /// A node of the current run failed: without keep-going, executors dispatch nothing new
    /// (set before the adapters' `after_node` hooks hear of the failure).
    pub(crate) fn halt(&self) {
        self.failed_in
            .store(self.run_no.load(Ordering::SeqCst), Ordering::SeqCst);
    }

    /// Whether a node of the current run failed (the run's halt token).
    pub(crate) fn halted(&self) -> bool {
        self.failed_in.load(Ordering::SeqCst) == self.run_no.load(Ordering::SeqCst)
    }

    /// The key of an async node's side-table entry for these arguments.
    pub(crate) fn side_key(spec: &crate::node::NodeSpec, args: &[Option<Value>]) -> DataVersion {
        let mut h = blake3::Hasher::new();
        h.update(spec.code_version().as_bytes());
        for a in args {
            match a {
                Some(v) => h.update(v.version().as_bytes()),
                None => h.update(&[0u8; 32]),
            };
        }
        DataVersion::from_bytes(*h.finalize().as_bytes())
    }

    /// Whether the side table holds node `id`'s result for `key`.
    #[cfg(feature = "async")]
    pub(crate) fn side_has(&self, id: NodeId, key: DataVersion) -> bool {
        self.side
            .lock()
            .map(|t| t.get(&id).is_some_and(|(k, _)| *k == key))
            .unwrap_or(false)
    }

    /// The side table's result for node `id` and `key`. With a memory budget the entry is
    /// taken out (the node's memo holds the value from then on, and may release it).
    fn side_get(&self, id: NodeId, key: DataVersion) -> Option<Result<Value, NodeError>> {
        let mut t = self.side.lock().ok()?;
        if t.get(&id).is_none_or(|(k, _)| *k != key) {
            return None;
        }
        if self.memory.budget().is_some() {
            t.remove(&id).map(|(_, r)| r)
        } else {
            t.get(&id).map(|(_, r)| r.clone())
        }
    }

    /// Runs an async node's body natively (adapters included) and keeps the result for its
    /// query.
    #[cfg(feature = "async")]
    pub(crate) async fn execute_async(&self, id: NodeId, args: Vec<Option<Value>>) {
        let Some(spec) = self.graph.get(id).spec() else {
            return;
        };
        let key = Self::side_key(spec, &args);
        let result = self.run_node(id, args).await;
        if let Ok(mut t) = self.side.lock() {
            t.insert(id, (key, result));
        }
    }

    /// The number of the run currently executing.
    pub(crate) fn run_no(&self) -> u64 {
        self.run_no.load(Ordering::SeqCst)
    }

    /// Marks node `id` as executed in the current run (its body is being called).
    pub(crate) fn mark_executed(&self, id: NodeId) {
        self.executed_in[id as usize].store(self.run_no.load(Ordering::SeqCst), Ordering::Relaxed);
    }

    /// Marks node `id` as having gone through the stack in the current run.
    pub(crate) fn mark_reached(&self, id: NodeId) {
        self.reached_in[id as usize].store(self.run_no.load(Ordering::SeqCst), Ordering::Relaxed);
    }

    /// Whether node `id` went through the stack during run `run_no`.
    pub(crate) fn reached_in(&self, id: NodeId, run_no: u64) -> bool {
        self.reached_in[id as usize].load(Ordering::Relaxed) == run_no
    }

    /// The cancel token of the run currently executing (take it once, then check it as often
    /// as needed: checking is one atomic load).
    pub(crate) fn cancel_token(&self) -> CancelToken {
        self.cancel
            .lock()
            .map(|c| c.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    /// How long the node's last execution took.
    pub(crate) fn took(&self, id: NodeId) -> std::time::Duration {
        std::time::Duration::from_micros(self.took_us[id as usize].load(Ordering::Relaxed))
    }

    /// Whether the node's body executed during run `run_no`.
    pub(crate) fn executed_in(&self, id: NodeId, run_no: u64) -> bool {
        self.executed_in[id as usize].load(Ordering::Relaxed) == run_no
    }

    pub(crate) fn run_id(&self) -> Arc<str> {
        self.run_id
            .lock()
            .map(|r| r.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }
}

/// `(parameter name, value)` pairs, as adapters see a node's inputs.
pub(crate) fn named_inputs<'a>(
    spec: &'a crate::node::NodeSpec,
    args: &[Option<Value>],
) -> Vec<(&'a str, Option<Value>)> {
    spec.params()
        .iter()
        .map(ParamSpec::name)
        .zip(args.iter().cloned())
        .collect()
}

/// The one tracked query: a node's value in the current revision.
#[salsa::tracked(returns(ref))]
fn node_value(db: &dyn EngineDb, slot: NodeSlot) -> Memo {
    let id = slot.id(db);
    if let Some(v) = slot.external(db) {
        return Memo::Value(Cell::fixed(id, v.clone()));
    }
    let engine = db.engine();
    let node = engine.graph.get(id);
    let Some(spec) = node.spec() else {
        // An input or config node without a value: an absent optional input.
        return Memo::Absent;
    };
    let epoch = || engine.epoch.get().map(|e| e.n(db));
    if engine.always_rerun[id as usize] {
        epoch();
    }
    let failed = |f: &Arc<Failure>| {
        epoch();
        Memo::Failed(f.clone())
    };
    let mut args = Vec::with_capacity(node.deps.len());
    // What the value is computed from, kept only when the driver has a memory budget (without
    // one nothing is released, and old values must not outlive their memos); `None` too when
    // that is more than the arguments (a fan-out's items): the value is then never released.
    let mut cells: Option<Vec<Option<Arc<Cell>>>> = engine
        .memory
        .budget()
        .map(|_| Vec::with_capacity(node.deps.len()));
    for (i, (p, &dep)) in spec.params().iter().zip(&node.deps).enumerate() {
        if p.kind() == crate::node::ParamKind::Collect {
            // Read every outside value the fan-out's items need (tracked), then run the items.
            cells = None;
            let mut needed = Vec::new();
            engine.graph.outside_ancestors(dep, &[], &mut needed);
            let mut outside = HashMap::with_capacity(needed.len());
            for n in needed {
                match engine.outcome_of(node_value(db, engine.slot(n))) {
                    Outcome::Value(v) => outside.insert(n, Some(v)),
                    Outcome::Absent => outside.insert(n, None),
                    Outcome::Failed(f) => return failed(&f),
                };
            }
            match crate::fanout::collect_top_level(engine, id, i, outside) {
                Ok(v) => args.push(Some(v)),
                Err(f) => return failed(&f),
            }
            continue;
        }
        match node_value(db, engine.slot(dep)) {
            Memo::Value(c) => {
                args.push(Some(c.value(&engine.me)));
                if let Some(cells) = &mut cells {
                    cells.push(Some(c.clone()));
                }
            }
            Memo::Absent => {
                args.push(None);
                if let Some(cells) = &mut cells {
                    cells.push(None);
                }
            }
            Memo::Failed(f) => return failed(f),
        }
    }
    // An async body already awaited natively for exactly these arguments.
    let side = match spec.is_async() {
        true => engine.side_get(id, Engine::side_key(spec, &args)),
        false => None,
    };
    match side.unwrap_or_else(|| engine.run_node_blocking(id, args)) {
        Ok(v) => {
            let cell = match cells {
                Some(cells) => Cell::computed(id, v, cells),
                None => Cell::fixed(id, v),
            };
            engine.memory.admit(&cell);
            Memo::Value(cell)
        }
        Err(error) => {
            // A failure is retried in the next run: the driver bumps the epoch after one.
            epoch();
            Memo::Failed(Arc::new(Failure {
                node: id,
                error,
                item: None,
            }))
        }
    }
}
