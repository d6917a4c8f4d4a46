//! One run of a driver: checking the request and feeding the incremental core (`prepare`),
//! then collecting the walk's results (`finish`).

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use salsa::Durability;

use super::{Core, Prepared, RunRecord};
use crate::adapter::{RunInfo, RunSummary};
use crate::cancel::CancelToken;
use crate::error::{suggest, ExecuteError, InputProblem};
use crate::graph::{NodeId, NodeKind};
use crate::incremental::{Failure, Outcome};
use crate::inputs::Inputs;
use crate::outputs::Outputs;
use crate::plan::Plan;
use crate::value::{AnyValue, Value};
use crate::warnings::Warning;

impl Core {
    /// Checks the request, feeds the salsa inputs (an unchanged value starts no revision),
    /// starts the run and calls the adapters' `before_graph`.
    pub(crate) fn prepare(
        &self,
        outputs: &[&str],
        inputs: &Inputs,
        overrides: &Inputs,
        cancel: &CancelToken,
    ) -> Result<Prepared, ExecuteError> {
        let mut guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let state = &mut *guard;
        let override_ids = self.check_overrides(overrides)?;
        let plan = self.plan(outputs, &override_ids)?;
        self.check_inputs(&plan, inputs, overrides)?;

        for (id, node) in self.graph.nodes().iter().enumerate() {
            if let NodeKind::Input { .. } = node.kind() {
                let v = overrides
                    .entries()
                    .get(node.name())
                    .or_else(|| inputs.entries().get(node.name()))
                    .map(|(v, _)| Value::new(v.clone(), node.value_type()));
                if let Some(v) = v.as_ref().filter(|v| !v.is_fingerprinted()) {
                    match v.unfingerprinted_because() {
                        Some(message) => self.warnings.give(Warning::FingerprintPanicked {
                            input: node.name().to_string(),
                            ty: node.value_type().short_name(),
                            message,
                        }),
                        None => self.warn_unfingerprintable(node),
                    }
                }
                state.db.set_external(id as NodeId, v, Durability::LOW);
            }
        }
        for &id in &state.overridden.clone() {
            if !override_ids.contains(&id) {
                state.db.set_external(id, None, Durability::LOW);
            }
        }
        for &id in &override_ids {
            let node = self.graph.get(id);
            let (v, _) = &overrides.entries()[node.name()];
            let v = Value::new(v.clone(), node.value_type());
            state.db.set_external(id, Some(v), Durability::LOW);
        }
        state.overridden = override_ids.clone();
        let always = plan
            .order
            .iter()
            .any(|&id| state.db.engine_arc().always_rerun[id as usize]);
        if state.rerun_pending || always {
            state.db.bump_epoch();
        }

        let engine = state.db.engine_arc().clone();
        let run_id = new_run_id();
        let run_no = engine.begin_run(Arc::from(run_id.as_str()), cancel.clone());
        let output_names: Vec<String> = outputs.iter().map(|s| s.to_string()).collect();
        let names = self.names(&plan.order);
        let info = RunInfo {
            run_id: &run_id,
            outputs: &output_names,
            execution_path: &names,
        };
        for a in &engine.adapters {
            a.before_graph(&info);
        }
        Ok(Prepared {
            db: state.db.clone(),
            plan,
            overridden: override_ids,
            run_id,
            run_no,
            output_names,
            start: Instant::now(),
            record: true,
        })
    }

    /// A run is about to be walked: the values its plan needs are pinned in the driver's
    /// memory until their last consumer has run (see [`crate::memory`]).
    pub(crate) fn begin_walk(&self, prepared: &Prepared) {
        let memory = &prepared.db.engine_arc().memory;
        if memory.budget().is_some() {
            let counters = prepared.plan.counters(&self.graph);
            let consumers: Vec<u32> = counters.dependents.iter().map(|d| d.len() as u32).collect();
            memory.begin_run(&prepared.plan.order, &consumers, &prepared.plan.outputs);
        }
    }

