//! Dynamic fan-out: a node returning [`Parallel<T>`] runs the nodes between it and a
//! [`Collect<T>`] of them once per item.
//!
//! The outer graph stays in the incremental core. A collecting node's query reads (tracked)
//! every outside value the items need, then evaluates the fan-out's nodes per item outside
//! salsa, in parallel with no database access in the workers; per-item results are memoized
//! by their arguments' data versions, and cached per item by the persistent cache, so a changed
//! item reruns only its own nodes. Nested fan-outs are evaluated the same way, recursively.

mod eval;
mod memo;
mod types;

pub(crate) use eval::collect_top_level;
pub(crate) use memo::ItemMemo;
pub(crate) use types::Collected;
#[cfg(feature = "remote")]
pub(crate) use types::{collected_items, collected_value};
pub use types::{Collect, Parallel};

use std::any::Any;

use crate::value::AnyValue;

/// Splits a fan-out node's value into its items (generated at the concrete item type).
pub type SplitFn = fn(&(dyn Any + Send + Sync)) -> Option<Vec<AnyValue>>;

/// The [`SplitFn`] for `Parallel<T>`.
#[doc(hidden)]
pub fn splitter<T: Any + Send + Sync>(v: &(dyn Any + Send + Sync)) -> Option<Vec<AnyValue>> {
    v.downcast_ref::<Parallel<T>>().map(|p| p.items.clone())
}
