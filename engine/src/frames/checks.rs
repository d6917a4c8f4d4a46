//! `check_output`'s validators on polars values, as Hamilton's default validators check a
//! series: for `range` and `allow_nans`, a `Series` of numbers (integers, floats, decimals)
//! has each valid value checked; a `DataFrame` has every value of every column checked, and
//! all its columns must hold numbers. A null is a missing value, as NaN is in pandas:
//! `allow_nans = false` fails on nulls as on NaNs, and `range` skips them. A column of anything
//! else fails the validator, naming the column and its type, rather than passing on no numbers
//! at all (inside a vector, option or map of series too).
//! `data_type = "f64"` checks the series' type, or every column's (Hamilton's `data_type`).
//!
//! ```
//! use weft::frames::polars::prelude::*;
//! use weft::prelude::*;
//!
//! #[node(check_output(range = (0.0, 1.0), allow_nans = false, importance = "fail"))]
//! fn share(amount: &Series) -> Result<Series, PolarsError> {
//!     let total = amount.sum::<f64>()?;
//!     Ok((amount.cast(&DataType::Float64)? / total).with_name("share".into()))
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dr = Builder::new().with_modules(weft::modules![crate]).build()?;
//! let amount = Series::new("amount".into(), [1.0f64, 3.0]);
//! let out = dr.execute(&["share"], inputs! { "amount" => amount })?;
//! assert_eq!(out.get::<Series>("share")?.f64()?.get(1), Some(0.75));
//!
//! // A negative amount makes a share below 0: the node fails, saying how many.
//! let amount = Series::new("amount".into(), [-1.0f64, 3.0, 2.0]);
//! let err = dr.execute(&["share"], inputs! { "amount" => amount }).unwrap_err();
//! assert!(err.to_string().contains("range: 1 of 3 outside [0, 1]"), "{err}");
//! # Ok(()) }
//! ```

use polars::prelude::{DataFrame, DataType, Series};

use crate::modifiers::check::{DataTypes, Numbers};

impl Numbers for Series {
    fn each_number(&self, f: &mut dyn FnMut(f64)) {
        // `not_numbers` said these are numbers, which cast to floats.
        let Ok(floats) = self.cast(&DataType::Float64) else {
            return;
        };
        let Ok(floats) = floats.f64() else { return };
        for chunk in floats.downcast_iter() {
            if chunk.validity().is_none_or(|v| v.unset_bits() == 0) {
                chunk.values().iter().for_each(|&x| f(x));
            } else {
                chunk.iter().flatten().for_each(|&x| f(x));
            }
        }
    }

    fn missing(&self) -> usize {
        self.null_count()
    }

    fn not_numbers(&self) -> Option<String> {
        (!self.dtype().is_numeric()).then(|| {
            format!(
                "the series `{}` holds `{}`, not numbers",
                self.name(),
                self.dtype()
            )
        })
    }
}

impl Numbers for DataFrame {
    fn each_number(&self, f: &mut dyn FnMut(f64)) {
        for column in self.columns() {
            column.as_materialized_series().each_number(f);
        }
    }

    fn missing(&self) -> usize {
        self.columns().iter().map(|c| c.null_count()).sum()
    }

    fn not_numbers(&self) -> Option<String> {
        let others: Vec<String> = (self.columns().iter())
            .filter(|c| !c.dtype().is_numeric())
            .map(|c| format!("`{}` ({})", c.name(), c.dtype()))
            .collect();
        (!others.is_empty()).then(|| {
            format!(
                "columns {} do not hold numbers; check the numeric columns alone (select them, \
                 or check a column node of `extract_columns`)",
                others.join(", ")
            )
        })
    }
}

impl DataTypes for Series {
    fn data_types(&self) -> Vec<(String, String, String)> {
        vec![named(self.name(), self.dtype())]
    }
}

impl DataTypes for DataFrame {
    fn data_types(&self) -> Vec<(String, String, String)> {
        (self.columns().iter())
            .map(|c| named(c.name(), c.dtype()))
            .collect()
    }
}

