//! `#[node(extract_columns("a", ..))]`: each named column of a node's `DataFrame` is a node of
//! its own, a `Series`.

use polars::prelude::{DataFrame, Series};

use crate::error::NodeError;

/// Column `column` of the frame that node `node` returned; a column it does not have is the
/// column node's error, naming the node, the column, the closest column there is, and what
/// to do.
#[doc(hidden)]
pub fn extract_column(frame: &DataFrame, node: &str, column: &str) -> Result<Series, NodeError> {
    if let Ok(c) = frame.column(column) {
        return Ok(c.as_materialized_series().clone());
    }
    let names: Vec<&str> = frame
        .get_column_names()
        .iter()
        .map(|n| n.as_str())
        .collect();
    let hint = crate::error::suggest(column, names.iter().copied())
        .map(|h| format!("did you mean `{h}`? "))
        .unwrap_or_default();
    Err(NodeError::user(format!(
        "`{node}` has no column `{column}` to extract ({hint}its columns: {}); return it from \
         `{node}` or remove it from `extract_columns`",
        if names.is_empty() {
            "none".to_string()
        } else {
            names.join(", ")
        }
    )))
}
