//! Writing a frame out with Spark and reading it back: what a node tagged `spark = "cache"`
//! returns. Spark writes the parquet directory (its committer marks it complete with
//! `_SUCCESS`); the node's value becomes the directory read back, so the rest of the run reads
//! it instead of recomputing the plan, and the persistent cache stores the directory's path.

use std::sync::Arc;

use spark_connect::DataFrame;

use super::session::outside_runtime;
use super::stored::{record_written, stored_form, version_on_disk};
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
/// value, its cache key's record and its stored form all use it.
pub(crate) fn write_and_read(
    df: &DataFrame,
    dir: &str,
) -> Result<(Arc<DataFrame>, DataVersion), String> {
    outside_runtime(|| df.write().mode("overwrite").parquet(dir))
        .map_err(|e| format!("Spark could not write the frame to {dir}: {}", e.message()))?;
    let back = Arc::new(df.spark_session().read().parquet(dir));
    let version = version_on_disk(dir).unwrap_or_else(|| data_version_of(&*back));
    record_written(&back, version, &stored_form(dir));
    Ok((back, version))
}
