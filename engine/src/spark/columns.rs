//! [`ColumnFrame`] for Spark: column nodes build Spark `Column` expressions, and the group is
//! one `withColumns` on the frame. Spark cannot run Rust code, so a column node is an
//! expression over its input columns (built-in functions, SQL through `expr`), never a UDF.

use std::any::Any;

use spark_connect::expression::Expression;
use spark_connect::{col, Column, DataFrame};

use super::session::outside_runtime;
use crate::columns::ColumnFrame;
use crate::fingerprint::{Fingerprint, FingerprintHasher};

/// A column expression is its expression tree's text: what it computes, not any data.
impl Fingerprint for Column {
    fn fingerprint(&self, h: &mut FingerprintHasher) {
        format!("{:?}", self.expression()).fingerprint(h);
    }
}

impl ColumnFrame for DataFrame {
    type Expr = Column;
    fn column(name: &str) -> Column {
        col(name)
    }
    /// The frame's schema, from the server (an analysis; nothing runs).
    fn column_names(&self) -> Result<Vec<String>, String> {
        outside_runtime(|| self.columns()).map_err(|e| e.message())
    }
    fn named(value: &(dyn Any + Send + Sync), name: &str) -> Option<Column> {
        Some(value.downcast_ref::<Column>()?.clone().alias(name))
    }
    fn with_columns(self, columns: Vec<Column>) -> Result<Self, String> {
        let named = columns
            .into_iter()
            .map(|c| match c.expression() {
                Expression::Alias(a) if a.names.len() == 1 => {
                    Ok((a.names[0].clone(), Column::new(a.child.clone())))
                }
                other => Err(format!("a column of with_columns has no name: {other:?}")),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(DataFrame::with_columns(&self, named))
    }
}
