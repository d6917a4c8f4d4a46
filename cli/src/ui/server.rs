//! Starting the web view: check the cache directory, bind (127.0.0.1 unless told otherwise),
//! and serve on a tokio runtime of its own, on a thread of its own, so that `watch --ui` keeps
//! its watcher on the main thread. `weft ui` and `FLOW ui` then wait on the server.

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::sync::Arc;

use weft::Cache;

use super::args::{Listen, UiArgs};
use super::live::Hub;
use super::routes::router;
use super::safety;
use super::site::{FlowInfo, Site};
use crate::error::CliError;

/// `listener`'s connections send each write at once (`TCP_NODELAY`): the live view streams
/// small events, and with Nagle's algorithm one written while the last is unacknowledged
/// waits for the browser's delayed ACK (up to 40 ms on Linux).
fn without_delay(listener: tokio::net::TcpListener) -> NoDelay {
    use axum::serve::ListenerExt;
    listener.tap_io(|tcp| {
        // A connection that cannot take the option is served as it is.
        let _ = tcp.set_nodelay(true);
    })
}

/// The web view's listener (see [`without_delay`]).
type NoDelay = axum::serve::TapIo<tokio::net::TcpListener, fn(&mut tokio::net::TcpStream)>;

/// A running web view.
pub(crate) struct Server {
    addr: SocketAddr,
    thread: std::thread::JoinHandle<Result<(), String>>,
}

impl Server {
    /// Serves the cache directory `a.cache` (checked first: it must exist and be a weft
    /// cache), with `flow`'s docs when a flow's binary serves it.
    pub(crate) fn for_dir(a: &UiArgs, flow: Option<FlowInfo>) -> Result<Server, CliError> {
        // An object-store URL (`s3://bucket/prefix`, a team cache): opened through the
        // engine's one location parser (a build without the `object-store` feature says which
        // feature to enable); no local file is involved, so nothing to check on disk.
        if let Some(url) = a.cache.to_str().filter(|s| s.contains("://")) {
            let cache = Cache::locate(url)
                .map_err(|e| CliError::failure(format!("cannot open the cache {url}: {e}")))?;
            return Server::start(Site::new(cache, a.cache.clone(), flow, None), &a.listen);
        }
        let dir = safety::cache_dir(&a.cache)?;
        let cache = Cache::open(&dir).map_err(|e| {
            CliError::failure(format!("cannot open the cache in {}: {e}", dir.display()))
        })?;
        Server::start(Site::new(cache, dir, flow, None), &a.listen)
    }

    /// Serves `cache` (a watch driver's) live, with the events of `hub`.
    pub(crate) fn live(
        cache: Cache,
        dir: &Path,
        flow: FlowInfo,
        hub: Hub,
        listen: &Listen,
    ) -> Result<Server, CliError> {
        let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
        Server::start(Site::new(cache, dir, Some(flow), Some(hub)), listen)
    }

    /// Binds now (so that a port in use is an error here), then serves on a thread.
    fn start(site: Site, listen: &Listen) -> Result<Server, CliError> {
        let wanted = SocketAddr::new(listen.bind, listen.port);
        let std_listener = TcpListener::bind(wanted).map_err(|e| {
            CliError::usage(format!(
                "cannot listen on {wanted}: {e}; choose another port with --port (0 picks a \
                 free one)"
            ))
        })?;
        let addr = std_listener
            .local_addr()
            .map_err(|e| CliError::failure(format!("cannot read the bound address: {e}")))?;
        std_listener
            .set_nonblocking(true)
            .map_err(|e| CliError::failure(format!("cannot set up the listener: {e}")))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("weft-ui")
            .enable_all()
            .build()
            .map_err(|e| CliError::failure(format!("cannot start the web view's runtime: {e}")))?;
        // On loopback, only this machine's names for it (see `router`).
        let hosts = if addr.ip().is_loopback() {
            let port = addr.port();
            vec![
                format!("127.0.0.1:{port}"),
                format!("localhost:{port}"),
                format!("[::1]:{port}"),
            ]
        } else {
            Vec::new()
        };
        let app = router(Arc::new(site), hosts);
        let thread = std::thread::Builder::new()
            .name("weft-ui".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(std_listener)
                        .map_err(|e| e.to_string())?;
                    axum::serve(without_delay(listener), app)
                        .await
                        .map_err(|e| e.to_string())
                })
            })
            .map_err(|e| CliError::failure(format!("cannot start the web view: {e}")))?;
        Ok(Server { addr, thread })
    }

    /// The address to open in a browser.
    pub(crate) fn url(&self) -> String {
        let host = match self.addr.ip() {
            ip if ip.is_unspecified() => "127.0.0.1".to_string(),
            std::net::IpAddr::V6(ip) => format!("[{ip}]"),
            ip => ip.to_string(),
        };
        format!("http://{host}:{}/", self.addr.port())
    }

    /// Prints where the view is, on stdout (tests and scripts read the URL from this line).
    pub(crate) fn announce(&self, what: &str) {
        outln!("weft ui: {what} at {} (Ctrl-C to stop)", self.url());
        let _ = std::io::Write::flush(&mut std::io::stdout());
    }

    /// Serves until the process is stopped; returns only if the server fails.
    pub(crate) fn wait(self) -> Result<(), CliError> {
        match self.thread.join() {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(CliError::failure(format!("the web view stopped: {e}"))),
            Err(_) => Err(CliError::failure("the web view's thread panicked")),
        }
    }
}

/// `weft ui` and `FLOW ui`: serve the directory until stopped.
pub(crate) fn serve(a: &UiArgs, flow: Option<FlowInfo>) -> Result<(), CliError> {
    let server = Server::for_dir(a, flow)?;
    server.announce(&format!("serving {}", a.cache.display()));
    server.wait()
}

#[cfg(test)]
mod tests {
    use axum::serve::Listener;

    #[tokio::test]
    async fn connections_send_without_delay() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut listener = super::without_delay(listener);
        let _client = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (served, _) = listener.accept().await;
        assert!(served.nodelay().unwrap());
    }
}
