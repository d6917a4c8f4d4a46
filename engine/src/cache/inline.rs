//! [`SqliteBlobs`]: small results stored as rows of a SQLite table, content-addressed by data
//! version and checksummed like files. Creating a file per tiny value costs far more than the
//! value (an inode, a directory entry, a rename); a batch of rows is one transaction.

use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;

use super::sqlite::{healing, ConnGuard, LazyConn};
use super::store::{Blob, Moment, ResultStore, StoreError};
use crate::fingerprint::DataVersion;

/// Results in a SQLite table.
pub struct SqliteBlobs {
    conn: LazyConn,
}

/// `CREATE TABLE <name>` of the results table, keyed by the data version's 32 bytes: one
/// b-tree (no rowid), half the size of a key in hex. Data versions are hashes, so a batch of
/// inserts lands all over the tree, and every page it dirties is written to the log at commit:
/// a cold run's cost grows with the tree's pages (layout 1 kept hex keys in a rowid table and
/// its index, two trees and twice the bytes per key).
macro_rules! create_results {
    ($name:literal) => {
        concat!(
            "CREATE TABLE ",
            $name,
            "(
                data_version BLOB PRIMARY KEY,
                format TEXT NOT NULL,
                type_name TEXT NOT NULL,
                checksum BLOB NOT NULL,
                bytes BLOB NOT NULL
            ) WITHOUT ROWID;"
        )
    };
}

const SCHEMA: &str = concat!("DROP TABLE IF EXISTS results;", create_results!("results"));

/// The layout version this code reads and writes.
const LAYOUT_VERSION: i64 = 2;

/// Layout 2 keys results by their version's bytes: a layout-1 file's rows are carried over
/// (a key that is not a version in hex is left behind: no reader could find it either).
const KEYS_AS_BYTES: &str = concat!(
    create_results!("results_by_bytes"),
    "INSERT OR IGNORE INTO results_by_bytes
        SELECT unhex(data_version), format, type_name, checksum, bytes FROM results
        WHERE length(data_version) = 64 AND unhex(data_version) IS NOT NULL;
    DROP TABLE results;
    ALTER TABLE results_by_bytes RENAME TO results;"
);

impl SqliteBlobs {
    /// Opens (creating if needed) the table in the database at `path`.
    pub fn open(path: &Path) -> Result<SqliteBlobs, StoreError> {
        let blobs = SqliteBlobs::lazy(path);
        blobs.lock()?;
        Ok(blobs)
    }

    /// The store, its database opened at first use (by the cache's writer thread, usually,
    /// while the run starts).
    pub(crate) fn lazy(path: &Path) -> SqliteBlobs {
        SqliteBlobs {
            conn: LazyConn::new(
                path,
                Some(super::sqlite::Layout {
                    schema: SCHEMA,
                    version: LAYOUT_VERSION,
                    upgrades: &[(1, |c| c.execute_batch(KEYS_AS_BYTES))],
                }),
            ),
        }
    }

    fn lock(&self) -> Result<ConnGuard<'_>, StoreError> {
        self.conn.get()
    }
}

impl SqliteBlobs {
    /// [`ResultStore::put_many`] of items the caller holds elsewhere (no copies made).
    fn put_refs(&self, items: &[&(DataVersion, Blob)]) -> Vec<Result<(), StoreError>> {
        let write = |c: &mut Connection| -> rusqlite::Result<()> {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            {
                let mut stmt = tx.prepare_cached(
                    "INSERT OR IGNORE INTO results(data_version, format, type_name, checksum, bytes) VALUES (?1, ?2, ?3, ?4, ?5)",
                )?;
                // In version order: the index on it is walked once (see `SqliteStore::write`).
                let mut sorted: Vec<&(DataVersion, Blob)> = items.to_vec();
                sorted.sort_by_key(|(v, _)| *v);
                for (v, b) in sorted {
                    stmt.execute(params![
                        v.as_bytes().as_slice(),
                        b.format,
                        b.type_name,
                        blake3::hash(&b.bytes).as_bytes().as_slice(),
                        b.bytes
                    ])?;
                }
            }
            tx.commit()
        };
        // A malformed file is healed (quarantined, rebuilt) and the batch written again.
        let stored = healing(&[&self.conn], || {
            let mut c = self.lock()?;
            write(&mut c).map_err(StoreError::sql("storing results"))
        });
        match stored {
            Ok(()) => items.iter().map(|_| Ok(())).collect(),
            Err(e) => {
                let why = e.to_string();
                items
                    .iter()
                    .map(|_| Err(StoreError::Other(format!("storing results: {why}"))))
                    .collect()
            }
        }
    }
}

