//! Lifecycle adapters: hooks around the graph and around each node, stacked.
//!
//! Any number of adapters can be installed; each may observe (`before_*`/`after_*`) and each may
//! wrap node execution (`wrap_node`). Wrappers nest in installation order, the first installed
//! outermost, so caching, retries, progress and tracing all wrap the same node at once
//! (Hamilton allows one `do_node_execute` owner: apache/hamilton#1062, #1263).

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
pub struct RunSummary<'a> {
    /// Nodes whose body ran.
    pub executed: &'a [&'a str],
    /// Nodes whose value was reused without running (memoized or cached).
    pub reused: &'a [&'a str],
    /// The node that failed, if any (the first, when several did).
    pub failed: Option<&'a str>,
    /// Every node that failed, in the order they failed (more than one with `keep_going`).
    pub failures: &'a [&'a str],
    /// Wall time.
    pub duration: Duration,
    /// Every function node of the run that has a value: `(name, spec, value)`, when an adapter
    /// asks for them ([`Adapter::needs_values`]).
    pub values: &'a [(&'a str, &'a NodeSpec, Value)],
}

/// A node about to run.
#[derive(Debug)]
pub struct NodeInfo<'a> {
    /// The run it belongs to.
    pub run_id: &'a str,
    /// The node's spec (name, tags, code version, …).
    pub spec: &'a NodeSpec,
    /// `(dependency, value)` in parameter order; `None` for an absent optional one. Values
    /// may be lazy (a cache hit not yet read): use [`Value::version`] freely, but reading the
    /// data loads it.
    pub inputs: &'a [(&'a str, Option<Value>)],
    /// Which attempt this is (0 for the first; retries count up).
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

/// The future of an async node's run through the adapter stack.
pub type NodeFuture<'a> = Pin<Box<dyn Future<Output = NodeResult> + Send + 'a>>;

/// The rest of the adapter stack for an `async fn` node, ending in its body. Like [`Next`]:
/// `run` it to proceed; it is `Copy`, so running it again retries.
#[derive(Clone, Copy)]
pub struct NextAsync<'a> {
    pub(crate) rest: &'a [Arc<dyn Adapter>],
    pub(crate) body: &'a (dyn Fn() -> NodeFuture<'a> + Send + Sync),
}

impl<'a> NextAsync<'a> {
    /// Runs the remaining adapters and the body.
    pub fn run(self, node: &'a NodeInfo<'a>) -> NodeFuture<'a> {
        match self.rest.split_first() {
            None => (self.body)(),
            Some((first, rest)) => first.wrap_node_async(
                node,
                NextAsync {
                    rest,
                    body: self.body,
                },
            ),
        }
    }
}

/// The rest of the adapter stack, ending in the node's body. Call [`Next::run`] to proceed;
/// calling it again runs the rest again (that is how a retry adapter retries).
pub struct Next<'a> {
    pub(crate) rest: &'a [Arc<dyn Adapter>],
    pub(crate) body: &'a mut dyn FnMut(u32) -> NodeResult,
}

impl Next<'_> {
    /// Runs the remaining adapters and the body.
    pub fn run(&mut self, node: &NodeInfo<'_>) -> NodeResult {
        match self.rest.split_first() {
            None => (self.body)(node.attempt),
            Some((first, rest)) => {
                let mut next = Next {
                    rest,
                    body: &mut *self.body,
                };
                first.wrap_node(node, &mut next)
            }
        }
    }
}

/// A lifecycle adapter. Every method has a default that does nothing, so implement only what
/// you need.
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
    /// After a run ends (also after a failure).
    fn after_graph(&self, _run: &RunInfo<'_>, _summary: &RunSummary<'_>) {}
    /// Before a node's body runs (only for nodes that actually execute).
    fn before_node(&self, _node: &NodeInfo<'_>) {}
    /// After a node's body ran, with its result and duration.
    fn after_node(&self, _node: &NodeInfo<'_>, _result: &NodeResult, _took: Duration) {}
    /// Wraps the node's execution; the default just proceeds.
    fn wrap_node(&self, node: &NodeInfo<'_>, next: &mut Next<'_>) -> NodeResult {
        next.run(node)
    }
    /// Wraps an `async fn` node's execution when it is awaited natively (the async driver);
    /// the default just proceeds. Implement it alongside [`wrap_node`](Self::wrap_node) when
    /// your adapter wraps execution (caching, tracing and retries in weft do).
    fn wrap_node_async<'a>(
        &'a self,
        node: &'a NodeInfo<'a>,
        next: NextAsync<'a>,
    ) -> NodeFuture<'a> {
        next.run(node)
    }
}

/// [`run_through`] for async nodes awaited natively.
pub(crate) async fn run_through_async<'a>(
    adapters: &'a [Arc<dyn Adapter>],
    node: &'a NodeInfo<'a>,
    body: &'a (dyn Fn() -> NodeFuture<'a> + Send + Sync),
) -> (NodeResult, Duration) {
    for a in adapters {
        a.before_node(node);
    }
    let start = std::time::Instant::now();
    let result = NextAsync {
        rest: adapters,
        body,
    }
    .run(node)
    .await;
    let took = start.elapsed();
    for a in adapters {
        a.after_node(node, &result, took);
    }
    (result, took)
}

/// Runs `body` for `node` through every adapter: `before_node`, the nested `wrap_node`s, then
/// `after_node`.
pub(crate) fn run_through(
    adapters: &[Arc<dyn Adapter>],
    node: &NodeInfo<'_>,
    body: &mut dyn FnMut(u32) -> NodeResult,
) -> (NodeResult, Duration) {
    for a in adapters {
        a.before_node(node);
    }
    let start = std::time::Instant::now();
    let mut next = Next {
        rest: adapters,
        body,
    };
    let result = next.run(node);
    let took = start.elapsed();
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
            failed = s.failed,
            duration_ms = s.duration.as_secs_f64() * 1e3,
            "weft run finished"
        );
    }

    fn wrap_node_async<'a>(
        &'a self,
        node: &'a NodeInfo<'a>,
        next: NextAsync<'a>,
    ) -> NodeFuture<'a> {
        use tracing::Instrument;
        let span = tracing::info_span!("weft.node", node = node.name(), run_id = node.run_id);
        Box::pin(
            async move {
                let result = next.run(node).await;
                if let Err(e) = &result {
                    tracing::warn!(error = %e, "node failed");
                }
                result
            }
            .instrument(span),
        )
    }

    fn wrap_node(&self, node: &NodeInfo<'_>, next: &mut Next<'_>) -> NodeResult {
        let span = tracing::info_span!("weft.node", node = node.name(), run_id = node.run_id);
        let _guard = span.enter();
        let start = std::time::Instant::now();
        let result = next.run(node);
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
}
