//! `check_output` (Hamilton's `@check_output` / `@check_output_custom`): node `x` becomes
//! `x_raw`, `x_check` and `x`; every default validator through a driver, what a failed check
//! does with `importance = "fail"` and `"warn"`. (On polars values: `tests/frames.rs`.)

use weft::prelude::*;
use weft::ExecuteError;

pub mod checks {
    use weft::prelude::*;

    pub fn not_empty(v: &[f64]) -> Result<(), String> {
        if v.is_empty() {
            Err("no values".to_string())
        } else {
            Ok(())
        }
    }

    #[node(check_output(range = (0.0, 1.0), allow_nans = false, importance = "fail"))]
    pub fn ratio(a: &f64, b: &f64) -> f64 {
        a / b
    }

    #[node(check_output(range = (0, 100), custom = not_empty))]
    pub fn scores(raw: &[f64]) -> Vec<f64> {
        raw.to_vec()
    }

    #[node]
    pub fn doubled(ratio: &f64) -> f64 {
        ratio * 2.0
    }
}

fn checks() -> Driver {
    Builder::new()
        .with_modules(weft::modules![crate::checks])
        .build()
        .unwrap()
}

#[test]
fn check_output_passes_a_good_value_on_and_records_the_report() {
    let dr = checks();
    let (out, run) = dr
        .request(&["doubled", "ratio_check"])
        .inputs(inputs! { "a" => 1.0, "b" => 4.0 })
        .run()
        .unwrap();
    assert_eq!(*out.get::<f64>("doubled").unwrap(), 0.5);
    let report = out.get::<weft::CheckReport>("ratio_check").unwrap();
    assert!(report.passed());
    assert_eq!(report.importance, weft::Importance::Fail);
    let validators: Vec<&str> = report
        .results
        .iter()
        .map(|r| r.validator.as_str())
        .collect();
    assert_eq!(validators, ["range", "allow_nans"]);
    for node in ["ratio_raw", "ratio_check", "ratio", "doubled"] {
        assert!(run.executed.contains(&node.to_string()), "{node}: {run:?}");
    }
}

#[test]
fn a_failing_check_with_importance_fail_fails_the_node() {
    let dr = checks();
    let err = dr
        .execute(&["doubled"], inputs! { "a" => 3.0, "b" => 2.0 })
        .unwrap_err();
    let ExecuteError::NodeFailed { node, source, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(node, "ratio");
    assert_eq!(
        source.to_string(),
        "`ratio` failed its checks: range: 1 of 1 outside [0, 1] (first: 1.5)"
    );
    let err = dr
        .execute(&["ratio"], inputs! { "a" => 0.0, "b" => 0.0 })
        .unwrap_err();
    assert!(
        err.to_string().contains("allow_nans: 1 of 1 are NaN"),
        "{err}"
    );
}

#[test]
fn a_failing_check_with_importance_warn_keeps_the_value_and_reports() {
    let dr = checks();
    let out = dr
        .execute(
            &["scores", "scores_check"],
            inputs! { "raw" => vec![5.0, 150.0, 101.0] },
        )
        .unwrap();
    assert_eq!(out.get::<Vec<f64>>("scores").unwrap(), &[5.0, 150.0, 101.0]);
    let report = out.get::<weft::CheckReport>("scores_check").unwrap();
    assert!(!report.passed());
    assert_eq!(
        report.results[0].message,
        "2 of 3 outside [0, 100] (first: 150)"
    );
    assert!(report.results[1].passed);
    assert_eq!(report.results[1].validator, "not_empty");

    let out = dr
        .execute(&["scores_check"], inputs! { "raw" => Vec::<f64>::new() })
        .unwrap();
    let report = out.get::<weft::CheckReport>("scores_check").unwrap();
    assert_eq!(report.results[1].message, "no values");
    assert_eq!(
        report.to_string(),
        "`scores` failed its checks: not_empty: no values"
    );
}

/// Hamilton's other default validators on plain values.
pub mod more_checks {
    use weft::prelude::*;

    #[node(check_output(values_in = ["daily", "weekly"], importance = "fail"))]
    pub fn cadence(raw_cadence: &str) -> String {
        raw_cadence.trim().to_lowercase()
    }

    #[node(check_output(contains = "{date}", does_not_contain = ["DROP", ";"]))]
    pub fn query(cadence: &str) -> String {
        format!("SELECT * FROM orders_{cadence} WHERE day = {{date}}")
    }

    #[node(check_output(allow_none = false, importance = "fail"))]
    pub fn threshold(raw: &[f64]) -> Option<f64> {
        raw.iter().copied().reduce(f64::max)
    }

    #[node(check_output(mean_in_range = (0, 10), max_standard_dev = 1.5, values_in = [1, 2, 3]))]
    pub fn ratings(raw: &[f64]) -> Vec<f64> {
        raw.to_vec()
    }
}

#[test]
fn the_other_default_validators_check_strings_options_and_vectors() {
    let dr = Builder::new()
        .with_modules(weft::modules![crate::more_checks])
        .build()
        .unwrap();
    let out = dr
        .execute(
            &["query", "query_check", "threshold", "ratings_check"],
            inputs! { "raw_cadence" => " Daily ".to_string(), "raw" => vec![1.0, 3.0] },
        )
        .unwrap();
    assert!(out
        .get::<weft::CheckReport>("query_check")
        .unwrap()
        .passed());
    assert_eq!(*out.get::<Option<f64>>("threshold").unwrap(), Some(3.0));
    let report = out.get::<weft::CheckReport>("ratings_check").unwrap();
    assert!(report.passed(), "{report}");

    let err = dr
        .execute(
            &["cadence"],
            inputs! { "raw_cadence" => "hourly".to_string() },
        )
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("values_in: 1 of 1 not in [\"daily\", \"weekly\"] (\"hourly\" ×1)"),
        "{err}"
    );
    let err = dr
        .execute(&["threshold"], inputs! { "raw" => Vec::<f64>::new() })
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("`threshold` failed its checks: allow_none: is None"),
        "{err}"
    );
    let out = dr
        .execute(&["ratings_check"], inputs! { "raw" => vec![1.0, 4.0, 9.0] })
        .unwrap();
    let report = out.get::<weft::CheckReport>("ratings_check").unwrap();
    let verdicts: Vec<(&str, bool)> = (report.results.iter())
        .map(|r| (r.validator.as_str(), r.passed))
        .collect();
    assert_eq!(
        verdicts,
        [
            ("mean_in_range", true),
            ("max_standard_dev", false),
            ("values_in", false)
        ]
    );
    assert_eq!(
        report.results[2].message,
        "2 of 3 not in [1, 2, 3] (4 ×1, 9 ×1)"
    );
}

