//! The driver: build a graph from modules, execute requests against it, incrementally.

mod answer;

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use salsa::Durability;

use crate::adapter::{Adapter, RunInfo, RunSummary};
use crate::cache::{Cache, CacheConfig};
use crate::error::{suggest, BuildError, ExecuteError, InputProblem, Problem};
use crate::executor::{CancelToken, Executor, Sequential, Walk};
use crate::graph::{Graph, NodeId, NodeKind};
use crate::incremental::{Failure, Outcome, WeftDb};
use crate::inputs::Inputs;
use crate::module::Modules;
use crate::node::{CacheBehavior, NodeSpec};
use crate::outputs::Outputs;
use crate::plan::Plan;
use crate::value::{AnyValue, Value};
use crate::viz::{Viz, VizNode, VizRole};

/// Configures and builds a [`Driver`].
#[derive(Default)]
pub struct Builder {
    modules: Modules,
    extra: Vec<NodeSpec>,
    config: Inputs,
    adapters: Vec<Arc<dyn Adapter>>,
    allow_overrides: bool,
    cache: Option<CacheConfig>,
    executor: Option<Arc<dyn Executor>>,
    keep_going: bool,
}

impl Builder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the `#[node]` functions of these modules (see [`modules!`](crate::modules)).
    pub fn with_modules(mut self, modules: Modules) -> Self {
        self.modules.extend(modules);
        self
    }

    /// Adds nodes built at run time (see [`NodeSpec::builder`]).
    pub fn with_nodes(mut self, nodes: impl IntoIterator<Item = NodeSpec>) -> Self {
        self.extra.extend(nodes);
        self
    }

    /// Build-time configuration: each key satisfies parameters of that name, like an input
    /// that never changes. Keys must be disjoint from run inputs.
    pub fn with_config(mut self, config: Inputs) -> Self {
        for (k, (v, t)) in config.entries() {
            self.config.insert_erased(k.clone(), v.clone(), t);
        }
        self
    }

    /// Installs lifecycle adapters; they stack (see [`Adapter`]).
    pub fn with_adapter(mut self, adapter: impl Adapter) -> Self {
        self.adapters.push(Arc::new(adapter));
        self
    }

    /// Installs an adapter already behind an `Arc` (to keep a handle on it).
    pub fn with_adapter_arc(mut self, adapter: Arc<dyn Adapter>) -> Self {
        self.adapters.push(adapter);
        self
    }

    /// Caches results on disk in `.weft/cache`, with every node's behaviour DEFAULT unless its
    /// attribute says otherwise. See [`with_cache_config`](Self::with_cache_config).
    pub fn with_cache(self) -> Self {
        self.with_cache_config(CacheConfig::default())
    }

    /// Caches results as `config` says (directory, per-node behaviours, format).
    pub fn with_cache_config(mut self, config: CacheConfig) -> Self {
        self.cache = Some(config);
        self
    }

    /// Runs nodes with `executor` (default: [`Sequential`](crate::executors::Sequential)).
    ///
    /// ```
    /// use weft::{executors::MultiThreading, Builder};
    /// let builder = Builder::new().with_local_executor(MultiThreading::new(10));
    /// ```
    pub fn with_local_executor(mut self, executor: impl Executor) -> Self {
        self.executor = Some(Arc::new(executor));
        self
    }

    /// After a node fails, keep running everything that does not depend on it, and report
    /// every failure (default: stop scheduling at the first failure).
    pub fn keep_going(mut self, yes: bool) -> Self {
        self.keep_going = yes;
        self
    }

    /// Lets a later module redefine a node of an earlier one instead of failing.
    pub fn allow_module_overrides(mut self) -> Self {
        self.allow_overrides = true;
        self
    }

    /// Collects the nodes, validates the graph and starts the incremental core.
    pub fn build(self) -> Result<Driver, BuildError> {
        // An existing cache (or given stores) starts opening (on its writer thread) while the
        // graph is built; a new directory is created only once the graph is known to be valid.
        let mut opening = self
            .cache
            .as_ref()
            .filter(|cfg| cfg.has_stores() || cfg.path().is_dir())
            .map(Cache::opening);
        let mut problems = Vec::new();
        let mut specs: Vec<NodeSpec> = Vec::with_capacity(self.extra.len());
        let mut position: rustc_hash::FxHashMap<Arc<str>, usize> = Default::default();
        let mut origin: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let sources = self
            .modules
            .collect()
            .into_iter()
            .chain(std::iter::once(("(with_nodes)".to_string(), self.extra)));
        for (module, nodes) in sources {
            if nodes.is_empty() && module != "(with_nodes)" {
                problems.push(Problem::EmptyModule(module.clone()));
            }
            for spec in nodes {
                if let Some(&pos) = position.get(spec.name()) {
                    let first = specs[pos].module().to_string();
                    let mods = origin
                        .entry(spec.name().to_string())
                        .or_insert_with(|| vec![first]);
                    mods.push(module.clone());
                    if self.allow_overrides {
                        specs[pos] = spec;
                    }
                } else {
                    position.insert(spec.name.clone(), specs.len());
                    specs.push(spec);
                }
            }
        }
        if !self.allow_overrides {
            for (name, modules) in origin {
                if modules.len() > 1 {
                    problems.push(Problem::Duplicate { name, modules });
                }
            }
        }
        let graph = Arc::new(Graph::build(specs, self.config.entries(), problems)?);
        // Behaviours apply to the in-memory core too: RECOMPUTE and DISABLE nodes run on
        // every execute, with or without a persistent cache.
        let cache_config = self.cache.clone().unwrap_or_default();
        let behaviors = cache_config
            .resolve(&graph)
            .map_err(|problems| BuildError { problems })?;
        let always_rerun = behaviors
            .iter()
            .map(|b| matches!(b, CacheBehavior::Recompute | CacheBehavior::Disable))
            .collect();
        let mut adapters = self.adapters;
        let cache = match &self.cache {
            None => None,
            Some(cfg) => {
                let mut formats: Vec<Arc<str>> = Vec::new();
                let policy = graph
                    .nodes()
                    .iter()
                    .zip(&behaviors)
                    .filter_map(|(n, b)| {
                        let spec = n.spec()?;
                        let format = spec.cache_format().unwrap_or(cfg.default_format());
                        let format = match formats.iter().find(|f| ***f == *format) {
                            Some(f) => f.clone(),
                            None => {
                                formats.push(Arc::from(format));
                                formats[formats.len() - 1].clone()
                            }
                        };
                        Some((spec.name.clone(), (*b, format)))
                    })
                    .collect();
                let opening = opening.take().unwrap_or_else(|| Cache::opening(cfg));
                let cache = opening.finish(policy).map_err(|e| BuildError {
                    problems: vec![Problem::Cache(format!(
                        "cannot open the cache at {}: {e}",
                        cfg.path().display()
                    ))],
                })?;
                // Outermost: a hit skips every other wrapper (hooks still observe it).
                adapters.insert(0, Arc::new(cache.adapter()));
                Some(cache)
            }
        };
        let executor = self.executor.unwrap_or_else(|| Arc::new(Sequential));
        let mut db = WeftDb::new(
            graph.clone(),
            adapters,
            always_rerun,
            executor.parallelism(),
        );
        for (key, (value, _)) in self.config.entries() {
            if let Some(id) = graph.id(key) {
                let v = Value::new(value.clone(), graph.get(id).value_type());
                db.set_external(id, Some(v), Durability::HIGH);
            }
        }
        Ok(Driver {
            graph,
            run_lock: Mutex::new(()),
            plans: Mutex::new(PlanCache::new()),
            cache,
            executor,
            keep_going: self.keep_going,
            config: self.config,
            state: Mutex::new(State {
                db,
                overridden: HashSet::new(),
                rerun_pending: false,
                walked: false,
            }),
        })
    }
}