    /// Collects a walk's results: failures, records, the adapters' `after_graph`, outputs.
    pub(crate) fn finish(
        &self,
        prepared: Prepared,
        completed: &[(NodeId, bool)],
        cancel: &CancelToken,
    ) -> Result<(Outputs, RunRecord), ExecuteError> {
        let Prepared {
            db,
            plan,
            overridden,
            run_id,
            run_no,
            output_names,
            start,
            record: keep_record,
        } = prepared;
        let engine = db.engine_arc().clone();
        // Requested outputs released since they were computed come back now, in this run: its
        // record says they executed (or were cache hits), not a later read.
        if engine.memory.budget().is_some()
            && !cancel.is_cancelled()
            && completed.iter().all(|&(_, failed)| !failed)
        {
            for &id in &plan.outputs {
                db.reload(id);
            }
        }
        let cancelled = cancel.is_cancelled()
            && (completed.len() < plan.order.len()
                || completed.iter().any(|&(id, failed)| {
                    // A fan-out stopped between items fails its collector with `Cancelled`.
                    failed
                        && matches!(db.outcome(id), Outcome::Failed(f)
                            if matches!(f.error, crate::error::NodeError::Cancelled))
                }));

        // Failures, each reported once, at the node where it started.
        let mut failures: Vec<Arc<Failure>> = Vec::new();
        for &(id, failed) in completed {
            if failed {
                if let Outcome::Failed(f) = db.outcome(id) {
                    if !failures.iter().any(|g| g.node == f.node) {
                        failures.push(f);
                    }
                }
            }
        }
        // Names as the adapters see them; copied into the record only for a caller that keeps it.
        let mut executed: Vec<(&str, NodeId)> = Vec::new();
        let mut reused: Vec<&str> = Vec::new();
        let mut hits: Vec<&str> = Vec::new();
        for &(id, failed) in completed {
            let node = self.graph.get(id);
            if node.spec().is_none() || overridden.contains(&id) {
                continue;
            }
            if engine.executed_in(id, run_no) {
                executed.push((node.name(), id));
            } else if !failed {
                if engine.reached_in(id, run_no) {
                    hits.push(node.name());
                }
                reused.push(node.name());
            }
        }
        // Nodes inside fan-outs are not tasks of the walk; they ran if their bodies did.
        if self.graph.has_fan_outs() {
            for (id, node) in self.graph.nodes().iter().enumerate() {
                let id = id as NodeId;
                if !self.graph.scope(id).is_empty() && engine.executed_in(id, run_no) {
                    executed.push((node.name(), id));
                }
            }
        }
        let record = if keep_record {
            RunRecord {
                run_id: run_id.clone(),
                executed: executed.iter().map(|(n, _)| n.to_string()).collect(),
                reused: reused.iter().map(|n| n.to_string()).collect(),
                hits: hits.iter().map(|n| n.to_string()).collect(),
                durations: executed
                    .iter()
                    .map(|&(n, id)| (n.to_string(), engine.took(id)))
                    .collect(),
                checks: self.checks(&db, completed),
                ..Default::default()
            }
        } else {
            RunRecord {
                run_id: run_id.clone(),
                ..Default::default()
            }
        };
        let failed_names: Vec<&str> = failures
            .iter()
            .map(|f| self.graph.get(f.node).name())
            .collect();
        let executed: Vec<&str> = executed.iter().map(|&(n, _)| n).collect();
        let mut values = Vec::new();
        if failures.is_empty() && !cancelled && engine.adapters.iter().any(|a| a.needs_values()) {
            for &(id, _) in completed {
                let node = self.graph.get(id);
                if let (Some(spec), false) = (node.spec(), overridden.contains(&id)) {
                    if let Outcome::Value(v) = db.outcome(id) {
                        values.push((node.name(), spec, v));
                    }
                }
            }
        }
        let names = self.names(&plan.order);
        let info = RunInfo {
            run_id: &run_id,
            outputs: &output_names,
            execution_path: &names,
        };
        let hits: Vec<&str> = record.hits.iter().map(String::as_str).collect();
        let summary = RunSummary {
            executed: &executed,
            reused: &reused,
            hits: &hits,
            failed: failed_names.first().copied(),
            failures: &failed_names,
            cancelled,
            duration: start.elapsed(),
            values: &values,
        };
        let mut outputs = BTreeMap::new();
        if !cancelled && failures.is_empty() {
            for &id in &plan.outputs {
                let name = self.graph.get(id).name().to_string();
                match db.outcome(id) {
                    Outcome::Value(v) => {
                        outputs.insert(name, Some(v));
                    }
                    Outcome::Absent => {
                        outputs.insert(name, None);
                    }
                    Outcome::Failed(_) => {}
                }
            }
        }
        let outputs = Outputs::new(outputs);
        // Read while the run holds its lease (the cache's `after_graph` lets it go).
        outputs.read_all();
        for a in &engine.adapters {
            a.after_graph(&info, &summary);
        }
        drop(values);
        engine.memory.end_run(&plan.order);
        drop(db);
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.rerun_pending = !failures.is_empty() || cancelled;
        state.walked = true;
        drop(state);
        if cancelled {
            return Err(ExecuteError::Cancelled);
        }
        if !failures.is_empty() {
            let mut errors: Vec<ExecuteError> = failures
                .iter()
                .map(|f| {
                    let path = plan
                        .outputs
                        .iter()
                        .map(|&o| self.graph.path_between(o, f.node))
                        .find(|p| p.len() > 1)
                        .unwrap_or_else(|| vec![self.graph.get(f.node).name().to_string()]);
                    let mut path = path;
                    if let (Some(i), Some(last)) = (f.item, path.last_mut()) {
                        last.push_str(&format!(" (item {i})"));
                    }
                    ExecuteError::NodeFailed {
                        node: self.graph.get(f.node).name().to_string(),
                        path,
                        source: f.error.clone(),
                    }
                })
                .collect();
            return Err(if errors.len() == 1 {
                errors.remove(0)
            } else {
                ExecuteError::Many(errors)
            });
        }
        Ok((outputs, record))
    }

