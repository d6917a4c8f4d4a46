//! Where a node runs: the task group it belongs to and what it needs (cpus, memory, gpus,
//! custom resources), declared with `#[node(task = "..", resources(..))]` — Hamilton's
//! `@ray_remote_options`. Local executors ignore both; remote backends receive them with each
//! task ([`Task::resources`](crate::remote::Task)) and pass them on to schedulers that
//! understand them.

use serde::{Deserialize, Serialize};

/// What one node needs from the machine that runs it. Empty (all `None`) by default.
///
/// ```
/// use weft::remote::Resources;
/// let r = Resources::new().cpus(2.0).memory_bytes(4 << 30).gpus(1.0).custom("ssd", 1.0);
/// assert_eq!(r.cpus, Some(2.0));
/// assert_eq!(r.custom, [("ssd".to_string(), 1.0)]);
/// assert!(!r.is_empty());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Resources {
    /// CPUs (fractions allowed, as Ray's `num_cpus`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpus: Option<f64>,
    /// Memory in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<u64>,
    /// GPUs (fractions allowed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpus: Option<f64>,
    /// Backend-defined resources by name (Ray's custom resources, Dask's worker resources).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub custom: Vec<(String, f64)>,
}

impl Resources {
    /// Nothing declared.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets the CPUs needed.
    pub fn cpus(mut self, n: f64) -> Self {
        self.cpus = Some(n);
        self
    }
    /// Sets the memory needed, in bytes.
    pub fn memory_bytes(mut self, bytes: u64) -> Self {
        self.memory = Some(bytes);
        self
    }
    /// Sets the GPUs needed.
    pub fn gpus(mut self, n: f64) -> Self {
        self.gpus = Some(n);
        self
    }
    /// Adds a custom resource.
    pub fn custom(mut self, name: impl Into<String>, amount: f64) -> Self {
        self.custom.push((name.into(), amount));
        self
    }
    /// Whether nothing is declared.
    pub fn is_empty(&self) -> bool {
        self.cpus.is_none()
            && self.memory.is_none()
            && self.gpus.is_none()
            && self.custom.is_empty()
    }
}
