//! Hamilton's function modifiers as `#[node(..)]` arguments: `when*` (config.when),
//! `parameterize`, `extract_fields`; what they build, and their build errors.

use std::collections::BTreeMap;

use weft::prelude::*;
use weft::{ExecuteError, NodeError, Problem};

/// `total` has one implementation per region; `report` needs it.
pub mod regions {
    use weft::prelude::*;

    #[node(when(region = "eu"))]
    pub fn total__eu(sales: &f64) -> f64 {
        sales * 1.2
    }

    #[node(when_in(region = ["us", "ca"]))]
    pub fn total__americas(sales: &f64) -> f64 {
        sales + 1.0
    }

    /// An explicit name instead of the `__suffix` convention.
    #[node(name = "total", when_not_in(region = ["eu", "us", "ca"]))]
    pub fn total_elsewhere(sales: &f64) -> f64 {
        *sales
    }

    #[node(when(debug = true))]
    pub fn debug_note(total: &f64) -> String {
        format!("total is {total}")
    }

    #[node]
    pub fn report(total: &f64) -> String {
        format!("{total:.1}")
    }
}

fn region_driver(config: Inputs) -> Result<Driver, weft::BuildError> {
    Builder::new()
        .with_modules(weft::modules![crate::regions])
        .with_config(config)
        .build()
}

fn report(config: Inputs) -> String {
    let dr = region_driver(config).unwrap();
    let out = dr
        .execute(&["report"], inputs! { "sales" => 10.0 })
        .unwrap();
    out.get::<String>("report").unwrap().clone()
}

#[test]
fn when_picks_the_implementation_the_config_selects() {
    assert_eq!(report(inputs! { "region" => "eu" }), "12.0");
    assert_eq!(report(inputs! { "region" => "ca" }), "11.0");
    assert_eq!(report(inputs! { "region" => "jp" }), "10.0");
    let dr = region_driver(inputs! { "region" => "eu" }).unwrap();
    let spec = dr.graph().node("total").unwrap().spec().unwrap();
    assert_eq!(spec.function(), "total__eu");
    assert_eq!(spec.conditions()[0].to_string(), "region = \"eu\"");
    // `when(debug = true)` with no `debug` key: left out, and nobody needs it.
    assert!(dr.graph().node("debug_note").is_none());
    let dr = region_driver(inputs! { "region" => "eu", "debug" => true }).unwrap();
    assert!(dr.graph().node("debug_note").is_some());
}

#[test]
fn each_implementation_has_its_own_code_version() {
    let version = |region: &str| {
        let dr = region_driver(inputs! { "region" => region.to_string() }).unwrap();
        let v = dr
            .graph()
            .node("total")
            .unwrap()
            .spec()
            .unwrap()
            .code_version()
            .to_string();
        v
    };
    assert_ne!(version("eu"), version("us"));
    assert_eq!(version("us"), version("ca"));
}

/// A `when` that leaves a needed node with no implementation, and one that keeps two.
pub mod gaps {
    use weft::prelude::*;

    #[node(when(mode = "fast"))]
    pub fn model__fast(data: &u64) -> u64 {
        *data
    }

    #[node(when(mode = "slow"))]
    pub fn model__slow(data: &u64) -> u64 {
        data * 2
    }

    #[node(when(tier = 1))]
    pub fn model__tier_one(data: &u64) -> u64 {
        data + 1
    }

    #[node]
    pub fn score(model: &u64) -> u64 {
        *model
    }
}

fn gaps(config: Inputs) -> weft::BuildError {
    Builder::new()
        .with_modules(weft::modules![crate::gaps])
        .with_config(config)
        .build()
        .err()
        .expect("the build fails")
}

