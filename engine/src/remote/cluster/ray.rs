//! [`RayExecutor`]: one Ray job (submitted through Ray's Jobs REST API) whose entrypoint is the
//! bridge; the bridge connects back to the driver over TCP and turns each task into a Ray task.

use std::io::{BufReader, Cursor, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{cluster_setters, ClusterOptions, Connection, BRIDGE_FILES, TAIL_LINES};
use crate::cancel::CancelToken;
use crate::remote::{RemoteError, RemoteExecutor, Report, Task};

/// How long a submitted job may take to connect back (Ray starts it, installs its working
/// directory, then runs the bridge). A job that fails before that is noticed at once.
const CONNECT_PATIENCE: Duration = Duration::from_secs(300);

/// Runs each task as a [Ray](https://www.ray.io) task (`--executor ray[=http://HOST:8265]` in
/// the CLI). One Ray job, submitted through Ray's Jobs REST API on the dashboard, serves the
/// executor's runs (never one job per node: a job costs seconds). The job ships what it needs
/// — the flow binary and weft's bridge script, uploaded as its working directory — and its
/// entrypoint, the bridge, connects back to this driver (on [`listen`](Self::listen),
/// `127.0.0.1` by default) and submits each task as a Ray task with the node's resources
/// (`num_cpus`, `num_gpus`, `memory`, custom resources) and the `ObjectRef`s of the tasks it
/// reads from as arguments, so Ray schedules them. Results go through the store shared with the
/// driver (its cache directory: a path every Ray node must reach).
///
/// ```
/// use weft::remote::{RayExecutor, RemoteExecutor};
/// let ray = RayExecutor::new()
///     .address("http://127.0.0.1:8265")
///     .python("/opt/ray/bin/python")
///     .in_flight(8);
/// assert_eq!(ray.name(), "ray(http://127.0.0.1:8265)");
/// assert_eq!(ray.slots(), 8);
/// ```
pub struct RayExecutor {
    address: String,
    options: ClusterOptions,
    listen: String,
    metadata: Vec<(String, String)>,
    http: ureq::Agent,
    job: Mutex<Option<Job>>,
}

/// The running job.
struct Job {
    conn: Arc<Connection>,
    stream: TcpStream,
    stop: Arc<JobStop>,
}

/// Stops a job through the Jobs API (`POST /api/jobs/<id>/stop`), once.
struct JobStop {
    http: ureq::Agent,
    address: String,
    id: String,
    asked: AtomicBool,
}

impl JobStop {
    /// Asks Ray to stop the job (its bridge and every task it submitted); a job that has ended
    /// already is left as it is.
    fn stop(&self) {
        if self.asked.swap(true, Ordering::SeqCst) {
            return;
        }
        let url = format!("{}/api/jobs/{}/stop", self.address, self.id);
        if let Err(e) = self
            .http
            .post(&url)
            .set("Content-Type", "application/json")
            .send_string("{}")
        {
            eprintln!("weft: could not stop the Ray job {} at {url}: {e}", self.id);
        }
    }

    fn asked(&self) -> bool {
        self.asked.load(Ordering::SeqCst)
    }
}

impl Default for RayExecutor {
    fn default() -> Self {
        Self::new()
    }
}

impl RayExecutor {
    /// A backend on the Ray dashboard at `http://127.0.0.1:8265`, whose jobs run the bridge with
    /// `$WEFT_PYTHON` (or `python3`) on the head, ship this program, and have tasks in flight
    /// sized by the cluster (see [`in_flight`](Self::in_flight)).
    pub fn new() -> RayExecutor {
        RayExecutor {
            address: "http://127.0.0.1:8265".into(),
            options: ClusterOptions::new(),
            listen: "127.0.0.1:0".into(),
            metadata: Vec::new(),
            http: ureq::AgentBuilder::new()
                .timeout_connect(Duration::from_secs(10))
                .build(),
            job: Mutex::new(None),
        }
    }

    /// The dashboard's address (where the Jobs API is).
    pub fn address(mut self, address: impl Into<String>) -> Self {
        self.address = address.into().trim_end_matches('/').to_string();
        self
    }

    cluster_setters!();

    /// Where the driver listens for the job's bridge (`HOST:PORT`, port 0: any). The default,
    /// `127.0.0.1:0`, serves a one-machine cluster; give an address the Ray head can reach
    /// otherwise.
    pub fn listen(mut self, address: impl Into<String>) -> Self {
        self.listen = address.into();
        self
    }

    /// Adds `key: value` to the job's metadata (shown by `ray job list` and the dashboard;
    /// weft adds `submitted_by: weft` and `weft_driver_pid`).
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.push((key.into(), value.into()));
        self
    }

    /// How many CPUs the cluster has (`ray.cluster_resources()`), as the job's bridge found
    /// them when it started (at the first run); `None` before. Sizes the default
    /// [`in_flight`](Self::in_flight).
    ///
    /// ```
    /// // No job yet: unknown, and 256 tasks in flight.
    /// use weft::remote::{RayExecutor, RemoteExecutor};
    /// let ray = RayExecutor::new();
    /// assert_eq!(ray.cluster_threads(), None);
    /// assert_eq!(ray.slots(), 256);
    /// ```
    pub fn cluster_threads(&self) -> Option<usize> {
        (self.job.lock().unwrap_or_else(|p| p.into_inner()))
            .as_ref()
            .and_then(|j| j.conn.threads())
    }

    /// The job's metadata: weft's, then the caller's.
    fn job_metadata(&self) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        m.insert("submitted_by".into(), "weft".into());
        m.insert(
            "weft_driver_pid".into(),
            std::process::id().to_string().into(),
        );
        for (k, v) in &self.metadata {
            m.insert(k.clone(), v.clone().into());
        }
        serde_json::Value::Object(m)
    }

    /// The running job's connection and stop, submitting a job if there is none or the last
    /// one ended (or was stopped).
    fn connection(&self) -> Result<(Arc<Connection>, Arc<JobStop>), RemoteError> {
        let mut slot = self.job.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(j) = slot.as_ref() {
            if j.conn.closed().is_none() && !j.stop.asked() {
                return Ok((j.conn.clone(), j.stop.clone()));
            }
        }
        *slot = None;
        let job = self.submit().map_err(|why| {
            RemoteError::Transport(format!(
                "cannot run tasks on the Ray cluster at {}: {why}",
                self.address
            ))
        })?;
        let handles = (job.conn.clone(), job.stop.clone());
        *slot = Some(job);
        Ok(handles)
    }

    fn http(&self, method: &str, path: &str, body: Option<&[u8]>) -> Result<(u16, String), String> {
        let url = format!("{}{path}", self.address);
        let req = self.http.request(method, &url);
        let sent = match body {
            Some(b) if path.starts_with("/api/packages") => req.send_bytes(b),
            Some(b) => req.set("Content-Type", "application/json").send_bytes(b),
            None => req.call(),
        };
        match sent {
            Ok(r) => Ok((r.status(), r.into_string().unwrap_or_default())),
            Err(ureq::Error::Status(code, r)) => Ok((code, r.into_string().unwrap_or_default())),
            Err(e) => Err(format!(
                "cannot reach the Ray dashboard at {}: {e}; start a head with `ray start --head \
                 --dashboard-host=127.0.0.1 --dashboard-port=8265` (package `ray[default]`), or \
                 give its address with `--executor ray=http://HOST:PORT`",
                self.address
            )),
        }
    }

    /// The flow binary shipped to the cluster.
    fn binary(&self) -> Result<Vec<u8>, String> {
        let program = self.options.program()?;
        std::fs::read(&program)
            .map_err(|e| format!("cannot read the flow binary {}: {e}", program.display()))
    }

    /// The working directory's zip: the bridge's two scripts and the flow binary (`flow`),
    /// deflated (Ray's dashboard takes at most 100 MiB per upload).
    fn package(binary: &[u8]) -> Result<Vec<u8>, String> {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let stored = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .compression_level(Some(1))
            .large_file(binary.len() > u32::MAX as usize / 2);
        let fail = |e: &dyn std::fmt::Display| format!("cannot build the job's zip: {e}");
        for (name, text) in BRIDGE_FILES {
            zip.start_file(name, stored.unix_permissions(0o644))
                .map_err(|e| fail(&e))?;
            zip.write_all(text.as_bytes()).map_err(|e| fail(&e))?;
        }
        zip.start_file("flow", stored.unix_permissions(0o755))
            .map_err(|e| fail(&e))?;
        zip.write_all(binary).map_err(|e| fail(&e))?;
        Ok(zip.finish().map_err(|e| fail(&e))?.into_inner())
    }

    /// Uploads the working directory (unless Ray has it), submits the job and waits until its
    /// bridge connects back.
    fn submit(&self) -> Result<Job, String> {
        let binary = self.binary()?;
        // Named by content (the binary and the bridge), so an unchanged flow is uploaded once.
        let mut hash = blake3::Hasher::new();
        for (_, text) in BRIDGE_FILES {
            hash.update(text.as_bytes());
        }
        hash.update(&binary);
        let pkg = format!("_ray_pkg_{}.zip", &hash.finalize().to_hex()[..32]);
        let path = format!("/api/packages/gcs/{pkg}");
        if self.http("GET", &path, None)?.0 != 200 {
            let zip = Self::package(&binary)?;
            let (code, body) = self.http("PUT", &path, Some(&zip))?;
            if code != 200 {
                return Err(format!("uploading the job's files failed ({code}): {body}"));
            }
        }
        let listener = TcpListener::bind(&self.listen)
            .map_err(|e| format!("cannot listen on {} for the job: {e}", self.listen))?;
        let at = listener.local_addr().map_err(|e| e.to_string())?;
        let token = token();
        let mut entrypoint = format!(
            "{} bridge.py ray {at} {token} -- ./flow",
            quote(&self.options.python.to_string_lossy())
        );
        for a in &self.options.args {
            entrypoint.push(' ');
            entrypoint.push_str(&quote(&a.to_string_lossy()));
        }
        let body = serde_json::json!({
            "entrypoint": entrypoint,
            "runtime_env": {"working_dir": format!("gcs://{pkg}")},
            "metadata": self.job_metadata(),
        });
        let (code, answer) = self.http("POST", "/api/jobs/", Some(body.to_string().as_bytes()))?;
        let id = serde_json::from_str::<serde_json::Value>(&answer)
            .ok()
            .and_then(|v| {
                v.get("submission_id")
                    .and_then(|s| s.as_str())
                    .map(String::from)
            })
            .filter(|_| code == 200)
            .ok_or_else(|| format!("the Jobs API refused the job ({code}): {answer}"))?;
        let stop = Arc::new(JobStop {
            http: self.http.clone(),
            address: self.address.clone(),
            id: id.clone(),
            asked: AtomicBool::new(false),
        });
        let stream = match self.accept(&listener, &id, &token) {
            Ok(s) => s,
            Err(why) => {
                stop.stop();
                return Err(why);
            }
        };
        let reader = BufReader::new(stream.try_clone().map_err(|e| e.to_string())?);
        let out = stream.try_clone().map_err(|e| e.to_string())?;
        let (http, address) = (self.http.clone(), self.address.clone());
        let gone = move || job_end(&http, &address, &id);
        let conn = Connection::open(reader, out, gone).inspect_err(|_| stop.stop())?;
        Ok(Job {
            conn: Arc::new(conn),
            stream,
            stop,
        })
    }

    /// Waits for the job's bridge to connect with `token`, or for the job to end without.
    fn accept(&self, listener: &TcpListener, id: &str, token: &str) -> Result<TcpStream, String> {
        listener.set_nonblocking(true).map_err(|e| e.to_string())?;
        let start = Instant::now();
        loop {
            match listener.accept() {
                Ok((stream, _)) => {
                    if let Some(bridge) = greeted(stream, token)? {
                        return Ok(bridge);
                    }
                    // Someone else (or silence): ignore and keep waiting.
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(format!("waiting for the job: {e}")),
            }
            let (_, status) = self.http("GET", &format!("/api/jobs/{id}"), None)?;
            let state = serde_json::from_str::<serde_json::Value>(&status)
                .ok()
                .and_then(|v| v.get("status").and_then(|s| s.as_str()).map(String::from))
                .unwrap_or_default();
            if matches!(state.as_str(), "FAILED" | "STOPPED" | "SUCCEEDED") {
                return Err(job_end(&self.http, &self.address, id));
            }
            if start.elapsed() > CONNECT_PATIENCE {
                return Err(format!(
                    "the Ray job {id} did not connect back to {} within {} s (is that address \
                     reachable from the Ray head? see `RayExecutor::listen`); it was stopped",
                    self.listen,
                    CONNECT_PATIENCE.as_secs()
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// `stream`, a connection to the driver's port, made ready for the bridge's lines if its first
/// line is the bridge's hello with `token`; `None` for anyone else (or silence).
fn greeted(stream: TcpStream, token: &str) -> Result<Option<TcpStream>, String> {
    stream.set_nonblocking(false).map_err(|e| e.to_string())?;
    // Lines go out as they are written: with Nagle's algorithm a task line written while the
    // last one is unacknowledged waits for the bridge's delayed ACK (up to 40 ms on Linux;
    // measured: each run's first tasks reached Ray 35 ms after the driver wrote them).
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    let said: serde_json::Value = read_hello(&stream)
        .ok()
        .and_then(|hello| serde_json::from_slice(&hello).ok())
        .unwrap_or_default();
    Ok((said.get("hello").and_then(|h| h.as_str()) == Some(token)).then_some(stream))
}

/// How long a connection to the driver's port may take to say hello.
const HELLO_PATIENCE: Duration = Duration::from_secs(10);

/// The first line on a connection to the driver's port (at most 4 KiB), read byte by byte: the
/// bridge's next lines stay in the stream for the [`Connection`] (a buffered reader here could
/// take them), and a peer that says nothing is given up after [`HELLO_PATIENCE`].
fn read_hello(stream: &TcpStream) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    stream.set_read_timeout(Some(HELLO_PATIENCE))?;
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while line.len() < 4096 {
        match (&mut &*stream).read(&mut byte)? {
            0 => break,
            _ if byte[0] == b'\n' => break,
            _ => line.push(byte[0]),
        }
    }
    stream.set_read_timeout(None)?;
    Ok(line)
}

/// Why a job ended, with its log's tail.
fn job_end(http: &ureq::Agent, address: &str, id: &str) -> String {
    let get = |path: String| -> String {
        http.get(&format!("{address}{path}"))
            .call()
            .ok()
            .and_then(|r| r.into_string().ok())
            .unwrap_or_default()
    };
    let field = |text: &str, name: &str| -> String {
        serde_json::from_str::<serde_json::Value>(text)
            .ok()
            .and_then(|v| v.get(name).and_then(|s| s.as_str()).map(String::from))
            .unwrap_or_default()
    };
    let status = get(format!("/api/jobs/{id}"));
    let logs = field(&get(format!("/api/jobs/{id}/logs")), "logs");
    let lines: Vec<&str> = logs.lines().collect();
    let tail = lines[lines.len().saturating_sub(TAIL_LINES)..].join("\n  ");
    format!(
        "the Ray job {id} ended ({} {}); its log's last lines:\n  {tail}",
        field(&status, "status"),
        field(&status, "message")
    )
}

/// A token the job's bridge says when it connects back, so nobody else is taken for it.
fn token() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let seed = format!(
        "{}-{}-{:?}-{:?}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        std::time::SystemTime::now(),
        Instant::now()
    );
    blake3::hash(seed.as_bytes()).to_hex()[..32].to_string()
}

/// A shell word.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

impl Drop for Job {
    /// The job is stopped through the Jobs API (its tasks with it), and the connection closed.
    fn drop(&mut self) {
        self.stop.stop();
        self.conn.close();
        let _ = self.stream.shutdown(Shutdown::Both);
    }
}

impl RemoteExecutor for RayExecutor {
    fn name(&self) -> String {
        format!("ray({})", self.address)
    }

    /// The number given to [`in_flight`](Self::in_flight), or 16 per CPU of the cluster
    /// (between 256 and 1,024) once a job's bridge has said how many it has
    /// (`ray.cluster_resources()`).
    fn slots(&self) -> usize {
        self.options.slots(self.cluster_threads())
    }

    fn begin_run(&self, _run_id: &str) -> Result<(), RemoteError> {
        self.connection().map(drop)
    }

    /// Runs `task` as a Ray task; once `cancel` is cancelled the whole job is stopped (its
    /// running tasks too: a cancelled run's nodes keep no result) and the next run submits a
    /// new one.
    fn run(&self, task: &Task, cancel: &CancelToken) -> Result<Report, RemoteError> {
        let (conn, stop) = self.connection()?;
        conn.run(task, cancel, |_| stop.stop())
    }

    fn end_run(&self) {
        if let Some(j) = self.job.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            j.conn.end_run();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufRead;

    /// What `greeted` makes of a connection whose peer wrote `said` (the peer is returned too,
    /// so the connection stays open).
    fn greet(said: &[u8]) -> (Option<TcpStream>, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut peer = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        peer.write_all(said).unwrap();
        let (served, _) = listener.accept().unwrap();
        (greeted(served, "token").unwrap(), peer)
    }

    /// The driver's end of the job's connection sends each line at once: Nagle's algorithm
    /// would hold a task line written while the last is unacknowledged until the bridge's
    /// delayed ACK.
    #[test]
    fn the_bridge_connection_sends_lines_without_delay() {
        let (stream, _bridge) = greet(b"{\"hello\": \"token\"}\n");
        assert!(stream.expect("the bridge's hello").nodelay().unwrap());
    }

    /// A connection that does not say the job's token is not taken for the bridge.
    #[test]
    fn a_stranger_is_not_the_bridge() {
        let (stream, _other) = greet(b"{\"hello\": \"guess\"}\n");
        assert!(stream.is_none());
    }

    /// The bridge's first line after its hello is left for the connection, even when both
    /// arrive together.
    #[test]
    fn the_line_after_the_hello_stays_in_the_stream() {
        let (stream, _bridge) = greet(b"{\"hello\": \"token\"}\n{\"ready\": {}}\n");
        let mut next = String::new();
        BufReader::new(&stream.expect("the bridge's hello"))
            .read_line(&mut next)
            .unwrap();
        assert_eq!(next, "{\"ready\": {}}\n");
    }
}
