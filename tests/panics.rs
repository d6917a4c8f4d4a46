//! A node's panic reaches the user once, as the node's error, never through the panic hook;
//! every other panic still goes to the hook installed before. (A file of its own: the test
//! installs a process-wide panic hook before any node runs.)

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use weft::executors::{MultiThreading, Sequential};
use weft::prelude::*;
use weft::{value_type, ExecuteError, NodeError, NodeSpec};

/// Counts the panics the hook installed before weft's is handed.
static HOOK_CALLS: AtomicUsize = AtomicUsize::new(0);

#[test]
fn a_node_panic_is_reported_once_by_weft_and_other_panics_reach_the_hook() {
    std::panic::set_hook(Box::new(|_| {
        HOOK_CALLS.fetch_add(1, Ordering::SeqCst);
    }));
    let nodes = vec![
        NodeSpec::builder("boom", value_type!(u64))
            .param("x", value_type!(u64))
            .sync(|_| panic!("the boom node gave up")),
        NodeSpec::builder("after", value_type!(u64))
            .param("boom", value_type!(u64))
            .sync(|a| Ok(Arc::new(*a.get::<u64>(0)?))),
    ];
    for threads in [0usize, 3] {
        let b = Builder::new().with_nodes(nodes.clone());
        let dr = match threads {
            0 => b.with_local_executor(Sequential),
            n => b.with_local_executor(MultiThreading::new(n)),
        }
        .build()
        .unwrap();
        let err = dr.execute(&["after"], inputs! { "x" => 1u64 }).unwrap_err();
        assert!(
            matches!(&err, ExecuteError::NodeFailed { node, source: NodeError::Panic(m), .. }
                if node == "boom" && m.contains("the boom node gave up")),
            "{err}"
        );
        let text = err.to_string();
        assert_eq!(text.matches("the boom node gave up").count(), 1, "{text}");
    }
    // An async node's panic too.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dr = Builder::new().with_nodes(nodes).build().unwrap();
    let err = rt
        .block_on(dr.execute_async(&["after"], inputs! { "x" => 1u64 }))
        .unwrap_err();
    assert!(matches!(&err, ExecuteError::NodeFailed { node, .. } if node == "boom"));
    assert_eq!(
        HOOK_CALLS.load(Ordering::SeqCst),
        0,
        "node panics never reach the panic hook"
    );
    // A panic outside any node still does.
    let outside = std::panic::catch_unwind(|| panic!("not a node"));
    assert!(outside.is_err());
    assert_eq!(HOOK_CALLS.load(Ordering::SeqCst), 1);
}
