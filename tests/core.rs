//! The engine core: nodes from functions, validation, execution semantics, incrementality,
//! hooks and failures. Every test builds real graphs and runs them on the real salsa core.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use weft::prelude::*;
use weft::{
    value_type, Adapter, BuildError, CacheBehavior, ExecuteError, InputProblem, NodeInfo,
    NodeResult, NodeSpec, Problem,
};

#[derive(Debug, thiserror::Error)]
#[error("no signups to divide by")]
pub struct NoSignups;

pub mod marketing {
    use super::NoSignups;
    use weft::prelude::*;

    /// Spend per signup.
    #[node(tags(owner = "growth", stage = "prod"))]
    pub fn spend_per_signup(spend: &f64, signups: &u64) -> Result<f64, NoSignups> {
        if *signups == 0 {
            return Err(NoSignups);
        }
        Ok(spend / *signups as f64)
    }

    /// A one-line report.
    #[node(tags(owner = "growth"))]
    pub fn report(spend_per_signup: &f64, region: Option<&String>) -> String {
        format!(
            "{}: {:.2}",
            region.map_or("all", |r| r.as_str()),
            spend_per_signup
        )
    }

    #[node]
    pub fn unrelated(other_input: &u64) -> u64 {
        other_input + 1
    }
}

/// Counts node executions per name, per driver.
#[derive(Default)]
struct Counter(Mutex<HashMap<String, usize>>);
impl Counter {
    fn get(&self, name: &str) -> usize {
        self.0.lock().unwrap().get(name).copied().unwrap_or(0)
    }
    fn total(&self) -> usize {
        self.0.lock().unwrap().values().sum()
    }
}
impl Adapter for Counter {
    fn before_node(&self, node: &NodeInfo<'_>) {
        *self
            .0
            .lock()
            .unwrap()
            .entry(node.name().to_string())
            .or_default() += 1;
    }
}

/// A driver of `modules` with a [`Counter`] of each node's executions.
fn counted_driver(modules: weft::Modules) -> (Driver, Arc<Counter>) {
    let counter = Arc::new(Counter::default());
    let dr = Builder::new()
        .with_modules(modules)
        .with_adapter_arc(counter.clone())
        .build()
        .expect("valid graph");
    (dr, counter)
}

fn marketing_driver() -> (Driver, Arc<Counter>) {
    counted_driver(weft::modules![crate::marketing])
}

#[test]
fn functions_become_nodes_with_types_docs_tags() {
    let (dr, _) = marketing_driver();
    let g = dr.graph();
    let n = g.node("spend_per_signup").unwrap().spec().unwrap();
    assert_eq!(n.doc(), "Spend per signup.");
    assert_eq!(n.tag("owner"), Some("growth"));
    assert_eq!(n.output().name(), "f64");
    let params: Vec<_> = n
        .params()
        .iter()
        .map(|p| (p.name(), p.value_type().name()))
        .collect();
    assert_eq!(params, vec![("spend", "f64"), ("signups", "u64")]);
    assert!(!n.is_async());
    let report = g.node("report").unwrap().spec().unwrap();
    assert_eq!(report.params()[1].kind(), weft::ParamKind::Optional);
    // `Option<&str>` is an optional `String` dependency.
    assert_eq!(
        report.params()[1].value_type().name(),
        "alloc::string::String"
    );
    // Parameters no function produces are external inputs.
    assert!(matches!(
        g.node("spend").unwrap().kind(),
        weft::NodeKind::Input { .. }
    ));
    let tagged: Vec<_> = g
        .nodes_tagged("owner", Some("growth"))
        .map(|n| n.name())
        .collect();
    assert_eq!(tagged, vec!["report", "spend_per_signup"]);
    assert_eq!(g.nodes_tagged("stage", None).count(), 1);
    // The function is still a plain function.
    assert_eq!(marketing::spend_per_signup(&10.0, &4).unwrap(), 2.5);
}

