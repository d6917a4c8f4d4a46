//! Leases: how a cache directory knows which of its runs are alive.
//!
//! A run on a cache directory holds two file locks (`flock`, released by the operating system
//! when the process dies, however it dies):
//!
//! - its own lease, `leases/<run id>.lease`, locked exclusively from before its start is
//!   recorded until after its end is committed. A run recorded as `running` whose lease is free
//!   (or gone) was killed: it is shown as `interrupted`.
//! - a shared lock on `leases/gc.lock`. [`Cache::gc`](super::Cache::gc) takes it exclusively,
//!   without waiting: when it cannot, runs are alive, and gc collects nothing (what they wrote
//!   or are about to read stays); while gc holds it, a run waits before it starts.
//!
//! A lease is created locked under a temporary name and renamed into place, so nobody ever
//! finds a live run's lease unlocked.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::store::StoreError;
use crate::files::{write_whole_with, Durability};

/// The directory of a cache's leases.
fn leases(dir: &Path) -> PathBuf {
    dir.join("leases")
}

fn lease_path(dir: &Path, run_id: &str) -> PathBuf {
    leases(dir).join(format!("{run_id}.lease"))
}

fn gc_lock(dir: &Path) -> Result<File, StoreError> {
    let dir = leases(dir);
    std::fs::create_dir_all(&dir).map_err(StoreError::io(format!("creating {}", dir.display())))?;
    let path = dir.join("gc.lock");
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(StoreError::io(format!("opening {}", path.display())))
}

/// A live run's hold on its cache directory (released when dropped, after the run's end is
/// committed).
#[derive(Debug)]
pub(crate) struct Lease {
    path: PathBuf,
    _lease: File,
    _gc: File,
}

impl Lease {
    /// Takes the leases of run `run_id` on `dir` (waiting while a gc is under way).
    pub(crate) fn take(dir: &Path, run_id: &str) -> Result<Lease, StoreError> {
        let gc = gc_lock(dir)?;
        gc.lock_shared().map_err(StoreError::io(
            "waiting for a gc of the cache to end".to_string(),
        ))?;
        let path = lease_path(dir, run_id);
        let fresh = leases(dir).join(format!("{run_id}.{}.new", std::process::id()));
        let lease = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&fresh)
            .map_err(StoreError::io(format!("creating {}", fresh.display())))?;
        let locked = lease.lock().and_then(|()| std::fs::rename(&fresh, &path));
        if let Err(e) = locked {
            let _ = std::fs::remove_file(&fresh);
            return Err(StoreError::Io {
                context: format!("taking the lease {}", path.display()),
                source: e,
            });
        }
        Ok(Lease {
            path,
            _lease: lease,
            _gc: gc,
        })
    }
}

impl Drop for Lease {
    /// Removes the lease file (still locked: nobody takes a removed lease for a dead run's),
    /// then unlocks by closing.
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Whether run `run_id` holds its lease on `dir` (is alive, in this process or another).
pub(crate) fn is_live(dir: &Path, run_id: &str) -> bool {
    let Ok(f) = File::open(lease_path(dir, run_id)) else {
        return false;
    };
    matches!(f.try_lock(), Err(TryLockError::WouldBlock))
}

/// Exclusive hold on a cache directory for a gc: `None` when runs are alive.
pub(crate) struct GcHold(#[allow(dead_code)] File);

/// Takes the gc hold on `dir` unless runs are alive (never waits).
pub(crate) fn hold_for_gc(dir: &Path) -> Result<Option<GcHold>, StoreError> {
    let f = gc_lock(dir)?;
    match f.try_lock() {
        Ok(()) => Ok(Some(GcHold(f))),
        Err(TryLockError::WouldBlock) => Ok(None),
        Err(TryLockError::Error(e)) => Err(StoreError::Io {
            context: "locking the cache for gc".into(),
            source: e,
        }),
    }
}

/// How many gcs have collected in `dir` (0 when none ever did): a driver that read the last
/// run's keys before a gc drops them (they may name results the gc removed).
pub(crate) fn gc_count(dir: &Path) -> u64 {
    std::fs::read(leases(dir).join("gc.count"))
        .ok()
        .and_then(|b| <[u8; 8]>::try_from(&b[..]).ok())
        .map_or(0, u64::from_le_bytes)
}

/// Counts one more gc (written [whole](crate::files::write_whole) or not at all).
pub(crate) fn count_gc(dir: &Path, _hold: &GcHold) -> Result<(), StoreError> {
    let next = gc_count(dir) + 1;
    let path = leases(dir).join("gc.count");
    write_whole_with(&path, Durability::Synced, |f| {
        f.write_all(&next.to_le_bytes())
    })
    .map_err(StoreError::io(format!("writing {}", path.display())))
}

/// Removes the lease files runs killed long ago left (their lock is free), and what an
/// interrupted gc count left; returns how many.
pub(crate) fn sweep(dir: &Path, _hold: &GcHold) -> usize {
    let Ok(entries) = std::fs::read_dir(leases(dir)) else {
        return 0;
    };
    let mut removed = 0;
    for e in entries.flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        // What an interrupted `count_gc` left: written only under the hold the caller has.
        if name.starts_with(".gc.count.") && name.ends_with(".tmp") {
            removed += usize::from(std::fs::remove_file(e.path()).is_ok());
            continue;
        }
        if !(name.ends_with(".lease") || (name.ends_with(".new") && !name.starts_with("gc."))) {
            continue;
        }
        let Ok(f) = File::open(e.path()) else {
            continue;
        };
        if f.try_lock().is_ok() && std::fs::remove_file(e.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_is_live_until_dropped_and_gc_waits_for_live_runs() {
        let dir = std::env::temp_dir().join(format!("weft-lease-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        assert!(!is_live(&dir, "r1"));
        let lease = Lease::take(&dir, "r1").unwrap();
        assert!(is_live(&dir, "r1"));
        assert!(hold_for_gc(&dir).unwrap().is_none(), "a live run stops gc");
        drop(lease);
        assert!(!is_live(&dir, "r1"));
        let hold = hold_for_gc(&dir).unwrap().expect("no live run");
        // A lease left by a killed run: a file nobody locks.
        std::fs::write(leases(&dir).join("r2.lease"), b"").unwrap();
        assert!(!is_live(&dir, "r2"));
        // And what a gc killed while counting left.
        std::fs::write(leases(&dir).join(".gc.count.Ab12Cd.tmp"), b"").unwrap();
        count_gc(&dir, &hold).unwrap();
        assert_eq!(gc_count(&dir), 1);
        assert_eq!(sweep(&dir, &hold), 2);
        assert_eq!(gc_count(&dir), 1, "the count itself stays");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
