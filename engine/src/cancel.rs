//! Cancelling a run from another thread.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Cancels a run between nodes: nodes already running finish (their results are valid and
/// kept), no new node starts, and the run returns [`ExecuteError::Cancelled`](crate::ExecuteError::Cancelled).
///
/// ```
/// let token = weft::CancelToken::new();
/// let for_watcher = token.clone();
/// for_watcher.cancel();
/// assert!(token.is_cancelled());
/// ```
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// A token not yet cancelled.
    pub fn new() -> Self {
        Self::default()
    }
    /// Cancels every run using this token (or a clone of it).
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    /// Whether [`cancel`](Self::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}
