//! Lifecycle adapters: hooks around the graph and around each node, stacked.
//!
//! Any number of adapters can be installed; each may observe (`before_*`/`after_*`) and each may
//! wrap node execution (`wrap_node`, one method for sync and async nodes). The stack, outermost
//! first: the persistent cache, the built-in [`Retry`], then yours in installation order, so
//! caching, retries, progress and tracing all wrap the same node at once (Hamilton allows one
//! `do_node_execute` owner: apache/hamilton#1062, #1263). Every node body runs through this
//! stack, whatever runs it (see `evaluation.rs`).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::error::NodeError;
use crate::fingerprint::DataVersion;
use crate::node::NodeSpec;
use crate::value::Value;

/// A run of the graph, as adapters see it.
#[derive(Debug)]
#[non_exhaustive]
pub struct RunInfo<'a> {
    /// Unique id of this run.
    pub run_id: &'a str,
    /// The requested outputs.
    pub outputs: &'a [String],
    /// Every node the run may touch, in execution order.
    pub execution_path: &'a [&'a str],
}

/// How a run ended, as adapters see it.
#[derive(Debug)]
#[non_exhaustive]
pub struct RunSummary<'a> {
    /// Nodes whose body ran.
    pub executed: &'a [&'a str],
    /// Nodes whose value was reused without running (memoized in memory, or cache hits).
    pub reused: &'a [&'a str],
    /// The nodes of `reused` that the persistent cache answered (the others were memoized).
    pub hits: &'a [&'a str],
    /// The node that failed, if any (the first, when several did).
    pub failed: Option<&'a str>,
    /// Every node that failed, in the order they failed (more than one with `keep_going`).
    pub failures: &'a [&'a str],
    /// Whether the run was cancelled before every node of its plan had run (a watch session
    /// saw a newer change; [`CancelToken::cancel`](crate::CancelToken::cancel)).
    pub cancelled: bool,
    /// Wall time.
    pub duration: Duration,
    /// Every function node of the run that has a value: `(name, spec, value)`, when an adapter
    /// asks for them ([`Adapter::needs_values`]).
    pub values: &'a [(&'a str, &'a NodeSpec, Value)],
}

/// A node about to run.
#[derive(Debug, Clone, Copy)]
pub struct NodeInfo<'a> {
    /// The run it belongs to.
    pub run_id: &'a str,
    /// The node's spec (name, tags, code version, …).
    pub spec: &'a NodeSpec,
    /// `(dependency, value)` in parameter order; `None` for an absent optional one. Values
    /// may be lazy (a cache hit not yet read): use [`Value::version`] freely, but reading the
    /// data loads it.
    pub inputs: &'a [(&'a str, Option<Value>)],
    /// Which attempt this is: 0 for the first; [`Retry`] counts up (adapters installed by
    /// you sit inside it and see every attempt).
    pub attempt: u32,
}

impl NodeInfo<'_> {
    /// The node's name.
    pub fn name(&self) -> &str {
        self.spec.name()
    }

    /// `(dependency, data version)` in parameter order.
    pub fn input_versions(&self) -> Vec<(&str, Option<DataVersion>)> {
        self.inputs
            .iter()
            .map(|(n, v)| (*n, v.as_ref().map(Value::version)))
            .collect()
    }
}

/// Result of running one node through the adapter stack.
pub type NodeResult = Result<Value, NodeError>;

/// The future of one node's run through (the rest of) the adapter stack.
pub type NodeFuture<'a> = Pin<Box<dyn Future<Output = NodeResult> + Send + 'a>>;

/// The end of the stack: one attempt at the node's body (sync or async).
pub(crate) trait Body: Send + Sync {
    /// Runs the body once for `node` (whose `attempt` says which attempt this is).
    fn call<'n>(&'n self, node: &'n NodeInfo<'n>) -> NodeFuture<'n>;
}

/// The rest of the adapter stack, ending in the node's body. [`Next::run`] proceeds; `Next` is
/// `Copy`, so running it again runs the rest again (that is how [`Retry`] retries).
#[derive(Clone, Copy)]
pub struct Next<'a> {
    rest: &'a [Arc<dyn Adapter>],
    body: &'a dyn Body,
}

