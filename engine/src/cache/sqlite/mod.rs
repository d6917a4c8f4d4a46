//! [`SqliteStore`]: cache metadata in SQLite, WAL mode, safe for several processes at once.
//!
//! Writes come in batches (one transaction per batch; the cache commits at most every few tens
//! of milliseconds and at the end of a run), so a cold run does not pay a commit per node.
//!
//! Layout (schema version [`SCHEMA_VERSION`](layout::SCHEMA_VERSION), in `PRAGMA user_version`;
//! see [`layout`]):
//! - `runs`: one row per run.
//! - `cache_keys`: `cache_key → data_version`, both as 32 raw bytes, in a `WITHOUT ROWID` table
//!   so that a lookup is a single b-tree search, with a checksum binding the two
//!   ([`key_checksum`]): a row damaged or exchanged with another fails its lookup
//!   ([`StoreError::CorruptKey`]).
//! - `run_records` and `record_bodies`: the per-node records of a run, one row per committed
//!   batch (a run of 1,000 nodes usually has one or two), split as [`records`](super::records)
//!   describes: the run's events in the row, the body (identical from one warm run to the
//!   next) stored once by hash, and checked against it when read (the last run's keys, which
//!   answer a warm run's lookups, come from the bodies). A row per node cost more than the rest of a warm run together;
//!   batches keep what a crash can lose to what a commit would have lost. When a run ends, its
//!   rows become one that names a manifest of its parts (`record_parts`), and the next run's
//!   records are cut where that run's parts end (see [`parts`]): a warm run after a cold one
//!   stores a row of events, not its million records' body again.
//! - `forgotten_keys`: keys dropped because their result was unusable. Older records still name
//!   them, so [`recent_keys`](MetadataStore::recent_keys) leaves them out.
//!
//! A layout with an upgrade step (`UPGRADES`) is brought up to date in place; an older one is
//! dropped and recreated on open: metadata is a cache of a cache, and the result store (keyed
//! by data version, unchanged) keeps its contents for the gc to reclaim.

mod busy;
mod connection;
mod heal;
mod layout;
mod parts;
mod read;
mod write;

use std::collections::HashSet;
use std::path::Path;

use rusqlite::OptionalExtension;

pub(crate) use connection::{checkpoint, healing, ConnGuard, Layout, LazyConn, Upgrade};
pub use connection::{WAL_FOLD_AT_END_BYTES, WAL_FOLD_BYTES};
use layout::{key_checksum, META};
use read::{batches, chunks, Batches};

use super::key::CacheKey;
use super::records;
use super::store::{
    MetaWrite, MetadataStore, Moment, NodeRecord, RunMeta, RunTally, Status, StoreError,
};
use crate::fingerprint::DataVersion;

/// Metadata in a SQLite file.
pub struct SqliteStore {
    /// For lookups and inspection, opened at the first: a run answered from the last run's
    /// keys never opens it.
    read: LazyConn,
    /// Opened (and the layout brought up to date) by [`SqliteStore::open`], usually on the
    /// cache's writer thread, which reads the last run's keys through it too.
    write: LazyConn,
    /// Whether a run's lookups are under way (they share one read transaction).
    in_run: std::sync::atomic::AtomicBool,
    /// Where the records of runs in progress are cut into parts.
    cuts: std::sync::Mutex<parts::Cuts>,
}

/// A run's columns, as [`run_row`] reads them.
const RUN_COLUMNS: &str = "SELECT run_id, started_at, finished_at, outputs, status FROM runs";

/// A row of [`RUN_COLUMNS`].
fn run_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RunMeta> {
    let outputs: String = r.get(3)?;
    Ok(RunMeta {
        run_id: r.get(0)?,
        started_at: r.get(1)?,
        finished_at: r.get(2)?,
        outputs: serde_json::from_str(&outputs).unwrap_or_default(),
        status: r.get(4)?,
    })
}

