//! [`CacheAdapter`]: the [`Adapter`] that consults the cache before a node runs and fills it
//! after: the run's start and end records, a lookup per node (a hit returns the stored value,
//! read lazily), and on a miss the node's record and its value for the writer.

use std::sync::Arc;
use std::time::Instant;

use super::encode::{unfingerprinted, ENCODE_BESIDE_BYTES};
use super::keying::Keyed;
use super::{CacheKey, Draft, Inner, Item, MetaWrite, Moment, RunMeta, Status, StoreError};
use crate::adapter::{Adapter, Next, NodeFuture, NodeInfo, NodeResult, RunInfo, RunSummary};
use crate::fingerprint::DataVersion;
use crate::node::CacheBehavior;
use crate::value::Value;

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

impl Inner {
    /// A lazily-loaded stored value. A result that is missing, corrupt, or not the value of
    /// `version` (its decoded value is fingerprinted again and compared) is forgotten (so the
    /// next lookup misses) and reported; the engine then recomputes the value and the cache
    /// stores the repair.
    pub(super) fn lazy_value(
        self: &Arc<Self>,
        spec: &crate::node::NodeSpec,
        key: CacheKey,
        version: DataVersion,
    ) -> Value {
        let me = self.clone();
        let ty = spec.output();
        let name = spec.name.clone();
        Value::lazy(
            version,
            ty,
            Box::new(move || {
                let codec = ty
                    .codec()
                    .ok_or_else(|| format!("`{}` cannot be deserialized", ty.short_name()))?;
                let problem = match me.results.get(&version) {
                    Ok(Some(blob)) => match (codec.decode)(&blob.bytes, &blob.format) {
                        // The value must be the one its address names: a result stored under
                        // another version (files or rows exchanged, a damaged store) fails.
                        Ok(v) => match ty.decoded_version(&blob.bytes, &blob.format, &*v) {
                            Some(found) if found == version => return Ok(v),
                            Some(found) => format!(
                                "it holds data version {} instead: a result stored under another \
                                 version",
                                found.short()
                            ),
                            None => format!("a `{}` cannot be checked", ty.short_name()),
                        },
                        Err(e) => format!("cannot decode: {e}"),
                    },
                    Ok(None) => "the result is missing".to_string(),
                    Err(e) => e.to_string(),
                };
                me.warn_once(format!(
                    "stored result of `{name}` ({}) is unusable ({problem}); recomputing it",
                    version.short()
                ));
                me.forget(&key);
                let _ = me.results.remove(&version);
                Err(problem)
            }),
        )
    }
}

/// The [`Adapter`] that consults and fills the cache.
pub(crate) struct CacheAdapter(pub(super) Arc<Inner>);

impl Adapter for CacheAdapter {
    fn needs_values(&self) -> bool {
        true
    }

    fn before_graph(&self, run: &RunInfo<'_>) {
        if let Ok(mut t) = self.0.run.lock() {
            t.seen.clear();
            t.answered = false;
            t.hints = None;
            t.run_id = Some(Arc::from(run.run_id));
            t.running = true;
            t.forgotten.clear();
        }
        // The run's lease, taken before its start is recorded (see `lease`).
        if let (super::Place::Dir(dir), Some(_)) = (&self.0.place, &self.0.writer) {
            match super::lease::Lease::take(dir, run.run_id) {
                Ok(lease) => {
                    // A gc since the last run's keys were read may have removed what they
                    // name: read them again (no gc runs while the lease is held).
                    let gcs = super::lease::gc_count(dir);
                    let seen = &self.0.gc_seen;
                    if seen.swap(gcs, std::sync::atomic::Ordering::AcqRel) != gcs {
                        if let Ok(mut ahead) = self.0.hints_ahead.lock() {
                            *ahead = None;
                        }
                    }
                    if let Ok(mut t) = self.0.run.lock() {
                        t.lease = Some(lease);
                        t.hints = None;
                    }
                }
                Err(e) => self.0.warn_once(format!(
                    "this run holds no lease on the cache ({e}): if it is killed, `weft cache \
                     runs` shows it as running, not interrupted, and a gc may collect what it \
                     writes"
                )),
            }
        }
        self.0.meta.maintain(Moment::RunStart);
        self.0.send(MetaWrite::BeginRun(RunMeta {
            run_id: run.run_id.to_string(),
            started_at: now(),
            finished_at: None,
            outputs: run.outputs.to_vec(),
            status: "running".into(),
        }));
    }