/// How many versions one `contains_many` query asks about.
const CONTAINS_CHUNK: usize = 64;

impl ResultStore for SqliteBlobs {
    fn take_notices(&self) -> Vec<String> {
        self.conn.heal().take_notices()
    }

    fn contains(&self, version: &DataVersion) -> Result<bool, StoreError> {
        healing(&[&self.conn], || {
            let c = self.lock()?;
            let mut stmt = c
                .prepare_cached("SELECT 1 FROM results WHERE data_version = ?1")
                .map_err(StoreError::sql("checking a result"))?;
            stmt.exists([version.as_bytes().as_slice()])
                .map_err(StoreError::sql("checking a result"))
        })
    }

    fn contains_many(&self, versions: &[DataVersion]) -> Vec<bool> {
        let found = healing(
            &[&self.conn],
            || -> Result<std::collections::HashSet<Vec<u8>>, StoreError> {
                let c = self.lock()?;
                let mut found = std::collections::HashSet::new();
                for chunk in versions.chunks(CONTAINS_CHUNK) {
                    let marks = vec!["?"; chunk.len()].join(",");
                    let mut stmt = c
                        .prepare_cached(&format!(
                            "SELECT data_version FROM results WHERE data_version IN ({marks})"
                        ))
                        .map_err(StoreError::sql("checking results"))?;
                    let keys = chunk.iter().map(|v| v.as_bytes().as_slice());
                    let rows = stmt
                        .query_map(rusqlite::params_from_iter(keys), |r| r.get::<_, Vec<u8>>(0))
                        .map_err(StoreError::sql("checking results"))?;
                    for r in rows {
                        found.insert(r.map_err(StoreError::sql("checking results"))?);
                    }
                }
                Ok(found)
            },
        );
        match found {
            Ok(found) => versions
                .iter()
                .map(|v| found.contains(v.as_bytes().as_slice()))
                .collect(),
            Err(_) => vec![false; versions.len()],
        }
    }

    fn put(&self, version: &DataVersion, blob: &Blob) -> Result<(), StoreError> {
        self.put_many(&[(*version, blob.clone())])
            .pop()
            .unwrap_or(Ok(()))
    }

    fn put_many(&self, items: &[(DataVersion, Blob)]) -> Vec<Result<(), StoreError>> {
        self.put_refs(&items.iter().collect::<Vec<_>>())
    }