struct State {
    db: WeftDb,
    /// Nodes whose slot currently holds an override.
    overridden: HashSet<NodeId>,
    /// Whether the next run must start a new epoch (a failure or a recompute policy).
    rerun_pending: bool,
    /// Whether a run has been walked: the incremental core then holds values, and runs are no
    /// longer answered from the persistent cache alone (see `answer`).
    walked: bool,
}

impl Prepared {
    /// Whether node `id` is overridden in this run.
    pub(crate) fn is_overridden(&self, id: NodeId) -> bool {
        self.overridden.contains(&id)
    }
}

/// Plans by (outputs, overridden nodes).
type PlanCache = std::collections::HashMap<(Vec<String>, Vec<NodeId>), Arc<Plan>>;

/// A run between `Driver::prepare` and `Driver::finish`: its plan and a database handle.
pub(crate) struct Prepared {
    pub(crate) db: WeftDb,
    pub(crate) plan: Arc<Plan>,
    overridden: HashSet<NodeId>,
    run_id: String,
    run_no: u64,
    output_names: Vec<String>,
    start: Instant,
}

/// A built graph, ready to execute requests. Long-lived: it remembers every node's value and
/// re-executes only what a change affects.
pub struct Driver {
    graph: Arc<Graph>,
    run_lock: Mutex<()>,
    plans: Mutex<PlanCache>,
    cache: Option<Cache>,
    executor: Arc<dyn Executor>,
    keep_going: bool,
    config: Inputs,
    state: Mutex<State>,
}

