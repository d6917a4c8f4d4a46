//! [`SqliteStore`]: cache metadata in SQLite, WAL mode, safe for several processes at once.
//!
//! Writes come in batches (one transaction per batch; the cache commits at most every few tens
//! of milliseconds and at the end of a run), so a cold run does not pay a commit per node.

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension};

use super::store::{MetaWrite, MetadataStore, NodeRecord, RunMeta, Status, StoreError};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS runs(
    run_id TEXT PRIMARY KEY,
    started_at REAL NOT NULL,
    finished_at REAL,
    outputs TEXT NOT NULL,
    status TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS cache_keys(
    cache_key TEXT PRIMARY KEY,
    node TEXT NOT NULL,
    data_version TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS node_runs(
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,
    node TEXT NOT NULL,
    status TEXT NOT NULL,
    behavior TEXT NOT NULL,
    cache_key TEXT,
    data_version TEXT,
    code_version TEXT NOT NULL,
    deps TEXT NOT NULL,
    reason TEXT,
    duration_us INTEGER NOT NULL,
    error TEXT,
    type_name TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS node_runs_run ON node_runs(run_id);
CREATE INDEX IF NOT EXISTS node_runs_node ON node_runs(node, seq);
";

/// Metadata in a SQLite file.
pub struct SqliteStore {
    read: Mutex<Connection>,
    write: Mutex<Connection>,
}

/// Opens a connection in WAL mode and runs `schema`. Several processes may do this at once on
/// a new file: switching to WAL and creating tables take locks that SQLite's busy handler does
/// not always wait for, so those steps are retried for a while.
pub(crate) fn open(path: &Path, schema: &str) -> Result<Connection, StoreError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(StoreError::io(format!("creating {}", dir.display())))?;
    }
    let c = Connection::open(path).map_err(StoreError::sql("opening the database"))?;
    c.busy_timeout(Duration::from_secs(30))
        .map_err(StoreError::sql("setting busy timeout"))?;
    retry_busy(|| c.pragma_update(None, "journal_mode", "WAL"))
        .map_err(StoreError::sql("enabling WAL"))?;
    c.pragma_update(None, "synchronous", "NORMAL")
        .map_err(StoreError::sql("setting synchronous"))?;
    // Checkpoint the WAL (an fsync) every ~16 MB of writes rather than every 4 MB: a warm run
    // writes a record per node, and a checkpoint in a short CLI run is most of its time.
    c.pragma_update(None, "wal_autocheckpoint", 4000)
        .map_err(StoreError::sql("setting wal_autocheckpoint"))?;
    // Closing is part of every short CLI run: leave the WAL for the automatic checkpoints
    // that writes trigger instead of checkpointing on each close.
    c.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
        true,
    )
    .map_err(StoreError::sql("configuring checkpoints"))?;
    retry_busy(|| c.execute_batch(schema)).map_err(StoreError::sql("creating tables"))?;
    Ok(c)
}

fn retry_busy<T>(mut f: impl FnMut() -> rusqlite::Result<T>) -> rusqlite::Result<T> {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut pause = Duration::from_millis(1);
    loop {
        match f() {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if matches!(
                    e.code,
                    rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                ) && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            other => return other,
        }
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let write = open(path, SCHEMA)?;
        let read = open(path, "")?;
        Ok(SqliteStore {
            read: Mutex::new(read),
            write: Mutex::new(write),
        })
    }
}

fn lock(m: &Mutex<Connection>) -> std::sync::MutexGuard<'_, Connection> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn record_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<NodeRecord> {
    let status: String = row.get(2)?;
    let deps: String = row.get(7)?;
    Ok(NodeRecord {
        run_id: row.get(0)?,
        node: row.get(1)?,
        status: Status::parse(&status).unwrap_or(Status::Failed),
        behavior: row.get(3)?,
        cache_key: row.get(4)?,
        data_version: row.get(5)?,
        code_version: row.get(6)?,
        deps: serde_json::from_str(&deps).unwrap_or_default(),
        reason: row.get(8)?,
        duration_us: row.get::<_, i64>(9)? as u64,
        error: row.get(10)?,
        type_name: row.get(11)?,
    })
}

const RECORD_COLUMNS: &str = "run_id, node, status, behavior, cache_key, data_version, code_version, deps, reason, duration_us, error, type_name";
const INSERT_RECORD: &str = "INSERT INTO node_runs(run_id, node, status, behavior, cache_key, data_version, code_version, deps, reason, duration_us, error, type_name) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";

/// Runs a statement through the connection's prepared-statement cache.
fn cached(
    tx: &rusqlite::Transaction<'_>,
    sql: &str,
    params: impl rusqlite::Params,
) -> rusqlite::Result<usize> {
    tx.prepare_cached(sql)?.execute(params)
}

impl MetadataStore for SqliteStore {
    fn begin_lookups(&self) {
        let c = lock(&self.read);
        if c.is_autocommit() {
            let _ = c.execute_batch("BEGIN");
        }
    }

    fn end_lookups(&self) {
        let c = lock(&self.read);
        if !c.is_autocommit() {
            let _ = c.execute_batch("COMMIT");
        }
    }

    fn lookup(&self, cache_key: &str) -> Result<Option<String>, StoreError> {
        let c = lock(&self.read);
        let mut stmt = c
            .prepare_cached("SELECT data_version FROM cache_keys WHERE cache_key = ?1")
            .map_err(StoreError::sql("looking up a key"))?;
        stmt.query_row([cache_key], |r| r.get(0))
            .optional()
            .map_err(StoreError::sql("looking up a key"))
    }

