//! A Spark frame's data version, found without pulling data.
//!
//! This is the version of a *source*'s frame (a node that takes the session) and of a frame
//! given as an input; a node whose inputs are all frames gets one made from theirs instead,
//! without a round trip (see the adapter's `derived_version`).
//!
//! blake3 over what the server says about the frame's plan, asked without running it (two
//! `AnalyzePlan` requests): Spark's `semantic_hash` of the analyzed plan, and every file the
//! plan scans (`input_files`) with its size and modification time. The cache key of the node
//! that made the frame adds the node's code version and its inputs' versions. A file that is
//! not local (`s3a://`, `hdfs://`) cannot be checked from here: a frame reading one gets a
//! version no other value has (it never compares equal, never hits the cache), and so does a
//! frame the server cannot analyze (a bad column name: the node fails, see
//! [`SparkAdapter`](super::SparkAdapter)). A frame read back from a directory Spark wrote for
//! the cache gets its version from the directory's files instead (see [`stored`](super::stored)).

use std::path::Path;
use std::sync::Mutex;
use std::time::UNIX_EPOCH;

use spark_connect::{DataFrame, SparkError};

use super::session::outside_runtime;
use crate::fingerprint::{DataVersion, Fingerprint, FingerprintHasher};

/// A frame's semantic hash and its scanned files (name, size, modification time in ns), sorted.
type Identity = (i32, Vec<(String, u64, u128)>);

/// What a frame's version is made of, or `None` when part of it cannot be known. The two
/// analyses are asked at once: each is a round trip in which the server analyzes the plan
/// (over a parquet directory, reading its footers), so together they cost the longer one.
fn identity(df: &DataFrame) -> Result<Option<Identity>, SparkError> {
    let (hash, files) = std::thread::scope(|s| {
        let hash = s.spawn(|| outside_runtime(|| df.semantic_hash()));
        let files = outside_runtime(|| df.input_files());
        match hash.join() {
            Ok(hash) => (hash, files),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    });
    remember_analysis(df, hash.as_ref().and(files.as_ref()).map(|_| ()));
    let (hash, files) = (hash?, files?);
    Ok(with_files(hash, files))
}

/// The identity of a frame of semantic hash `hash` scanning the files Spark names `files`, as
/// they are on disk now; `None` when one is not local or cannot be read.
fn with_files(hash: i32, files: Vec<String>) -> Option<Identity> {
    let mut out = Vec::with_capacity(files.len());
    for f in files {
        let (size, mtime) = size_and_mtime(Path::new(local_path(&f)?))?;
        out.push((f, size, mtime));
    }
    out.sort();
    Some((hash, out))
}

/// A local file's size and modification time (ns since the epoch, 0 when unknown): what a
/// frame's version takes of each file it reads.
pub(crate) fn size_and_mtime(path: &Path) -> Option<(u64, u128)> {
    let meta = std::fs::metadata(path).ok()?;
    let mtime = (meta.modified().ok())
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    Some((meta.len(), mtime))
}

/// How many analysis outcomes wait for the adapter at most (a frame fingerprinted outside a
/// node, an input for instance, leaves one no adapter takes).
const ANALYSES_KEPT: usize = 256;

/// What the server said when it last analyzed a frame for its version, by the frame's address:
/// the [`SparkAdapter`](super::SparkAdapter) takes it instead of asking for the frame's schema
/// again (the adapter asks for a node's value's version first, which fingerprints it). Only an
/// address is kept, so an entry is no proof by itself: it is taken right after the value at
/// that address was fingerprinted, and fingerprinting another frame at a reused address
/// replaces it.
static ANALYSES: Mutex<Vec<(usize, Result<(), String>)>> = Mutex::new(Vec::new());

fn remember_analysis(df: &DataFrame, outcome: Result<(), &SparkError>) {
    let at = df as *const DataFrame as usize;
    let outcome = outcome.map_err(|e| e.message().to_string());
    if let Ok(mut a) = ANALYSES.lock() {
        a.retain(|(addr, _)| *addr != at);
        if a.len() >= ANALYSES_KEPT {
            a.drain(..1);
        }
        a.push((at, outcome));
    }
}

/// Whether the server could analyze `df` when it was last fingerprinted (`Err` with Spark's
/// message when not), or `None` when it was not: see [`ANALYSES`].
pub(crate) fn take_analysis(df: &DataFrame) -> Option<Result<(), String>> {
    let at = df as *const DataFrame as usize;
    let mut a = ANALYSES.lock().ok()?;
    let i = a.iter().position(|(addr, _)| *addr == at)?;
    Some(a.swap_remove(i).1)
}

/// The local path of a file Spark names (`file:/p`, `file:///p` or a bare `/p`).
pub(crate) fn local_path(name: &str) -> Option<&str> {
    let p = name
        .strip_prefix("file://")
        .or_else(|| name.strip_prefix("file:"))
        .unwrap_or(name);
    p.starts_with('/').then_some(p)
}

impl Fingerprint for DataFrame {
    /// Reads what is outside the value: fingerprinted as soon as its node finishes.
    const IN_MEMORY: bool = false;

    fn fingerprint(&self, h: &mut FingerprintHasher) {
        write_identity(h, identity(self).ok().flatten().as_ref());
    }
}

/// What a frame of identity `id` writes into its fingerprint (`None`: a version no other value
/// has).
fn write_identity(h: &mut FingerprintHasher, id: Option<&Identity>) {
    match id {
        Some((hash, files)) => {
            h.write(&hash.to_le_bytes());
            h.write_len(files.len());
            for (name, size, mtime) in files {
                name.as_str().fingerprint(h);
                h.write(&size.to_le_bytes());
                h.write(&mtime.to_le_bytes());
            }
        }
        None => h.write(DataVersion::unique().as_bytes()),
    }
}
