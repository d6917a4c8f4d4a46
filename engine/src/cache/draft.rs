//! [`Draft`]: a node's record as the cache fills it in during a run.

use std::sync::Arc;

use super::{behavior_name, CacheKey, NodeRecord, Status};
use crate::fingerprint::DataVersion;
use crate::node::CacheBehavior;

/// A node's record as the cache fills it in on the run's thread. The writer hands drafts to the
/// store as [`Records`]; [`NodeRecord`]s (with strings of their own) are made of them only when
/// a store asks.
#[derive(Clone)]
pub(crate) struct Draft {
    pub(super) run_id: Arc<str>,
    /// The node's name, code version and parameters (shared with its spec).
    pub(super) name: Arc<str>,
    pub(super) code_version: Arc<str>,
    pub(super) params: Arc<[crate::node::ParamSpec]>,
    pub(super) status: Status,
    pub(super) behavior: CacheBehavior,
    pub(super) cache_key: Option<CacheKey>,
    pub(super) data_version: Option<DataVersion>,
    /// In parameter order (the names are the spec's).
    pub(super) deps: Vec<Option<DataVersion>>,
    /// The parameters (by position) left out of the key because they are IGNOREd.
    pub(super) ignored: Vec<u32>,
    pub(super) reason: Option<String>,
    pub(super) duration_us: u64,
    pub(super) error: Option<String>,
    pub(super) type_name: &'static str,
}

impl Draft {
    pub(super) fn new(
        run_id: Arc<str>,
        spec: &crate::node::NodeSpec,
        behavior: CacheBehavior,
    ) -> Draft {
        Draft {
            run_id,
            name: spec.name.clone(),
            code_version: spec.code_version.clone(),
            params: spec.params.clone(),
            status: Status::Executed,
            behavior,
            cache_key: None,
            data_version: None,
            deps: Vec::new(),
            ignored: Vec::new(),
            reason: None,
            duration_us: 0,
            error: None,
            type_name: spec.output().name(),
        }
    }

    /// The node's value is kept in memory only, for `why`: said once (see
    /// [`kept_in_memory`](super::encode::kept_in_memory)) and recorded `uncached` with the
    /// reason.
    pub(super) fn kept_in_memory(&mut self, why: String, warn: &crate::warnings::Warnings) {
        super::encode::kept_in_memory(&self.name, &why, warn);
        self.status = Status::Uncached;
        self.reason = Some(why);
    }

    /// The names of the IGNOREd dependencies.
    pub(super) fn ignored_names(&self) -> impl Iterator<Item = &str> {
        self.ignored
            .iter()
            .filter_map(|i| self.params.get(*i as usize))
            .map(|p| p.name())
    }

    pub(crate) fn into_record(self) -> NodeRecord {
        let ignored = self.ignored_names().map(String::from).collect();
        NodeRecord {
            run_id: String::from(&*self.run_id),
            node: String::from(&*self.name),
            status: self.status,
            behavior: behavior_name(self.behavior).to_string(),
            cache_key: self.cache_key,
            data_version: self.data_version,
            code_version: String::from(&*self.code_version),
            deps: self
                .params
                .iter()
                .map(|p| String::from(p.name()))
                .zip(self.deps.into_iter().chain(std::iter::repeat(None)))
                .collect(),
            ignored,
            reason: self.reason,
            duration_us: self.duration_us,
            error: self.error,
            type_name: String::from(self.type_name),
        }
    }
}
