//! `#[node(check_output(..))]` (Hamilton's `@check_output`): data-quality checks on a node's
//! value. Node `x` becomes three: `x_raw` (the function), `x_check` (a [`CheckReport`]: what
//! each validator found, a node of its own, so it is recorded, cached and can be requested like
//! any value) and `x`, the raw value once checked: with `importance = "fail"` a failed check
//! fails `x`; with `"warn"` (the default) it is logged as a warning and `x` keeps its value.
//!
//! The validators are Hamilton's default ones, one file per kind of look:
//! - `numbers`: `range`, `allow_nans`, `max_fraction_nans`, `mean_in_range`,
//!   `max_standard_dev`, on anything [`Numbers`] (numbers, their containers; polars series
//!   and frames);
//! - `values`: `values_in` on anything [`Elements`] (numbers, strings, booleans, their
//!   containers; a polars series), `contains` and `does_not_contain` on a string ([`Text`]);
//! - `types`: `data_type` on a polars series or frame ([`DataTypes`]) and `allow_none` on an
//!   `Option` ([`Nullable`]).
//!
//! A validator is a function from the value to a [`CheckResult`]; `custom = path` is any
//! `fn(&T) -> Result<(), String>`. A value a validator cannot apply to is a compile error
//! naming the validator (each trait's `on_unimplemented`), or, when only its contents say (a
//! series of strings checked for a `range`), a failed result saying why.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::NodeError;
use crate::node::Args;
use crate::value::AnyValue;

/// What a failed check does to the node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Importance {
    /// Log a warning; the node keeps its value.
    Warn,
    /// Fail the node.
    Fail,
}

/// One validator's verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResult {
    /// The validator: its argument's name (`range`, `values_in`, ..), or a custom
    /// validator's function name.
    pub validator: String,
    /// Whether the value passed.
    pub passed: bool,
    /// What was found.
    pub message: String,
}

/// Every validator's verdict on one node's value: the value of node `x_check`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckReport {
    /// The checked node.
    pub node: String,
    /// What a failure does.
    pub importance: Importance,
    /// One per validator, in the order written.
    pub results: Vec<CheckResult>,
}

impl CheckReport {
    /// Whether every validator passed.
    pub fn passed(&self) -> bool {
        self.results.iter().all(|r| r.passed)
    }
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let failed: Vec<String> = self
            .results
            .iter()
            .filter(|r| !r.passed)
            .map(|r| format!("{}: {}", r.validator, r.message))
            .collect();
        if failed.is_empty() {
            write!(f, "`{}` passed its checks", self.node)
        } else {
            write!(
                f,
                "`{}` failed its checks: {}",
                self.node,
                failed.join("; ")
            )
        }
    }
}

/// One impl per container (slices, vectors, options, maps) of a validator's trait: the
/// container's values are its elements', and so are what is missing and why they cannot be
/// checked (a `Vec<Series>` of strings fails as its series would).
macro_rules! elements {
    (
        $tr:ident { $each:ident($arg:ty), $why:ident, sums $sums:tt }
        $(impl[$($g:tt)*] $ty:ty => |$s:ident| $iter:expr;)*
    ) => {
        $(elements!(@one $tr, $each, $arg, $why, $sums, [$($g)*], $ty, $s, $iter);)*
    };
    (
        @one $tr:ident, $each:ident, $arg:ty, $why:ident, ($($sum:ident),*),
        [$($g:tt)*], $ty:ty, $s:ident, $iter:expr
    ) => {
        impl<$($g)*> $tr for $ty {
            fn $each(&self, f: &mut dyn FnMut($arg)) {
                let $s = self;
                $iter.for_each(|x| x.$each(f))
            }
            fn $why(&self) -> Option<String> {
                let $s = self;
                $iter.find_map(|x| x.$why())
            }
            $(fn $sum(&self) -> usize {
                let $s = self;
                $iter.map(|x| x.$sum()).sum()
            })*
        }
    };
}

mod numbers;
mod types;
mod values;

pub use numbers::{max_fraction_nans, max_standard_dev, mean_in_range, no_nans, range, Numbers};
pub use types::{data_type, not_none, DataTypes, Nullable};
pub use values::{contains, does_not_contain, values_in, Element, Elements, Text};

/// A validator that could not look at the value: failed, saying why.
fn cannot_check(validator: &str, why: String) -> CheckResult {
    CheckResult {
        validator: validator.into(),
        passed: false,
        message: why,
    }
}

/// A number as a person reads it: six significant digits, trailing zeros dropped (`2.13809`,
/// `5`, `0.50025`); very large or small ones in exponent form.
fn shown(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return x.to_string();
    }
    let magnitude = x.abs().log10().floor();
    if !(-4.0..15.0).contains(&magnitude) {
        return format!("{x:.5e}");
    }
    let decimals = (5.0 - magnitude).max(0.0) as usize;
    let s = format!("{x:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// `custom = path::to::validator`: a function `fn(&T) -> Result<(), String>`.
pub fn custom(name: &str, verdict: Result<(), String>) -> CheckResult {
    CheckResult {
        validator: name.into(),
        passed: verdict.is_ok(),
        message: verdict.err().unwrap_or_else(|| "passed".into()),
    }
}

/// The body of node `x`: argument 0 is `x_raw`, argument 1 is `x_check`. Passes the raw value
/// on (shared, not copied), or fails / warns as the report's importance says.
#[doc(hidden)]
pub fn checked(args: &Args<'_>) -> Result<AnyValue, NodeError> {
    let report = args.get::<CheckReport>(1)?;
    if !report.passed() {
        match report.importance {
            Importance::Fail => return Err(NodeError::user(report.to_string())),
            Importance::Warn => tracing::warn!(node = %report.node, "{report}"),
        }
    }
    args.shared(0)
}
