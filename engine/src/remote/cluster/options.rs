//! What both cluster backends are configured with — the Python that runs weft's bridge, the
//! flow binary the cluster's workers run, its arguments, how many tasks are in flight — and
//! their shared builder methods ([`cluster_setters!`]).

use std::ffi::OsString;
use std::path::PathBuf;

use crate::remote::WORKER_ARG;

/// How many lines of a bridge's (or job's) output go into messages.
pub(crate) const TAIL_LINES: usize = 30;

/// Tasks in flight by default before the cluster's size is known, and the fewest derived from
/// it. Enough that the ready nodes of a wide graph go to the cluster at once, in one batch, as
/// Hamilton's adapters hand it the whole graph: the workers then run their queued tasks back
/// to back instead of waiting, between two, for a report's round trip through the scheduler,
/// the bridge and the driver (on a 2-thread Dask cluster a 200-task graph took 2.1 ms a task
/// with 16 in flight and 1.3 with 256).
pub(crate) const MIN_IN_FLIGHT: usize = 256;

/// Tasks in flight per worker thread (Dask) or CPU (Ray) of the cluster, by default.
pub(crate) const IN_FLIGHT_PER_THREAD: usize = 16;

/// The most tasks in flight derived from a cluster's size: each one holds a driver thread
/// waiting for its report.
pub(crate) const MAX_IN_FLIGHT: usize = 1024;

/// The options every cluster backend has.
pub(crate) struct ClusterOptions {
    /// The Python that runs the bridge.
    pub(crate) python: OsString,
    /// The flow binary (`None`: this program).
    pub(crate) program: Option<PathBuf>,
    /// The worker's arguments: `__weft-worker`, then the caller's.
    pub(crate) args: Vec<OsString>,
    /// Tasks in flight at once, when given (else derived from the cluster's size).
    pub(crate) slots: Option<usize>,
}

impl ClusterOptions {
    /// `$WEFT_PYTHON` (or `python3`), this program, no extra arguments, tasks in flight
    /// derived from the cluster's size.
    pub(crate) fn new() -> ClusterOptions {
        ClusterOptions {
            python: std::env::var_os("WEFT_PYTHON").unwrap_or_else(|| "python3".into()),
            program: None,
            args: vec![WORKER_ARG.into()],
            slots: None,
        }
    }

    /// Tasks in flight: the number given, or [`IN_FLIGHT_PER_THREAD`] per worker thread of a
    /// cluster of `threads` (as the bridge found it when it connected) between
    /// [`MIN_IN_FLIGHT`] and [`MAX_IN_FLIGHT`], or [`MIN_IN_FLIGHT`] before it is known.
    pub(crate) fn slots(&self, threads: Option<usize>) -> usize {
        match (self.slots, threads) {
            (Some(n), _) => n,
            (None, Some(t)) => t
                .saturating_mul(IN_FLIGHT_PER_THREAD)
                .clamp(MIN_IN_FLIGHT, MAX_IN_FLIGHT),
            (None, None) => MIN_IN_FLIGHT,
        }
    }

    /// The flow binary's path: the one given, or this program's.
    pub(crate) fn program(&self) -> Result<PathBuf, String> {
        match &self.program {
            Some(p) => Ok(p.clone()),
            None => std::env::current_exe()
                .map_err(|e| format!("cannot find this program to run on the cluster: {e}")),
        }
    }
}

/// The builder methods of a backend with a `ClusterOptions` field named `options`.
macro_rules! cluster_setters {
    () => {
        /// The Python that runs weft's bridge. For Dask, a Python here with
        /// `dask[distributed]` (the cluster's version); for Ray, the Python on the head with
        /// `ray[default]` — give it explicitly when it is a virtualenv's: a job's entrypoint
        /// inherits the PATH of `ray start`. Default: `$WEFT_PYTHON`, else `python3`.
        pub fn python(mut self, python: impl Into<std::ffi::OsString>) -> Self {
            self.options.python = python.into();
            self
        }

        /// The flow binary the cluster's workers run (default: this program). Dask's workers
        /// run it at this path, so it must be there on their machines; Ray ships it with the
        /// job, so it must run on the cluster's machines (same OS and architecture).
        pub fn program(mut self, program: impl Into<std::path::PathBuf>) -> Self {
            self.options.program = Some(program.into());
            self
        }

        /// Arguments after `__weft-worker` (for a flow CLI: `--config key=value`).
        pub fn args(
            mut self,
            args: impl IntoIterator<Item = impl Into<std::ffi::OsString>>,
        ) -> Self {
            self.options.args.extend(args.into_iter().map(Into::into));
            self
        }

        /// How many tasks are in flight at once (the cluster queues those it cannot place
        /// yet). Default: 16 per worker thread (Dask) or CPU (Ray) the cluster has when weft
        /// connects to it, at least 256 and at most 1,024 (each waits on a driver thread); 256
        /// until then. Hamilton's adapters hand the cluster every node at once; weft submits a
        /// node when its inputs are done, the ready ones together, and bounds how many wait
        /// (each holds a driver thread), sized by the cluster so that a large cluster is not
        /// left idle.
        pub fn in_flight(mut self, n: usize) -> Self {
            self.options.slots = Some(n.max(1));
            self
        }
    };
}
pub(crate) use cluster_setters;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_flight_is_sixteen_per_thread_of_the_cluster_within_bounds_unless_given() {
        let derived = ClusterOptions::new();
        assert_eq!(derived.slots(None), MIN_IN_FLIGHT);
        assert_eq!(derived.slots(Some(2)), MIN_IN_FLIGHT);
        assert_eq!(derived.slots(Some(40)), 640);
        assert_eq!(derived.slots(Some(100_000)), MAX_IN_FLIGHT);
        assert_eq!(derived.slots(Some(usize::MAX)), MAX_IN_FLIGHT);
        let given = ClusterOptions {
            slots: Some(3),
            ..ClusterOptions::new()
        };
        assert_eq!(given.slots(None), 3);
        assert_eq!(given.slots(Some(100)), 3);
    }
}
