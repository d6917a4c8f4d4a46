//! The driver: build a graph from modules, execute requests against it, incrementally.
//!
//! One [`Driver`] serves synchronous and asynchronous callers alike: [`Driver::execute`] and
//! [`Driver::execute_async`] (or a [`Request`] with [`Request::run`] / [`Request::run_async`])
//! share one run lock, one incremental core, one cache and one adapter stack.
//!
//! Files: `builder.rs` (configuration), `request.rs` (what a caller asks for), `run.rs`
//! (prepare and finish a run), `answer.rs` (runs answered by the persistent cache alone),
//! `picture.rs` (pictures of the graph).

#[cfg(feature = "cache")]
mod answer;
mod builder;
#[cfg(feature = "viz")]
mod picture;
mod request;
mod run;

pub use builder::Builder;
pub use request::{Request, RunRecord};

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Instant;

#[cfg(feature = "cache")]
use crate::cache::Cache;
use crate::cancel::CancelToken;
use crate::error::ExecuteError;
use crate::executor::{Executor, Walk};
use crate::graph::{Graph, NodeId};
use crate::incremental::WeftDb;
use crate::inputs::Inputs;
use crate::outputs::Outputs;
use crate::plan::Plan;

/// A built graph, ready to execute requests. Long-lived: it remembers every node's value and
/// re-executes only what a change affects (within its memory budget, if it was given one:
/// [`Builder::with_memory_budget`]). Runs of one driver happen one at a time, whether
/// they come from threads (`execute`) or tasks (`execute_async`).
///
/// Cloning a driver is cheap and gives another handle on the same driver (same memory, same
/// cache, same run lock).
#[derive(Clone)]
pub struct Driver {
    core: Arc<Core>,
}

/// Everything a driver is; shared by its handles and by the tasks of an async run.
pub(crate) struct Core {
    graph: Arc<Graph>,
    /// One run at a time, sync or async: a run's database handles must be gone before the
    /// next run sets inputs. A tokio mutex, so an async run holds it across awaits.
    run_lock: Arc<tokio::sync::Mutex<()>>,
    plans: Mutex<PlanCache>,
    #[cfg(feature = "cache")]
    cache: Option<Cache>,
    executor: Arc<dyn Executor>,
    keep_going: bool,
    config: Inputs,
    /// The one warnings channel (the cache's warnings go to it too).
    warnings: crate::warnings::Warnings,
    state: Mutex<State>,
}

struct State {
    db: WeftDb,
    /// Nodes whose slot currently holds an override.
    overridden: HashSet<NodeId>,
    /// Whether the next run must start a new epoch (a failure or a recompute policy).
    rerun_pending: bool,
    /// Whether a run has been walked: the incremental core then holds values, and runs are no
    /// longer answered from the persistent cache alone (see `answer`).
    walked: bool,
}

/// Plans by (outputs, overridden nodes).
type PlanCache = std::collections::HashMap<(Vec<String>, Vec<NodeId>), Arc<Plan>>;

/// A run between `Core::prepare` and `Core::finish`: its plan and a database handle.
pub(crate) struct Prepared {
    pub(crate) db: WeftDb,
    pub(crate) plan: Arc<Plan>,
    overridden: HashSet<NodeId>,
    run_id: String,
    run_no: u64,
    output_names: Vec<String>,
    start: Instant,
    /// Whether the caller keeps the run's record (else it is returned empty, with its id).
    record: bool,
}

impl Driver {
    fn from_core(core: Core) -> Driver {
        Driver {
            core: Arc::new(core),
        }
    }

    /// The validated graph.
    pub fn graph(&self) -> &Graph {
        &self.core.graph
    }

    /// The persistent cache, when the driver was built with one.
    #[cfg(feature = "cache")]
    #[cfg_attr(docsrs, doc(cfg(feature = "cache")))]
    pub fn cache(&self) -> Option<&Cache> {
        self.core.cache.as_ref()
    }

