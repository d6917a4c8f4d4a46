//! [`ColumnFrame`] for polars: a `LazyFrame` gets the group as one lazy `with_columns` (nothing
//! is collected); a `DataFrame` runs the same plan once, eagerly. Column nodes return `Expr`s;
//! a Series-style column node (`#[weft::column] fn f(a: Series) -> Series`) is mapped into the
//! plan by [`series_column`].

use std::any::Any;
use std::sync::Arc;

use polars::prelude::{
    col, lit, Column, DataFrame, Expr, Field, IntoColumn, IntoLazy, LazyFrame, PolarsResult,
    Schema, Series,
};

use super::ColumnFrame;

fn named_expr(value: &(dyn Any + Send + Sync), name: &str) -> Option<Expr> {
    if let Some(e) = value.downcast_ref::<Expr>() {
        return Some(e.clone().alias(name));
    }
    let s = value.downcast_ref::<Series>()?;
    Some(lit(s.clone()).alias(name))
}

impl ColumnFrame for LazyFrame {
    type Expr = Expr;
    fn column(name: &str) -> Expr {
        col(name)
    }
    fn column_names(&self) -> Result<Vec<String>, String> {
        let schema = self.clone().collect_schema().map_err(|e| e.to_string())?;
        Ok(schema.iter_names().map(|n| n.to_string()).collect())
    }
    fn named(value: &(dyn Any + Send + Sync), name: &str) -> Option<Expr> {
        named_expr(value, name)
    }
    fn with_columns(self, columns: Vec<Expr>) -> Result<Self, String> {
        Ok(LazyFrame::with_columns(self, columns))
    }
}

impl ColumnFrame for DataFrame {
    type Expr = Expr;
    fn column(name: &str) -> Expr {
        col(name)
    }
    fn column_names(&self) -> Result<Vec<String>, String> {
        Ok(self
            .get_column_names()
            .iter()
            .map(|n| n.to_string())
            .collect())
    }
    fn named(value: &(dyn Any + Send + Sync), name: &str) -> Option<Expr> {
        named_expr(value, name)
    }
    fn with_columns(self, columns: Vec<Expr>) -> Result<Self, String> {
        self.lazy()
            .with_columns(columns)
            .collect()
            .map_err(|e| e.to_string())
    }
}

/// A Rust function over whole columns, as a Series-style column node calls it.
pub type SeriesFn = Arc<dyn Fn(Vec<Series>) -> PolarsResult<Series> + Send + Sync>;

/// The expression that applies `f` to the columns `inputs` evaluate to, inside the plan (no
/// collect of its own). Its text names the node and its code version (`amount_squared@3f2a…`),
/// so a changed function is a changed expression. The output dtype is found by calling `f` on
/// empty columns of the inputs' dtypes.
#[doc(hidden)]
pub fn series_column(name: &str, code_version: &str, inputs: Vec<Expr>, f: SeriesFn) -> Expr {
    let mut inputs = inputs.into_iter();
    let Some(first) = inputs.next() else {
        return lit(polars::prelude::NULL);
    };
    let rest: Vec<Expr> = inputs.collect();
    let run = f.clone();
    let apply = move |cols: &mut [Column]| -> PolarsResult<Column> {
        let series = cols
            .iter()
            .map(|c| c.as_materialized_series().clone())
            .collect();
        Ok(run(series)?.into_column())
    };
    let dtype = move |_: &Schema, fields: &[Field]| -> PolarsResult<Field> {
        let empty = fields
            .iter()
            .map(|f| Series::new_empty(f.name().clone(), f.dtype()))
            .collect();
        let out = f(empty)?;
        Ok(Field::new(fields[0].name().clone(), out.dtype().clone()))
    };
    let mut expr = first.map_many(apply, &rest, dtype);
    if let Expr::AnonymousFunction { fmt_str, .. } = &mut expr {
        **fmt_str = format!("{name}@{code_version}").into();
    }
    expr
}
