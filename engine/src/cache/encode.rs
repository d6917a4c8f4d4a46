//! Encoding values for the store: the round-trip proof ([`encode`]), and [`Encoders`], which
//! encode and store large values beside the writer, a few at once.
//!
//! The writer encodes small values itself and stores them with its commit's batch (one
//! transaction, one directory listing). A large value (a 1,000,000-row frame: tens of
//! milliseconds to encode, megabytes to write) is handed to an encoder thread as it arrives,
//! so that a cold run's frames are encoded at the same time as each other and as the run's
//! computing, instead of one after the other behind its last node. An encoder stores the
//! result itself; the writer commits its key only once it is in place (a key never points at
//! nothing), and waits for every encoder before a flush or close.

use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::time::Duration;

use rustc_hash::FxHashMap;

use super::backlog::Reserved;
use super::pending::Pending;
use super::store::{Blob, MetaWrite, ResultStore, StreamError};
use crate::fingerprint::DataVersion;
use crate::value::Value;
use crate::warnings::Warnings;

/// A value holding at least this many bytes in memory is encoded beside the writer.
pub(super) const ENCODE_BESIDE_BYTES: usize = 1 << 20;

/// How often the writer looks for finished encoders while some are busy (their keys are
/// committed with the next batch after that).
pub(super) const ENCODERS_POLL: Duration = Duration::from_millis(5);

/// How an encoder's value ended.
enum Outcome {
    /// Its result is in the store.
    Stored,
    /// It cannot be encoded (already warned about): kept in memory only.
    Unencodable(String),
    /// The store did not take its result.
    StoreFailed(String),
}

/// Encoder threads at work, and the keys that wait for each one's value.
pub(super) struct Encoders {
    results: Arc<dyn ResultStore>,
    warn: Warnings,
    /// How many encode at once: the machine's cores.
    limit: usize,
    waiting: FxHashMap<DataVersion, Vec<MetaWrite>>,
    done_tx: Sender<(DataVersion, Outcome)>,
    done_rx: Receiver<(DataVersion, Outcome)>,
}

impl Encoders {
    pub(super) fn new(results: Arc<dyn ResultStore>, warn: Warnings) -> Self {
        let (done_tx, done_rx) = channel();
        Encoders {
            results,
            warn,
            limit: std::thread::available_parallelism().map_or(2, |n| n.get()),
            waiting: FxHashMap::default(),
            done_tx,
            done_rx,
        }
    }

    /// Whether any encoder is at work.
    pub(super) fn busy(&self) -> bool {
        !self.waiting.is_empty()
    }

    /// `key` waits for the encoder of `version` if one is at work (`None`), else comes back.
    pub(super) fn join(&mut self, version: DataVersion, key: MetaWrite) -> Option<MetaWrite> {
        match self.waiting.get_mut(&version) {
            Some(keys) => {
                keys.push(key);
                None
            }
            None => Some(key),
        }
    }

    /// Encodes and stores `value` (the result of `key`) on an encoder thread, once fewer than
    /// [`limit`](Self::limit) are at work.
    pub(super) fn start(
        &mut self,
        value: Value,
        format: String,
        key: MetaWrite,
        held: Option<Reserved>,
        pending: &mut Pending,
    ) {
        while self.waiting.len() >= self.limit {
            match self.done_rx.recv() {
                Ok(done) => self.finish(done, pending),
                Err(_) => break,
            }
        }
        let version = value.version();
        let node = match &key {
            MetaWrite::Key { node, .. } => node.clone(),
            _ => "?".to_string(),
        };
        self.waiting.insert(version, vec![key]);
        // Shared, so that the job can be cloned (run here if no thread can be had).
        let held = held.map(Arc::new);
        let (results, warn, done) = (
            self.results.clone(),
            self.warn.clone(),
            self.done_tx.clone(),
        );
        let job = move || {
            let store = || match streamed(&value, &format, &*results) {
                Some(Ok(())) => Outcome::Stored,
                Some(Err(StreamError::Store(e))) => Outcome::StoreFailed(e.to_string()),
                Some(Err(StreamError::Encode(e))) => {
                    let e = not_encodable(&value, &format, e);
                    e.say(&node, &warn);
                    Outcome::Unencodable(e.why)
                }
                None => match encode(&value, &format) {
                    Ok(blob) => match results.put(&version, &blob) {
                        Ok(()) => Outcome::Stored,
                        Err(e) => Outcome::StoreFailed(e.to_string()),
                    },
                    Err(e) => {
                        e.say(&node, &warn);
                        Outcome::Unencodable(e.why)
                    }
                },
            };
            // An encoder that panics stores nothing, and says so, rather than leave the
            // writer waiting for it.
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(store))
                .unwrap_or_else(|p| {
                    Outcome::StoreFailed(format!(
                        "encoding it panicked: {}",
                        crate::panics::panic_message(&p)
                    ))
                });
            // The value is let go, and its room in the backlog with it, before the writer hears.
            drop(value);
            drop(held);
            let _ = done.send((version, outcome));
        };
        let spawned = std::thread::Builder::new()
            .name("weft-cache-encoder".into())
            .spawn(job.clone());
        if spawned.is_err() {
            // No thread to be had: encode here.
            job();
        }
    }

    /// Takes in what encoders finished; with `all`, waits until none is at work.
    pub(super) fn settle(&mut self, pending: &mut Pending, all: bool) {
        while let Ok(done) = self.done_rx.try_recv() {
            self.finish(done, pending);
        }
        while all && self.busy() {
            match self.done_rx.recv() {
                Ok(done) => self.finish(done, pending),
                Err(_) => break,
            }
        }
    }

    fn finish(&mut self, (version, outcome): (DataVersion, Outcome), pending: &mut Pending) {
        for key in self.waiting.remove(&version).unwrap_or_default() {
            match &outcome {
                Outcome::Stored => pending.key_stored(key),
                Outcome::Unencodable(why) => pending.unstorable(&key, why.clone()),
                Outcome::StoreFailed(e) => pending.not_stored(&key, e.clone(), &self.warn),
            }
        }
    }
}