    fn get(&self, version: &DataVersion) -> Result<Option<Blob>, StoreError> {
        healing(&[&self.conn], || {
            let c = self.lock()?;
            let mut stmt = c
                .prepare_cached(
                    "SELECT format, type_name, checksum, bytes FROM results WHERE data_version = ?1",
                )
                .map_err(StoreError::sql("reading a result"))?;
            let row = stmt
                .query_row([version.as_bytes().as_slice()], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, Vec<u8>>(2)?,
                        r.get::<_, Vec<u8>>(3)?,
                    ))
                })
                .optional()
                .map_err(StoreError::sql("reading a result"))?;
            let Some((format, type_name, sum, bytes)) = row else {
                return Ok(None);
            };
            if blake3::hash(&bytes).as_bytes().as_slice() != sum.as_slice() {
                return Err(StoreError::Corrupt {
                    version: version.to_hex(),
                    why: "checksum mismatch".into(),
                });
            }
            Ok(Some(Blob {
                format,
                type_name,
                bytes,
            }))
        })
    }

    fn remove(&self, version: &DataVersion) -> Result<(), StoreError> {
        healing(&[&self.conn], || {
            self.lock()?
                .execute(
                    "DELETE FROM results WHERE data_version = ?1",
                    [version.as_bytes().as_slice()],
                )
                .map_err(StoreError::sql("removing a result"))?;
            Ok(())
        })
    }

    fn list(&self) -> Result<Vec<(DataVersion, u64)>, StoreError> {
        healing(&[&self.conn], || {
            let c = self.lock()?;
            let mut stmt = c
                .prepare("SELECT data_version, length(bytes) FROM results")
                .map_err(StoreError::sql("listing results"))?;
            let rows = stmt
                .query_map([], |r| Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, i64>(1)?)))
                .map_err(StoreError::sql("listing results"))?;
            let mut out = Vec::new();
            for row in rows {
                let (key, len) = row.map_err(StoreError::sql("listing results"))?;
                if let Ok(bytes) = <[u8; 32]>::try_from(&key[..]) {
                    out.push((DataVersion::from_bytes(bytes), len as u64));
                }
            }
            Ok(out)
        })
    }

    /// Folds a long write-ahead log as a driver opens or closes the store.
    fn maintain(&self, moment: Moment) {
        if matches!(moment, Moment::Open | Moment::Close) {
            if let Ok(c) = self.lock() {
                super::sqlite::checkpoint(&c, moment);
            }
        }
    }
}

/// Small results in SQLite, large ones as files: what [`Cache`](super::Cache) uses. The large
/// tier is a [`FileStore`](super::FileStore) unless another store is given.
pub struct TieredStore<L: ResultStore = super::FileStore> {
    small: SqliteBlobs,
    large: L,
    threshold: usize,
}

impl<L: ResultStore> TieredStore<L> {
    /// Results up to `threshold` encoded bytes go to `small`, the rest to `large`.
    pub fn new(small: SqliteBlobs, large: L, threshold: usize) -> Self {
        TieredStore {
            small,
            large,
            threshold,
        }
    }
}

impl<L: ResultStore> TieredStore<L> {
    /// Small results go to SQLite, except those in a file format (parquet, Arrow IPC), which
    /// are always files, readable by any tool.
    fn is_small(&self, blob: &Blob) -> bool {
        blob.bytes.len() <= self.threshold && super::blobs::plain_extension(&blob.format).is_none()
    }
}

impl<L: ResultStore> ResultStore for TieredStore<L> {
    fn contains(&self, version: &DataVersion) -> Result<bool, StoreError> {
        Ok(self.small.contains(version)? || self.large.contains(version)?)
    }

    fn contains_many(&self, versions: &[DataVersion]) -> Vec<bool> {
        let mut found = self.small.contains_many(versions);
        let rest: Vec<DataVersion> = versions
            .iter()
            .zip(&found)
            .filter(|(_, f)| !**f)
            .map(|(v, _)| *v)
            .collect();
        let mut large = self.large.contains_many(&rest).into_iter();
        for f in found.iter_mut().filter(|f| !**f) {
            *f = large.next().unwrap_or(false);
        }
        found
    }

    fn put(&self, version: &DataVersion, blob: &Blob) -> Result<(), StoreError> {
        if self.is_small(blob) {
            self.small.put(version, blob)
        } else {
            self.large.put(version, blob)
        }
    }

    fn put_many(&self, items: &[(DataVersion, Blob)]) -> Vec<Result<(), StoreError>> {
        let (small, large): (Vec<_>, Vec<_>) = items
            .iter()
            .enumerate()
            .partition(|(_, (_, b))| self.is_small(b));
        let mut out: Vec<Option<Result<(), StoreError>>> = items.iter().map(|_| None).collect();
        let batch: Vec<&(DataVersion, Blob)> = small.iter().map(|(_, item)| *item).collect();
        for ((i, _), r) in small.iter().zip(self.small.put_refs(&batch)) {
            out[*i] = Some(r);
        }
        for (i, (v, b)) in large {
            out[i] = Some(self.large.put(v, b));
        }
        out.into_iter().map(|r| r.unwrap_or(Ok(()))).collect()
    }

