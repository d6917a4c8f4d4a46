//! [`ProcessPool`]: N local worker processes of the flow binary, each serving tasks on a Unix
//! socket (stdout and stderr stay the node's own). A worker that dies — a node aborts the
//! process, exhausts memory, is killed — fails only the task it was running, with an error
//! naming the node, and is replaced for the next task.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::thread::JoinHandle;

use super::message::{Report, Task};
use super::worker::{WORKER_ARG, WORKER_ENV};
use super::{RemoteError, RemoteExecutor};
use crate::cancel::CancelToken;

/// How many lines of a worker's output are kept for the message when it dies.
const TAIL_LINES: usize = 20;

/// N worker processes on this machine: the reference backend of the remote seam, and a way to
/// isolate the driver from nodes that crash or leak (`--executor processes:N` in the CLI).
///
/// Workers are this program started again (or [`program`](Self::program)) with the argument
/// `__weft-worker` and `WEFT_WORKER_SOCKET` set; they are started when first needed and live as
/// long as the pool. A flow built on `weft_cli::main` serves as a worker by itself; another
/// program checks [`is_worker`](super::is_worker) and calls
/// [`Driver::serve_worker`](crate::Driver::serve_worker).
///
/// ```
/// use weft::remote::{ProcessPool, RemoteExecutor};
/// let pool = ProcessPool::new(4).program("/usr/local/bin/my-flow");
/// assert_eq!(pool.slots(), 4);
/// assert_eq!(pool.name(), "processes(4)");
/// ```
///
/// Clones share the workers (a benchmark or a long-lived program can give one pool to several
/// drivers built from the same code).
#[derive(Clone)]
pub struct ProcessPool {
    inner: Arc<Pool>,
}

struct Pool {
    size: usize,
    program: Option<PathBuf>,
    args: Vec<OsString>,
    idle: Mutex<Slots>,
    freed: Condvar,
    /// The pool's own store, for drivers without a cache directory (removed with the pool).
    scratch: OnceLock<PathBuf>,
}

#[derive(Default)]
struct Slots {
    idle: Vec<Worker>,
    live: usize,
}

struct Worker {
    child: Child,
    conn: BufReader<UnixStream>,
    tail: Arc<Mutex<VecDeque<String>>>,
    readers: Vec<JoinHandle<()>>,
}

static SPAWNED: AtomicU64 = AtomicU64::new(0);

impl ProcessPool {
    /// A pool of `size` workers (at least 1).
    pub fn new(size: usize) -> ProcessPool {
        ProcessPool {
            inner: Arc::new(Pool {
                size: size.max(1),
                program: None,
                args: vec![WORKER_ARG.into()],
                idle: Mutex::default(),
                freed: Condvar::new(),
                scratch: OnceLock::new(),
            }),
        }
    }

    /// Runs `program` as the worker instead of this program (it must serve tasks: a flow built
    /// on `weft_cli::main`, or a program calling `Driver::serve_worker`).
    pub fn program(self, program: impl Into<PathBuf>) -> ProcessPool {
        self.with(|p| p.program = Some(program.into()))
    }

    /// Adds arguments after `__weft-worker` (for a flow CLI: `--config key=value` to build the
    /// same graph as the driver).
    pub fn args(self, args: impl IntoIterator<Item = impl Into<OsString>>) -> ProcessPool {
        let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
        self.with(|p| p.args.extend(args))
    }

    fn with(self, f: impl FnOnce(&mut Pool)) -> ProcessPool {
        let mut inner = Arc::try_unwrap(self.inner).unwrap_or_else(|shared| Pool {
            size: shared.size,
            program: shared.program.clone(),
            args: shared.args.clone(),
            idle: Mutex::default(),
            freed: Condvar::new(),
            scratch: OnceLock::new(),
        });
        f(&mut inner);
        ProcessPool {
            inner: Arc::new(inner),
        }
    }

