//! Evaluating one node: the one path every node body takes.
//!
//! Top-level nodes (from their salsa query), fan-out items, `async fn` nodes awaited natively,
//! stored results found unusable and recomputed — and, later, remote tasks — all run through
//! [`Engine::run_node`]: `before_node`, the adapter stack (the persistent cache, the built-in
//! [`Retry`](crate::Retry), the user's adapters), one attempt at the body per call of the
//! innermost `Next`, `after_node`, and the run's records (which nodes executed, how long).
//!
//! The stack is a future. Synchronous callers drive it with [`Engine::block_on`]: the first
//! poll almost always completes it (sync bodies and synchronous wrappers never wait), so a
//! sync node pays one poll; a stack that does wait (a retry's pause, an async body, an adapter
//! that awaits) is driven to completion on a tokio runtime — the caller's when there is one,
//! else one the engine owns.

use std::cell::Cell;
use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use crate::adapter::{run_stack, Body, NodeFuture, NodeInfo};
use crate::error::NodeError;
use crate::graph::NodeId;
use crate::incremental::{named_inputs, Engine};
use crate::invoke::{call_async, call_sync, current_thread_runtime, OwnedRuntime};
use crate::node::{NodeBody, NodeSpec};
use crate::value::Value;

thread_local! {
    #[cfg(feature = "async")]
    /// Set on the threads of a tokio blocking pool that the async driver runs sync nodes on:
    /// blocking there is allowed, and the runtime is being driven by its owner.
    static ON_BLOCKING_POOL: Cell<bool> = const { Cell::new(false) };
    /// Set while a stored result found unusable is recomputed: if the stack answers with a
    /// stored result again, it is not given a second fallback (no endless repair loop).
    static REPAIRING: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` marked as being on a tokio blocking-pool thread (see [`Engine::block_on`]).
#[cfg(feature = "async")]
pub(crate) fn on_blocking_pool<R>(f: impl FnOnce() -> R) -> R {
    struct Reset(bool);
    impl Drop for Reset {
        fn drop(&mut self) {
            ON_BLOCKING_POOL.with(|c| c.set(self.0));
        }
    }
    let _reset = Reset(ON_BLOCKING_POOL.with(|c| c.replace(true)));
    f()
}

/// One attempt at a node's body: the innermost step of the stack.
struct Call<'b> {
    engine: &'b Engine,
    id: NodeId,
    spec: &'b NodeSpec,
    args: &'b [Option<Value>],
}

impl Body for Call<'_> {
    fn call<'n>(&'n self, _node: &'n NodeInfo<'n>) -> NodeFuture<'n> {
        self.engine.mark_executed(self.id);
        // On a remote executor the attempt is a task for a worker (which runs the body through
        // its own `run_node`); everything around it stays here.
        #[cfg(feature = "remote")]
        if let Some(remote) = self.engine.remote.get() {
            return Box::pin(std::future::ready(remote.call(
                self.engine,
                self.id,
                self.args,
            )));
        }
        let spec = self.spec;
        match spec.body() {
            NodeBody::Sync(_) => Box::pin(std::future::ready(
                call_sync(spec, self.args).map(|data| Value::new(data, spec.output())),
            )),
            NodeBody::Async(_) => Box::pin(async move {
                call_async(spec, self.args)
                    .await
                    .map(|data| Value::new(data, spec.output()))
            }),
        }
    }
}

fn poll_once<F: Future>(fut: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    fut.poll(&mut Context::from_waker(Waker::noop()))
}

impl Engine {
    /// Runs node `id` on `args` through the adapter stack. The one way a body is run.
    pub(crate) async fn run_node(
        &self,
        id: NodeId,
        args: Vec<Option<Value>>,
    ) -> Result<Value, NodeError> {
        let node = self.graph.get(id);
        let Some(spec) = node.spec() else {
            return Err(NodeError::Internal(format!(
                "`{}` has no body",
                node.name()
            )));
        };
        self.mark_reached(id);
        let run_id = self.run_id();
        let inputs = named_inputs(spec, &args);
        let info = NodeInfo {
            run_id: &run_id,
            spec,
            inputs: &inputs,
            attempt: 0,
        };
        let call = Call {
            engine: self,
            id,
            spec,
            args: &args,
        };
        let (result, took) = run_stack(&self.adapters, &info, &call, || self.halt()).await;
        drop(inputs);
        self.took_us[id as usize].store(took.as_micros() as u64, Ordering::Relaxed);
        result.map(|v| self.recompute_if_unusable(v, id, args))
    }

    /// [`run_node`](Self::run_node) from synchronous code.
    pub(crate) fn run_node_blocking(
        &self,
        id: NodeId,
        args: Vec<Option<Value>>,
    ) -> Result<Value, NodeError> {
        // A stack that cannot touch tokio — a sync body without timeout or retries, and no
        // adapter but the built-in ones (`Retry` passes through; the cache awaits only room
        // to store a large value, a plain wakeup) — is polled once without entering a
        // runtime: it completes on that poll, or is finished by `block_on`.
        let quiet = self.user_adapters == 0
            && self
                .graph
                .get(id)
                .spec()
                .is_some_and(|s| !s.is_async() && s.retries() == 0 && s.timeout().is_none());
        if quiet {
            let mut fut = std::pin::pin!(self.run_node(id, args));
            return match poll_once(fut.as_mut()) {
                Poll::Ready(v) => v,
                Poll::Pending => self.block_on(fut),
            };
        }
        self.block_on(self.run_node(id, args))
    }

    /// Drives a node's stack to completion from synchronous code. The first poll completes
    /// it unless something in it waits; then it is finished on a tokio runtime: the engine's
    /// own when the caller has none, the caller's when this is a blocking-pool thread or a
    /// multi-thread runtime (through `block_in_place`), and the engine's on a scoped thread
    /// when the caller is inside a current-thread runtime (blocking it would deadlock). Without
    /// the `async` feature (no `block_in_place`), a multi-thread caller is treated like a
    /// current-thread one.
    pub(crate) fn block_on(
        &self,
        fut: impl Future<Output = Result<Value, NodeError>> + Send,
    ) -> Result<Value, NodeError> {
        let mut fut = std::pin::pin!(fut);
        match tokio::runtime::Handle::try_current() {
            Err(_) => {
                let rt = self.runtime()?;
                let entered = rt.enter();
                if let Poll::Ready(v) = poll_once(fut.as_mut()) {
                    return v;
                }
                drop(entered);
                rt.block_on(fut)
            }
            #[cfg(feature = "async")]
            Ok(handle) if ON_BLOCKING_POOL.with(Cell::get) => {
                if let Poll::Ready(v) = poll_once(fut.as_mut()) {
                    return v;
                }
                handle.block_on(fut)
            }
            #[cfg(feature = "async")]
            Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                if let Poll::Ready(v) = poll_once(fut.as_mut()) {
                    return v;
                }
                tokio::task::block_in_place(|| handle.block_on(fut))
            }
            Ok(_) => {
                let rt = self.runtime()?;
                std::thread::scope(|s| {
                    s.spawn(|| rt.block_on(fut))
                        .join()
                        .unwrap_or_else(|p| Err(NodeError::Panic(crate::panics::panic_message(&p))))
                })
            }
        }
    }

    fn runtime(&self) -> Result<&tokio::runtime::Runtime, NodeError> {
        match self
            .runtime
            .get_or_init(|| current_thread_runtime().map(|rt| OwnedRuntime(Some(rt))))
        {
            Ok(OwnedRuntime(Some(rt))) => Ok(rt),
            Ok(OwnedRuntime(None)) => {
                Err(NodeError::Internal("the engine's runtime is gone".into()))
            }
            Err(e) => Err(NodeError::Internal(e.clone())),
        }
    }

    /// A lazily-held result (a cache hit) that later turns out unusable is recomputed through
    /// the stack (where the cache, having forgotten the bad entry, stores the repair).
    fn recompute_if_unusable(&self, v: Value, id: NodeId, args: Vec<Option<Value>>) -> Value {
        if v.is_loaded() || REPAIRING.with(Cell::get) {
            return v;
        }
        let engine = self.me.clone();
        v.with_fallback(Box::new(move |args| recompute(&engine, id, args)), args)
    }
}

/// Runs node `id` again from `args` through the stack, for a stored result that turned out
/// unusable.
pub(crate) fn recompute(
    engine: &std::sync::Weak<Engine>,
    id: NodeId,
    args: &[Option<Value>],
) -> Result<crate::value::AnyValue, String> {
    let engine: Arc<Engine> = engine
        .upgrade()
        .ok_or_else(|| "the driver that made this value is gone".to_string())?;
    let name = engine.graph.get(id).name().to_string();
    let was = REPAIRING.with(|r| r.replace(true));
    let result = engine.run_node_blocking(id, args.to_vec());
    REPAIRING.with(|r| r.set(was));
    result
        .and_then(|v| v.data().cloned().map_err(NodeError::Internal))
        .map_err(|e| format!("recomputing `{name}` failed: {e}"))
}
