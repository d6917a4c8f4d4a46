//! The driver's side of the seam: one attempt at a node becomes a [`Task`], its [`Report`]
//! becomes the node's result — a value known by its data version and read from the store only
//! when needed.

use std::sync::{Arc, Condvar, Mutex};

use rustc_hash::{FxHashMap, FxHashSet};

use super::message::{NodeOutcome, NodeReport, Report, Task, TaskInput, TaskNode, PROTOCOL};
use super::{RemoteError, RemoteExecutor, Resources};
use crate::cache::ResultStore;
use crate::error::NodeError;
use crate::fingerprint::DataVersion;
use crate::graph::{Graph, NodeId};
use crate::incremental::{Attempts, Engine};
use crate::node::{NodeSpec, ParamKind};
use crate::value::{Value, ValueType};

/// A group member's result, answered when its own attempt comes with the same arguments.
type Prefetched = Result<Value, NodeError>;

/// The driver's link to a [`RemoteExecutor`] and the store it shares with the workers.
pub(crate) struct Dispatch {
    backend: Arc<dyn RemoteExecutor>,
    location: String,
    store: Arc<dyn ResultStore>,
    /// Data versions known to be in the store (stored by us, or reported by a worker).
    known: Mutex<FxHashSet<DataVersion>>,
    /// Versions a task is storing now, and the signal that one finished: the first tasks of a
    /// run all need the run's inputs, and each would otherwise store them again, one store
    /// write after another (its task line going out a write later: with sixteen, the last a
    /// millisecond after the first). A task waits only for the versions it needs; different
    /// values are stored side by side.
    storing: (Mutex<FxHashSet<DataVersion>>, Condvar),
    /// Results of group members computed with an earlier member, by (node, key of arguments).
    prefetched: Mutex<FxHashMap<NodeId, Vec<(DataVersion, Prefetched)>>>,
    /// For each node of a task group, the other members after it, in rank order.
    after: Vec<Arc<[NodeId]>>,
    /// Why the backend could not start the current run, if it could not.
    broken: Mutex<Option<RemoteError>>,
}

/// Versions a task claimed for storing; dropping it gives them back and wakes the tasks
/// waiting for them.
struct Claim<'a>(&'a Dispatch, Vec<DataVersion>);

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        let (claims, stored) = &self.0.storing;
        let mut claimed = claims.lock().unwrap_or_else(|p| p.into_inner());
        for v in &self.1 {
            claimed.remove(v);
        }
        drop(claimed);
        stored.notify_all();
    }
}

impl Dispatch {
    pub(crate) fn new(
        backend: Arc<dyn RemoteExecutor>,
        graph: &Graph,
        location: String,
        store: Arc<dyn ResultStore>,
    ) -> Dispatch {
        let mut groups: FxHashMap<&str, Vec<NodeId>> = FxHashMap::default();
        for (i, n) in graph.nodes().iter().enumerate() {
            if let Some(g) = n.spec().and_then(NodeSpec::task) {
                groups.entry(g).or_default().push(i as NodeId);
            }
        }
        let mut after: Vec<Arc<[NodeId]>> = vec![Arc::from([]); graph.nodes().len()];
        for members in groups.values_mut() {
            members.sort_by_key(|&m| graph.get(m).rank);
            for (i, &m) in members.iter().enumerate() {
                after[m as usize] = Arc::from(&members[i + 1..]);
            }
        }
        Dispatch {
            backend,
            location,
            store,
            known: Mutex::default(),
            storing: Default::default(),
            prefetched: Mutex::default(),
            after,
            broken: Mutex::default(),
        }
    }

    /// The task's nodes: `id`, then the members of its group whose arguments all come from
    /// nodes already in the task.
    fn group(&self, graph: &Graph, id: NodeId, head: TaskNode) -> (Vec<NodeId>, Vec<TaskNode>) {
        let mut members = vec![id];
        let mut nodes = vec![head];
        for &m in self.after[id as usize].iter() {
            let Some(spec) = graph.get(m).spec() else {
                continue;
            };
            let mut inputs = Vec::with_capacity(spec.params().len());
            for (p, dep) in spec.params().iter().zip(graph.deps(m)) {
                match members.iter().position(|x| x == dep) {
                    Some(i) if p.kind() != ParamKind::Collect => inputs.push(TaskInput::Member(i)),
                    _ => break,
                }
            }
            if inputs.len() == spec.params().len() && graph.scope(m) == graph.scope(id) {
                members.push(m);
                nodes.push(TaskNode {
                    name: spec.name().to_string(),
                    code_version: spec.code_version().to_string(),
                    inputs,
                });
            }
        }
        (members, nodes)
    }

