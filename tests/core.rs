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

mod code_a {
    use weft::prelude::*;
    #[node]
    pub fn f(x: &u64) -> u64 {
        x + 1
    }
}
#[rustfmt::skip] // the layout is the point
mod code_b {
    use weft::prelude::*;
    /// Same code, other layout, comments, visibility and node arguments.
    #[node(tags(k = "v"), cache = "recompute")]
    pub(crate) fn f(
        x: &u64 // the input
    ) -> u64 {
        // add one
        x+1
    }
}
mod code_c {
    use weft::prelude::*;
    #[node]
    pub fn f(x: &u64) -> u64 {
        x + 2
    }
}

#[test]
fn code_version_ignores_layout_comments_and_attributes_but_not_edits() {
    let v = |m: weft::Modules| {
        Builder::new()
            .with_modules(m)
            .build()
            .unwrap()
            .graph()
            .node("f")
            .unwrap()
            .spec()
            .unwrap()
            .code_version()
            .to_string()
    };
    let a = v(weft::modules![crate::code_a]);
    let b = v(weft::modules![crate::code_b]);
    let c = v(weft::modules![crate::code_c]);
    assert_eq!(a.len(), 64);
    assert_eq!(a, b);
    assert_ne!(a, c);
}

mod tuple_of_one {
    use weft::prelude::*;
    #[node]
    pub fn shown(x: &u64) -> String {
        format!("{:?}", (x,))
    }
}
mod parenthesized {
    use weft::prelude::*;
    #[node]
    pub fn shown(x: &u64) -> String {
        format!("{:?}", (x))
    }
}

/// A comma that makes a value a one-element tuple, inside a macro's arguments, is part of the
/// code version: the two bodies compute different values, so a stored result of one must never
/// answer for the other.
#[test]
fn code_version_sees_a_one_element_tuples_comma_in_macro_arguments() {
    let run = |m: weft::Modules| {
        let dr = Builder::new().with_modules(m).build().unwrap();
        let version = dr
            .graph()
            .node("shown")
            .unwrap()
            .spec()
            .unwrap()
            .code_version()
            .to_string();
        let out = dr.execute(&["shown"], inputs! { "x" => 7u64 }).unwrap();
        (version, out.get::<String>("shown").unwrap().clone())
    };
    let (tuple_version, tuple_value) = run(weft::modules![crate::tuple_of_one]);
    let (paren_version, paren_value) = run(weft::modules![crate::parenthesized]);
    assert_eq!((tuple_value.as_str(), paren_value.as_str()), ("(7,)", "7"));
    assert_ne!(tuple_version, paren_version);
}

#[test]
fn duplicate_nodes_fail_unless_overrides_are_allowed() {
    let err = Builder::new()
        .with_modules(weft::modules![crate::code_a, crate::code_c])
        .build()
        .err()
        .unwrap();
    assert!(
        matches!(&err.problems[..], [Problem::Duplicate { name, modules }] if name == "f" && modules.len() == 2)
    );
    assert!(err.to_string().contains("allow_module_overrides"));
    let dr = Builder::new()
        .with_modules(weft::modules![crate::code_a, crate::code_c])
        .allow_module_overrides()
        .build()
        .unwrap();
    let out = dr.execute(&["f"], inputs! { "x" => 1u64 }).unwrap();
    assert_eq!(*out.get::<u64>("f").unwrap(), 3, "the later module wins");
}

mod broken {
    use weft::prelude::*;
    #[node]
    pub fn a(c: &u64) -> u64 {
        *c
    }
    #[node]
    pub fn b(a: &u64) -> u64 {
        *a
    }
    #[node]
    pub fn c(b: &u64) -> u64 {
        *b
    }
    #[node]
    pub fn text() -> String {
        String::new()
    }
    #[node]
    pub fn wants_number(text: &u64) -> u64 {
        *text
    }
}

#[test]
fn build_lists_every_problem_at_once() {
    let err: BuildError = Builder::new()
        .with_modules(weft::modules![crate::broken])
        .build()
        .err()
        .unwrap();
    assert_eq!(err.problems.len(), 2, "{err}");
    assert!(err.problems.contains(&Problem::TypeMismatch {
        producer: "text".into(),
        produced: "alloc::string::String".into(),
        consumer: "wants_number".into(),
        expected: "u64".into(),
    }));
    assert!(err.problems.contains(&Problem::Cycle(vec![
        "a".into(),
        "b".into(),
        "c".into(),
        "a".into()
    ])));
    let text = err.to_string();
    assert!(
        text.contains("2 problems") && text.contains("a -> b -> c -> a"),
        "{text}"
    );
}

