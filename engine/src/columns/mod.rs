//! Column-level transforms (Hamilton's `@with_columns`): a module of *column nodes* attached to
//! a frame node, compiled into one `with_columns` call on the frame.
//!
//! An illustration (the compiled example is the book's "Data frames" chapter):
//!
//! ```text
//! mod features {
//!     use weft::frames::polars::prelude::*;
//!     /// Expression style: runs inside polars' plan.
//!     #[weft::column]
//!     pub fn normalized_amount(amount: Expr) -> Expr { amount.clone() / amount.max() }
//!     /// Series style: a Rust function over whole columns, mapped into the same plan.
//!     #[weft::column]
//!     pub fn amount_squared(amount: Series) -> Series { &amount * &amount }
//! }
//!
//! #[node(with_columns(features, columns_to_pass = ["amount"]))]
//! fn enriched(cleaned: LazyFrame) -> LazyFrame { cleaned }
//! ```
//!
//! The group becomes ordinary nodes: one per passed column (`amount`: the expression reading
//! it), one per column node (its value is an expression, so nothing is computed), and
//! `enriched.with_columns`, which takes the frame and the selected expressions and makes one
//! `with_columns` call of them, aliased to the column nodes' names. The frame node (`enriched`)
//! then receives that frame. `list`, `viz` and `explain` show every one of them; pictures draw
//! the group in a box. A frame type joins by implementing [`ColumnFrame`] (polars' `LazyFrame`
//! and `DataFrame` do, with feature `polars`).
//!
//! Build errors: a selected column that no column node makes, a column node's expression
//! parameter that is neither a passed column nor a column node, a group with neither
//! `columns_to_pass` nor `pass_dataframe_as`; at run time, before anything is computed, a
//! passed column the frame does not have (named, with the frame's columns).

#[cfg(feature = "polars")]
mod polars;

#[cfg(feature = "polars")]
pub use self::polars::{series_column, SeriesFn};

use std::any::Any;
use std::collections::BTreeSet;
use std::sync::Arc;

use crate::error::{suggest, user_error, Problem};
use crate::module::Modules;
use crate::node::NodeSpec;
use crate::value::{AnyValue, ValueType};

/// A frame type that column nodes can extend: polars' `LazyFrame` and `DataFrame`; Spark's
/// frames later.
pub trait ColumnFrame: Clone + Send + Sync + 'static {
    /// What column nodes build and return (polars: `Expr`).
    type Expr: Clone + Send + Sync + 'static;
    /// The expression that reads column `name`.
    fn column(name: &str) -> Self::Expr;
    /// The frame's column names, found without computing the frame (a lazy frame's schema).
    fn column_names(&self) -> Result<Vec<String>, String>;
    /// A column node's value (an expression, or a computed column) as an expression named
    /// `name`; `None` for a value that is neither.
    fn named(value: &(dyn Any + Send + Sync), name: &str) -> Option<Self::Expr>;
    /// The frame with `columns` appended (or replaced, for a name it has), in one call.
    fn with_columns(self, columns: Vec<Self::Expr>) -> Result<Self, String>;
}

/// A `with_columns` group, as `#[node(with_columns(..))]` records it.
#[doc(hidden)]
pub struct ColumnGroup {
    /// The frame node the group belongs to.
    pub node: &'static str,
    /// Where the frame node is defined.
    pub module: &'static str,
    /// The frame node's parameter that takes the frame: the upstream node.
    pub frame: &'static str,
    pub frame_type: ValueType,
    pub expr_type: ValueType,
    /// The modules of column nodes.
    pub modules: Modules,
    pub columns_to_pass: &'static [&'static str],
    pub pass_dataframe_as: Option<&'static str>,
    pub select: Option<&'static [&'static str]>,
    pub code_version: &'static str,
    pub source: fn(&str) -> AnyValue,
    pub names: fn(&AnyValue) -> Result<Vec<String>, String>,
    pub apply: ApplyFn,
}

/// Applies a group's named column values to an erased frame.
#[doc(hidden)]
pub type ApplyFn = fn(&AnyValue, &[(&str, AnyValue)]) -> Result<AnyValue, String>;

