//! [`SparkAdapter`]: what weft does around a node that returns a Spark frame.

use std::any::TypeId;
use std::sync::{Arc, Mutex};

use spark_connect::{DataFrame, StorageLevel, StorageLevelExt};

use super::check;
use super::frame::take_analysis;
use super::materialize::{directory, write_and_read};
use super::session::outside_runtime;
use crate::adapter::{Adapter, Next, NodeFuture, NodeInfo, NodeResult, RunInfo, RunSummary};
use crate::error::NodeError;
use crate::fingerprint::{data_version_with, DataVersion, Fingerprint};
use crate::value::Value;

/// The tag key that asks for more than a lazy frame: `#[node(tags(spark = "cache"))]` or
/// `#[node(tags(spark = "persist"))]`.
pub const SPARK_TAG: &str = "spark";

/// Around every node that returns a Spark frame:
///
/// - **Analysis.** The frame's plan is analyzed by the server (nothing runs: the analysis that
///   gave the frame its data version, a schema request when there was none, or Spark's own
///   analysis as it writes a `spark = "cache"` frame), so a bad column name or a type error
///   fails *this* node, with Spark's message, instead of the first node that collects. A
///   frame made from frames only that the run did not request is left to the nodes that read
///   it (each analyzes a plan built on it, or collects it): no request of its own, and when a
///   reader fails over it, the failure names the node that made it (`Spark cannot analyze the
///   frame: … (the frame of `filtered_data`, which this node reads …)`).
/// - **`#[node(tags(spark = "cache"))]`**: Spark writes the frame as parquet under the cache
///   location ([`cache_at`](Self::cache_at)) and the node's value is that directory read back:
///   the rest of the run reads it, and the persistent cache stores it, so a later run (another
///   process) with the same key reads it instead of running the plan again. A small frame in a
///   local directory ([`LOCAL_ROWS`](super::LOCAL_ROWS)) is read back as local rows: a plan
///   over it runs no scan job, and [`to_arrow`](super::to_arrow) collects it with no request.
/// - **`#[node(tags(spark = "persist"))]`**: the frame is persisted (memory and disk) on the
///   cluster: the seed's "cache DataFrames accessed multiple times" for a frame several nodes
///   read within a run.
///
/// ```no_run
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let dr = weft::Builder::new()
///     .with_cache_config(weft::CacheConfig::at(".weft"))
///     .with_adapter(weft::spark::SparkAdapter::new().cache_at("/data/weft-spark"))
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default)]
pub struct SparkAdapter {
    location: Option<String>,
    /// The requested outputs of the runs under way.
    runs: Arc<Mutex<Vec<Outputs>>>,
}

/// A run's id and its requested outputs.
type Outputs = (String, Vec<String>);

/// How many runs' outputs are kept at most (a run whose end the adapter never hears of is
/// forgotten after that many more).
const RUNS_KEPT: usize = 64;

impl SparkAdapter {
    /// Analysis of every Spark frame; no cache location yet.
    pub fn new() -> Self {
        SparkAdapter::default()
    }

    /// Where Spark writes the frames of `spark = "cache"` nodes: a path the cluster can write
    /// (a local directory for `local[*]`, made absolute here; a shared or object-store URL such
    /// as `s3a://bucket/prefix` on a cluster).
    pub fn cache_at(mut self, location: impl Into<String>) -> Self {
        let location: String = location.into();
        let local = !location.contains("://");
        self.location = Some(match std::path::absolute(&location) {
            Ok(p) if local => p.to_string_lossy().into_owned(),
            _ => location,
        });
        self
    }

    /// The cache location, if set.
    pub fn location(&self) -> Option<&str> {
        self.location.as_deref()
    }

    /// Whether `node` is a requested output of its run (a run the adapter did not see start
    /// counts every node as one: its frames are checked at once).
    fn requested(&self, node: &NodeInfo<'_>) -> bool {
        let Ok(runs) = self.runs.lock() else {
            return true;
        };
        (runs.iter())
            .find(|(id, _)| id == node.run_id)
            .is_none_or(|(_, outputs)| outputs.iter().any(|o| o == node.name()))
    }

