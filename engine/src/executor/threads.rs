//! [`MultiThreading`]: ready nodes run on up to `max_tasks` threads at once.

use std::collections::VecDeque;
use std::sync::mpsc;

use super::{Executor, Handle, TaskOutcome, Walk};

/// Runs up to `max_tasks` ready nodes at once on a pool of threads: for sync I/O (blocking
/// clients) and CPU-bound nodes alike. The pool lives for one run.
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
pub(crate) type Inline<'a> = &'a (dyn Fn(usize) -> bool + Sync);

impl MultiThreading {
    /// The walk. With `inline`, ready tasks it accepts run on this thread (a remote executor's
    /// group members whose results are already known: a hand-off to a thread would cost more
    /// than they do), and the others wait in order for a free worker.
    pub(crate) fn walk(&self, walk: &Walk<'_>, inline: Option<Inline<'_>>) {
        let mut sched = walk.scheduler();
        let runner = walk.runner();
        let workers = self.max_tasks.min(walk.tasks().max(1));
        let (done_tx, done_rx) = mpsc::channel::<(usize, TaskOutcome)>();
        std::thread::scope(|scope| {
            // One channel per worker; a worker takes a task and its handle, runs it, drops the
            // handle, and reports.
            let mut idle: Vec<mpsc::Sender<(usize, Handle)>> = Vec::with_capacity(workers);
            for w in 0..workers {
                let (tx, rx) = mpsc::channel::<(usize, Handle)>();
                let done = done_tx.clone();
                let spawned = std::thread::Builder::new()
                    .name(format!("weft-worker-{w}"))
                    .spawn_scoped(scope, move || {
                        while let Ok((task, handle)) = rx.recv() {
                            let outcome = runner.run(handle, task);
                            if done.send((task, outcome)).is_err() {
                                return;
                            }
                        }
                    });
                if spawned.is_ok() {
                    idle.push(tx);
                }
            }
            drop(done_tx);
            if idle.is_empty() {
                // No thread could be started: run inline rather than not at all.
                while let Some(task) = sched.pop_ready() {
                    let outcome = runner.run(walk.handle(), task);
                    sched.complete(task, outcome);
                }
                return;
            }
            let mut busy: Vec<(usize, mpsc::Sender<(usize, Handle)>)> = Vec::new();
            // Tasks taken from the scheduler while every worker was busy (only with `inline`).
            let mut deferred: VecDeque<usize> = VecDeque::new();
            loop {
                while !idle.is_empty() {
                    let Some(task) = deferred.pop_front() else {
                        break;
                    };
                    if sched.is_stopped() {
                        sched.complete(task, TaskOutcome::Cancelled);
                        continue;
                    }
                    let worker = idle.pop().expect("checked non-empty");
                    match worker.send((task, walk.handle())) {
                        Ok(()) => busy.push((task, worker)),
                        Err(_) => sched.complete(task, TaskOutcome::Cancelled),
                    }
                }
                while !idle.is_empty() || inline.is_some() {
                    let Some(task) = sched.pop_ready() else { break };
                    if inline.is_some_and(|cheap| cheap(task)) {
                        let outcome = runner.run(walk.handle(), task);
                        sched.complete(task, outcome);
                        continue;
                    }
                    let Some(worker) = idle.pop() else {
                        deferred.push_back(task);
                        continue;
                    };
                    match worker.send((task, walk.handle())) {
                        Ok(()) => busy.push((task, worker)),
                        Err(_) => sched.complete(task, TaskOutcome::Cancelled),
                    }
                }
                if sched.is_done() {
                    break;
                }
                let Ok((task, outcome)) = done_rx.recv() else {
                    break;
                };
                sched.complete(task, outcome);
                if let Some(i) = busy.iter().position(|(t, _)| *t == task) {
                    idle.push(busy.swap_remove(i).1);
                }
            }
            // Closing the task channels stops the workers.
            drop(idle);
            drop(busy);
        });
    }
}
