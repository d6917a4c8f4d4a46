//! The async driver: `async fn` nodes are awaited natively on tokio, all at once when
//! independent; sync nodes run on tokio's blocking pool, never on the event loop. The same
//! scheduler as every executor decides what is ready.
//!
//! Salsa queries are synchronous, so an async node is handled in three steps: its arguments are
//! read from the incremental core (on the blocking pool), its body is awaited natively unless
//! its result for exactly these arguments is already known, and its query then picks that
//! result up from the engine's side table (see `Engine::execute_async`).

use std::sync::Arc;

use tokio::task::JoinSet;

use super::{evaluate, CancelToken, Scheduler, TaskOutcome};
use crate::cache::CacheConfig;
use crate::driver::{Builder, Driver, RunRecord};
use crate::error::{BuildError, ExecuteError};
use crate::graph::NodeId;
use crate::incremental::{Engine, WeftDb};
use crate::inputs::Inputs;
use crate::module::Modules;
use crate::node::NodeSpec;
use crate::outputs::Outputs;
use crate::Adapter;

/// Builds an [`AsyncDriver`]; the same options as [`Builder`].
///
/// ```
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let dr = weft::AsyncBuilder::new().with_modules(weft::modules![crate]).build().await?;
/// # Ok(()) }
/// ```
#[derive(Default)]
pub struct AsyncBuilder(Builder);

/// An async builder from a configured [`Builder`]: its modules, nodes, config, adapters, cache
/// and options carry over (a local executor set on it does not matter: the async driver
/// schedules nodes on tokio).
///
/// ```
/// # mod nodes { use weft::prelude::*; #[node] pub fn one() -> u64 { 1 } }
/// use weft::{AsyncBuilder, Builder, TracingAdapter};
/// # fn main() {
/// let configured = Builder::new()
///     .with_modules(weft::modules![crate::nodes])
///     .with_adapter(TracingAdapter);
/// let async_builder = AsyncBuilder::from(configured);
/// # let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
/// # let dr = rt.block_on(async_builder.build()).unwrap();
/// # let out = rt.block_on(dr.execute(&["one"], weft::Inputs::new())).unwrap();
/// # assert_eq!(*out.get::<u64>("one").unwrap(), 1);
/// # }
/// ```
impl From<Builder> for AsyncBuilder {
    fn from(builder: Builder) -> Self {
        AsyncBuilder(builder)
    }
}

impl AsyncBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }
    /// See [`Builder::with_modules`].
    pub fn with_modules(self, modules: Modules) -> Self {
        AsyncBuilder(self.0.with_modules(modules))
    }
    /// See [`Builder::with_nodes`].
    pub fn with_nodes(self, nodes: impl IntoIterator<Item = NodeSpec>) -> Self {
        AsyncBuilder(self.0.with_nodes(nodes))
    }
    /// See [`Builder::with_config`].
    pub fn with_config(self, config: Inputs) -> Self {
        AsyncBuilder(self.0.with_config(config))
    }
    /// See [`Builder::with_adapter`].
    pub fn with_adapter(self, adapter: impl Adapter) -> Self {
        AsyncBuilder(self.0.with_adapter(adapter))
    }
    /// See [`Builder::with_adapter_arc`].
    pub fn with_adapter_arc(self, adapter: Arc<dyn Adapter>) -> Self {
        AsyncBuilder(self.0.with_adapter_arc(adapter))
    }
    /// See [`Builder::with_cache`].
    pub fn with_cache(self) -> Self {
        AsyncBuilder(self.0.with_cache())
    }
    /// See [`Builder::with_cache_config`].
    pub fn with_cache_config(self, config: CacheConfig) -> Self {
        AsyncBuilder(self.0.with_cache_config(config))
    }
    /// See [`Builder::keep_going`].
    pub fn keep_going(self, yes: bool) -> Self {
        AsyncBuilder(self.0.keep_going(yes))
    }
    /// See [`Builder::allow_module_overrides`].
    pub fn allow_module_overrides(self) -> Self {
        AsyncBuilder(self.0.allow_module_overrides())
    }
    /// Validates the graph and opens the cache (on the blocking pool).
    pub async fn build(self) -> Result<AsyncDriver, BuildError> {
        let builder = self.0;
        let driver = tokio::task::spawn_blocking(move || builder.build())
            .await
            .map_err(|e| BuildError {
                problems: vec![crate::Problem::Cache(format!("building panicked: {e}"))],
            })??;
        Ok(AsyncDriver {
            driver: Arc::new(driver),
            one_at_a_time: tokio::sync::Mutex::new(()),
        })
    }
}

/// A driver whose `execute` is `async`: independent `async fn` nodes run concurrently on the
/// caller's tokio runtime, sync nodes on its blocking pool. Memoization, early cutoff, the
/// persistent cache and every adapter work as with [`Driver`].
pub struct AsyncDriver {
    driver: Arc<Driver>,
    one_at_a_time: tokio::sync::Mutex<()>,
}

fn internal(e: tokio::task::JoinError) -> ExecuteError {
    ExecuteError::Internal(format!("a weft task failed: {e}"))
}

impl AsyncDriver {
    /// The synchronous driver underneath (graph, cache, pictures).
    pub fn driver(&self) -> &Driver {
        &self.driver
    }

