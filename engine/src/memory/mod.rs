//! Value lifetimes: how long the driver keeps a node's value in memory.
//!
//! Every memoized value lives in a [`Cell`]: the value (while resident), its data version, and
//! the cells it was computed from (its provenance). A cell may let its value go; the memo
//! stays valid (salsa compares versions, not data), and a reader of a released cell gets a lazy
//! value that, when read, computes it again through [`Engine::run_node`] from its provenance
//! (the persistent cache answers first when there is one).
//!
//! [`Residency`] decides when values go, within the driver's memory budget
//! ([`Builder::with_memory_budget`](crate::Builder::with_memory_budget)): a value the current
//! run still needs (a consumer on the plan has not run yet, or it is a requested output) is
//! pinned; every other resident value is kept in least-recently-used order and the oldest are
//! released while the total is over the budget. A budget of 0 is a one-shot run: an
//! intermediate value goes as soon as its last consumer has run. Without a budget nothing is
//! released.
//!
//! [`Engine::run_node`]: crate::incremental::Engine

mod cell;
mod residency;
mod size;

pub(crate) use cell::Cell;
pub(crate) use residency::Residency;
pub use size::MemorySize;
