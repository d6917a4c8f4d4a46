//! The validated DAG: function nodes, external inputs, config; edges checked type by type.

use rustc_hash::FxHashMap;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};

use crate::error::{BuildError, Problem};
use crate::node::{NodeSpec, ParamKind};
use crate::value::{AnyValue, ValueType};

/// Index of a node in a [`Graph`].
pub type NodeId = u32;

/// What a graph node is.
// Most nodes are functions; boxing the spec would add an indirection on every lookup.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum NodeKind {
    /// A function: it has a body.
    Function(NodeSpec),
    /// A value supplied at execute time (Hamilton's "user-defined" node).
    Input {
        /// The type its consumers expect.
        ty: ValueType,
        /// Whether every consumer takes it as `Option<&T>`.
        optional: bool,
    },
    /// A value fixed at build time by `with_config`.
    Config {
        /// Its type.
        ty: ValueType,
    },
}

/// One node of the graph.
#[derive(Debug, Clone)]
pub struct GraphNode {
    pub(crate) name: Arc<str>,
    pub(crate) kind: NodeKind,
    /// Dependencies in parameter order (function nodes only).
    pub(crate) deps: Vec<NodeId>,
    /// Nodes that depend on this one.
    pub(crate) dependents: Vec<NodeId>,
    /// Position in a topological order of the whole graph.
    pub(crate) rank: u32,
    /// The fan-outs this node runs inside, outermost first (empty: once per run).
    pub(crate) scope: Vec<NodeId>,
    /// What the node waits for at its own level: its dependencies, except that a `Collect`
    /// parameter stands for every outside node the fan-out's items need.
    pub(crate) outer_deps: Vec<NodeId>,
}

impl GraphNode {
    /// The node's name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Function, input or config.
    pub fn kind(&self) -> &NodeKind {
        &self.kind
    }
    /// The function's spec, for function nodes.
    pub fn spec(&self) -> Option<&NodeSpec> {
        match &self.kind {
            NodeKind::Function(s) => Some(s),
            _ => None,
        }
    }
    /// The type of the node's value.
    pub fn value_type(&self) -> ValueType {
        match &self.kind {
            NodeKind::Function(s) => s.output(),
            NodeKind::Input { ty, .. } | NodeKind::Config { ty } => *ty,
        }
    }
    /// Whether the value comes from outside (input or config).
    pub fn is_external(&self) -> bool {
        !matches!(self.kind, NodeKind::Function(_))
    }
}

/// A validated, acyclic graph of nodes. Immutable once built.
#[derive(Debug)]
pub struct Graph {
    nodes: Vec<GraphNode>,
    by_name: FxHashMap<Arc<str>, NodeId>,
    has_fan_outs: bool,
}

