//! Keys from dependencies: what each dependency brings to a node's key ([`Dep`]), the key and
//! record a node gets before its lookup ([`Keyed`]), and finding a key's data version, first
//! among the last run's keys ([`Hints`]), else in the metadata store.

use rustc_hash::FxHashMap;
use std::sync::Arc;

use super::{cache_key, CacheKey, Draft, Inner, KeyPart, MetadataStore, StoreError, Warnings};
use crate::adapter::NodeInfo;
use crate::fingerprint::DataVersion;
use crate::node::CacheBehavior;
use crate::value::Value;

/// Keys the last finished run used, to answer lookups from ([`MetadataStore::recent_keys`]).
pub(crate) type Hints = Arc<FxHashMap<CacheKey, DataVersion>>;

/// Reads the [`Hints`] (none when the store has none or cannot say; why it cannot is a
/// warning: lookups, which the store checks, then answer alone).
pub(crate) fn read_hints(meta: &dyn MetadataStore, warn: &Warnings) -> Hints {
    Arc::new(match meta.recent_keys() {
        Ok(pairs) => pairs.into_iter().collect(),
        Err(e) => {
            warn.once(format!(
                "the last run's keys are unusable ({e}); looking every key up instead"
            ));
            FxHashMap::default()
        }
    })
}

/// What a dependency brings to a key.
#[derive(Clone, Copy)]
pub(crate) enum Dep {
    /// An optional input that was not given.
    Absent,
    /// A value with this data version.
    Version(DataVersion),
    /// A value of this type, which cannot be fingerprinted.
    Opaque(&'static str),
}

impl Dep {
    pub(crate) fn of(value: Option<&Value>) -> Dep {
        match value {
            None => Dep::Absent,
            Some(v) if v.is_fingerprinted() => Dep::Version(v.version()),
            Some(v) => Dep::Opaque(v.value_type().name()),
        }
    }
}

/// A node's key and record before its lookup (see `Inner::keyed`).
pub(super) struct Keyed {
    pub(super) behavior: CacheBehavior,
    pub(super) format: String,
    pub(super) key: Option<CacheKey>,
    pub(super) unkeyable: Option<String>,
    pub(super) record: Draft,
}

impl Inner {
    /// The latest finished run's keys, loaded once per run (a store without them, or an
    /// error, gives none: every lookup then asks the store).
    /// The first run's were read ahead by the writer thread while the run started.
    pub(super) fn load_hints(&self) -> Hints {
        let ahead = self
            .hints_ahead
            .lock()
            .ok()
            .and_then(|mut p| p.take())
            .and_then(|rx| rx.recv().ok());
        let hints = ahead.unwrap_or_else(|| read_hints(&*self.meta, &self.warned));
        if let Ok(mut t) = self.run.lock() {
            t.hints = Some(hints.clone());
        }
        hints
    }

    /// Forgets `key` in the store and, for the rest of the run, here (see `RunTrack`).
    pub(super) fn forget(&self, key: &CacheKey) {
        if let Ok(mut t) = self.run.lock() {
            t.forgotten.insert(*key);
            // The run's hints may still list the key: read them again when next needed.
            t.hints = None;
        }
        self.forgot_any
            .store(true, std::sync::atomic::Ordering::Release);
        if let Err(e) = self.meta.forget_key(key) {
            self.warn_once(format!("cannot forget an unusable cache entry: {e}"));
        }
    }

    pub(super) fn behavior(&self, node: &str) -> (CacheBehavior, &str) {
        self.policy
            .get(node)
            .map_or((CacheBehavior::Default, "postcard"), |(b, f)| (*b, &**f))
    }

    /// The node's behaviour, format and key (`None` when it has none: not DEFAULT or
    /// RECOMPUTE, or a dependency cannot be fingerprinted), and its record so far.
    pub(super) fn keyed(&self, node: &NodeInfo<'_>, run_id: Option<Arc<str>>) -> Keyed {
        let run_id = run_id
            .filter(|id| **id == *node.run_id)
            .unwrap_or_else(|| Arc::from(node.run_id));
        let deps = node.inputs.iter().map(|(d, v)| (*d, Dep::of(v.as_ref())));
        self.keyed_by(node.spec, run_id, deps)
    }

    /// [`keyed`](Self::keyed), from the node's dependencies' states alone.
    pub(super) fn keyed_by<'d>(
        &self,
        spec: &crate::node::NodeSpec,
        run_id: Arc<str>,
        deps: impl ExactSizeIterator<Item = (&'d str, Dep)>,
    ) -> Keyed {
        let name = spec.name();
        let (behavior, format) = self.behavior(name);
        let mut record = Draft::new(run_id, spec, behavior);
        record.deps.reserve_exact(deps.len());

        // IGNORE dependencies are left out; an unfingerprintable one makes the node
        // uncacheable (never folded into a key).
        let mut parts = smallvec::SmallVec::<[(&str, KeyPart); 8]>::new();
        let mut unkeyable = None;
        for (dep, state) in deps {
            let dep_ignored = self
                .policy
                .get(dep)
                .is_some_and(|(b, _)| *b == CacheBehavior::Ignore);
            match state {
                _ if dep_ignored => {
                    record.ignored.push(record.deps.len() as u32);
                    record.deps.push(None);
                }
                Dep::Absent => {
                    record.deps.push(None);
                    parts.push((dep, KeyPart::Absent));
                }
                Dep::Version(v) => {
                    record.deps.push(Some(v));
                    parts.push((dep, KeyPart::Version(v)));
                }
                Dep::Opaque(type_name) => {
                    record.deps.push(None);
                    unkeyable.get_or_insert_with(|| {
                        format!(
                            "dependency `{dep}` is a `{}`, which cannot be fingerprinted (implement weft::Fingerprint or serde::Serialize for it)",
                            crate::short_type_name(type_name)
                        )
                    });
                }
            }
        }
        let key = match (&unkeyable, behavior) {
            (None, CacheBehavior::Default | CacheBehavior::Recompute) => Some(cache_key(
                name,
                spec.code_version(),
                spec.output().name(),
                &parts,
            )),
            _ => None,
        };
        record.cache_key = key;
        Keyed {
            behavior,
            format: format.to_string(),
            key,
            unkeyable,
            record,
        }
    }

    /// The data version stored for `key`: from the last run's keys, else the store; none for
    /// a key forgotten during the run.
    pub(super) fn find(
        &self,
        hints: &Hints,
        key: &CacheKey,
    ) -> Result<Option<DataVersion>, StoreError> {
        if self.forgot_any.load(std::sync::atomic::Ordering::Acquire)
            && self.run.lock().is_ok_and(|t| t.forgotten.contains(key))
        {
            return Ok(None);
        }
        match hints.get(key) {
            Some(v) => Ok(Some(*v)),
            None => self.meta.lookup(key),
        }
    }
}
