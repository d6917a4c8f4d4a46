//! Executors: how the nodes of a plan are run. One event-driven [`Scheduler`] (a ready queue
//! fed by dependency counters: no polling, no recursion) sits behind every executor; executors
//! differ only in where a ready node's work happens: inline ([`Sequential`]), on a bounded set
//! of threads ([`MultiThreading`]), or on tokio ([`Driver::execute_async`](crate::Driver::execute_async)).
//!
//! Parallelism lives here, in the driver, never inside salsa queries: each task gets its own
//! database handle ([`Handle`]), dropped before the task reports completion, and every node's
//! dependencies are complete before it is dispatched, so a node's query only reads memos.

#[cfg(feature = "async")]
mod asynchronous;
mod pool;
mod scheduler;
mod threads;

#[cfg(feature = "async")]
pub(crate) use asynchronous::walk_async;

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use crate::cancel::CancelToken;
pub use scheduler::Scheduler;
pub use threads::MultiThreading;

use crate::graph::{Graph, NodeId};
use crate::incremental::WeftDb;
use crate::plan::Plan;

/// A database handle for one task. Send it to the thread that runs the task; it is dropped when
/// the task is done.
pub struct Handle(pub(crate) WeftDb);

/// How a task ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TaskOutcome {
    /// The node has a value (computed, memoized or cached).
    Done,
    /// The node, or a dependency, failed.
    Failed,
    /// The run was cancelled before the node ran.
    Cancelled,
}

/// Runs one task; cloned onto the threads that run tasks (it borrows nothing from the run,
/// so threads kept between runs can hold it).
#[derive(Clone)]
pub struct Runner {
    order: Arc<[NodeId]>,
    cancel: CancelToken,
    status: Arc<[AtomicU8]>,
    keep_going: bool,
}

const NOT_RUN: u8 = 0;
const DONE: u8 = 1;
const FAILED: u8 = 2;

impl Runner {
    /// Computes the node of task `task` on `handle` (consumed: dropped before returning).
    pub fn run(&self, handle: Handle, task: usize) -> TaskOutcome {
        let outcome = self.evaluate(&handle.0, task);
        drop(handle);
        outcome
    }

    fn evaluate(&self, db: &WeftDb, task: usize) -> TaskOutcome {
        // The halt token: without keep-going, nothing starts once a node of the run failed,
        // even a task already handed to a worker.
        if self.cancel.is_cancelled() || (!self.keep_going && db.engine_arc().halted()) {
            return TaskOutcome::Cancelled;
        }
        let outcome = evaluate(db, self.order[task]);
        let code = if outcome == TaskOutcome::Failed {
            FAILED
        } else {
            DONE
        };
        self.status[task].store(code, Ordering::Release);
        outcome
    }

    /// Whether the run was cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }
}

/// One run of a plan, as an executor sees it.
pub struct Walk<'a> {
    pub(crate) graph: &'a Graph,
    pub(crate) plan: &'a Plan,
    pub(crate) order: Arc<[NodeId]>,
    pub(crate) db: &'a WeftDb,
    pub(crate) cancel: &'a CancelToken,
    pub(crate) keep_going: bool,
    pub(crate) status: Arc<[AtomicU8]>,
}

impl<'a> Walk<'a> {
    pub(crate) fn new(
        graph: &'a Graph,
        plan: &'a Plan,
        db: &'a WeftDb,
        cancel: &'a CancelToken,
        keep_going: bool,
    ) -> Self {
        Walk {
            graph,
            plan,
            order: Arc::from(plan.order.as_slice()),
            db,
            cancel,
            keep_going,
            status: plan.order.iter().map(|_| AtomicU8::new(NOT_RUN)).collect(),
        }
    }

    /// Nodes that completed, and whether each failed.
    pub(crate) fn completed(&self) -> impl Iterator<Item = (NodeId, bool)> + '_ {
        self.order
            .iter()
            .zip(self.status.iter())
            .filter_map(|(&id, s)| match s.load(Ordering::Acquire) {
                DONE => Some((id, false)),
                FAILED => Some((id, true)),
                _ => None,
            })
    }

    /// The number of tasks (nodes of the plan).
    pub fn tasks(&self) -> usize {
        self.order.len()
    }

    /// Fresh dependency counters for this plan.
    pub fn scheduler(&self) -> Scheduler {
        Scheduler::new(
            self.graph,
            self.plan,
            self.keep_going,
            Some(self.db.engine_arc().clone()),
        )
    }

    /// A database handle for one task (cheap).
    pub fn handle(&self) -> Handle {
        Handle(self.db.clone())
    }

    /// The task runner, to share with worker threads.
    pub fn runner(&self) -> Runner {
        Runner {
            order: Arc::clone(&self.order),
            cancel: self.cancel.clone(),
            status: Arc::clone(&self.status),
            keep_going: self.keep_going,
        }
    }

    /// The name of a task's node (for diagnostics).
    pub fn task_name(&self, task: usize) -> &str {
        self.graph.get(self.order[task]).name()
    }
}

/// Runs every task of a walk, respecting dependencies. Implementations take ready tasks from
/// [`Walk::scheduler`], run them with [`Runner::run`] on a [`Walk::handle`], and report
/// completion back to the scheduler.
pub trait Executor: Send + Sync + 'static {
    /// A short name (`sequential`, `threads(10)`).
    fn name(&self) -> String;
    /// How many items of a fan-out may run at once (default 1).
    fn parallelism(&self) -> usize {
        1
    }
    /// Runs the walk to completion (or to the first failure, or cancellation).
    fn run(&self, walk: &Walk<'_>);
}

/// Computes one node on `db` (its dependencies are done).
pub(crate) fn evaluate(db: &WeftDb, id: NodeId) -> TaskOutcome {
    if db.failed(id) {
        TaskOutcome::Failed
    } else {
        TaskOutcome::Done
    }
}

/// Runs ready nodes one at a time on the calling thread.
#[derive(Debug, Default, Clone, Copy)]
pub struct Sequential;

impl Executor for Sequential {
    fn name(&self) -> String {
        "sequential".into()
    }

    fn run(&self, walk: &Walk<'_>) {
        let mut s = walk.scheduler();
        let runner = walk.runner();
        // The calling thread owns the database: no clone needed per task.
        while let Some(task) = s.pop_ready() {
            let outcome = runner.evaluate(walk.db, task);
            s.complete(task, outcome);
        }
    }
}
