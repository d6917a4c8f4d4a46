//! The metadata database's layout: its schema, its version, the steps that upgrade an older
//! layout in place, and what binds a key row to its data version ([`key_checksum`]); and
//! dropping records found damaged.

use rusqlite::{params, Connection};

use super::{Layout, SqliteStore, Upgrade};
use crate::cache::key::CacheKey;
use crate::cache::store::StoreError;
use crate::fingerprint::DataVersion;

/// The layout version this code reads and writes.
pub const SCHEMA_VERSION: i64 = 9;

/// Steps that bring an older layout up to date in place: `(from version, step)`. A layout with
/// no step from it is dropped and recreated.
const UPGRADES: &[(i64, Upgrade)] = &[
    (3, |c| c.execute_batch(RUNS_BY_START)),
    (4, |c| c.execute_batch(RECORDS_WITH_IGNORED)),
    (5, keys_with_checksums),
    // Layout 7 run-length encodes a batch's events: older records (history only) go, the
    // keys stay.
    (6, |c| c.execute_batch(RECORDS_WITH_IGNORED)),
    // Layout 8 stores an ended run's records as one row naming its parts.
    (7, |c| c.execute_batch(RECORD_PARTS)),
    // Layout 9 finds a node's keys by its name.
    (8, |c| c.execute_batch(KEYS_BY_NODE)),
];

/// A manifest of bodies: the parts of one run's records (see `parts`), looked up by manifest
/// and, for gc, by body. (A macro: the schema of a new file includes it.)
macro_rules! record_parts {
    () => {
        "
CREATE TABLE IF NOT EXISTS record_parts(
    manifest BLOB NOT NULL,
    idx INTEGER NOT NULL,
    body BLOB NOT NULL,
    records INTEGER NOT NULL,
    PRIMARY KEY (manifest, idx)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS record_parts_body ON record_parts(body);
"
    };
}
const RECORD_PARTS: &str = record_parts!();

/// Layout 5 records which dependencies were IGNOREd: the older records (history only) go, the
/// keys stay (a warm run still hits).
const RECORDS_WITH_IGNORED: &str =
    "DELETE FROM run_records; DELETE FROM record_bodies; DELETE FROM runs;";

/// The last finished run is found by start time: without the index, every process start
/// would scan (and sort) every run the cache remembers.
const RUNS_BY_START: &str = "CREATE INDEX IF NOT EXISTS runs_by_start ON runs(started_at);";

/// Whether a node has any key stored ([`MetadataStore::holds_node`]) is one index probe: a
/// node with none runs without waiting for its inputs' versions.
///
/// [`MetadataStore::holds_node`]: crate::cache::MetadataStore::holds_node
const KEYS_BY_NODE: &str = "CREATE INDEX IF NOT EXISTS cache_keys_by_node ON cache_keys(node);";

/// Layout 6 binds each key to its data version ([`key_checksum`]): the rows a layout-5 file
/// has are given theirs (what they say now is taken as true; damage from before goes unseen).
fn keys_with_checksums(c: &Connection) -> rusqlite::Result<()> {
    c.execute_batch("ALTER TABLE cache_keys ADD COLUMN checksum BLOB NOT NULL DEFAULT x''")?;
    let rows: Vec<(Vec<u8>, Vec<u8>)> = c
        .prepare("SELECT cache_key, data_version FROM cache_keys")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let mut update = c.prepare("UPDATE cache_keys SET checksum = ?2 WHERE cache_key = ?1")?;
    for (key, version) in rows {
        let (Ok(k), Ok(v)) = (
            <[u8; 32]>::try_from(&key[..]),
            <[u8; 32]>::try_from(&version[..]),
        ) else {
            continue;
        };
        let sum = key_checksum(&CacheKey::from_bytes(k), &DataVersion::from_bytes(v));
        update.execute(params![key, sum.as_slice()])?;
    }
    Ok(())
}

/// What a `cache_keys` row carries to prove that its data version is the one stored for its
/// key: blake3 of both. A row whose version was damaged, or exchanged with another row's,
/// fails it. (A guard against damage and mix-ups, not against someone who rewrites the file
/// on purpose: anyone can compute it.)
pub(crate) fn key_checksum(key: &CacheKey, version: &DataVersion) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(b"weft cache key\0");
    h.update(key.as_bytes());
    h.update(version.as_bytes());
    *h.finalize().as_bytes()
}