#[test]
fn executes_only_the_upstream_closure_with_typed_results() {
    let (dr, counter) = marketing_driver();
    let out = dr
        .execute(
            &["report"],
            inputs! { "spend" => 10.0, "signups" => 4u64, "region" => "eu".to_string() },
        )
        .unwrap();
    assert_eq!(out.get::<String>("report").unwrap(), "eu: 2.50");
    assert_eq!(counter.get("unrelated"), 0, "not requested, not run");
    assert_eq!(counter.get("spend_per_signup"), 1);
    let err = out.get::<u64>("report").unwrap_err();
    assert!(matches!(err, ExecuteError::Output(_)), "{err:?}");
    let err = err.to_string();
    assert!(err.contains("String") && err.contains("u64"), "{err}");
}

#[test]
fn optional_dependency_absent_is_none() {
    let (dr, _) = marketing_driver();
    let out = dr
        .execute(&["report"], inputs! { "spend" => 9.0, "signups" => 3u64 })
        .unwrap();
    assert_eq!(out.get::<String>("report").unwrap(), "all: 3.00");
}

#[test]
fn second_identical_execute_runs_nothing_and_change_reruns_downstream_only() {
    let (dr, counter) = marketing_driver();
    let inputs = || inputs! { "spend" => 10.0, "signups" => 4u64, "other_input" => 1u64 };
    dr.execute(&["report", "unrelated"], inputs()).unwrap();
    assert_eq!(counter.total(), 3);
    dr.execute(&["report", "unrelated"], inputs()).unwrap();
    assert_eq!(counter.total(), 3, "identical inputs: no node body runs");

    // Changing one input reruns only its dependents.
    let changed = inputs! { "spend" => 10.0, "signups" => 4u64, "other_input" => 2u64 };
    let (_, rec) = dr
        .execute_recorded(&["report", "unrelated"], changed, Inputs::new())
        .unwrap();
    assert_eq!(rec.executed, vec!["unrelated"]);
    assert_eq!(counter.get("spend_per_signup"), 1);
    assert_eq!(counter.get("unrelated"), 2);
}

#[test]
fn early_cutoff_stops_at_an_unchanged_value() {
    let (dr, counter) = marketing_driver();
    dr.execute(&["report"], inputs! { "spend" => 10.0, "signups" => 4u64 })
        .unwrap();
    // 20/8 == 10/4: spend_per_signup reruns, produces the same value, report does not rerun.
    let (out, rec) = dr
        .execute_recorded(
            &["report"],
            inputs! { "spend" => 20.0, "signups" => 8u64 },
            Inputs::new(),
        )
        .unwrap();
    assert_eq!(rec.executed, vec!["spend_per_signup"]);
    assert_eq!(rec.reused, vec!["report"]);
    assert_eq!(counter.get("report"), 1);
    assert_eq!(out.get::<String>("report").unwrap(), "all: 2.50");
}

/// Values whose fingerprints count themselves: one reads only the value, the other reads
/// the world outside it too (as a file's contents would be).
pub mod hashing {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use weft::prelude::*;
    use weft::{Fingerprint, FingerprintHasher};

    pub static PLAIN_HASHES: AtomicUsize = AtomicUsize::new(0);
    pub static OUTSIDE_HASHES: AtomicUsize = AtomicUsize::new(0);
    /// What an `Outside` fingerprint reads besides the value.
    pub static WORLD: AtomicUsize = AtomicUsize::new(0);

    pub struct Plain(pub u64);
    impl Fingerprint for Plain {
        fn fingerprint(&self, h: &mut FingerprintHasher) {
            PLAIN_HASHES.fetch_add(1, Ordering::SeqCst);
            self.0.fingerprint(h);
        }
    }

    pub struct Outside(pub u64);
    impl Fingerprint for Outside {
        const IN_MEMORY: bool = false;
        fn fingerprint(&self, h: &mut FingerprintHasher) {
            OUTSIDE_HASHES.fetch_add(1, Ordering::SeqCst);
            WORLD.load(Ordering::SeqCst).fingerprint(h);
            self.0.fingerprint(h);
        }
    }

    #[node]
    pub fn plain(n: &u64) -> Plain {
        Plain(n / 10)
    }

    #[node]
    pub fn outside(n: &u64) -> Outside {
        Outside(n / 10)
    }

    #[node]
    pub fn from_plain(plain: &Plain) -> u64 {
        plain.0
    }