    /// Where each argument comes from; values not yet in the store are put there first.
    fn inputs(&self, spec: &NodeSpec, args: &[Option<Value>]) -> Result<Vec<TaskInput>, NodeError> {
        let mut out = Vec::with_capacity(args.len());
        let mut needed: Vec<(&str, Value)> = Vec::new();
        for (p, a) in spec.params().iter().zip(args) {
            let Some(v) = a else {
                out.push(TaskInput::Absent);
                continue;
            };
            if p.kind() == ParamKind::Collect {
                let items = crate::fanout::collected_items(v).ok_or_else(|| {
                    NodeError::Internal(format!("`{}` is not a collected value", p.name()))
                })?;
                out.push(TaskInput::Collected(
                    items.iter().map(|i| i.version().to_hex()).collect(),
                ));
                needed.extend(items.iter().map(|i| (p.name(), i.clone())));
            } else {
                out.push(TaskInput::Stored(v.version().to_hex()));
                needed.push((p.name(), v.clone()));
            }
        }
        self.ensure_stored(spec, &needed)?;
        Ok(out)
    }

    /// Puts the values the store does not have yet (inputs given to the driver, results of
    /// nodes that ran here).
    fn ensure_stored(&self, spec: &NodeSpec, values: &[(&str, Value)]) -> Result<(), NodeError> {
        let (claims, stored) = &self.storing;
        // The values not known to be stored, claimed for this task once no other task is
        // storing any of them (one that failed leaves them unknown: they are claimed here).
        let unknown = {
            let mut claimed = claims.lock().unwrap_or_else(|p| p.into_inner());
            loop {
                let unknown: Vec<&(&str, Value)> = {
                    let known = self.known.lock().unwrap_or_else(|p| p.into_inner());
                    values
                        .iter()
                        .filter(|(_, v)| !known.contains(&v.version()))
                        .collect()
                };
                if unknown.iter().any(|(_, v)| claimed.contains(&v.version())) {
                    claimed = stored.wait(claimed).unwrap_or_else(|p| p.into_inner());
                    continue;
                }
                claimed.extend(unknown.iter().map(|(_, v)| v.version()));
                break unknown;
            }
        };
        if unknown.is_empty() {
            return Ok(());
        }
        // Given back however storing ends (an error, a panicking `Serialize`).
        let _claim = Claim(self, unknown.iter().map(|(_, v)| v.version()).collect());
        self.store_values(spec, &unknown)
    }

    /// Stores `unknown` (those the store does not have already) and marks them known.
    fn store_values(&self, spec: &NodeSpec, unknown: &[&(&str, Value)]) -> Result<(), NodeError> {
        let versions: Vec<DataVersion> = unknown.iter().map(|(_, v)| v.version()).collect();
        let present = self.store.contains_many(&versions);
        let mut blobs = Vec::new();
        for ((param, v), there) in unknown.iter().zip(present) {
            if !there {
                let blob = encode(v).map_err(|why| {
                    NodeError::user(RemoteError::Transport(format!(
                        "cannot send input `{param}` of `{}` to a worker: {why}; give its type \
                         serde's Serialize and Deserialize, or run `{}` with a local executor",
                        spec.name(),
                        spec.name()
                    )))
                })?;
                blobs.push((v.version(), blob));
            }
        }
        for (r, (v, _)) in self.store.put_many(&blobs).into_iter().zip(&blobs) {
            r.map_err(|e| {
                NodeError::user(RemoteError::Transport(format!(
                    "cannot store an input of `{}` ({}) at {}: {e}",
                    spec.name(),
                    v.short(),
                    self.location
                )))
            })?;
        }
        self.known
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(versions);
        Ok(())
    }

