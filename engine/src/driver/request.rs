//! A request: outputs, inputs, overrides and a cancel token, run synchronously or
//! asynchronously; and the record of what a run did.

use std::collections::BTreeMap;

use super::Driver;
use crate::cancel::CancelToken;
use crate::error::ExecuteError;
use crate::inputs::Inputs;
use crate::outputs::Outputs;

/// What to compute, built by [`Driver::request`]; run it with [`run`](Self::run) or
/// [`run_async`](Self::run_async). Both behave the same: same memo, cache, adapters, records,
/// overrides, cancellation and keep-going.
#[must_use = "a request does nothing until it is run"]
pub struct Request<'d> {
    driver: &'d Driver,
    outputs: Vec<String>,
    inputs: Inputs,
    overrides: Inputs,
    cancel: CancelToken,
    /// Whether the caller keeps the run's record (`execute` does not: no names are copied).
    record: bool,
}

impl<'d> Request<'d> {
    pub(super) fn new(driver: &'d Driver, outputs: &[&str]) -> Self {
        Request {
            driver,
            outputs: outputs.iter().map(|s| s.to_string()).collect(),
            inputs: Inputs::new(),
            overrides: Inputs::new(),
            cancel: CancelToken::new(),
            record: true,
        }
    }

    /// Also computes every node tagged `key` (with `value`, if given) that can be an output
    /// (not one inside a fan-out), in graph order: Hamilton's selection by tag.
    ///
    /// ```
    /// mod m {
    ///     use weft::prelude::*;
    ///     #[node(tags(report = "weekly"))]
    ///     pub fn signups(raw: &u64) -> u64 { raw * 2 }
    ///     #[node(tags(report = "daily"))]
    ///     pub fn spend(raw: &u64) -> u64 { raw + 1 }
    /// }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let dr = weft::Builder::new().with_modules(weft::modules![crate::m]).build()?;
    /// let (out, _) = dr
    ///     .request(&[])
    ///     .tagged("report", Some("weekly"))
    ///     .inputs(weft::inputs! { "raw" => 3u64 })
    ///     .run()?;
    /// assert_eq!(out.names().collect::<Vec<_>>(), ["signups"]);
    /// # Ok(()) }
    /// ```
    pub fn tagged(mut self, key: &str, value: Option<&str>) -> Self {
        let graph = self.driver.graph();
        for n in graph.nodes_tagged(key, value) {
            let top_level = graph
                .id(n.name())
                .is_some_and(|id| graph.scope(id).is_empty());
            if top_level && !self.outputs.iter().any(|o| o == n.name()) {
                self.outputs.push(n.name().to_string());
            }
        }
        self
    }

    /// For callers that drop the run's record: the run returns an empty one (with its id)
    /// instead of copying every node's name into it.
    pub(super) fn unrecorded(mut self) -> Self {
        self.record = false;
        self
    }

    /// The run's inputs.
    pub fn inputs(mut self, inputs: Inputs) -> Self {
        self.inputs = inputs;
        self
    }

    /// Values replacing the nodes they name: those nodes do not run, and nodes only they
    /// needed are pruned.
    pub fn overrides(mut self, overrides: Inputs) -> Self {
        self.overrides = overrides;
        self
    }

    /// Stops the run early with [`ExecuteError::Cancelled`] once `token` is cancelled (from
    /// another thread or task): nodes already running finish and keep their results, no new
    /// node (nor fan-out item) starts.
    pub fn cancel(mut self, token: &CancelToken) -> Self {
        self.cancel = token.clone();
        self
    }

    /// Runs the request on this thread (and the executor's workers).
    pub fn run(self) -> Result<(Outputs, RunRecord), ExecuteError> {
        let outs: Vec<&str> = self.outputs.iter().map(String::as_str).collect();
        self.driver.run_sync(
            &outs,
            &self.inputs,
            &self.overrides,
            &self.cancel,
            self.record,
        )
    }

    /// Runs the request on the caller's tokio runtime: `async fn` nodes are awaited natively
    /// and concurrently, sync nodes run on the blocking pool. When the request is cancelled,
    /// in-flight async bodies are dropped rather than waited for.
    #[cfg(feature = "async")]
    #[cfg_attr(docsrs, doc(cfg(feature = "async")))]
    pub async fn run_async(self) -> Result<(Outputs, RunRecord), ExecuteError> {
        let driver = self.driver.clone();
        driver
            .run_async(
                self.outputs,
                self.inputs,
                self.overrides,
                self.cancel,
                self.record,
            )
            .await
    }
}

/// What one run did, node by node.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RunRecord {
    /// The run's id.
    pub run_id: String,
    /// Nodes whose body ran, in execution order.
    pub executed: Vec<String>,
    /// Function nodes whose value was reused without running: remembered in memory, or
    /// answered by the persistent cache (those are also in [`hits`](Self::hits)).
    pub reused: Vec<String>,
    /// Function nodes answered by the persistent cache (a subset of `reused`); the others of
    /// `reused` were remembered in memory.
    pub hits: Vec<String>,
    /// How long each executed node took.
    pub durations: BTreeMap<String, std::time::Duration>,
    /// Whether the persistent cache answered the whole run before it was walked: a driver with
    /// nothing in memory yet (a new process) whose every node hit. The run's records and its
    /// adapters' calls are those of a walk of hits; only the walk is skipped.
    pub answered: bool,
    /// The verdicts of the run's `check_output` checks (`x_check` nodes on its path, executed
    /// or reused), in execution order: what passed, and what failed with `importance = "warn"`
    /// (a failed `"fail"` check fails the run instead, naming what failed).
    pub checks: Vec<crate::CheckReport>,
}

impl RunRecord {
    /// Function nodes whose value was remembered in memory (reused, not from the cache).
    pub fn memoized(&self) -> impl Iterator<Item = &str> {
        self.reused
            .iter()
            .filter(|n| !self.hits.contains(n))
            .map(String::as_str)
    }
}
