//! What the remote suite (`tests/remote.rs`, macro `remote_suite!`) needs from any backend: a
//! wrapper recording the tasks it is given, and an adapter recording the nodes it sees.

use std::sync::{Arc, Mutex};

use weft::remote::{RemoteError, RemoteExecutor, Report, Task};
use weft::{Adapter, CancelToken, NodeInfo, NodeResult};

/// Wraps a backend, keeping every task it was given (tests look at what was dispatched).
pub struct Recording<B> {
    inner: B,
    tasks: Arc<Mutex<Vec<Task>>>,
}

impl<B: RemoteExecutor> Recording<B> {
    pub fn new(inner: B) -> (Self, Arc<Mutex<Vec<Task>>>) {
        let tasks = Arc::new(Mutex::new(Vec::new()));
        (
            Recording {
                inner,
                tasks: tasks.clone(),
            },
            tasks,
        )
    }
}

impl<B: RemoteExecutor> RemoteExecutor for Recording<B> {
    fn name(&self) -> String {
        self.inner.name()
    }
    fn slots(&self) -> usize {
        self.inner.slots()
    }
    fn default_store(&self) -> Option<String> {
        self.inner.default_store()
    }
    fn begin_run(&self, run_id: &str) -> Result<(), RemoteError> {
        self.inner.begin_run(run_id)
    }
    fn run(&self, task: &Task, cancel: &CancelToken) -> Result<Report, RemoteError> {
        self.tasks.lock().unwrap().push(task.clone());
        self.inner.run(task, cancel)
    }
    fn end_run(&self) {
        self.inner.end_run()
    }
}

/// The names of the first node of every task.
pub fn heads(tasks: &Mutex<Vec<Task>>) -> Vec<String> {
    let mut v: Vec<String> = tasks
        .lock()
        .unwrap()
        .iter()
        .map(|t| t.nodes[0].name.clone())
        .collect();
    v.sort();
    v
}

/// Records the nodes adapters see.
#[derive(Default, Clone)]
pub struct Seen(pub Arc<Mutex<Vec<String>>>);

impl Adapter for Seen {
    fn after_node(&self, node: &NodeInfo<'_>, _r: &NodeResult, _t: std::time::Duration) {
        self.0.lock().unwrap().push(node.spec.name().to_string());
    }
}