#[test]
fn a_when_that_leaves_a_needed_node_without_implementation_is_a_build_error() {
    let err = gaps(inputs! { "mode" => "medium" });
    let [Problem::NoImplementation {
        node,
        variants,
        needed_by,
    }] = &err.problems[..]
    else {
        panic!("{err}")
    };
    assert_eq!(node, "model");
    assert_eq!(needed_by, &["score"]);
    assert_eq!(variants.len(), 3);
    let text = err.to_string();
    assert!(
        text.contains("model__fast (when mode = \"fast\")")
            && text.contains("model__tier_one (when tier = 1)"),
        "{text}"
    );
}

#[test]
fn a_when_that_keeps_two_implementations_is_a_build_error() {
    let err = gaps(inputs! { "mode" => "slow", "tier" => 1u8 });
    let [Problem::AmbiguousImplementations { node, functions }] = &err.problems[..] else {
        panic!("{err}")
    };
    assert_eq!(node, "model");
    assert_eq!(functions.len(), 2);
    assert!(functions[0].starts_with("model__slow") || functions[1].starts_with("model__slow"));
}

/// `revenue` expands into one node per region.
pub mod params {
    use weft::prelude::*;

    /// Revenue of {region}, from `{amount}`.
    #[node(parameterize(
        revenue_eu(region = value("eu"), amount = source("sales_eu")),
        revenue_us(region = value("us"), amount = source(sales_us), rate = value(1.5)),
    ))]
    pub fn revenue(region: &str, amount: &f64, rate: Option<&f64>) -> String {
        format!("{region}: {:.1}", amount * rate.copied().unwrap_or(1.0))
    }

    #[node(parameterize(threshold_low(level = value(10)), threshold_high(level = value(90))))]
    pub fn threshold(level: u64, scale: &u64) -> u64 {
        level * scale
    }
}

#[test]
fn parameterize_makes_one_node_per_output() {
    let dr = Builder::new()
        .with_modules(weft::modules![crate::params])
        .build()
        .unwrap();
    assert!(dr.graph().node("revenue").is_none());
    let out = dr
        .execute(
            &[
                "revenue_eu",
                "revenue_us",
                "threshold_low",
                "threshold_high",
            ],
            inputs! { "sales_eu" => 2.0, "sales_us" => 4.0, "scale" => 2u64 },
        )
        .unwrap();
    assert_eq!(out.get::<String>("revenue_eu").unwrap(), "eu: 2.0");
    assert_eq!(out.get::<String>("revenue_us").unwrap(), "us: 6.0");
    assert_eq!(*out.get::<u64>("threshold_low").unwrap(), 20);
    assert_eq!(*out.get::<u64>("threshold_high").unwrap(), 180);

    let spec = |n: &str| dr.graph().node(n).unwrap().spec().unwrap().clone();
    let eu = spec("revenue_eu");
    let names: Vec<&str> = eu.params().iter().map(|p| p.name()).collect();
    assert_eq!(names, ["sales_eu", "rate"]);
    assert_eq!(eu.function(), "revenue");
    assert_eq!(eu.doc(), "Revenue of eu, from `sales_eu`.");
    assert_eq!(spec("revenue_us").doc(), "Revenue of us, from `sales_us`.");
    // Bound values are part of each output's code version.
    assert_ne!(eu.code_version(), spec("revenue_us").code_version());
    assert_ne!(
        spec("threshold_low").code_version(),
        spec("threshold_high").code_version()
    );
}

/// A parameterize output named like another function of the module.
pub mod clash {
    use weft::prelude::*;

    #[node(parameterize(double_a(x = source("a")), double_b(x = source("b"))))]
    pub fn double(x: &u64) -> u64 {
        x * 2
    }

    #[node]
    pub fn double_b(c: &u64) -> u64 {
        *c
    }
}

#[test]
fn a_parameterize_output_named_like_another_node_is_a_build_error() {
    let err = Builder::new()
        .with_modules(weft::modules![crate::clash])
        .build()
        .err()
        .unwrap();
    let [Problem::DefinedTwice {
        name,
        module,
        functions,
    }] = &err.problems[..]
    else {
        panic!("{err}")
    };
    assert_eq!(name, "double_b");
    assert!(module.ends_with("clash"));
    let mut functions = functions.clone();
    functions.sort();
    assert_eq!(functions, ["double", "double_b"]);
}

