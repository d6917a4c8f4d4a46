//! The process the crash test kills (`tests/crash.rs`): runs the flow of `crash/flow.rs` with the
//! cache in a directory.
//!
//! `crash_child DIR SEED PAUSES [PIPE]` executes every node with `seed = SEED` and the cache in
//! DIR; PAUSES is a comma-separated list of the steps that pause (see the flow), or `none`.
//! With PIPE (a named pipe), the cache's writer stops as it is about to write its first result
//! file: it opens PIPE (the test, opening the other end, learns it is there) and writes the
//! result into it, which blocks (the result is larger than a pipe holds, and nobody reads).
//! After the run it prints one line per node, `value NODE DATA_VERSION VALUE`, then one per
//! node record, `status NODE STATUS`; the cache's warnings go to standard error.

#[path = "../crash/flow.rs"]
mod flow;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use weft::cache::{
    Blob, FileStore, ResultStore, SqliteBlobs, SqliteStore, StoreError, TieredStore, INLINE_MAX,
};
use weft::{inputs, Builder, CacheConfig, DataVersion};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (dir, seed, pauses, pipe) = match &args[..] {
        [_, dir, seed, pauses] => (dir, seed, pauses, None),
        [_, dir, seed, pauses, pipe] => (dir, seed, pauses, Some(PathBuf::from(pipe))),
        _ => {
            eprintln!("usage: crash_child DIR SEED PAUSES [PIPE]");
            std::process::exit(2);
        }
    };
    let seed: u64 = seed.parse().expect("SEED is a number");
    let pauses: Vec<usize> = match pauses.as_str() {
        "none" => Vec::new(),
        list => list
            .split(',')
            .map(|s| s.parse().expect("PAUSES lists steps"))
            .collect(),
    };
    let config = match pipe {
        None => CacheConfig::at(dir),
        Some(pipe) => stopping_at_first_file(Path::new(dir), pipe),
    };
    let dr = Builder::new()
        .with_nodes(flow::nodes(&pauses))
        .with_cache_config(config)
        .build()
        .expect("valid graph");
    let names = flow::names();
    let outputs: Vec<&str> = names.iter().map(String::as_str).collect();
    let (out, run) = dr
        .execute_recorded(&outputs, inputs! { "seed" => seed }, weft::Inputs::new())
        .expect("runs");
    for name in &names {
        let version = out.value(name).expect("requested").version().to_hex();
        let value = flow::render(name, &out).expect("requested");
        println!("value {name} {version} {value}");
    }
    let cache = dr.cache().expect("cache");
    // A run's records may be gone (a gc racing this process) or never written (a full disk):
    // the values above are what matters, and the cache's warnings say why.
    match cache.records(Some(&run.run_id)) {
        Ok(records) => {
            for r in records {
                println!("status {} {}", r.node, r.status.as_str());
            }
        }
        Err(e) => eprintln!("no records: {e}"),
    }
    for w in cache.warnings() {
        eprintln!("warning: {w}");
    }
}

/// The stores `CacheConfig::at(dir)` opens, but with result files written by [`Stopping`].
fn stopping_at_first_file(dir: &Path, pipe: PathBuf) -> CacheConfig {
    let meta = SqliteStore::open(&dir.join("meta.sqlite")).expect("metadata opens");
    let rows = SqliteBlobs::open(&dir.join("results.sqlite")).expect("results open");
    let files = Stopping {
        files: FileStore::new(dir.join("results")),
        pipe: Mutex::new(Some(pipe)),
    };
    let results = TieredStore::new(rows, files, INLINE_MAX);
    CacheConfig::at(dir).with_stores(Arc::new(meta), Arc::new(results))
}

/// A [`FileStore`] whose first write goes into a pipe instead, and blocks there.
struct Stopping {
    files: FileStore,
    pipe: Mutex<Option<PathBuf>>,
}

impl ResultStore for Stopping {
    fn contains(&self, version: &DataVersion) -> Result<bool, StoreError> {
        self.files.contains(version)
    }
    fn put(&self, version: &DataVersion, blob: &Blob) -> Result<(), StoreError> {
        if let Some(pipe) = self.pipe.lock().unwrap().take() {
            use std::io::Write;
            let mut w = std::fs::OpenOptions::new()
                .write(true)
                .open(&pipe)
                .expect("the test's pipe opens");
            // Never returns: nobody reads, and the result is larger than the pipe holds.
            let _ = w.write_all(&blob.bytes);
        }
        self.files.put(version, blob)
    }
    fn get(&self, version: &DataVersion) -> Result<Option<Blob>, StoreError> {
        self.files.get(version)
    }
    fn remove(&self, version: &DataVersion) -> Result<(), StoreError> {
        self.files.remove(version)
    }
    fn list(&self) -> Result<Vec<(DataVersion, u64)>, StoreError> {
        self.files.list()
    }
}
