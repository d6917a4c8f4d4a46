//! [`MultiThreading`]: ready nodes run on up to `max_tasks` threads at once.

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;

use super::{pool, Executor, TaskOutcome, Walk};

/// Runs up to `max_tasks` ready nodes at once on a pool of threads: for sync I/O (blocking
/// clients) and CPU-bound nodes alike. The threads are shared by every run of the process and
/// kept between runs (one idle for ten seconds ends), so a run does not pay for starting
/// them.
///
/// ```
/// use weft::executors::MultiThreading;
/// let ex = MultiThreading::new(10);
/// assert_eq!(ex.max_tasks(), 10);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct MultiThreading {
    max_tasks: usize,
}

impl MultiThreading {
    /// At most `max_tasks` nodes run at the same time (at least 1).
    pub fn new(max_tasks: usize) -> Self {
        MultiThreading {
            max_tasks: max_tasks.max(1),
        }
    }
    /// The concurrency bound.
    pub fn max_tasks(&self) -> usize {
        self.max_tasks
    }
}

impl Executor for MultiThreading {
    fn name(&self) -> String {
        format!("threads({})", self.max_tasks)
    }

    fn parallelism(&self) -> usize {
        self.max_tasks
    }

    fn run(&self, walk: &Walk<'_>) {
        self.walk(walk, None);
    }
}

/// Whether a ready task is cheap enough to run on the scheduling thread itself.
pub(crate) type Inline<'a> = &'a dyn Fn(usize) -> bool;

impl MultiThreading {
    /// The walk. With `inline`, ready tasks it accepts run on this thread (a remote executor's
    /// group members whose results are already known: a hand-off to a thread would cost more
    /// than they do), and the others wait in order for a free worker.
    pub(crate) fn walk(&self, walk: &Walk<'_>, inline: Option<Inline<'_>>) {
        let mut sched = walk.scheduler();
        let runner = walk.runner();
        let (done_tx, done_rx) = mpsc::channel::<(usize, TaskOutcome)>();
        // Tasks handed to a thread and not yet reported.
        let mut running = 0usize;
        // Tasks taken from the scheduler while `max_tasks` were running (only with `inline`).
        let mut deferred: VecDeque<usize> = VecDeque::new();
        let start = |task: usize, running: &mut usize| {
            let (runner, handle, done) = (runner.clone(), walk.handle(), done_tx.clone());
            let job: pool::Job = Box::new(move || {
                // A panic that escaped the node's own guard fails the task rather than leaving
                // the walk waiting for it.
                let outcome = catch_unwind(AssertUnwindSafe(|| runner.run(handle, task)))
                    .unwrap_or(TaskOutcome::Failed);
                // Reported once the thread is idle: the task this one readies can take it.
                Box::new(move || {
                    let _ = done.send((task, outcome));
                })
            });
            // No thread could be started: run it here rather than not at all.
            if let Err(job) = pool::spawn(job) {
                job()();
            }
            *running += 1;
        };
        loop {
            while running < self.max_tasks {
                let Some(task) = deferred.pop_front() else {
                    break;
                };
                if sched.is_stopped() {
                    sched.complete(task, TaskOutcome::Cancelled);
                    continue;
                }
                start(task, &mut running);
            }
            while running < self.max_tasks || inline.is_some() {
                let Some(task) = sched.pop_ready() else { break };
                if inline.is_some_and(|cheap| cheap(task)) {
                    let outcome = runner.run(walk.handle(), task);
                    sched.complete(task, outcome);
                    continue;
                }
                if running < self.max_tasks {
                    start(task, &mut running);
                } else {
                    deferred.push_back(task);
                }
            }
            if sched.is_done() || running == 0 {
                break;
            }
            let Ok((task, outcome)) = done_rx.recv() else {
                break;
            };
            running -= 1;
            sched.complete(task, outcome);
        }
    }
}
