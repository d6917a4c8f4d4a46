//! A Spark frame as a node value: its data version, found without pulling data, and its stored
//! form (the directory Spark wrote it to).
//!
//! **Data version.** blake3 over what the server says about the frame's plan, asked without
//! running it (two `AnalyzePlan` requests): Spark's `semantic_hash` of the analyzed plan, and
//! every file the plan scans (`input_files`) with its size and modification time. The cache key
//! of the node that made the frame adds the node's code version and its inputs' versions. A
//! file that is not local (`s3a://`, `hdfs://`) cannot be checked from here: a frame reading one
//! gets a version no other value has (it never compares equal, never hits the cache), and so
//! does a frame the server cannot analyze (a bad column name: the node fails, see
//! [`SparkAdapter`](super::SparkAdapter)).
//!
//! **Stored form.** Format `spark-parquet`: only a frame that Spark wrote out itself (a node
//! tagged `spark = "cache"`, see [`SparkAdapter`](super::SparkAdapter)) is stored; the cache
//! keeps the directory's path, and decoding reads the directory back with the
//! [`reading_session`](super::reading_session). Any other frame is a plan with no stored form: the
//! cache records it as not stored and its node reruns (cheaply: it only builds a plan).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::UNIX_EPOCH;

use spark_connect::{DataFrame, SparkError};

use super::session::{outside_runtime, reading_session};
use crate::fingerprint::{data_version_of, DataVersion, Fingerprint, FingerprintHasher};
use crate::value::CacheFormats;

/// A frame's semantic hash and its scanned files (name, size, modification time in ns).
type Identity = (i32, Vec<(String, u64, u128)>);

/// What a frame's version is made of, or `None` when part of it cannot be known.
fn identity(df: &DataFrame) -> Result<Option<Identity>, SparkError> {
    let (hash, files) =
        outside_runtime(|| Ok::<_, SparkError>((df.semantic_hash()?, df.input_files()?)))?;
    let mut out = Vec::with_capacity(files.len());
    for f in files {
        let Some(path) = local_path(&f) else {
            return Ok(None);
        };
        let Ok(meta) = std::fs::metadata(path) else {
            return Ok(None);
        };
        let mtime = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        out.push((f, meta.len(), mtime));
    }
    out.sort();
    Ok(Some((hash, out)))
}

/// The local path of a file Spark names (`file:/p`, `file:///p` or a bare `/p`).
fn local_path(name: &str) -> Option<&str> {
    let p = name
        .strip_prefix("file://")
        .or_else(|| name.strip_prefix("file:"))
        .unwrap_or(name);
    p.starts_with('/').then_some(p)
}

impl Fingerprint for DataFrame {
    fn fingerprint(&self, h: &mut FingerprintHasher) {
        match identity(self) {
            Ok(Some((hash, files))) => {
                h.write(&hash.to_le_bytes());
                h.write_len(files.len());
                for (name, size, mtime) in &files {
                    name.as_str().fingerprint(h);
                    h.write(&size.to_le_bytes());
                    h.write(&mtime.to_le_bytes());
                }
            }
            _ => h.write(DataVersion::unique().as_bytes()),
        }
    }
}

/// Frames Spark wrote out in this process, by data version: where they are.
static WRITTEN: Mutex<Option<HashMap<DataVersion, String>>> = Mutex::new(None);

/// Records that the frame of version `version` is the directory `dir` read back.
pub(crate) fn record_written(version: DataVersion, dir: &str) {
    if let Ok(mut w) = WRITTEN.lock() {
        w.get_or_insert_with(HashMap::new)
            .insert(version, dir.to_string());
    }
}

/// The format of stored Spark frames.
pub const SPARK_PARQUET: &str = "spark-parquet";

/// Exact: the stored form is the directory Spark wrote, and the node's value is already that
/// directory read back, so decoding rebuilds the same plan over the same files (the same data
/// version). The writer skips the round-trip proof, which cost a read of the directory and two
/// more `AnalyzePlan` requests; reading a stored frame back still checks its version (files
/// changed since are recomputed).
impl CacheFormats for DataFrame {
    const FORMATS: &'static [&'static str] = &[SPARK_PARQUET];
    const EXACT: bool = true;

    fn encode(&self, format: &str) -> Result<Vec<u8>, String> {
        if format != SPARK_PARQUET {
            return Err(format!(
                "a Spark frame cannot be stored as `{format}`; available: {SPARK_PARQUET}"
            ));
        }
        let version = data_version_of(self);
        let dir = WRITTEN
            .lock()
            .ok()
            .and_then(|w| w.as_ref().and_then(|w| w.get(&version).cloned()));
        match dir {
            Some(dir) => Ok(dir.into_bytes()),
            None => Err(
                "a Spark frame is a plan: it is stored only when its node is tagged \
                 `spark = \"cache\"` (Spark writes it as parquet under the SparkAdapter's cache \
                 location)"
                    .to_string(),
            ),
        }
    }

    fn decode(bytes: &[u8], format: &str) -> Result<Self, String> {
        if format != SPARK_PARQUET {
            return Err(format!(
                "a stored Spark frame is `{SPARK_PARQUET}`, not `{format}`"
            ));
        }
        let dir = std::str::from_utf8(bytes).map_err(|e| format!("not a directory name: {e}"))?;
        let session = reading_session().ok_or(
            "no Spark session to read the stored frame with: give the driver a SparkSession \
             input, or make one with weft::spark::connect",
        )?;
        Ok(session.read().parquet(dir))
    }
}
