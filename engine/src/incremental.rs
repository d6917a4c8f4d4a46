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

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use salsa::{Durability, Setter};

use crate::adapter::{run_through, Adapter, NodeInfo};
use crate::error::NodeError;
use crate::graph::{Graph, NodeId};
use crate::node::{Args, NodeBody, OwnedArgs, ParamSpec};
use crate::value::AnyValue;
use crate::value::Value;

/// Where a node's failure started, shared by every node downstream of it.
#[derive(Debug)]
pub struct Failure {
    /// The node whose body failed.
    pub node: NodeId,
    /// Its error.
    pub error: NodeError,
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
    pub(crate) graph: Arc<Graph>,
    slots: OnceLock<Vec<NodeSlot>>,
    epoch: OnceLock<Epoch>,
    pub(crate) adapters: Vec<Arc<dyn Adapter>>,
    /// The run currently executing (its number and id).
    run_no: AtomicU64,
    run_id: Mutex<Arc<str>>,
    /// For each node, the number of the last run in which its body executed.
    executed_in: Vec<AtomicU64>,
    /// For each node, how long its last execution took (µs, adapters included).
    took_us: Vec<AtomicU64>,
    /// For each node, whether the epoch should make it re-execute (policy).
    pub(crate) always_rerun: Vec<bool>,
    runtime: OnceLock<Result<OwnedRuntime, String>>,
}

/// A runtime that can be dropped anywhere, even inside another runtime's async context.
struct OwnedRuntime(Option<tokio::runtime::Runtime>);

impl Drop for OwnedRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