/// Which nodes a check looks at: Hamilton's `target_`.
pub mod targets {
    use serde::{Deserialize, Serialize};
    use weft::prelude::*;

    #[derive(Debug, Clone, Serialize, Deserialize)]
    pub struct Bounds {
        pub low: f64,
        pub high: f64,
    }

    /// No target: each extracted field is checked, as Hamilton checks a function's final nodes.
    #[node(extract_fields(low: f64, high: f64), check_output(range = (0, 10), importance = "fail"))]
    pub fn bounds(raw: &[f64]) -> Bounds {
        let low = raw.iter().copied().fold(f64::INFINITY, f64::min);
        let high = raw.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        Bounds { low, high }
    }

    /// A check per target, the function's own node among them.
    #[node(
        extract_fields(first: f64, last: f64),
        check_output(allow_nans = false, target = ["first", "last"]),
        check_output(custom = not_empty, target = "ends", importance = "fail")
    )]
    pub fn ends(raw: &[f64]) -> Ends {
        Ends {
            first: raw.first().copied().unwrap_or(f64::NAN),
            last: raw.last().copied().unwrap_or(f64::NAN),
            n: raw.len(),
        }
    }

    #[derive(Debug, Clone, Serialize, Deserialize)]
    pub struct Ends {
        pub first: f64,
        pub last: f64,
        pub n: usize,
    }

    pub fn not_empty(e: &Ends) -> Result<(), String> {
        (e.n > 0).then_some(()).ok_or_else(|| "no values".into())
    }
}