    /// The head's result; the other members' results are kept for their own attempts.
    fn take(&self, graph: &Graph, members: &[NodeId], report: Report) -> Result<Value, NodeError> {
        if let Some(why) = report.refused {
            return Err(NodeError::user(RemoteError::Refused(why)));
        }
        let mut head = None;
        for (i, r) in report.nodes.into_iter().enumerate() {
            let Some(&m) = members.get(i) else { break };
            let Some(spec) = graph.get(m).spec() else {
                continue;
            };
            if r.name != spec.name() {
                return Err(NodeError::user(RemoteError::Transport(format!(
                    "the worker reported `{}` where `{}` was expected",
                    r.name,
                    spec.name()
                ))));
            }
            let inputs: Vec<Option<DataVersion>> = r
                .inputs
                .iter()
                .map(|v| v.as_deref().and_then(DataVersion::from_hex))
                .collect();
            let result = self.result(spec, r, report.worker);
            if i == 0 {
                head = Some(result);
            } else {
                self.prefetched
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .entry(m)
                    .or_default()
                    .push((key_of(spec, &inputs), result));
            }
        }
        head.unwrap_or_else(|| {
            Err(NodeError::user(RemoteError::Transport(format!(
                "worker {} sent an empty report",
                report.worker
            ))))
        })
    }

    fn result(&self, spec: &NodeSpec, r: NodeReport, worker: u32) -> Result<Value, NodeError> {
        match r.outcome {
            NodeOutcome::Stored {
                version,
                fingerprinted,
            } => {
                let v = DataVersion::from_hex(&version).ok_or_else(|| {
                    NodeError::user(RemoteError::Transport(format!(
                        "worker {worker} reported `{version}`, which is not a data version"
                    )))
                })?;
                self.known
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(v);
                Ok(self.lazy(spec.output(), v, fingerprinted))
            }
            NodeOutcome::Failed { chain } => Err(NodeError::user(RemoteError::Failed(chain))),
            NodeOutcome::Panicked { message } => Err(NodeError::Panic(message)),
            NodeOutcome::TimedOut { limit_ms } => Err(NodeError::Timeout(
                std::time::Duration::from_millis(limit_ms),
            )),
            NodeOutcome::Error { message } => Err(NodeError::user(RemoteError::Transport(
                format!("worker {worker}: {message}"),
            ))),
        }
    }

    /// A value read from the store when first needed, checked against its version.
    fn lazy(&self, ty: ValueType, version: DataVersion, fingerprinted: bool) -> Value {
        let store = self.store.clone();
        let location = self.location.clone();
        Value::lazy(
            version,
            ty,
            Box::new(move || load(&*store, &location, ty, version, fingerprinted)),
        )
    }
}

/// The engine runs a node's attempts through this when the executor is remote.
impl Attempts for Dispatch {
    fn begin_run(&self, run_id: &str) {
        self.prefetched
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        let failed = self.backend.begin_run(run_id).err();
        *self.broken.lock().unwrap_or_else(|p| p.into_inner()) = failed;
    }

    fn end_run(&self) {
        self.backend.end_run();
    }

    /// Whether a result of node `id` came with an earlier member's task.
    fn has_prefetched(&self, id: NodeId) -> bool {
        self.prefetched
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(&id)
    }