    fn write(&self, batch: &[MetaWrite]) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut c = lock(&self.write);
        let tx = c
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(StoreError::sql("starting a write"))?;
        for w in batch {
            let r = match w {
                MetaWrite::BeginRun(run) => cached(
                    &tx,
                    "INSERT OR REPLACE INTO runs(run_id, started_at, finished_at, outputs, status) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![
                        run.run_id,
                        run.started_at,
                        run.finished_at,
                        serde_json::to_string(&run.outputs).unwrap_or_default(),
                        run.status
                    ],
                ),
                MetaWrite::EndRun {
                    run_id,
                    status,
                    finished_at,
                } => cached(
                    &tx,
                    "UPDATE runs SET status = ?2, finished_at = ?3 WHERE run_id = ?1",
                    params![run_id, status, finished_at],
                ),
                MetaWrite::Key {
                    cache_key,
                    node,
                    data_version,
                } => cached(
                    &tx,
                    "INSERT OR REPLACE INTO cache_keys(cache_key, node, data_version) VALUES (?1, ?2, ?3)",
                    params![cache_key, node, data_version],
                ),
                MetaWrite::Record(r) => cached(
                    &tx,
                    INSERT_RECORD,
                    params![
                        r.run_id,
                        r.node,
                        r.status.as_str(),
                        r.behavior,
                        r.cache_key,
                        r.data_version,
                        r.code_version,
                        serde_json::to_string(&r.deps).unwrap_or_default(),
                        r.reason,
                        r.duration_us as i64,
                        r.error,
                        r.type_name
                    ],
                ),
            };
            r.map_err(StoreError::sql("writing metadata"))?;
        }
        tx.commit().map_err(StoreError::sql("committing metadata"))
    }

    fn runs(&self) -> Result<Vec<RunMeta>, StoreError> {
        let c = lock(&self.read);
        let mut stmt = c
            .prepare("SELECT run_id, started_at, finished_at, outputs, status FROM runs ORDER BY started_at, rowid")
            .map_err(StoreError::sql("listing runs"))?;
        let rows = stmt
            .query_map([], |r| {
                let outputs: String = r.get(3)?;
                Ok(RunMeta {
                    run_id: r.get(0)?,
                    started_at: r.get(1)?,
                    finished_at: r.get(2)?,
                    outputs: serde_json::from_str(&outputs).unwrap_or_default(),
                    status: r.get(4)?,
                })
            })
            .map_err(StoreError::sql("listing runs"))?;
        rows.collect::<Result<_, _>>()
            .map_err(StoreError::sql("listing runs"))
    }

    fn records(&self, run_id: &str) -> Result<Vec<NodeRecord>, StoreError> {
        let c = lock(&self.read);
        let mut stmt = c
            .prepare_cached(&format!(
                "SELECT {RECORD_COLUMNS} FROM node_runs WHERE run_id = ?1 ORDER BY seq"
            ))
            .map_err(StoreError::sql("reading a run"))?;
        let rows = stmt
            .query_map([run_id], record_from_row)
            .map_err(StoreError::sql("reading a run"))?;
        rows.collect::<Result<_, _>>()
            .map_err(StoreError::sql("reading a run"))
    }

    fn history(&self, node: &str, limit: usize) -> Result<Vec<NodeRecord>, StoreError> {
        let c = lock(&self.read);
        let mut stmt = c
            .prepare_cached(&format!(
                "SELECT {RECORD_COLUMNS} FROM node_runs WHERE node = ?1 ORDER BY seq DESC LIMIT ?2"
            ))
            .map_err(StoreError::sql("reading a node's history"))?;
        let rows = stmt
            .query_map(params![node, limit as i64], record_from_row)
            .map_err(StoreError::sql("reading a node's history"))?;
        rows.collect::<Result<_, _>>()
            .map_err(StoreError::sql("reading a node's history"))
    }

    fn forget_runs(&self, run_ids: &[String]) -> Result<Vec<String>, StoreError> {
        let mut c = lock(&self.write);
        let tx = c
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(StoreError::sql("starting gc"))?;
        for id in run_ids {
            tx.execute("DELETE FROM node_runs WHERE run_id = ?1", [id])
                .map_err(StoreError::sql("deleting records"))?;
            tx.execute("DELETE FROM runs WHERE run_id = ?1", [id])
                .map_err(StoreError::sql("deleting a run"))?;
        }
        tx.execute(
            "DELETE FROM cache_keys WHERE data_version NOT IN (SELECT data_version FROM node_runs WHERE data_version IS NOT NULL)",
            [],
        )
        .map_err(StoreError::sql("deleting unreferenced keys"))?;
        let kept = {
            let mut stmt = tx
                .prepare("SELECT DISTINCT data_version FROM cache_keys")
                .map_err(StoreError::sql("listing kept results"))?;
            let rows = stmt
                .query_map([], |r| r.get::<_, String>(0))
                .map_err(StoreError::sql("listing kept results"))?;
            rows.collect::<Result<Vec<_>, _>>()
                .map_err(StoreError::sql("listing kept results"))?
        };
        tx.commit().map_err(StoreError::sql("committing gc"))?;
        Ok(kept)
    }

    fn forget_key(&self, cache_key: &str) -> Result<(), StoreError> {
        let c = lock(&self.write);
        c.execute("DELETE FROM cache_keys WHERE cache_key = ?1", [cache_key])
            .map_err(StoreError::sql("forgetting a key"))?;
        Ok(())
    }
}
