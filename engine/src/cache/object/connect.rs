//! Connecting to object storage: a URL (`s3://bucket/prefix`, `gs://…`, `az://…`) becomes an
//! `object_store` client with bounded retries, plus the prefix the cache's objects go under.
//!
//! Credentials, regions and endpoints come only from the environment (`AWS_*`, `GOOGLE_*`,
//! `AZURE_*`, read by `object_store`'s `from_env` builders) or the provider's usual config
//! (instance metadata, workload identity): the cache never writes them anywhere, and its
//! messages name the URL only.

use std::sync::Arc;
use std::time::Duration;

use object_store::path::Path;
use object_store::{BackoffConfig, ClientConfigKey, ObjectStore, RetryConfig};

use crate::cache::StoreError;

/// Transient failures (connection errors, 5xx, throttling) are retried this many times, with
/// exponential backoff from [`FIRST_BACKOFF`] (with jitter), within [`RETRY_FOR`].
pub(super) const RETRIES: usize = 4;
/// The first pause before a retry; each next one doubles, up to [`MAX_BACKOFF`].
pub(super) const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// The longest pause between two tries.
pub(super) const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// No request is retried after this long since its first try.
pub(super) const RETRY_FOR: Duration = Duration::from_secs(30);
/// How long a connection may take to open.
pub(super) const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one request may take.
pub(super) const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// An open connection: the client, and the prefix of every object of the cache.
pub(super) struct Connection {
    pub(super) store: Arc<dyn ObjectStore>,
    pub(super) prefix: Path,
}

/// Builds the client for `url` (already checked by [`Location`](crate::cache::Location)). No
/// request is made here.
pub(super) fn connect(url: &str) -> Result<Connection, StoreError> {
    let bad = |why: String| StoreError::Location {
        location: url.to_string(),
        why,
    };
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| bad("not a URL".into()))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let bucket_url = format!("{scheme}://{bucket}");
    let retry = RetryConfig {
        backoff: BackoffConfig {
            init_backoff: FIRST_BACKOFF,
            max_backoff: MAX_BACKOFF,
            base: 2.0,
        },
        max_retries: RETRIES,
        retry_timeout: RETRY_FOR,
    };
    // Set key by key: `with_client_options` would replace what `from_env` read
    // (`AWS_ALLOW_HTTP`, proxies, …).
    let connect_timeout = format!("{}ms", CONNECT_TIMEOUT.as_millis());
    let request_timeout = format!("{}ms", REQUEST_TIMEOUT.as_millis());
    let client = [
        (ClientConfigKey::ConnectTimeout, connect_timeout),
        (ClientConfigKey::Timeout, request_timeout),
    ];
    let cannot = |e: object_store::Error| {
        bad(format!(
            "cannot configure the client: {e}; check the URL and the provider's environment \
             variables"
        ))
    };
    let store: Arc<dyn ObjectStore> = match scheme {
        "s3" => Arc::new(
            client
                .into_iter()
                .fold(
                    object_store::aws::AmazonS3Builder::from_env(),
                    |b, (k, v)| b.with_config(object_store::aws::AmazonS3ConfigKey::Client(k), v),
                )
                .with_url(bucket_url)
                .with_retry(retry)
                .build()
                .map_err(cannot)?,
        ),
        "gs" => Arc::new(
            client
                .into_iter()
                .fold(
                    object_store::gcp::GoogleCloudStorageBuilder::from_env(),
                    |b, (k, v)| b.with_config(object_store::gcp::GoogleConfigKey::Client(k), v),
                )
                .with_url(bucket_url)
                .with_retry(retry)
                .build()
                .map_err(cannot)?,
        ),
        "az" => Arc::new(
            client
                .into_iter()
                .fold(
                    object_store::azure::MicrosoftAzureBuilder::from_env(),
                    |b, (k, v)| b.with_config(object_store::azure::AzureConfigKey::Client(k), v),
                )
                .with_url(bucket_url)
                .with_retry(retry)
                .build()
                .map_err(cannot)?,
        ),
        other => return Err(bad(format!("unknown scheme `{other}://`"))),
    };
    let prefix = Path::parse(prefix).map_err(|e| {
        bad(format!(
            "the prefix `{prefix}` is not a valid object path: {e}"
        ))
    })?;
    Ok(Connection { store, prefix })
}
