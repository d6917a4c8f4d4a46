//! SQLite connections as the cache uses them: opened in WAL mode (retrying the steps SQLite's
//! busy handler does not wait for), brought to a versioned layout, opened lazily by whichever
//! thread needs them first, and the write-ahead log folded when it has grown long.

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::Connection;

use super::heal::{is_malformed, Heal};

use crate::cache::store::{Moment, StoreError};

/// Opens a connection in WAL mode; with `schema`, brings the file to layout `version` first
/// (running `schema` in one transaction when `PRAGMA user_version` differs). Several processes
/// may do this at once on a new file: switching to WAL and creating tables take locks that
/// SQLite's busy handler does not always wait for, so those steps are retried for a while.
pub(crate) fn open(path: &Path, schema: Option<Layout>) -> Result<Connection, StoreError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(StoreError::io(format!("creating {}", dir.display())))?;
    }
    let mut c = Connection::open(path).map_err(StoreError::sql("opening the database"))?;
    super::busy::wait_when_busy(&c).map_err(StoreError::sql("setting the busy handler"))?;
    retry_busy(|| c.pragma_update(None, "journal_mode", "WAL"))
        .map_err(StoreError::sql("enabling WAL"))?;
    c.pragma_update(None, "synchronous", "NORMAL")
        .map_err(StoreError::sql("setting synchronous"))?;
    // Up to 64 MiB of pages in memory (SQLite's default is 2 MiB): keys are random, so at a
    // million of them every insert and lookup would otherwise read its b-tree pages back
    // from the file. Pages are only held once read, so a small cache costs nothing more.
    c.pragma_update(None, "cache_size", -65536)
        .map_err(StoreError::sql("setting cache_size"))?;
    // After a checkpoint, the log restarts and its file is cut back to nothing: its size then
    // tells how much a new process would have to read (see `checkpoint`).
    c.pragma_update(None, "journal_size_limit", 0)
        .map_err(StoreError::sql("setting journal_size_limit"))?;
    // Closing is part of every short CLI run: leave the WAL for the cache's writer thread,
    // which checkpoints a long one when the next process starts (`checkpoint`, in the
    // background), and for the automatic checkpoints of long-lived processes (1,000 pages).
    c.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
        true,
    )
    .map_err(StoreError::sql("configuring checkpoints"))?;
    if let Some(layout) = schema {
        // A newer weft's file is left as it is: taking it for an older layout would drop it.
        let found = user_version(&c).map_err(StoreError::sql("reading the layout's version"))?;
        if found > layout.version {
            return Err(StoreError::Other(newer_layout(path, found, layout.version)));
        }
        retry_busy(|| migrate(&mut c, layout)).map_err(StoreError::sql("creating tables"))?;
    }
    Ok(c)
}

/// A database's layout: the SQL that creates it, its version (in `PRAGMA user_version`), and
/// in-place upgrades from older versions.
#[derive(Clone, Copy)]
pub(crate) struct Layout {
    pub(crate) schema: &'static str,
    pub(crate) version: i64,
    pub(crate) upgrades: &'static [(i64, Upgrade)],
}

/// One step from a layout version to the next, inside the migration's transaction.
pub(crate) type Upgrade = fn(&Connection) -> rusqlite::Result<()>;

pub(super) fn user_version(c: &Connection) -> rusqlite::Result<i64> {
    c.query_row("PRAGMA user_version", [], |r| r.get(0))
}

/// Brings the file to the layout's version unless it is there already (checked again under the
/// write lock, so that of several processes opening a file only one changes it): step by step
/// through the upgrades from its version, or else by running the schema.
fn migrate(c: &mut Connection, layout: Layout) -> rusqlite::Result<()> {
    if user_version(c)? == layout.version {
        return Ok(());
    }
    let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let mut at = user_version(&tx)?;
    if at > layout.version {
        // Upgraded by a newer weft since `open` looked: nothing is changed.
        return Err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ERROR),
            Some(format!(
                "layout {at} is newer than this weft's ({})",
                layout.version
            )),
        ));
    }
    while at != layout.version {
        match layout.upgrades.iter().find(|(from, _)| *from == at) {
            Some((_, step)) => {
                step(&tx)?;
                at += 1;
            }
            None => {
                tx.execute_batch(layout.schema)?;
                at = layout.version;
            }
        }
    }
    tx.pragma_update(None, "user_version", layout.version)?;
    tx.commit()
}

/// What to say about a database at `path` in layout `found`, newer than this weft's `reads`.
fn newer_layout(path: &Path, found: i64, reads: i64) -> String {
    format!(
        "{} was written by a newer weft (layout {found}; this weft reads layouts up to \
         {reads}) and is left untouched: use that weft or a newer one with it, or give this one \
         another cache directory",
        path.display()
    )
}

fn retry_busy<T>(mut f: impl FnMut() -> rusqlite::Result<T>) -> rusqlite::Result<T> {
    let mut tries = 0;
    loop {
        match f() {
            Err(e)
                if matches!(
                    e.sqlite_error_code(),
                    Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
                ) =>
            {
                let Some(pause) = super::busy::pause(tries) else {
                    return Err(e);
                };
                std::thread::sleep(pause);
                tries += 1;
            }
            other => return other,
        }
    }
}

