//! Where remote results live without a cache: the pool's own store, or an error saying a
//! cache is needed.

use weft::remote::{RemoteError, RemoteExecutor, Report, Task};
use weft::{inputs, Builder, CancelToken};

#[test]
fn without_a_cache_the_pool_keeps_its_own_store() {
    let dr = Builder::new()
        .with_modules(weft::modules![crate::flow])
        .with_remote_executor(crate::pool())
        .build()
        .unwrap();
    let out = dr.execute(&["total"], inputs! { "x" => 2u64 }).unwrap();
    assert_eq!(*out.get::<u64>("total").unwrap(), 8);
}

/// A backend with no store of its own.
struct Storeless;

impl RemoteExecutor for Storeless {
    fn name(&self) -> String {
        "storeless".into()
    }
    fn slots(&self) -> usize {
        1
    }
    fn run(&self, _: &Task, _: &CancelToken) -> Result<Report, RemoteError> {
        Err(RemoteError::Transport("never called".into()))
    }
}

#[test]
fn a_backend_without_a_store_needs_a_cache() {
    let err = Builder::new()
        .with_modules(weft::modules![crate::flow])
        .with_remote_executor(Storeless)
        .build()
        .err()
        .expect("no store to share");
    let text = err.to_string();
    assert!(
        text.contains("`storeless`") && text.contains("with_cache_config"),
        "{text}"
    );
}
