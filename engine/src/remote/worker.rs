//! The worker primitive: read [`Task`]s, run their nodes through the engine's one evaluation
//! path on inputs read from the store, store the results, write [`Report`]s. One JSON message
//! per line each way.

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::sync::Arc;
use std::time::Instant;

use super::dispatch::{encode, load};
use super::message::{NodeOutcome, NodeReport, Report, Task, TaskInput, PROTOCOL};
use crate::cache::{ResultStore, StoreError};
use crate::error::NodeError;
use crate::graph::{Graph, NodeId};
use crate::incremental::{Engine, WeftDb};
use crate::node::ParamKind;
use crate::value::Value;

/// The hidden command-line argument that makes a flow binary built on `weft_cli::main` a
/// worker (the [`ProcessPool`](super::ProcessPool) passes it).
pub const WORKER_ARG: &str = "__weft-worker";

/// The environment variable a [`ProcessPool`](super::ProcessPool) sets for its workers: the
/// path of the socket to serve tasks on.
pub const WORKER_ENV: &str = "WEFT_WORKER_SOCKET";

/// Whether this process was started as a worker by a [`ProcessPool`](super::ProcessPool):
/// then build the driver as usual and call
/// [`Driver::serve_worker`](crate::Driver::serve_worker) instead of running the flow.
///
/// ```
/// // A program started normally is not a worker.
/// assert!(!weft::remote::is_worker());
/// ```
pub fn is_worker() -> bool {
    std::env::var_os(WORKER_ENV).is_some()
}

/// Opens the result store at `location`, which workers and drivers share: a cache location as
/// [`CacheConfig::locate`](crate::CacheConfig::locate) reads it — a directory (the layout of a
/// cache directory's results: small ones in `results.sqlite`, large ones as files under
/// `results/`), created if missing, or an object-storage URL such as `s3://bucket/prefix`
/// (feature `object-store`), reached with one request: a URL that cannot be reached is an
/// error naming it.
///
/// ```
/// let dir = std::env::temp_dir().join(format!("weft-doc-store-{}", std::process::id()));
/// let store = weft::remote::open_store(dir.to_str().unwrap()).unwrap();
/// assert!(store.list().unwrap().is_empty());
/// # std::fs::remove_dir_all(&dir).ok();
/// // A location that is neither is an error naming it.
/// let e = weft::remote::open_store("ftp://host/store").err().unwrap().to_string();
/// assert!(e.contains("`ftp://host/store`"), "{e}");
/// ```
pub fn open_store(location: &str) -> Result<Arc<dyn ResultStore>, StoreError> {
    let shared = crate::CacheConfig::locate(location)?.shared_results();
    let (_, store) = shared.ok_or_else(|| StoreError::Location {
        location: location.to_string(),
        why: "it has no address other processes can reach".into(),
    })??;
    Ok(store)
}

/// Serves tasks from `input` until it ends, one report per task on `output`.
pub(crate) fn serve(
    graph: Arc<Graph>,
    input: impl BufRead,
    mut output: impl Write,
) -> std::io::Result<()> {
    let n = graph.nodes().len();
    // The worker's engine: the graph's nodes, no adapters (the driver's stack — cache,
    // retries, yours — wraps each attempt; a worker makes exactly one).
    let db = WeftDb::new(graph, Vec::new(), vec![false; n], 1, 0);
    let engine = db.engine_arc().clone();
    let mut stores: HashMap<String, Arc<dyn ResultStore>> = HashMap::new();
    for line in input.lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let report = handle(&engine, &mut stores, &line);
        // One write per report: serde writes in small pieces, a syscall each on a socket.
        let mut bytes = serde_json::to_vec(&report).map_err(std::io::Error::other)?;
        bytes.push(b'\n');
        output.write_all(&bytes)?;
        output.flush()?;
    }
    Ok(())
}

fn refuse(why: String) -> Report {
    Report {
        version: PROTOCOL,
        worker: std::process::id(),
        refused: Some(why),
        nodes: Vec::new(),
    }
}

