//! Writing a frame out with Spark and reading it back: what a node tagged `spark = "cache"`
//! returns. Spark writes the parquet directory (its committer marks it complete with
//! `_SUCCESS`); the node's value becomes the directory read back, so the rest of the run reads
//! it instead of recomputing the plan, and the persistent cache stores the directory's path.

use std::sync::Arc;

use spark_connect::DataFrame;

use super::check::analysis_failed;
use super::frame::local_path;
use super::local::written_schema;
use super::session::outside_runtime;
use super::stored::{record_written, version_on_disk, StoredFrame};
use crate::adapter::NodeInfo;
use crate::fingerprint::{data_version_of, DataVersion};

/// Where under `location` the frame of `node` goes: the node's name and a digest of its code
/// version and its inputs' versions (what its cache key is made of), so a changed node or
/// input writes elsewhere and never overwrites a directory a stored key names.
pub(crate) fn directory(location: &str, node: &NodeInfo<'_>) -> String {
    let mut h = blake3::Hasher::new();
    h.update(node.spec.code_version().as_bytes());
    for (name, version) in node.input_versions() {
        h.update(name.as_bytes());
        h.update(&version.map_or([0u8; 32], |v| *v.as_bytes()));
    }
    let digest = h.finalize().to_hex();
    let safe: String = (node.name().chars())
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!(
        "{}/{safe}-{}",
        location.trim_end_matches('/'),
        &digest[..32]
    )
}

/// Spark writes `df` to `dir` (replacing what is there) and the directory is read back: the
/// frame read back, with its data version, made from the directory's files on disk (see
/// [`stored`](super::stored); a directory that is not local asks the server). The node's
/// value, its cache key's record and its stored form all use it. The directory is read back
/// with the frame's schema (now and by later runs), so reading it back needs no job of
/// Spark's to read the parquet footers: in a local directory weft reads the schema Spark
/// wrote into the files' footers itself; elsewhere it is asked for while Spark writes.
pub(crate) fn write_and_read(
    df: &DataFrame,
    dir: &str,
) -> Result<(Arc<DataFrame>, DataVersion), String> {
    let local = local_path(dir).is_some();
    let write = || outside_runtime(|| df.write().mode("overwrite").parquet(dir));
    let (written, asked) = match local {
        true => (write(), None),
        false => std::thread::scope(|s| {
            let schema = s.spawn(|| outside_runtime(|| df.schema()));
            (write(), schema.join().ok())
        }),
    };
    // A plan the server cannot analyze (a bad column name) is reported as such, not as a
    // failed write: the schema request's failure, or the write's with an analysis error.
    let schema = match asked {
        Some(Err(e)) => return Err(analysis_failed(&e.message())),
        // Parquet reads every column back as nullable.
        Some(Ok(schema)) => Some(schema.to_nullable().json()),
        None => None,
    };
    written.map_err(|e| match is_analysis(&e) {
        true => analysis_failed(&e.message()),
        false => format!("Spark could not write the frame to {dir}: {}", e.message()),
    })?;
    let stored = StoredFrame {
        dir: dir.to_string(),
        schema: schema.or_else(|| written_schema(dir)),
    };
    let back = stored.read(&df.spark_session());
    let on_disk = version_on_disk(dir);
    let version = on_disk.unwrap_or_else(|| data_version_of(&*back));
    record_written(&back, on_disk.is_none().then_some(version), &stored.form());
    Ok((back, version))
}

/// Whether Spark failed for a plan it cannot analyze: an error of SQLSTATE class 42 (syntax
/// error or access rule violation), the class of Spark's `AnalysisException`s (an unresolved
/// column is 42703).
fn is_analysis(e: &spark_connect::SparkError) -> bool {
    e.sql_state().is_some_and(|s| s.starts_with("42"))
}
