//! Execution plans: which nodes a request needs, in what order.

use std::collections::HashSet;

use crate::error::{suggest, ExecuteError};
use crate::graph::{Graph, NodeId};

/// The nodes one `execute` call touches.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The requested outputs, in request order.
    pub outputs: Vec<NodeId>,
    /// The upstream closure of the outputs (stopping at overrides), topologically ordered.
    pub order: Vec<NodeId>,
    /// Overridden nodes that the closure reaches.
    pub overridden: Vec<NodeId>,
}

impl Plan {
    /// Plans the execution of `outputs` with the nodes in `overrides` short-circuited.
    pub fn new(
        graph: &Graph,
        outputs: &[&str],
        overrides: &HashSet<NodeId>,
    ) -> Result<Plan, ExecuteError> {
        let mut ids = Vec::with_capacity(outputs.len());
        let mut unknown = Vec::new();
        for &name in outputs {
            match graph.id(name) {
                Some(id) => ids.push(id),
                None => unknown.push((
                    name.to_string(),
                    suggest(name, graph.nodes().iter().map(|n| n.name())),
                )),
            }
        }
        if !unknown.is_empty() {
            return Err(ExecuteError::UnknownOutputs(unknown));
        }
        for &id in &ids {
            if let Some(&e) = graph.scope(id).last() {
                let (node, fan_out) = (graph.get(id).name(), graph.get(e).name());
                return Err(ExecuteError::Output(format!(
                    "`{node}` runs once per item of the fan-out `{fan_out}`; request a node that \
                     collects it (a parameter `{node}: Collect<T>`)"
                )));
            }
        }
        let mut seen = vec![false; graph.nodes().len()];
        let mut order = Vec::new();
        let mut overridden = Vec::new();
        let mut stack: Vec<NodeId> = ids.clone();
        while let Some(id) = stack.pop() {
            if std::mem::replace(&mut seen[id as usize], true) {
                continue;
            }
            order.push(id);
            if overrides.contains(&id) {
                overridden.push(id);
                continue;
            }
            stack.extend(
                graph
                    .outer_deps(id)
                    .iter()
                    .copied()
                    .filter(|&d| !seen[d as usize]),
            );
        }
        order.sort_unstable_by_key(|&id| graph.get(id).rank);
        Ok(Plan {
            outputs: ids,
            order,
            overridden,
        })
    }
}
