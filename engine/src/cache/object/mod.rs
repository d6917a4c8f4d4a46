//! [`ObjectStores`]: a cache's metadata and results on object storage (S3 and S3-compatible
//! servers, Google Cloud Storage, Azure Blob Storage) through the `object_store` crate, so that
//! drivers on several machines share one cache — a team cache. Feature `object-store`.
//!
//! Reached through a URL: [`CacheConfig::locate`](crate::CacheConfig::locate)`("s3://bucket/prefix")`
//! for a driver, [`Cache::locate`](crate::Cache::locate) for inspection, `--cache URL` in the
//! CLI. How the objects are laid out, and why concurrent drivers lose nothing, is in
//! `layout.rs`; results are content-addressed and verified on read (`results.rs`); keys, runs
//! and records are small objects (`meta.rs`).

mod bridge;
mod connect;
mod layout;
mod meta;
mod results;

use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use object_store::path::Path;
use object_store::ObjectStore;

use bridge::Bridge;
use layout::Layout;

use super::StoreError;

/// A cache on object storage: a [`MetadataStore`](super::MetadataStore) and a
/// [`ResultStore`](super::ResultStore) at once, under one URL. Clones share the connection.
///
/// Credentials and endpoints come from the environment, as the provider's tools read them
/// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `AWS_ENDPOINT_URL` for an
/// S3-compatible server, `GOOGLE_SERVICE_ACCOUNT`, `AZURE_STORAGE_ACCOUNT_NAME`, …); they are
/// never written into the cache or into messages. Transient failures (connection errors, 5xx,
/// throttling) are retried 4 times with exponential backoff from 100 ms, within 30 s; a
/// connection may take 5 s to open, a request 120 s.
///
/// ```no_run
/// use std::sync::Arc;
/// use weft::cache::{Cache, ObjectStores};
/// use weft::CacheConfig;
/// // Usually through a URL: the same stores, made by `locate`.
/// let config = CacheConfig::locate("s3://team-cache/flows/sales")?;
/// // Or by hand, e.g. to inspect it.
/// let stores = ObjectStores::open("s3://team-cache/flows/sales")?;
/// let cache = Cache::with_stores(Arc::new(stores.clone()), Arc::new(stores));
/// println!("{} runs", cache.runs()?.len());
/// # let _ = config;
/// # Ok::<(), weft::cache::StoreError>(())
/// ```
#[derive(Clone)]
pub struct ObjectStores {
    shared: Arc<Shared>,
}

struct Shared {
    bridge: Bridge,
    store: Arc<dyn ObjectStore>,
    layout: Layout,
    url: String,
    /// Tells this store's record objects apart from other writers' (process id and a random
    /// part).
    writer: String,
    /// Orders this writer's record batches.
    seq: AtomicU64,
}

impl ObjectStores {
    /// Connects to the cache at `url` (`s3://bucket/prefix`, `gs://…`, `az://…`) and checks
    /// that it can be reached with one listing request: an unreachable endpoint, a missing
    /// bucket or refused credentials is an error naming the URL.
    pub fn open(url: &str) -> Result<ObjectStores, StoreError> {
        let url = match super::Location::parse(url)? {
            super::Location::Object { url } => url,
            other => {
                return Err(StoreError::Location {
                    location: url.to_string(),
                    why: format!("`{other}` is a directory, not object storage"),
                })
            }
        };
        let conn = connect::connect(&url)?;
        let stores = ObjectStores {
            shared: Arc::new(Shared {
                bridge: Bridge::new()?,
                store: conn.store,
                layout: Layout::new(conn.prefix),
                url: url.clone(),
                writer: writer_id(),
                seq: AtomicU64::new(0),
            }),
        };
        stores.probe()?;
        Ok(stores)
    }

    /// The URL.
    pub fn url(&self) -> &str {
        &self.shared.url
    }

    /// One request that needs the bucket and the credentials: listing the runs.
    fn probe(&self) -> Result<(), StoreError> {
        let store = self.shared.store.clone();
        let runs = self.shared.layout.dir(layout::RUNS);
        let url = self.shared.url.clone();
        self.shared.bridge.run(async move {
            store
                .list_with_delimiter(Some(&runs))
                .await
                .map(|_| ())
                .map_err(|e| StoreError::Location {
                    location: url,
                    why: format!(
                        "cannot reach it: {e}; check the URL, that the bucket exists, the \
                         network, and the credentials in the environment"
                    ),
                })
        })
    }

    fn failed(&self, what: &str, path: &Path) -> impl FnOnce(object_store::Error) -> StoreError {
        failed(&self.shared.url, what, path)
    }
}

/// A backend error naming what was done, to which object, in which cache.
fn failed(url: &str, what: &str, path: &Path) -> impl FnOnce(object_store::Error) -> StoreError {
    let context = format!("{what} `{path}` in {url}");
    move |e| StoreError::Backend {
        context,
        source: Box::new(e),
    }
}

fn writer_id() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mut h = blake3::Hasher::new();
    h.update(&now.to_le_bytes());
    h.update(&std::process::id().to_le_bytes());
    h.update(
        &N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            .to_le_bytes(),
    );
    let mut s = h.finalize().to_hex().to_string();
    s.truncate(12);
    format!("{}-{s}", std::process::id())
}

impl std::fmt::Debug for ObjectStores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectStores")
            .field("url", &self.shared.url)
            .finish()
    }
}
