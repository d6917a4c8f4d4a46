//! The async walk: `async fn` nodes are awaited natively on tokio, all at once when
//! independent; sync nodes run on tokio's blocking pool, never on the event loop. The same
//! scheduler as every executor decides what is ready. [`Driver::execute_async`] and
//! [`Request::run_async`](crate::Request::run_async) use it.
//!
//! Salsa queries are synchronous, so an async node is handled in three steps: its arguments are
//! read from the incremental core (on the blocking pool), its body is awaited natively through
//! the adapter stack unless its result for exactly these arguments is already known, and its
//! query then picks that result up from the engine's side table (see `Engine::execute_async`).
//!
//! [`Driver::execute_async`]: crate::Driver::execute_async

use std::collections::HashSet;
use std::sync::Arc;

use tokio::task::JoinSet;

use super::{evaluate, CancelToken, Scheduler, TaskOutcome};
use crate::error::ExecuteError;
use crate::evaluation::on_blocking_pool;
use crate::graph::{Graph, NodeId};
use crate::incremental::{Engine, WeftDb};
use crate::plan::Plan;

fn internal(e: tokio::task::JoinError) -> ExecuteError {
    ExecuteError::Internal(format!("a weft task failed: {e}"))
}

/// Walks a prepared run on the caller's tokio runtime; returns the nodes that completed and
/// whether each failed.
///
/// Takes its own database handle: the future holds no reference to the (not `Sync`) database,
/// so it is `Send` and can be spawned.
pub(crate) async fn walk_async(
    graph: &Graph,
    plan: &Plan,
    db: WeftDb,
    overridden: &HashSet<NodeId>,
    keep_going: bool,
    cancel: &CancelToken,
) -> Result<Vec<(NodeId, bool)>, ExecuteError> {
    let engine = db.engine_arc().clone();
    let order: &[NodeId] = &plan.order;
    let mut sched = Scheduler::new(graph, plan, keep_going, Some(engine.clone()));
    let mut status: Vec<Option<bool>> = vec![None; order.len()];
    let mut tasks: JoinSet<(usize, TaskOutcome)> = JoinSet::new();
    loop {
        if cancel.is_cancelled() {
            sched.stop();
            tasks.abort_all();
        }
        while let Some(task) = sched.pop_ready() {
            let id = order[task];
            let db = db.clone();
            let native =
                graph.get(id).spec().is_some_and(|s| s.is_async()) && !overridden.contains(&id);
            // The halt token: without keep-going, a task that has not started when a node of
            // the run fails does nothing.
            let halted = move |engine: &Engine| !keep_going && engine.halted();
            if native {
                let engine = engine.clone();
                tasks.spawn(async move {
                    if halted(&engine) {
                        return (task, TaskOutcome::Cancelled);
                    }
                    (task, async_node(engine, db, id).await)
                });
            } else {
                tasks.spawn_blocking(move || {
                    if halted(db.engine_arc()) {
                        return (task, TaskOutcome::Cancelled);
                    }
                    (task, on_blocking_pool(|| evaluate(&db, id)))
                });
            }
        }
        if sched.is_done() {
            break;
        }
        let next = tokio::select! {
            joined = tasks.join_next() => joined,
            _ = wait_cancelled(cancel), if !cancel.is_cancelled() => continue,
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
    Ok(status
        .iter()
        .enumerate()
        .filter_map(|(t, s)| s.map(|failed| (order[t], failed)))
        .collect())
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
    tokio::task::spawn_blocking(move || on_blocking_pool(|| evaluate(&db, id)))
        .await
        .unwrap_or(TaskOutcome::Failed)
}