    fn after_graph(&self, run: &RunInfo<'_>, summary: &RunSummary<'_>) {
        let (seen, answered) = self
            .0
            .run
            .lock()
            .map(|mut t| (std::mem::take(&mut t.seen), t.answered))
            .unwrap_or_default();
        for (name, spec, value) in summary.values {
            if answered || seen.contains(*name) {
                continue;
            }
            let (behavior, _) = self.0.behavior(name);
            let mut draft = Draft::new(Arc::from(run.run_id), spec, behavior);
            draft.status = Status::Memo;
            draft.type_name = value.value_type().name();
            draft.data_version = value.is_fingerprinted().then(|| value.version());
            draft.deps = vec![None; spec.params().len()];
            self.0.queue(Item::Record(Box::new(draft)));
        }
        self.0.send(MetaWrite::EndRun {
            run_id: run.run_id.to_string(),
            status: if summary.failed.is_some() {
                "failed"
            } else if summary.cancelled {
                "cancelled"
            } else {
                "ok"
            }
            .into(),
            finished_at: now(),
        });
        // Released by the writer once the run's end is committed.
        let lease = self.0.run.lock().ok().and_then(|mut t| t.lease.take());
        if let Some(lease) = lease {
            self.0.queue(Item::Release(lease));
        }
        self.0.meta.maintain(Moment::RunEnd);
        if let Ok(mut t) = self.0.run.lock() {
            t.running = false;
        }
        self.0.send_outbox();
        // A run that computed something is committed before `execute` returns: its results
        // survive even a `std::process::exit` that skips dropping the driver. A run of hits
        // only (nothing to lose but its records) is committed while the caller goes on; reads
        // through `Cache`, other drivers on the directory and dropping the driver wait for it.
        if let Some(w) = &self.0.writer {
            if summary.executed.is_empty() {
                w.commit();
            } else {
                w.flush();
            }
        }
    }

    fn wrap_node<'a>(&'a self, node: &'a NodeInfo<'a>, next: Next<'a>) -> NodeFuture<'a> {
        match self.0.begin(node) {
            Begin::Hit(v) => Box::pin(std::future::ready(Ok(v))),
            Begin::Miss(ctx) => Box::pin(async move {
                let result = next.run(node).await;
                let ended = self.0.end(node, *ctx, result);
                if let Some(mut store) = ended.store {
                    // A large value waits for room among those waiting to be stored
                    // (`backlog`): the run makes no new one meanwhile.
                    if let Some((value, held)) = store.room() {
                        let size = value.resident_size();
                        if size >= ENCODE_BESIDE_BYTES {
                            *held = Some(self.0.backlog.room(size).await);
                        }
                    }
                    self.0.queue(store);
                }
                if let Some(record) = ended.record {
                    self.0.queue(record);
                }
                ended.result
            }),
        }
    }
}

/// What the cache decided before a node runs.
enum Begin {
    /// A stored result, lazily loaded.
    Hit(Value),
    /// The node must run; what to record afterwards.
    Miss(Box<MissContext>),
}

struct MissContext {
    start: Instant,
    /// The node's key and record; `None` for a node that runs before it is keyed (see
    /// [`Inner::runs_unkeyed`]), keyed as it ends.
    keyed: Option<Keyed>,
    run_id: Option<Arc<str>>,
}

/// Why a node that runs before it is keyed misses.
const NOTHING_STORED: &str = "no result of this node is stored";

