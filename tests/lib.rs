//! Shared fixtures for weft's integration tests.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A path in the system's temporary directory that nothing is at: unique to this process,
/// `suite` and `name`, and to each call.
pub fn temp_dir(suite: &str, name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let d = std::env::temp_dir().join(format!(
        "weft-{suite}-test-{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&d);
    d
}

pub mod remote_support;
pub mod stores;

/// The longest a test waits for something that must happen (a thread arriving, a child
/// process reaching a point, a file appearing): reached only when it never happens, so never a
/// guess at how fast anything runs.
pub const PATIENCE: std::time::Duration = std::time::Duration::from_secs(120);

/// A rendezvous that proves work overlapped, without timing: each caller of [`meet`] waits
/// until `together` callers have been inside at once.
///
/// If that never happens (the work ran one at a time), the first caller gives up after
/// [`PATIENCE`], later callers do not wait, and [`peak`] tells how many ever were inside.
///
/// [`meet`]: Overlap::meet
/// [`peak`]: Overlap::peak
pub struct Overlap {
    state: std::sync::Mutex<OverlapState>,
    changed: std::sync::Condvar,
}

struct OverlapState {
    live: usize,
    peak: usize,
    gave_up: bool,
}

impl Default for Overlap {
    fn default() -> Self {
        Overlap::new()
    }
}

impl Overlap {
    /// Nobody inside yet.
    pub const fn new() -> Overlap {
        Overlap {
            state: std::sync::Mutex::new(OverlapState {
                live: 0,
                peak: 0,
                gave_up: false,
            }),
            changed: std::sync::Condvar::new(),
        }
    }

    /// Enters, waits until `together` callers have been inside at once, and leaves.
    pub fn meet(&self, together: usize) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.live += 1;
        s.peak = s.peak.max(s.live);
        self.changed.notify_all();
        let (mut s, waited) = self
            .changed
            .wait_timeout_while(s, PATIENCE, |s| s.peak < together && !s.gave_up)
            .unwrap_or_else(|p| p.into_inner());
        if waited.timed_out() {
            s.gave_up = true;
            self.changed.notify_all();
        }
        s.live -= 1;
    }

    /// The most callers that were inside at once.
    pub fn peak(&self) -> usize {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).peak
    }
}
