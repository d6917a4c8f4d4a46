//! Shared fixtures for weft's integration tests.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

/// A path that nothing is at, for one test's files: unique to this process, `suite` and `name`,
/// and to each call.
///
/// Every path of a test process lies under one directory of its own in the system's temporary
/// directory, `weft-tests-<pid>`; the first call in a process removes those of processes that
/// are gone, so runs do not leave their files behind (a test keeps what it wrote while it runs,
/// for a failure to be looked at, until the next run).
pub fn temp_dir(suite: &str, name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let d = process_dir().join(format!(
        "{suite}-{name}-{}",
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// This process's directory under the system's temporary directory (created on first use,
/// after sweeping the directories of processes that no longer run).
fn process_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let tmp = std::env::temp_dir();
        sweep_dead_processes(&tmp);
        let dir = tmp.join(format!("{PROCESS_DIR_PREFIX}{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| {
            panic!("cannot create the tests' directory {}: {e}", dir.display())
        });
        dir
    })
}

const PROCESS_DIR_PREFIX: &str = "weft-tests-";

/// Removes `weft-tests-<pid>` directories in `tmp` whose process is gone (`/proc/<pid>` is
/// absent; nothing without procfs). Best effort: another test process may be sweeping the same directory.
fn sweep_dead_processes(tmp: &Path) {
    if !Path::new("/proc/self").exists() {
        return; // no procfs: whether a process runs is unknown here, so nothing is removed
    }
    let Ok(entries) = std::fs::read_dir(tmp) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(PROCESS_DIR_PREFIX))
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if !Path::new("/proc").join(pid.to_string()).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

pub mod remote_support;
pub mod stores;

/// What a finished `cache_child` process (`tests/bin/cache_child.rs`) printed: each node's
/// status by name, and its `summary total=…` line. Fails the test, with the child's stderr,
/// when the child did not succeed.
pub fn cache_child_results(
    out: &std::process::Output,
) -> (std::collections::BTreeMap<String, String>, String) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let mut statuses = std::collections::BTreeMap::new();
    let mut summary = String::new();
    for line in text.lines() {
        let (k, v) = line
            .split_once(' ')
            .unwrap_or_else(|| panic!("not a `NODE STATUS` line: {line:?}"));
        if k == "summary" && v.starts_with("total=") {
            summary = v.to_string();
        } else {
            statuses.insert(k.to_string(), v.to_string());
        }
    }
    (statuses, summary)
}

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

/// Implements `weft::CacheFormats` for a newtype over `u64`, stored as its 8 little-endian
/// bytes (format `"le"`): for the test types whose fingerprint or size is the point. With
/// `large`, also `weft::MemorySize` saying 2 MiB: a value the cache's writer fingerprints and
/// encodes beside the run (its threshold is 1 MiB).
#[macro_export]
macro_rules! stored_as_le {
    ($ty:ident, large) => {
        $crate::large!($ty);
        $crate::stored_as_le!($ty);
    };
    ($ty:ident) => {
        impl weft::CacheFormats for $ty {
            const FORMATS: &'static [&'static str] = &["le"];
            fn encode(&self, _format: &str) -> Result<Vec<u8>, String> {
                Ok(self.0.to_le_bytes().to_vec())
            }
            fn decode(bytes: &[u8], _format: &str) -> Result<Self, String> {
                let raw: [u8; 8] = bytes.try_into().map_err(|_| "not 8 bytes".to_string())?;
                Ok($ty(u64::from_le_bytes(raw)))
            }
        }
    };
}

/// Implements `weft::MemorySize` saying 2 MiB for a test type: a value the cache's writer
/// fingerprints and encodes beside the run (its threshold is 1 MiB).
#[macro_export]
macro_rules! large {
    ($ty:ident) => {
        impl weft::MemorySize for $ty {
            fn heap_size(&self) -> usize {
                2 << 20
            }
        }
    };
}