/// The last finished run (its id).
const LAST_RUN: &str = "SELECT run_id FROM runs WHERE status != 'running' \
     ORDER BY started_at DESC, rowid DESC LIMIT 1";

impl SqliteStore {
    /// Opens (creating or upgrading if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let write = LazyConn::new(path, Some(META));
        drop(write.get()?);
        Ok(SqliteStore {
            read: LazyConn::sharing(path, None, write.heal().clone()),
            write,
            in_run: Default::default(),
            cuts: Default::default(),
        })
    }

    /// The read connection; during a run's lookups, inside its read transaction.
    fn reader(&self) -> Result<ConnGuard<'_>, StoreError> {
        let c = self.read.get()?;
        if self.in_run.load(std::sync::atomic::Ordering::Relaxed) && c.is_autocommit() {
            let _ = c.execute_batch("BEGIN");
        }
        Ok(c)
    }

    /// The write connection, opened on first use.
    fn writer(&self) -> Result<ConnGuard<'_>, StoreError> {
        self.write.get()
    }

    /// Runs `f`, healing a malformed file (quarantined and rebuilt, see `heal`) and running it
    /// once more.
    fn healing<T>(&self, f: impl FnMut() -> Result<T, StoreError>) -> Result<T, StoreError> {
        healing(&[&self.write, &self.read], f)
    }

    /// Says that `n` batches of records (of run `run`) were left out as damaged.
    fn damaged(&self, run: &str, n: usize) {
        if n > 0 {
            let run = if run == "(any)" {
                String::new()
            } else {
                format!(" of run {run}")
            };
            self.notice(format!(
                "{n} batch(es) of records{run} are damaged (they do not match their hash) and \
                 are left out; the other records are shown"
            ));
        }
    }

    /// Something the user must hear about (handed on as a cache warning).
    fn notice(&self, message: String) {
        self.write.heal().notice(message);
    }
}

/// Runs a statement through the connection's prepared-statement cache.
fn cached(
    tx: &rusqlite::Transaction<'_>,
    sql: &str,
    params: impl rusqlite::Params,
) -> rusqlite::Result<usize> {
    tx.prepare_cached(sql)?.execute(params)
}

impl SqliteStore {
    /// A run starts looking keys up: its lookups share one read transaction (SQLite then takes
    /// its file lock once per run, not once per lookup).
    fn begin_lookups(&self) {
        self.in_run
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// The run's lookups are over: their read transaction ends.
    fn end_lookups(&self) {
        self.in_run
            .store(false, std::sync::atomic::Ordering::Relaxed);
        if let Some(c) = self.read.get_if_open() {
            if !c.is_autocommit() {
                let _ = c.execute_batch("COMMIT");
            }
        }
    }
}

impl MetadataStore for SqliteStore {
    fn take_notices(&self) -> Vec<String> {
        self.write.heal().take_notices()
    }

    /// Lookups of a run share a read transaction ([`Moment::RunStart`] to
    /// [`Moment::RunEnd`]); a long write-ahead log is folded as a driver opens the store and
    /// as it closes it (see `connection::checkpoint`).
    fn maintain(&self, moment: Moment) {
        match moment {
            Moment::RunStart => self.begin_lookups(),
            Moment::RunEnd => self.end_lookups(),
            Moment::Open | Moment::Close => {
                if let Ok(c) = self.writer() {
                    checkpoint(&c, moment);
                }
            }
        }
    }

