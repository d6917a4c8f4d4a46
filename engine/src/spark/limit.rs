//! The row limit for development runs (the seed's "test with `.limit(1000)` first"): every
//! *source* frame — a node returning a Spark frame that takes none — is cut to N rows, so the
//! whole flow runs on a sample without editing a node. The limit is part of each frame's plan,
//! so limited and full runs have different data versions and never share cached results.

use std::any::TypeId;
use std::sync::Arc;

use spark_connect::DataFrame;

use crate::adapter::{Adapter, Next, NodeFuture, NodeInfo};
use crate::error::NodeError;
use crate::value::Value;

/// Limits every source Spark frame to `n` rows (the CLI's `--spark-limit N`). Install it after
/// the [`SparkAdapter`](super::SparkAdapter), so that frames are cut before they are analyzed
/// or written.
///
/// ```no_run
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let dr = weft::Builder::new()
///     .with_adapter(weft::spark::SparkAdapter::new())
///     .with_adapter(weft::spark::RowLimit::new(1000))
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct RowLimit {
    rows: i32,
}

impl RowLimit {
    /// At most `rows` rows per source frame (at most `i32::MAX`, Spark's own bound).
    pub fn new(rows: u64) -> Self {
        RowLimit {
            rows: i32::try_from(rows).unwrap_or(i32::MAX),
        }
    }

    /// The limit.
    pub fn rows(&self) -> u64 {
        self.rows as u64
    }
}

/// Whether the node makes a Spark frame out of no Spark frame.
pub(crate) fn is_source(node: &NodeInfo<'_>) -> bool {
    let frame = TypeId::of::<DataFrame>();
    node.spec.output().id() == frame
        && node
            .spec
            .params()
            .iter()
            .all(|p| p.value_type().id() != frame)
}

impl Adapter for RowLimit {
    fn wrap_node<'a>(&'a self, node: &'a NodeInfo<'a>, next: Next<'a>) -> NodeFuture<'a> {
        if !is_source(node) {
            return next.run(node);
        }
        let rows = self.rows;
        next.around(
            node,
            |_| None,
            move |node, result| {
                let value = result?;
                let data = value.data().map_err(NodeError::Internal)?;
                let df = data.downcast_ref::<DataFrame>().ok_or_else(|| {
                    NodeError::Internal("a source frame is not a Spark frame".into())
                })?;
                Ok(Value::new(Arc::new(df.limit(rows)), node.spec.output()))
            },
        )
    }
}