/// A connection opened at its first use, by whichever thread needs it first (the cache's
/// writer thread opens its connections while the run's thread builds and starts the run).
///
/// A file found malformed as it is opened is quarantined and created afresh (see [`Heal`]);
/// connections of the same file share one [`Heal`], and one opened before the file was
/// replaced is reopened at its next use.
pub(crate) struct LazyConn {
    path: std::path::PathBuf,
    schema: Option<Layout>,
    heal: Arc<Heal>,
    conn: Mutex<Option<(Connection, u64)>>,
}

impl LazyConn {
    pub(crate) fn new(path: &Path, schema: Option<Layout>) -> LazyConn {
        LazyConn::sharing(path, schema, Arc::new(Heal::new(path)))
    }

    /// A connection to the same file as others that share `heal`.
    pub(crate) fn sharing(path: &Path, schema: Option<Layout>, heal: Arc<Heal>) -> LazyConn {
        LazyConn {
            path: path.to_path_buf(),
            schema,
            heal,
            conn: Mutex::new(None),
        }
    }

    /// The file's healing state.
    pub(crate) fn heal(&self) -> &Arc<Heal> {
        &self.heal
    }

    fn current(&self, slot: &Option<(Connection, u64)>) -> bool {
        slot.as_ref()
            .is_some_and(|(_, g)| *g == self.heal.generation())
    }

    /// The connection, locked, if it is open.
    pub(crate) fn get_if_open(&self) -> Option<ConnGuard<'_>> {
        let guard = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        self.current(&guard).then_some(ConnGuard(guard))
    }

    /// The connection if it is open and free now (never waits).
    pub(crate) fn try_get_open(&self) -> Option<ConnGuard<'_>> {
        let guard = self.conn.try_lock().ok()?;
        self.current(&guard).then_some(ConnGuard(guard))
    }

    /// The connection, locked; opened now if it is not yet (or is stale: the file was
    /// replaced). A file that is malformed is quarantined and created afresh.
    pub(crate) fn get(&self) -> Result<ConnGuard<'_>, StoreError> {
        let mut guard = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        if !self.current(&guard) {
            *guard = None;
            let mut generation = self.heal.generation();
            let c = match open(&self.path, self.schema) {
                Err(e) if is_malformed(&e) => {
                    self.heal.quarantine(&e)?;
                    generation = self.heal.generation();
                    open(&self.path, self.schema)?
                }
                other => other?,
            };
            *guard = Some((c, generation));
        }
        Ok(ConnGuard(guard))
    }

    /// Closes the connection (the next [`get`](Self::get) opens it again).
    pub(crate) fn close(&self) {
        *self.conn.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

/// A locked, open [`LazyConn`].
pub(crate) struct ConnGuard<'a>(std::sync::MutexGuard<'a, Option<(Connection, u64)>>);

impl std::ops::Deref for ConnGuard<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        &self.0.as_ref().expect("opened by LazyConn::get").0
    }
}

impl std::ops::DerefMut for ConnGuard<'_> {
    fn deref_mut(&mut self) -> &mut Connection {
        &mut self.0.as_mut().expect("opened by LazyConn::get").0
    }
}

/// Runs `f`; when it fails because the file is malformed, closes `conns` (every connection of
/// the store on that file), quarantines the file and runs `f` once more on a fresh one.
pub(crate) fn healing<T>(
    conns: &[&LazyConn],
    mut f: impl FnMut() -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    match f() {
        Err(e) if is_malformed(&e) => {
            for c in conns {
                c.close();
            }
            if let Some(first) = conns.first() {
                first.heal.quarantine(&e)?;
                // The first connection brings the new file to its layout.
                drop(first.get()?);
            }
            f()
        }
        other => other,
    }
}

/// A log longer than this is folded by the next process to use the cache, as it starts.
pub const WAL_FOLD_BYTES: u64 = 128 << 10;

/// A log longer than this is folded by the driver that wrote it, as it ends: only a large
/// write (a cold run) leaves one, and the next process then starts on a short log.
pub const WAL_FOLD_AT_END_BYTES: u64 = 256 << 10;

/// Folds the write-ahead log into the database, and empties it, once it has grown past
/// [`WAL_FOLD_BYTES`]. The first connection of a process rebuilds the WAL index by reading
/// every frame in the log, so a long log makes every process start slower; a checkpoint costs
/// two fsyncs, so a short one is left alone. After a full checkpoint the next write starts the
/// log over and truncates the file (`journal_size_limit = 0`), so the file's size is the log's
/// length.
/// Only [`Moment::Open`] ([`WAL_FOLD_BYTES`]) and [`Moment::Close`] ([`WAL_FOLD_AT_END_BYTES`])
/// fold.
pub(crate) fn checkpoint(c: &Connection, moment: Moment) {
    let limit = match moment {
        Moment::Open => WAL_FOLD_BYTES,
        Moment::Close => WAL_FOLD_AT_END_BYTES,
        Moment::RunStart | Moment::RunEnd => return,
    };
    let wal = c.path().map(|p| format!("{p}-wal"));
    let long = wal
        .and_then(|w| std::fs::metadata(w).ok())
        .is_some_and(|m| m.len() > limit);
    if !long {
        return;
    }
    // TRUNCATE also empties the log (a store nothing is written to, like the results of a warm
    // run, would otherwise keep re-reading the same frames); it waits for readers, so it is
    // tried without waiting, and PASSIVE (which never waits) is the fallback.
    let _ = super::busy::never_wait(c);
    let truncated = c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
        r.get::<_, i64>(0)
    });
    let _ = super::busy::wait_when_busy(c);
    if !matches!(truncated, Ok(0)) {
        if let Err(e) = c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::debug!(error = %e, "weft cache: checkpoint skipped");
        }
    }
}