pub mod failing {
    use std::sync::atomic::{AtomicBool, Ordering};
    use weft::prelude::*;

    pub static FIXED: AtomicBool = AtomicBool::new(false);

    #[node]
    pub fn base(x: &i64) -> i64 {
        *x
    }
    #[node]
    pub fn fragile(base: &i64) -> Result<i64, std::io::Error> {
        if FIXED.load(Ordering::SeqCst) {
            Ok(base * 10)
        } else {
            Err(std::io::Error::other("disk on fire"))
        }
    }
    #[node]
    pub fn top(fragile: &i64) -> i64 {
        fragile + 1
    }
    #[node]
    pub fn boom(base: &i64) -> i64 {
        if *base < 0 {
            panic!("negative base {base}");
        }
        *base
    }
}

#[test]
fn node_errors_and_panics_name_the_node_and_the_driver_survives() {
    let dr = Builder::new()
        .with_modules(weft::modules![crate::failing])
        .build()
        .unwrap();
    let err = dr.execute(&["top"], inputs! { "x" => 1i64 }).unwrap_err();
    match &err {
        ExecuteError::NodeFailed { node, path, source } => {
            assert_eq!(node, "fragile");
            assert_eq!(path, &vec!["top".to_string(), "fragile".to_string()]);
            assert!(source.to_string().contains("disk on fire"));
        }
        other => panic!("{other}"),
    }
    assert!(err.to_string().contains("top <- fragile"), "{err}");

    let err = dr.execute(&["boom"], inputs! { "x" => -1i64 }).unwrap_err();
    assert!(
        matches!(&err, ExecuteError::NodeFailed { node, source: weft::NodeError::Panic(m), .. } if node == "boom" && m.contains("negative base -1")),
        "{err}"
    );
    // Still usable; and a failure is retried on the next run even with the same inputs.
    let out = dr.execute(&["boom"], inputs! { "x" => 5i64 }).unwrap();
    assert_eq!(*out.get::<i64>("boom").unwrap(), 5);
    failing::FIXED.store(true, Ordering::SeqCst);
    let out = dr.execute(&["top"], inputs! { "x" => 1i64 }).unwrap();
    assert_eq!(*out.get::<i64>("top").unwrap(), 11);
}

/// Wraps node execution and logs enter/exit, to check adapters nest (synchronous wrapping
/// code, through `Next::around`).
struct Wrap(&'static str, Arc<Mutex<Vec<String>>>);
impl Adapter for Wrap {
    fn wrap_node<'a>(
        &'a self,
        node: &'a NodeInfo<'a>,
        next: weft::Next<'a>,
    ) -> weft::NodeFuture<'a> {
        next.around(
            node,
            |node| {
                self.1
                    .lock()
                    .unwrap()
                    .push(format!("{}>{}", self.0, node.name()));
                None
            },
            |node, r| {
                self.1
                    .lock()
                    .unwrap()
                    .push(format!("{}<{}", self.0, node.name()));
                r
            },
        )
    }
}

/// Retries a failing node once (running the rest of the stack again).
struct RetryOnce(Arc<AtomicUsize>);
impl Adapter for RetryOnce {
    fn wrap_node<'a>(
        &'a self,
        node: &'a NodeInfo<'a>,
        next: weft::Next<'a>,
    ) -> weft::NodeFuture<'a> {
        Box::pin(async move {
            match next.run(node).await {
                Ok(v) => Ok(v),
                Err(_) => {
                    self.0.fetch_add(1, Ordering::SeqCst);
                    let again = NodeInfo {
                        attempt: node.attempt + 1,
                        ..*node
                    };
                    next.run(&again).await
                }
            }
        })
    }
}

