//! The cache stores a test runs against: SQLite under a directory (the default), or one
//! in-memory store ([`weft::cache::MemoryStore`]) shared by every driver the test builds.

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

    /// A cache configuration on this store (every node DEFAULT).
    pub fn config(&self) -> CacheConfig {
        match self {
            Store::Sqlite(dir) => CacheConfig::at(dir),
            Store::Memory { store, dir } => {
                CacheConfig::at(dir).with_stores(Arc::new(store.clone()), Arc::new(store.clone()))
            }
        }
    }

    /// The cache directory (SQLite), or the scratch directory (memory).
    pub fn dir(&self) -> &Path {
        match self {
            Store::Sqlite(dir) | Store::Memory { dir, .. } => dir,
        }
    }
}

/// Runs each named test body, a `fn name(store: Store)` of the calling file, against every
/// store: as tests `sqlite::name` and `memory::name`. `$suite` names the temporary
/// directories.
#[macro_export]
macro_rules! on_every_store {
    ($suite:literal: $($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[test]
                fn $name() {
                    super::$name($crate::stores::Store::sqlite($suite, stringify!($name)))
                }
            )*
        }
        mod memory {
            $(
                #[test]
                fn $name() {
                    super::$name($crate::stores::Store::memory($suite, stringify!($name)))
                }
            )*
        }
    };
}
