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
