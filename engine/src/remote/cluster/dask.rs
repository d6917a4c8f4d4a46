//! [`DaskExecutor`]: tasks submitted to a `dask.distributed` scheduler as futures, by the
//! bridge running as a local Python subprocess (`distributed.Client`).

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::{cluster_setters, BridgeDir, ClusterOptions, Connection, TAIL_LINES};
use crate::cancel::CancelToken;
use crate::remote::{RemoteError, RemoteExecutor, Report, Task};

/// Runs each task on a [Dask](https://distributed.dask.org) cluster (`--executor
/// dask[=tcp://HOST:PORT]` in the CLI): tasks are submitted to the scheduler as futures, with
/// the futures of the tasks they read from as arguments, so Dask's scheduler places and orders
/// them; on Dask's workers a worker process of the flow binary runs each one over the store it
/// shares with the driver (the driver's cache directory: a path every worker must reach).
///
/// Weft talks to Dask through a Python bridge it writes out and runs with
/// [`python`](Self::python) (default `python3`, or `$WEFT_PYTHON`), which needs
/// `dask[distributed]`. With no [`address`](Self::address) the bridge starts a `LocalCluster`
/// on this machine for as long as the executor lives.
///
/// ```
/// use weft::remote::{DaskExecutor, RemoteExecutor};
/// let dask = DaskExecutor::new()
///     .address("tcp://127.0.0.1:8786")
///     .program("/usr/local/bin/my-flow")
///     .in_flight(8);
/// assert_eq!(dask.name(), "dask(tcp://127.0.0.1:8786)");
/// assert_eq!(dask.slots(), 8);
/// ```
pub struct DaskExecutor {
    address: Option<String>,
    options: ClusterOptions,
    no_workers: Duration,
    bridge: Mutex<Option<Bridge>>,
}

/// A running bridge process.
struct Bridge {
    conn: Arc<Connection>,
    child: Child,
    _dir: BridgeDir,
}

impl Default for DaskExecutor {
    fn default() -> Self {
        Self::new()
    }
}

impl DaskExecutor {
    /// A backend on a `LocalCluster` started for it, with the bridge run by `$WEFT_PYTHON` (or
    /// `python3`), the workers being this program, and tasks in flight sized by the cluster
    /// (see [`in_flight`](Self::in_flight)).
    pub fn new() -> DaskExecutor {
        DaskExecutor {
            address: None,
            options: ClusterOptions::new(),
            no_workers: Duration::from_secs(60),
            bridge: Mutex::new(None),
        }
    }

    /// The scheduler's address (`tcp://HOST:PORT`) instead of a local cluster.
    pub fn address(mut self, address: impl Into<String>) -> Self {
        self.address = Some(address.into());
        self
    }

    cluster_setters!();

    /// How long tasks wait on a cluster with no worker before they fail (default 60 s): the
    /// scheduler would keep them queued forever, and the run would never end. The error names
    /// the scheduler and how to start a worker. Workers that join within the bound pick the
    /// tasks up.
    ///
    /// ```
    /// use std::time::Duration;
    /// let dask = weft::remote::DaskExecutor::new().no_workers_timeout(Duration::from_secs(300));
    /// ```
    pub fn no_workers_timeout(mut self, bound: Duration) -> Self {
        self.no_workers = bound.max(Duration::from_secs(1));
        self
    }

    /// How many tasks the cluster runs at once — its workers' threads, summed — as weft found
    /// it when it connected (at the first run); `None` before, or when it had no worker then.
    /// Sizes the default [`in_flight`](Self::in_flight).
    ///
    /// ```
    /// // Not connected yet: unknown, and 256 tasks in flight.
    /// use weft::remote::{DaskExecutor, RemoteExecutor};
    /// let dask = DaskExecutor::new().address("tcp://127.0.0.1:8786");
    /// assert_eq!(dask.cluster_threads(), None);
    /// assert_eq!(dask.slots(), 256);
    /// ```
    pub fn cluster_threads(&self) -> Option<usize> {
        (self.bridge.lock().unwrap_or_else(|p| p.into_inner()))
            .as_ref()
            .and_then(|b| b.conn.threads())
    }

    fn where_(&self) -> String {
        match &self.address {
            Some(a) => format!("the Dask scheduler at {a}"),
            None => "a local Dask cluster".to_string(),
        }
    }