/// The registration of a [`ColumnGroup`] under its module.
#[doc(hidden)]
pub struct GroupRegistration {
    pub module: &'static str,
    pub ctor: fn() -> ColumnGroup,
}

inventory::collect!(GroupRegistration);

/// The node a group's frame comes out of: `<frame node>.with_columns`.
pub fn group_node(frame_node: &str) -> String {
    format!("{frame_node}.with_columns")
}

/// The tag every node of a group carries (`with_columns = <frame node>`): pictures box them.
pub const GROUP_TAG: &str = "with_columns";

fn source<F: ColumnFrame>(name: &str) -> AnyValue {
    Arc::new(F::column(name))
}

fn names<F: ColumnFrame>(frame: &AnyValue) -> Result<Vec<String>, String> {
    frame
        .downcast_ref::<F>()
        .ok_or("the frame is not of the group's type")?
        .column_names()
}

fn apply<F: ColumnFrame>(frame: &AnyValue, cols: &[(&str, AnyValue)]) -> Result<AnyValue, String> {
    let frame = frame
        .downcast_ref::<F>()
        .ok_or("the frame is not of the group's type")?;
    let exprs = cols
        .iter()
        .map(|(name, v)| {
            F::named(&**v, name).ok_or_else(|| {
                format!("column node `{name}` returned neither an expression nor a column")
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Arc::new(frame.clone().with_columns(exprs)?))
}

impl ColumnGroup {
    /// A group over frames of type `F` (generated code passes the value types, made at the
    /// concrete types).
    #[allow(clippy::too_many_arguments)]
    pub fn new<F: ColumnFrame>(
        node: &'static str,
        module: &'static str,
        frame: &'static str,
        types: (ValueType, ValueType),
        modules: Modules,
        columns_to_pass: &'static [&'static str],
        pass_dataframe_as: Option<&'static str>,
        select: Option<&'static [&'static str]>,
        code_version: &'static str,
    ) -> Self {
        ColumnGroup {
            node,
            module,
            frame,
            frame_type: types.0,
            expr_type: types.1,
            modules,
            columns_to_pass,
            pass_dataframe_as,
            select,
            code_version,
            source: source::<F>,
            names: names::<F>,
            apply: apply::<F>,
        }
    }

    /// The groups registered in `module`.
    pub(crate) fn registered_in(module: &str) -> Vec<ColumnGroup> {
        inventory::iter::<GroupRegistration>
            .into_iter()
            .filter(|r| r.module == module)
            .map(|r| (r.ctor)())
            .collect()
    }

    /// The group's nodes: its column nodes, one node per passed column, the frame under
    /// `pass_dataframe_as`, and `<node>.with_columns`. Problems go to `problems`.
    pub(crate) fn expand(&self, listed: &[String], problems: &mut Vec<Problem>) -> Vec<NodeSpec> {
        let tag = |mut spec: NodeSpec| {
            spec.tags
                .push((GROUP_TAG.to_string(), self.node.to_string()));
            spec
        };
        let group = self.node;
        let mut out: Vec<NodeSpec> = Vec::new();
        let mut column_nodes: BTreeSet<String> = BTreeSet::new();
        for (module, specs) in self.modules.collect() {
            if listed.contains(&module) {
                // Listed in the driver's modules too: the nodes are in the graph already.
                column_nodes.extend(specs.iter().map(|s| s.name().to_string()));
                continue;
            }
            if specs.is_empty() {
                problems.push(Problem::Columns(format!(
                    "with_columns of `{group}`: module `{module}` has no column nodes"
                )));
            }
            out.extend(specs.into_iter().map(tag));
        }
        column_nodes.extend(out.iter().map(|s| s.name().to_string()));
        if self.columns_to_pass.is_empty() && self.pass_dataframe_as.is_none() {
            problems.push(Problem::Columns(format!(
                "with_columns of `{group}` passes no columns: give `columns_to_pass = [..]` (the \
                 frame's columns the column nodes read) or `pass_dataframe_as = \"..\"`"
            )));
        }
        // Every expression a column node takes must be a passed column or a column node.
        let known: Vec<&str> = (self.columns_to_pass.iter().copied())
            .chain(column_nodes.iter().map(String::as_str))
            .collect();
        for spec in &out {
            for p in spec.params() {
                if p.value_type().id() != self.expr_type.id() || known.contains(&p.name()) {
                    continue;
                }
                let hint = suggest(p.name(), known.iter().copied())
                    .map(|s| format!(" (did you mean `{s}`?)"))
                    .unwrap_or_default();
                problems.push(Problem::Columns(format!(
                    "column node `{}` of with_columns `{group}` takes `{}`{hint}, which is neither \
                     a column passed to the group (columns_to_pass: {}) nor a column node ({}); \
                     pass the column, or add the column node",
                    spec.name(),
                    p.name(),
                    list(self.columns_to_pass.iter().copied()),
                    list(column_nodes.iter().map(String::as_str)),
                )));
            }
        }
        let selected: Vec<String> = match self.select {
            Some(sel) => sel.iter().map(|s| s.to_string()).collect(),
            None => column_nodes.iter().cloned().collect(),
        };
        for s in &selected {
            if !column_nodes.contains(s) {
                let hint = suggest(s, column_nodes.iter().map(String::as_str))
                    .map(|h| format!(" (did you mean `{h}`?)"))
                    .unwrap_or_default();
                problems.push(Problem::Columns(format!(
                    "with_columns of `{group}` selects `{s}`{hint}, which no column node makes; \
                     column nodes: {}",
                    list(column_nodes.iter().map(String::as_str))
                )));
            }
        }
        for &c in self.columns_to_pass {
            let make = self.source;
            let spec = NodeSpec::builder(c, self.expr_type)
                .module(self.module)
                .doc(format!("Column `{c}` of the frame `{}`.", self.frame))
                .code_version(format!("column {c}"))
                .sync(move |_| Ok(make(c)));
            out.push(tag(spec));
        }
        if let Some(name) = self.pass_dataframe_as {
            let spec = NodeSpec::builder(name, self.frame_type)
                .module(self.module)
                .doc(format!("The frame `{}`, for the column nodes.", self.frame))
                .code_version("pass_dataframe_as")
                .param(self.frame, self.frame_type)
                .sync(|args| args.shared(0));
            out.push(tag(spec));
        }
        let selected: Vec<(String, ValueType)> = selected
            .into_iter()
            .filter_map(|s| {
                let ty = out.iter().find(|n| n.name() == s)?.output();
                Some((s, ty))
            })
            .collect();
        out.push(tag(self.group_spec(selected)));
        out
    }

    /// `<node>.with_columns`: the frame with the selected columns, in one call.
    fn group_spec(&self, selected: Vec<(String, ValueType)>) -> NodeSpec {
        let name = group_node(self.node);
        let mut b = NodeSpec::builder(name.clone(), self.frame_type)
            .module(self.module)
            .doc(format!(
                "`{}` with the columns {} appended in one with_columns call.",
                self.frame,
                list(selected.iter().map(|(s, _)| s.as_str()))
            ))
            .code_version(self.code_version)
            .param(self.frame, self.frame_type);
        for (s, ty) in &selected {
            b = b.param(s.clone(), *ty);
        }
        let (names, apply) = (self.names, self.apply);
        let passed = self.columns_to_pass;
        let frame_node = self.frame;
        b.sync(move |args| {
            let frame = args.shared(0)?;
            // A passed column the frame does not have: said before anything runs.
            if !passed.is_empty() {
                let have = names(&frame).map_err(user_error)?;
                for &c in passed {
                    if !have.iter().any(|h| h == c) {
                        let hint = suggest(c, have.iter().map(String::as_str))
                            .map(|h| format!(" (did you mean `{h}`?)"))
                            .unwrap_or_default();
                        return Err(user_error(format!(
                            "column `{c}`{hint} is not in the frame `{frame_node}`; its columns: {}",
                            list(have.iter().map(String::as_str))
                        )));
                    }
                }
            }
            let cols = (selected.iter().enumerate())
                .map(|(i, (s, _))| Ok((s.as_str(), args.shared(i + 1)?)))
                .collect::<Result<Vec<_>, crate::NodeError>>()?;
            apply(&frame, &cols).map_err(user_error)
        })
    }
}

fn list<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let v: Vec<String> = names.map(|n| format!("`{n}`")).collect();
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}
