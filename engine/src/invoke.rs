//! Calling a node's body: panics caught, async bodies awaited, timeouts, retries.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

use crate::error::NodeError;
use crate::node::{Args, NodeBody, NodeSpec, OwnedArgs};
use crate::value::{AnyValue, Value};

/// A runtime that can be dropped anywhere, even inside another runtime's async context.
pub(crate) struct OwnedRuntime(pub(crate) Option<tokio::runtime::Runtime>);

impl Drop for OwnedRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

/// Calls a node's body with its arguments, turning a panic into [`NodeError::Panic`].
fn invoke_once(
    spec: &NodeSpec,
    args: &[Option<Value>],
    runtime: Option<&tokio::runtime::Runtime>,
) -> Result<AnyValue, NodeError> {
    let result = match (spec.body(), spec.timeout()) {
        (NodeBody::Sync(_), Some(limit)) => return sync_with_timeout(spec, args, limit),
        (NodeBody::Sync(f), None) => {
            let args = Args::new(spec.name(), spec.params(), args);
            catch_unwind(AssertUnwindSafe(|| f(&args)))
        }
        (NodeBody::Async(f), limit) => {
            let owned = OwnedArgs::new(spec.name.clone(), spec.params.clone(), args.to_vec());
            let fut = f(owned);
            let fut: crate::node::BoxFuture = match limit {
                None => fut,
                Some(limit) => Box::pin(async move {
                    tokio::time::timeout(limit, fut)
                        .await
                        .unwrap_or(Err(NodeError::Timeout(limit)))
                }),
            };
            catch_unwind(AssertUnwindSafe(|| block_on(fut, runtime))).map(|r| r.and_then(|x| x))
        }
    };
    match result {
        Ok(r) => r.and_then(|data| checked(spec, data)),
        Err(panic) => Err(NodeError::Panic(panic_message(&panic))),
    }
}

/// A dynamic node's body must return the type it declares.
fn checked(spec: &NodeSpec, data: AnyValue) -> Result<AnyValue, NodeError> {
    if (*data).type_id() == spec.output().id() {
        Ok(data)
    } else {
        Err(NodeError::Internal(format!(
            "node `{}` returned a value that is not the `{}` it declares",
            spec.name(),
            spec.output().short_name()
        )))
    }
}

fn retryable(e: &NodeError) -> bool {
    !matches!(e, NodeError::Internal(_) | NodeError::Cancelled)
}

/// Awaits an async body natively on the current tokio runtime, with the node's timeout and
/// retries; a panic in the body becomes [`NodeError::Panic`].
pub(crate) async fn invoke_async(
    spec: &NodeSpec,
    args: &[Option<Value>],
) -> Result<AnyValue, NodeError> {
    let NodeBody::Async(f) = spec.body() else {
        return Err(NodeError::Internal(format!(
            "`{}` is not async",
            spec.name()
        )));
    };
    let mut attempt = 0;
    loop {
        let owned = OwnedArgs::new(spec.name.clone(), spec.params.clone(), args.to_vec());
        let mut task = tokio::spawn(f(owned));
        let joined = match spec.timeout() {
            None => (&mut task).await,
            Some(limit) => match tokio::time::timeout(limit, &mut task).await {
                Ok(j) => j,
                Err(_) => {
                    task.abort();
                    Ok(Err(NodeError::Timeout(limit)))
                }
            },
        };
        let result = match joined {
            Ok(r) => r.and_then(|data| checked(spec, data)),
            Err(e) if e.is_panic() => Err(NodeError::Panic(panic_message(&e.into_panic()))),
            Err(_) => Err(NodeError::Cancelled),
        };
        match result {
            Err(e) if attempt < spec.retries() && retryable(&e) => {
                tracing::warn!(node = spec.name(), attempt = attempt + 1, error = %e, "retrying");
                tokio::time::sleep(backoff(attempt)).await;
                attempt += 1;
            }
            other => return other,
        }
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

pub(crate) fn current_thread_runtime() -> Result<tokio::runtime::Runtime, String> {
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

/// A synchronous body with a time limit runs on a thread of its own; past the limit the node
/// fails with [`NodeError::Timeout`] and the thread is left to finish on its own (Rust cannot
/// stop a thread), its result discarded.
fn sync_with_timeout(
    spec: &NodeSpec,
    args: &[Option<Value>],
    limit: Duration,
) -> Result<AnyValue, NodeError> {
    let (tx, rx) = std::sync::mpsc::channel();
    let spec_owned = spec.clone();
    let args_owned = args.to_vec();
    let spawned = std::thread::Builder::new()
        .name(format!("weft-timeout-{}", spec.name()))
        .spawn(move || {
            let mut untimed = spec_owned;
            untimed.timeout = None;
            let _ = tx.send(invoke_once(&untimed, &args_owned, None));
        });
    if let Err(e) = spawned {
        return Err(NodeError::Internal(format!(
            "cannot start a thread for `{}`: {e}",
            spec.name()
        )));
    }
    match rx.recv_timeout(limit) {
        Ok(r) => r,
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => Err(NodeError::Timeout(limit)),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => Err(NodeError::Panic(format!(
            "`{}` stopped without a result",
            spec.name()
        ))),
    }
}

/// The pause before retry number `attempt` (0-based): 50 ms, doubling, at most 5 s.
pub(crate) fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(50u64.saturating_mul(1 << attempt.min(7))).min(Duration::from_secs(5))
}

/// Runs node `id` again from `args`, for a stored result that turned out unusable.
pub(crate) fn recompute(
    graph: &crate::graph::Graph,
    id: crate::graph::NodeId,
    args: &[Option<Value>],
) -> Result<AnyValue, String> {
    let node = graph.get(id);
    let spec = node
        .spec()
        .ok_or_else(|| format!("`{}` has no body", node.name()))?;
    invoke(spec, args, None).map_err(|e| format!("recomputing `{}` failed: {e}", spec.name()))
}

/// Calls the body, retrying failures (errors, panics, timeouts) up to the node's `retries`.
pub(crate) fn invoke(
    spec: &NodeSpec,
    args: &[Option<Value>],
    runtime: Option<&tokio::runtime::Runtime>,
) -> Result<AnyValue, NodeError> {
    let mut attempt = 0;
    loop {
        match invoke_once(spec, args, runtime) {
            Err(e) if attempt < spec.retries() && retryable(&e) => {
                tracing::warn!(node = spec.name(), attempt = attempt + 1, error = %e, "retrying");
                std::thread::sleep(backoff(attempt));
                attempt += 1;
            }
            other => return other,
        }
    }
}