    fn finish(&self, node: &NodeInfo<'_>, result: NodeResult) -> NodeResult {
        let value = result?;
        let data = value.data().map_err(NodeError::Internal)?;
        let Some(df) = data.downcast_ref::<DataFrame>() else {
            return Ok(value);
        };
        let tag = node.spec.tag(SPARK_TAG);
        // A node whose inputs are all frames: its version is made from theirs (no round trip).
        let derived = derived_version(node);
        if tag != Some("cache") {
            // The frame is analyzed now, so that a bad column fails this node. A source's
            // version is found by the server's analysis of the plan, which is the check (the
            // cache asks for the version anyway); a derived one's check is a schema request. A
            // frame written out for the cache is analyzed as Spark writes it instead, and its
            // own version is never asked for: it is replaced by the frame read back.
            let analysis = match derived {
                // Made from frames and read by other nodes only: they check it.
                Some(_) if tag.is_none() && !self.requested(node) => {
                    check::leave_to_readers(node, data);
                    Some(Ok(()))
                }
                Some(_) => None,
                None => {
                    value.version();
                    take_analysis(df)
                }
            };
            let analysis = analysis.unwrap_or_else(|| {
                outside_runtime(|| df.schema())
                    .map(|_| ())
                    .map_err(|e| e.message().to_string())
            });
            analysis.map_err(|e| NodeError::user(check::analysis_failed(&e)))?;
        }
        let versioned = |frame: crate::value::AnyValue| match derived {
            Some(version) => Value::with_version(frame, node.spec.output(), version),
            None => Value::new(frame, node.spec.output()),
        };
        let out = match tag {
            None if derived.is_none() => return Ok(value),
            None => return Ok(versioned(data.clone())),
            Some("cache") => {
                let location = self.location.as_deref().ok_or_else(|| {
                    NodeError::user(
                        "the node is tagged `spark = \"cache\"` but the SparkAdapter has no cache \
                         location: install it with `SparkAdapter::new().cache_at(PATH)`",
                    )
                })?;
                let (back, version) =
                    write_and_read(df, &directory(location, node)).map_err(NodeError::user)?;
                return Ok(Value::with_version(back, node.spec.output(), version));
            }
            Some("persist") => outside_runtime(|| df.persist(StorageLevel::memory_and_disk()))
                .map_err(|e| {
                    NodeError::user(format!(
                        "Spark could not persist the frame: {}",
                        e.message()
                    ))
                })?,
            Some(other) => {
                return Err(NodeError::user(format!(
                    "unknown `spark` tag value `{other}`: use `cache` (written as parquet, kept \
                     across runs) or `persist` (kept on the cluster during the session)"
                )))
            }
        };
        Ok(versioned(Arc::new(out)))
    }
}

/// The data version of the frame of a node whose inputs are all Spark frames (at least one):
/// made from the node's code version and its inputs' versions, as its cache key is, without
/// asking the server. Such a node's plan is built from its inputs' plans, so what it reads is
/// what they read; a node that reads data itself takes the session (a source), and its
/// frame's version is the server's analysis of the plan and of the files it scans (see
/// [`frame`](super::frame)). `None` for a source, or a node with any other input.
fn derived_version(node: &NodeInfo<'_>) -> Option<DataVersion> {
    let frame = TypeId::of::<DataFrame>();
    let frames_only = !node.inputs.is_empty()
        && (node.inputs.iter())
            .all(|(_, v)| v.as_ref().is_some_and(|v| v.value_type().id() == frame));
    if !frames_only {
        return None;
    }
    Some(data_version_with::<DataFrame>(|h| {
        h.write(b"spark frame made from frames");
        node.spec.name().fingerprint(h);
        node.spec.code_version().fingerprint(h);
        h.write_len(node.inputs.len());
        for (name, v) in node.inputs {
            name.fingerprint(h);
            if let Some(v) = v {
                h.write(v.version().as_bytes());
            }
        }
    }))
}

impl Adapter for SparkAdapter {
    fn before_graph(&self, run: &RunInfo<'_>) {
        if let Ok(mut runs) = self.runs.lock() {
            if runs.len() >= RUNS_KEPT {
                runs.remove(0);
            }
            runs.push((run.run_id.to_string(), run.outputs.to_vec()));
        }
    }

    fn after_graph(&self, run: &RunInfo<'_>, _summary: &RunSummary<'_>) {
        if let Ok(mut runs) = self.runs.lock() {
            runs.retain(|(id, _)| id != run.run_id);
        }
    }

    fn wrap_node<'a>(&'a self, node: &'a NodeInfo<'a>, next: Next<'a>) -> NodeFuture<'a> {
        let makes_frame = node.spec.output().id() == TypeId::of::<DataFrame>();
        // A reader of a frame left unchecked names that frame's node when it fails over it.
        let reads_unchecked = check::reads_unchecked(node);
        if !makes_frame && !reads_unchecked {
            return next.run(node);
        }
        next.around(
            node,
            |_| None,
            move |node, result| {
                let result = match makes_frame {
                    true => self.finish(node, result),
                    false => result,
                };
                match result {
                    Err(e) if reads_unchecked => Err(check::blame(node, e)),
                    other => other,
                }
            },
        )
    }
}
