//! The validators on what values are: `values_in` (each value is one of a set, Hamilton's
//! check on a series and on a number or string), and `contains` / `does_not_contain` on a
//! string.

use std::collections::HashMap;
use std::fmt;

use super::{cannot_check, shown, CheckResult};

/// One value a validator looks at, or one it allows.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Element<'a> {
    /// A number (integers too), as `f64`.
    Number(f64),
    /// A string.
    Text(&'a str),
    /// A boolean.
    Bool(bool),
}

impl fmt::Display for Element<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Element::Number(x) => f.write_str(&shown(*x)),
            Element::Text(s) => write!(f, "{s:?}"),
            Element::Bool(b) => write!(f, "{b}"),
        }
    }
}

/// Elements whose elements `values_in` can look at: numbers, strings and booleans, and vectors,
/// slices, options and maps of them; with the `polars` feature, a `Series` of numbers,
/// strings, categories or booleans (a null is a missing value, skipped, as Hamilton skips a
/// series' missing values; so is NaN).
///
/// ```
/// use weft::{Element, Elements};
///
/// let mut seen = Vec::new();
/// vec!["eu".to_string(), "us".to_string()].each_element(&mut |v| seen.push(v.to_string()));
/// assert_eq!(seen, ["\"eu\"", "\"us\""]);
/// # let _ = Element::Bool(true);
/// ```
#[diagnostic::on_unimplemented(
    message = "`check_output(values_in = ..)` checks numbers, strings and booleans, not `{Self}`",
    note = "vectors, slices, options and maps of them are checked element by element; with \
            `polars`, a `Series`. On a `DataFrame`, check one column: select it in the node, \
            or put the check on a column node of `extract_columns`"
)]
pub trait Elements {
    /// Calls `f` with each value.
    fn each_element(&self, f: &mut dyn FnMut(Element<'_>));
    /// Why this value cannot be checked, when its type alone does not say (a `Series` of
    /// dates): the validator then fails with that message. `None` (the default) when it can.
    fn not_elements(&self) -> Option<String> {
        None
    }
    /// How many values are missing (a polars null), skipped by `values_in`.
    fn missing_elements(&self) -> usize {
        0
    }
}

macro_rules! numbers {
    ($($t:ty),*) => {
        $(impl Elements for $t {
            fn each_element(&self, f: &mut dyn FnMut(Element<'_>)) {
                f(Element::Number(*self as f64))
            }
        })*
    };
}
numbers!(f64, f32, i8, i16, i32, i64, isize, u8, u16, u32, u64, usize);

impl Elements for str {
    fn each_element(&self, f: &mut dyn FnMut(Element<'_>)) {
        f(Element::Text(self))
    }
}

impl Elements for String {
    fn each_element(&self, f: &mut dyn FnMut(Element<'_>)) {
        f(Element::Text(self))
    }
}

impl Elements for bool {
    fn each_element(&self, f: &mut dyn FnMut(Element<'_>)) {
        f(Element::Bool(*self))
    }
}

elements! {
    Elements { each_element(Element<'_>), not_elements, sums(missing_elements) }
    impl[T: Elements] [T] => |s| s.iter();
    impl[T: Elements] Vec<T> => |s| s.iter();
    impl[T: Elements] Option<T> => |s| s.iter();
    impl[K, V: Elements] std::collections::BTreeMap<K, V> => |s| s.values();
    impl[K, V: Elements, S] std::collections::HashMap<K, V, S> => |s| s.values();
}

/// How many of the values that are not in the set are shown, most frequent first.
const SHOWN: usize = 3;

/// `values_in = ["eu", "us"]`: every value is one of `allowed`; missing values (nulls, NaN)
/// are skipped, as Hamilton skips a series' missing values (use `allow_nans = false` or
/// `max_fraction_nans` on numbers to bound them). A number matches an equal number, a string
/// an equal string, a boolean an equal boolean.
pub fn values_in<T: Elements + ?Sized>(value: &T, allowed: &[Element<'static>]) -> CheckResult {
    const V: &str = "values_in";
    if let Some(why) = value.not_elements() {
        return cannot_check(V, why);
    }
    let set = allowed
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let (mut n, mut skipped) = (0usize, value.missing_elements());
    // The values not in the set, as shown: how often each was seen, and when first.
    let mut wrong: HashMap<String, (usize, usize)> = HashMap::new();
    value.each_element(&mut |v| {
        if matches!(v, Element::Number(x) if x.is_nan()) {
            skipped += 1;
            return;
        }
        n += 1;
        if !allowed.contains(&v) {
            let first = wrong.len();
            wrong.entry(v.to_string()).or_insert((0, first)).0 += 1;
        }
    });
    let outside: usize = wrong.values().map(|(seen, _)| seen).sum();
    let skipped = match skipped {
        0 => String::new(),
        k => format!("; {k} missing, skipped"),
    };
    CheckResult {
        validator: V.into(),
        passed: outside == 0,
        message: if outside == 0 {
            format!("all {n} in [{set}]{skipped}")
        } else {
            // Most frequent first; of as frequent, first seen first.
            let mut wrong: Vec<_> = wrong.into_iter().collect();
            wrong.sort_by_key(|(_, (seen, first))| (std::cmp::Reverse(*seen), *first));
            let mut shown: Vec<String> = (wrong.iter().take(SHOWN))
                .map(|(v, (seen, _))| format!("{v} ×{seen}"))
                .collect();
            if wrong.len() > SHOWN {
                shown.push(format!("{} more", wrong.len() - SHOWN));
            }
            format!(
                "{outside} of {n} not in [{set}] ({}){skipped}",
                shown.join(", ")
            )
        },
    }
}

/// A string `contains` and `does_not_contain` look at. Other values do not compile:
///
/// ```compile_fail
/// use weft::prelude::*;
///
/// #[node(check_output(contains = "x"))]
/// fn total(x: &f64) -> f64 {
///     *x
/// }
/// # fn main() {}
/// ```
#[diagnostic::on_unimplemented(
    message = "`check_output(contains = ..)` and `does_not_contain` check a string, not `{Self}`",
    note = "on a polars series of strings, write a `custom` validator"
)]
pub trait Text {
    /// The string.
    fn text(&self) -> &str;
}

impl Text for str {
    fn text(&self) -> &str {
        self
    }
}

impl Text for String {
    fn text(&self) -> &str {
        self
    }
}

impl Text for Box<str> {
    fn text(&self) -> &str {
        self
    }
}

impl Text for std::sync::Arc<str> {
    fn text(&self) -> &str {
        self
    }
}

/// `contains = "x"` or `contains = ["x", "y"]`: the string contains each of them.
pub fn contains<T: Text + ?Sized>(value: &T, each: &[&str]) -> CheckResult {
    substrings("contains", value.text(), each, true)
}

/// `does_not_contain = "x"` or `["x", "y"]`: the string contains none of them.
pub fn does_not_contain<T: Text + ?Sized>(value: &T, each: &[&str]) -> CheckResult {
    substrings("does_not_contain", value.text(), each, false)
}

fn substrings(validator: &str, text: &str, each: &[&str], wanted: bool) -> CheckResult {
    let wrong: Vec<String> = (each.iter())
        .filter(|s| text.contains(**s) != wanted)
        .map(|s| format!("{s:?}"))
        .collect();
    let all = || each.iter().map(|s| format!("{s:?}")).collect::<Vec<_>>();
    let message = match (wrong.is_empty(), wanted) {
        (true, true) => format!("contains {}", all().join(", ")),
        (true, false) => format!("contains none of {}", all().join(", ")),
        (false, true) => format!("does not contain {}", wrong.join(", ")),
        (false, false) => format!("contains {}", wrong.join(", ")),
    };
    CheckResult {
        validator: validator.into(),
        passed: wrong.is_empty(),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_in_names_the_most_frequent_values_outside_the_set() {
        let allowed = [Element::Text("eu"), Element::Text("us")];
        let regions: Vec<&str> = vec!["eu", "apac", "us", "mea", "apac", "latam", "x", "apac"];
        let owned: Vec<String> = regions.iter().map(|s| s.to_string()).collect();
        let r = values_in(&owned, &allowed);
        assert!(!r.passed);
        assert_eq!(
            r.message,
            "6 of 8 not in [\"eu\", \"us\"] (\"apac\" ×3, \"mea\" ×1, \"latam\" ×1, 1 more)"
        );
        let r = values_in(&owned[..1], &allowed);
        assert!(r.passed);
        assert_eq!(r.message, "all 1 in [\"eu\", \"us\"]");
    }

    #[test]
    fn values_in_matches_numbers_by_value_and_skips_nans() {
        let allowed = [
            Element::Number(1.0),
            Element::Number(2.5),
            Element::Bool(true),
        ];
        assert!(values_in(&vec![1i64, 1, 1], &allowed).passed);
        let r = values_in(&vec![1.0, f64::NAN, 2.5], &allowed);
        assert!(r.passed);
        assert_eq!(r.message, "all 2 in [1, 2.5, true]; 1 missing, skipped");
        // A string "1" is not the number 1.
        let r = values_in("1", &allowed);
        assert!(!r.passed);
        assert_eq!(r.message, "1 of 1 not in [1, 2.5, true] (\"1\" ×1)");
        assert!(values_in(&Some(true), &allowed).passed);
        assert!(!values_in(&false, &allowed).passed);
    }

    #[test]
    fn contains_names_what_is_missing_or_there() {
        let s = "SELECT * FROM orders".to_string();
        let r = contains(&s, &["SELECT", "WHERE"]);
        assert!(!r.passed);
        assert_eq!(r.message, "does not contain \"WHERE\"");
        assert!(contains(&s, &["FROM"]).passed);
        let r = does_not_contain(&s, &["DROP", "*"]);
        assert!(!r.passed);
        assert_eq!(r.message, "contains \"*\"");
        let r = does_not_contain(s.as_str(), &["DROP"]);
        assert!(r.passed);
        assert_eq!(r.message, "contains none of \"DROP\"");
    }
}