impl<'a> Next<'a> {
    /// Runs the remaining adapters and the body.
    pub fn run(self, node: &'a NodeInfo<'a>) -> NodeFuture<'a> {
        match self.rest.split_first() {
            None => self.body.call(node),
            Some((first, rest)) => first.wrap_node(
                node,
                Next {
                    rest,
                    body: self.body,
                },
            ),
        }
    }

    /// The helper for wrappers whose own code is synchronous (most are): `before` runs first
    /// and may answer the node itself (the rest of the stack is then skipped); otherwise the
    /// rest runs and `after` sees its result and returns the node's. Works the same for sync
    /// and `async fn` nodes, under every executor.
    ///
    /// ```
    /// use weft::{Adapter, Next, NodeFuture, NodeInfo};
    ///
    /// struct Announce;
    /// impl Adapter for Announce {
    ///     fn wrap_node<'a>(&'a self, node: &'a NodeInfo<'a>, next: Next<'a>) -> NodeFuture<'a> {
    ///         next.around(
    ///             node,
    ///             |node| {
    ///                 eprintln!("starting {} (attempt {})", node.name(), node.attempt);
    ///                 None // proceed
    ///             },
    ///             |_node, result| result,
    ///         )
    ///     }
    /// }
    /// ```
    pub fn around(
        self,
        node: &'a NodeInfo<'a>,
        before: impl FnOnce(&NodeInfo<'_>) -> Option<NodeResult> + Send + 'a,
        after: impl FnOnce(&NodeInfo<'_>, NodeResult) -> NodeResult + Send + 'a,
    ) -> NodeFuture<'a> {
        Box::pin(async move {
            if let Some(answer) = before(node) {
                return answer;
            }
            let result = self.run(node).await;
            after(node, result)
        })
    }
}

