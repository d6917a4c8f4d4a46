//! The cache's background writer: encodes and stores results, then batches metadata into one
//! transaction at most every [`COMMIT_EVERY`] (less often when commits are slow, see
//! [`commit_interval`](super::pending::commit_interval)), and at every flush. A key is
//! committed only after its blob is in place, so a reader (or a crash) never finds a key
//! without its result. What waits for a commit is [`Pending`]'s.

pub(crate) use crate::warnings::Warnings;
use std::sync::mpsc::{channel, sync_channel, Receiver, RecvTimeoutError, Sender, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use super::encode::{encode, Encoders, ENCODERS_POLL, ENCODE_BESIDE_BYTES};
use super::pending::{Pending, COMMIT_EVERY, ITEM_BYTES};
use super::store::{MetaWrite, MetadataStore, Moment, ResultStore, StoreError};
use super::Place;
use crate::fingerprint::DataVersion;
use crate::value::Value;

/// How many messages (batches of up to 64 items) may wait for the writer.
const WRITER_QUEUE: usize = 32;

/// A loaded value smaller than this is encoded and put without asking the store first whether
/// it has it: putting a version again is a no-op (`ResultStore::put`), and for a small value
/// costs less than the question (a cold million-node run spent a tenth of its time asking).
const ASK_FIRST_BYTES: usize = 4096;

/// Whether to ask the store for `value` before encoding it: it is large, or not loaded (a
/// worker's result, which encoding would fetch into this process).
fn ask_first(value: &Value) -> bool {
    !value.is_loaded() || value.resident_size() >= ASK_FIRST_BYTES
}

pub(crate) enum Item {
    /// Store `value` in `format`, then record `key` (a `MetaWrite::Key`).
    Store {
        value: Value,
        format: String,
        key: MetaWrite,
        /// Its room in the backlog (a large value), released once it is stored or dropped.
        held: Option<super::backlog::Reserved>,
    },
    /// A large value and its node's record, completed here: the value is fingerprinted on the
    /// writer's thread rather than as its node ends (the run goes on meanwhile), then, when
    /// `keep` says in which format and under which cache key, stored like a
    /// [`Store`](Item::Store) — or, when it turns out to have no fingerprint, recorded as kept
    /// in memory only, with a warning. With no `keep` (a node whose behaviour stores nothing:
    /// `disable`, `ignore`) only the record's version is taken here.
    Settle {
        value: Value,
        keep: Option<(String, super::CacheKey)>,
        record: Box<super::Draft>,
        held: Option<super::backlog::Reserved>,
    },
    Meta(MetaWrite),
    /// A node's record, as drafted (handed to the store with the batch's others).
    Record(Box<super::Draft>),
    /// The records of a run answered from the cache.
    Records(Vec<super::Draft>),
    /// A run's lease, released once what came before it is committed.
    Release(super::lease::Lease),
}

impl Item {
    /// The value and its room in the backlog, for an item that stores one.
    pub(crate) fn room(&mut self) -> Option<(&Value, &mut Option<super::backlog::Reserved>)> {
        match self {
            Item::Store { value, held, .. } | Item::Settle { value, held, .. } => {
                Some((&*value, held))
            }
            _ => None,
        }
    }

    /// The items a [`Settle`](Item::Settle) comes to once its value is fingerprinted (this
    /// item itself otherwise): the value to store, then the record saying so; or the record
    /// alone, with its version when it has one, saying why nothing is stored when something
    /// should have been.
    fn settled(self, warn: &Warnings) -> smallvec::SmallVec<[Item; 2]> {
        let Item::Settle {
            value,
            keep,
            mut record,
            held,
        } = self
        else {
            return smallvec::smallvec![self];
        };
        record.data_version = value.is_fingerprinted().then(|| value.version());
        let Some((format, cache_key)) = keep else {
            return smallvec::smallvec![Item::Record(record)];
        };
        let Some(data_version) = record.data_version else {
            record.kept_in_memory(super::encode::unfingerprinted(&value), warn);
            return smallvec::smallvec![Item::Record(record)];
        };
        let key = MetaWrite::Key {
            cache_key,
            node: record.name.to_string(),
            data_version,
        };
        smallvec::smallvec![
            Item::Store {
                value,
                format,
                key,
                held
            },
            Item::Record(record)
        ]
    }
}

pub(crate) enum Msg {
    Items(Vec<Item>),
    /// Commit what is pending now (a run ended); nobody waits.
    Commit,
    Flush(Sender<()>),
    /// The driver is done: commit, fold long logs, acknowledge, and stop.
    Close(Sender<()>),
}

pub(crate) struct Writer {
    tx: Mutex<Option<SyncSender<Msg>>>,
    handle: Mutex<Option<JoinHandle<()>>>,
}

/// What the writer thread sends back once it has opened the stores.
pub(crate) type Opened = Result<(Arc<dyn MetadataStore>, Arc<dyn ResultStore>), StoreError>;

impl Writer {
    /// Starts the writer thread, which opens the stores with `open` (sending them, or why they
    /// cannot be opened, on `opened`), reads the first run's hints (sent on `hints`), folds
    /// long logs and then writes what it is sent. All of it happens while the driver's thread
    /// builds the graph.
    pub(crate) fn spawn(
        open: impl FnOnce() -> Opened + Send + 'static,
        warn: Warnings,
        opened: Sender<Opened>,
        hints: Sender<super::Hints>,
    ) -> Result<Writer, StoreError> {
        // Bounded: a run that computes faster than the writer can store waits for it rather
        // than queueing its whole output in memory (a million-node cold run otherwise held
        // gigabytes of pending values and records).
        let (tx, rx) = sync_channel(WRITER_QUEUE);
        let handle = std::thread::Builder::new()
            .name("weft-cache-writer".into())
            .spawn(move || {
                let (meta, results) = match open() {
                    Ok(stores) => {
                        let _ = opened.send(Ok(stores.clone()));
                        stores
                    }
                    Err(e) => {
                        let _ = opened.send(Err(e));
                        return;
                    }
                };
                let _ = hints.send(super::read_hints(&*meta, &warn));
                run(rx, &*meta, results, warn)
            })
            .map_err(StoreError::io(
                "starting the cache's writer thread".to_string(),
            ))?;
        Ok(Writer {
            tx: Mutex::new(Some(tx)),
            handle: Mutex::new(Some(handle)),
        })
    }

    pub(crate) fn send(&self, msg: Msg) {
        if let Some(tx) = self.tx.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            if tx.send(msg).is_err() {
                tracing::warn!("weft cache writer has stopped; results of this run are not stored");
            }
        }
    }

    /// Asks for everything sent so far to be committed, without waiting.
    pub(crate) fn commit(&self) {
        self.send(Msg::Commit);
    }

    /// Waits until everything sent so far is committed.
    pub(crate) fn flush(&self) {
        let (ack_tx, ack_rx) = channel();
        self.send(Msg::Flush(ack_tx));
        let _ = ack_rx.recv();
    }
}

