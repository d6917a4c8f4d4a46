//! `check_output`'s validators on polars values, as Hamilton's default validators check a
//! series. The numeric ones look at a `Series` of numbers (integers, floats, decimals) value
//! by value, and at every value of every column of a `DataFrame`. A null is a missing value,
//! as NaN is in pandas: `allow_nans = false` and `max_fraction_nans` count nulls with NaNs, in
//! a column of any type; `range`, `mean_in_range` and `max_standard_dev` skip them, and fail
//! on a column that does not hold numbers, naming it and its type, rather than passing on no
//! numbers at all (inside a vector, option or map of series too). `values_in` looks at a
//! series of numbers, strings, categories or booleans, nulls skipped. `data_type = "f64"`
//! checks the series' type, or every column's (Hamilton's `data_type`).
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

use crate::modifiers::check::{DataTypes, Element, Elements, Numbers};

impl Numbers for Series {
    fn each_number(&self, f: &mut dyn FnMut(f64)) {
        // Numbers only: a cast would parse strings ("NaN" into a NaN) and make booleans 0 and
        // 1, value by value. `allow_nans` looks at any column, for its nulls.
        if !self.dtype().is_numeric() {
            return;
        }
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

    fn present(&self) -> usize {
        self.len() - self.null_count()
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

    fn present(&self) -> usize {
        (self.columns().iter())
            .map(|c| c.len() - c.null_count())
            .sum()
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

impl Elements for Series {
    fn each_element(&self, f: &mut dyn FnMut(Element<'_>)) {
        let dtype = self.dtype();
        if dtype.is_numeric() {
            self.each_number(&mut |x| f(Element::Number(x)));
        } else if let Ok(flags) = self.bool() {
            flags.iter().flatten().for_each(|b| f(Element::Bool(b)));
        } else if let Ok(texts) = self.cast(&DataType::String) {
            // Strings as they are; categories as their strings.
            if let Ok(texts) = texts.str() {
                texts.iter().flatten().for_each(|t| f(Element::Text(t)));
            }
        }
    }

    fn not_elements(&self) -> Option<String> {
        let dtype = self.dtype();
        let checked = dtype.is_numeric()
            || dtype.is_bool()
            || dtype.is_string()
            || dtype.is_categorical()
            || dtype.is_enum();
        (!checked).then(|| {
            format!(
                "the series `{}` holds `{dtype}`; values_in checks numbers, strings, categories \
                 and booleans",
                self.name(),
            )
        })
    }

    fn missing_elements(&self) -> usize {
        self.null_count()
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
    use crate::modifiers::check::{
        data_type, max_fraction_nans, max_standard_dev, mean_in_range, no_nans, range, values_in,
    };
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
        // What is missing is counted in a column of any type, as Hamilton counts a pandas
        // series' missing values.
        assert!(no_nans(&s).passed);
        let s = Series::new("region".into(), [Some("eu"), None, Some("us"), Some("eu")]);
        assert_eq!(no_nans(&s).message, "1 of 4 are NaN or null (1 null)");
        assert_eq!(
            max_fraction_nans(&s, 0.2).message,
            "1 of 4 are NaN or null (1 null) (25.00%), more than 20.00%"
        );
        // A string that reads as NaN is a string, not a NaN.
        let words = Series::new("w".into(), ["NaN", "nan", "1.5"]);
        assert_eq!(no_nans(&words).message, "0 of 3 are NaN");
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

    #[test]
    fn values_in_looks_at_strings_categories_booleans_and_numbers_skipping_nulls() {
        let allowed = [Element::Text("eu"), Element::Text("us")];
        let regions = Series::new(
            "region".into(),
            [Some("eu"), None, Some("apac"), Some("us")],
        );
        let r = values_in(&regions, &allowed);
        assert!(!r.passed);
        assert_eq!(
            r.message,
            "1 of 3 not in [\"eu\", \"us\"] (\"apac\" ×1); 1 missing, skipped"
        );
        let categories = regions
            .cast(&DataType::from_categories(Categories::global()))
            .unwrap();
        assert_eq!(values_in(&categories, &allowed).message, r.message);
        let qty = Series::new("qty".into(), [1i64, 2, 2]);
        let numbers = [Element::Number(1.0), Element::Number(2.0)];
        assert!(values_in(&qty, &numbers).passed);
        let flags = Series::new("ok".into(), [true, false]);
        let r = values_in(&flags, &[Element::Bool(true)]);
        assert_eq!(r.message, "1 of 2 not in [true] (false ×1)");
        let days = Series::new("day".into(), [1i32])
            .cast(&DataType::Date)
            .unwrap();
        let r = values_in(&days, &numbers);
        assert!(!r.passed);
        assert_eq!(
            r.message,
            "the series `day` holds `date`; values_in checks numbers, strings, categories and \
             booleans"
        );
    }

    #[test]
    fn the_statistics_of_a_series_skip_nulls_and_count_them_as_missing() {
        let s = Series::new("x".into(), [Some(2.0f64), None, Some(4.0), Some(f64::NAN)]);
        assert_eq!(
            mean_in_range(&s, 0.0, 5.0).message,
            "the mean of 2 is 3, within [0, 5]"
        );
        assert_eq!(
            max_standard_dev(&s, 1.0).message,
            "the standard deviation of 2 is 1.41421, more than 1"
        );
        let r = max_fraction_nans(&s, 0.5);
        assert!(r.passed);
        assert_eq!(
            r.message,
            "2 of 4 are NaN or null (1 null) (50.00%), at most 50.00%"
        );
        let df = df!("a" => [1.0f64, 3.0], "b" => [5i64, 7]).unwrap();
        assert_eq!(
            mean_in_range(&df, 0.0, 3.0).message,
            "the mean of 4 is 4, outside [0, 3]"
        );
        let words = Series::new("w".into(), ["a"]);
        assert_eq!(
            max_standard_dev(&words, 1.0).message,
            "the series `w` holds `str`, not numbers"
        );
    }
}
