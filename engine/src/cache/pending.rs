//! What the cache's writer holds for its next commit ([`Pending`]), and when it commits:
//! every [`COMMIT_EVERY`] while commits are quick, less often when they are slow
//! ([`commit_interval`]), at once beyond [`PENDING_BYTES`]. Keys are written last, each only
//! once its result is stored.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::key::CacheKey;
use super::store::{Blob, MetaWrite, MetadataStore, ResultStore, Status};
use crate::fingerprint::DataVersion;
use crate::warnings::Warnings;

/// How long a finished node's metadata waits before it is committed, while commits are quick.
pub const COMMIT_EVERY: Duration = Duration::from_millis(50);

/// The longest a finished node's metadata waits before it is committed, however slow commits
/// are.
pub const COMMIT_AT_MOST: Duration = Duration::from_secs(10);

/// What waits for a commit is committed at once beyond about this many bytes (encoded results,
/// plus [`ITEM_BYTES`] for each key and record): the wait bounds what a crash loses, this the
/// memory it holds.
const PENDING_BYTES: usize = 64 << 20;

/// What a waiting key or record is counted as, beside its encoded result. One holds more
/// (a key with its result's row about 350 bytes, a drafted record about 300): counting less
/// lets a commit gather more of them, and a commit's cost is mostly the b-tree pages it
/// rewrites, which a larger batch shares among more keys. Measured on a 1,000,000-node chain:
/// 512 → 256 cut the cold run from 26.6 to 22.0 s for 70 MB more at its peak (1.82 GB).
pub(super) const ITEM_BYTES: usize = 256;

/// How long the writer lets work gather after a commit that took `last`: [`COMMIT_EVERY`],
/// or four times `last` when that is longer, up to [`COMMIT_AT_MOST`].
///
/// A commit's cost grows with the b-tree pages it dirties, and in a large cache (keys and
/// data versions are hashes, so inserts land all over the tree) nearly every key dirties a page
/// of its own until a batch is as large as the tree. Fixed 50 ms commits then cost more with
/// every node stored: a 1,000,000-node cold run spent most of its time rewriting the same pages
/// into the log. Waiting in proportion keeps committing to about a fifth of the writer's time
/// (and [`PENDING_BYTES`] bounds what waits).
pub(crate) fn commit_interval(last: Duration) -> Duration {
    last.saturating_mul(4).clamp(COMMIT_EVERY, COMMIT_AT_MOST)
}

/// What waits for the next commit: encoded results, then metadata (keys last, so that a key is
/// written only once its result is).
#[derive(Default)]
pub(super) struct Pending {
    pub(super) blobs: Vec<(DataVersion, Blob)>,
    /// Keys with the index in `blobs` of their result, each committed once that is stored
    /// (two keys can share one blob: a value two nodes return is encoded and stored once).
    pub(super) blob_keys: Vec<(MetaWrite, usize)>,
    pub(super) meta: Vec<MetaWrite>,
    /// Node records, handed to the store as they were drafted.
    pub(super) drafts: Vec<super::Draft>,
    pub(super) oldest: Option<Instant>,
    /// Keys whose value could not be stored, and why: their records say `uncached`, never
    /// `executed`, so that nothing (a reader of the records, the next run's hints) takes them
    /// for stored. A key leaves it when its value is sent to be stored again.
    pub(super) unstored: HashMap<CacheKey, String>,
    /// Leases of runs that ended, released after the next commit.
    pub(super) leases: Vec<super::lease::Lease>,
    /// About how many bytes wait (see [`PENDING_BYTES`]).
    pub(super) bytes: usize,
    /// How long work gathers before the next commit ([`commit_interval`] of the last one).
    pub(super) interval: Duration,
}

impl Pending {
    pub(super) fn touch(&mut self) {
        self.oldest.get_or_insert_with(Instant::now);
    }

    /// A record, corrected if its value turned out unstorable.
    pub(super) fn record(&mut self, mut w: MetaWrite) {
        if let MetaWrite::Record(r) = &mut w {
            correct(&self.unstored, r.cache_key, &mut r.status, &mut r.reason);
        }
        self.meta.push(w);
    }

    /// A drafted record, corrected likewise.
    pub(super) fn draft(&mut self, mut d: super::Draft) {
        correct(&self.unstored, d.cache_key, &mut d.status, &mut d.reason);
        self.bytes += ITEM_BYTES;
        self.drafts.push(d);
    }

    /// Drafted records, corrected likewise; kept as they came when nothing waits before them
    /// (an answered run's million records are not copied into a second list).
    pub(super) fn drafts(&mut self, mut ds: Vec<super::Draft>) {
        for d in &mut ds {
            correct(&self.unstored, d.cache_key, &mut d.status, &mut d.reason);
        }
        self.bytes += ds.len() * ITEM_BYTES;
        if self.drafts.is_empty() {
            self.drafts = ds;
        } else {
            self.drafts.append(&mut ds);
        }
    }

