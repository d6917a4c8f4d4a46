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
use std::sync::{Arc, Mutex, Weak};
use std::time::UNIX_EPOCH;

use spark_connect::{DataFrame, SparkError};

use super::session::{outside_runtime, reading_session};
use crate::fingerprint::{data_version_of, DataVersion, Fingerprint, FingerprintHasher};
use crate::value::CacheFormats;

/// A frame's semantic hash and its scanned files (name, size, modification time in ns).
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
    let (hash, files) = (hash?, files?);
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

/// Frames Spark wrote out in this process: where each is, by data version, and by the frame
/// read back while a node's value holds it (found without asking the server its version again).
#[derive(Default)]
struct Written {
    by_version: HashMap<DataVersion, String>,
    frames: Vec<(Weak<DataFrame>, String)>,
}

static WRITTEN: Mutex<Option<Written>> = Mutex::new(None);

/// Records that `back`, of version `version`, is the directory `dir` read back.
pub(crate) fn record_written(back: &Arc<DataFrame>, version: DataVersion, dir: &str) {
    if let Ok(mut w) = WRITTEN.lock() {
        let w = w.get_or_insert_with(Written::default);
        w.by_version.insert(version, dir.to_string());
        w.frames.retain(|(f, _)| f.strong_count() > 0);
        w.frames.push((Arc::downgrade(back), dir.to_string()));
    }
}

/// The directory `df` was read back from, when `df` is a frame [`record_written`] recorded and
/// a value still holds. (A live `Weak` keeps its allocation, so no other frame can be at the
/// address it points to.)
fn written_frame(df: &DataFrame) -> Option<String> {
    let w = WRITTEN.lock().ok()?;
    w.as_ref()?
        .frames
        .iter()
        .find(|(f, _)| std::ptr::eq(f.as_ptr(), df) && f.strong_count() > 0)
        .map(|(_, dir)| dir.clone())
}

/// The directory of the frame of version `version`, written in this process.
fn written_version(version: DataVersion) -> Option<String> {
    let w = WRITTEN.lock().ok()?;
    w.as_ref()?.by_version.get(&version).cloned()
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
        // The frame a `spark = "cache"` node's value holds is known at once; another with the
        // same version (a node passing it on, cloned) is found by asking its version.
        let dir = written_frame(self).or_else(|| written_version(data_version_of(self)));
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