    /// Every warning given so far, each once, in the order given: inputs no node reads,
    /// inputs whose consumers re-execute on every run because their type can be neither
    /// fingerprinted nor serialized, and the persistent cache's warnings (everything the cache
    /// has written is committed first). Warnings are also logged through `tracing`; the flow
    /// CLI prints them to stderr.
    ///
    /// ```
    /// # mod m { use weft::prelude::*; #[node] pub fn doubled(x: &u64) -> u64 { x * 2 } }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use weft::{inputs, Warning};
    /// let dr = weft::Builder::new().with_modules(weft::modules![crate::m]).build()?;
    /// // `region` serves another graph: ignored, with a warning (a name close to `x`, such
    /// // as `xx`, would be an error with "did you mean").
    /// dr.execute(&["doubled"], inputs! { "x" => 2u64, "region" => "eu" })?;
    /// assert_eq!(dr.warnings(), [Warning::UnusedInput { input: "region".into() }]);
    /// # Ok(()) }
    /// ```
    pub fn warnings(&self) -> Vec<crate::Warning> {
        #[cfg(feature = "cache")]
        if let Some(cache) = &self.core.cache {
            // Flushes the writer and takes the stores' notices (a damaged database moved aside
            // and rebuilt, records left out) into the one channel.
            let _ = cache.warnings();
        }
        self.core.warnings.all()
    }

    /// Bytes of memoized values the driver holds in memory (estimated with each value's
    /// [`MemorySize`](crate::MemorySize)); what [`Builder::with_memory_budget`] keeps in
    /// check. Always 0 for a driver without a budget, which does not count.
    pub fn resident_bytes(&self) -> u64 {
        let state = self.core.state.lock().unwrap_or_else(|p| p.into_inner());
        state.db.engine_arc().memory.resident_bytes()
    }

