//! Answering a whole run from the cache before it is walked.
//!
//! A driver that has nothing in memory yet (a fresh process) first tries to answer the run from
//! the cache alone: node by node in topological order it makes exactly the key and lookup the
//! cache would make when the walk reached the node, with the data versions the lookups gave
//! upstream. If every node is a DEFAULT-behaviour hit, the run is answered: one hit record per
//! node, values made lazily from the hits, no walk. At the first node that would not hit,
//! nothing has happened (no record queued, no value read) and the driver walks the run.

use std::sync::Arc;

use super::{Cache, CacheKey, Dep, Draft, Hints, Inner, Item, Status};
use crate::fingerprint::DataVersion;
use crate::node::{CacheBehavior, NodeSpec};
use crate::value::Value;

/// An answer in progress: the hits found so far, recorded only once every node has hit.
pub(crate) struct Answering {
    inner: Arc<Inner>,
    hints: Hints,
    run_id: Arc<str>,
    hits: Vec<Draft>,
}

impl Cache {
    /// Starts answering run `run_id` (after the adapters' `before_graph`), or `None` for a
    /// cache that records nothing (opened for inspection).
    pub(crate) fn answering(&self, run_id: &str, nodes: usize) -> Option<Answering> {
        let inner = &self.inner;
        inner.writer.as_ref()?;
        let hints = match inner.run.lock() {
            Ok(t) => t.hints.clone(),
            Err(_) => None,
        };
        Some(Answering {
            inner: inner.clone(),
            hints: hints.unwrap_or_else(|| inner.load_hints()),
            run_id: Arc::from(run_id),
            hits: Vec::with_capacity(nodes),
        })
    }

    /// The stored value `version` of `spec`'s node under `key`, read when first needed (see
    /// [`Answering::hit`]).
    pub(crate) fn lazy_hit(&self, spec: &NodeSpec, key: CacheKey, version: DataVersion) -> Value {
        self.inner.lazy_value(spec, key, version)
    }
}

impl Answering {
    /// The node's key and stored data version, if its behaviour is DEFAULT and its key is
    /// stored; `None` otherwise, having changed nothing. `deps` are its dependencies in
    /// parameter order.
    pub(crate) fn hit<'d>(
        &mut self,
        spec: &NodeSpec,
        deps: impl ExactSizeIterator<Item = (&'d str, Dep)>,
    ) -> Option<(CacheKey, DataVersion)> {
        let inner = &self.inner;
        let mut keyed = inner.keyed_by(spec, self.run_id.clone(), deps);
        let key = match (keyed.key, keyed.behavior) {
            (Some(key), CacheBehavior::Default) => key,
            _ => return None,
        };
        let version = inner.find(&self.hints, &key).ok()??;
        let record = &mut keyed.record;
        record.status = Status::Hit;
        record.data_version = Some(version);
        // An answered hit takes no time of its own worth keeping (the run's time is on its
        // row): every hit's event is the same, and a warm run's events are one entry.
        record.duration_us = 0;
        self.hits.push(keyed.record);
        Some((key, version))
    }

    /// Records every hit (the run was answered).
    pub(crate) fn record(self) {
        let Answering { inner, hits, .. } = self;
        if let Ok(mut t) = inner.run.lock() {
            t.answered = true;
        }
        inner.queue(Item::Records(hits));
    }
}