/// What one `execute` did, node by node.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunRecord {
    /// The run's id.
    pub run_id: String,
    /// Nodes whose body ran, in execution order.
    pub executed: Vec<String>,
    /// Function nodes whose remembered value was reused.
    pub reused: Vec<String>,
    /// How long each executed node took.
    pub durations: BTreeMap<String, std::time::Duration>,
    /// Whether the persistent cache answered the whole run before it was walked: a driver with
    /// nothing in memory yet (a new process) whose every node hit. The run's records and its
    /// adapters' calls are those of a walk of hits; only the walk is skipped.
    pub answered: bool,
}

impl Driver {
    /// The validated graph.
    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// The persistent cache, when the driver was built with one.
    pub fn cache(&self) -> Option<&Cache> {
        self.cache.as_ref()
    }

    /// Computes `outputs` from `inputs`. Only their upstream closure is considered, and of
    /// that only what changed since the last run re-executes.
    pub fn execute(&self, outputs: &[&str], inputs: Inputs) -> Result<Outputs, ExecuteError> {
        self.execute_with_overrides(outputs, inputs, Inputs::new())
    }

    /// Like [`execute`](Self::execute), with `overrides` replacing the values of the nodes they
    /// name: those nodes do not run, and nodes only they needed are pruned.
    pub fn execute_with_overrides(
        &self,
        outputs: &[&str],
        inputs: Inputs,
        overrides: Inputs,
    ) -> Result<Outputs, ExecuteError> {
        self.run(outputs, &inputs, &overrides, None).map(|(o, _)| o)
    }

    /// Executes and also reports which nodes ran and which were reused.
    pub fn execute_recorded(
        &self,
        outputs: &[&str],
        inputs: Inputs,
        overrides: Inputs,
    ) -> Result<(Outputs, RunRecord), ExecuteError> {
        self.run(outputs, &inputs, &overrides, None)
    }

    /// Like [`execute_recorded`](Self::execute_recorded), stopping early with
    /// [`ExecuteError::Cancelled`] once `cancel` is cancelled (from another thread): nodes
    /// already running finish and keep their results; no new node starts.
    pub fn execute_cancellable(
        &self,
        outputs: &[&str],
        inputs: Inputs,
        overrides: Inputs,
        cancel: &CancelToken,
    ) -> Result<(Outputs, RunRecord), ExecuteError> {
        self.run(outputs, &inputs, &overrides, Some(cancel))
    }

    /// Whether the driver keeps going after a failure.
    pub(crate) fn keeps_going(&self) -> bool {
        self.keep_going
    }

    /// The executor in use.
    pub fn executor_name(&self) -> String {
        self.executor.name()
    }

    fn run(
        &self,
        outputs: &[&str],
        inputs: &Inputs,
        overrides: &Inputs,
        cancel: Option<&CancelToken>,
    ) -> Result<(Outputs, RunRecord), ExecuteError> {
        // One run at a time per driver: a run's database handles must be gone before the next
        // run sets inputs.
        let _one_at_a_time = self.run_lock.lock().unwrap_or_else(|p| p.into_inner());
        let never = CancelToken::new();
        let cancel = cancel.unwrap_or(&never);
        let prepared = self.prepare(outputs, inputs, overrides)?;
        if !cancel.is_cancelled() {
            if let Some(answered) = self.answer(&prepared) {
                return Ok(answered);
            }
        }
        let walk = Walk::new(
            &self.graph,
            &prepared.plan,
            &prepared.db,
            cancel,
            self.keep_going,
        );
        self.executor.run(&walk);
        let completed: Vec<(NodeId, bool)> = walk.completed().collect();
        drop(walk);
        self.finish(prepared, &completed, cancel)
    }