    #[node]
    pub fn from_outside(outside: &Outside) -> u64 {
        outside.0
    }
}

/// A one-shot run without a cache needs no version of what it computes: a value whose
/// fingerprint reads only the value is never hashed. One whose fingerprint reads the world is
/// hashed as its node finishes, and a long-lived driver compares it as it was then: the world
/// changing afterwards does not make the old value look like the new one.
#[test]
fn values_are_hashed_only_when_needed_and_outside_state_when_made() {
    use hashing::{OUTSIDE_HASHES, PLAIN_HASHES, WORLD};
    let (dr, counter) = counted_driver(weft::modules![crate::hashing]);
    let both = ["from_plain", "from_outside"];
    dr.execute(&both, inputs! { "n" => 1u64 }).unwrap();
    assert_eq!(PLAIN_HASHES.load(Ordering::SeqCst), 0);
    assert_eq!(OUTSIDE_HASHES.load(Ordering::SeqCst), 1);

    // n = 2 makes equal values (2 / 10 == 1 / 10), but the world changed in between: the
    // plain value is cut off (hashed now, old and new alike), the outside one is not.
    WORLD.store(1, Ordering::SeqCst);
    let (_, rec) = dr
        .execute_recorded(&both, inputs! { "n" => 2u64 }, Inputs::new())
        .unwrap();
    assert_eq!(counter.get("from_plain"), 1, "{rec:?}");
    assert_eq!(counter.get("from_outside"), 2, "{rec:?}");
    assert_eq!(PLAIN_HASHES.load(Ordering::SeqCst), 2);
}

#[test]
fn overrides_short_circuit_and_prune() {
    let (dr, counter) = marketing_driver();
    // No spend/signups needed: the override replaces the only node that needed them.
    let out = dr
        .execute_with_overrides(
            &["report"],
            Inputs::new(),
            inputs! { "spend_per_signup" => 7.0 },
        )
        .unwrap();
    assert_eq!(out.get::<String>("report").unwrap(), "all: 7.00");
    assert_eq!(counter.get("spend_per_signup"), 0);
    // Dropping the override computes the node again.
    let out = dr
        .execute(&["report"], inputs! { "spend" => 1.0, "signups" => 2u64 })
        .unwrap();
    assert_eq!(out.get::<String>("report").unwrap(), "all: 0.50");
    assert_eq!(counter.get("spend_per_signup"), 1);
}

#[test]
fn config_satisfies_parameters_and_clashes_with_inputs() {
    let dr = Builder::new()
        .with_modules(weft::modules![crate::marketing])
        .with_config(inputs! { "region" => "us".to_string() })
        .build()
        .unwrap();
    let out = dr
        .execute(&["report"], inputs! { "spend" => 4.0, "signups" => 2u64 })
        .unwrap();
    assert_eq!(out.get::<String>("report").unwrap(), "us: 2.00");
    let err = dr
        .execute(
            &["report"],
            inputs! { "spend" => 4.0, "signups" => 2u64, "region" => "eu".to_string() },
        )
        .unwrap_err();
    assert!(
        matches!(&err, ExecuteError::BadInputs(p) if p == &[InputProblem::ConfigClash("region".into())])
    );
}

#[test]
fn unknown_outputs_suggest_and_inputs_are_all_listed() {
    let (dr, _) = marketing_driver();
    let err = dr.execute(&["reprot"], Inputs::new()).unwrap_err();
    assert!(
        matches!(&err, ExecuteError::UnknownOutputs(o) if o[..] == [("reprot".into(), Some("report".into()))]),
        "{err:?}"
    );
    let err = err.to_string();
    assert!(
        err.contains("`reprot`") && err.contains("did you mean `report`"),
        "{err}"
    );

    let err = dr
        .execute(&["report"], inputs! { "spend" => 1u32 })
        .unwrap_err();
    let ExecuteError::BadInputs(problems) = &err else {
        panic!("{err}")
    };
    assert_eq!(problems.len(), 2, "{err}");
    assert!(problems.contains(&InputProblem::WrongType {
        input: "spend".into(),
        expected: "f64".into(),
        given: "u32".into()
    }));
    assert!(problems.iter().any(|p| matches!(p, InputProblem::Missing { input, needed_by, .. } if input == "signups" && needed_by == "spend_per_signup")));
    let text = err.to_string();
    assert!(text.contains("missing input `signups: u64`"), "{text}");
}