    /// The plan for these outputs and overrides; plans are kept, so a rerun of the same request
    /// does not plan again.
    fn plan(
        &self,
        outputs: &[&str],
        overrides: &HashSet<NodeId>,
    ) -> Result<Arc<Plan>, ExecuteError> {
        let mut overridden: Vec<NodeId> = overrides.iter().copied().collect();
        overridden.sort_unstable();
        let key = (
            outputs.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            overridden,
        );
        let mut plans = self.plans.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(p) = plans.get(&key) {
            return Ok(p.clone());
        }
        let plan = Arc::new(Plan::new(&self.graph, outputs, overrides)?);
        if plans.len() >= 64 {
            plans.clear();
        }
        plans.insert(key, plan.clone());
        Ok(plan)
    }

    pub(super) fn names(&self, ids: &[NodeId]) -> Vec<&str> {
        ids.iter().map(|&i| self.graph.get(i).name()).collect()
    }

    fn check_overrides(&self, overrides: &Inputs) -> Result<HashSet<NodeId>, ExecuteError> {
        let mut ids = HashSet::new();
        let mut problems = Vec::new();
        for (name, (value, given)) in overrides.entries() {
            match self.graph.id(name) {
                None => problems.push(InputProblem::UnknownOverride(
                    name.clone(),
                    suggest(name, self.graph.nodes().iter().map(|n| n.name())),
                )),
                Some(id) => {
                    let ty = self.graph.get(id).value_type();
                    if (**value).type_id() != ty.id() {
                        problems.push(InputProblem::WrongType {
                            input: name.clone(),
                            expected: ty.name().to_string(),
                            given: given.to_string(),
                        });
                    } else {
                        match self.graph.get(id).kind() {
                            NodeKind::Function(_) => {
                                ids.insert(id);
                            }
                            // Overriding an input is giving it.
                            NodeKind::Input { .. } => {}
                            NodeKind::Config { .. } => {
                                problems.push(InputProblem::ConfigClash(name.clone()))
                            }
                        }
                    }
                }
            }
        }
        if problems.is_empty() {
            Ok(ids)
        } else {
            Err(ExecuteError::BadInputs(problems))
        }
    }

