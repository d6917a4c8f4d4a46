//! The fan-out's memo: per-item results of the nodes inside a fan-out, and the pool items run on.
//!
//! Why beside salsa and not in it: items are not graph nodes. Their number and identity are
//! only known once the fan-out node's value is (a `Parallel<T>` of any length), and a per-item
//! query would need one interned salsa input per (node, item) created inside the collector's
//! query, which salsa does not allow. So the collecting node's query is the tracked unit (it
//! reads every outside value the items need), and inside it per-item results are memoized here
//! by (node, blake3 of code version and argument versions): a changed item reruns only its own
//! nodes, an unchanged one is answered from this table, and the persistent cache keys items
//! the same way. Entries unused in the previous run are dropped at the start of the next.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use crate::error::NodeError;
use crate::fingerprint::DataVersion;
use crate::graph::NodeId;
use crate::incremental::{Engine, Failure};
use crate::value::Value;

/// One node's result for one set of arguments inside a fan-out; concurrent askers (two collects
/// of one fan-out) wait for the first to compute it.
type ItemCell = Arc<OnceLock<Result<Value, Arc<Failure>>>>;

/// Per-item results and the worker pool of a driver's fan-outs.
pub(crate) struct ItemMemo {
    /// Results by node and argument key, with the run that last used them.
    items: Mutex<HashMap<(NodeId, DataVersion), (u64, ItemCell)>>,
    /// How many items of a fan-out run at once.
    threads: usize,
    pool: OnceLock<Option<rayon::ThreadPool>>,
}

impl ItemMemo {
    pub(crate) fn new(threads: usize) -> ItemMemo {
        ItemMemo {
            items: Mutex::new(HashMap::new()),
            threads,
            pool: OnceLock::new(),
        }
    }

    /// Drops entries unused in the run before `run_no`, and failures.
    pub(crate) fn begin_run(&self, run_no: u64) {
        if let Ok(mut items) = self.items.lock() {
            items.retain(|_, (used, cell)| {
                *used + 1 >= run_no && cell.get().is_some_and(|r| r.is_ok())
            });
        }
    }

    /// Runs `f` over a fan-out's items, `threads` at a time, results in item order. The
    /// workers never touch the database: every value they need is resolved before.
    pub(crate) fn map_items<R: Send>(
        &self,
        items: Vec<Value>,
        f: impl Fn((usize, Value)) -> R + Sync + Send,
    ) -> Vec<R> {
        use rayon::prelude::*;
        let pool = self.pool.get_or_init(|| {
            (self.threads > 1)
                .then(|| {
                    rayon::ThreadPoolBuilder::new()
                        .num_threads(self.threads)
                        .thread_name(|i| format!("weft-fanout-{i}"))
                        .build()
                        .ok()
                })
                .flatten()
        });
        match pool {
            Some(pool) if items.len() > 1 => {
                pool.install(|| items.into_par_iter().enumerate().map(&f).collect())
            }
            _ => items.into_iter().enumerate().map(f).collect(),
        }
    }

    /// One node for one item: memoized by its arguments' data versions, else run through the
    /// engine's one evaluation path (adapters, cache, retries).
    pub(crate) fn evaluate(
        &self,
        engine: &Engine,
        id: NodeId,
        args: Vec<Option<Value>>,
    ) -> Result<Value, Arc<Failure>> {
        let spec = engine.graph.get(id).spec().ok_or_else(|| {
            Arc::new(Failure {
                node: id,
                error: NodeError::Internal("not a function node".into()),
                item: None,
            })
        })?;
        let key = Engine::side_key(spec, &args);
        let run_no = engine.run_no();
        let cell = {
            let mut items = self.items.lock().unwrap_or_else(|p| p.into_inner());
            let entry = items
                .entry((id, key))
                .or_insert_with(|| (run_no, Arc::new(OnceLock::new())));
            entry.0 = run_no;
            entry.1.clone()
        };
        cell.get_or_init(|| {
            engine.run_node_blocking(id, args).map_err(|error| {
                Arc::new(Failure {
                    node: id,
                    error,
                    item: None,
                })
            })
        })
        .clone()
    }
}
