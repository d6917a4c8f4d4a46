//! What both cluster backends are configured with — the Python that runs weft's bridge, the
//! flow binary the cluster's workers run, its arguments, how many tasks are in flight — and
//! their shared builder methods ([`cluster_setters!`]).

use std::ffi::OsString;
use std::path::PathBuf;

use crate::remote::WORKER_ARG;

/// How many lines of a bridge's (or job's) output go into messages.
pub(crate) const TAIL_LINES: usize = 30;

/// The options every cluster backend has.
pub(crate) struct ClusterOptions {
    /// The Python that runs the bridge.
    pub(crate) python: OsString,
    /// The flow binary (`None`: this program).
    pub(crate) program: Option<PathBuf>,
    /// The worker's arguments: `__weft-worker`, then the caller's.
    pub(crate) args: Vec<OsString>,
    /// Tasks in flight at once.
    pub(crate) slots: usize,
}

impl ClusterOptions {
    /// `$WEFT_PYTHON` (or `python3`), this program, no extra arguments, 16 tasks in flight.
    pub(crate) fn new() -> ClusterOptions {
        ClusterOptions {
            python: std::env::var_os("WEFT_PYTHON").unwrap_or_else(|| "python3".into()),
            program: None,
            args: vec![WORKER_ARG.into()],
            slots: 16,
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
        /// yet). Default 16.
        pub fn in_flight(mut self, n: usize) -> Self {
            self.options.slots = n.max(1);
            self
        }
    };
}
pub(crate) use cluster_setters;
