//! The validators on what kind of value a node made, where Rust's types leave it to run time:
//! `data_type` (a polars series' or frame's column types) and `allow_none = false` (an
//! `Option` is `Some`).

use super::CheckResult;

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

/// Values that can be `None`: an `Option`. Any other Rust value always has one, so
/// `allow_none = false` on it does not compile:
///
/// ```compile_fail
/// use weft::prelude::*;
///
/// #[node(check_output(allow_none = false))]
/// fn total(x: &f64) -> f64 {
///     *x
/// }
/// # fn main() {}
/// ```
///
/// ```
/// use weft::prelude::*;
///
/// #[node(check_output(allow_none = false))]
/// fn total(x: &[f64]) -> Option<f64> {
///     x.iter().copied().reduce(f64::max)
/// }
/// # fn main() {}
/// ```
#[diagnostic::on_unimplemented(
    message = "`check_output(allow_none = false)` checks an `Option`; a `{Self}` is never None",
    note = "only an `Option` can be None: Rust has checked that this value is there"
)]
pub trait Nullable {
    /// Whether the value is `None`.
    fn holds_none(&self) -> bool;
}

impl<T> Nullable for Option<T> {
    fn holds_none(&self) -> bool {
        self.is_none()
    }
}

/// `allow_none = false`: the value is not `None` (Hamilton's `allow_none`). `allow_none =
/// true` checks nothing.
pub fn not_none<T: Nullable + ?Sized>(value: &T) -> CheckResult {
    let none = value.holds_none();
    CheckResult {
        validator: "allow_none".into(),
        passed: !none,
        message: if none { "is None" } else { "is not None" }.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_none_fails_on_none_alone() {
        let r = not_none(&None::<f64>);
        assert!(!r.passed);
        assert_eq!(r.message, "is None");
        assert!(not_none(&Some(0.0)).passed);
    }
}