#[test]
fn check_output_checks_each_extracted_node_or_the_targets_it_names() {
    let dr = Builder::new()
        .with_modules(weft::modules![crate::targets])
        .build()
        .unwrap();
    let names: Vec<&str> = dr.graph().nodes().iter().map(|n| n.name()).collect();
    for made in [
        "bounds",
        "low_raw",
        "low_check",
        "low",
        "high_raw",
        "high_check",
        "high",
        "ends_raw",
        "ends_check",
        "ends",
        "first_raw",
        "first_check",
        "first",
        "last_check",
    ] {
        assert!(names.contains(&made), "no node `{made}` among {names:?}");
    }
    for absent in ["bounds_raw", "bounds_check"] {
        assert!(!names.contains(&absent), "`{absent}` among {names:?}");
    }

    let out = dr
        .execute(&["low", "high"], inputs! { "raw" => vec![2.0, 4.0] })
        .unwrap();
    assert_eq!(
        (
            *out.get::<f64>("low").unwrap(),
            *out.get::<f64>("high").unwrap()
        ),
        (2.0, 4.0)
    );
    // The field out of range fails; the other, and the struct, are fine.
    let raw = inputs! { "raw" => vec![2.0, 40.0] };
    let err = dr.execute(&["high"], raw.clone()).unwrap_err();
    let ExecuteError::NodeFailed { node, source, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(node, "high");
    assert_eq!(
        source.to_string(),
        "`high` failed its checks: range: 1 of 1 outside [0, 10] (first: 40)"
    );
    assert!(dr.execute(&["low", "bounds"], raw).is_ok());

    // `ends` has its own check, failing it; its fields theirs, warning on NaN.
    let err = dr
        .execute(&["first"], inputs! { "raw" => Vec::<f64>::new() })
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("`ends` failed its checks: not_empty: no values"),
        "{err}"
    );
    let out = dr
        .execute(
            &["first", "last_check"],
            inputs! { "raw" => vec![f64::NAN, 1.0] },
        )
        .unwrap();
    assert!(out.get::<f64>("first").unwrap().is_nan());
    assert!(out.get::<weft::CheckReport>("last_check").unwrap().passed());
}

/// `check_output` on a parameterized function: each output is checked (its final nodes), or
/// the one its target names.
pub mod per_output {
    use weft::prelude::*;

    #[node(
        parameterize(share_eu(sales = source("sales_eu")), share_us(sales = source("sales_us"))),
        check_output(range = (0, 1), importance = "fail")
    )]
    pub fn share(sales: &f64, total: &f64) -> f64 {
        sales / total
    }

    #[node(
        parameterize(cap_low(level = value(1.0)), cap_high(level = value(50.0))),
        check_output(max_standard_dev = 10, target = "cap_high")
    )]
    pub fn cap(level: &f64, spread: &[f64]) -> Vec<f64> {
        spread.iter().map(|x| x * level).collect()
    }
}

#[test]
fn check_output_checks_each_parameterized_output_or_its_target() {
    let dr = Builder::new()
        .with_modules(weft::modules![crate::per_output])
        .build()
        .unwrap();
    for (node, there) in [
        ("share_eu_check", true),
        ("share_us_check", true),
        ("cap_high_check", true),
        ("cap_low_check", false),
        ("share_check", false),
    ] {
        assert_eq!(dr.graph().node(node).is_some(), there, "{node}");
    }
    let inputs = inputs! {
        "sales_eu" => 3.0, "sales_us" => 30.0, "total" => 10.0, "spread" => vec![1.0, 2.0],
    };
    let out = dr
        .execute(&["share_eu", "cap_low"], inputs.clone())
        .unwrap();
    assert_eq!(*out.get::<f64>("share_eu").unwrap(), 0.3);
    let err = dr.execute(&["share_us"], inputs.clone()).unwrap_err();
    assert!(
        err.to_string()
            .contains("`share_us` failed its checks: range: 1 of 1 outside [0, 1] (first: 3)"),
        "{err}"
    );
    let out = dr.execute(&["cap_high_check"], inputs).unwrap();
    let report = out.get::<weft::CheckReport>("cap_high_check").unwrap();
    assert_eq!(
        report.results[0].message,
        "the standard deviation of 2 is 35.3553, more than 10"
    );
}

/// `check_output` with `pipe_output`: the check looks at the last step's value, whatever its
/// type, before it is node `label`.
pub mod piped {
    use weft::prelude::*;

    pub fn add_one(x: &f64) -> f64 {
        x + 1.0
    }

    #[node(
        pipe_output(add_one, |x: &f64| -> String { format!("{x:.1}") }),
        check_output(does_not_contain = "-", importance = "fail")
    )]
    pub fn label(value: &f64) -> f64 {
        *value
    }
}

#[test]
fn check_output_with_pipe_output_checks_the_last_steps_value() {
    let dr = Builder::new()
        .with_modules(weft::modules![crate::piped])
        .build()
        .unwrap();
    let chain: Vec<&str> = [
        "label.raw",
        "label.add_one",
        "label_raw",
        "label_check",
        "label",
    ]
    .into_iter()
    .filter(|n| dr.graph().node(n).is_some())
    .collect();
    assert_eq!(
        chain,
        [
            "label.raw",
            "label.add_one",
            "label_raw",
            "label_check",
            "label"
        ]
    );
    let out = dr.execute(&["label"], inputs! { "value" => 1.5 }).unwrap();
    assert_eq!(out.get::<String>("label").unwrap(), "2.5");
    let err = dr
        .execute(&["label"], inputs! { "value" => -4.0 })
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("`label` failed its checks: does_not_contain: contains \"-\""),
        "{err}"
    );
}