impl Inner {
    /// Looks the node up: a hit, or what to do after it runs.
    fn begin(self: &Arc<Self>, node: &NodeInfo<'_>) -> Begin {
        let start = Instant::now();
        let (hints, run_id) = match self.run.lock() {
            Ok(mut t) => {
                t.seen.insert(node.spec.name.clone());
                (t.hints.clone(), t.run_id.clone())
            }
            Err(_) => (None, None),
        };
        if self.runs_unkeyed(node) {
            return Begin::Miss(Box::new(MissContext {
                start,
                keyed: None,
                run_id,
            }));
        }
        let mut keyed = self.keyed(node, run_id.clone());
        if let (Some(key), CacheBehavior::Default) = (keyed.key, keyed.behavior) {
            let hints = hints.unwrap_or_else(|| self.load_hints());
            match self.find(&hints, &key) {
                // A hit is not even checked for presence here: it is read only if needed, and
                // a missing or corrupt result is then recomputed (see `lazy_value`).
                Ok(Some(version)) => {
                    let record = &mut keyed.record;
                    record.status = Status::Hit;
                    record.data_version = Some(version);
                    record.duration_us = start.elapsed().as_micros() as u64;
                    self.queue(Item::Record(Box::new(keyed.record)));
                    return Begin::Hit(self.lazy_value(node.spec, key, version));
                }
                Ok(None) => keyed.record.reason = Some("no stored result for this key".into()),
                // A damaged or exchanged key row: forgotten, and the node's run stores the
                // repair under its key.
                Err(e @ StoreError::CorruptKey { .. }) => {
                    self.warn_once(format!(
                        "the cache's entry for `{}` is unusable ({e}); recomputing it",
                        node.name()
                    ));
                    self.forget(&key);
                    keyed.record.reason = Some(format!("the stored key failed its check: {e}"));
                }
                Err(e) => {
                    self.warn_once(format!("cannot read cache metadata: {e}"));
                    keyed.record.reason = Some(format!("metadata unreadable: {e}"));
                }
            }
        }
        Begin::Miss(Box::new(MissContext {
            start,
            keyed: Some(keyed),
            run_id,
        }))
    }

    /// Whether the node runs before its key is known: one of its inputs is a large value
    /// whose version is not taken yet (waiting for it would put hashing it on the run's path;
    /// the writer takes it meanwhile, see [`Item::Settle`]), and it cannot hit — its behaviour
    /// never looks up, or no key of it is stored ([`MetadataStore::holds_node`]; a store that
    /// cannot say, or fails to, leaves the node to the usual lookup, which reports the failure).
    ///
    /// [`MetadataStore::holds_node`]: super::MetadataStore::holds_node
    fn runs_unkeyed(&self, node: &NodeInfo<'_>) -> bool {
        let waits = (node.inputs.iter()).any(|(_, v)| v.as_ref().is_some_and(versioned_later));
        waits
            && match self.behavior(node.name()).0 {
                CacheBehavior::Default => {
                    matches!(self.meta.holds_node(node.name()), Ok(Some(false)))
                }
                _ => true,
            }
    }

