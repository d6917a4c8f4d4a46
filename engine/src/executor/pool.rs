//! Threads kept between runs: the threads of [`MultiThreading`](super::MultiThreading) (and of
//! the remote executors, which wait on them for their tasks' reports) outlive the run that
//! started them and take the next run's tasks.
//!
//! Starting a thread per task slot for every run cost more than the trivial tasks it ran: a
//! run of 200 one-millisecond cluster tasks started 200 threads, whose start, exit and stack
//! unmapping made the driver's system CPU time (perf). A thread that has been idle for
//! [`KEEP_ALIVE`] ends. The walk bounds how many tasks run at once; the pool only keeps
//! threads warm and starts one whenever none is idle.
//!
//! They are plain threads: no async runtime is entered on them (tokio's blocking pool would
//! make `Handle::try_current` succeed inside node bodies, which changes how weft and its Spark
//! client run blocking calls there).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// A unit of work for a pool thread. What it returns runs once its thread is listed as idle
/// again: a job that reports its end there (the walk's "task done") lets the next job it
/// causes take the same thread, rather than find none idle and start another.
pub(crate) type Job = Box<dyn FnOnce() -> Then + Send + 'static>;

/// What a job does once its thread is idle.
pub(crate) type Then = Box<dyn FnOnce() + Send + 'static>;

/// How long a thread waits for its next job before it ends (as long as tokio's blocking pool
/// keeps its threads).
pub(crate) const KEEP_ALIVE: Duration = Duration::from_secs(10);

/// The process's pool.
static THREADS: Pool = Pool::new(KEEP_ALIVE);

/// Runs `job` on an idle thread of the process's pool, or on a new one. Gives the job back
/// when no thread could be started (the caller runs it itself).
pub(crate) fn spawn(job: Job) -> Result<(), Job> {
    THREADS.spawn(job)
}

/// Threads that wait up to `keep_alive` for their next job.
pub(crate) struct Pool {
    /// The mailboxes of the idle threads, by thread number; the most recently idle last
    /// (taken first: the others are the ones to time out).
    idle: Mutex<Vec<(usize, Sender<Job>)>>,
    /// Threads started so far (and the next one's number: `weft-worker-N`).
    started: AtomicUsize,
    /// Threads that have ended (what the tests wait for).
    #[cfg(test)]
    ended: AtomicUsize,
    keep_alive: Duration,
}

impl Pool {
    const fn new(keep_alive: Duration) -> Pool {
        Pool {
            idle: Mutex::new(Vec::new()),
            started: AtomicUsize::new(0),
            #[cfg(test)]
            ended: AtomicUsize::new(0),
            keep_alive,
        }
    }

    fn idle(&self) -> MutexGuard<'_, Vec<(usize, Sender<Job>)>> {
        // Nothing panics while the lock is held: the list is always whole.
        self.idle.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn spawn(&'static self, mut job: Job) -> Result<(), Job> {
        loop {
            let Some((_, mailbox)) = self.idle().pop() else {
                break;
            };
            match mailbox.send(job) {
                Ok(()) => return Ok(()),
                // That thread is gone (it cannot be, short of an abort): try the next.
                Err(mpsc::SendError(back)) => job = back,
            }
        }
        let number = self.started.fetch_add(1, Ordering::Relaxed);
        let (mailbox, jobs) = mpsc::channel::<Job>();
        // Handed over through a slot, so that a thread that cannot be started gives it back.
        let slot = Arc::new(Mutex::new(Some(job)));
        let theirs = Arc::clone(&slot);
        let started = std::thread::Builder::new()
            .name(format!("weft-worker-{number}"))
            .spawn(move || {
                let first = take(&theirs);
                drop(theirs);
                self.serve(number, mailbox, jobs, first);
                #[cfg(test)]
                self.ended.fetch_add(1, Ordering::Release);
            });
        match started {
            Ok(_) => Ok(()),
            // The closure was dropped unrun: the job is still in the slot.
            Err(_) => take(&slot).map_or(Ok(()), Err),
        }
    }

