//! Runs answered from the persistent cache without walking them (see `cache::answer`).

use std::collections::BTreeMap;

use super::{Driver, Prepared, RunRecord};
use crate::adapter::{NodeInfo, RunInfo, RunSummary};
use crate::graph::NodeId;
use crate::incremental::named_inputs;
use crate::outputs::Outputs;
use crate::value::Value;

impl Driver {
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
        let db = &prepared.db;
        let engine = db.engine_arc();
        let plan = &prepared.plan;
        let mut answering = cache.answering(plan.order.len())?;
        let mut values: Vec<Option<Value>> = vec![None; self.graph.nodes().len()];
        let args_of = |values: &[Option<Value>], id: NodeId| -> Vec<Option<Value>> {
            self.graph
                .deps(id)
                .iter()
                .map(|&d| values[d as usize].clone())
                .collect()
        };
        for &id in &plan.order {
            let Some(spec) = self.graph.get(id).spec() else {
                values[id as usize] = db.external(id);
                continue;
            };
            let args = args_of(&values, id);
            let inputs = named_inputs(spec, &args);
            let info = NodeInfo {
                run_id: &prepared.run_id,
                spec,
                inputs: &inputs,
                attempt: 0,
            };
            let hit = answering.hit(&info)?;
            drop(inputs);
            values[id as usize] = Some(engine.recompute_if_unusable(hit, id, args));
        }
        answering.record();

        let adapters = &engine.adapters;
        let functions = || {
            plan.order.iter().filter_map(|&id| {
                let node = self.graph.get(id);
                Some((id, node.spec()?, values[id as usize].clone()?))
            })
        };
        // Only the cache itself is installed: its node hooks do nothing.
        if adapters.len() > 1 {
            for (id, spec, value) in functions() {
                let inputs = named_inputs(spec, &args_of(&values, id));
                let info = NodeInfo {
                    run_id: &prepared.run_id,
                    spec,
                    inputs: &inputs,
                    attempt: 0,
                };
                for a in adapters {
                    a.before_node(&info);
                }
                let result = Ok(value);
                for a in adapters {
                    a.after_node(&info, &result, std::time::Duration::ZERO);
                }
            }
        }
        let reused: Vec<&str> = functions().map(|(_, spec, _)| spec.name()).collect();
        let node_values: Vec<(&str, &crate::node::NodeSpec, Value)> =
            if adapters.iter().any(|a| a.needs_values()) {
                functions()
                    .map(|(_, spec, v)| (spec.name(), spec, v))
                    .collect()
            } else {
                Vec::new()
            };
        let names = self.names(&plan.order);
        let info = RunInfo {
            run_id: &prepared.run_id,
            outputs: &prepared.output_names,
            execution_path: &names,
        };
        let summary = RunSummary {
            executed: &[],
            reused: &reused,
            failed: None,
            failures: &[],
            duration: prepared.start.elapsed(),
            values: &node_values,
        };
        for a in adapters {
            a.after_graph(&info, &summary);
        }
        let outputs: BTreeMap<String, Option<Value>> = plan
            .outputs
            .iter()
            .map(|&id| {
                let name = self.graph.get(id).name().to_string();
                (name, values[id as usize].clone())
            })
            .collect();
        let record = RunRecord {
            run_id: prepared.run_id.clone(),
            reused: reused.iter().map(|s| s.to_string()).collect(),
            answered: true,
            ..Default::default()
        };
        self.state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .rerun_pending = false;
        Some((Outputs::new(outputs), record))
    }
}
