//! The validators on numbers: `range`, `allow_nans`, `max_fraction_nans`, `mean_in_range` and
//! `max_standard_dev` (Hamilton's default validators on a series and on numbers), and the
//! [`Numbers`] trait they look through.

use super::{cannot_check, shown, CheckResult};

/// Values whose numbers a validator can look at: numbers, and vectors, slices, options and
/// maps of them (every element is checked, like Hamilton's checks on a series); with the
/// `polars` feature, a `Series` or `DataFrame` of numbers (a null is a missing value, see
/// [`missing`](Numbers::missing)).
///
/// ```
/// use weft::Numbers;
///
/// let mut sum = 0.0;
/// vec![Some(1.5), None, Some(2.0)].each_number(&mut |x| sum += x);
/// assert_eq!(sum, 3.5);
/// ```
#[diagnostic::on_unimplemented(
    message = "`check_output`'s numeric validators check numbers, not `{Self}`",
    note = "numbers, and vectors, slices, options and maps of them, are checked (with the \
            `polars` feature, a `Series` or `DataFrame` too); write a `custom` validator for \
            anything else"
)]
pub trait Numbers {
    /// Calls `f` with each number (as `f64`).
    fn each_number(&self, f: &mut dyn FnMut(f64));
    /// Why this value cannot be checked as numbers, when its type alone does not say (a
    /// `Series` of strings): `range`, `mean_in_range` and `max_standard_dev` then fail with
    /// that message rather than passing on no numbers at all. `None` (the default) when it
    /// can be. (`allow_nans` and `max_fraction_nans` count what is missing in any column, as
    /// Hamilton's count a pandas series' missing values of any type.)
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
    /// How many values there are, missing ones aside: the numbers, and the values of a
    /// column that does not hold numbers (what `allow_nans` and `max_fraction_nans` count
    /// against). The default counts the numbers.
    fn present(&self) -> usize {
        let mut n = 0;
        self.each_number(&mut |_| n += 1);
        n
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

elements! {
    Numbers { each_number(f64), not_numbers, sums(missing, present) }
    impl[T: Numbers] [T] => |s| s.iter();
    impl[T: Numbers] Vec<T> => |s| s.iter();
    impl[T: Numbers] Option<T> => |s| s.iter();
    impl[K, V: Numbers] std::collections::BTreeMap<K, V> => |s| s.values();
    impl[K, V: Numbers, S] std::collections::HashMap<K, V, S> => |s| s.values();
}

/// `range = (low, high)`: every number is within `[low, high]` (NaN is not).
pub fn range<T: Numbers + ?Sized>(value: &T, low: f64, high: f64) -> CheckResult {
    if let Some(why) = value.not_numbers() {
        return cannot_check("range", why);
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

/// How many values there are (missing ones aside), and how many are NaN or missing.
struct Gaps {
    present: usize,
    nans: usize,
    missing: usize,
}

impl Gaps {
    fn of<T: Numbers + ?Sized>(value: &T) -> Gaps {
        let mut nans = 0usize;
        value.each_number(&mut |x| nans += usize::from(x.is_nan()));
        Gaps {
            present: value.present(),
            nans,
            missing: value.missing(),
        }
    }

    /// "3 of 10 are NaN", or "… NaN or null (1 null)" when some are missing.
    fn told(&self) -> String {
        if self.missing == 0 {
            format!("{} of {} are NaN", self.nans, self.present)
        } else {
            format!(
                "{} of {} are NaN or null ({} null)",
                self.nans + self.missing,
                self.present + self.missing,
                self.missing
            )
        }
    }
}

/// `allow_nans = false`: no number is NaN, and no value is missing ([`Numbers::missing`]: a
/// polars null, in a column of any type). `allow_nans = true` checks nothing.
pub fn no_nans<T: Numbers + ?Sized>(value: &T) -> CheckResult {
    let gaps = Gaps::of(value);
    CheckResult {
        validator: "allow_nans".into(),
        passed: gaps.nans + gaps.missing == 0,
        message: gaps.told(),
    }
}

/// `max_fraction_nans = 0.05`: at most that fraction (within `[0, 1]`) of the values is NaN
/// or missing (a polars null, in a column of any type), as Hamilton's check on a series. An
/// empty value has none.
pub fn max_fraction_nans<T: Numbers + ?Sized>(value: &T, most: f64) -> CheckResult {
    const V: &str = "max_fraction_nans";
    if !(0.0..=1.0).contains(&most) {
        return cannot_check(
            V,
            format!("{most} is not a fraction: write one within [0, 1]"),
        );
    }
    let gaps = Gaps::of(value);
    let (bad, all) = (gaps.nans + gaps.missing, gaps.present + gaps.missing);
    let fraction = if all == 0 {
        0.0
    } else {
        bad as f64 / all as f64
    };
    let passed = fraction <= most;
    CheckResult {
        validator: V.into(),
        passed,
        message: format!(
            "{} ({:.2}%), {} {:.2}%",
            gaps.told(),
            100.0 * fraction,
            if passed { "at most" } else { "more than" },
            100.0 * most
        ),
    }
}

/// The count, mean and spread of the numbers that are not NaN (Welford's running sums).
struct Moments {
    count: usize,
    mean: f64,
    squares: f64,
}

impl Moments {
    fn of<T: Numbers + ?Sized>(value: &T) -> Moments {
        let mut m = Moments {
            count: 0,
            mean: 0.0,
            squares: 0.0,
        };
        value.each_number(&mut |x| {
            if x.is_nan() {
                return;
            }
            m.count += 1;
            let delta = x - m.mean;
            m.mean += delta / m.count as f64;
            m.squares += delta * (x - m.mean);
        });
        m
    }
}

/// `mean_in_range = (low, high)`: the mean of the numbers (NaNs and missing values skipped, as
/// pandas' `mean` skips them) is within `[low, high]`. With no numbers there is no mean: it
/// fails, as Hamilton's check does on an empty series.
pub fn mean_in_range<T: Numbers + ?Sized>(value: &T, low: f64, high: f64) -> CheckResult {
    const V: &str = "mean_in_range";
    if let Some(why) = value.not_numbers() {
        return cannot_check(V, why);
    }
    let m = Moments::of(value);
    if m.count == 0 {
        return cannot_check(V, "no numbers to average (none, or all NaN or null)".into());
    }
    let passed = (low..=high).contains(&m.mean);
    CheckResult {
        validator: V.into(),
        passed,
        message: format!(
            "the mean of {} is {}, {} [{low}, {high}]",
            m.count,
            shown(m.mean),
            if passed { "within" } else { "outside" }
        ),
    }
}

/// `max_standard_dev = 2.0`: the sample standard deviation of the numbers (divided by n − 1,
/// as pandas' `std`; NaNs and missing values skipped) is at most that. With fewer than two
/// numbers there is none: it fails, as Hamilton's check does.
pub fn max_standard_dev<T: Numbers + ?Sized>(value: &T, most: f64) -> CheckResult {
    const V: &str = "max_standard_dev";
    if let Some(why) = value.not_numbers() {
        return cannot_check(V, why);
    }
    let m = Moments::of(value);
    if m.count < 2 {
        return cannot_check(
            V,
            format!(
                "{} number(s) that are not NaN or null: a standard deviation needs two",
                m.count
            ),
        );
    }
    let sd = (m.squares / (m.count - 1) as f64).sqrt();
    let passed = sd <= most;
    CheckResult {
        validator: V.into(),
        passed,
        message: format!(
            "the standard deviation of {} is {}, {} {most}",
            m.count,
            shown(sd),
            if passed { "at most" } else { "more than" }
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fraction_of_nans_is_of_every_value() {
        let v = vec![1.0, f64::NAN, 3.0, 4.0];
        let r = max_fraction_nans(&v, 0.25);
        assert!(r.passed, "{}", r.message);
        assert_eq!(r.message, "1 of 4 are NaN (25.00%), at most 25.00%");
        let r = max_fraction_nans(&v, 0.2);
        assert!(!r.passed);
        assert_eq!(r.message, "1 of 4 are NaN (25.00%), more than 20.00%");
        assert!(max_fraction_nans(&Vec::<f64>::new(), 0.0).passed);
        let r = max_fraction_nans(&v, 1.5);
        assert!(!r.passed);
        assert_eq!(r.message, "1.5 is not a fraction: write one within [0, 1]");
    }

    #[test]
    fn mean_and_standard_deviation_skip_nans_and_fail_without_enough_numbers() {
        let v = [2.0, 4.0, f64::NAN, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
        let r = mean_in_range(&v[..], 4.0, 6.0);
        assert!(r.passed);
        assert_eq!(r.message, "the mean of 8 is 5, within [4, 6]");
        assert!(!mean_in_range(&v[..], 0.0, 4.5).passed);
        // pandas: pd.Series([2, 4, 4, 4, 5, 5, 7, 9]).std() == 2.138089935299395
        let r = max_standard_dev(&v[..], 2.0);
        assert!(!r.passed);
        assert_eq!(
            r.message,
            "the standard deviation of 8 is 2.13809, more than 2"
        );
        assert!(max_standard_dev(&v[..], 2.2).passed);
        let one = Some(3.0);
        let r = max_standard_dev(&one, 10.0);
        assert!(!r.passed);
        assert!(r.message.starts_with("1 number(s)"), "{}", r.message);
        let r = mean_in_range(&[f64::NAN][..], 0.0, 1.0);
        assert!(!r.passed);
        assert_eq!(
            r.message,
            "no numbers to average (none, or all NaN or null)"
        );
    }

    #[test]
    fn numbers_far_from_zero_keep_their_spread() {
        // A naive sum of squares loses this to cancellation; Welford's does not.
        let v: Vec<f64> = (0..1000).map(|i| 1e9 + f64::from(i % 2)).collect();
        let r = max_standard_dev(&v, 1.0);
        assert!(r.passed);
        assert_eq!(
            r.message,
            "the standard deviation of 1000 is 0.50025, at most 1"
        );
    }
}