    /// One attempt at node `id` on `args`, on the backend.
    fn call(
        &self,
        engine: &Engine,
        id: NodeId,
        args: &[Option<Value>],
    ) -> Result<Value, NodeError> {
        let graph = &engine.graph;
        let spec = graph
            .get(id)
            .spec()
            .ok_or_else(|| NodeError::Internal("not a function node".into()))?;
        let versions: Vec<Option<DataVersion>> = args
            .iter()
            .map(|a| a.as_ref().map(Value::version))
            .collect();
        let key = key_of(spec, &versions);
        let found = {
            let mut table = self.prefetched.lock().unwrap_or_else(|p| p.into_inner());
            let found = table.get_mut(&id).and_then(|entries| {
                let i = entries.iter().position(|(k, _)| *k == key)?;
                Some(entries.swap_remove(i).1)
            });
            if table.get(&id).is_some_and(Vec::is_empty) {
                table.remove(&id);
            }
            found
        };
        if let Some(found) = found {
            return found;
        }
        if let Some(e) = self
            .broken
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
        {
            return Err(NodeError::user(e));
        }
        let head = TaskNode {
            name: spec.name().to_string(),
            code_version: spec.code_version().to_string(),
            inputs: self.inputs(spec, args)?,
        };
        let (members, nodes) = self.group(graph, id, head);
        let mut resources = Resources::default();
        for &m in &members {
            if let Some(r) = graph.get(m).spec().and_then(NodeSpec::resources) {
                merge(&mut resources, r);
            }
        }
        let task = Task {
            version: PROTOCOL,
            run_id: engine.run_id().to_string(),
            store: self.location.clone(),
            group: (members.len() > 1)
                .then(|| spec.task().map(str::to_string))
                .flatten(),
            nodes,
            resources,
        };
        let report = self
            .backend
            .run(&task, &engine.cancel_token())
            .map_err(|e| match e {
                RemoteError::Cancelled => NodeError::Cancelled,
                e => NodeError::user(e),
            })?;
        self.take(graph, &members, report)
    }
}

/// Reads, decodes and checks one stored value.
pub(crate) fn load(
    store: &dyn ResultStore,
    location: &str,
    ty: ValueType,
    version: DataVersion,
    check: bool,
) -> Result<crate::value::AnyValue, String> {
    let codec = ty
        .codec()
        .ok_or_else(|| format!("a `{}` cannot be deserialized", ty.short_name()))?;
    let blob = store
        .get(&version)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| {
            format!(
                "result {} is not in the store at {location}",
                version.short()
            )
        })?;
    let data = (codec.decode)(&blob.bytes, &blob.format)
        .map_err(|e| format!("cannot decode result {}: {e}", version.short()))?;
    if check
        && ty.is_fingerprintable()
        && ty.decoded_version(&blob.bytes, &blob.format, &*data) != Some(version)
    {
        return Err(format!(
            "result {} in the store at {location} is not the value of that version",
            version.short()
        ));
    }
    Ok(data)
}

/// Encodes a value for the store: postcard, or JSON when postcard cannot give it back.
pub(crate) fn encode(v: &Value) -> Result<crate::cache::Blob, String> {
    let ty = v.value_type();
    let codec = ty
        .codec()
        .ok_or_else(|| format!("a `{}` cannot be serialized", ty.short_name()))?;
    let data = v.data()?;
    let mut last = String::new();
    for format in ["postcard", "json"] {
        match (codec.encode)(&**data, format) {
            Ok(bytes) => {
                let back = (codec.decode)(&bytes, format).map(|b| ty.fingerprint(&*b));
                let same = !ty.is_fingerprintable()
                    || matches!(back, Ok(Some(found)) if found == v.version());
                if same {
                    return Ok(crate::cache::Blob {
                        format: format.to_string(),
                        type_name: ty.name().to_string(),
                        bytes,
                    });
                }
                last = format!(
                    "a `{}` does not survive a round trip through {format}",
                    ty.short_name()
                );
            }
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// The key of a node's result for arguments of these versions (as the async side table's).
pub(crate) fn key_of(spec: &NodeSpec, versions: &[Option<DataVersion>]) -> DataVersion {
    let mut h = blake3::Hasher::new();
    h.update(spec.code_version().as_bytes());
    for v in versions {
        match v {
            Some(v) => h.update(v.as_bytes()),
            None => h.update(&[0u8; 32]),
        };
    }
    DataVersion::from_bytes(*h.finalize().as_bytes())
}

/// The larger of each declared resource.
fn merge(into: &mut Resources, r: &Resources) {
    fn max(a: Option<f64>, b: Option<f64>) -> Option<f64> {
        match (a, b) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }
    into.cpus = max(into.cpus, r.cpus);
    into.gpus = max(into.gpus, r.gpus);
    into.memory = into.memory.max(r.memory);
    for (name, n) in &r.custom {
        match into.custom.iter_mut().find(|(k, _)| k == name) {
            Some((_, m)) => *m = m.max(*n),
            None => into.custom.push((name.clone(), *n)),
        }
    }
}

#[cfg(test)]
mod tests;