/// The live writers of this process, by the stores they write to (see [`settle`]).
static LIVE: Mutex<Vec<(Place, std::sync::Weak<Writer>)>> = Mutex::new(Vec::new());

fn canonical(place: Place) -> Place {
    match place {
        Place::Dir(dir) => Place::Dir(std::fs::canonicalize(&dir).unwrap_or(dir)),
        stores => stores,
    }
}

impl Writer {
    /// Shares the writer and lists it as live on `place`.
    pub(crate) fn register(self, place: Place) -> Arc<Writer> {
        let w = Arc::new(self);
        let mut live = LIVE.lock().unwrap_or_else(|p| p.into_inner());
        live.retain(|(_, w)| w.strong_count() > 0);
        live.push((canonical(place), Arc::downgrade(&w)));
        w
    }
}

/// Waits until the live writers of this process on `place` have committed what they were
/// sent: a driver opened on a directory (or on stores) sees the runs other drivers of the
/// process finished.
pub(crate) fn settle(place: &Place) {
    let place = canonical(place.clone());
    let writers: Vec<Arc<Writer>> = LIVE
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .filter(|(d, _)| *d == place)
        .filter_map(|(_, w)| w.upgrade())
        .collect();
    for w in writers {
        w.flush();
    }
}

impl Drop for Writer {
    /// Waits until everything sent is committed, then lets the thread go without joining it:
    /// it only has to drop its handles on the stores (closing their connections), which need
    /// not hold up the end of a short process. Exiting before that is safe: every transaction
    /// is committed, and an unclosed SQLite connection in WAL mode is a closed one to the next
    /// process.
    fn drop(&mut self) {
        let (ack_tx, ack_rx) = channel();
        self.send(Msg::Close(ack_tx));
        let _ = ack_rx.recv();
        // Closing the channel ends the thread.
        self.tx.lock().unwrap_or_else(|p| p.into_inner()).take();
        self.handle.lock().unwrap_or_else(|p| p.into_inner()).take();
    }
}

