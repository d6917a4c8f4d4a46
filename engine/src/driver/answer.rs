//! Runs answered from the persistent cache without walking them (see `cache::answer`).

use std::collections::BTreeMap;
use std::sync::Arc;

use rustc_hash::FxHashMap;

use super::{Core, Prepared, RunRecord};
use crate::adapter::{NodeInfo, RunInfo, RunSummary};
use crate::cache::{Cache, CacheKey, Dep};
use crate::fingerprint::DataVersion;
use crate::graph::{Graph, NodeId};
use crate::incremental::named_inputs;
use crate::outputs::Outputs;
use crate::value::{AnyValue, Value};

impl Core {
    /// The run's outputs and record when the persistent cache answers every node of the plan,
    /// `None` to walk it. Tried only while the incremental core holds nothing (no run walked
    /// yet: in a long-lived driver, memory answers first), without overrides or fan-outs.
    ///
    /// Adapters see what a walk of all hits shows them: `before_node` and `after_node` for every
    /// function node in order (the cache, outermost, answers each node, so no other adapter
    /// wraps one), then `after_graph` with every node reused.
    pub(crate) fn answer(&self, prepared: &Prepared) -> Option<(Outputs, RunRecord)> {
        let cache = self.cache.as_ref()?;
        if !prepared.overridden.is_empty() || self.graph.has_fan_outs() {
            return None;
        }
        if self.state.lock().unwrap_or_else(|p| p.into_inner()).walked {
            return None;
        }
        let plan = &prepared.plan;
        let mut answering = cache.answering(&prepared.run_id, plan.order.len())?;
        let mut nodes = vec![Slot::Unused; self.graph.nodes().len()];
        for &id in &plan.order {
            let Some(spec) = self.graph.get(id).spec() else {
                nodes[id as usize] = Slot::Given(prepared.db.external(id));
                continue;
            };
            let deps = spec
                .params()
                .iter()
                .zip(self.graph.deps(id))
                .map(|(p, &d)| (p.name(), nodes[d as usize].dep()));
            let (key, version) = answering.hit(spec, deps)?;
            nodes[id as usize] = Slot::Hit(key, version);
        }
        answering.record();
        let answered = Arc::new(Answered {
            engine: Arc::downgrade(prepared.db.engine_arc()),
            graph: self.graph.clone(),
            cache: cache.clone(),
            nodes,
        });
        let mut made = FxHashMap::default();

        // Values are made only for what is returned, unless another adapter observes nodes.
        let engine = prepared.db.engine_arc();
        let adapters = &engine.adapters;
        let observed = engine.user_adapters > 0;
        let mut node_values = Vec::new();
        let mut reused = Vec::new();
        for &id in &plan.order {
            let Some(spec) = self.graph.get(id).spec() else {
                continue;
            };
            reused.push(spec.name());
            if !observed {
                continue;
            }
            let args = answered.args(id, &mut made);
            let Some(value) = answered.value(id, &mut made) else {
                continue;
            };
            let inputs = named_inputs(spec, &args);
            let info = NodeInfo {
                run_id: &prepared.run_id,
                spec,
                inputs: &inputs,
                attempt: 0,
            };
            for a in adapters {
                a.before_node(&info);
            }
            let result = Ok(value.clone());
            for a in adapters {
                a.after_node(&info, &result, std::time::Duration::ZERO);
            }
            node_values.push((spec.name(), spec, value));
        }
        let names = self.names(&plan.order);
        let info = RunInfo {
            run_id: &prepared.run_id,
            outputs: &prepared.output_names,
            execution_path: &names,
        };
        let summary = RunSummary {
            executed: &[],
            reused: &reused,
            hits: &reused,
            failed: None,
            failures: &[],
            cancelled: false,
            duration: prepared.start.elapsed(),
            values: &node_values,
        };
        let outputs: BTreeMap<String, Option<Value>> = plan
            .outputs
            .iter()
            .map(|&id| {
                let name = self.graph.get(id).name().to_string();
                (name, answered.value(id, &mut made))
            })
            .collect();
        let outputs = Outputs::new(outputs);
        // Read while the run holds its lease (the cache's `after_graph` lets it go).
        outputs.read_all();
        for a in adapters {
            a.after_graph(&info, &summary);
        }
        let named = |names: &[&str]| -> Vec<String> {
            if prepared.record {
                names.iter().map(|s| s.to_string()).collect()
            } else {
                Vec::new()
            }
        };
        // The stored verdicts of the run's checks (small values, loaded here).
        let report = std::any::TypeId::of::<crate::CheckReport>();
        let checks = plan
            .order
            .iter()
            .filter(|&&id| prepared.record && self.graph.get(id).value_type().id() == report)
            .filter_map(|&id| answered.value(id, &mut made))
            .filter_map(|v| v.downcast_ref::<crate::CheckReport>().cloned())
            .collect();
        let record = RunRecord {
            run_id: prepared.run_id.clone(),
            reused: named(&reused),
            hits: named(&reused),
            answered: true,
            checks,
            ..Default::default()
        };
        self.state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .rerun_pending = false;
        Some((outputs, record))
    }
}

/// What an answered run knows of a node.
#[derive(Clone)]
enum Slot {
    /// Not part of the run.
    Unused,
    /// An input's or config's value (`None`: an absent optional input).
    Given(Option<Value>),
    /// A function node's stored result.
    Hit(CacheKey, DataVersion),
}

impl Slot {
    fn dep(&self) -> Dep {
        match self {
            Slot::Unused => Dep::Absent,
            Slot::Given(v) => Dep::of(v.as_ref()),
            Slot::Hit(_, version) => Dep::Version(*version),
        }
    }
}

/// An answered run, from which values are made when asked for.
struct Answered {
    engine: std::sync::Weak<crate::incremental::Engine>,
    graph: Arc<Graph>,
    cache: Cache,
    nodes: Vec<Slot>,
}

impl Answered {
    /// Node `id`'s value: as given, or its stored result read when first needed; a result that
    /// turns out missing or corrupt is recomputed from the node's dependencies' values, made
    /// the same way. `made` keeps each node's value made once.
    fn value(self: &Arc<Self>, id: NodeId, made: &mut FxHashMap<NodeId, Value>) -> Option<Value> {
        if let Some(v) = made.get(&id) {
            return Some(v.clone());
        }
        let v = match &self.nodes[id as usize] {
            Slot::Unused => None,
            Slot::Given(v) => v.clone(),
            Slot::Hit(key, version) => {
                let spec = self.graph.get(id).spec()?;
                let me = self.clone();
                let lazy = self.cache.lazy_hit(spec, *key, *version);
                Some(lazy.with_fallback(Box::new(move |_| me.recompute(id)), Vec::new()))
            }
        }?;
        made.insert(id, v.clone());
        Some(v)
    }

    /// The values of node `id`'s dependencies, in parameter order.
    fn args(
        self: &Arc<Self>,
        id: NodeId,
        made: &mut FxHashMap<NodeId, Value>,
    ) -> Vec<Option<Value>> {
        self.graph
            .deps(id)
            .iter()
            .map(|&d| self.value(d, made))
            .collect()
    }

    fn recompute(self: &Arc<Self>, id: NodeId) -> Result<AnyValue, String> {
        let args = self.args(id, &mut FxHashMap::default());
        crate::evaluation::recompute(&self.engine, id, &args)
    }
}