/// A column's name, and its type as polars prints it and as its `Debug` does.
fn named(name: &str, dtype: &DataType) -> (String, String, String) {
    (name.to_string(), dtype.to_string(), format!("{dtype:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modifiers::check::{data_type, no_nans, range};
    use polars::prelude::*;

    #[test]
    fn a_series_is_checked_value_by_value_nulls_skipped_by_range_and_counted_by_allow_nans() {
        let s = Series::new("x".into(), [Some(0.5f64), None, Some(2.0), Some(f64::NAN)]);
        let r = range(&s, 0.0, 1.0);
        assert!(!r.passed);
        assert_eq!(r.message, "2 of 3 outside [0, 1] (first: 2)");
        let n = no_nans(&s);
        assert!(!n.passed);
        assert_eq!(n.message, "2 of 4 are NaN or null (1 null)");
        let without_nulls = Series::new("x".into(), [0.5f64, f64::NAN]);
        assert_eq!(no_nans(&without_nulls).message, "1 of 2 are NaN");
        // Integers, in several chunks.
        let mut ints = Series::new("n".into(), [1i64, 2, 3]);
        ints.append(&Series::new("n".into(), [4i64, 50])).unwrap();
        assert_eq!(ints.n_chunks(), 2);
        assert_eq!(
            range(&ints, 0.0, 10.0).message,
            "1 of 5 outside [0, 10] (first: 50)"
        );
        assert!(range(&ints, 0.0, 50.0).passed);
    }

    #[test]
    fn what_is_not_numbers_fails_the_validator_naming_it() {
        let s = Series::new("region".into(), ["eu", "us"]);
        let r = range(&s, 0.0, 1.0);
        assert!(!r.passed);
        assert_eq!(r.message, "the series `region` holds `str`, not numbers");
        assert!(!no_nans(&s).passed);
        let df = df!("region" => ["eu"], "amount" => [1.0f64], "ok" => [true]).unwrap();
        let r = range(&df, 0.0, 10.0);
        assert!(!r.passed);
        assert!(
            r.message
                .starts_with("columns `region` (str), `ok` (bool) do not hold numbers"),
            "{}",
            r.message
        );
        let df = df!("amount" => [1.0f64, 20.0], "qty" => [3i32, 4]).unwrap();
        assert_eq!(
            range(&df, 0.0, 10.0).message,
            "1 of 4 outside [0, 10] (first: 20)"
        );
    }

    #[test]
    fn series_inside_containers_are_checked_as_they_would_be_alone() {
        let with_null = Series::new("x".into(), [Some(1.0f64), None]);
        let strings = Series::new("region".into(), ["eu"]);
        let all = vec![with_null.clone(), with_null.clone()];
        assert_eq!(no_nans(&all).message, "2 of 4 are NaN or null (2 null)");
        let some = Some(with_null);
        assert!(!no_nans(&some).passed);
        let mixed = std::collections::BTreeMap::from([
            ("a", Series::new("a".into(), [1.0f64])),
            ("b", strings),
        ]);
        let r = range(&mixed, 0.0, 10.0);
        assert!(!r.passed);
        assert_eq!(r.message, "the series `region` holds `str`, not numbers");
    }

    #[test]
    fn data_type_names_each_column_of_another_type() {
        let df = df!("amount" => [1.0f64], "price" => [2.0f64], "qty" => [3i32]).unwrap();
        let r = data_type(&df, "f64");
        assert!(!r.passed);
        assert_eq!(r.message, "`qty` is `i32`, not `f64`");
        let amount = df.column("amount").unwrap().as_materialized_series();
        for spelling in ["f64", "Float64"] {
            let r = data_type(amount, spelling);
            assert!(r.passed, "{spelling}: {}", r.message);
            assert_eq!(r.message, format!("all 1 of `{spelling}`"));
        }
        assert!(!data_type(amount, "float").passed);
    }
}
