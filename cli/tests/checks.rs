//! What the command line reports beyond the results: `check_output` verdicts in
//! `weft cache show`, and the driver's warnings on stderr (even with `--quiet`), with the
//! library's rule for input names nothing reads.

mod common;

use common::{flow, stderr, stdout, tempdir, weft, REPORT_INPUTS};
use weft::prelude::*;

pub mod quality {
    use weft::prelude::*;

    /// A share, checked: warns when it is out of range.
    #[node(check_output(range = (0.0, 1.0)))]
    pub fn share(part: &f64, whole: &f64) -> f64 {
        part / whole
    }

    #[node(check_output(range = (0, 100), allow_nans = false))]
    pub fn scores(raw: &[f64]) -> Vec<f64> {
        raw.to_vec()
    }
}

#[test]
fn cache_show_lists_the_runs_check_verdicts() {
    let dir = tempdir();
    let cache_dir = dir.path().join("my_cache");
    let dr = Builder::new()
        .with_modules(weft::modules![crate::quality])
        .with_cache_config(weft::CacheConfig::at(&cache_dir))
        .build()
        .unwrap();
    let (out, run) = dr
        .request(&["share", "scores"])
        .inputs(inputs! { "part" => 3.0, "whole" => 2.0, "raw" => vec![5.0, 50.0] })
        .run()
        .unwrap();
    // `warn`: the value is kept; the run's record says what failed.
    assert_eq!(*out.get::<f64>("share").unwrap(), 1.5);
    let verdicts: Vec<(&str, bool)> = run
        .checks
        .iter()
        .map(|r| (r.node.as_str(), r.passed()))
        .collect();
    assert_eq!(verdicts.len(), 2, "{:?}", run.checks);
    assert!(verdicts.contains(&("share", false)));
    assert!(verdicts.contains(&("scores", true)));
    drop(dr);

    let shown = weft(dir.path())
        .args(["cache", "show", "--cache-dir", "my_cache"])
        .assert()
        .success()
        .get_output()
        .clone();
    let text = stdout(&shown);
    assert!(text.contains("checks:"), "{text}");
    assert!(text.contains("share: FAILED (warn)"), "{text}");
    assert!(
        text.contains("FAIL range: 1 of 1 outside [0, 1] (first: 1.5)"),
        "{text}"
    );
    assert!(text.contains("scores: passed"), "{text}");

    let json = weft(dir.path())
        .args(["cache", "show", "--json", "--cache-dir", "my_cache"])
        .assert()
        .success()
        .get_output()
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let checks = v["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 2, "{v}");
    assert!(checks
        .iter()
        .any(|c| c["node"] == "share" && c["results"][0]["passed"] == false));
}

#[test]
fn an_input_nothing_reads_is_a_warning_even_with_quiet() {
    let dir = tempdir();
    let out = flow(dir.path())
        .args(["build", "report", "--quiet", "--no-cache"])
        .args(REPORT_INPUTS)
        .args(["--input", "campaign=spring"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(stdout(&out).contains("EU: 125% of target cost per signup"));
    let err = stderr(&out);
    assert!(
        err.contains(
            "warning: input `campaign` is not read by any node of this graph; it is ignored"
        ),
        "{err}"
    );
}

#[test]
fn a_misspelt_input_is_an_error_as_in_the_library() {
    let dir = tempdir();
    // `region` (optional) is not given: `regoin` is taken for a misspelling of it.
    let out = flow(dir.path())
        .args(["build", "report", "--no-cache"])
        .args(&REPORT_INPUTS[..6])
        .args(["--input", "regoin=US"])
        .assert()
        .code(2)
        .get_output()
        .clone();
    let err = stderr(&out);
    assert!(
        err.contains("unknown input `regoin` (did you mean `region`?)"),
        "{err}"
    );
}
