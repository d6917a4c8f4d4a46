//! `#[node(extract_fields(..))]` on a node returning a map: a field missing from the value fails
//! the field's node with an error naming the field and the keys there are. (For a struct, a
//! missing field is a compile error.)

use crate::error::NodeError;

/// The error of field node `field` when node `node`'s map has no such key.
#[doc(hidden)]
pub fn missing_field(node: &str, field: &str, mut available: Vec<String>) -> NodeError {
    available.sort();
    NodeError::user(format!(
        "`{node}` has no field `{field}` to extract (its keys: {}); return it from `{node}` or \
         remove it from `extract_fields`",
        if available.is_empty() {
            "none".to_string()
        } else {
            available.join(", ")
        }
    ))
}
