//! The cache stores a test runs against: SQLite under a directory (the default), one
//! in-memory store ([`weft::cache::MemoryStore`]) shared by every driver the test builds, or
//! (feature `object-store`) a fresh prefix of the S3-compatible test server, reached through
//! its URL as users reach it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use weft::cache::MemoryStore;
use weft::CacheConfig;

/// Where a test's cache lives. Every driver built from one `Store`'s [`config`](Store::config)
/// shares the cache, as drivers in successive processes share a directory.
#[derive(Clone, Debug)]
pub enum Store {
    /// SQLite metadata and results under this directory.
    Sqlite(PathBuf),
    /// One in-memory store; `dir` is a scratch directory for the test's own files (the cache
    /// writes nothing there).
    Memory { store: MemoryStore, dir: PathBuf },
    /// A prefix of the S3 test server (see [`s3_url`]); `dir` is a scratch directory.
    #[cfg(feature = "object-store")]
    Object {
        url: String,
        stores: weft::cache::ObjectStores,
        dir: PathBuf,
    },
}

/// A fresh `s3://BUCKET/PREFIX` URL on the S3-compatible test server that `tests/run.sh`
/// starts (`tests/services/s3.sh`); fails, saying how to start it, when it is not running.
#[cfg(feature = "object-store")]
pub fn s3_url(suite: &str, name: &str) -> String {
    let bucket = std::env::var("WEFT_TEST_S3_BUCKET").unwrap_or_else(|_| {
        panic!(
            "WEFT_TEST_S3_BUCKET is not set: the object-store tests need the S3 test server; \
             run them with `bash tests/run.sh` (it starts tests/services/s3.sh), or start it \
             with `bash tests/services/s3.sh start` and load .test-services/run/s3.env"
        )
    });
    let dir = crate::temp_dir(suite, name);
    let prefix = dir.file_name().unwrap().to_string_lossy().into_owned();
    format!("s3://{bucket}/{prefix}")
}

impl Store {
    /// SQLite in a fresh directory (see [`crate::temp_dir`]).
    pub fn sqlite(suite: &str, name: &str) -> Store {
        Store::Sqlite(crate::temp_dir(suite, name))
    }

    /// A fresh in-memory store, with an empty scratch directory.
    pub fn memory(suite: &str, name: &str) -> Store {
        let dir = crate::temp_dir(suite, &format!("{name}-memory"));
        std::fs::create_dir_all(&dir).unwrap();
        Store::Memory {
            store: MemoryStore::new(),
            dir,
        }
    }

    /// A fresh prefix of the S3 test server, with an empty scratch directory.
    #[cfg(feature = "object-store")]
    pub fn object(suite: &str, name: &str) -> Store {
        let url = s3_url(suite, name);
        let dir = crate::temp_dir(suite, &format!("{name}-object"));
        std::fs::create_dir_all(&dir).unwrap();
        let stores = weft::cache::ObjectStores::open(&url).unwrap();
        Store::Object { url, stores, dir }
    }

    /// A cache configuration on this store (every node DEFAULT).
    pub fn config(&self) -> CacheConfig {
        match self {
            Store::Sqlite(dir) => CacheConfig::at(dir),
            Store::Memory { store, dir } => {
                CacheConfig::at(dir).with_stores(Arc::new(store.clone()), Arc::new(store.clone()))
            }
            #[cfg(feature = "object-store")]
            Store::Object { url, .. } => CacheConfig::locate(url).unwrap(),
        }
    }

    /// The result store, opened on its own (as another process would).
    pub fn results(&self) -> Arc<dyn weft::cache::ResultStore> {
        match self {
            Store::Sqlite(dir) => Arc::new(weft::cache::TieredStore::new(
                weft::cache::SqliteBlobs::open(&dir.join("results.sqlite")).unwrap(),
                weft::cache::FileStore::new(dir.join("results")),
                weft::cache::INLINE_MAX,
            )),
            Store::Memory { store, .. } => Arc::new(store.clone()),
            #[cfg(feature = "object-store")]
            Store::Object { stores, .. } => Arc::new(stores.clone()),
        }
    }

    /// The cache directory (SQLite), or the scratch directory (memory).
    pub fn dir(&self) -> &Path {
        match self {
            Store::Sqlite(dir) | Store::Memory { dir, .. } => dir,
            #[cfg(feature = "object-store")]
            Store::Object { dir, .. } => dir,
        }
    }
}

/// Runs each named test body, a `fn name(store: Store)` of the calling file, against every
/// store: as tests `sqlite::name`, `memory::name` and, with feature `object-store`,
/// `object::name` (on the S3 test server). `$suite` names the temporary directories.
///
/// Names after `; in_process_stores:` run on SQLite and in memory only: stress tests of the
/// engine (20,000 stored results) that on the S3 test server would measure the server.
#[macro_export]
macro_rules! on_every_store {
    ($suite:literal: $($name:ident),* $(,)? $(; in_process_stores: $($local:ident),* $(,)?)?) => {
        mod sqlite {
            $(
                #[test]
                fn $name() {
                    super::$name($crate::stores::Store::sqlite($suite, stringify!($name)))
                }
            )*
            $($(
                #[test]
                fn $local() {
                    super::$local($crate::stores::Store::sqlite($suite, stringify!($local)))
                }
            )*)?
        }
        mod memory {
            $(
                #[test]
                fn $name() {
                    super::$name($crate::stores::Store::memory($suite, stringify!($name)))
                }
            )*
            $($(
                #[test]
                fn $local() {
                    super::$local($crate::stores::Store::memory($suite, stringify!($local)))
                }
            )*)?
        }
        #[cfg(feature = "object-store")]
        mod object {
            $(
                #[test]
                fn $name() {
                    super::$name($crate::stores::Store::object($suite, stringify!($name)))
                }
            )*
        }
    };
}