pub mod asynchronous {
    use weft::prelude::*;
    #[node]
    pub async fn fetched(id: &u64) -> String {
        // Gives way once, as a real request would.
        tokio::task::yield_now().await;
        format!("user-{id}")
    }
    #[node]
    pub fn greeting(fetched: &str) -> String {
        format!("hello {fetched}")
    }
}

#[test]
fn async_nodes_are_recorded_and_run() {
    let dr = Builder::new()
        .with_modules(weft::modules![crate::asynchronous])
        .build()
        .unwrap();
    assert!(dr
        .graph()
        .node("fetched")
        .unwrap()
        .spec()
        .unwrap()
        .is_async());
    let out = dr.execute(&["greeting"], inputs! { "id" => 7u64 }).unwrap();
    assert_eq!(out.get::<String>("greeting").unwrap(), "hello user-7");
}

#[tokio::test]
async fn async_nodes_run_from_inside_a_tokio_runtime_too() {
    let dr = Builder::new()
        .with_modules(weft::modules![crate::asynchronous])
        .build()
        .unwrap();
    let out = dr.execute(&["greeting"], inputs! { "id" => 8u64 }).unwrap();
    assert_eq!(out.get::<String>("greeting").unwrap(), "hello user-8");
}

fn chain(n: usize) -> Vec<NodeSpec> {
    (0..n)
        .map(|i| {
            let dep = if i == 0 {
                "seed".to_string()
            } else {
                format!("n{}", i - 1)
            };
            NodeSpec::builder(format!("n{i}"), value_type!(u64))
                .param(dep, value_type!(u64))
                .code_version("chain-v1")
                .sync(|args| Ok(Arc::new(args.get::<u64>(0)?.wrapping_add(1))))
        })
        .collect()
}

#[test]
fn a_100k_node_chain_runs_without_stack_overflow_and_reruns_incrementally() {
    let n = 100_000;
    let dr = Builder::new().with_nodes(chain(n)).build().unwrap();
    let last = format!("n{}", n - 1);
    let (out, rec) = dr
        .execute_recorded(&[&last], inputs! { "seed" => 0u64 }, Inputs::new())
        .unwrap();
    assert_eq!(*out.get::<u64>(&last).unwrap(), n as u64);
    assert_eq!(rec.executed.len(), n);
    let (_, rec) = dr
        .execute_recorded(&[&last], inputs! { "seed" => 0u64 }, Inputs::new())
        .unwrap();
    assert_eq!(rec.executed.len(), 0);
    assert_eq!(rec.reused.len(), n);
}

#[test]
fn picture_of_the_dag_styles_inputs_and_outputs() {
    let (dr, _) = marketing_driver();
    let viz = dr.visualize_execution(&["report"], &[]).unwrap();
    let roles: HashMap<_, _> = viz
        .nodes
        .iter()
        .map(|n| (n.name.as_str(), n.role))
        .collect();
    assert_eq!(roles["report"], weft::viz::VizRole::Output);
    assert_eq!(roles["spend"], weft::viz::VizRole::Input);
    assert!(!roles.contains_key("unrelated"), "execution path only");
    assert_eq!(viz.edges.len(), 4);
    let dot = viz.to_dot().unwrap();
    assert!(
        dot.contains("spend_per_signup") && dot.contains("digraph"),
        "{dot}"
    );
    let svg = dr.display_all().to_svg().unwrap();
    assert!(svg.contains("<svg") && svg.contains("unrelated"));
    let dir = std::env::temp_dir().join(format!("weft-viz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("dag.svg");
    dr.display_all().write(&path).unwrap();
    assert!(std::fs::read_to_string(&path).unwrap().contains("<svg"));
}

#[path = "core/adapters.rs"]
mod adapters;
#[path = "core/build.rs"]
mod build;
#[path = "core/code.rs"]
mod code;
