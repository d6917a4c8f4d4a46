//! Live pages: what happens during `watch --ui` / `dev --ui`, as events for every open page.
//!
//! Two sources feed one [`Hub`]: [`LiveAdapter`], an adapter on the watch driver (a run's
//! start with the nodes on its path, each node's start and finish with its outcome, the
//! run's end with what ran and what was reused), and the watcher's updates ([`Hub::watch`]:
//! the reason of each run — the files that changed — and whether it completed, failed or was
//! cancelled). The hub keeps the current run's events so that a page opened in the middle of
//! a run catches up, and broadcasts new ones; the server sends them as server-sent events
//! (`/events`, one JSON object each).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde_json::{json, Value as Json};
use tokio::sync::broadcast;
use weft::watch::{RunStatus, Trigger, Update};
use weft::{Adapter, Next, NodeFuture, NodeInfo, NodeResult, RunInfo, RunSummary};

/// How many events a slow page may fall behind before it is told to reload.
const BACKLOG: usize = 4096;

/// How many of the session's run endings the live panel lists.
pub(crate) const ENDINGS_KEPT: usize = 10;

/// How a run of the session ended, as the live panel lists it.
#[derive(Debug, Clone)]
pub(crate) struct Ending {
    /// The watcher's number of the run (1 for the first).
    pub(crate) number: u64,
    /// The run's id in the cache (none when it was cancelled before it began).
    pub(crate) run_id: Option<String>,
    /// `completed`, `failed`, `cancelled` (or `ended`).
    pub(crate) status: &'static str,
    /// Why it ran (the file that changed).
    pub(crate) reason: String,
}

/// What the session's runs came to, for pages rendered after the events went by.
#[derive(Default)]
struct Session {
    /// The id of the run in flight, from the adapter's run start.
    in_flight: Option<String>,
    /// The latest endings, oldest first.
    endings: VecDeque<Ending>,
}

/// The live events of one watch session, for every page that listens.
#[derive(Clone)]
pub(crate) struct Hub {
    inner: Arc<HubInner>,
}

struct HubInner {
    tx: broadcast::Sender<Arc<str>>,
    /// The events since the current (or last) run started: what a page opened now replays.
    current: Mutex<Vec<Arc<str>>>,
    session: Mutex<Session>,
}

impl Default for Hub {
    fn default() -> Self {
        let (tx, _) = broadcast::channel(BACKLOG);
        Hub {
            inner: Arc::new(HubInner {
                tx,
                current: Mutex::new(Vec::new()),
                session: Mutex::default(),
            }),
        }
    }
}

impl Hub {
    /// Sends `event` (a JSON object with a `kind`) to every page; a run's start begins a new
    /// replay list.
    pub(crate) fn send(&self, event: Json) {
        let starts_run = event["kind"] == "run_started";
        if starts_run {
            lock(&self.inner.session).in_flight = event["run_id"].as_str().map(str::to_string);
        }
        let text: Arc<str> = Arc::from(event.to_string());
        {
            let mut current = self.lock();
            if starts_run {
                // The watcher announces why a run starts just before the run begins.
                let reason = current
                    .iter()
                    .rev()
                    .find(|e| e.contains("\"kind\":\"reason\""))
                    .cloned();
                current.clear();
                current.extend(reason);
            }
            current.push(text.clone());
        }
        // No page listening is fine.
        let _ = self.inner.tx.send(text);
    }

