//! [`Residency`]: which memoized values stay in memory, within the driver's budget.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use super::Cell;
use crate::graph::NodeId;
use crate::value::Value;

/// The driver's memory budget over its memoized values: pins for what the current run still
/// needs, least-recently-used order for the rest.
pub(crate) struct Residency {
    /// Bytes of unpinned values to keep; `None`: keep everything (nothing is tracked).
    budget: Option<u64>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    nodes: Vec<Entry>,
    /// Unpinned resident values by last use, oldest first.
    lru: BTreeMap<u64, NodeId>,
    clock: u64,
    /// Bytes of every resident value counted (pinned or not).
    total: u64,
    /// The requested outputs of the last run: pinned until the next run starts.
    outputs: Vec<NodeId>,
}

#[derive(Default)]
struct Entry {
    /// The node's current cell (its memo's).
    cell: Option<Arc<Cell>>,
    /// Bytes counted for it in `total`.
    counted: u64,
    /// Its key in `lru` while it is there.
    stamp: Option<u64>,
    /// How many reasons the current run has to keep it (consumers still to run, being an
    /// output).
    pins: u32,
}

impl Residency {
    pub(crate) fn new(budget: Option<u64>, nodes: usize) -> Residency {
        let mut state = State::default();
        if budget.is_some() {
            state.nodes.resize_with(nodes, Entry::default);
        }
        Residency {
            budget,
            state: Mutex::new(state),
        }
    }

    /// The budget, if there is one.
    pub(crate) fn budget(&self) -> Option<u64> {
        self.budget
    }

    fn lock(&self) -> Option<(u64, MutexGuard<'_, State>)> {
        let budget = self.budget?;
        Some((budget, self.state.lock().unwrap_or_else(|p| p.into_inner())))
    }

    /// Bytes of the values held in memory (the estimate the budget is checked against; 0
    /// without a budget: nothing is tracked).
    pub(crate) fn resident_bytes(&self) -> u64 {
        self.lock().map_or(0, |(_, s)| s.total)
    }

    /// A node's query produced `cell`: it becomes the node's current cell (a previous one is
    /// released: only values computed from it may still need it, and they can recompute it).
    pub(crate) fn admit(&self, cell: &Arc<Cell>) {
        let Some((budget, mut s)) = self.lock() else {
            return;
        };
        let id = cell.id;
        let old = s.nodes[id as usize].cell.replace(cell.clone());
        let mut drop_later: Vec<Value> = Vec::new();
        if let Some(old) = old.filter(|o| !Arc::ptr_eq(o, cell)) {
            drop_later.extend(old.release());
        }
        s.recount(id);
        s.settle(id, budget, &mut drop_later);
        drop(s);
        drop(drop_later);
    }

    /// A released cell was computed again: it holds its value again if it is still current.
    pub(crate) fn restored(&self, cell: &Arc<Cell>, value: Value) {
        let Some((budget, mut s)) = self.lock() else {
            cell.put(value);
            return;
        };
        let id = cell.id;
        if !s.nodes[id as usize]
            .cell
            .as_ref()
            .is_some_and(|c| Arc::ptr_eq(c, cell))
        {
            return; // an old cell: the value serves the computation that asked for it only
        }
        cell.put(value);
        s.recount(id);
        let mut drop_later = Vec::new();
        s.settle(id, budget, &mut drop_later);
        drop(s);
        drop(drop_later);
    }

    /// Someone read the node's value: it becomes the most recently used.
    pub(crate) fn touch(&self, id: NodeId) {
        if let Some((_, mut s)) = self.lock() {
            if s.nodes[id as usize].stamp.is_some() {
                s.unlist(id);
                s.list(id);
            }
        }
    }

