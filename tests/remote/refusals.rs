//! What a worker refuses rather than guesses: another build of the flow, another protocol, a
//! task whose input is missing.

use std::io::Cursor;
use std::sync::Arc;

use weft::remote::{Report, TaskInput};
use weft::{inputs, value_type, Builder, CacheConfig, NodeSpec};

#[test]
fn a_worker_built_from_other_code_refuses() {
    // The driver's `doubled` is another function than the worker binary's.
    let other = NodeSpec::builder("doubled", value_type!(u64))
        .param("x", value_type!(u64))
        .code_version("doubled-but-different")
        .sync(|a| Ok(Arc::new(*a.get::<u64>(0)? * 3)));
    let dr = Builder::new()
        .with_nodes([other])
        .with_cache_config(CacheConfig::at(weft_tests::temp_dir(
            "remote-refuse",
            "code",
        )))
        .with_remote_executor(crate::pool())
        .build()
        .unwrap();
    let err = dr
        .execute(&["doubled"], inputs! { "x" => 2u64 })
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("`doubled`") && text.contains("code version"),
        "{text}"
    );
}

fn serve(line: &str) -> Report {
    let dr = Builder::new()
        .with_modules(weft::modules![crate::flow])
        .build()
        .unwrap();
    let mut out = Vec::new();
    dr.serve_worker_on(Cursor::new(format!("{line}\n")), &mut out)
        .unwrap();
    serde_json::from_slice(&out).unwrap()
}

#[test]
fn another_protocol_is_refused() {
    let report = serve(r#"{"version": 99, "run_id": "r", "store": "/nowhere", "nodes": []}"#);
    let why = report.refused.unwrap();
    assert!(why.contains("protocol 99"), "{why}");
}

#[test]
fn a_missing_input_is_reported_not_guessed() {
    let store = weft_tests::temp_dir("remote-refuse", "missing");
    let dr = Builder::new()
        .with_modules(weft::modules![crate::flow])
        .build()
        .unwrap();
    let code = dr
        .graph()
        .node("doubled")
        .unwrap()
        .spec()
        .unwrap()
        .code_version()
        .to_string();
    let task = serde_json::json!({
        "version": weft::remote::PROTOCOL,
        "run_id": "r",
        "store": store.display().to_string(),
        "nodes": [{"name": "doubled", "code_version": code,
                   "inputs": [TaskInput::Stored(weft::data_version_of(&5u64).to_hex())]}],
    });
    let report = serve(&task.to_string());
    assert!(report.refused.is_none(), "{report:?}");
    let text = format!("{:?}", report.nodes[0].outcome);
    assert!(
        text.contains("input `x`") && text.contains("not in the store"),
        "{text}"
    );
}
