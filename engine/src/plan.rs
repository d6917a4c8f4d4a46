//! Execution plans: which nodes a request needs, in what order.

use std::collections::HashSet;

use crate::error::{suggest, ExecuteError};
use crate::graph::{Graph, NodeId};

/// The nodes one `execute` call touches.
#[derive(Debug)]
pub struct Plan {
    pub(crate) outputs: Vec<NodeId>,
    pub(crate) order: Vec<NodeId>,
    pub(crate) overridden: Vec<NodeId>,
    /// Dependency counts and dependents per task, built once per plan (plans are cached).
    pub(crate) counters: std::sync::OnceLock<Counters>,
}

/// The scheduler's starting state for a plan: unfinished dependencies per task, and the tasks
/// depending on each task.
#[derive(Debug)]
pub(crate) struct Counters {
    pub(crate) waiting: Vec<u32>,
    pub(crate) dependents: std::sync::Arc<Adjacency>,
    /// The tasks each task depends on (each value's consumers are its dependents).
    pub(crate) deps: std::sync::Arc<Adjacency>,
}

/// A list of tasks per task, all in one array (`adjacency[t]` is task `t`'s slice): 8 bytes
/// per task and 4 per edge, where a `Vec` per task cost about 50 bytes per task.
#[derive(Debug, Default)]
pub(crate) struct Adjacency {
    /// Where each task's slice starts in `edges`; one more entry than tasks.
    starts: Vec<u32>,
    edges: Vec<u32>,
}

impl Adjacency {
    /// From `(from, to)` pairs over `tasks` tasks (each task's list in the pairs' order).
    fn from_pairs(tasks: usize, pairs: &[(u32, u32)]) -> Adjacency {
        let mut starts = vec![0u32; tasks + 1];
        for &(from, _) in pairs {
            starts[from as usize + 1] += 1;
        }
        for t in 0..tasks {
            starts[t + 1] += starts[t];
        }
        let mut fill = starts.clone();
        let mut edges = vec![0u32; pairs.len()];
        for &(from, to) in pairs {
            edges[fill[from as usize] as usize] = to;
            fill[from as usize] += 1;
        }
        Adjacency { starts, edges }
    }

    /// Each task's list, in task order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &[u32]> {
        (0..self.starts.len().saturating_sub(1)).map(|t| &self[t])
    }
}

impl std::ops::Index<usize> for Adjacency {
    type Output = [u32];
    fn index(&self, task: usize) -> &[u32] {
        &self.edges[self.starts[task] as usize..self.starts[task + 1] as usize]
    }
}

impl Plan {
    /// The requested outputs, in request order.
    pub fn outputs(&self) -> &[NodeId] {
        &self.outputs
    }

    /// The upstream closure of the outputs (stopping at overrides), topologically ordered.
    pub fn order(&self) -> &[NodeId] {
        &self.order
    }

    /// Overridden nodes that the closure reaches.
    pub fn overridden(&self) -> &[NodeId] {
        &self.overridden
    }

    pub(crate) fn counters(&self, graph: &Graph) -> &Counters {
        self.counters.get_or_init(|| {
            let mut position = vec![u32::MAX; graph.nodes().len()];
            for (pos, &id) in self.order.iter().enumerate() {
                position[id as usize] = pos as u32;
            }
            let mut waiting = vec![0u32; self.order.len()];
            // (task, the task it depends on)
            let mut edges: Vec<(u32, u32)> = Vec::new();
            for (pos, &id) in self.order.iter().enumerate() {
                // Inputs, config and overridden nodes have no dependencies to wait for.
                if graph.get(id).is_external() || self.overridden.contains(&id) {
                    continue;
                }
                for &d in graph.outer_deps(id) {
                    let dp = position[d as usize];
                    if dp != u32::MAX {
                        waiting[pos] += 1;
                        edges.push((pos as u32, dp));
                    }
                }
            }
            let tasks = self.order.len();
            let deps = Adjacency::from_pairs(tasks, &edges);
            edges.iter_mut().for_each(|e| *e = (e.1, e.0));
            let dependents = Adjacency::from_pairs(tasks, &edges);
            Counters {
                waiting,
                dependents: std::sync::Arc::new(dependents),
                deps: std::sync::Arc::new(deps),
            }
        })
    }
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
            counters: std::sync::OnceLock::new(),
        })
    }
}

#[cfg(test)]
mod adjacency_tests {
    use super::Adjacency;

    #[test]
    fn each_tasks_list_keeps_the_pairs_order_and_empty_lists_are_empty() {
        let a = Adjacency::from_pairs(4, &[(2, 0), (0, 3), (2, 1), (0, 1)]);
        assert_eq!(&a[0], &[3, 1]);
        assert!(a[1].is_empty() && a[3].is_empty());
        assert_eq!(&a[2], &[0, 1]);
        let lens: Vec<usize> = a.iter().map(<[u32]>::len).collect();
        assert_eq!(lens, [2, 0, 2, 0]);
        assert_eq!(Adjacency::from_pairs(0, &[]).iter().count(), 0);
    }
}