    /// A run starts: the last run's outputs are unpinned, and each node of the plan is pinned
    /// once per consumer on the plan (`consumers`, by task) and once if it is an output.
    pub(crate) fn begin_run(&self, order: &[NodeId], consumers: &[u32], outputs: &[NodeId]) {
        let Some((budget, mut s)) = self.lock() else {
            return;
        };
        for id in std::mem::take(&mut s.outputs) {
            s.unpin(id);
        }
        for (task, &id) in order.iter().enumerate() {
            let pins = consumers[task] + u32::from(outputs.contains(&id));
            s.nodes[id as usize].pins += pins;
            s.unlist(id);
        }
        s.outputs = outputs.to_vec();
        let mut drop_later = Vec::new();
        s.evict(budget, None, &mut drop_later);
        drop(s);
        drop(drop_later);
    }

    /// A consumer of `id` on the current run's plan has run.
    pub(crate) fn consumed(&self, id: NodeId) {
        let Some((budget, mut s)) = self.lock() else {
            return;
        };
        s.unpin(id);
        let mut drop_later = Vec::new();
        s.evict(budget, None, &mut drop_later);
        drop(s);
        drop(drop_later);
    }

    /// The run is over (finished, failed or cancelled): only its outputs stay pinned.
    pub(crate) fn end_run(&self, order: &[NodeId]) {
        let Some((budget, mut s)) = self.lock() else {
            return;
        };
        for &id in order {
            let keep = u32::from(s.outputs.contains(&id));
            if s.nodes[id as usize].pins > keep {
                s.nodes[id as usize].pins = keep;
                if keep == 0 {
                    s.list(id);
                }
            }
        }
        let mut drop_later = Vec::new();
        s.evict(budget, None, &mut drop_later);
        drop(s);
        drop(drop_later);
    }
}

impl State {
    /// Counts the node's current cell at its present size.
    fn recount(&mut self, id: NodeId) {
        let e = &mut self.nodes[id as usize];
        let size = e
            .cell
            .as_ref()
            .filter(|c| c.is_releasable())
            .map_or(0, |c| c.size());
        self.total = self.total - e.counted + size;
        e.counted = size;
    }

    /// After a change to `id`: listed as most recent unless pinned, then the budget applied
    /// to the others.
    fn settle(&mut self, id: NodeId, budget: u64, drop_later: &mut Vec<Value>) {
        self.unlist(id);
        if self.nodes[id as usize].pins == 0 {
            self.list(id);
        }
        self.evict(budget, Some(id), drop_later);
    }

    fn unpin(&mut self, id: NodeId) {
        let e = &mut self.nodes[id as usize];
        if e.pins == 0 {
            return;
        }
        e.pins -= 1;
        if e.pins == 0 {
            self.recount(id);
            self.list(id);
        }
    }

    fn list(&mut self, id: NodeId) {
        if self.nodes[id as usize].stamp.is_some() || self.nodes[id as usize].counted == 0 {
            return;
        }
        self.clock += 1;
        self.lru.insert(self.clock, id);
        self.nodes[id as usize].stamp = Some(self.clock);
    }

    fn unlist(&mut self, id: NodeId) {
        if let Some(stamp) = self.nodes[id as usize].stamp.take() {
            self.lru.remove(&stamp);
        }
    }

    /// Releases the least recently used unpinned values (but `keep`) while over budget.
    fn evict(&mut self, budget: u64, keep: Option<NodeId>, drop_later: &mut Vec<Value>) {
        let mut skipped = None;
        while self.total > budget {
            let Some((stamp, id)) = self.lru.pop_first() else {
                break;
            };
            if Some(id) == keep {
                skipped = Some((stamp, id));
                continue;
            }
            let e = &mut self.nodes[id as usize];
            e.stamp = None;
            if let Some(v) = e.cell.as_ref().and_then(|c| c.release()) {
                drop_later.push(v);
                self.total -= e.counted;
                e.counted = 0;
            }
        }
        if let Some((stamp, id)) = skipped {
            self.lru.insert(stamp, id);
        }
    }
}