#[test]
fn adapters_stack_and_all_wrap_node_execution() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let retries = Arc::new(AtomicUsize::new(0));
    let flaky_calls = Arc::new(AtomicUsize::new(0));
    let calls = flaky_calls.clone();
    let flaky = NodeSpec::builder("flaky", value_type!(u64))
        .param("n", value_type!(u64))
        .sync(move |args| {
            if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                Err(weft::NodeError::user("transient"))
            } else {
                Ok(Arc::new(*args.get::<u64>(0)? + 1))
            }
        });
    let versions = Arc::new(Mutex::new(Vec::new()));
    struct Observe(Arc<Mutex<Vec<(String, usize, bool)>>>);
    impl Adapter for Observe {
        fn after_node(&self, node: &NodeInfo<'_>, result: &NodeResult, _took: Duration) {
            self.0.lock().unwrap().push((
                node.name().to_string(),
                node.inputs.len(),
                result.is_ok(),
            ));
        }
    }
    let dr = Builder::new()
        .with_nodes([flaky])
        .with_adapter(Wrap("outer", log.clone()))
        .with_adapter(RetryOnce(retries.clone()))
        .with_adapter(Wrap("inner", log.clone()))
        .with_adapter(weft::TracingAdapter)
        .with_adapter(Observe(versions.clone()))
        .build()
        .unwrap();
    let out = dr.execute(&["flaky"], inputs! { "n" => 41u64 }).unwrap();
    assert_eq!(*out.get::<u64>("flaky").unwrap(), 42);
    assert_eq!(retries.load(Ordering::SeqCst), 1);
    assert_eq!(
        *log.lock().unwrap(),
        vec![
            "outer>flaky",
            "inner>flaky",
            "inner<flaky",
            "inner>flaky",
            "inner<flaky",
            "outer<flaky"
        ]
    );
    assert_eq!(
        *versions.lock().unwrap(),
        vec![("flaky".to_string(), 1, true)]
    );
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

#[test]
fn cache_attribute_is_recorded_not_part_of_code() {
    let dr = Builder::new()
        .with_modules(weft::modules![crate::code_b])
        .build()
        .unwrap();
    let spec = dr.graph().node("f").unwrap().spec().unwrap();
    assert_eq!(spec.cache_behavior(), Some(CacheBehavior::Recompute));
    assert_eq!(spec.tag("k"), Some("v"));
}

#[test]
fn inputs_are_checked_by_name_and_overrides_can_give_inputs() {
    let (dr, _) = marketing_driver();
    // A typo is reported with a suggestion; a computed node is not an input.
    let err = dr
        .execute(
            &["report"],
            inputs! { "spend" => 1.0, "signup" => 2u64, "spend_per_signup" => 3.0 },
        )
        .unwrap_err();
    let ExecuteError::BadInputs(problems) = &err else {
        panic!("{err}")
    };
    assert!(problems.contains(&InputProblem::Unknown(
        "signup".into(),
        Some("signups".into())
    )));
    assert!(problems.contains(&InputProblem::NotAnInput("spend_per_signup".into())));
    let text = err.to_string();
    assert!(
        text.contains("did you mean `signups`") && text.contains("pass it as an override"),
        "{text}"
    );
    // Overriding an input is giving it; a &'static str is a String input.
    let out = dr
        .execute_with_overrides(
            &["report"],
            inputs! { "spend" => 6.0, "region" => "EU" },
            inputs! { "signups" => 3u64 },
        )
        .unwrap();
    assert_eq!(out.get::<String>("report").unwrap(), "EU: 2.00");
}

#[test]
fn config_type_mismatch_names_key_and_consumer() {
    let err = Builder::new()
        .with_modules(weft::modules![crate::marketing])
        .with_config(inputs! { "region" => 7u8 })
        .build()
        .err()
        .unwrap();
    assert!(
        matches!(&err.problems[..], [Problem::ConfigTypeMismatch { key, consumer, .. }] if key == "region" && consumer == "report"),
        "{err}"
    );
    let text = err.to_string();
    assert!(
        text.contains("config `region` is a `u8`, but `report` expects `region: String`"),
        "{text}"
    );
}

#[test]
fn a_dynamic_node_returning_the_wrong_type_is_an_error_naming_it() {
    let bad = NodeSpec::builder("bad", value_type!(u64)).sync(|_| Ok(Arc::new("oops".to_string())));
    let dr = Builder::new().with_nodes([bad]).build().unwrap();
    let err = dr.execute(&["bad"], Inputs::new()).unwrap_err();
    assert!(
        matches!(&err, ExecuteError::NodeFailed { node, source: weft::NodeError::Internal(_), .. } if node == "bad"),
        "{err:?}"
    );
    let err = err.to_string();
    assert!(
        err.contains("node `bad` returned a value that is not the `u64` it declares"),
        "{err}"
    );
}
