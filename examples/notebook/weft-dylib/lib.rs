//! weft for Jupyter notebooks on the evcxr kernel: the engine as one shared library.
//!
//! evcxr compiles each cell into its own shared object. With the engine linked statically,
//! every cell would carry its own copy of weft's (and salsa's) statics, and a driver made in one
//! cell would crash when used in the next. This crate is a `dylib` named `weft` that re-exports
//! the engine, so every cell links the same single copy. See `examples/notebook/README.md`.

pub use weft_engine::*;

/// The `#[node]` functions defined in the notebook's cells so far.
///
/// evcxr recompiles every item of earlier cells into each new cell, so a node is registered
/// once per cell that ran since it was defined; this keeps the newest registration of each
/// name (the latest definition wins, as when a cell is edited and run again).
/// `weft::modules![crate]` would report those copies as duplicates.
#[macro_export]
macro_rules! notebook_nodes {
    () => {
        $crate::newest_nodes(::std::module_path!())
    };
}

#[doc(hidden)]
pub fn newest_nodes(module: &str) -> Vec<NodeSpec> {
    let mut seen = std::collections::HashSet::new();
    let mut nodes = Vec::new();
    // Registrations iterate newest first: the latest cell's copy of each node comes first.
    for r in __private::inventory::iter::<__private::Registration> {
        if r.module == module && seen.insert(r.name) {
            nodes.push((r.ctor)());
        }
    }
    nodes.sort_by(|a, b| a.name().cmp(b.name()));
    nodes
}