impl WeftDb {
    pub(crate) fn new(
        graph: Arc<Graph>,
        adapters: Vec<Arc<dyn Adapter>>,
        always_rerun: Vec<bool>,
    ) -> WeftDb {
        let n = graph.nodes().len();
        let engine = Arc::new(Engine {
            graph,
            slots: OnceLock::new(),
            epoch: OnceLock::new(),
            adapters,
            run_no: AtomicU64::new(0),
            run_id: Mutex::new(Arc::from("")),
            executed_in: (0..n).map(|_| AtomicU64::new(0)).collect(),
            took_us: (0..n).map(|_| AtomicU64::new(0)).collect(),
            always_rerun,
            runtime: OnceLock::new(),
        });
        let db = WeftDb {
            storage: salsa::Storage::default(),
            engine: engine.clone(),
        };
        let slots: Vec<NodeSlot> = (0..n as NodeId)
            .map(|id| {
                NodeSlot::builder(id, None)
                    .id_durability(Durability::HIGH)
                    .external_durability(Durability::LOW)
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

    /// The node's outcome in the current revision (computing it if needed).
    pub(crate) fn outcome(&self, id: NodeId) -> Outcome {
        node_value(self, self.engine.slot(id)).clone()
    }
}

impl Engine {
    fn slot(&self, id: NodeId) -> NodeSlot {
        self.slots.get().expect("slots are set at construction")[id as usize]
    }

    pub(crate) fn begin_run(&self, run_id: Arc<str>) -> u64 {
        if let Ok(mut r) = self.run_id.lock() {
            *r = run_id;
        }
        self.run_no.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// How long the node's last execution took.
    pub(crate) fn took(&self, id: NodeId) -> std::time::Duration {
        std::time::Duration::from_micros(self.took_us[id as usize].load(Ordering::Relaxed))
    }

    /// Whether the node's body executed during run `run_no`.
    pub(crate) fn executed_in(&self, id: NodeId, run_no: u64) -> bool {
        self.executed_in[id as usize].load(Ordering::Relaxed) == run_no
    }

    fn run_id(&self) -> Arc<str> {
        self.run_id
            .lock()
            .map(|r| r.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    /// Runs a function node's body through the adapters.
    fn execute(&self, id: NodeId, args: Vec<Option<Value>>) -> Result<Value, NodeError> {
        let node = self.graph.get(id);
        let Some(spec) = node.spec() else {
            return Err(NodeError::Internal(format!(
                "`{}` has no body",
                node.name()
            )));
        };
        let run_id = self.run_id();
        let inputs: Vec<(&str, Option<Value>)> = spec
            .params()
            .iter()
            .map(ParamSpec::name)
            .zip(args.iter().cloned())
            .collect();
        let info = NodeInfo {
            run_id: &run_id,
            spec,
            inputs: &inputs,
            attempt: 0,
        };
        let runtime = if spec.is_async() && tokio::runtime::Handle::try_current().is_err() {
            self.runtime
                .get_or_init(|| current_thread_runtime().map(|rt| OwnedRuntime(Some(rt))))
                .as_ref()
                .ok()
                .and_then(|r| r.0.as_ref())
        } else {
            None
        };
        let mut body = |_attempt: u32| -> Result<Value, NodeError> {
            self.executed_in[id as usize]
                .store(self.run_no.load(Ordering::SeqCst), Ordering::Relaxed);
            invoke(spec, &args, runtime).map(|data| Value::new(data, spec.output()))
        };
        let (result, took) = run_through(&self.adapters, &info, &mut body);
        self.took_us[id as usize].store(took.as_micros() as u64, Ordering::Relaxed);
        // A lazily-held result (a cache hit) that later turns out unusable is recomputed.
        result.map(|v| {
            if v.is_loaded() {
                return v;
            }
            let spec = spec.clone();
            v.with_fallback(Box::new(move || {
                invoke(&spec, &args, None)
                    .map_err(|e| format!("recomputing `{}` failed: {e}", spec.name()))
            }))
        })
    }
}

/// Calls a node's body with its arguments, turning a panic into [`NodeError::Panic`].
fn invoke(
    spec: &crate::node::NodeSpec,
    args: &[Option<Value>],
    runtime: Option<&tokio::runtime::Runtime>,
) -> Result<AnyValue, NodeError> {
    let result = match spec.body() {
        NodeBody::Sync(f) => {
            let args = Args::new(spec.name(), spec.params(), args);
            catch_unwind(AssertUnwindSafe(|| f(&args)))
        }
        NodeBody::Async(f) => {
            let owned = OwnedArgs::new(spec.name.clone(), spec.params.clone(), args.to_vec());
            let fut = f(owned);
            catch_unwind(AssertUnwindSafe(|| block_on(fut, runtime))).map(|r| r.and_then(|x| x))
        }
    };
    match result {
        Ok(Ok(data)) if (*data).type_id() != spec.output().id() => {
            Err(NodeError::Internal(format!(
                "node `{}` returned a value that is not the `{}` it declares",
                spec.name(),
                spec.output().name()
            )))
        }
        Ok(r) => r,
        Err(panic) => Err(NodeError::Panic(panic_message(&panic))),
    }
}

/// Awaits an async body from synchronous code: on the given current-thread runtime, or, when
/// called from inside a tokio runtime (where blocking would panic) or without one, on a scoped
/// thread with a fresh runtime.
fn block_on(
    fut: crate::node::BoxFuture,
    runtime: Option<&tokio::runtime::Runtime>,
) -> Result<crate::node::BodyResult, NodeError> {
    match runtime {
        Some(rt) if tokio::runtime::Handle::try_current().is_err() => Ok(rt.block_on(fut)),
        _ => std::thread::scope(|s| {
            let joined = s
                .spawn(|| current_thread_runtime().map(|rt| rt.block_on(fut)))
                .join()
                .map_err(|p| NodeError::Panic(panic_message(&p)))?;
            joined.map_err(NodeError::Internal)
        }),
    }
}

fn current_thread_runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a tokio runtime for async nodes: {e}"))
}

/// The text of a panic payload.
pub(crate) fn panic_message(payload: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(non-string panic payload)".to_string()
    }
}

/// The one tracked query: a node's value in the current revision.
#[salsa::tracked(returns(ref))]
fn node_value(db: &dyn EngineDb, slot: NodeSlot) -> Outcome {
    if let Some(v) = slot.external(db) {
        return Outcome::Value(v.clone());
    }
    let engine = db.engine();
    let id = slot.id(db);
    let node = engine.graph.get(id);
    if node.spec().is_none() {
        // An input or config node without a value: an absent optional input.
        return Outcome::Absent;
    }
    let epoch = || engine.epoch.get().map(|e| e.n(db));
    if engine.always_rerun[id as usize] {
        epoch();
    }
    let mut args = Vec::with_capacity(node.deps.len());
    for &dep in &node.deps {
        match node_value(db, engine.slot(dep)) {
            Outcome::Value(v) => args.push(Some(v.clone())),
            Outcome::Absent => args.push(None),
            Outcome::Failed(f) => {
                epoch();
                return Outcome::Failed(f.clone());
            }
        }
    }
    match engine.execute(id, args) {
        Ok(v) => Outcome::Value(v),
        Err(error) => {
            // A failure is retried in the next run: the driver bumps the epoch after one.
            epoch();
            Outcome::Failed(Arc::new(Failure { node: id, error }))
        }
    }
}