    /// Another attempt to store the value of `key` (a later run computed it again, space may
    /// have been freed): the records that come from now on are corrected by its outcome, not
    /// an earlier attempt's (whose records were corrected when it failed, before this one's
    /// value was sent).
    pub(super) fn attempt(&mut self, key: &MetaWrite) {
        if let MetaWrite::Key { cache_key, .. } = key {
            if !self.unstored.is_empty() {
                self.unstored.remove(cache_key);
            }
        }
    }

    pub(super) fn unstorable(&mut self, key: &MetaWrite, why: String) {
        if let MetaWrite::Key { cache_key, .. } = key {
            self.unstored.insert(*cache_key, why);
        }
    }

    /// A key whose result is in the store: committed with the next batch.
    pub(super) fn key_stored(&mut self, key: MetaWrite) {
        self.meta.push(key);
        self.touch();
    }

    /// A key whose result the store did not take (`e`): warned about once, never committed.
    pub(super) fn not_stored(&mut self, key: &MetaWrite, e: String, warn: &Warnings) {
        if let MetaWrite::Key { node, .. } = key {
            warn.once(format!(
                "`{node}` was not stored (the next run computes it again): {e}"
            ));
        }
        self.unstorable(key, format!("storing the result failed: {e}"));
    }

    /// Whether what waits must be committed now: it waited its interval, or holds too many
    /// encoded bytes.
    pub(super) fn due(&self) -> bool {
        self.oldest
            .is_some_and(|t| t.elapsed() >= self.interval || self.bytes >= PENDING_BYTES)
    }

    /// Whether what waits must be committed even if encoders are at work (waiting for them):
    /// it waited [`COMMIT_AT_MOST`], or holds too many encoded bytes.
    pub(super) fn overdue(&self) -> bool {
        self.oldest
            .is_some_and(|t| t.elapsed() >= COMMIT_AT_MOST || self.bytes >= PENDING_BYTES)
    }

    pub(super) fn commit(
        &mut self,
        meta: &dyn MetadataStore,
        results: &dyn ResultStore,
        warn: &Warnings,
    ) {
        let started = Instant::now();
        self.write(meta, results, warn);
        self.interval = commit_interval(started.elapsed());
    }

    pub(super) fn write(
        &mut self,
        meta: &dyn MetadataStore,
        results: &dyn ResultStore,
        warn: &Warnings,
    ) {
        self.bytes = 0;
        // Handed to the store as they wait, not copied: a batch can hold a hundred thousand.
        let stored = results.put_many(&self.blobs);
        self.blobs.clear();
        let keys = std::mem::take(&mut self.blob_keys);
        let mut failed = false;
        for (key, at) in keys {
            let r = match stored.get(at) {
                Some(Ok(())) => Ok(()),
                Some(Err(e)) => Err(e.to_string()),
                None => Err("the store did not answer for it".to_string()),
            };
            match r {
                Ok(()) => self.meta.push(key),
                Err(e) => {
                    self.not_stored(&key, e, warn);
                    failed = true;
                }
            }
        }
        // A key found unstorable after its record came (here, or by an encoder).
        if failed || !self.unstored.is_empty() {
            for w in &mut self.meta {
                if let MetaWrite::Record(r) = w {
                    correct(&self.unstored, r.cache_key, &mut r.status, &mut r.reason);
                }
            }
            for d in &mut self.drafts {
                correct(&self.unstored, d.cache_key, &mut d.status, &mut d.reason);
            }
        }
        if !self.drafts.is_empty() {
            let drafts = std::mem::take(&mut self.drafts);
            self.meta.push(MetaWrite::Records(super::Records(drafts)));
        }
        if let Err(e) = meta.write(&self.meta) {
            let keys = self
                .meta
                .iter()
                .filter(|w| matches!(w, MetaWrite::Key { .. }))
                .count();
            warn.once(format!(
                "the cache's metadata could not be written ({keys} stored result(s) not \
                 recorded, so the next run computes them again, and this run's records are \
                 lost): {e}"
            ));
        }
        self.meta.clear();
        self.leases.clear();
        self.oldest = None;
    }
}

/// Marks a record `uncached` when its key's value could not be stored.
fn correct(
    unstored: &HashMap<CacheKey, String>,
    key: Option<CacheKey>,
    status: &mut Status,
    reason: &mut Option<String>,
) {
    if let Some(why) = key.and_then(|k| unstored.get(&k)) {
        if matches!(status, Status::Executed | Status::Recomputed) {
            *status = Status::Uncached;
            *reason = Some(why.clone());
        }
    }
}
