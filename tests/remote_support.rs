//! What the remote suite (`tests/remote.rs`, macro `remote_suite!`) needs from any backend: a
//! wrapper recording the tasks it is given, an adapter recording the nodes it sees, and a
//! `tracing` subscriber recording the spans of every thread.

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

/// The `weft.node` spans of every thread of the process, as (run id, node): a `tracing`
/// subscriber installed as the global default by the first call (remote nodes are attempted on
/// the executor's threads, which a thread-local default would not see). Tests pick their own
/// runs by run id.
pub fn node_spans() -> &'static NodeSpans {
    static SPANS: std::sync::OnceLock<&'static NodeSpans> = std::sync::OnceLock::new();
    SPANS.get_or_init(|| {
        let spans: &'static NodeSpans = Box::leak(Box::default());
        tracing::subscriber::set_global_default(spans)
            .expect("no other global tracing subscriber in the remote suite");
        spans
    })
}

/// See [`node_spans`].
#[derive(Default)]
pub struct NodeSpans {
    seen: Mutex<Vec<(String, String)>>,
    next: std::sync::atomic::AtomicU64,
}

impl NodeSpans {
    /// The nodes that had a span in run `run_id`, sorted (once per attempt).
    pub fn of_run(&self, run_id: &str) -> Vec<String> {
        let mut nodes: Vec<String> = self
            .seen
            .lock()
            .unwrap()
            .iter()
            .filter(|(run, _)| run == run_id)
            .map(|(_, node)| node.clone())
            .collect();
        nodes.sort();
        nodes
    }
}

/// A span's `run_id` and `node` fields.
#[derive(Default)]
struct Fields {
    run_id: String,
    node: String,
}

impl tracing::field::Visit for Fields {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        match field.name() {
            "run_id" => self.run_id = value.to_string(),
            "node" => self.node = value.to_string(),
            _ => {}
        }
    }
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.record_str(field, &format!("{value:?}"));
    }
}

impl tracing::Subscriber for &'static NodeSpans {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        if span.metadata().name() == "weft.node" {
            let mut fields = Fields::default();
            span.record(&mut fields);
            self.seen.lock().unwrap().push((fields.run_id, fields.node));
        }
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tracing::span::Id::from_u64(n + 1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, _: &tracing::Event<'_>) {}
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}