    /// The memoized cells of the named nodes that have a value (for a session's `last`).
    pub(crate) fn cells<'a>(
        &self,
        names: impl Iterator<Item = &'a str>,
    ) -> Vec<(String, Arc<crate::memory::Cell>)> {
        let _one_at_a_time = self.core.lock_run();
        let db = {
            let state = self.core.state.lock().unwrap_or_else(|p| p.into_inner());
            state.db.clone()
        };
        names
            .filter_map(|n| Some((n.to_string(), db.cell(self.core.graph.id(n)?)?)))
            .collect()
    }

    /// The engine (for values that compute themselves again).
    pub(crate) fn engine(&self) -> std::sync::Weak<crate::incremental::Engine> {
        let state = self.core.state.lock().unwrap_or_else(|p| p.into_inner());
        Arc::downgrade(state.db.engine_arc())
    }

    /// The executor in use.
    pub fn executor_name(&self) -> String {
        self.core.executor.name()
    }

    /// Serves as a worker of a [`ProcessPool`](crate::remote::ProcessPool): runs the tasks it
    /// is sent on this driver's nodes until the pool closes the connection. Call it when
    /// [`weft::remote::is_worker`](crate::remote::is_worker) says so, after building the driver
    /// exactly as the program's driver side does (same modules and config). Flows built on
    /// `weft_cli::main` do this by themselves.
    ///
    /// ```no_run
    /// # mod nodes { use weft::prelude::*; #[node] pub fn one() -> u64 { 1 } }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let dr = weft::Builder::new().with_modules(weft::modules![crate::nodes]).build()?;
    /// if weft::remote::is_worker() {
    ///     dr.serve_worker()?;
    ///     return Ok(());
    /// }
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "remote")]
    #[cfg_attr(docsrs, doc(cfg(feature = "remote")))]
    pub fn serve_worker(&self) -> std::io::Result<()> {
        let path = std::env::var_os(crate::remote::WORKER_ENV).ok_or_else(|| {
            std::io::Error::other(format!(
                "this process was not started as a weft worker ({} is not set)",
                crate::remote::WORKER_ENV
            ))
        })?;
        let conn = std::os::unix::net::UnixStream::connect(&path).map_err(|e| {
            std::io::Error::other(format!(
                "cannot connect to the driver at {}: {e}",
                std::path::Path::new(&path).display()
            ))
        })?;
        let reader = std::io::BufReader::new(conn.try_clone()?);
        self.serve_worker_on(reader, conn)
    }

    /// Serves tasks read from `input` (one JSON [`Task`](crate::remote::Task) per line),
    /// writing one [`Report`](crate::remote::Report) per line to `output`, until `input` ends:
    /// the worker primitive, for backends with their own transport.
    #[cfg(feature = "remote")]
    #[cfg_attr(docsrs, doc(cfg(feature = "remote")))]
    pub fn serve_worker_on(
        &self,
        input: impl std::io::BufRead,
        output: impl std::io::Write,
    ) -> std::io::Result<()> {
        crate::remote::serve(self.core.graph.clone(), input, output)
    }

    /// Computes `outputs` from `inputs`. Only their upstream closure is considered, and of
    /// that only what changed since the last run re-executes. The outputs come back in memory,
    /// cache hits included (read before the run lets go of the cache directory, so a gc after
    /// it cannot take them). For overrides, cancellation and the run's record, see
    /// [`request`](Self::request).
    pub fn execute(&self, outputs: &[&str], inputs: Inputs) -> Result<Outputs, ExecuteError> {
        self.request(outputs)
            .inputs(inputs)
            .unrecorded()
            .run()
            .map(|(o, _)| o)
    }

    /// [`execute`](Self::execute) for async callers: independent `async fn` nodes are awaited
    /// concurrently on the caller's tokio runtime, sync nodes run on its blocking pool.
    ///
    /// ```
    /// # mod nodes { use weft::prelude::*; #[node] pub async fn one() -> u64 { 1 } }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let dr = weft::Builder::new().with_modules(weft::modules![crate::nodes]).build()?;
    /// let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    /// let out = rt.block_on(dr.execute_async(&["one"], weft::Inputs::new()))?;
    /// assert_eq!(*out.get::<u64>("one")?, 1);
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "async")]
    #[cfg_attr(docsrs, doc(cfg(feature = "async")))]
    pub async fn execute_async(
        &self,
        outputs: &[&str],
        inputs: Inputs,
    ) -> Result<Outputs, ExecuteError> {
        self.request(outputs)
            .inputs(inputs)
            .unrecorded()
            .run_async()
            .await
            .map(|(o, _)| o)
    }

    /// A request for `outputs`, to give inputs, overrides and a cancel token, then run
    /// synchronously or asynchronously; both return the outputs and the run's record.
    ///
    /// ```
    /// # mod nodes { use weft::prelude::*; #[node] pub fn double(x: &u64) -> u64 { x * 2 } }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use weft::{inputs, Builder, CancelToken};
    /// let dr = Builder::new().with_modules(weft::modules![crate::nodes]).build()?;
    /// let (out, record) = dr
    ///     .request(&["double"])
    ///     .inputs(inputs! { "x" => 21u64 })
    ///     .cancel(&CancelToken::new())
    ///     .run()?;
    /// assert_eq!(*out.get::<u64>("double")?, 42);
    /// assert_eq!(record.executed, ["double"]);
    /// # Ok(()) }
    /// ```
    pub fn request(&self, outputs: &[&str]) -> Request<'_> {
        Request::new(self, outputs)
    }

    /// Like [`execute`](Self::execute), with `overrides` replacing the values of the nodes they
    /// name: those nodes do not run, and nodes only they needed are pruned. Shorthand for a
    /// [`request`](Self::request) with inputs and overrides.
    pub fn execute_with_overrides(
        &self,
        outputs: &[&str],
        inputs: Inputs,
        overrides: Inputs,
    ) -> Result<Outputs, ExecuteError> {
        self.request(outputs)
            .inputs(inputs)
            .overrides(overrides)
            .unrecorded()
            .run()
            .map(|(o, _)| o)
    }

    /// Executes and also reports which nodes ran and which were reused. Shorthand for a
    /// [`request`](Self::request) with inputs and overrides.
    pub fn execute_recorded(
        &self,
        outputs: &[&str],
        inputs: Inputs,
        overrides: Inputs,
    ) -> Result<(Outputs, RunRecord), ExecuteError> {
        self.request(outputs)
            .inputs(inputs)
            .overrides(overrides)
            .run()
    }

    /// Like [`execute_recorded`](Self::execute_recorded), stopping early with
    /// [`ExecuteError::Cancelled`] once `cancel` is cancelled (from another thread): nodes
    /// already running finish and keep their results; no new node starts. Shorthand for a
    /// [`request`](Self::request) with a cancel token.
    pub fn execute_cancellable(
        &self,
        outputs: &[&str],
        inputs: Inputs,
        overrides: Inputs,
        cancel: &CancelToken,
    ) -> Result<(Outputs, RunRecord), ExecuteError> {
        self.request(outputs)
            .inputs(inputs)
            .overrides(overrides)
            .cancel(cancel)
            .run()
    }

    /// A synchronous run: the executor walks the plan on this thread (and its workers).
    fn run_sync(
        &self,
        outputs: &[&str],
        inputs: &Inputs,
        overrides: &Inputs,
        cancel: &CancelToken,
        record: bool,
    ) -> Result<(Outputs, RunRecord), ExecuteError> {
        let _one_at_a_time = self.core.lock_run()?;
        let core = &self.core;
        let mut prepared = core.prepare(outputs, inputs, overrides, cancel)?;
        prepared.record = record;
        if !cancel.is_cancelled() {
            if let Some(answered) = core.answer(&prepared) {
                return Ok(answered);
            }
        }
        core.begin_walk(&prepared);
        let walk = Walk::new(
            &core.graph,
            &prepared.plan,
            &prepared.db,
            cancel,
            core.keep_going,
        );
        core.executor.run(&walk);
        let completed: Vec<(NodeId, bool)> = walk.completed().collect();
        drop(walk);
        core.finish(prepared, &completed, cancel)
    }

    /// An asynchronous run: prepared and finished on the blocking pool (both may wait for the
    /// cache), walked on tokio (see `executor::asynchronous`).
    #[cfg(feature = "async")]
    async fn run_async(
        &self,
        outputs: Vec<String>,
        inputs: Inputs,
        overrides: Inputs,
        cancel: CancelToken,
        record: bool,
    ) -> Result<(Outputs, RunRecord), ExecuteError> {
        let _one_at_a_time = self.core.run_lock.clone().lock_owned().await;
        let core = self.core.clone();
        let token = cancel.clone();
        let prepared = tokio::task::spawn_blocking(move || {
            let outs: Vec<&str> = outputs.iter().map(String::as_str).collect();
            let mut prepared = core.prepare(&outs, &inputs, &overrides, &token)?;
            prepared.record = record;
            let answered = (!token.is_cancelled())
                .then(|| core.answer(&prepared))
                .flatten();
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
        self.core.begin_walk(&prepared);
        let completed = crate::executor::walk_async(
            &self.core.graph,
            &prepared.plan,
            prepared.db.clone(),
            &prepared.overridden,
            self.core.keep_going,
            &cancel,
        )
        .await?;
        let core = self.core.clone();
        tokio::task::spawn_blocking(move || core.finish(prepared, &completed, &cancel))
            .await
            .map_err(internal)?
    }
}

#[cfg(feature = "async")]
fn internal(e: tokio::task::JoinError) -> ExecuteError {
    ExecuteError::Internal(format!("a weft task failed: {e}"))
}

/// Without the persistent cache there is nothing to answer a run from: every run is walked.
#[cfg(not(feature = "cache"))]
impl Core {
    fn answer(&self, _prepared: &Prepared) -> Option<(Outputs, RunRecord)> {
        None
    }
}

impl Core {
    /// Takes the run lock from synchronous code. Inside a tokio context (a caller's async
    /// code), waiting is done on a scoped thread, which tokio allows to block.
    fn lock_run(&self) -> Result<tokio::sync::OwnedMutexGuard<()>, ExecuteError> {
        let lock = self.run_lock.clone();
        if tokio::runtime::Handle::try_current().is_err() {
            return Ok(lock.blocking_lock_owned());
        }
        std::thread::scope(|s| {
            std::thread::Builder::new()
                .name("weft-run-lock".into())
                .spawn_scoped(s, move || lock.blocking_lock_owned())
                .map_err(|e| {
                    ExecuteError::Internal(format!(
                        "cannot start a thread to wait for the driver's run lock: {e}"
                    ))
                })?
                .join()
                .map_err(|_| {
                    ExecuteError::Internal("waiting for the driver's run lock failed".into())
                })
        })
    }
}
