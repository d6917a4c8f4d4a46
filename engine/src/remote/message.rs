//! The two messages between a driver and a worker: a [`Task`] (what to run, on which stored
//! inputs) and its [`Report`] (what came of it). Both are small serde structs with a protocol
//! [`version`](PROTOCOL): a worker refuses a task of another protocol, and a node whose code
//! version differs from the worker's, instead of computing the wrong thing.

use serde::{Deserialize, Serialize};

use super::Resources;

/// The protocol version of [`Task`] and [`Report`]. Bumped whenever either changes shape.
pub const PROTOCOL: u32 = 1;

/// What a worker runs: one node, or a chain of nodes of one task group, each with its code
/// version and its inputs' data versions, and where the store is.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[non_exhaustive]
pub struct Task {
    /// [`PROTOCOL`] of the driver that made it.
    pub version: u32,
    /// The run it belongs to (for the worker's logs).
    pub run_id: String,
    /// The store the inputs are read from and the results written to (a directory today;
    /// object-store URLs are routed by the store's opener).
    pub store: String,
    /// The task group (`#[node(task = "..")]`) when it runs several nodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// The nodes, in the order they run. Later ones may read earlier ones' results.
    pub nodes: Vec<TaskNode>,
    /// What the nodes need together (the largest declaration of each resource).
    #[serde(default, skip_serializing_if = "Resources::is_empty")]
    pub resources: Resources,
}

/// One node of a task.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[non_exhaustive]
pub struct TaskNode {
    /// The node's name.
    pub name: String,
    /// Its code version (a worker with another one refuses).
    pub code_version: String,
    /// One entry per parameter, in order.
    pub inputs: Vec<TaskInput>,
}

/// Where one argument of a node comes from.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TaskInput {
    /// An optional input that was not given.
    Absent,
    /// A value in the store, by data version (hex).
    Stored(String),
    /// The items of a `Collect<T>` parameter, each in the store, in item order.
    Collected(Vec<String>),
    /// The result of an earlier node of the same task (its index).
    Member(usize),
}

/// What came of a task: one entry per node that ran, in task order (a group stops at its first
/// failure).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[non_exhaustive]
pub struct Report {
    /// [`PROTOCOL`] of the worker.
    pub version: u32,
    /// The worker's process id (for messages).
    pub worker: u32,
    /// The task was refused as a whole (another protocol, a node this binary does not have or
    /// has another version of, a store it cannot open): why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
    /// Per node.
    pub nodes: Vec<NodeReport>,
}

/// One node's result in a [`Report`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[non_exhaustive]
pub struct NodeReport {
    /// The node's name.
    pub name: String,
    /// The data versions of the arguments it ran on (hex; `None`: absent), so the driver can
    /// match a group member's result to its own arguments.
    pub inputs: Vec<Option<String>>,
    /// How long the body took on the worker, in microseconds.
    pub took_us: u64,
    /// The result.
    pub outcome: NodeOutcome,
}

/// A node's result: a stored value's data version, or an error.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum NodeOutcome {
    /// The value is in the store under this data version (hex).
    Stored {
        /// Data version (hex).
        version: String,
        /// Whether the version is a content fingerprint (else it is unique to this value).
        fingerprinted: bool,
    },
    /// The body returned an error: its message chain, outermost first.
    Failed {
        /// The chain of messages.
        chain: Vec<String>,
    },
    /// The body panicked.
    Panicked {
        /// The panic message.
        message: String,
    },
    /// The body ran past its time limit.
    TimedOut {
        /// The limit, in milliseconds.
        limit_ms: u64,
    },
    /// The worker could not run it (an input missing from the store, a result it cannot
    /// store, …).
    Error {
        /// Why.
        message: String,
    },
}
