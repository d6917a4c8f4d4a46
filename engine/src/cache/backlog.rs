//! [`Backlog`]: how many bytes of large results may wait to be stored.
//!
//! Large values are encoded and stored beside the run (see [`super::encode`]), so a run goes
//! on while its results are written. Without a bound, a run that makes big values faster than
//! they can be encoded holds every one of them until it is stored: a chain of 100 MB frames
//! with the cache on held 35 of them at once. So a node whose large result is to be stored
//! first waits for room: while the results waiting to be stored (queued or being encoded)
//! would exceed the limit with its own, it waits for some to be stored. A result bigger than
//! the limit on its own still goes when nothing waits before it. The wait is a future: the
//! node's thread (or task) holds its value, so the run makes no new value meanwhile.
//!
//! *Architecture invariant*: every byte reserved is released, whatever happens to the
//! item that holds it (stored, found stored already, refused by the store, dropped with a
//! writer that stopped): the reservation is released when dropped.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};

/// The default limit: enough for a few 1,000,000-row frames to be written while the run
/// goes on, small beside a data machine's memory.
pub const DEFAULT_STORE_BACKLOG: usize = 256 << 20;

/// The bytes of large results waiting to be stored, and who waits for room.
#[derive(Debug)]
pub(crate) struct Backlog {
    limit: usize,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    bytes: usize,
    waiting: Vec<Waker>,
}

impl Backlog {
    pub(crate) fn new(limit: usize) -> Arc<Backlog> {
        Arc::new(Backlog {
            limit,
            state: Mutex::default(),
        })
    }

    /// Waits until `bytes` more fit (or nothing waits), then reserves them.
    pub(crate) fn room(self: &Arc<Self>, bytes: usize) -> Room {
        Room {
            backlog: self.clone(),
            bytes,
        }
    }

    /// The bytes reserved now.
    #[cfg(test)]
    fn reserved(&self) -> usize {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .bytes
    }

    fn release(&self, bytes: usize) {
        let waiting = {
            let mut s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            s.bytes = s.bytes.saturating_sub(bytes);
            std::mem::take(&mut s.waiting)
        };
        for w in waiting {
            w.wake();
        }
    }
}

/// A wait for room in the backlog ([`Backlog::room`]).
pub(crate) struct Room {
    backlog: Arc<Backlog>,
    bytes: usize,
}

impl Future for Room {
    type Output = Reserved;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Reserved> {
        let backlog = &self.backlog;
        let mut s = backlog.state.lock().unwrap_or_else(PoisonError::into_inner);
        if s.bytes == 0 || s.bytes.saturating_add(self.bytes) <= backlog.limit {
            s.bytes += self.bytes;
            return Poll::Ready(Reserved {
                backlog: backlog.clone(),
                bytes: self.bytes,
            });
        }
        if !s.waiting.iter().any(|w| w.will_wake(cx.waker())) {
            s.waiting.push(cx.waker().clone());
        }
        Poll::Pending
    }
}

/// Bytes reserved in the backlog, released when dropped (the value is stored, or will not be).
#[derive(Debug)]
pub(crate) struct Reserved {
    backlog: Arc<Backlog>,
    bytes: usize,
}

impl Drop for Reserved {
    fn drop(&mut self) {
        self.backlog.release(self.bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    /// Polls `fut` once with a waker that reports to `woke`.
    fn poll_with<F: Future + Unpin>(fut: &mut F, woke: &mpsc::Sender<()>) -> Poll<F::Output> {
        struct Tell(Mutex<mpsc::Sender<()>>);
        impl std::task::Wake for Tell {
            fn wake(self: Arc<Self>) {
                let _ = self.0.lock().unwrap().send(());
            }
        }
        let waker = Waker::from(Arc::new(Tell(Mutex::new(woke.clone()))));
        Pin::new(fut).poll(&mut Context::from_waker(&waker))
    }

    #[test]
    fn a_value_waits_while_the_backlog_is_full_and_goes_once_one_is_stored() {
        let backlog = Backlog::new(100);
        let (tx, rx) = mpsc::channel();
        let Poll::Ready(first) = poll_with(&mut backlog.room(60), &tx) else {
            panic!("an empty backlog takes a value at once");
        };
        let mut second = backlog.room(60);
        assert!(poll_with(&mut second, &tx).is_pending(), "120 bytes > 100");
        assert!(rx.try_recv().is_err(), "nobody woke it yet");
        drop(first);
        rx.recv_timeout(Duration::from_secs(60))
            .expect("storing the first wakes the second");
        let Poll::Ready(second) = poll_with(&mut second, &tx) else {
            panic!("room once the first is stored");
        };
        assert_eq!(backlog.reserved(), 60);
        drop(second);
        assert_eq!(backlog.reserved(), 0);
    }

    #[test]
    fn a_value_bigger_than_the_limit_goes_when_nothing_waits() {
        let backlog = Backlog::new(10);
        let (tx, _rx) = mpsc::channel();
        let Poll::Ready(big) = poll_with(&mut backlog.room(1000), &tx) else {
            panic!("nothing waits: it goes");
        };
        assert!(poll_with(&mut backlog.room(1), &tx).is_pending());
        drop(big);
        assert!(poll_with(&mut backlog.room(1), &tx).is_ready());
    }

    #[test]
    fn values_that_fit_together_go_together() {
        let backlog = Backlog::new(100);
        let (tx, _rx) = mpsc::channel();
        let a = poll_with(&mut backlog.room(50), &tx);
        let b = poll_with(&mut backlog.room(50), &tx);
        assert!(a.is_ready() && b.is_ready());
        assert_eq!(backlog.reserved(), 100);
    }
}