    /// How many worker processes are running now (started lazily, replaced when they die).
    pub fn live_workers(&self) -> usize {
        self.inner.slots().live
    }
}

impl Pool {
    fn slots(&self) -> std::sync::MutexGuard<'_, Slots> {
        self.idle.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// An idle worker, a new one if the pool is not full, or the next one freed.
    fn checkout(&self) -> Result<Worker, RemoteError> {
        let mut slots = self.slots();
        loop {
            if let Some(w) = slots.idle.pop() {
                return Ok(w);
            }
            if slots.live < self.size {
                slots.live += 1;
                drop(slots);
                return self.spawn().inspect_err(|_| {
                    self.slots().live -= 1;
                    self.freed.notify_one();
                });
            }
            slots = self.freed.wait(slots).unwrap_or_else(|p| p.into_inner());
        }
    }

    fn checkin(&self, w: Worker) {
        self.slots().idle.push(w);
        self.freed.notify_one();
    }

    fn lost(&self) {
        self.slots().live -= 1;
        self.freed.notify_one();
    }

    fn program(&self) -> Result<PathBuf, RemoteError> {
        match &self.program {
            Some(p) => Ok(p.clone()),
            None => std::env::current_exe().map_err(|e| {
                RemoteError::Transport(format!("cannot find this program to start workers: {e}"))
            }),
        }
    }

    /// Starts a worker and waits until it connects (or exits without connecting).
    fn spawn(&self) -> Result<Worker, RemoteError> {
        let program = self.program()?;
        let n = SPAWNED.fetch_add(1, Ordering::Relaxed);
        let socket = std::env::temp_dir().join(format!("weft-{}-{n}.sock", std::process::id()));
        let _ = std::fs::remove_file(&socket);
        let listener = UnixListener::bind(&socket).map_err(|e| {
            RemoteError::Transport(format!("cannot listen on {}: {e}", socket.display()))
        })?;
        let cleanup = Removed(socket.clone());
        let mut child = Command::new(&program)
            .args(&self.args)
            .env(WORKER_ENV, &socket)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                RemoteError::Transport(format!(
                    "cannot start the worker program {}: {e}",
                    program.display()
                ))
            })?;
        let tail = Arc::new(Mutex::new(VecDeque::new()));
        let mut readers = Vec::new();
        if let Some(out) = child.stdout.take() {
            readers.push(keep_tail(out, tail.clone(), false));
        }
        if let Some(err) = child.stderr.take() {
            readers.push(keep_tail(err, tail.clone(), true));
        }
        // Wait for the connection, or for the child to end without making one.
        listener
            .set_nonblocking(true)
            .map_err(|e| RemoteError::Transport(format!("socket: {e}")))?;
        let conn = loop {
            match listener.accept() {
                Ok((conn, _)) => break conn,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(RemoteError::Transport(format!("socket: {e}"))),
            }
            if let Ok(Some(status)) = child.try_wait() {
                for r in readers {
                    let _ = r.join();
                }
                return Err(RemoteError::Transport(format!(
                    "the worker program {} {} without serving tasks: it must be a flow built on \
                     weft_cli::main, or call Driver::serve_worker when weft::remote::is_worker(){}",
                    program.display(),
                    describe(status),
                    tail_text(&tail)
                )));
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
        };
        drop(cleanup);
        conn.set_nonblocking(false)
            .map_err(|e| RemoteError::Transport(format!("socket: {e}")))?;
        Ok(Worker {
            child,
            conn: BufReader::new(conn),
            tail,
            readers,
        })
    }
}

/// Removes the socket file once connected (or on failure).
struct Removed(PathBuf);

impl Drop for Removed {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Keeps the last lines of a worker's output; stderr is also passed on to ours.
fn keep_tail(
    stream: impl Read + Send + 'static,
    tail: Arc<Mutex<VecDeque<String>>>,
    echo: bool,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if echo {
                eprintln!("{line}");
            }
            let mut t = tail.lock().unwrap_or_else(|p| p.into_inner());
            if t.len() == TAIL_LINES {
                t.pop_front();
            }
            t.push_back(line);
        }
    })
}

