//! The ready queue fed by dependency counters.

use std::collections::VecDeque;

use super::TaskOutcome;
use crate::graph::{Graph, NodeId};

/// Dependency counters over a plan: a task becomes ready when all the tasks it depends on are
/// done. O(1) per completion and per edge; no polling, no rescans.
#[derive(Debug)]
pub struct Scheduler {
    /// Unfinished dependencies per task.
    waiting: Vec<u32>,
    /// Tasks depending on each task.
    dependents: Vec<Vec<u32>>,
    ready: VecDeque<u32>,
    in_flight: usize,
    finished: usize,
    stopped: bool,
    keep_going: bool,
}

impl Scheduler {
    pub(crate) fn new(graph: &Graph, order: &[NodeId], keep_going: bool) -> Scheduler {
        let mut position = vec![u32::MAX; graph.nodes().len()];
        for (pos, &id) in order.iter().enumerate() {
            position[id as usize] = pos as u32;
        }
        let mut waiting = vec![0u32; order.len()];
        let mut dependents = vec![Vec::new(); order.len()];
        for (pos, &id) in order.iter().enumerate() {
            let node = graph.get(id);
            // Inputs, config and overridden nodes have no dependencies to wait for.
            if node.is_external() {
                continue;
            }
            for &d in graph.outer_deps(id) {
                let dp = position[d as usize];
                if dp != u32::MAX {
                    waiting[pos] += 1;
                    dependents[dp as usize].push(pos as u32);
                }
            }
        }
        let ready = (0..order.len() as u32)
            .filter(|&t| waiting[t as usize] == 0)
            .collect();
        Scheduler {
            waiting,
            dependents,
            ready,
            in_flight: 0,
            finished: 0,
            stopped: false,
            keep_going,
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
