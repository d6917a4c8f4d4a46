//! Healing a malformed SQLite file: garbage in any page, the first included, makes SQLite
//! answer `SQLITE_CORRUPT` ("database disk image is malformed") or `SQLITE_NOTADB`. The cache's
//! databases are caches of a cache (metadata) or content-addressed copies of values (small
//! results), so nothing in them is irreplaceable: a malformed file is *quarantined* (moved aside,
//! with its log, under a name that says so) and a fresh one is created in its place, with a
//! notice the cache hands on as a warning. What the old file held is computed again, and the
//! next run caches again.
//!
//! Several processes may find the same damage at once: before moving a file aside, the healer
//! checks that the file now at the path is still malformed (`PRAGMA quick_check`), so a file
//! another process already rebuilt is never moved aside in turn.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use rusqlite::ErrorCode;

use crate::cache::store::StoreError;

/// The healing state of one database file, shared by every connection of a store on it.
#[derive(Debug)]
pub(crate) struct Heal {
    path: PathBuf,
    /// Bumped each time the file is replaced: a connection opened before is stale.
    generation: AtomicU64,
    /// What healing did, for the cache's warnings.
    notices: Mutex<Vec<String>>,
}

/// Whether SQLite says the file is damaged (as opposed to busy, full, read-only, …).
pub(crate) fn is_malformed_sql(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase)
    )
}

/// Whether a store error comes from a damaged SQLite file.
pub(crate) fn is_malformed(e: &StoreError) -> bool {
    match e {
        StoreError::Backend { source, .. } => source
            .downcast_ref::<rusqlite::Error>()
            .is_some_and(is_malformed_sql),
        _ => false,
    }
}

impl Heal {
    pub(crate) fn new(path: &Path) -> Heal {
        Heal {
            path: path.to_path_buf(),
            generation: AtomicU64::new(0),
            notices: Mutex::new(Vec::new()),
        }
    }

    /// How many times the file was replaced so far.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Moves the malformed file (and its log and shared-memory index) aside, unless the file
    /// now at the path is sound (another process healed it first), and says so. Connections
    /// opened before are stale from now on (see [`generation`](Self::generation)).
    pub(crate) fn quarantine(&self, why: &dyn std::fmt::Display) -> Result<(), StoreError> {
        if still_malformed(&self.path) {
            let stamp = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let name = self
                .path
                .file_name()
                .map_or("cache.sqlite".into(), |n| n.to_string_lossy().into_owned());
            let aside = self
                .path
                .with_file_name(format!("{name}.malformed-{stamp}-{}", std::process::id()));
            match std::fs::rename(&self.path, &aside) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(StoreError::Io {
                        context: format!(
                            "{} is malformed ({why}) and cannot be moved aside; delete it \
                             (`weft cache clear` cannot read it)",
                            self.path.display()
                        ),
                        source: e,
                    })
                }
            }
            for suffix in ["-wal", "-shm"] {
                let from = with_suffix(&self.path, suffix);
                let _ = std::fs::rename(&from, with_suffix(&aside, suffix));
            }
            self.notice(format!(
                "{} was malformed ({why}): moved aside to {} and rebuilt empty; what it held is \
                 computed again and cached anew (delete the moved file once you no longer need \
                 it)",
                self.path.display(),
                aside.display()
            ));
        }
        self.generation.fetch_add(1, Ordering::AcqRel);
        Ok(())
    }

    /// Records something the user must hear about.
    pub(crate) fn notice(&self, message: String) {
        tracing::warn!("weft cache: {message}");
        let mut n = self.notices.lock().unwrap_or_else(|p| p.into_inner());
        if !n.contains(&message) {
            n.push(message);
        }
    }

    /// The notices given since the last call.
    pub(crate) fn take_notices(&self) -> Vec<String> {
        std::mem::take(&mut *self.notices.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Whether the file at `path` exists and fails SQLite's own check (or cannot be read as a
/// database at all).
fn still_malformed(path: &Path) -> bool {
    if !path.exists() {
        return false;
    }
    let check = || -> rusqlite::Result<bool> {
        let c = rusqlite::Connection::open(path)?;
        super::busy::wait_when_busy(&c)?;
        let first: String = c.query_row("PRAGMA quick_check(1)", [], |r| r.get(0))?;
        Ok(first != "ok")
    };
    check().unwrap_or(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sound_file_is_left_in_place_and_a_malformed_one_moved_aside() {
        let dir = std::env::temp_dir().join(format!("weft-heal-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("x.sqlite");
        rusqlite::Connection::open(&path)
            .unwrap()
            .execute_batch("CREATE TABLE t(a)")
            .unwrap();
        let heal = Heal::new(&path);
        heal.quarantine(&"test").unwrap();
        assert!(path.exists(), "a sound file stays");
        assert!(heal.take_notices().is_empty());
        assert_eq!(heal.generation(), 1);

        std::fs::write(&path, vec![0xA5u8; 8192]).unwrap();
        heal.quarantine(&"test").unwrap();
        assert!(!path.exists(), "a malformed file goes");
        let notices = heal.take_notices();
        assert_eq!(notices.len(), 1, "{notices:?}");
        assert!(notices[0].contains("moved aside"), "{notices:?}");
        let moved: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            moved.iter().any(|n| n.starts_with("x.sqlite.malformed-")),
            "{moved:?}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