    /// A pool thread: runs its jobs, waiting up to `keep_alive` for each next one.
    fn serve(&self, number: usize, mailbox: Sender<Job>, jobs: Receiver<Job>, first: Option<Job>) {
        let mut next = first;
        loop {
            // A panic that escaped the job must not end the thread (the pool would start
            // another for nothing).
            let then = next
                .take()
                .and_then(|job| catch_unwind(AssertUnwindSafe(job)).ok());
            self.idle().push((number, mailbox.clone()));
            if let Some(then) = then {
                let _ = catch_unwind(AssertUnwindSafe(then));
            }
            match jobs.recv_timeout(self.keep_alive) {
                Ok(job) => next = Some(job),
                Err(RecvTimeoutError::Timeout) => {
                    let mut idle = self.idle();
                    if let Some(i) = idle.iter().position(|(n, _)| *n == number) {
                        idle.swap_remove(i);
                        return;
                    }
                    drop(idle);
                    // Taken from the list as it timed out: its job is on the way.
                    match jobs.recv() {
                        Ok(job) => next = Some(job),
                        Err(_) => return,
                    }
                }
                // This thread holds a sender itself: never.
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }
}

fn take(slot: &Mutex<Option<Job>>) -> Option<Job> {
    slot.lock().unwrap_or_else(|p| p.into_inner()).take()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::channel;
    use std::time::Instant;

    /// A pool of its own (the process's is shared with the other tests).
    fn pool(keep_alive: Duration) -> &'static Pool {
        Box::leak(Box::new(Pool::new(keep_alive)))
    }

    /// The name of the thread that ran a job (bounded: a lost job fails, never hangs).
    fn run_on(pool: &'static Pool) -> String {
        let (tx, rx) = channel();
        pool.spawn(Box::new(move || {
            let _ = tx.send(std::thread::current().name().map(str::to_owned));
            Box::new(|| {})
        }))
        .unwrap_or_else(|_| panic!("a thread starts"));
        rx.recv_timeout(Duration::from_secs(60))
            .expect("the job ran")
            .expect("pool threads are named")
    }

    /// Waits (bounded) until `pool` has `n` idle threads.
    fn until_idle(pool: &Pool, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while pool.idle().len() != n {
            assert!(
                Instant::now() < deadline,
                "{} idle, not {n}",
                pool.idle().len()
            );
            std::thread::yield_now();
        }
    }

    #[test]
    fn an_idle_thread_takes_the_next_job() {
        let pool = pool(Duration::from_secs(3600));
        let first = run_on(pool);
        until_idle(pool, 1);
        assert_eq!(run_on(pool), first);
        until_idle(pool, 1);
        assert_eq!(pool.started.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn a_job_that_reports_once_idle_hands_its_thread_to_the_job_it_causes() {
        let pool = pool(Duration::from_secs(3600));
        let (tx, rx) = channel();
        let tx2 = tx.clone();
        pool.spawn(Box::new(move || {
            Box::new(move || {
                // The first job's report: the walk starts the next task at once.
                pool.spawn(Box::new(move || {
                    let _ = tx2.send(std::thread::current().name().map(str::to_owned));
                    Box::new(|| {})
                }))
                .unwrap_or_else(|_| panic!("a thread starts"));
                let _ = tx.send(std::thread::current().name().map(str::to_owned));
            })
        }))
        .unwrap_or_else(|_| panic!("a thread starts"));
        let first = rx.recv_timeout(Duration::from_secs(60)).expect("ran");
        let second = rx.recv_timeout(Duration::from_secs(60)).expect("ran");
        assert_eq!(first, second);
        assert_eq!(pool.started.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn a_thread_survives_a_panicking_job() {
        let pool = pool(Duration::from_secs(3600));
        let first = run_on(pool);
        until_idle(pool, 1);
        pool.spawn(Box::new(|| panic!("escaped")))
            .unwrap_or_else(|_| panic!("a thread starts"));
        until_idle(pool, 1);
        assert_eq!(run_on(pool), first);
        assert_eq!(pool.started.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn threads_idle_for_their_keep_alive_end_and_new_ones_start() {
        let pool = pool(Duration::from_millis(1));
        let first = run_on(pool);
        // Ended (bounded wait): the job reports before its thread is listed idle, so "not
        // listed" alone could be seen before the listing.
        let deadline = Instant::now() + Duration::from_secs(60);
        while pool.ended.load(Ordering::Acquire) != 1 {
            assert!(Instant::now() < deadline, "the idle thread never ended");
            std::thread::yield_now();
        }
        assert_eq!(pool.idle().len(), 0);
        let second = run_on(pool);
        assert_ne!(second, first);
        assert_eq!(pool.started.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn busy_threads_are_not_given_jobs_so_jobs_run_at_once() {
        let pool = pool(Duration::from_secs(3600));
        let n = 8;
        // Every job waits for all the others: they finish only if all run at the same time.
        let barrier = Arc::new(std::sync::Barrier::new(n));
        let (tx, rx) = channel();
        for _ in 0..n {
            let (barrier, tx) = (Arc::clone(&barrier), tx.clone());
            pool.spawn(Box::new(move || {
                barrier.wait();
                let _ = tx.send(std::thread::current().id());
                Box::new(|| {})
            }))
            .unwrap_or_else(|_| panic!("a thread starts"));
        }
        let mut ran = std::collections::HashSet::new();
        for _ in 0..n {
            ran.insert(rx.recv_timeout(Duration::from_secs(60)).expect("all ran"));
        }
        assert_eq!(ran.len(), n);
        assert_eq!(pool.started.load(Ordering::Relaxed), n);
    }
}