fn run(
    rx: Receiver<Msg>,
    meta: &dyn MetadataStore,
    shared_results: Arc<dyn ResultStore>,
    warn: Warnings,
) {
    let results = &*shared_results;
    let mut encoders = Encoders::new(shared_results.clone(), warn.clone());
    // A run ended and asked for a commit, which waits for the encoders at work.
    let mut commit_asked = false;
    // The stores' upkeep as a driver opens them happens here, off the run's thread, while the
    // run starts (SQLite folds a long log that earlier processes left: a short log is cheap to
    // open for the next process, and the checkpoint's fsyncs do not hold up a run's end).
    meta.maintain(Moment::Open);
    results.maintain(Moment::Open);
    let mut pending = Pending {
        interval: COMMIT_EVERY,
        ..Pending::default()
    };
    loop {
        let mut wait = pending.oldest.map_or(Duration::from_secs(3600), |t| {
            pending.interval.saturating_sub(t.elapsed())
        });
        if encoders.busy() {
            // Commits wait for them (below): look again for what they finished in a moment,
            // rather than at once (an elapsed interval would make this a busy loop).
            wait = ENCODERS_POLL;
        }
        match rx.recv_timeout(wait) {
            Ok(Msg::Items(items)) => {
                let items: Vec<Item> = items.into_iter().flat_map(|i| i.settled(&warn)).collect();
                // Which values are stored already, asked once for the batch, of those worth
                // asking about (see `ask_first`).
                let versions: Vec<DataVersion> = items
                    .iter()
                    .filter_map(|i| match i {
                        Item::Store { value, .. } if ask_first(value) => Some(value.version()),
                        _ => None,
                    })
                    .collect();
                let mut stored = results.contains_many(&versions).into_iter();
                // A value two nodes share (a frame node returning its with_columns frame) is
                // encoded once per batch.
                let mut encoded: rustc_hash::FxHashMap<DataVersion, usize> = Default::default();
                for item in items {
                    match item {
                        Item::Store {
                            value,
                            format,
                            key,
                            held,
                        } => {
                            pending.attempt(&key);
                            let asked = ask_first(&value);
                            let known = asked && stored.next().unwrap_or(false);
                            if known {
                                pending.meta.push(key);
                                continue;
                            }
                            // A value being encoded beside the writer: the key waits for it.
                            let Some(key) = encoders.join(value.version(), key) else {
                                continue;
                            };
                            if let Some(&at) = encoded.get(&value.version()) {
                                // Committed with the first's blob, once that is stored.
                                pending.blob_keys.push((key, at));
                                continue;
                            }
                            if value.resident_size() >= ENCODE_BESIDE_BYTES {
                                encoders.start(value, format, key, held, &mut pending);
                                continue;
                            }
                            let node = match &key {
                                MetaWrite::Key { node, .. } => node.as_str(),
                                _ => "?",
                            };
                            match encode(&value, &format) {
                                Ok(blob) => {
                                    let at = pending.blobs.len();
                                    encoded.insert(value.version(), at);
                                    pending.bytes += blob.bytes.len() + ITEM_BYTES;
                                    pending.blobs.push((value.version(), blob));
                                    pending.blob_keys.push((key, at));
                                }
                                // Not asked about first (small): the store may hold it in a
                                // form this process cannot make (a fan-out's items, stored by
                                // the workers that made them).
                                Err(_)
                                    if !asked
                                        && results.contains(&value.version()).unwrap_or(false) =>
                                {
                                    pending.meta.push(key)
                                }
                                Err(e) => {
                                    e.say(node, &warn);
                                    pending.unstorable(&key, e.why)
                                }
                            }
                        }
                        // None is left: `settled` above made each what it comes to.
                        Item::Settle { .. } => {}
                        Item::Meta(w) => pending.record(w),
                        Item::Record(d) => pending.draft(*d),
                        Item::Records(ds) => pending.drafts(ds),
                        Item::Release(lease) => pending.leases.push(lease),
                    }
                }
                pending.touch();
            }
            // Committed below once the encoders are done: the run's records and its lease wait
            // for the keys of the values they are encoding.
            Ok(Msg::Commit) => {
                pending.touch();
                commit_asked = true;
            }
            Ok(Msg::Close(ack)) => {
                encoders.settle(&mut pending, true);
                pending.commit(meta, results, &warn);
                meta.maintain(Moment::Close);
                results.maintain(Moment::Close);
                let _ = ack.send(());
                return;
            }
            Ok(Msg::Flush(ack)) => {
                encoders.settle(&mut pending, true);
                pending.commit(meta, results, &warn);
                let _ = ack.send(());
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                encoders.settle(&mut pending, true);
                pending.commit(meta, results, &warn);
                return;
            }
        }
        // A commit never runs while an encoder is at work (unless overdue, then after it):
        // what it commits must not include a record saying `executed`, or release a run's
        // lease, before the key of that value is committed.
        encoders.settle(&mut pending, false);
        if (commit_asked || pending.due()) && (!encoders.busy() || pending.overdue()) {
            encoders.settle(&mut pending, true);
            pending.commit(meta, results, &warn);
            commit_asked = false;
        }
    }
}