/// A lifecycle adapter. Every method has a default that does nothing, so implement only what
/// you need.
///
/// The stack, outermost first: the persistent cache (when on), the built-in [`Retry`], then
/// your adapters in the order they were installed. `before_node` and `after_node` are called
/// once per node that reaches the stack (executed, or answered by the cache: a cache hit
/// returns from `wrap_node` without running the rest); `wrap_node` of an adapter inside
/// [`Retry`] runs once per attempt, with [`NodeInfo::attempt`] counting up. Nodes whose value
/// the driver already holds in memory (memoized) never reach the stack.
///
/// ```
/// use std::sync::{Arc, atomic::{AtomicUsize, Ordering}};
/// use weft::{Adapter, NodeInfo, NodeResult};
///
/// #[derive(Default)]
/// struct CountNodes(AtomicUsize);
/// impl Adapter for CountNodes {
///     fn after_node(&self, _node: &NodeInfo<'_>, _result: &NodeResult, _took: std::time::Duration) {
///         self.0.fetch_add(1, Ordering::Relaxed);
///     }
/// }
/// ```
pub trait Adapter: Send + Sync + 'static {
    /// Whether [`after_graph`](Self::after_graph) needs [`RunSummary::values`] (collecting
    /// them costs a lookup per node; default: no, and `values` is empty).
    fn needs_values(&self) -> bool {
        false
    }
    /// Before a run starts.
    fn before_graph(&self, _run: &RunInfo<'_>) {}
    /// After a run ends (also after a failure or a cancellation).
    fn after_graph(&self, _run: &RunInfo<'_>, _summary: &RunSummary<'_>) {}
    /// Before a node goes through the stack: it is about to run, or to be answered by the
    /// persistent cache. Not called for nodes answered from memory.
    fn before_node(&self, _node: &NodeInfo<'_>) {}
    /// After a node went through the stack, with its result and how long that took
    /// (every attempt included).
    fn after_node(&self, _node: &NodeInfo<'_>, _result: &NodeResult, _took: Duration) {}
    /// Wraps the node's execution, sync and `async fn` nodes alike; the default just proceeds.
    /// Return `next.run(node)` (or a future that awaits it) to proceed, something else to
    /// answer the node without running it. Synchronous wrapping code can use
    /// [`Next::around`].
    fn wrap_node<'a>(&'a self, node: &'a NodeInfo<'a>, next: Next<'a>) -> NodeFuture<'a> {
        next.run(node)
    }
}

/// Retries a failed node up to its `#[node(retries = N)]`, pausing 50 ms before the first
/// retry and doubling up to 5 s. Built in: every driver installs it just inside the persistent
/// cache, so the adapters you install see each attempt, with [`NodeInfo::attempt`] counting
/// up. Internal errors and cancellations are not retried.
#[derive(Debug, Default, Clone, Copy)]
pub struct Retry;

impl Adapter for Retry {
    fn wrap_node<'a>(&'a self, node: &'a NodeInfo<'a>, next: Next<'a>) -> NodeFuture<'a> {
        let retries = node.spec.retries();
        if retries == 0 {
            return next.run(node);
        }
        Box::pin(async move {
            let mut attempt = node.attempt;
            loop {
                let info = NodeInfo { attempt, ..*node };
                match next.run(&info).await {
                    Err(e) if attempt < retries && retryable(&e) => {
                        tracing::warn!(node = node.name(), attempt = attempt + 1, error = %e, "retrying");
                        tokio::time::sleep(backoff(attempt)).await;
                        attempt += 1;
                    }
                    other => return other,
                }
            }
        })
    }
}

fn retryable(e: &NodeError) -> bool {
    !matches!(e, NodeError::Internal(_) | NodeError::Cancelled)
}

/// The pause before retry number `attempt` (0-based): 50 ms, doubling, at most 5 s.
pub(crate) fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(50u64.saturating_mul(1 << attempt.min(7))).min(Duration::from_secs(5))
}

/// Runs `body` for `node` through every adapter: `before_node`, the nested `wrap_node`s, then
/// `after_node`. The one way a node's body is run.
pub(crate) async fn run_stack(
    adapters: &[Arc<dyn Adapter>],
    node: &NodeInfo<'_>,
    body: &dyn Body,
    on_failure: impl FnOnce(),
) -> (NodeResult, Duration) {
    for a in adapters {
        a.before_node(node);
    }
    let start = std::time::Instant::now();
    let result = Next {
        rest: adapters,
        body,
    }
    .run(node)
    .await;
    let took = start.elapsed();
    // Before any hook hears of the failure: the run halts (see `Engine::halted`).
    if result.is_err() {
        on_failure();
    }
    for a in adapters {
        a.after_node(node, &result, took);
    }
    (result, took)
}

/// Emits a `tracing` span per node (`weft.node`, with the node's name and run id) and an event
/// with its outcome and duration.
#[derive(Debug, Default, Clone, Copy)]
pub struct TracingAdapter;

impl Adapter for TracingAdapter {
    fn before_graph(&self, run: &RunInfo<'_>) {
        tracing::info!(run_id = run.run_id, outputs = ?run.outputs, "weft run started");
    }

    fn after_graph(&self, run: &RunInfo<'_>, s: &RunSummary<'_>) {
        tracing::info!(
            run_id = run.run_id,
            executed = s.executed.len(),
            reused = s.reused.len(),
            hits = s.hits.len(),
            failed = s.failed,
            duration_ms = s.duration.as_secs_f64() * 1e3,
            "weft run finished"
        );
    }

    fn wrap_node<'a>(&'a self, node: &'a NodeInfo<'a>, next: Next<'a>) -> NodeFuture<'a> {
        use tracing::Instrument;
        let span = tracing::info_span!(
            "weft.node",
            node = node.name(),
            run_id = node.run_id,
            attempt = node.attempt
        );
        Box::pin(
            async move {
                let start = std::time::Instant::now();
                let result = next.run(node).await;
                match &result {
                    Ok(v) => tracing::debug!(
                        took_us = start.elapsed().as_micros() as u64,
                        version = %v.version().short(),
                        "node executed"
                    ),
                    Err(e) => tracing::warn!(error = %e, "node failed"),
                }
                result
            }
            .instrument(span),
        )
    }
}