    /// Computes `outputs` from `inputs`.
    pub async fn execute(&self, outputs: &[&str], inputs: Inputs) -> Result<Outputs, ExecuteError> {
        self.run(outputs, inputs, Inputs::new(), CancelToken::new())
            .await
            .map(|(o, _)| o)
    }

    /// Executes, with overrides, and reports which nodes ran.
    pub async fn execute_recorded(
        &self,
        outputs: &[&str],
        inputs: Inputs,
        overrides: Inputs,
    ) -> Result<(Outputs, RunRecord), ExecuteError> {
        self.run(outputs, inputs, overrides, CancelToken::new())
            .await
    }

    /// Like [`execute_recorded`](Self::execute_recorded), stopping when `cancel` is cancelled:
    /// no new node starts and in-flight async bodies are not waited for.
    pub async fn execute_cancellable(
        &self,
        outputs: &[&str],
        inputs: Inputs,
        overrides: Inputs,
        cancel: CancelToken,
    ) -> Result<(Outputs, RunRecord), ExecuteError> {
        self.run(outputs, inputs, overrides, cancel).await
    }

    async fn run(
        &self,
        outputs: &[&str],
        inputs: Inputs,
        overrides: Inputs,
        cancel: CancelToken,
    ) -> Result<(Outputs, RunRecord), ExecuteError> {
        let _one = self.one_at_a_time.lock().await;
        let driver = self.driver.clone();
        let names: Vec<String> = outputs.iter().map(|s| s.to_string()).collect();
        // Prepared (and, if the cache answers the whole run, answered) off the runtime's
        // threads: both may wait for the cache's metadata.
        let cancelled = cancel.is_cancelled();
        let prepared = tokio::task::spawn_blocking(move || {
            let outs: Vec<&str> = names.iter().map(String::as_str).collect();
            let prepared = driver.prepare(&outs, &inputs, &overrides)?;
            let answered = (!cancelled).then(|| driver.answer(&prepared)).flatten();
            Ok::<_, ExecuteError>(match answered {
                Some(answered) => Err(answered),
                None => Ok(prepared),
            })
        })
        .await
        .map_err(internal)??;
        let prepared = match prepared {
            Ok(prepared) => prepared,
            Err(answered) => return Ok(answered),
        };

        let graph = self.driver.graph();
        let engine = prepared.db.engine_arc().clone();
        let order: Vec<NodeId> = prepared.plan.order.clone();
        let mut sched = Scheduler::new(graph, &prepared.plan, self.driver.keeps_going());
        let mut status: Vec<Option<bool>> = vec![None; order.len()];
        let mut tasks: JoinSet<(usize, TaskOutcome)> = JoinSet::new();
        loop {
            if cancel.is_cancelled() {
                sched.stop();
                tasks.abort_all();
            }
            while let Some(task) = sched.pop_ready() {
                let id = order[task];
                let db = prepared.db.clone();
                let native = graph.get(id).spec().is_some_and(|s| s.is_async())
                    && !prepared.is_overridden(id);
                if native {
                    let engine = engine.clone();
                    tasks.spawn(async move { (task, async_node(engine, db, id).await) });
                } else {
                    tasks.spawn_blocking(move || (task, evaluate(&db, id)));
                }
            }
            if sched.is_done() {
                break;
            }
            let next = tokio::select! {
                joined = tasks.join_next() => joined,
                _ = wait_cancelled(&cancel), if !cancel.is_cancelled() => continue,
            };
            match next {
                Some(Ok((task, outcome))) => {
                    if outcome != TaskOutcome::Cancelled {
                        status[task] = Some(outcome == TaskOutcome::Failed);
                    }
                    sched.complete(task, outcome);
                }
                Some(Err(e)) if e.is_cancelled() => {}
                Some(Err(e)) => return Err(internal(e)),
                None => break,
            }
        }
        drop(tasks);
        let completed: Vec<(NodeId, bool)> = status
            .iter()
            .enumerate()
            .filter_map(|(t, s)| s.map(|failed| (order[t], failed)))
            .collect();
        let driver = self.driver.clone();
        tokio::task::spawn_blocking(move || driver.finish(prepared, &completed, &cancel))
            .await
            .map_err(internal)?
    }
}

/// Resolves when `cancel` is cancelled (checked every few milliseconds: cancellation comes from
/// another thread without a waker).
async fn wait_cancelled(cancel: &CancelToken) {
    while !cancel.is_cancelled() {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

/// An async node: arguments from the core, the body awaited natively unless already known for
/// these arguments, then the node's query (which returns that result).
async fn async_node(engine: Arc<Engine>, db: WeftDb, id: NodeId) -> TaskOutcome {
    let Ok((db, args)) = tokio::task::spawn_blocking(move || {
        let args = db.dependency_values(id);
        (db, args)
    })
    .await
    else {
        return TaskOutcome::Failed;
    };
    if let (Some(args), Some(spec)) = (args, engine.graph.get(id).spec()) {
        let key = Engine::side_key(spec, &args);
        if engine.always_rerun[id as usize] || !engine.side_has(id, key) {
            engine.execute_async(id, args).await;
        }
    }
    tokio::task::spawn_blocking(move || evaluate(&db, id))
        .await
        .unwrap_or(TaskOutcome::Failed)
}