    /// The node's record, and its value to store when it should be.
    fn end(self: &Arc<Self>, node: &NodeInfo<'_>, ctx: MissContext, result: NodeResult) -> Ended {
        let inner = self;
        let name = node.name();
        let Keyed {
            behavior,
            format,
            key,
            unkeyable,
            mut record,
        } = ctx.keyed.unwrap_or_else(|| {
            let mut keyed = self.keyed(node, ctx.run_id);
            if keyed.behavior == CacheBehavior::Default {
                keyed.record.reason = Some(NOTHING_STORED.into());
            }
            keyed
        });
        record.duration_us = ctx.start.elapsed().as_micros() as u64;
        let value = match result {
            Ok(v) => v,
            Err(e) => {
                record.status = Status::Failed;
                record.error = Some(e.to_string());
                return Ended {
                    result: Err(e),
                    store: None,
                    record: Some(Item::Record(Box::new(record))),
                };
            }
        };
        record.status = match behavior {
            CacheBehavior::Disable => Status::Disabled,
            CacheBehavior::Ignore => Status::Ignored,
            CacheBehavior::Recompute => Status::Recomputed,
            CacheBehavior::Default => Status::Executed,
        };
        let storable = matches!(behavior, CacheBehavior::Default | CacheBehavior::Recompute);
        // A large value not fingerprinted yet is fingerprinted by the writer, off the run's
        // path: its record (and key, when it is stored) is completed there (see
        // `Item::Settle`). A node that stores nothing (`disable`, `ignore`) is recorded with
        // its version all the same, taken there too.
        if versioned_later(&value) && value.value_type().is_fingerprintable() {
            let keep = match (storable, &unkeyable, key) {
                (false, _, _) => Some(None),
                (true, None, Some(cache_key))
                    if value.value_type().codec().is_some() && no_stored_form(&value).is_none() =>
                {
                    Some(Some((format.to_string(), cache_key)))
                }
                _ => None,
            };
            if let Some(keep) = keep {
                return Ended {
                    store: Some(Item::Settle {
                        value: value.clone(),
                        keep,
                        record: Box::new(record),
                        held: None,
                    }),
                    record: None,
                    result: Ok(value),
                };
            }
        }
        let mut store = None;
        if value.is_fingerprinted() {
            record.data_version = Some(value.version());
        }
        if storable {
            let why_not = if let Some(why) = unkeyable {
                Some(why)
            } else if !value.is_fingerprinted() {
                Some(unfingerprinted(&value))
            } else if value.value_type().codec().is_none() {
                Some(format!(
                    "its value, a `{}`, cannot be serialized (derive serde's Serialize and Deserialize)",
                    value.value_type().short_name()
                ))
            } else {
                None
            };
            // A value with no stored form by its nature (a Spark frame that is only a plan):
            // recorded as not stored, with the reason, but nothing to warn about.
            let by_nature = why_not.is_none().then(|| no_stored_form(&value)).flatten();
            match (why_not, key) {
                (Some(why), _) => record.kept_in_memory(why, &inner.warned),
                (None, _) if by_nature.is_some() => {
                    record.status = Status::Uncached;
                    record.reason = by_nature;
                }
                (None, Some(key)) => {
                    store = Some(Item::Store {
                        value: value.clone(),
                        format: format.to_string(),
                        key: MetaWrite::Key {
                            cache_key: key,
                            node: name.to_string(),
                            data_version: value.version(),
                        },
                        held: None,
                    })
                }
                (None, None) => {}
            }
        }
        Ended {
            result: Ok(value),
            store,
            record: Some(Item::Record(Box::new(record))),
        }
    }
}

/// How a node that ran ended, for the writer: its value to store (queued first, so that its
/// key is committed with or before the record saying it executed) and its record (`None`
/// when the value to store carries it, [`Item::Settle`]).
struct Ended {
    result: NodeResult,
    store: Option<Item>,
    record: Option<Item>,
}

/// Whether `value`'s version is taken later, off the run's path (by the cache's writer, see
/// [`Item::Settle`]), rather than by whoever needs it next: a loaded value of
/// [`ENCODE_BESIDE_BYTES`] or more, not fingerprinted yet, whose fingerprint reads only the
/// value (one that reads a file or a server is taken as its node ends: ARCHITECTURE's
/// invariants).
fn versioned_later(value: &Value) -> bool {
    !value.is_versioned()
        && value.is_loaded()
        && value.value_type().fingerprints_in_memory()
        && value.resident_size() >= ENCODE_BESIDE_BYTES
}

/// Why `value` has no stored form by its nature ([`crate::CacheFormats::no_stored_form`]).
/// A value not in memory is never read for it: it came from a store (a worker's result), so
/// it has a stored form, and reading it would pull every remote result into the driver.
fn no_stored_form(value: &Value) -> Option<String> {
    if !value.is_loaded() {
        return None;
    }
    let codec = value.value_type().codec()?;
    let data = value.data().ok()?;
    (codec.no_stored_form)(&**data)
}
