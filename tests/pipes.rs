//! `pipe_input` / `pipe_output` (Hamilton's `@pipe_input` / `@pipe_output` with `step`): a
//! chain of transforms before or after a function, each step a node with its own
//! dependencies; what they build, what reruns, and their build errors.

use weft::prelude::*;
use weft::Problem;

pub mod steps {
    use std::sync::atomic::{AtomicU32, Ordering};
    use weft::prelude::*;

    pub static SCALED: AtomicU32 = AtomicU32::new(0);

    pub fn add_one(x: &f64) -> f64 {
        x + 1.0
    }

    /// The piped `raw`: one added, scaled by `factor` (a dependency of the step), then
    /// rounded to a whole number (a step that changes the type).
    #[node(pipe_input(
        add_one,
        scaled = |x: &f64, factor: &f64| {
            super::steps::SCALED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            x * factor
        },
        |x: &f64| -> i64 { x.round() as i64 },
    ))]
    pub fn described(raw: i64, unit: &str) -> String {
        format!("{raw} {unit}")
    }

    /// `on_input` picks the parameter; a step named like a function.
    #[node(pipe_input(add_one, on_input = "b"))]
    pub fn sum(a: &f64, b: &f64) -> f64 {
        a + b
    }

    /// After the function: its value is `total.raw`, the steps follow, the last is `total`.
    #[node(pipe_output(add_one, doubled = |x: &f64| x * 2.0, |x: &f64| -> String { format!("{x:.1}") }))]
    pub fn total(values: &[f64]) -> f64 {
        values.iter().sum()
    }

    pub fn scaled_calls() -> u32 {
        SCALED.load(Ordering::SeqCst)
    }
}

fn driver() -> Driver {
    Builder::new()
        .with_modules(weft::modules![crate::steps])
        .build()
        .unwrap()
}

#[test]
fn pipe_input_runs_the_steps_before_the_function() {
    let dr = driver();
    let (out, run) = dr
        .request(&["described"])
        .inputs(inputs! { "raw" => 2.0, "factor" => 1.5, "unit" => "kg".to_string() })
        .run()
        .unwrap();
    // (2 + 1) * 1.5 = 4.5, rounded to 5 (half away from zero).
    assert_eq!(out.get::<String>("described").unwrap(), "5 kg");
    assert_eq!(
        run.executed,
        [
            "described.add_one",
            "described.scaled",
            "described.step3",
            "described"
        ]
    );
    // Each step is a node with its own dependencies and type.
    let g = dr.graph();
    let scaled = g.node("described.scaled").unwrap().spec().unwrap();
    let params: Vec<&str> = scaled.params().iter().map(|p| p.name()).collect();
    assert_eq!(params, ["described.add_one", "factor"]);
    assert_eq!(
        g.node("described.step3").unwrap().value_type().short_name(),
        "i64"
    );
    assert_eq!(
        g.node("described").unwrap().spec().unwrap().params()[0].name(),
        "described.step3"
    );
    // `raw` is what the first step reads: an input of type f64, not the function's i64.
    assert_eq!(g.node("raw").unwrap().value_type().short_name(), "f64");
}

#[test]
fn a_step_reruns_only_when_what_it_reads_changes() {
    let dr = driver();
    let run = |unit: &str| {
        dr.request(&["described"])
            .inputs(inputs! { "raw" => 2.0, "factor" => 1.5, "unit" => unit.to_string() })
            .run()
            .unwrap()
            .1
    };
    let before = steps::scaled_calls();
    run("kg");
    let after_first = steps::scaled_calls();
    assert!(after_first > before);
    // Only `unit` changed: the steps are reused, the function reruns.
    let second = run("lb");
    assert_eq!(second.executed, ["described"]);
    assert_eq!(steps::scaled_calls(), after_first);
}

#[test]
fn on_input_pipes_the_named_parameter() {
    let dr = driver();
    let out = dr
        .execute(&["sum"], inputs! { "a" => 1.0, "b" => 10.0 })
        .unwrap();
    assert_eq!(*out.get::<f64>("sum").unwrap(), 12.0);
    assert!(dr.graph().node("sum.add_one").is_some());
}

#[test]
fn pipe_output_runs_the_steps_after_the_function() {
    let dr = driver();
    let (out, run) = dr
        .request(&["total", "total.raw"])
        .inputs(inputs! { "values" => vec![1.0, 2.0] })
        .run()
        .unwrap();
    assert_eq!(*out.get::<f64>("total.raw").unwrap(), 3.0);
    // (3 + 1) * 2, formatted: the last step is the node `total`, of the last step's type.
    assert_eq!(out.get::<String>("total").unwrap(), "8.0");
    assert_eq!(
        run.executed,
        ["total.raw", "total.add_one", "total.doubled", "total"]
    );
}

#[test]
fn a_step_edit_changes_only_its_own_code_version() {
    let dr = driver();
    let version = |n: &str| {
        dr.graph()
            .node(n)
            .unwrap()
            .spec()
            .unwrap()
            .code_version()
            .to_string()
    };
    assert_ne!(version("described.add_one"), version("described.scaled"));
    assert_ne!(version("total.add_one"), version("described.add_one"));
}