#[derive(Clone, Debug, PartialEq)]
pub struct Stats {
    pub mean: f64,
    pub count: u64,
}

pub mod fields {
    use super::Stats;
    use std::collections::BTreeMap;
    use weft::prelude::*;

    #[node(extract_fields(mean: f64, count: u64), tags(kind = "summary"))]
    pub fn stats(values: &[f64]) -> Stats {
        Stats {
            mean: values.iter().sum::<f64>() / values.len() as f64,
            count: values.len() as u64,
        }
    }

    #[node(extract_fields(low: f64, high: f64))]
    pub fn bounds(values: &[f64], with_high: &bool) -> BTreeMap<String, f64> {
        let mut m = BTreeMap::new();
        m.insert(
            "low".to_string(),
            values.iter().cloned().fold(f64::MAX, f64::min),
        );
        if *with_high {
            m.insert(
                "high".to_string(),
                values.iter().cloned().fold(f64::MIN, f64::max),
            );
        }
        m
    }
}

#[test]
fn extract_fields_makes_a_node_per_field() {
    let dr = Builder::new()
        .with_modules(weft::modules![crate::fields])
        .build()
        .unwrap();
    let values = vec![1.0, 2.0, 6.0];
    let out = dr
        .execute(
            &["stats", "mean", "count", "low", "high"],
            inputs! { "values" => values.clone(), "with_high" => true },
        )
        .unwrap();
    assert_eq!(*out.get::<f64>("mean").unwrap(), 3.0);
    assert_eq!(*out.get::<u64>("count").unwrap(), 3);
    assert_eq!(out.get::<Stats>("stats").unwrap().count, 3);
    assert_eq!(*out.get::<f64>("low").unwrap(), 1.0);
    assert_eq!(*out.get::<f64>("high").unwrap(), 6.0);

    let mean = dr.graph().node("mean").unwrap().spec().unwrap();
    assert_eq!(mean.params()[0].name(), "stats");
    assert_eq!(mean.tag("kind"), Some("summary"));
    assert_eq!(mean.function(), "stats");
}