/// Encodes a value for storage: `Err(why)` when it cannot be stored (with a warning, once).
///
/// Why a value was not encoded, and whether that is news to the user (a type with no codec at
/// all is not: its records say `uncached` with the reason).
pub(super) struct NotEncoded {
    pub(super) why: String,
    news: bool,
}

impl NotEncoded {
    /// Warns, once, that `node`'s value is kept in memory only, when that is news.
    pub(super) fn say(&self, node: &str, warn: &Warnings) {
        if self.news {
            kept_in_memory(node, &self.why, warn);
        }
    }
}

/// Warns, once, that `node`'s value is kept in memory only, and why: the one wording of it,
/// whoever finds out (the adapter as the node ends, the writer as it fingerprints or encodes).
pub(super) fn kept_in_memory(node: &str, why: &str, warn: &Warnings) {
    warn.once(format!("`{node}` is kept in memory only: {why}"));
}

/// Why `value` could not be encoded as `format` (`e`, the codec's error).
fn not_encodable(value: &Value, format: &str, e: String) -> NotEncoded {
    NotEncoded {
        why: format!(
            "its `{}` cannot be encoded as {format}: {e}",
            value.value_type().short_name()
        ),
        news: true,
    }
}

/// Why `value` is not stored for want of a fingerprint (its type has none, or its
/// `Fingerprint` panicked).
pub(super) fn unfingerprinted(value: &Value) -> String {
    let ty = value.value_type().short_name();
    match value.unfingerprinted_because() {
        Some(panic) => format!(
            "its value, a `{ty}`, has no fingerprint: its `weft::Fingerprint` panicked ({panic})"
        ),
        None => format!(
            "its value, a `{ty}`, cannot be fingerprinted (implement weft::Fingerprint or serde::Serialize for it)"
        ),
    }
}

/// Stores `value` as it is encoded, when its codec is exact (nothing to prove by decoding
/// the bytes) and the store takes a stream ([`ResultStore::put_stream`]); `None` otherwise.
fn streamed(
    value: &Value,
    format: &str,
    results: &dyn ResultStore,
) -> Option<Result<(), StreamError>> {
    let codec = value.value_type().codec()?;
    let encode_to = codec.encode_to.filter(|_| codec.exact)?;
    let data = value.data().ok()?;
    results.put_stream(&value.version(), format, &mut |out| {
        encode_to(&**data, format, out)
    })
}

/// A value is stored only if it survives the round trip: decoding the bytes must give a value
/// with the same data version (postcard cannot decode self-describing types such as
/// `serde_json::Value`; JSON loses some floats). Otherwise it stays in memory and the cache
/// says why, once. Types whose codec is [`exact`](crate::Codec::exact) (frames) skip the proof.
pub(super) fn encode(value: &Value, format: &str) -> Result<Blob, NotEncoded> {
    let ty = value.value_type();
    let Some(codec) = ty.codec() else {
        return Err(NotEncoded {
            why: format!("its `{}` cannot be serialized", ty.short_name()),
            news: false,
        });
    };
    let bytes = match value.data().and_then(|d| (codec.encode)(&**d, format)) {
        Ok(bytes) => bytes,
        Err(e) => return Err(not_encodable(value, format, e)),
    };
    if codec.exact {
        // Proven for the type (`CacheFormats::EXACT`); checked again when read back.
        return Ok(Blob {
            format: format.to_string(),
            type_name: ty.name().to_string(),
            bytes,
        });
    }
    let round_trip = (codec.decode)(&bytes, format).map(|back| ty.fingerprint(&*back));
    if !matches!(round_trip, Ok(Some(v)) if v == value.version()) {
        let why = match round_trip {
            Err(e) => format!("decoding it fails ({e})"),
            _ => "the decoded value differs".into(),
        };
        return Err(NotEncoded {
            why: format!(
                "its `{}` does not survive a round trip through {format}: {why}; try \
                 #[node(cache(format = \"json\"))] or another type",
                ty.short_name()
            ),
            news: true,
        });
    }
    Ok(Blob {
        format: format.to_string(),
        type_name: ty.name().to_string(),
        bytes,
    })
}
