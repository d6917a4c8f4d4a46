//! `Cli::with_builder` customizations apply whichever executor runs the flow (in-process).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use weft::{Adapter, NodeInfo};

mod nodes {
    use weft::prelude::*;
    /// Twice the input.
    #[node]
    pub fn doubled(x: &u64) -> u64 {
        x * 2
    }
}

/// Counts the nodes it sees start.
struct Count(Arc<AtomicUsize>);

impl Adapter for Count {
    fn before_node(&self, _node: &NodeInfo<'_>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn with_builder_applies_to_every_executor() {
    for executor in ["sequential", "threads:2", "async"] {
        let seen = Arc::new(AtomicUsize::new(0));
        let counter = seen.clone();
        let exit = weft_cli::Cli::new(weft::modules![crate::nodes])
            .with_builder(move |b| b.with_adapter(Count(counter.clone())))
            .run_from([
                "flow",
                "build",
                "doubled",
                "--input",
                "x=21",
                "--no-cache",
                "--executor",
                executor,
            ]);
        assert_eq!(exit.code(), 0, "{executor}");
        assert_eq!(seen.load(Ordering::SeqCst), 1, "{executor}");
    }
}
