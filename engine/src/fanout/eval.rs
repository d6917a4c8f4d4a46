//! Evaluating a fan-out's nodes per item.

use std::collections::HashMap;
use std::sync::Arc;

use super::types::collected_value;
use crate::graph::NodeId;
use crate::incremental::{Engine, Failure};
use crate::node::ParamKind;
use crate::value::Value;

/// Values visible while evaluating one item: its own nodes', then the enclosing levels'.
struct Ctx<'a> {
    parent: Option<&'a Ctx<'a>>,
    values: HashMap<NodeId, Option<Value>>,
}

impl Ctx<'_> {
    fn get(&self, id: NodeId) -> Option<&Option<Value>> {
        self.values
            .get(&id)
            .or_else(|| self.parent.and_then(|p| p.get(id)))
    }
}

type Evaluated = Result<Value, Arc<Failure>>;

/// The `Collect` argument `param` of top-level node `c`, given the outside values the fan-out
/// needs (`outside`, read through the incremental core by the caller).
pub(crate) fn collect_top_level(
    engine: &Engine,
    c: NodeId,
    param: usize,
    outside: HashMap<NodeId, Option<Value>>,
) -> Evaluated {
    let root = Ctx {
        parent: None,
        values: outside,
    };
    collect(engine, &root, c, param, 0, true)
}

fn internal(node: NodeId, message: String) -> Arc<Failure> {
    Arc::new(Failure {
        node,
        error: crate::NodeError::Internal(message),
        item: None,
    })
}

/// Evaluates the fan-out that node `c`'s parameter `param` collects, at nesting `depth`.
fn collect(
    engine: &Engine,
    ctx: &Ctx<'_>,
    c: NodeId,
    param: usize,
    depth: usize,
    parallel: bool,
) -> Evaluated {
    let graph = &engine.graph;
    let p = graph.deps(c)[param];
    // The fan-out collected: the node that opens level `depth` on the way to `p`.
    let mut scope = graph.scope(p).to_vec();
    if graph.get(p).spec().and_then(|s| s.item_type()).is_some() {
        scope.push(p);
    }
    let Some(&e) = scope.get(depth) else {
        return Err(internal(
            c,
            format!("`{}` is not inside a fan-out", graph.get(p).name()),
        ));
    };
    let split = graph.get(e).spec().and_then(|s| s.item_split);
    let item_ty = graph.get(e).spec().and_then(|s| s.item_type());
    let (Some(split), Some(item_ty)) = (split, item_ty) else {
        return Err(internal(e, "fan-out node without an item type".into()));
    };
    let fanned = match ctx.get(e) {
        Some(Some(v)) => v.clone(),
        _ => return Err(internal(e, "fan-out value missing".into())),
    };
    let data = fanned
        .data()
        .map_err(|m| internal(e, format!("cannot load the items: {m}")))?;
    let items: Vec<Value> = split(&**data)
        .ok_or_else(|| internal(e, "not a Parallel value".into()))?
        .into_iter()
        .map(|item| Value::new(item, item_ty))
        .collect();
    let nodes = level_nodes(engine, p, e, depth + 1);
    let cancel = engine.cancel_token();
    let run = |(i, item): (usize, Value)| -> Evaluated {
        // A cancelled run starts no new item (items already running finish).
        if cancel.is_cancelled() {
            return Err(Arc::new(Failure {
                node: e,
                error: crate::NodeError::Cancelled,
                item: Some(i),
            }));
        }
        eval_item(engine, ctx, e, item, &nodes, p, depth + 1).map_err(|f| {
            if f.item.is_none() && f.node != e {
                Arc::new(Failure {
                    node: f.node,
                    error: f.error.clone(),
                    item: Some(i),
                })
            } else {
                f
            }
        })
    };
    let results: Vec<Evaluated> = if parallel {
        engine.items.map_items(items, run)
    } else {
        items.into_iter().enumerate().map(run).collect()
    };
    let mut values = Vec::with_capacity(results.len());
    for r in results {
        values.push(r?);
    }
    Ok(collected_value(values))
}

/// The nodes at level `depth` inside fan-out `e` that `target` needs, in execution order.
fn level_nodes(engine: &Engine, target: NodeId, e: NodeId, depth: usize) -> Vec<NodeId> {
    let graph = &engine.graph;
    let mut seen = std::collections::HashSet::new();
    let mut stack = vec![target];
    let mut out = Vec::new();
    while let Some(n) = stack.pop() {
        if n == e || graph.scope(n).len() != depth || !seen.insert(n) {
            continue;
        }
        out.push(n);
        stack.extend(graph.outer_deps(n).iter().copied());
    }
    out.sort_by_key(|&n| graph.get(n).rank);
    out
}

/// One item: its nodes in order, each memoized by its arguments' data versions.
fn eval_item(
    engine: &Engine,
    parent: &Ctx<'_>,
    e: NodeId,
    item: Value,
    nodes: &[NodeId],
    target: NodeId,
    depth: usize,
) -> Evaluated {
    let graph = &engine.graph;
    let mut local = Ctx {
        parent: Some(parent),
        values: HashMap::with_capacity(nodes.len() + 1),
    };
    local.values.insert(e, Some(item));
    for &n in nodes {
        let node = graph.get(n);
        let Some(spec) = node.spec() else { continue };
        let mut args = Vec::with_capacity(node.deps.len());
        for (i, (p, &dep)) in spec.params().iter().zip(&node.deps).enumerate() {
            if p.kind() == ParamKind::Collect {
                args.push(Some(collect(engine, &local, n, i, depth, false)?));
                continue;
            }
            match local.get(dep) {
                Some(v) => args.push(v.clone()),
                None => {
                    return Err(internal(
                        n,
                        format!("no value for `{}`", graph.get(dep).name()),
                    ))
                }
            }
        }
        let value = engine.items.evaluate(engine, n, args)?;
        local.values.insert(n, Some(value));
    }
    match local.values.remove(&target) {
        Some(Some(v)) => Ok(v),
        _ if target == e => match parent.get(e) {
            Some(Some(v)) => Ok(v.clone()),
            _ => Err(internal(e, "item missing".into())),
        },
        _ => Err(internal(target, "not computed".into())),
    }
}
