//! [`Bridge`]: the synchronous store traits over `object_store`'s async API. The requests run
//! on a small tokio runtime the store owns (never the caller's: the cache's stores are called
//! from plain threads, from tokio's blocking pool and from inside async runs alike), and the
//! caller waits on a channel, which works in all three places.

use std::future::Future;

use crate::cache::StoreError;

/// How many requests of one batch are in flight at once (HEADs of `contains_many`, PUTs of
/// `put_many`, GETs of a run's record objects).
pub(super) const IN_FLIGHT: usize = 16;

/// A runtime for the store's requests.
pub(super) struct Bridge {
    runtime: Option<tokio::runtime::Runtime>,
}

impl Bridge {
    /// A runtime with two worker threads (requests mostly wait on the network).
    pub(super) fn new() -> Result<Bridge, StoreError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("weft-object-store")
            .enable_all()
            .build()
            .map_err(StoreError::io("starting the object store's runtime"))?;
        Ok(Bridge {
            runtime: Some(runtime),
        })
    }

    /// Runs `work` on the store's runtime and waits for its result.
    pub(super) fn run<T: Send + 'static>(
        &self,
        work: impl Future<Output = Result<T, StoreError>> + Send + 'static,
    ) -> Result<T, StoreError> {
        let Some(runtime) = &self.runtime else {
            return Err(StoreError::Other("the object store is closed".into()));
        };
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        runtime.spawn(async move {
            let _ = tx.send(work.await);
        });
        rx.recv().unwrap_or_else(|_| {
            Err(StoreError::Other(
                "an object-store request stopped without an answer (it panicked)".into(),
            ))
        })
    }
}

impl Drop for Bridge {
    /// Stops the runtime without waiting: dropping it may happen inside an async context (a
    /// driver dropped in an async test), where a blocking shutdown would panic.
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}