    fn lookup(&self, cache_key: &CacheKey) -> Result<Option<DataVersion>, StoreError> {
        self.healing(|| {
            let c = self.reader()?;
            let mut stmt = c
                .prepare_cached(
                    "SELECT data_version, checksum FROM cache_keys WHERE cache_key = ?1",
                )
                .map_err(StoreError::sql("looking up a key"))?;
            let mut rows = stmt
                .query([cache_key.as_bytes().as_slice()])
                .map_err(StoreError::sql("looking up a key"))?;
            let Some(row) = rows.next().map_err(StoreError::sql("looking up a key"))? else {
                return Ok(None);
            };
            let corrupt = |why: &str| StoreError::CorruptKey {
                key: cache_key.to_hex(),
                why: why.to_string(),
            };
            let version = digest(row, 0)
                .map(DataVersion::from_bytes)
                .ok_or_else(|| corrupt("its data version is not 32 bytes"))?;
            if digest(row, 1) != Some(key_checksum(cache_key, &version)) {
                return Err(corrupt(
                    "its checksum does not match the key and data version (a damaged row, or one \
                     exchanged with another)",
                ));
            }
            Ok(Some(version))
        })
    }

    fn holds_node(&self, node: &str) -> Result<Option<bool>, StoreError> {
        self.healing(|| {
            let c = self.reader()?;
            let mut stmt = c
                .prepare_cached("SELECT EXISTS(SELECT 1 FROM cache_keys WHERE node = ?1)")
                .map_err(StoreError::sql("looking up a node's keys"))?;
            let held: bool = stmt
                .query_row([node], |r| r.get(0))
                .map_err(StoreError::sql("looking up a node's keys"))?;
            Ok(Some(held))
        })
    }

    fn recent_keys(&self) -> Result<Vec<(CacheKey, DataVersion)>, StoreError> {
        self.healing(|| {
            // The write connection when nobody writes through it (the writer thread, as a process
            // starts: the read connection may then never be needed), else the read one.
            let c = match self.write.try_get_open() {
                Some(c) => c,
                None => self.reader()?,
            };
            let last: Option<String> = c
                .query_row(LAST_RUN, [], |r| r.get(0))
                .optional()
                .map_err(StoreError::sql("finding the last run"))?;
            let Some(last) = last else {
                return Ok(Vec::new());
            };
            let mut candidates: Vec<(CacheKey, DataVersion)> = Vec::new();
            let read = chunks(&c, Some(&last), false, |run, body, events| {
                let keys = records::keys(run, body, events)?;
                candidates.extend(keys.into_iter().filter_map(|r| match r {
                    (Status::Hit | Status::Executed | Status::Recomputed, Some(k), Some(v)) => {
                        Some((k, v))
                    }
                    _ => None,
                }));
                Ok(true)
            });
            let read = match read {
                Ok(0) => Ok(()),
                Ok(n) => Err(StoreError::Other(format!(
                    "records of run {last} are damaged: {n} batch(es) do not match their hash"
                ))),
                Err(e) => Err(e),
            };
            if let Err(e) = read {
                // A damaged batch gives no hints (lookups, which are checked, answer instead), and
                // goes: the next run stores its body afresh.
                drop(c);
                self.drop_damaged_bodies();
                return Err(e);
            }
            let mut forgotten = c
                .prepare_cached("SELECT cache_key FROM forgotten_keys")
                .map_err(StoreError::sql("reading forgotten keys"))?;
            let mut rows = forgotten
                .query([])
                .map_err(StoreError::sql("reading forgotten keys"))?;
            let mut gone = HashSet::new();
            while let Some(r) = rows
                .next()
                .map_err(StoreError::sql("reading forgotten keys"))?
            {
                gone.extend(digest(r, 0).map(CacheKey::from_bytes));
            }
            if !gone.is_empty() {
                candidates.retain(|(k, _)| !gone.contains(k));
            }
            Ok(candidates)
        })
    }

    fn write(&self, batch: &[MetaWrite]) -> Result<(), StoreError> {
        self.healing(|| self.write_batch(batch))
    }