const SCHEMA: &str = concat!(
    "
DROP TABLE IF EXISTS node_runs;
DROP TABLE IF EXISTS cache_keys;
DROP TABLE IF EXISTS run_records;
DROP TABLE IF EXISTS forgotten_keys;
DROP TABLE IF EXISTS record_bodies;
DROP TABLE IF EXISTS record_parts;
DROP TABLE IF EXISTS runs;
CREATE TABLE runs(
    run_id TEXT PRIMARY KEY,
    started_at REAL NOT NULL,
    finished_at REAL,
    outputs TEXT NOT NULL,
    status TEXT NOT NULL
);
CREATE TABLE cache_keys(
    cache_key BLOB PRIMARY KEY,
    node TEXT NOT NULL,
    data_version BLOB NOT NULL,
    checksum BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE forgotten_keys(
    cache_key BLOB PRIMARY KEY
) WITHOUT ROWID;
CREATE TABLE record_bodies(
    hash BLOB PRIMARY KEY,
    bytes BLOB NOT NULL
);
CREATE TABLE run_records(
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,
    body BLOB NOT NULL,
    events BLOB NOT NULL
);
CREATE INDEX run_records_run ON run_records(run_id, seq);
CREATE INDEX runs_by_start ON runs(started_at);
CREATE INDEX cache_keys_by_node ON cache_keys(node);
",
    record_parts!()
);

/// The metadata database's layout.
pub(super) const META: Layout = Layout {
    schema: SCHEMA,
    version: SCHEMA_VERSION,
    upgrades: UPGRADES,
};

impl SqliteStore {
    /// Deletes every record body that does not match its hash, with the records that use it
    /// (directly, or through a manifest of parts).
    pub(super) fn drop_damaged_bodies(&self) {
        let drop = || -> Result<(), StoreError> {
            let mut c = self.writer()?;
            let tx = c
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(StoreError::sql("dropping damaged records"))?;
            let damaged: Vec<Vec<u8>> = {
                let mut stmt = tx
                    .prepare("SELECT hash, bytes FROM record_bodies")
                    .map_err(StoreError::sql("dropping damaged records"))?;
                let rows = stmt
                    .query_map([], |r| {
                        Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, Vec<u8>>(1)?))
                    })
                    .map_err(StoreError::sql("dropping damaged records"))?;
                rows.filter_map(Result::ok)
                    .filter(|(hash, bytes)| hash[..] != blake3::hash(bytes).as_bytes()[..])
                    .map(|(hash, _)| hash)
                    .collect()
            };
            // Manifests that fail their hash, or name a damaged body, go with the runs' rows
            // that name them.
            let manifests: Vec<Vec<u8>> = {
                let mut stmt = tx
                    .prepare("SELECT DISTINCT manifest FROM record_parts")
                    .map_err(StoreError::sql("dropping damaged records"))?;
                let rows = stmt
                    .query_map([], |r| r.get::<_, Vec<u8>>(0))
                    .map_err(StoreError::sql("dropping damaged records"))?;
                rows.filter_map(Result::ok).collect()
            };
            let mut bad_manifests = Vec::new();
            for m in manifests {
                let parts = super::parts::parts_of(&tx, &m)
                    .map_err(StoreError::sql("dropping damaged records"))?
                    .unwrap_or_default();
                let broken = super::parts::manifest_hash(&parts)[..] != m[..]
                    || parts
                        .iter()
                        .any(|(b, _)| damaged.iter().any(|d| d[..] == b[..]));
                if broken {
                    bad_manifests.push(m);
                }
            }
            for hash in damaged.iter().chain(&bad_manifests) {
                tx.execute("DELETE FROM run_records WHERE body = ?1", [hash])
                    .and_then(|_| tx.execute("DELETE FROM record_bodies WHERE hash = ?1", [hash]))
                    .and_then(|_| {
                        tx.execute("DELETE FROM record_parts WHERE manifest = ?1", [hash])
                    })
                    .map_err(StoreError::sql("dropping damaged records"))?;
            }
            // Rows that name nothing stored (a body whose hash column was damaged).
            tx.execute(
                "DELETE FROM run_records WHERE body NOT IN (SELECT hash FROM record_bodies) \
                 AND body NOT IN (SELECT manifest FROM record_parts)",
                [],
            )
            .map_err(StoreError::sql("dropping damaged records"))?;
            tx.commit()
                .map_err(StoreError::sql("dropping damaged records"))
        };
        if let Err(e) = drop() {
            tracing::warn!(error = %e, "weft cache: cannot drop damaged records");
        }
    }
}
