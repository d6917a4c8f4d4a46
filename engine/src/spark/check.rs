//! Checking a frame made from frames: at once, or by the nodes that read it.
//!
//! Every Spark frame a node returns is analyzed by the server, so that a bad column name fails
//! the node that wrote it. A source's frame is analyzed anyway (its version is asked of the
//! server); a frame made from frames only (`filtered_data(raw_data)`) gets its version without
//! a round trip, so its check would be one request of its own: a schema request, tens of
//! milliseconds, before the next node may start. When the frame is not a requested output of
//! the run, that request is left out: every node that reads the frame analyzes a plan built
//! on it (or collects it), so a broken plan cannot go unnoticed. What is lost is only whose
//! plan broke, and that is found again when a reader fails: weft then asks for the schema of
//! each frame left unchecked upstream of the reader, and names the first node whose frame
//! Spark cannot analyze. Requests are sent only on that failure path.
//!
//! A frame left unchecked is kept by its `Arc` ([`Held`]) with the node that made it and the
//! frames it was made from, so the walk goes up a chain of unchecked frames
//! (`a → b → c → d`: `d` failing names `b` when `b` has the bad column, not `c`).

use std::any::TypeId;
use std::sync::{Arc, Mutex};

use spark_connect::DataFrame;

use super::held::Held;
use super::session::outside_runtime;
use crate::adapter::NodeInfo;
use crate::error::NodeError;
use crate::value::AnyValue;

/// A frame whose check was left to the nodes that read it.
struct Unchecked {
    /// The node that made it.
    node: String,
    /// The frames it was made from.
    inputs: Vec<Arc<DataFrame>>,
}

/// The frames left unchecked, while a value holds them.
static UNCHECKED: Mutex<Held<DataFrame, Unchecked>> = Mutex::new(Held::new());

/// The Spark frames among `node`'s inputs that are in memory (a lazy cache hit is not read:
/// a frame left unchecked is always one made in this process).
fn input_frames(node: &NodeInfo<'_>) -> Vec<Arc<DataFrame>> {
    let frame = TypeId::of::<DataFrame>();
    (node.inputs.iter())
        .filter_map(|(_, v)| v.as_ref())
        .filter(|v| v.value_type().id() == frame && v.is_loaded())
        .filter_map(|v| v.data().ok())
        .filter_map(|d| Arc::clone(d).downcast::<DataFrame>().ok())
        .collect()
}

/// Leaves the check of `frame`, the value `node` made from frames, to the nodes that read it.
pub(super) fn leave_to_readers(node: &NodeInfo<'_>, frame: &AnyValue) {
    let Ok(frame) = Arc::clone(frame).downcast::<DataFrame>() else {
        return;
    };
    let fact = Unchecked {
        node: node.name().to_string(),
        inputs: input_frames(node),
    };
    if let Ok(mut held) = UNCHECKED.lock() {
        held.keep(&frame, fact);
    }
}

/// Whether `node` reads a frame whose check was left to its readers.
pub(super) fn reads_unchecked(node: &NodeInfo<'_>) -> bool {
    let frames = input_frames(node);
    !frames.is_empty()
        && UNCHECKED
            .lock()
            .is_ok_and(|held| frames.iter().any(|f| held.get(f).is_some()))
}

/// `error`, the failure of `node`, which reads frames left unchecked: when Spark cannot
/// analyze one of them, the failure names the node whose frame it is (the first up the
/// chain), with Spark's message; otherwise `error` as it is.
pub(super) fn blame(node: &NodeInfo<'_>, error: NodeError) -> NodeError {
    if !matches!(error, NodeError::User(_)) {
        return error;
    }
    // Frames found sound already: a frame two paths reach (a diamond) is asked for once.
    let mut sound = Vec::new();
    for input in input_frames(node) {
        if let Some((culprit, spark_says)) = culprit(&input, &mut sound) {
            return NodeError::user(format!(
                "{} (the frame of `{culprit}`, which this node reads: a frame only other nodes \
                 read is checked by them)",
                analysis_failed(&spark_says)
            ));
        }
    }
    error
}

/// The node whose frame breaks `frame`'s plan, first up the chain of frames left unchecked,
/// and Spark's message; `None` when every unchecked frame of the chain is sound (each is then
/// added to `sound`, and not asked about again).
fn culprit(frame: &Arc<DataFrame>, sound: &mut Vec<*const DataFrame>) -> Option<(String, String)> {
    if sound.contains(&Arc::as_ptr(frame)) {
        return None;
    }
    let (node, inputs) = {
        let held = UNCHECKED.lock().ok()?;
        let fact = held.get(frame)?;
        (fact.node.clone(), fact.inputs.clone())
    };
    if let Some(upstream) = inputs.iter().find_map(|i| culprit(i, sound)) {
        return Some(upstream);
    }
    match outside_runtime(|| frame.schema()) {
        Ok(_) => {
            sound.push(Arc::as_ptr(frame));
            None
        }
        Err(e) => Some((node, e.message().to_string())),
    }
}

/// A node's error when the server cannot analyze its frame (Spark's message).
pub(crate) fn analysis_failed(spark_says: &str) -> String {
    format!("Spark cannot analyze the frame: {spark_says}")
}