    /// Streamed results are in file formats, which are always files.
    fn put_stream(
        &self,
        version: &DataVersion,
        format: &str,
        encode: &mut dyn FnMut(&mut dyn std::io::Write) -> Result<(), String>,
    ) -> Option<Result<(), super::StreamError>> {
        self.large.put_stream(version, format, encode)
    }

    fn get(&self, version: &DataVersion) -> Result<Option<Blob>, StoreError> {
        match self.small.get(version)? {
            Some(b) => Ok(Some(b)),
            None => self.large.get(version),
        }
    }

    fn remove(&self, version: &DataVersion) -> Result<(), StoreError> {
        self.small.remove(version)?;
        self.large.remove(version)
    }

    fn path_of(&self, version: &DataVersion) -> Option<std::path::PathBuf> {
        self.large.path_of(version)
    }

    fn list(&self) -> Result<Vec<(DataVersion, u64)>, StoreError> {
        let mut all = self.small.list()?;
        all.extend(self.large.list()?);
        Ok(all)
    }

    fn sweep(&self) -> Result<usize, StoreError> {
        Ok(self.small.sweep()? + self.large.sweep()?)
    }

    fn maintain(&self, moment: Moment) {
        self.small.maintain(moment);
        self.large.maintain(moment);
    }

    fn take_notices(&self) -> Vec<String> {
        let mut n = self.small.take_notices();
        n.extend(self.large.take_notices());
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob(n: usize) -> Blob {
        Blob {
            format: "postcard".into(),
            type_name: "Vec<u8>".into(),
            bytes: vec![7; n],
        }
    }

    #[test]
    fn a_layout_1_file_is_upgraded_in_place_and_its_results_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("results.sqlite");
        let kept = crate::data_version_of(&1u64);
        let b = blob(8);
        {
            // What layout 1 was: hex keys in a rowid table.
            let c = Connection::open(&path).unwrap();
            c.execute_batch(
                "CREATE TABLE results(data_version TEXT PRIMARY KEY, format TEXT NOT NULL,
                 type_name TEXT NOT NULL, checksum BLOB NOT NULL, bytes BLOB NOT NULL);
                 PRAGMA user_version = 1;",
            )
            .unwrap();
            c.execute(
                "INSERT INTO results VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    kept.to_hex(),
                    b.format,
                    b.type_name,
                    blake3::hash(&b.bytes).as_bytes().as_slice(),
                    b.bytes
                ],
            )
            .unwrap();
        }
        let store = SqliteBlobs::open(&path).unwrap();
        let got = store.get(&kept).unwrap().expect("the row is carried over");
        assert_eq!((got.format, got.bytes), (b.format.clone(), b.bytes.clone()));
        assert_eq!(store.list().unwrap(), vec![(kept, 8)]);
        let other = crate::data_version_of(&2u64);
        assert!(store.put(&other, &b).is_ok());
        assert_eq!(store.contains_many(&[kept, other]), vec![true, true]);
        let c = Connection::open(&path).unwrap();
        let version: i64 = c
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, LAYOUT_VERSION);
    }

    #[test]
    fn contains_many_answers_for_both_tiers_across_query_chunks() {
        let dir = std::env::temp_dir().join(format!("weft-inline-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = TieredStore::new(
            SqliteBlobs::lazy(&dir.join("results.sqlite")),
            crate::cache::FileStore::new(dir.join("results")),
            16,
        );
        // More versions than one query asks about; every third one stored, some as files.
        let versions: Vec<DataVersion> = (0..(CONTAINS_CHUNK * 2 + 5) as u64)
            .map(|i| crate::data_version_of(&i))
            .collect();
        let stored: Vec<(DataVersion, Blob)> = versions
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 3 == 0)
            .map(|(i, v)| (*v, blob(if i % 2 == 0 { 8 } else { 64 })))
            .collect();
        assert!(store.put_many(&stored).iter().all(Result::is_ok));
        let found = store.contains_many(&versions);
        let expected: Vec<bool> = (0..versions.len()).map(|i| i % 3 == 0).collect();
        assert_eq!(found, expected);
        assert_eq!(
            found,
            versions
                .iter()
                .map(|v| store.contains(v).unwrap())
                .collect::<Vec<_>>(),
            "the same answers as one at a time"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
