//! Async nodes calling an HTTP API concurrently, with the persistent cache on.
//!
//! The example starts its own tiny HTTP server on 127.0.0.1 (any free port; no internet), whose
//! every answer takes 200 ms. `user_data`, `user_orders` and `user_preferences` are `async fn`
//! nodes that call it; they do not depend on each other, so the `Driver` awaits all three at
//! once. `user_profile` is a sync node that waits for all three (it runs on tokio's blocking
//! pool, never on the event loop). A second driver on the same cache, as a new process would be,
//! gets everything from the cache: no request reaches the server.
//!
//! Run with `cargo run --example async_api`.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use weft::cache::Status;
use weft::prelude::*;
use weft::{Builder, CacheConfig, Driver};

mod api {
    //! A minimal HTTP/1.1 client over a tokio `TcpStream`: one GET, `Connection: close`.

    use std::net::SocketAddr;

    use serde::{de::DeserializeOwned, Deserialize, Serialize};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    /// `GET /users/{id}`.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct User {
        pub id: String,
        pub name: String,
    }

    /// One element of `GET /orders?user={id}`.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct Order {
        pub order: u32,
        pub total: f64,
    }

    /// `GET /preferences/{id}`.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct Preferences {
        pub theme: String,
        pub newsletter: bool,
    }

    /// Why a call failed.
    #[derive(Debug, thiserror::Error)]
    pub enum ApiError {
        #[error("cannot reach the API at {addr}: {source}")]
        Io {
            addr: SocketAddr,
            source: std::io::Error,
        },
        #[error("GET {path}: the server answered `{status}`")]
        Status { path: String, status: String },
        #[error("GET {path}: the answer is not an HTTP response")]
        Malformed { path: String },
        #[error("GET {path}: the body is not JSON: {source}")]
        Json {
            path: String,
            source: serde_json::Error,
        },
    }

    /// A client for the users API. Handed to the flow as an input, like any other value.
    #[derive(Debug, Clone)]
    pub struct Client {
        addr: SocketAddr,
    }

    impl Client {
        pub fn new(addr: SocketAddr) -> Self {
            Client { addr }
        }

        /// `GET path`, decoded from JSON.
        pub async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, ApiError> {
            let io = |source| ApiError::Io {
                addr: self.addr,
                source,
            };
            let mut stream = TcpStream::connect(self.addr).await.map_err(io)?;
            let request = format!(
                "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
                self.addr
            );
            stream.write_all(request.as_bytes()).await.map_err(io)?;
            let mut raw = Vec::new();
            stream.read_to_end(&mut raw).await.map_err(io)?;
            let text = String::from_utf8_lossy(&raw);
            let malformed = || ApiError::Malformed {
                path: path.to_string(),
            };
            let (head, body) = text.split_once("\r\n\r\n").ok_or_else(malformed)?;
            let status = head.lines().next().ok_or_else(malformed)?;
            if !status.starts_with("HTTP/1.1 200") {
                return Err(ApiError::Status {
                    path: path.to_string(),
                    status: status.to_string(),
                });
            }
            serde_json::from_str(body).map_err(|source| ApiError::Json {
                path: path.to_string(),
                source,
            })
        }
    }

    /// What goes into cache keys for a client: the API it talks to, not the address it talks to
    /// it at (the port changes every time the server starts). A value that cannot be
    /// fingerprinted would keep every node using it out of the cache.
    impl weft::Fingerprint for Client {
        fn fingerprint(&self, h: &mut weft::FingerprintHasher) {
            h.write(b"users-api/v1");
        }
    }
}

mod profile {
    use serde::{Deserialize, Serialize};
    use weft::prelude::*;

    use crate::api::{ApiError, Client, Order, Preferences, User};

    /// The user's record.
    #[node]
    pub async fn user_data(user_id: &str, client: &Client) -> Result<User, ApiError> {
        client.get_json(&format!("/users/{user_id}")).await
    }

    /// The user's orders (concurrently with `user_data`).
    #[node]
    pub async fn user_orders(user_id: &str, client: &Client) -> Result<Vec<Order>, ApiError> {
        client.get_json(&format!("/orders?user={user_id}")).await
    }

    /// The user's preferences (concurrently with both above).
    #[node]
    pub async fn user_preferences(user_id: &str, client: &Client) -> Result<Preferences, ApiError> {
        client.get_json(&format!("/preferences/{user_id}")).await
    }

    /// What the page shows.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct Profile {
        pub name: String,
        pub orders: usize,
        pub spent: f64,
        pub theme: String,
    }

    /// Sync: combines all three (waits for all of them).
    #[node]
    pub fn user_profile(
        user_data: &User,
        user_orders: &[Order],
        user_preferences: &Preferences,
    ) -> Profile {
        Profile {
            name: user_data.name.clone(),
            orders: user_orders.len(),
            spent: user_orders.iter().map(|o| o.total).sum(),
            theme: user_preferences.theme.clone(),
        }
    }
}

mod server {
    //! The local API: answers after 200 ms, logs when each request arrives.

    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    pub const LATENCY: Duration = Duration::from_millis(200);