impl Graph {
    /// Builds and validates the graph, reporting every problem at once.
    pub(crate) fn build(
        specs: Vec<NodeSpec>,
        config: &BTreeMap<String, (AnyValue, &'static str)>,
        mut problems: Vec<Problem>,
    ) -> Result<Graph, BuildError> {
        let mut nodes: Vec<GraphNode> = Vec::with_capacity(specs.len());
        let mut by_name: FxHashMap<Arc<str>, NodeId> =
            FxHashMap::with_capacity_and_hasher(specs.len() * 2, Default::default());
        for spec in specs {
            let name = spec.name.clone();
            by_name.insert(name.clone(), nodes.len() as NodeId);
            nodes.push(GraphNode {
                name,
                kind: NodeKind::Function(spec),
                deps: Vec::new(),
                dependents: Vec::new(),
                rank: 0,
                scope: Vec::new(),
                outer_deps: Vec::new(),
            });
        }
        for key in config.keys() {
            if by_name.contains_key(key.as_str()) {
                problems.push(Problem::ConfigShadowsNode(key.clone()));
            }
        }

        // External nodes: parameters that no function produces, typed by their consumers.
        let mut externals: BTreeMap<Arc<str>, Vec<(String, ValueType, ParamKind)>> =
            BTreeMap::new();
        for n in &nodes {
            if let NodeKind::Function(spec) = &n.kind {
                for p in spec.params() {
                    if !by_name.contains_key(p.name()) {
                        externals.entry(Arc::from(p.name())).or_default().push((
                            n.name.to_string(),
                            p.value_type(),
                            p.kind(),
                        ));
                    }
                }
            }
        }
        nodes.reserve_exact(externals.len());
        for (name, consumers) in externals {
            let ty = consumers[0].1;
            if consumers.iter().any(|(_, t, _)| t.id() != ty.id()) {
                problems.push(Problem::InputTypeConflict {
                    input: name.to_string(),
                    consumers: consumers
                        .iter()
                        .map(|(c, t, _)| (c.clone(), t.name().to_string()))
                        .collect(),
                });
            }
            let kind = match config.get(&*name) {
                Some((_, _)) => NodeKind::Config { ty },
                None => NodeKind::Input {
                    ty,
                    optional: consumers.iter().all(|(_, _, k)| *k == ParamKind::Optional),
                },
            };
            by_name.insert(name.clone(), nodes.len() as NodeId);
            nodes.push(GraphNode {
                name,
                kind,
                deps: Vec::new(),
                dependents: Vec::new(),
                rank: 0,
                scope: Vec::new(),
                outer_deps: Vec::new(),
            });
        }

        // Edges, with a type check on each.
        for i in 0..nodes.len() {
            let NodeKind::Function(spec) = &nodes[i].kind else {
                continue;
            };
            let mut deps = Vec::with_capacity(spec.params().len());
            for p in spec.params() {
                let dep = by_name[p.name()];
                let producer = &nodes[dep as usize];
                if let NodeKind::Function(ps) = &producer.kind {
                    // A fan-out node's consumers inside the fan-out, and its collectors, see
                    // one item at a time.
                    let produced = ps.item_type().unwrap_or(ps.output());
                    if produced.id() != p.value_type().id() {
                        problems.push(Problem::TypeMismatch {
                            producer: producer.name.to_string(),
                            produced: produced.name().to_string(),
                            consumer: nodes[i].name.to_string(),
                            expected: p.value_type().name().to_string(),
                        });
                    }
                }
                deps.push(dep);
            }
            nodes[i].deps = deps;
        }
        for i in 0..nodes.len() {
            for d in nodes[i].deps.clone() {
                nodes[d as usize].dependents.push(i as NodeId);
            }
        }

        // Config values must match what their consumers expect.
        for (key, (value, given)) in config {
            if let Some(&id) = by_name.get(key.as_str()) {
                let n = &nodes[id as usize];
                if let NodeKind::Config { ty } = n.kind {
                    if (**value).type_id() != ty.id() {
                        problems.push(Problem::ConfigTypeMismatch {
                            key: key.clone(),
                            given: given.to_string(),
                            consumer: n
                                .dependents
                                .first()
                                .map_or(String::new(), |&c| nodes[c as usize].name.to_string()),
                            expected: ty.name().to_string(),
                        });
                    }
                }
            }
        }

        let mut graph = Graph {
            nodes,
            by_name,
            has_fan_outs: false,
        };
        match graph.topological_ranks() {
            Ok(()) => problems.extend(graph.fan_out_scopes()),
            Err(cycles) => problems.extend(cycles.into_iter().map(Problem::Cycle)),
        }
        graph.has_fan_outs = graph.nodes.iter().any(|n| !n.scope.is_empty());
        if problems.is_empty() {
            Ok(graph)
        } else {
            Err(BuildError { problems })
        }
    }

    /// Assigns each node its position in a topological order (Kahn's algorithm, iterative, so
    /// any depth works); on cycles, returns each cycle's path.
    fn topological_ranks(&mut self) -> Result<(), Vec<Vec<String>>> {
        let n = self.nodes.len();
        let mut indegree: Vec<u32> = self.nodes.iter().map(|x| x.deps.len() as u32).collect();
        // FIFO: among nodes ready at the same time, definition order wins, so a sequential run
        // follows the order nodes were written in.
        let mut ready: std::collections::VecDeque<NodeId> = (0..n as NodeId)
            .filter(|&i| indegree[i as usize] == 0)
            .collect();
        let mut rank = 0u32;
        while let Some(i) = ready.pop_front() {
            self.nodes[i as usize].rank = rank;
            rank += 1;
            for k in 0..self.nodes[i as usize].dependents.len() {
                let d = self.nodes[i as usize].dependents[k];
                indegree[d as usize] -= 1;
                if indegree[d as usize] == 0 {
                    ready.push_back(d);
                }
            }
        }
        if rank as usize == n {
            return Ok(());
        }
        Err(self.cycles())
    }

    /// Works out which fan-out each node runs inside, and what each node waits for at its own
    /// level; reports nodes that mix items of unrelated fan-outs and misplaced `Collect`s.
    fn fan_out_scopes(&mut self) -> Vec<Problem> {
        let mut problems = Vec::new();
        let mut order: Vec<NodeId> = (0..self.nodes.len() as NodeId).collect();
        order.sort_by_key(|&i| self.nodes[i as usize].rank);
        for &id in &order {
            // The spec's shared parts, not a clone of it: the loop below updates the graph.
            let Some((name, params)) = self.nodes[id as usize]
                .spec()
                .map(|s| (s.name.clone(), s.params.clone()))
            else {
                continue;
            };
            let mut scope: Vec<NodeId> = Vec::new();
            for (i, p) in params.iter().enumerate() {
                let dep = self.nodes[id as usize].deps[i];
                let producer = &self.nodes[dep as usize];
                let mut s = producer.scope.clone();
                if producer.spec().and_then(|ps| ps.item_type()).is_some() {
                    s.push(dep);
                }
                if p.kind() == ParamKind::Collect && s.pop().is_none() {
                    problems.push(Problem::FanOut(format!(
                        "`{}` collects `{}`, which is not inside a fan-out (a node returning \
                         `Parallel<T>`); take `&{}` instead",
                        name,
                        producer.name(),
                        p.value_type().short_name()
                    )));
                    continue;
                }
                if s.len() > scope.len() {
                    if !s.starts_with(&scope) {
                        problems.push(self.mixed(&name, &scope, &s));
                    }
                    scope = s;
                } else if !scope.starts_with(&s) {
                    problems.push(self.mixed(&name, &scope, &s));
                }
            }
            self.nodes[id as usize].scope = scope;
        }
        // What each node waits for at its own level.
        for &id in &order {
            let node = &self.nodes[id as usize];
            let Some(spec) = node.spec() else { continue };
            let mut outer = Vec::with_capacity(node.deps.len());
            for (p, &dep) in spec.params().iter().zip(&node.deps) {
                if p.kind() == ParamKind::Collect {
                    self.outside_ancestors(dep, &node.scope, &mut outer);
                } else {
                    outer.push(dep);
                }
            }
            // Each once, in first-seen order (a node may take one input twice; a fan-in may
            // take thousands, so no quadratic scan).
            let mut seen = rustc_hash::FxHashSet::default();
            outer.retain(|d| seen.insert(*d));
            self.nodes[id as usize].outer_deps = outer;
        }
        problems
    }

    fn mixed(&self, node: &str, a: &[NodeId], b: &[NodeId]) -> Problem {
        let name = |s: &[NodeId]| {
            s.last().map_or("none".to_string(), |&e| {
                format!("`{}`", self.nodes[e as usize].name)
            })
        };
        Problem::FanOut(format!(
            "`{}` combines items of the fan-outs {} and {}, which are not nested; collect one \
             of them first",
            node,
            name(a),
            name(b)
        ))
    }

    /// The nodes at level `scope` (or above) that the items of a fan-out reaching `from` need.
    pub(crate) fn outside_ancestors(&self, from: NodeId, scope: &[NodeId], out: &mut Vec<NodeId>) {
        let mut stack = vec![from];
        let mut seen = std::collections::HashSet::new();
        while let Some(n) = stack.pop() {
            if !seen.insert(n) {
                continue;
            }
            let node = &self.nodes[n as usize];
            if node.scope.len() <= scope.len() {
                if !out.contains(&n) {
                    out.push(n);
                }
                continue;
            }
            stack.extend(node.deps.iter().copied());
        }
    }

    /// Whether any node runs inside a fan-out.
    pub(crate) fn has_fan_outs(&self) -> bool {
        self.has_fan_outs
    }

    /// The fan-outs node `id` runs inside, outermost first.
    pub fn scope(&self, id: NodeId) -> &[NodeId] {
        &self.nodes[id as usize].scope
    }

    /// What node `id` waits for at its own level (see [`GraphNode`]).
    pub(crate) fn outer_deps(&self, id: NodeId) -> &[NodeId] {
        &self.nodes[id as usize].outer_deps
    }

    /// Every cycle, as a path of names from one node back to itself.
    fn cycles(&self) -> Vec<Vec<String>> {
        let mut g: DiGraph<NodeId, ()> = DiGraph::with_capacity(self.nodes.len(), 0);
        for i in 0..self.nodes.len() {
            g.add_node(i as NodeId);
        }
        for (i, n) in self.nodes.iter().enumerate() {
            for &d in &n.deps {
                g.add_edge(NodeIndex::new(d as usize), NodeIndex::new(i), ());
            }
        }
        let mut out = Vec::new();
        for scc in tarjan_scc(&g) {
            let first = scc[0].index() as NodeId;
            let self_loop = self.nodes[first as usize].deps.contains(&first);
            if scc.len() < 2 && !self_loop {
                continue;
            }
            let members: std::collections::HashSet<NodeId> =
                scc.iter().map(|x| x.index() as NodeId).collect();
            let start = *members.iter().min().unwrap_or(&first);
            out.push(self.cycle_path(start, &members));
        }
        out.sort();
        out
    }

    /// A path start -> … -> start through `members`, following dependents.
    fn cycle_path(
        &self,
        start: NodeId,
        members: &std::collections::HashSet<NodeId>,
    ) -> Vec<String> {
        // BFS from start's dependents back to start, inside the component.
        let mut prev: HashMap<NodeId, NodeId> = HashMap::new();
        let mut queue = std::collections::VecDeque::new();
        for &d in &self.nodes[start as usize].dependents {
            if members.contains(&d) && !prev.contains_key(&d) {
                prev.insert(d, start);
                queue.push_back(d);
            }
        }
        while let Some(x) = queue.pop_front() {
            if x == start {
                break;
            }
            for &d in &self.nodes[x as usize].dependents {
                if members.contains(&d) && !prev.contains_key(&d) {
                    prev.insert(d, x);
                    queue.push_back(d);
                }
            }
        }
        let mut path = vec![start];
        let mut cur = start;
        while let Some(&p) = prev.get(&cur) {
            if p == start {
                break;
            }
            path.push(p);
            cur = p;
            if path.len() > members.len() + 1 {
                break;
            }
        }
        path.push(start);
        path.reverse();
        path.iter()
            .map(|&i| self.nodes[i as usize].name.to_string())
            .collect()
    }

    /// All nodes, indexed by [`NodeId`].
    pub fn nodes(&self) -> &[GraphNode] {
        &self.nodes
    }

    /// The node called `name`.
    pub fn node(&self, name: &str) -> Option<&GraphNode> {
        self.id(name).map(|i| &self.nodes[i as usize])
    }

    /// The id of the node called `name`.
    pub fn id(&self, name: &str) -> Option<NodeId> {
        self.by_name.get(name).copied()
    }

    pub(crate) fn get(&self, id: NodeId) -> &GraphNode {
        &self.nodes[id as usize]
    }

    /// Function nodes carrying tag `key` (with value `value`, if given).
    pub fn nodes_tagged<'a>(
        &'a self,
        key: &'a str,
        value: Option<&'a str>,
    ) -> impl Iterator<Item = &'a GraphNode> + 'a {
        self.nodes.iter().filter(move |n| {
            n.spec()
                .and_then(|s| s.tag(key))
                .is_some_and(|v| value.is_none_or(|want| want == v))
        })
    }

    /// The dependencies of `id`, in parameter order.
    pub fn deps(&self, id: NodeId) -> &[NodeId] {
        &self.nodes[id as usize].deps
    }

    /// A shortest dependency path from `from` down to `to` (names, `from` first), if any.
    pub fn path_between(&self, from: NodeId, to: NodeId) -> Vec<String> {
        let mut prev: HashMap<NodeId, NodeId> = HashMap::new();
        let mut queue = std::collections::VecDeque::from([from]);
        let mut found = from == to;
        while let Some(x) = queue.pop_front() {
            if x == to {
                found = true;
                break;
            }
            for &d in &self.nodes[x as usize].deps {
                if d != from && !prev.contains_key(&d) {
                    prev.insert(d, x);
                    queue.push_back(d);
                }
            }
        }
        if !found {
            return vec![self.nodes[to as usize].name.to_string()];
        }
        let mut path = vec![to];
        let mut cur = to;
        while let Some(&p) = prev.get(&cur) {
            path.push(p);
            cur = p;
        }
        path.reverse();
        path.iter()
            .map(|&i| self.nodes[i as usize].name.to_string())
            .collect()
    }
}