    /// Checks the request, feeds the salsa inputs (an unchanged value starts no revision),
    /// starts the run and calls the adapters' `before_graph`.
    pub(crate) fn prepare(
        &self,
        outputs: &[&str],
        inputs: &Inputs,
        overrides: &Inputs,
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
        let run_no = engine.begin_run(Arc::from(run_id.as_str()));
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
        })
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
        } = prepared;
        let engine = db.engine_arc().clone();
        let cancelled = completed.len() < plan.order.len() && cancel.is_cancelled();

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
        let mut record = RunRecord {
            run_id: run_id.clone(),
            ..Default::default()
        };
        for &(id, failed) in completed {
            let node = self.graph.get(id);
            if node.spec().is_none() || overridden.contains(&id) {
                continue;
            }
            if engine.executed_in(id, run_no) {
                record.executed.push(node.name().to_string());
                record
                    .durations
                    .insert(node.name().to_string(), engine.took(id));
            } else if !failed {
                record.reused.push(node.name().to_string());
            }
        }
        // Nodes inside fan-outs are not tasks of the walk; they ran if their bodies did.
        if self.graph.has_fan_outs() {
            for (id, node) in self.graph.nodes().iter().enumerate() {
                let id = id as NodeId;
                if !self.graph.scope(id).is_empty() && engine.executed_in(id, run_no) {
                    record.executed.push(node.name().to_string());
                    record
                        .durations
                        .insert(node.name().to_string(), engine.took(id));
                }
            }
        }
        let failed_names: Vec<&str> = failures
            .iter()
            .map(|f| self.graph.get(f.node).name())
            .collect();
        let executed: Vec<&str> = record.executed.iter().map(String::as_str).collect();
        let reused: Vec<&str> = record.reused.iter().map(String::as_str).collect();
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
        let summary = RunSummary {
            executed: &executed,
            reused: &reused,
            failed: failed_names.first().copied(),
            failures: &failed_names,
            duration: start.elapsed(),
            values: &values,
        };
        for a in &engine.adapters {
            a.after_graph(&info, &summary);
        }
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
        drop(values);
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
        Ok((Outputs::new(outputs), record))
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

    fn names(&self, ids: &[NodeId]) -> Vec<&str> {
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
                        _ => tracing::debug!(input = %name, "input not used by this graph"),
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

    /// A picture of the whole graph.
    pub fn display_all(&self) -> Viz {
        let all: Vec<NodeId> = (0..self.graph.nodes().len() as NodeId).collect();
        self.picture("weft DAG", &all, &[], &HashSet::new())
    }

    /// A picture of what executing `outputs` involves (with `overrides` short-circuited).
    pub fn visualize_execution(
        &self,
        outputs: &[&str],
        overrides: &[&str],
    ) -> Result<Viz, ExecuteError> {
        let ids: HashSet<NodeId> = overrides.iter().filter_map(|o| self.graph.id(o)).collect();
        let plan = Plan::new(&self.graph, outputs, &ids)?;
        Ok(self.picture("weft execution", &plan.order, &plan.outputs, &ids))
    }

    fn picture(
        &self,
        title: &str,
        ids: &[NodeId],
        outputs: &[NodeId],
        overridden: &HashSet<NodeId>,
    ) -> Viz {
        let index: std::collections::HashMap<NodeId, usize> =
            ids.iter().enumerate().map(|(i, &id)| (id, i)).collect();
        let nodes = ids
            .iter()
            .map(|&id| {
                let n = self.graph.get(id);
                let role = match n.kind() {
                    NodeKind::Input { .. } => VizRole::Input,
                    NodeKind::Config { .. } => VizRole::Config,
                    NodeKind::Function(_) if overridden.contains(&id) => VizRole::Override,
                    NodeKind::Function(_) if outputs.contains(&id) => VizRole::Output,
                    NodeKind::Function(_) => VizRole::Function,
                };
                VizNode {
                    name: n.name().to_string(),
                    role,
                    type_name: n.value_type().name().to_string(),
                    note: String::new(),
                }
            })
            .collect();
        let mut edges = Vec::new();
        for &id in ids {
            if overridden.contains(&id) {
                continue;
            }
            for d in self.graph.deps(id) {
                if let Some(&from) = index.get(d) {
                    edges.push((from, index[&id]));
                }
            }
        }
        Viz {
            title: title.to_string(),
            nodes,
            edges,
            legend: true,
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