#[test]
fn a_map_field_that_is_not_there_fails_its_node_with_the_keys_there_are() {
    let dr = Builder::new()
        .with_modules(weft::modules![crate::fields])
        .build()
        .unwrap();
    let err = dr
        .execute(
            &["high"],
            inputs! { "values" => vec![1.0], "with_high" => false },
        )
        .unwrap_err();
    let ExecuteError::NodeFailed { node, source, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(node, "high");
    assert!(matches!(source, NodeError::User(_)));
    assert_eq!(
        source.to_string(),
        "`bounds` has no field `high` to extract (its keys: low); return it from `bounds` or \
         remove it from `extract_fields`"
    );
    let _: BTreeMap<String, f64> = BTreeMap::new();
}

/// A part reused twice, once per region.
pub mod part {
    use weft::prelude::*;

    #[node]
    pub fn cleaned(raw: &[f64]) -> Vec<f64> {
        raw.iter().copied().filter(|x| *x >= 0.0).collect()
    }

    #[node(when(scale = "rate"))]
    pub fn total__rated(cleaned: &[f64], rate: &f64) -> f64 {
        cleaned.iter().sum::<f64>() * rate
    }

    #[node(when_not(scale = "rate"))]
    pub fn total__plain(cleaned: &[f64]) -> f64 {
        cleaned.iter().sum()
    }
}

pub mod outer {
    use weft::prelude::*;

    #[node]
    pub fn both(total_eu: &f64, total_us: &f64) -> f64 {
        total_eu + total_us
    }
}

#[test]
fn a_subdag_reuses_a_module_under_a_namespace_with_its_own_inputs_and_config() {
    use weft::Subdag;
    let part = || Subdag::new("eu", weft::modules![crate::part]);
    let dr = Builder::new()
        .with_modules(weft::modules![crate::outer])
        .with_subdag(
            part()
                .input("raw", "raw_eu")
                .config(inputs! { "scale" => "rate", "rate" => 2.0 })
                .output("total", "total_eu"),
        )
        .with_subdag(
            Subdag::new("us", weft::modules![crate::part])
                .input("raw", "raw_us")
                .output("total", "total_us"),
        )
        .build()
        .unwrap();
    let out = dr
        .execute(
            &["both", "eu.cleaned"],
            inputs! { "raw_eu" => vec![1.0, -5.0, 2.0], "raw_us" => vec![10.0] },
        )
        .unwrap();
    assert_eq!(*out.get::<f64>("both").unwrap(), 16.0);
    assert_eq!(out.get::<Vec<f64>>("eu.cleaned").unwrap(), &[1.0, 2.0]);
    let g = dr.graph();
    assert_eq!(
        g.node("total_eu").unwrap().spec().unwrap().function(),
        "total__rated"
    );
    assert_eq!(
        g.node("total_us").unwrap().spec().unwrap().function(),
        "total__plain"
    );
    assert!(g.node("eu.rate").is_some() && g.node("us.rate").is_none());

    // Naming what the part does not have is a build error.
    let err = Builder::new()
        .with_subdag(part().input("rwa", "raw_eu").output("totl", "t"))
        .build()
        .err()
        .unwrap();
    let messages: Vec<String> = err
        .problems
        .iter()
        .map(|p| match p {
            Problem::Subdag { namespace, message } if namespace == "eu" => message.clone(),
            other => panic!("{other}"),
        })
        .collect();
    assert_eq!(messages.len(), 2, "{err}");
    assert!(messages[0].contains("`output(\"totl\", ..)` names no node of the part"));
    assert!(messages[1].contains("`input(\"rwa\", ..)` is not a parameter"));
}

/// One function, one output, three bindings: only the bound value differs between `v1` and
/// `v2`, nothing between `v1` and `v1_again`.
pub mod bound_v1 {
    use weft::prelude::*;
    #[node(parameterize(scaled(factor = value(2))))]
    pub fn scale(x: &u64, factor: u64) -> u64 {
        x * factor
    }
}
pub mod bound_v1_again {
    use weft::prelude::*;
    #[node(parameterize(scaled(factor = value(2))))]
    pub fn scale(x: &u64, factor: u64) -> u64 {
        x * factor
    }
}
pub mod bound_v2 {
    use weft::prelude::*;
    #[node(parameterize(scaled(factor = value(3))))]
    pub fn scale(x: &u64, factor: u64) -> u64 {
        x * factor
    }
}

#[test]
fn a_parameterized_nodes_code_version_includes_its_bound_values() {
    let version = |m: weft::Modules| {
        let dr = Builder::new().with_modules(m).build().unwrap();
        let v = dr
            .graph()
            .node("scaled")
            .unwrap()
            .spec()
            .unwrap()
            .code_version()
            .to_string();
        v
    };
    let v1 = version(weft::modules![crate::bound_v1]);
    assert_eq!(v1, version(weft::modules![crate::bound_v1_again]));
    assert_ne!(v1, version(weft::modules![crate::bound_v2]));
}

#[test]
fn built_nodes_take_when_conditions_too() {
    use std::sync::Arc;
    use weft::{value_type, ConfigCondition, ConfigLiteral, NodeSpec};
    let variant = |mode: &'static str, factor: u64| {
        NodeSpec::builder("speed", value_type!(u64))
            .when(ConfigCondition::is_in(
                "mode",
                vec![ConfigLiteral::Str(mode)],
            ))
            .code_version(mode)
            .sync(move |_| Ok(Arc::new(factor)))
    };
    let dr = Builder::new()
        .with_nodes([variant("fast", 10), variant("slow", 1)])
        .with_config(inputs! { "mode" => "slow" })
        .build()
        .unwrap();
    let out = dr.execute(&["speed"], Inputs::new()).unwrap();
    assert_eq!(*out.get::<u64>("speed").unwrap(), 1);
}