fn tail_text(tail: &Mutex<VecDeque<String>>) -> String {
    let t = tail.lock().unwrap_or_else(|p| p.into_inner());
    if t.is_empty() {
        String::new()
    } else {
        let lines: Vec<&str> = t.iter().map(String::as_str).collect();
        format!("; its last output:\n  {}", lines.join("\n  "))
    }
}

fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(6)) => "aborted (SIGABRT: a failed memory allocation, an abort, a \
                            panic while panicking)"
            .to_string(),
        (None, Some(9)) => "was killed (SIGKILL: the out-of-memory killer, or a user)".to_string(),
        (None, Some(11)) => "crashed (SIGSEGV)".to_string(),
        (None, Some(s)) => format!("was killed by signal {s}"),
        (None, None) => "ended".to_string(),
    }
}

impl Worker {
    /// Sends a task and reads its report.
    fn exchange(&mut self, line: &str) -> std::io::Result<Report> {
        let conn = self.conn.get_mut();
        conn.write_all(line.as_bytes())?;
        conn.write_all(b"\n")?;
        conn.flush()?;
        let mut answer = String::new();
        if self.conn.read_line(&mut answer)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        serde_json::from_str(&answer).map_err(std::io::Error::other)
    }

    /// Ends a worker that failed an exchange; describes how it ended.
    fn bury(mut self, error: &std::io::Error) -> String {
        let _ = self.conn.get_mut().shutdown(std::net::Shutdown::Both);
        let status = match self.child.try_wait() {
            Ok(Some(s)) => Some(s),
            _ if error.kind() == std::io::ErrorKind::UnexpectedEof => self.child.wait().ok(),
            _ => {
                let _ = self.child.kill();
                self.child.wait().ok()
            }
        };
        for r in std::mem::take(&mut self.readers) {
            let _ = r.join();
        }
        let pid = self.child.id();
        let how = match status {
            Some(s) => describe(s),
            None => format!("failed ({error})"),
        };
        format!("worker process {pid} {how}{}", tail_text(&self.tail))
    }
}

impl Drop for Worker {
    /// Closing the socket ends the worker's loop; it is then reaped.
    fn drop(&mut self) {
        let _ = self.conn.get_mut().shutdown(std::net::Shutdown::Both);
        let _ = self.child.wait();
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.slots().idle.clear();
        if let Some(dir) = self.scratch.get() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

impl RemoteExecutor for ProcessPool {
    fn name(&self) -> String {
        format!("processes({})", self.inner.size)
    }

    fn slots(&self) -> usize {
        self.inner.size
    }

    fn default_store(&self) -> Option<String> {
        let dir = self.inner.scratch.get_or_init(|| {
            let n = SPAWNED.fetch_add(1, Ordering::Relaxed);
            std::env::temp_dir().join(format!("weft-pool-store-{}-{n}", std::process::id()))
        });
        Some(dir.display().to_string())
    }

    fn run(&self, task: &Task, _cancel: &CancelToken) -> Result<Report, RemoteError> {
        let line = serde_json::to_string(task)
            .map_err(|e| RemoteError::Transport(format!("cannot encode the task: {e}")))?;
        let mut worker = self.inner.checkout()?;
        match worker.exchange(&line) {
            Ok(report) => {
                self.inner.checkin(worker);
                Ok(report)
            }
            Err(e) => {
                let what = worker.bury(&e);
                self.inner.lost();
                let node = task.nodes.first().map(|n| n.name.as_str()).unwrap_or("?");
                Err(RemoteError::Crashed(format!(
                    "{what} while running `{node}`; the pool starts a new worker for the next task"
                )))
            }
        }
    }
}
