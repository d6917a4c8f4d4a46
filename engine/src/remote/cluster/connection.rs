//! The driver's end of a bridge: task lines out, report lines in, matched by task id. Tasks
//! are sent with the ids of the earlier tasks that produced their inputs, so the bridge can
//! hand the cluster those tasks' futures as dependencies.

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{channel, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Deserialize;

use crate::cancel::CancelToken;
use crate::remote::message::{NodeOutcome, Report, Task, TaskInput, PROTOCOL};
use crate::remote::RemoteError;

/// How often a task waiting for its report looks at the run's cancel token.
const CANCEL_POLL: Duration = Duration::from_millis(50);

/// What the bridge says when it is ready (it also names the cluster, for people reading it).
#[derive(Debug, Deserialize)]
pub(crate) struct Ready {
    /// The bridge's protocol.
    pub(crate) protocol: u32,
    /// How many tasks the cluster runs at once (Dask: its workers' threads; Ray: its CPUs), as
    /// the bridge found it.
    #[serde(default)]
    pub(crate) threads: Option<usize>,
}

/// One line from the bridge.
#[derive(Debug, Deserialize)]
struct Line {
    #[serde(default)]
    id: Option<u64>,
    #[serde(default)]
    ready: Option<Ready>,
    #[serde(default)]
    fatal: Option<String>,
    #[serde(default)]
    report: Option<Report>,
    #[serde(default)]
    crashed: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

type Answer = Result<Report, RemoteError>;

#[derive(Default)]
struct Waiting {
    pending: HashMap<u64, Sender<Answer>>,
    /// Why the bridge is gone, once it is.
    closed: Option<String>,
}

/// An open bridge (see the module docs).
pub(crate) struct Connection {
    out: Mutex<Box<dyn Write + Send>>,
    waiting: Arc<Mutex<Waiting>>,
    /// Which task stored each data version (hex) this connection has seen reported.
    produced: Mutex<HashMap<String, u64>>,
    next: AtomicU64,
    /// The cluster's size as the bridge found it when it started.
    threads: Option<usize>,
}

impl Connection {
    /// Waits for the bridge's first line (ready, or why it cannot start) and starts reading
    /// its reports. `gone` says why the bridge stopped (its exit, its log's tail) when its
    /// lines end.
    pub(crate) fn open(
        mut input: impl BufRead + Send + 'static,
        out: impl Write + Send + 'static,
        gone: impl Fn() -> String + Send + 'static,
    ) -> Result<Connection, String> {
        let mut first = String::new();
        match input.read_line(&mut first) {
            Ok(0) | Err(_) => return Err(gone()),
            Ok(_) => {}
        }
        let line: Line = serde_json::from_str(&first).map_err(|e| {
            format!("the bridge said something else than weft expects ({e}): {first}")
        })?;
        if let Some(why) = line.fatal {
            return Err(why);
        }
        let Some(ready) = line.ready else {
            return Err(format!("the bridge did not say it was ready: {first}"));
        };
        if ready.protocol != PROTOCOL {
            return Err(format!(
                "the bridge speaks protocol {}, this driver {PROTOCOL}",
                ready.protocol
            ));
        }
        let waiting: Arc<Mutex<Waiting>> = Arc::default();
        let reading = waiting.clone();
        std::thread::spawn(move || {
            for text in input.lines() {
                let Ok(text) = text else { break };
                let Ok(line) = serde_json::from_str::<Line>(&text) else {
                    continue;
                };
                let Some(id) = line.id else { continue };
                let answer = match (line.report, line.crashed, line.error) {
                    (Some(r), _, _) => Ok(r),
                    (_, Some(c), _) => Err(RemoteError::Crashed(c)),
                    (_, _, Some(e)) => Err(RemoteError::Transport(e)),
                    _ => continue,
                };
                let sender = lock(&reading).pending.remove(&id);
                if let Some(s) = sender {
                    let _ = s.send(answer);
                }
            }
            let why = gone();
            let mut w = lock(&reading);
            w.closed = Some(why);
            // Dropping the senders wakes every task still waiting.
            w.pending.clear();
        });
        Ok(Connection {
            out: Mutex::new(Box::new(out)),
            waiting,
            produced: Mutex::default(),
            next: AtomicU64::new(0),
            threads: ready.threads.filter(|&t| t > 0),
        })
    }

    /// How many tasks the cluster ran at once when the bridge started (`None`: it did not say,
    /// or it had no worker then).
    pub(crate) fn threads(&self) -> Option<usize> {
        self.threads
    }

    /// Why the bridge is gone, if it is.
    pub(crate) fn closed(&self) -> Option<String> {
        lock(&self.waiting).closed.clone()
    }

    /// Submits `task` and waits for its report. Once `cancel` is cancelled the task is
    /// stopped where it runs: `stop` is called with its id (the backend cancels it on the
    /// cluster) and the task ends with [`RemoteError::Cancelled`] at once, keeping no result.
    pub(crate) fn run(
        &self,
        task: &Task,
        cancel: &CancelToken,
        stop: impl Fn(u64),
    ) -> Result<Report, RemoteError> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let deps: Vec<u64> = {
            let produced = lock(&self.produced);
            let mut deps: Vec<u64> = task
                .nodes
                .iter()
                .flat_map(|n| &n.inputs)
                .flat_map(|i| match i {
                    TaskInput::Stored(v) => std::slice::from_ref(v),
                    TaskInput::Collected(vs) => vs.as_slice(),
                    _ => &[],
                })
                .filter_map(|v| produced.get(v).copied())
                .collect();
            deps.sort_unstable();
            deps.dedup();
            deps
        };
        let task_line = serde_json::to_string(task)
            .map_err(|e| RemoteError::Transport(format!("cannot encode the task: {e}")))?;
        // What the bridge needs of the task (its cluster task's name and run, its resources:
        // `{}` when none is declared) comes beside it, so the bridge never decodes the task.
        let head = task.nodes.first().map_or("task", |n| n.name.as_str());
        let line = serde_json::json!({
            "op": "submit", "id": id, "task": task_line, "deps": deps,
            "head": head, "run_id": task.run_id, "resources": task.resources,
        });
        let (tx, rx) = channel();
        {
            let mut w = lock(&self.waiting);
            if let Some(why) = &w.closed {
                return Err(RemoteError::Transport(why.clone()));
            }
            w.pending.insert(id, tx);
        }
        if let Err(e) = self.send(&line) {
            lock(&self.waiting).pending.remove(&id);
            return Err(e);
        }
        let report = loop {
            if cancel.is_cancelled() {
                lock(&self.waiting).pending.remove(&id);
                stop(id);
                return Err(RemoteError::Cancelled);
            }
            match rx.recv_timeout(CANCEL_POLL) {
                Ok(answer) => break answer?,
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    let why = self.closed().unwrap_or_else(|| "the bridge stopped".into());
                    return Err(RemoteError::Transport(why));
                }
            }
        };
        let mut produced = lock(&self.produced);
        for n in &report.nodes {
            if let NodeOutcome::Stored { version, .. } = &n.outcome {
                produced.insert(version.clone(), id);
            }
        }
        Ok(report)
    }

    /// Ends a run: the bridge releases the futures of finished tasks (a later run's tasks
    /// read their results from the store, with no cluster dependency).
    pub(crate) fn end_run(&self) {
        lock(&self.produced).clear();
        let _ = self.send(&serde_json::json!({"op": "forget"}));
    }

    /// Asks the bridge to cancel task `id` on the cluster (Dask's way; Ray stops the job).
    #[cfg(feature = "dask")]
    pub(crate) fn cancel(&self, id: u64) {
        let _ = self.send(&serde_json::json!({"op": "cancel", "id": id}));
    }

    /// Closes the line to the bridge, which then ends.
    pub(crate) fn close(&self) {
        *lock(&self.out) = Box::new(std::io::sink());
    }

    fn send(&self, line: &serde_json::Value) -> Result<(), RemoteError> {
        let mut bytes = line.to_string().into_bytes();
        bytes.push(b'\n');
        let mut out = lock(&self.out);
        out.write_all(&bytes)
            .and_then(|()| out.flush())
            .map_err(|e| {
                let why = self
                    .closed()
                    .unwrap_or_else(|| format!("the bridge stopped ({e})"));
                RemoteError::Transport(why)
            })
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