    fn how_to_start(&self) -> String {
        match &self.address {
            Some(a) => {
                let port = a.rsplit(':').next().unwrap_or("8786");
                format!(
                    "start one with `dask scheduler --host 127.0.0.1 --port {port}` and workers \
                     with `dask worker {a}`, or leave the address out to run on a local cluster"
                )
            }
            None => format!(
                "install dask with `{} -m pip install \"dask[distributed]\"`, or set \
                 WEFT_PYTHON to a Python that has it",
                self.options.python.to_string_lossy()
            ),
        }
    }

    /// The open bridge, started if there is none or the last one stopped.
    fn connection(&self) -> Result<Arc<Connection>, RemoteError> {
        let mut slot = self.bridge.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(b) = slot.as_mut() {
            if b.conn.closed().is_none() {
                return Ok(b.conn.clone());
            }
            let _ = b.child.kill();
            let _ = b.child.wait();
        }
        *slot = None;
        let bridge = self.start().map_err(|why| {
            RemoteError::Transport(format!(
                "cannot run tasks on {}: {why}; {}",
                self.where_(),
                self.how_to_start()
            ))
        })?;
        let conn = bridge.conn.clone();
        *slot = Some(bridge);
        Ok(conn)
    }

    fn start(&self) -> Result<Bridge, String> {
        let program = self.options.program()?;
        let dir =
            BridgeDir::write("dask").map_err(|e| format!("cannot write the bridge script: {e}"))?;
        let mut cmd = Command::new(&self.options.python);
        cmd.arg(dir.script()).arg("dask");
        if let Some(a) = &self.address {
            cmd.arg(a);
        }
        cmd.arg("--").arg(&program).args(&self.options.args);
        cmd.env(
            "WEFT_NO_WORKERS_S",
            format!("{:.3}", self.no_workers.as_secs_f64()),
        );
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", self.options.python.to_string_lossy()))?;
        let tail = Arc::new(Mutex::new(VecDeque::new()));
        if let Some(err) = child.stderr.take() {
            let tail = tail.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(err).lines() {
                    let Ok(line) = line else { break };
                    eprintln!("{line}");
                    let mut t = tail.lock().unwrap_or_else(|p| p.into_inner());
                    if t.len() == TAIL_LINES {
                        t.pop_front();
                    }
                    t.push_back(line);
                }
            });
        }
        let (Some(input), Some(out)) = (child.stdout.take(), child.stdin.take()) else {
            return Err("the bridge has no pipes".into());
        };
        let gone = move || {
            let t = tail.lock().unwrap_or_else(|p| p.into_inner());
            let lines: Vec<&str> = t.iter().map(String::as_str).collect();
            format!(
                "the Dask bridge stopped; its last output:\n  {}",
                lines.join("\n  ")
            )
        };
        match Connection::open(BufReader::new(input), out, gone) {
            Ok(conn) => Ok(Bridge {
                conn: Arc::new(conn),
                child,
                _dir: dir,
            }),
            Err(why) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(why)
            }
        }
    }
}

impl Drop for Bridge {
    /// Closing the bridge's stdin ends it (it closes its client, and its local cluster).
    fn drop(&mut self) {
        self.conn.close();
        let _ = self.child.wait();
    }
}

impl RemoteExecutor for DaskExecutor {
    fn name(&self) -> String {
        match &self.address {
            Some(a) => format!("dask({a})"),
            None => "dask(local)".to_string(),
        }
    }

    /// The number given to [`in_flight`](Self::in_flight), or 16 per worker thread of the
    /// cluster (between 256 and 1,024) once weft has connected to it: the scheduler's
    /// `nthreads`, summed over the workers it had then.
    fn slots(&self) -> usize {
        self.options.slots(self.cluster_threads())
    }

    fn begin_run(&self, _run_id: &str) -> Result<(), RemoteError> {
        self.connection().map(drop)
    }

    /// Runs `task` as a Dask future; once `cancel` is cancelled the future is cancelled (Dask
    /// releases it; a task already running on a worker thread cannot be interrupted there, its
    /// result is dropped).
    fn run(&self, task: &Task, cancel: &CancelToken) -> Result<Report, RemoteError> {
        let conn = self.connection()?;
        conn.run(task, cancel, |id| conn.cancel(id))
    }

    fn end_run(&self) {
        if let Some(b) = self
            .bridge
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            b.conn.end_run();
        }
    }
}