    fn runs(&self) -> Result<Vec<RunMeta>, StoreError> {
        self.healing(|| {
            let c = self.reader()?;
            let mut stmt = c
                .prepare(&format!("{RUN_COLUMNS} ORDER BY started_at, rowid"))
                .map_err(StoreError::sql("listing runs"))?;
            let rows = stmt
                .query_map([], run_row)
                .map_err(StoreError::sql("listing runs"))?;
            // A row that cannot be read is left out, with a notice: one bad record never
            // hides the others.
            let mut runs = Vec::new();
            for (i, row) in rows.enumerate() {
                match row {
                    Ok(run) => runs.push(run),
                    Err(e) if heal::is_malformed_sql(&e) => {
                        return Err(StoreError::sql("listing runs")(e))
                    }
                    Err(e) => self.notice(format!(
                        "run record #{} cannot be read and is left out: {e}",
                        i + 1
                    )),
                }
            }
            Ok(runs)
        })
    }

    fn run(&self, run_id: &str) -> Result<Option<RunMeta>, StoreError> {
        self.healing(|| {
            let c = self.reader()?;
            c.prepare_cached(&format!("{RUN_COLUMNS} WHERE run_id = ?1"))
                .and_then(|mut stmt| stmt.query_row([run_id], run_row).optional())
                .map_err(StoreError::sql("reading a run"))
        })
    }

    fn records(&self, run_id: &str) -> Result<Vec<NodeRecord>, StoreError> {
        let undecodable = std::cell::Cell::new(0);
        self.healing(|| {
            let c = self.reader()?;
            let mut out = Vec::new();
            let mut damaged = chunks(&c, Some(run_id), false, |run, body, events| {
                match records::decode(run, body, events) {
                    Ok(rs) => out.extend(rs),
                    Err(_) => undecodable.set(undecodable.get() + 1),
                }
                Ok(true)
            })?;
            damaged += undecodable.take();
            self.damaged(run_id, damaged);
            Ok(out)
        })
    }

    fn history(&self, node: &str, limit: usize) -> Result<Vec<NodeRecord>, StoreError> {
        let undecodable = std::cell::Cell::new(0);
        self.healing(|| {
            let c = self.reader()?;
            let mut out = Vec::new();
            if limit == 0 {
                return Ok(out);
            }
            let damaged = chunks(&c, None, true, |run, body, events| {
                let Ok(mut mine) = records::decode_node(run, body, events, node) else {
                    undecodable.set(undecodable.get() + 1);
                    return Ok(true);
                };
                mine.reverse();
                out.extend(mine);
                Ok(out.len() < limit)
            })?;
            self.damaged("(any)", damaged + undecodable.take());
            out.truncate(limit);
            Ok(out)
        })
    }

    fn history_through(
        &self,
        node: &str,
        run_id: &str,
        limit: usize,
    ) -> Result<Vec<NodeRecord>, StoreError> {
        let c = self.reader()?;
        let mut out = Vec::new();
        if limit == 0 {
            return Ok(out);
        }
        // Batches after the run's last one are never read; neither are the run's records
        // of later-written runs that interleave with it.
        let mut seen_run = false;
        batches(&c, Batches::Through(run_id), true, |run, body, events| {
            seen_run |= run == run_id;
            if !seen_run {
                return Ok(true);
            }
            let mut mine = records::decode_node(run, body, events, node)?;
            mine.reverse();
            out.extend(mine);
            Ok(out.len() < limit)
        })?;
        out.truncate(limit);
        Ok(out)
    }

    fn tally(&self, run_id: &str) -> Result<RunTally, StoreError> {
        let c = self.reader()?;
        let mut stmt = c
            .prepare_cached("SELECT events FROM run_records WHERE run_id = ?1")
            .map_err(StoreError::sql("reading records"))?;
        let mut rows = stmt
            .query([run_id])
            .map_err(StoreError::sql("reading records"))?;
        let mut all = Vec::new();
        while let Some(row) = rows.next().map_err(StoreError::sql("reading records"))? {
            let events = row
                .get_ref(0)
                .and_then(|v| v.as_blob().map_err(Into::into))
                .map_err(StoreError::sql("reading records"))?;
            all.extend(records::statuses(run_id, events)?);
        }
        Ok(RunTally::of(all))
    }

