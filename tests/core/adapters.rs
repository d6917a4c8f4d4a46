//! Failing nodes (errors and panics name the node) and adapters wrapping node execution.

use super::*;

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
        .with_modules(weft::modules![crate::adapters::failing])
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
