//! The cache's background writer: encodes and stores results, then batches metadata into one
//! transaction at most every [`COMMIT_EVERY`], and at every flush. A key is committed only after
//! its blob is in place, so a reader (or a crash) never finds a key without its result.

use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::store::{Blob, MetaWrite, MetadataStore, ResultStore};
use crate::value::Value;

/// The longest a finished node's metadata waits before it is committed.
pub const COMMIT_EVERY: Duration = Duration::from_millis(50);

pub(crate) enum Msg {
    /// Store `value` in `format`, then record `key` (a `MetaWrite::Key`).
    Store {
        value: Value,
        format: String,
        key: MetaWrite,
    },
    Meta(MetaWrite),
    Flush(Sender<()>),
}

pub(crate) struct Writer {
    tx: Mutex<Option<Sender<Msg>>>,
    handle: Mutex<Option<JoinHandle<()>>>,
}

impl Writer {
    pub(crate) fn start(meta: Arc<dyn MetadataStore>, results: Arc<dyn ResultStore>) -> Writer {
        let (tx, rx) = channel();
        let handle = std::thread::Builder::new()
            .name("weft-cache-writer".into())
            .spawn(move || run(rx, &*meta, &*results))
            .ok();
        Writer {
            tx: Mutex::new(Some(tx)),
            handle: Mutex::new(handle),
        }
    }

    pub(crate) fn send(&self, msg: Msg) {
        if let Some(tx) = self.tx.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            if tx.send(msg).is_err() {
                tracing::warn!("weft cache writer has stopped; results of this run are not stored");
            }
        }
    }

    /// Waits until everything sent so far is committed.
    pub(crate) fn flush(&self) {
        let (ack_tx, ack_rx) = channel();
        self.send(Msg::Flush(ack_tx));
        let _ = ack_rx.recv();
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // Closing the channel makes the thread commit what is pending and exit.
        self.tx.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(h) = self.handle.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = h.join();
        }
    }
}

fn run(rx: Receiver<Msg>, meta: &dyn MetadataStore, results: &dyn ResultStore) {
    let mut pending: Vec<MetaWrite> = Vec::new();
    let mut oldest: Option<Instant> = None;
    let commit = |pending: &mut Vec<MetaWrite>, oldest: &mut Option<Instant>| {
        if let Err(e) = meta.write(pending) {
            tracing::warn!(error = %e, "weft cache: could not commit metadata");
        }
        pending.clear();
        *oldest = None;
    };
    loop {
        let wait = oldest.map_or(Duration::from_secs(3600), |t| {
            COMMIT_EVERY.saturating_sub(t.elapsed())
        });
        match rx.recv_timeout(wait) {
            Ok(Msg::Store { value, format, key }) => {
                if store(results, &value, &format) {
                    pending.push(key);
                    oldest.get_or_insert_with(Instant::now);
                }
            }
            Ok(Msg::Meta(w)) => {
                pending.push(w);
                oldest.get_or_insert_with(Instant::now);
            }
            Ok(Msg::Flush(ack)) => {
                commit(&mut pending, &mut oldest);
                let _ = ack.send(());
            }
            Err(RecvTimeoutError::Timeout) => commit(&mut pending, &mut oldest),
            Err(RecvTimeoutError::Disconnected) => {
                commit(&mut pending, &mut oldest);
                return;
            }
        }
        if oldest.is_some_and(|t| t.elapsed() >= COMMIT_EVERY) {
            commit(&mut pending, &mut oldest);
        }
    }
}

/// Encodes and stores one value; false (with a warning) if that failed.
fn store(results: &dyn ResultStore, value: &Value, format: &str) -> bool {
    let version = value.version();
    match results.contains(&version) {
        Ok(true) => return true,
        Ok(false) => {}
        Err(e) => {
            tracing::warn!(error = %e, "weft cache: cannot check the result store");
            return false;
        }
    }
    let ty = value.value_type();
    let Some(codec) = ty.codec() else {
        return false;
    };
    let bytes = match value.data().and_then(|d| (codec.encode)(&**d, format)) {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!(error = %e, r#type = ty.name(), "weft cache: cannot encode a result");
            return false;
        }
    };
    let blob = Blob {
        format: format.to_string(),
        type_name: ty.name().to_string(),
        bytes,
    };
    match results.put(&version, &blob) {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(error = %e, "weft cache: cannot store a result");
            false
        }
    }
}
