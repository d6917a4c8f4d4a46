//! Calling a node's body once: panics caught, async bodies polled, timeouts enforced.
//!
//! This is the bottom of the stack (see `evaluation.rs`): retries, caching and every other
//! wrapper are adapters above it.

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use crate::error::NodeError;
use crate::node::{Args, NodeBody, NodeSpec, OwnedArgs};
use crate::panics::{in_node, panic_message};
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

/// Calls a synchronous body, turning a panic into [`NodeError::Panic`]; with a time limit it
/// runs on a thread of its own.
pub(crate) fn call_sync(spec: &NodeSpec, args: &[Option<Value>]) -> Result<AnyValue, NodeError> {
    let NodeBody::Sync(f) = spec.body() else {
        return Err(NodeError::Internal(format!("`{}` is async", spec.name())));
    };
    if let Some(limit) = spec.timeout() {
        return sync_with_timeout(spec, args, limit);
    }
    let args = Args::new(spec.name(), spec.params(), args);
    match in_node(|| catch_unwind(AssertUnwindSafe(|| f(&args)))) {
        Ok(r) => r.and_then(|data| checked(spec, data)),
        Err(panic) => Err(NodeError::Panic(panic_message(&panic))),
    }
}

/// Awaits an async body with the node's time limit; a panic while polling it becomes
/// [`NodeError::Panic`]. Needs a tokio runtime context (timers) when polled.
pub(crate) async fn call_async(
    spec: &NodeSpec,
    args: &[Option<Value>],
) -> Result<AnyValue, NodeError> {
    let NodeBody::Async(f) = spec.body() else {
        return Err(NodeError::Internal(format!(
            "`{}` is not async",
            spec.name()
        )));
    };
    let owned = OwnedArgs::new(spec.name.clone(), spec.params.clone(), args.to_vec());
    let body = CatchPanic(f(owned));
    let result = match spec.timeout() {
        None => body.await,
        Some(limit) => match tokio::time::timeout(limit, body).await {
            Ok(r) => r,
            Err(_) => Ok(Err(NodeError::Timeout(limit))),
        },
    };
    match result {
        Ok(r) => r.and_then(|data| checked(spec, data)),
        Err(panic) => Err(NodeError::Panic(panic_message(&panic))),
    }
}

/// A future whose panics while being polled are caught and returned.
struct CatchPanic<F>(F);

impl<F: Future + Unpin> Future for CatchPanic<F> {
    type Output = Result<F::Output, Box<dyn std::any::Any + Send>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = &mut self.0;
        match in_node(|| catch_unwind(AssertUnwindSafe(|| Pin::new(inner).poll(cx)))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Err(panic) => Poll::Ready(Err(panic)),
        }
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

pub(crate) fn current_thread_runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a tokio runtime for async nodes: {e}"))
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
    let mut untimed = spec.clone();
    untimed.timeout = None;
    let args_owned = args.to_vec();
    let spawned = std::thread::Builder::new()
        .name(format!("weft-timeout-{}", spec.name()))
        .spawn(move || {
            let _ = tx.send(call_sync(&untimed, &args_owned));
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
