//! Pictures of a driver's graph and of what a request involves.

use std::collections::HashSet;

use super::Driver;
use crate::error::ExecuteError;
use crate::graph::{NodeId, NodeKind};
use crate::plan::Plan;
use crate::viz::{Viz, VizNode, VizRole};

impl Driver {
    /// A picture of the whole graph.
    pub fn display_all(&self) -> Viz {
        let all: Vec<NodeId> = (0..self.core.graph.nodes().len() as NodeId).collect();
        self.picture("weft DAG", &all, &[], &HashSet::new())
    }

    /// A picture of what executing `outputs` involves (with `overrides` short-circuited).
    pub fn visualize_execution(
        &self,
        outputs: &[&str],
        overrides: &[&str],
    ) -> Result<Viz, ExecuteError> {
        let ids: HashSet<NodeId> = overrides
            .iter()
            .filter_map(|o| self.core.graph.id(o))
            .collect();
        let plan = Plan::new(&self.core.graph, outputs, &ids)?;
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
                let n = self.core.graph.get(id);
                let role = match n.kind() {
                    NodeKind::Input { optional: true, .. } => VizRole::OptionalInput,
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
            for d in self.core.graph.deps(id) {
                if let Some(&from) = index.get(d) {
                    edges.push((from, index[&id]));
                }
            }
        }
        // `with_columns` groups, boxed: the nodes tagged with the group's frame node.
        let mut groups: Vec<(String, Vec<usize>)> = Vec::new();
        for (i, &id) in ids.iter().enumerate() {
            let tag =
                (self.core.graph.get(id).spec()).and_then(|s| s.tag(crate::columns::GROUP_TAG));
            if let Some(group) = tag {
                let label = format!("with_columns of {group}");
                match groups.iter_mut().find(|(l, _)| *l == label) {
                    Some((_, members)) => members.push(i),
                    None => groups.push((label, vec![i])),
                }
            }
        }
        Viz {
            title: title.to_string(),
            nodes,
            edges,
            legend: true,
            groups,
        }
    }
}