/// One task's report.
fn handle(
    engine: &Arc<Engine>,
    stores: &mut HashMap<String, Arc<dyn ResultStore>>,
    line: &str,
) -> Report {
    let task: Task = match serde_json::from_str(line) {
        Ok(t) => t,
        Err(e) => {
            let version = serde_json::from_str::<serde_json::Value>(line)
                .ok()
                .and_then(|v| v.get("version").and_then(serde_json::Value::as_u64));
            return refuse(match version {
                Some(v) if v != u64::from(PROTOCOL) => format!(
                    "the task speaks protocol {v}, this worker {PROTOCOL}: build the driver and \
                     its workers from the same weft"
                ),
                _ => format!("cannot read the task: {e}"),
            });
        }
    };
    if task.version != PROTOCOL {
        return refuse(format!(
            "the task speaks protocol {}, this worker {PROTOCOL}: build the driver and its \
             workers from the same weft",
            task.version
        ));
    }
    let graph = &engine.graph;
    let mut ids = Vec::with_capacity(task.nodes.len());
    for t in &task.nodes {
        let Some(id) = graph.id(&t.name) else {
            return refuse(format!(
                "this worker ({}) has no node `{}`: the driver and its workers must be built \
                 from the same code and config",
                exe(),
                t.name
            ));
        };
        let mine = graph.get(id).spec().map(|s| s.code_version()).unwrap_or("");
        if mine != t.code_version {
            return refuse(format!(
                "`{}` has code version {} in the driver but {} in this worker ({}): the driver \
                 and its workers must be built from the same code; rebuild and restart them",
                t.name,
                short(&t.code_version),
                short(mine),
                exe()
            ));
        }
        ids.push(id);
    }
    let store = match stores.get(&task.store) {
        Some(s) => s.clone(),
        None => match open_store(&task.store) {
            Ok(s) => {
                stores.insert(task.store.clone(), s.clone());
                s
            }
            Err(e) => return refuse(format!("cannot open the store at {}: {e}", task.store)),
        },
    };
    let mut results: Vec<Value> = Vec::with_capacity(ids.len());
    let mut reports = Vec::with_capacity(ids.len());
    let mut pending = Vec::new();
    for (t, &id) in task.nodes.iter().zip(&ids) {
        let (report, value) = run_one(engine, &*store, &task.store, id, &t.inputs, &results);
        let failed = value.is_none();
        if let Some(v) = value {
            if let NodeOutcome::Stored { .. } = report.outcome {
                match encode(&v) {
                    Ok(blob) => pending.push((reports.len(), v.version(), blob)),
                    Err(why) => {
                        reports.push(NodeReport {
                            outcome: NodeOutcome::Error {
                                message: format!(
                                    "its result cannot be sent back to the driver: {why}; give \
                                     its type serde's Serialize and Deserialize, or run it with \
                                     a local executor"
                                ),
                            },
                            ..report
                        });
                        break;
                    }
                }
            }
            results.push(v);
        }
        reports.push(report);
        if failed {
            break;
        }
    }
    let items: Vec<_> = pending.iter().map(|(_, v, b)| (*v, b.clone())).collect();
    for (r, (i, _, _)) in store.put_many(&items).into_iter().zip(&pending) {
        if let Err(e) = r {
            reports[*i].outcome = NodeOutcome::Error {
                message: format!("cannot store its result at {}: {e}", task.store),
            };
        }
    }
    Report {
        version: PROTOCOL,
        worker: std::process::id(),
        refused: None,
        nodes: reports,
    }
}

/// Runs one node of a task; its value when it succeeded.
fn run_one(
    engine: &Arc<Engine>,
    store: &dyn ResultStore,
    location: &str,
    id: NodeId,
    inputs: &[TaskInput],
    earlier: &[Value],
) -> (NodeReport, Option<Value>) {
    let spec = engine
        .graph
        .get(id)
        .spec()
        .expect("checked: a function node");
    let mut report = NodeReport {
        name: spec.name().to_string(),
        inputs: Vec::new(),
        took_us: 0,
        outcome: NodeOutcome::Error {
            message: String::new(),
        },
    };
    let args = match arguments(spec, store, location, inputs, earlier) {
        Ok(a) => a,
        Err(message) => {
            report.outcome = NodeOutcome::Error { message };
            return (report, None);
        }
    };
    report.inputs = args
        .iter()
        .map(|a| a.as_ref().map(|v| v.version().to_hex()))
        .collect();
    let start = Instant::now();
    let result = engine.run_node_blocking(id, args);
    report.took_us = start.elapsed().as_micros() as u64;
    match result {
        Ok(v) => {
            report.outcome = NodeOutcome::Stored {
                version: v.version().to_hex(),
                fingerprinted: v.is_fingerprinted(),
            };
            (report, Some(v))
        }
        Err(e) => {
            report.outcome = match e {
                NodeError::User(_) => NodeOutcome::Failed { chain: e.chain() },
                NodeError::Panic(message) => NodeOutcome::Panicked { message },
                NodeError::Timeout(limit) => NodeOutcome::TimedOut {
                    limit_ms: limit.as_millis() as u64,
                },
                other => NodeOutcome::Error {
                    message: other.to_string(),
                },
            };
            (report, None)
        }
    }
}

/// A node's arguments, read from the store or taken from earlier members of the task.
fn arguments(
    spec: &crate::node::NodeSpec,
    store: &dyn ResultStore,
    location: &str,
    inputs: &[TaskInput],
    earlier: &[Value],
) -> Result<Vec<Option<Value>>, String> {
    if inputs.len() != spec.params().len() {
        return Err(format!(
            "the task gives {} arguments, `{}` takes {}",
            inputs.len(),
            spec.name(),
            spec.params().len()
        ));
    }
    let stored = |param: &str, hex: &str, ty: crate::ValueType| -> Result<Value, String> {
        let version = crate::DataVersion::from_hex(hex)
            .ok_or_else(|| format!("input `{param}`: `{hex}` is not a data version"))?;
        let data = load(store, location, ty, version, true)
            .map_err(|e| format!("cannot read input `{param}`: {e}"))?;
        Ok(Value::new(data, ty))
    };
    let mut args = Vec::with_capacity(inputs.len());
    for (p, input) in spec.params().iter().zip(inputs) {
        args.push(match input {
            TaskInput::Absent => None,
            TaskInput::Stored(hex) if p.kind() != ParamKind::Collect => {
                Some(stored(p.name(), hex, p.value_type())?)
            }
            TaskInput::Collected(items) if p.kind() == ParamKind::Collect => {
                let values = items
                    .iter()
                    .map(|hex| stored(p.name(), hex, p.value_type()))
                    .collect::<Result<Vec<_>, _>>()?;
                Some(crate::fanout::collected_value(values))
            }
            TaskInput::Member(i) => Some(earlier.get(*i).cloned().ok_or_else(|| {
                format!("input `{}` names task member {i}, not yet run", p.name())
            })?),
            other => return Err(format!("input `{}` cannot be {other:?}", p.name())),
        });
    }
    Ok(args)
}

fn short(v: &str) -> &str {
    &v[..v.len().min(12)]
}

fn exe() -> String {
    std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "this program".into())
}