    /// The events so far of the current run, and the stream of the next ones, taken at the same
    /// moment (so none is missed or seen twice).
    pub(crate) fn subscribe(&self) -> (Vec<Arc<str>>, broadcast::Receiver<Arc<str>>) {
        let current = self.lock();
        (current.clone(), self.inner.tx.subscribe())
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Arc<str>>> {
        lock(&self.inner.current)
    }

    /// The session's latest run endings, newest first.
    pub(crate) fn endings(&self) -> Vec<Ending> {
        lock(&self.inner.session)
            .endings
            .iter()
            .rev()
            .cloned()
            .collect()
    }

    /// Run `number` of the session ended (`completed`, `failed`, `cancelled`, …): kept for the
    /// live panel, with the id of the run in flight, and sent.
    pub(crate) fn run_ended(
        &self,
        number: u64,
        status: &'static str,
        reason: String,
        elapsed: Duration,
    ) {
        let run_id = {
            let mut session = lock(&self.inner.session);
            let run_id = session.in_flight.take();
            if session.endings.len() == ENDINGS_KEPT {
                session.endings.pop_front();
            }
            session.endings.push_back(Ending {
                number,
                run_id: run_id.clone(),
                status,
                reason: reason.clone(),
            });
            run_id
        };
        self.send(json!({
            "kind": "run_ended",
            "run": number,
            "run_id": run_id,
            "status": status,
            "reason": reason,
            "elapsed_ms": elapsed.as_secs_f64() * 1e3,
        }));
    }

    /// Forwards what the watcher says: why a run starts, which run is being cancelled, and
    /// how each ended.
    pub(crate) fn watch(&self, update: &Update) {
        match update {
            Update::Started { run, trigger } => {
                lock(&self.inner.session).in_flight = None;
                self.send(json!({
                "kind": "reason",
                "run": run,
                "reason": reason(trigger),
                "files": files(trigger),
                }))
            }
            Update::Cancelling { run, paths } => self.send(json!({
                "kind": "cancelling",
                "run": run,
                "files": paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
            })),
            Update::Ran { report, .. } => {
                let status = match report.status {
                    RunStatus::Completed => "completed",
                    RunStatus::Failed(_) => "failed",
                    RunStatus::Cancelled => "cancelled",
                    _ => "ended",
                };
                self.run_ended(
                    report.number,
                    status,
                    reason(&report.trigger),
                    report.elapsed,
                );
            }
            Update::Unchanged(paths) => self.send(json!({
                "kind": "unchanged",
                "files": paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
            })),
            _ => {}
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A run's reason in words.
fn reason(trigger: &Trigger) -> String {
    match trigger {
        Trigger::Files(paths) => {
            let names: Vec<String> = files(trigger);
            match paths.len() {
                1 => format!("{} changed", names[0]),
                _ => format!("{} changed", names.join(", ")),
            }
        }
        Trigger::Request => "requested".into(),
        _ => "first run".into(),
    }
}

/// The files of a trigger, as shown.
fn files(trigger: &Trigger) -> Vec<String> {
    match trigger {
        Trigger::Files(paths) => paths.iter().map(|p| p.display().to_string()).collect(),
        _ => Vec::new(),
    }
}

/// The adapter that tells the hub about a run's nodes.
pub(crate) struct LiveAdapter {
    hub: Hub,
    /// Nodes whose body was entered in the current run (the others finished as hits).
    in_body: Mutex<std::collections::HashSet<String>>,
}

impl LiveAdapter {
    pub(crate) fn new(hub: Hub) -> Self {
        LiveAdapter {
            hub,
            in_body: Mutex::default(),
        }
    }

    fn in_body(&self) -> MutexGuard<'_, std::collections::HashSet<String>> {
        lock(&self.in_body)
    }
}

impl Adapter for LiveAdapter {
    fn before_graph(&self, run: &RunInfo<'_>) {
        self.in_body().clear();
        self.hub.send(json!({
            "kind": "run_started",
            "run_id": run.run_id,
            "outputs": run.outputs,
            "path": run.execution_path,
        }));
    }

    fn before_node(&self, node: &NodeInfo<'_>) {
        self.hub
            .send(json!({ "kind": "node_started", "node": node.name() }));
    }

    fn wrap_node<'a>(&'a self, node: &'a NodeInfo<'a>, next: Next<'a>) -> NodeFuture<'a> {
        self.in_body().insert(node.name().to_string());
        next.run(node)
    }

    fn after_node(&self, node: &NodeInfo<'_>, result: &NodeResult, took: Duration) {
        let ran = self.in_body().remove(node.name());
        let outcome = match result {
            Err(_) => "failed",
            Ok(_) if ran => "executed",
            Ok(_) => "hit",
        };
        self.hub.send(json!({
            "kind": "node_finished",
            "node": node.name(),
            "outcome": outcome,
            "ms": took.as_secs_f64() * 1e3,
        }));
    }

    fn after_graph(&self, run: &RunInfo<'_>, summary: &RunSummary<'_>) {
        self.hub.send(json!({
            "kind": "run_finished",
            "run_id": run.run_id,
            "executed": summary.executed,
            "reused": summary.reused,
            "hits": summary.hits,
            "failed": summary.failed,
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_opened_during_a_run_replays_it_then_follows() {
        let hub = Hub::default();
        hub.send(json!({"kind": "reason", "run": 1, "reason": "first run"}));
        hub.send(json!({"kind": "run_started", "run_id": "a"}));
        hub.send(json!({"kind": "node_started", "node": "x"}));
        let (past, mut next) = hub.subscribe();
        let kinds: Vec<String> = past
            .iter()
            .map(|e| serde_json::from_str::<Json>(e).unwrap()["kind"].to_string())
            .collect();
        assert_eq!(
            kinds,
            ["\"reason\"", "\"run_started\"", "\"node_started\""],
            "the reason stays with the run it explains"
        );
        hub.send(json!({"kind": "node_finished", "node": "x", "outcome": "executed"}));
        let got = next.try_recv().unwrap();
        assert!(got.contains("node_finished"), "{got}");
        // A new run starts a new replay list.
        hub.send(json!({"kind": "run_started", "run_id": "b"}));
        let (past, _) = hub.subscribe();
        assert!(past.last().unwrap().contains("\"b\""));
        assert!(!past.iter().any(|e| e.contains("node_finished")));
    }
}