    fn forget_runs(&self, run_ids: &[String]) -> Result<Vec<DataVersion>, StoreError> {
        self.healing(|| {
            let mut c = self.writer()?;
            let tx = c
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(StoreError::sql("starting gc"))?;
            for id in run_ids {
                tx.execute("DELETE FROM run_records WHERE run_id = ?1", [id])
                    .map_err(StoreError::sql("deleting records"))?;
                tx.execute("DELETE FROM runs WHERE run_id = ?1", [id])
                    .map_err(StoreError::sql("deleting a run"))?;
            }
            tx.execute_batch(
                "DELETE FROM record_parts WHERE manifest NOT IN (SELECT body FROM run_records); \
                 DELETE FROM record_bodies WHERE hash NOT IN (SELECT body FROM run_records) \
                     AND hash NOT IN (SELECT body FROM record_parts);",
            )
            .map_err(StoreError::sql("deleting unused records"))?;
            // The data versions the remaining runs' records use.
            let mut used: HashSet<DataVersion> = HashSet::new();
            {
                let mut stmt = tx
                    .prepare("SELECT bytes FROM record_bodies")
                    .map_err(StoreError::sql("reading records"))?;
                let mut rows = stmt.query([]).map_err(StoreError::sql("reading records"))?;
                while let Some(row) = rows.next().map_err(StoreError::sql("reading records"))? {
                    let body = row
                        .get_ref(0)
                        .and_then(|v| v.as_blob().map_err(Into::into))
                        .map_err(StoreError::sql("reading records"))?;
                    used.extend(records::data_versions(body)?);
                }
            }
            let keys: Vec<(Vec<u8>, Option<[u8; 32]>)> = {
                let mut stmt = tx
                    .prepare("SELECT cache_key, data_version FROM cache_keys")
                    .map_err(StoreError::sql("listing keys"))?;
                let rows = stmt
                    .query_map([], |r| Ok((r.get(0)?, digest(r, 1))))
                    .map_err(StoreError::sql("listing keys"))?;
                rows.collect::<Result<_, _>>()
                    .map_err(StoreError::sql("listing keys"))?
            };
            let mut kept = HashSet::new();
            for (key, version) in keys {
                match version
                    .map(DataVersion::from_bytes)
                    .filter(|v| used.contains(v))
                {
                    Some(v) => {
                        kept.insert(v);
                    }
                    None => {
                        tx.execute("DELETE FROM cache_keys WHERE cache_key = ?1", [key])
                            .map_err(StoreError::sql("deleting unreferenced keys"))?;
                    }
                }
            }
            tx.commit().map_err(StoreError::sql("committing gc"))?;
            Ok(kept.into_iter().collect())
        })
    }

    fn forget_key(&self, cache_key: &CacheKey) -> Result<(), StoreError> {
        self.healing(|| {
            let mut c = self.writer()?;
            let tx = c
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(StoreError::sql("forgetting a key"))?;
            let key = cache_key.as_bytes().as_slice();
            tx.execute("DELETE FROM cache_keys WHERE cache_key = ?1", [key])
                .map_err(StoreError::sql("forgetting a key"))?;
            tx.execute(
                "INSERT OR IGNORE INTO forgotten_keys(cache_key) VALUES (?1)",
                [key],
            )
            .map_err(StoreError::sql("forgetting a key"))?;
            tx.commit().map_err(StoreError::sql("forgetting a key"))
        })
    }
}

/// Column `i` as a 32-byte digest, if it is one.
fn digest(row: &rusqlite::Row<'_>, i: usize) -> Option<[u8; 32]> {
    let v = row.get_ref(i).ok()?;
    <[u8; 32]>::try_from(v.as_blob().ok()?).ok()
}

#[cfg(test)]
mod tests;
