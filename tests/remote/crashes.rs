//! A worker that dies (an abort, memory exhausted) fails its node alone, naming it.

use weft::{inputs, Builder, CacheConfig, ExecuteError};

fn driver(name: &str) -> weft::Driver {
    Builder::new()
        .with_modules(weft::modules![crate::flow])
        .with_cache_config(CacheConfig::at(weft_tests::temp_dir("remote-crash", name)))
        .with_remote_executor(crate::pool())
        .keep_going(true)
        .build()
        .unwrap()
}

#[test]
fn a_node_that_aborts_its_worker_fails_alone() {
    let dr = driver("abort");
    let err = dr
        .execute(
            &["after_abort", "label"],
            inputs! { "x" => 2u64, "prefix" => "t".to_string() },
        )
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("`aborts`") && text.contains("aborted"),
        "{text}"
    );
    let records = dr.cache().unwrap().records(None).unwrap();
    let label = records.iter().find(|r| r.node == "label").unwrap();
    assert_eq!(label.status, weft::cache::Status::Executed);
    // The dead worker was replaced: the next run works.
    let out = dr.execute(&["doubled"], inputs! { "x" => 21u64 }).unwrap();
    assert_eq!(*out.get::<u64>("doubled").unwrap(), 42);
}

#[test]
fn a_node_that_exhausts_memory_fails_alone_naming_it() {
    let dr = driver("oom");
    let err = dr
        .execute(&["hog", "doubled"], inputs! { "x" => 1u64 })
        .unwrap_err();
    let ExecuteError::NodeFailed { node, source, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(node, "hog");
    let text = source.to_string();
    assert!(
        text.contains("memory allocation") || text.contains("aborted"),
        "{text}"
    );
    let records = dr.cache().unwrap().records(None).unwrap();
    assert!(records
        .iter()
        .any(|r| r.node == "doubled" && r.status == weft::cache::Status::Executed));
}
