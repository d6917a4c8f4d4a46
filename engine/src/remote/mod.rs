//! Running nodes beyond the driver's process: the worker primitive, the [`RemoteExecutor`]
//! seam and the [`ProcessPool`] backend.
//!
//! The driver plans and walks a run with the same scheduler as every executor; each node goes
//! through the one evaluation path (`Engine::run_node`: the persistent cache, retries, your
//! adapters). Only the innermost step differs: instead of calling the body in this process, a
//! remote executor turns the attempt into a [`Task`] — the node's name and code version, its
//! inputs' data versions, the store location — and a worker (any flow binary built on
//! `weft_cli::main`, or a program calling [`Driver::serve_worker`](crate::Driver::serve_worker))
//! loads those inputs from the store, runs the body, stores the result and sends back a
//! [`Report`] with the result's data version. The driver keeps the version and reads the value
//! from the store only when a local node or a requested output needs it. Cache hits never leave
//! the driver: the cache adapter answers them before the attempt.
//!
//! Nodes of one task group (`#[node(task = "..")]`) that form a chain run as one task: the
//! first member's attempt carries the members whose arguments all come from earlier members,
//! and their results are answered from the report when their own turn comes.
//!
//! ```no_run
//! # mod nodes { use weft::prelude::*; #[node] pub fn double(x: &u64) -> u64 { x * 2 } }
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use weft::remote::ProcessPool;
//! let dr = weft::Builder::new()
//!     .with_modules(weft::modules![crate::nodes])
//!     .with_remote_executor(ProcessPool::new(2))
//!     .build()?;
//! // Worker processes are this program started again with `WEFT_WORKER=1` set:
//! if weft::remote::is_worker() {
//!     return Ok(dr.serve_worker()?);
//! }
//! let out = dr.execute(&["double"], weft::inputs! { "x" => 21u64 })?;
//! assert_eq!(*out.get::<u64>("double")?, 42);
//! # Ok(()) }
//! ```

pub use crate::resources::Resources;

#[cfg(any(feature = "dask", feature = "ray"))]
mod cluster;
#[cfg(feature = "remote")]
mod dispatch;
#[cfg(feature = "remote")]
mod message;
#[cfg(feature = "remote")]
mod pool;
#[cfg(feature = "remote")]
mod worker;

#[cfg(feature = "dask")]
pub use cluster::DaskExecutor;
#[cfg(feature = "ray")]
pub use cluster::RayExecutor;
#[cfg(feature = "remote")]
pub(crate) use dispatch::Dispatch;
#[cfg(feature = "remote")]
pub use message::{NodeOutcome, NodeReport, Report, Task, TaskInput, TaskNode, PROTOCOL};
#[cfg(feature = "remote")]
pub use pool::ProcessPool;
#[cfg(feature = "remote")]
pub(crate) use worker::serve;
#[cfg(feature = "remote")]
pub use worker::{is_worker, open_store, WORKER_ARG, WORKER_ENV};

#[cfg(feature = "remote")]
use std::sync::Arc;

#[cfg(feature = "remote")]
use crate::cancel::CancelToken;
#[cfg(feature = "remote")]
use crate::executor::{Executor, MultiThreading, Walk};

/// Why a task could not be run by a backend. Becomes the node's error (a [`NodeError::User`]
/// naming the node), so keep-going, retries and the cache treat it like any failure.
///
/// [`NodeError::User`]: crate::NodeError::User
#[cfg(feature = "remote")]
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum RemoteError {
    /// The worker refused the task (another protocol or code version, an unknown node).
    #[error("the worker refused the task: {0}")]
    Refused(String),
    /// The worker died while running the task (aborted, killed, out of memory).
    #[error("{0}")]
    Crashed(String),
    /// The backend could not be reached or the messages were garbled.
    #[error("{0}")]
    Transport(String),
    /// The node's own error, as the worker reported it (its chain, outermost first).
    #[error("{}", .0.first().map(String::as_str).unwrap_or("failed on a worker"))]
    Failed(Vec<String>),
    /// The run was cancelled while the task ran, and the backend stopped it (a cluster's
    /// task); the node fails with [`NodeError::Cancelled`](crate::NodeError::Cancelled).
    #[error("cancelled")]
    Cancelled,
}

/// A place where tasks run: worker processes, a cluster. Driven by the driver's scheduler
/// through [`Builder::with_remote_executor`](crate::Builder::with_remote_executor): up to
/// [`slots`](Self::slots) tasks are handed to [`run`](Self::run) at once, from several threads.
///
/// ```
/// use weft::remote::{RemoteError, RemoteExecutor, Report, Task};
/// use weft::CancelToken;
/// /// A backend that cannot run anything (a real one sends the task to a worker).
/// struct Nowhere;
/// impl RemoteExecutor for Nowhere {
///     fn name(&self) -> String { "nowhere".into() }
///     fn slots(&self) -> usize { 1 }
///     fn run(&self, _task: &Task, _cancel: &CancelToken) -> Result<Report, RemoteError> {
///         Err(RemoteError::Transport("no workers here".into()))
///     }
/// }
/// let b = weft::Builder::new().with_remote_executor(Nowhere);
/// # let _ = b;
/// ```
#[cfg(feature = "remote")]
pub trait RemoteExecutor: Send + Sync + 'static {
    /// A short name (`processes(4)`, `ray`).
    fn name(&self) -> String;
    /// How many tasks may run at once.
    fn slots(&self) -> usize;
    /// The store location to use when the driver has no cache directory (the pool's own
    /// temporary directory, say); `None` makes such a driver fail to build with a clear error.
    fn default_store(&self) -> Option<String> {
        None
    }
    /// Called before a walked run (submit a job, start workers); an error fails every task of
    /// the run with it.
    fn begin_run(&self, _run_id: &str) -> Result<(), RemoteError> {
        Ok(())
    }
    /// Runs one task to its report. Called from several threads at once.
    fn run(&self, task: &Task, cancel: &CancelToken) -> Result<Report, RemoteError>;
    /// Called after a walked run.
    fn end_run(&self) {}
}

/// The executor wrapping a [`RemoteExecutor`]: the threads executor's walk, with
/// [`slots`](RemoteExecutor::slots) threads, each waiting for one task at a time, and the
/// backend's run hooks around it.
#[cfg(feature = "remote")]
pub(crate) struct Remote(pub(crate) Arc<dyn RemoteExecutor>);

#[cfg(feature = "remote")]
impl Executor for Remote {
    fn name(&self) -> String {
        self.0.name()
    }

    fn parallelism(&self) -> usize {
        self.0.slots().max(1)
    }

    fn run(&self, walk: &Walk<'_>) {
        let engine = walk.db.engine_arc();
        if let Some(d) = engine.remote.get() {
            d.begin_run(&engine.run_id());
        }
        let threads = MultiThreading::new(self.parallelism());
        match engine.remote.get() {
            Some(d) => {
                // A group member whose result came with an earlier member's task is answered
                // on the scheduling thread.
                let cheap = |task: usize| d.has_prefetched(walk.order[task]);
                threads.walk(walk, Some(&cheap));
                d.end_run();
            }
            None => threads.run(walk),
        }
    }
}
