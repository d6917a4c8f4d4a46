//! The ready queue fed by dependency counters.

use std::collections::VecDeque;

use super::TaskOutcome;
use crate::graph::{Graph, NodeId};
use crate::incremental::Engine;
use crate::plan::Plan;

/// Dependency counters over a plan: a task becomes ready when all the tasks it depends on are
/// done. O(1) per completion and per edge; no polling, no rescans.
#[derive(Debug)]
pub struct Scheduler {
    /// Unfinished dependencies per task.
    waiting: Vec<u32>,
    /// Tasks depending on each task (shared by every run of the plan).
    dependents: std::sync::Arc<crate::plan::Adjacency>,
    ready: VecDeque<u32>,
    in_flight: usize,
    finished: usize,
    stopped: bool,
    keep_going: bool,
    /// Told when a task is done with its dependencies' values (see [`crate::memory`]); only
    /// when the driver has a memory budget.
    lifetimes: Option<Lifetimes>,
}

/// What the scheduler needs to tell the driver's memory that a value's consumer has run.
struct Lifetimes {
    engine: std::sync::Arc<Engine>,
    order: Vec<NodeId>,
    deps: std::sync::Arc<crate::plan::Adjacency>,
}

impl std::fmt::Debug for Lifetimes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Lifetimes")
    }
}

impl Scheduler {
    pub(crate) fn new(
        graph: &Graph,
        plan: &Plan,
        keep_going: bool,
        engine: Option<std::sync::Arc<Engine>>,
    ) -> Scheduler {
        let counters = plan.counters(graph);
        let lifetimes = engine
            .filter(|e| e.memory.budget().is_some())
            .map(|engine| Lifetimes {
                engine,
                order: plan.order.clone(),
                deps: counters.deps.clone(),
            });
        let waiting = counters.waiting.clone();
        let ready = (0..waiting.len() as u32)
            .filter(|&t| waiting[t as usize] == 0)
            .collect();
        Scheduler {
            waiting,
            dependents: counters.dependents.clone(),
            ready,
            in_flight: 0,
            finished: 0,
            stopped: false,
            keep_going,
            lifetimes,
        }
    }

    /// A task whose dependencies are all done, if any (and the run is not stopping).
    pub fn pop_ready(&mut self) -> Option<usize> {
        if self.stopped {
            return None;
        }
        let t = self.ready.pop_front()?;
        self.in_flight += 1;
        Some(t as usize)
    }

    /// Records a task's end; its dependents may become ready. A failure stops scheduling new
    /// work unless the run keeps going (then dependents run, and report the failure upstream).
    pub fn complete(&mut self, task: usize, outcome: TaskOutcome) {
        self.in_flight = self.in_flight.saturating_sub(1);
        self.finished += 1;
        match outcome {
            TaskOutcome::Cancelled => self.stopped = true,
            TaskOutcome::Failed if !self.keep_going => self.stopped = true,
            _ => {}
        }
        if let Some(l) = &self.lifetimes {
            for &d in &l.deps[task] {
                l.engine.memory.consumed(l.order[d as usize]);
            }
        }
        for i in 0..self.dependents[task].len() {
            let d = self.dependents[task][i] as usize;
            self.waiting[d] -= 1;
            if self.waiting[d] == 0 {
                self.ready.push_back(d as u32);
            }
        }
    }

    /// Stops scheduling new work (cancellation).
    pub fn stop(&mut self) {
        self.stopped = true;
    }

    /// Whether scheduling stopped (a failure without keep-going, or cancellation).
    pub(crate) fn is_stopped(&self) -> bool {
        self.stopped
    }

    /// Tasks dispatched and not yet completed.
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// Whether nothing more will become ready: all tasks finished, or the run stopped and
    /// nothing is in flight.
    pub fn is_done(&self) -> bool {
        self.in_flight == 0 && (self.stopped || self.ready.is_empty())
    }
}