    /// Serves until the program ends. `since` is the instant arrival times are measured from.
    pub async fn serve(listener: TcpListener, since: Arc<Mutex<Instant>>, hits: Arc<AtomicUsize>) {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let since = since.clone();
            let hits = hits.clone();
            tokio::spawn(async move {
                if let Err(e) = answer(stream, since, hits).await {
                    eprintln!("  server: {e}");
                }
            });
        }
    }

    async fn answer(
        mut stream: TcpStream,
        since: Arc<Mutex<Instant>>,
        hits: Arc<AtomicUsize>,
    ) -> std::io::Result<()> {
        let mut buf = vec![0u8; 4096];
        let mut len = 0;
        // Read the request head (a GET has no body).
        loop {
            let n = stream.read(&mut buf[len..]).await?;
            len += n;
            let complete = buf[..len].windows(4).any(|w| w == b"\r\n\r\n");
            if n == 0 || complete || len == buf.len() {
                break;
            }
        }
        let head = String::from_utf8_lossy(&buf[..len]);
        let path = head.split_whitespace().nth(1).unwrap_or("").to_string();
        hits.fetch_add(1, Ordering::SeqCst);
        let at = since.lock().map(|t| t.elapsed()).unwrap_or_default();
        println!(
            "  server: GET {path:<22} arrived at +{:>3} ms",
            at.as_millis()
        );
        tokio::time::sleep(LATENCY).await;
        let (status, body) = route(&path);
        let response = format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(response.as_bytes()).await?;
        stream.shutdown().await
    }

    fn route(path: &str) -> (&'static str, String) {
        if let Some(id) = path.strip_prefix("/users/") {
            let body = serde_json::json!({ "id": id, "name": "Ada Lovelace" });
            ("200 OK", body.to_string())
        } else if let Some(id) = path.strip_prefix("/orders?user=") {
            let body = serde_json::json!([
                { "user": id, "order": 1, "total": 12.5 },
                { "user": id, "order": 2, "total": 30.0 },
            ]);
            ("200 OK", body.to_string())
        } else if path.starts_with("/preferences/") {
            let body = serde_json::json!({ "theme": "dark", "newsletter": true });
            ("200 OK", body.to_string())
        } else {
            ("404 Not Found", "{}".to_string())
        }
    }
}

async fn build(cache_dir: &std::path::Path) -> Result<Driver, weft::BuildError> {
    Builder::new()
        .with_modules(weft::modules![crate::profile])
        .with_cache_config(CacheConfig::at(cache_dir))
        .build()
}

/// One run: timings of the three calls, the profile, and what the cache did.
async fn run(
    label: &str,
    dr: &Driver,
    client: &api::Client,
    since: &Mutex<Instant>,
) -> Result<(), Box<dyn std::error::Error>> {
    println!("{label}");
    let inputs = inputs! { "user_id" => "123", "client" => client.clone() };
    let start = Instant::now();
    *since.lock().map_err(|_| "clock lock poisoned")? = start;
    let (out, record) = dr
        .request(&["user_profile"])
        .inputs(inputs)
        .run_async()
        .await?;
    let wall = start.elapsed();

    let calls = ["user_data", "user_orders", "user_preferences"];
    let took: Vec<String> = calls
        .iter()
        .filter_map(|c| {
            let d = record.durations.get(*c)?;
            Some(format!("{c} {} ms", d.as_millis()))
        })
        .collect();
    let sum: Duration = calls.iter().filter_map(|c| record.durations.get(*c)).sum();
    if took.is_empty() {
        println!("  no call ran; the run took {:.1} ms", ms(wall));
    } else {
        println!(
            "  {}: {} ms of calls in {:.0} ms of wall time",
            took.join(", "),
            sum.as_millis(),
            ms(wall)
        );
    }
    println!(
        "  user_profile = {:?}",
        out.get::<profile::Profile>("user_profile")?
    );
    let cache = dr.cache().ok_or("built with a cache")?;
    let statuses: Vec<String> = cache
        .records(None)?
        .iter()
        .map(|r| format!("{}={}", r.node, r.status.as_str()))
        .collect();
    println!("  cache: {}", statuses.join("  "));
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The API, on any free local port.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr: SocketAddr = listener.local_addr()?;
    let since = Arc::new(Mutex::new(Instant::now()));
    let hits = Arc::new(AtomicUsize::new(0));
    tokio::spawn(server::serve(listener, since.clone(), hits.clone()));
    println!(
        "API on http://{addr} (every answer takes {} ms)\n",
        server::LATENCY.as_millis()
    );
    let client = api::Client::new(addr);

    // A fresh cache, so the first run is cold.
    let dir = std::env::temp_dir().join("weft-example-async-api");
    let _ = std::fs::remove_dir_all(&dir);

    let dr = build(&dir).await?;
    run("first run, empty cache:", &dr, &client, &since).await?;
    drop(dr);

    // A new driver is what a new process sees: the calls come from the cache.
    let before = hits.load(Ordering::SeqCst);
    let dr = build(&dir).await?;
    run(
        "\nsecond run, new driver, same cache:",
        &dr,
        &client,
        &since,
    )
    .await?;
    let cache = dr.cache().ok_or("built with a cache")?;
    let all_hits = cache.records(None)?.iter().all(|r| r.status == Status::Hit);
    println!(
        "  requests that reached the server: {}; every node a cache hit: {all_hits}",
        hits.load(Ordering::SeqCst) - before
    );
    Ok(())
}
