//! The session: connecting (failing fast, naming the address and how to start a server), the
//! session as a graph input (its data version), the session stored frames are read back with,
//! and calling the client from any thread.

use std::sync::Mutex;

use spark_connect::{SparkError, SparkSession};

use crate::fingerprint::{Fingerprint, FingerprintHasher};

/// No Spark Connect server could be reached (or it refused the session).
#[derive(Debug, thiserror::Error)]
#[error(
    "no Spark Connect server answers at {remote}: {reason}. Start one (in a weft checkout: \
     `bash tests/services/spark.sh start`; with a Spark distribution: \
     `$SPARK_HOME/sbin/start-connect-server.sh`) and pass its `sc://HOST:PORT`"
)]
pub struct ConnectError {
    /// The address tried (`sc://HOST:PORT`).
    pub remote: String,
    /// What the client said.
    pub reason: String,
}

/// A session on the Spark Connect server at `remote` (`sc://HOST:PORT`), checked by asking
/// the server its version, so that a missing server is an error here and not at the first
/// query. The session also becomes the one cached frames are read back with (see
/// [`reading_session`]).
///
/// ```no_run
/// let spark = weft::spark::connect("sc://127.0.0.1:15002")?;
/// # Ok::<(), weft::spark::ConnectError>(())
/// ```
pub fn connect(remote: &str) -> Result<SparkSession, ConnectError> {
    let failed = |e: SparkError| ConnectError {
        remote: remote.to_string(),
        reason: e.message(),
    };
    // The client connects lazily and retries an unavailable server with backoff for minutes:
    // a plain TCP connection first says at once whether anything listens.
    reachable(remote).map_err(|reason| ConnectError {
        remote: remote.to_string(),
        reason,
    })?;
    let session = outside_runtime(|| {
        let s = SparkSession::builder().remote(remote).get_or_create()?;
        s.version()?;
        Ok(s)
    })
    .map_err(failed)?;
    remember(&session);
    Ok(session)
}

/// Whether a TCP connection to the address of `remote` (`sc://HOST[:PORT][/;params]`, port
/// 15002 by default) succeeds within a few seconds.
fn reachable(remote: &str) -> Result<(), String> {
    use std::net::{TcpStream, ToSocketAddrs};
    let rest = remote
        .strip_prefix("sc://")
        .ok_or("a Spark Connect address starts with `sc://`")?;
    let authority = rest.split(['/', ';']).next().unwrap_or_default();
    let with_port = if authority
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    {
        authority.to_string()
    } else {
        format!("{authority}:15002")
    };
    let addrs = with_port
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve `{with_port}`: {e}"))?;
    let mut last = format!("`{with_port}` resolves to no address");
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(5)) {
            Ok(_) => return Ok(()),
            Err(e) => last = format!("cannot connect to {addr}: {e}"),
        }
    }
    Err(last)
}

static READER: Mutex<Option<SparkSession>> = Mutex::new(None);

/// Records `session` as the one stored frames are read back with.
pub(crate) fn remember(session: &SparkSession) {
    if let Ok(mut r) = READER.lock() {
        *r = Some(session.clone());
    }
}

/// The session stored Spark frames are read back with: the last one made by [`connect`] or
/// given to a driver as an input.
pub fn reading_session() -> Option<SparkSession> {
    READER.lock().ok().and_then(|r| r.clone())
}

/// A session is an input like any other (Hamilton's `SPARK_INPUT_CHECK` is not needed: the
/// graph checks its type). Its data version is constant: which server answers does not
/// change what a plan reads (the files it scans are in each frame's version), so a new
/// session in a new process keeps the cache's keys. Giving it to a driver also makes it the
/// [`reading_session`].
impl Fingerprint for SparkSession {
    fn fingerprint(&self, h: &mut FingerprintHasher) {
        remember(self);
        h.write(b"spark session");
    }
}

/// Runs a blocking client call from any thread. The client drives each request (an action
/// such as `count` or `collect`, or an analysis such as `schema`) with `block_on` on a runtime
/// of its own, which tokio refuses on a thread driving async tasks: in an `async fn` node, a
/// direct client call panics ("Cannot start a runtime from within a runtime"). Inside a
/// runtime `f` runs on a scoped thread; elsewhere, here. weft's own client calls (and
/// [`to_arrow`](super::to_arrow), `to_polars`) go through it. Sync nodes do not need it.
///
/// ```no_run
/// use weft::prelude::*;
/// use weft::spark::{connect::SparkError, outside_runtime, DataFrame};
///
/// /// How many rows Spark counts: an action in an async node.
/// #[node]
/// async fn row_count(raw_data: &DataFrame) -> Result<i64, SparkError> {
///     outside_runtime(|| raw_data.count())
/// }
/// ```
pub fn outside_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    if tokio::runtime::Handle::try_current().is_err() {
        return f();
    }
    std::thread::scope(|s| match s.spawn(f).join() {
        Ok(v) => v,
        Err(panic) => std::panic::resume_unwind(panic),
    })
}