    /// The check reports among a run's completed nodes.
    fn checks(
        &self,
        db: &crate::incremental::WeftDb,
        completed: &[(NodeId, bool)],
    ) -> Vec<crate::CheckReport> {
        let report = std::any::TypeId::of::<crate::CheckReport>();
        completed
            .iter()
            .filter(|&&(id, failed)| !failed && self.graph.get(id).value_type().id() == report)
            .filter_map(|&(id, _)| match db.outcome(id) {
                Outcome::Value(v) => v.downcast_ref::<crate::CheckReport>().cloned(),
                _ => None,
            })
            .collect()
    }

    /// An input that counts as changed on every run: said once per driver.
    fn warn_unfingerprintable(&self, node: &crate::graph::GraphNode) {
        self.warnings.give(Warning::Unfingerprintable {
            input: node.name().to_string(),
            ty: node.value_type().short_name(),
            consumers: {
                let mut names: Vec<String> = (node.dependents.iter())
                    .map(|&d| self.graph.get(d).name().to_string())
                    .collect();
                names.sort();
                names
            },
        });
    }

    fn check_inputs(
        &self,
        plan: &Plan,
        inputs: &Inputs,
        overrides: &Inputs,
    ) -> Result<(), ExecuteError> {
        let mut problems = Vec::new();
        for (name, (value, given)) in inputs.entries() {
            if self.config.contains(name) {
                problems.push(InputProblem::ConfigClash(name.clone()));
                continue;
            }
            match self.graph.node(name).map(|n| n.kind()) {
                Some(NodeKind::Input { ty, .. }) => {
                    if check_type(value, ty.id()).is_err() {
                        problems.push(InputProblem::WrongType {
                            input: name.clone(),
                            expected: ty.name().to_string(),
                            given: given.to_string(),
                        });
                    }
                }
                Some(NodeKind::Function(_)) => {
                    problems.push(InputProblem::NotAnInput(name.clone()))
                }
                Some(NodeKind::Config { .. }) => {}
                // An input nothing uses is ignored (one set of inputs may serve several
                // graphs), unless it looks like a typo of one that is used.
                None => {
                    let hint = suggest(
                        name,
                        self.graph
                            .nodes()
                            .iter()
                            .filter(|n| matches!(n.kind(), NodeKind::Input { .. }))
                            .map(|n| n.name()),
                    );
                    match hint {
                        Some(h) if !inputs.contains(&h) => {
                            problems.push(InputProblem::Unknown(name.clone(), Some(h)))
                        }
                        _ => self.warnings.give(Warning::UnusedInput {
                            input: name.clone(),
                        }),
                    }
                }
            }
        }
        for &id in &plan.order {
            let node = self.graph.get(id);
            if let NodeKind::Input { ty, optional } = node.kind() {
                if !optional && !inputs.contains(node.name()) && !overrides.contains(node.name()) {
                    let needed_by = node
                        .dependents
                        .iter()
                        .map(|&d| self.graph.get(d))
                        .find(|d| {
                            plan.order
                                .contains(&self.graph.id(d.name()).unwrap_or(u32::MAX))
                        })
                        .map_or("?", |d| d.name());
                    problems.push(InputProblem::Missing {
                        input: node.name().to_string(),
                        expected: ty.name().to_string(),
                        needed_by: needed_by.to_string(),
                    });
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ExecuteError::BadInputs(problems))
        }
    }
}

fn check_type(value: &AnyValue, expected: std::any::TypeId) -> Result<(), ()> {
    if (**value).type_id() == expected {
        Ok(())
    } else {
        Err(())
    }
}

/// A run id unique across processes: time, process and a counter, hashed.
pub(crate) fn new_run_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mut h = blake3::Hasher::new();
    h.update(&now.to_le_bytes());
    h.update(&std::process::id().to_le_bytes());
    h.update(&COUNTER.fetch_add(1, Ordering::Relaxed).to_le_bytes());
    let mut s = h.finalize().to_hex().to_string();
    s.truncate(16);
    s
}
