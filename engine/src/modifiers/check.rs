//! `#[node(check_output(..))]` (Hamilton's `@check_output`): data-quality checks on a node's
//! value. Node `x` becomes three: `x_raw` (the function), `x_check` (a [`CheckReport`]: what
//! each validator found, a node of its own, so it is recorded, cached and can be requested like
//! any value) and `x`, the raw value once checked: with `importance = "fail"` a failed check
//! fails `x`; with `"warn"` (the default) it is logged as a warning and `x` keeps its value.

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
    /// The validator: `range`, `allow_nans`, or a custom validator's function name.
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

/// Values whose numbers a validator can look at: numbers, and vectors, slices, options and
/// maps of them (every element is checked, like Hamilton's checks on a series); with the
/// `polars` feature, a `Series` or `DataFrame` of numbers (a null is a missing value, see
/// [`missing`](Numbers::missing)).
pub trait Numbers {
    /// Calls `f` with each number (as `f64`).
    fn each_number(&self, f: &mut dyn FnMut(f64));
    /// Why this value cannot be checked as numbers, when its type alone does not say (a
    /// `Series` of strings): the validator then fails with that message rather than passing
    /// on no numbers at all. `None` (the default) when it can be.
    fn not_numbers(&self) -> Option<String> {
        None
    }
    /// How many values are missing (a polars null): `allow_nans = false` counts them with the
    /// NaNs, as Hamilton's check counts a pandas series' missing values, and `range` skips
    /// them. The default is none: an `Option`'s `None` is a choice the type states, skipped by
    /// both.
    fn missing(&self) -> usize {
        0
    }
}

macro_rules! numbers {
    ($($t:ty),*) => {
        $(impl Numbers for $t {
            fn each_number(&self, f: &mut dyn FnMut(f64)) {
                f(*self as f64)
            }
        })*
    };
}
numbers!(f64, f32, i8, i16, i32, i64, isize, u8, u16, u32, u64, usize);

/// Containers: their numbers are their elements', and so are what is missing and why they
/// are not numbers (a `Vec<Series>` of strings fails as its series would).
macro_rules! elements {
    ($(impl[$($g:tt)*] $ty:ty => |$s:ident| $iter:expr;)*) => {
        $(impl<$($g)*> Numbers for $ty {
            fn each_number(&self, f: &mut dyn FnMut(f64)) {
                let $s = self;
                $iter.for_each(|x| x.each_number(f))
            }
            fn not_numbers(&self) -> Option<String> {
                let $s = self;
                $iter.find_map(|x| x.not_numbers())
            }
            fn missing(&self) -> usize {
                let $s = self;
                $iter.map(|x| x.missing()).sum()
            }
        })*
    };
}
elements! {
    impl[T: Numbers] [T] => |s| s.iter();
    impl[T: Numbers] Vec<T> => |s| s.iter();
    impl[T: Numbers] Option<T> => |s| s.iter();
    impl[K, V: Numbers] std::collections::BTreeMap<K, V> => |s| s.values();
    impl[K, V: Numbers, S] std::collections::HashMap<K, V, S> => |s| s.values();
}

/// `range = (low, high)`: every number is within `[low, high]` (NaN is not).
pub fn range<T: Numbers + ?Sized>(value: &T, low: f64, high: f64) -> CheckResult {
    if let Some(why) = value.not_numbers() {
        return not_numbers("range", why);
    }
    let (mut n, mut outside, mut first) = (0usize, 0usize, None);
    value.each_number(&mut |x| {
        n += 1;
        if !(low..=high).contains(&x) {
            outside += 1;
            first.get_or_insert(x);
        }
    });
    CheckResult {
        validator: "range".into(),
        passed: outside == 0,
        message: match first {
            None => format!("all {n} within [{low}, {high}]"),
            Some(x) => format!("{outside} of {n} outside [{low}, {high}] (first: {x})"),
        },
    }
}

/// `allow_nans = false`: no number is NaN, and no value is missing ([`Numbers::missing`]: a
/// polars null). `allow_nans = true` checks nothing.
pub fn no_nans<T: Numbers + ?Sized>(value: &T) -> CheckResult {
    if let Some(why) = value.not_numbers() {
        return not_numbers("allow_nans", why);
    }
    let (mut n, mut nans) = (0usize, 0usize);
    value.each_number(&mut |x| {
        n += 1;
        nans += usize::from(x.is_nan());
    });
    let missing = value.missing();
    CheckResult {
        validator: "allow_nans".into(),
        passed: nans + missing == 0,
        message: if missing == 0 {
            format!("{nans} of {n} are NaN")
        } else {
            format!(
                "{} of {} are NaN or null ({missing} null)",
                nans + missing,
                n + missing
            )
        },
    }
}

/// Values whose element types are known only when they run: with the `polars` feature, a
/// `Series` (its dtype) and a `DataFrame` (each column's). A Rust value's type is checked by
/// the compiler, so `data_type` does not apply to it.
#[diagnostic::on_unimplemented(
    message = "`check_output(data_type = ..)` checks a polars `Series` or `DataFrame`, not `{Self}`",
    note = "a Rust value's type is checked when it compiles; use `range`, `allow_nans` or `custom`"
)]
pub trait DataTypes {
    /// Each column's name and type as polars writes it (`f64`, `str`, `datetime[μs]`), and
    /// as its `Debug` does (`Float64`): either spelling is accepted.
    fn data_types(&self) -> Vec<(String, String, String)>;
}

/// `data_type = "f64"`: the series (every column of the frame) is of that type, written as
/// polars prints it (`f64`, `i64`, `str`, `bool`, `date`) or as its `Debug` (`Float64`).
pub fn data_type<T: DataTypes + ?Sized>(value: &T, wanted: &str) -> CheckResult {
    let columns = value.data_types();
    let wrong: Vec<String> = (columns.iter())
        .filter(|(_, shown, debug)| shown != wanted && debug != wanted)
        .map(|(name, shown, _)| format!("`{name}` is `{shown}`"))
        .collect();
    CheckResult {
        validator: "data_type".into(),
        passed: wrong.is_empty(),
        message: if wrong.is_empty() {
            format!("all {} of `{wanted}`", columns.len())
        } else {
            format!("{}, not `{wanted}`", wrong.join(", "))
        },
    }
}

/// A validator that could not look at the value: failed, saying why.
fn not_numbers(validator: &str, why: String) -> CheckResult {
    CheckResult {
        validator: validator.into(),
        passed: false,
        message: why,
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