pub mod mismatched {
    use weft::prelude::*;

    /// The step returns a `String`, but `count` takes a `u64`: a type mismatch on the edge,
    /// found when the graph is built.
    #[node(pipe_input(|x: &u64| -> String { x.to_string() }))]
    pub fn count(n: &u64) -> u64 {
        *n
    }
}

#[test]
fn a_step_of_the_wrong_type_is_a_build_error() {
    let err = Builder::new()
        .with_modules(weft::modules![crate::mismatched])
        .build()
        .err()
        .unwrap();
    assert!(
        err.problems
            .iter()
            .any(|p| matches!(p, Problem::TypeMismatch { .. })),
        "{err}"
    );
    assert!(err.to_string().contains("count.step1"), "{err}");
}

/// A reusable part, added twice through `#[node(subdag(..))]` (Hamilton's `@subdag`).
pub mod part {
    use weft::prelude::*;

    #[node]
    pub fn cleaned(raw: &[f64]) -> Vec<f64> {
        raw.iter().copied().filter(|x| *x >= 0.0).collect()
    }

    #[node]
    pub fn total(cleaned: &[f64], rate: &f64) -> f64 {
        cleaned.iter().sum::<f64>() * rate
    }
}

pub mod regions {
    use weft::prelude::*;

    /// The part under namespace `total_eu`: `total` is node `total_eu.total`.
    #[node(subdag(super::part, inputs(raw = source("raw_eu")), config(rate = 2.0)))]
    pub fn total_eu(total: &f64) -> f64 {
        *total
    }

    /// Under a namespace of its own, with a fixed input (`value`) and the rate from config.
    #[node(subdag(
        super::part,
        namespace = "us",
        inputs(raw = value(vec![10.0, -3.0])),
        config(rate = 1.0)
    ))]
    pub fn total_us(total: &f64, cleaned: &[f64]) -> String {
        format!("{total} from {} values", cleaned.len())
    }
}

#[test]
fn the_subdag_attribute_adds_the_part_under_a_namespace() {
    let dr = Builder::new()
        .with_modules(weft::modules![crate::regions])
        .build()
        .unwrap();
    let out = dr
        .execute(
            &["total_eu", "total_us", "total_eu.cleaned"],
            inputs! { "raw_eu" => vec![1.0, -5.0, 2.0] },
        )
        .unwrap();
    assert_eq!(*out.get::<f64>("total_eu").unwrap(), 6.0);
    assert_eq!(
        out.get::<Vec<f64>>("total_eu.cleaned").unwrap(),
        &[1.0, 2.0]
    );
    assert_eq!(out.get::<String>("total_us").unwrap(), "10 from 1 values");
    let params: Vec<&str> = dr
        .graph()
        .node("total_us")
        .unwrap()
        .spec()
        .unwrap()
        .params()
        .iter()
        .map(|p| p.name())
        .collect();
    assert_eq!(params, ["us.total", "us.cleaned"]);
}

pub mod bad_part_input {
    use weft::prelude::*;

    /// `inputs(raws = ..)`: the part has no parameter `raws`.
    #[node(subdag(super::part, inputs(raws = source("raw_eu")), config(rate = 2.0)))]
    pub fn total_eu(total: &f64) -> f64 {
        *total
    }
}

#[test]
fn a_subdag_input_the_part_does_not_have_is_a_build_error() {
    let err = Builder::new()
        .with_modules(weft::modules![crate::bad_part_input])
        .build()
        .err()
        .unwrap();
    assert!(
        err.problems
            .iter()
            .any(|p| matches!(p, Problem::Subdag { namespace, .. } if namespace == "total_eu")),
        "{err}"
    );
}

pub mod nested {
    use weft::prelude::*;

    /// A part whose own function is a subdag: added inside the outer part, as `outer.inner.x`.
    #[node(subdag(super::part, namespace = "inner", inputs(raw = source("raw")), config(rate = 3.0)))]
    pub fn tripled(total: &f64) -> f64 {
        *total
    }
}

pub mod outer {
    use weft::prelude::*;

    #[node(subdag(super::nested, namespace = "outer", inputs(raw = source("raw_all"))))]
    pub fn all_tripled(tripled: &f64) -> f64 {
        *tripled
    }
}

#[test]
fn a_subdag_inside_a_subdag_is_added_too() {
    let dr = Builder::new()
        .with_modules(weft::modules![crate::outer])
        .build()
        .unwrap();
    let out = dr
        .execute(
            &["all_tripled"],
            inputs! { "raw_all" => vec![1.0, 2.0, -1.0] },
        )
        .unwrap();
    assert_eq!(*out.get::<f64>("all_tripled").unwrap(), 9.0);
    assert!(dr.graph().node("outer.inner.cleaned").is_some());
    assert!(dr.graph().node("outer.tripled").is_some());
}
