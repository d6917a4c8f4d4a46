//! Writing a batch of metadata: runs begun and ended, keys, and records (one row per run per
//! batch, its body stored once by hash), in one immediate transaction.

use rusqlite::params;

use super::layout::key_checksum;
use super::{cached, parts, SqliteStore};
use crate::cache::records::{self, Row};
use crate::cache::store::{MetaWrite, NodeRecord, StoreError};

impl SqliteStore {
    /// [`MetadataStore::write`](crate::cache::MetadataStore::write), once (the caller heals
    /// and retries).
    pub(super) fn write_batch(&self, batch: &[MetaWrite]) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        // The batch's records, grouped by run (in practice one run), become one row each.
        let mut by_run: Vec<(&str, Vec<Row<'_>>)> = Vec::new();
        let rows = batch.iter().flat_map(|w| {
            let (one, many): (Option<&NodeRecord>, &[crate::cache::Draft]) = match w {
                MetaWrite::Record(r) => (Some(r), &[]),
                MetaWrite::Records(rs) => (None, &rs.0),
                _ => (None, &[]),
            };
            one.map(Row::Full)
                .into_iter()
                .chain(many.iter().map(Row::Draft))
        });
        for row in rows {
            match by_run.iter_mut().find(|(id, _)| *id == row.run_id()) {
                Some((_, v)) => v.push(row),
                None => by_run.push((row.run_id(), vec![row])),
            }
        }
        let mut c = self.writer()?;
        let tx = c
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(StoreError::sql("starting a write"))?;
        // Keys are taken off the forgotten list only if there is one (rarely): otherwise
        // each key would cost a second search.
        let any_forgotten: bool = tx
            .prepare_cached("SELECT EXISTS(SELECT 1 FROM forgotten_keys)")
            .and_then(|mut st| st.query_row([], |r| r.get(0)))
            .map_err(StoreError::sql("writing metadata"))?;
        // Keys in key order: a batch's inserts then walk the b-tree once, each page read
        // and dirtied once, instead of jumping about a tree larger than the page cache.
        let mut writes: Vec<&MetaWrite> = batch.iter().collect();
        writes.sort_by_key(|w| match w {
            MetaWrite::Key { cache_key, .. } => Some(*cache_key),
            _ => None,
        });
        for w in writes {
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
                    "INSERT OR REPLACE INTO cache_keys(cache_key, node, data_version, checksum) VALUES (?1, ?2, ?3, ?4)",
                    params![
                        cache_key.as_bytes().as_slice(),
                        node,
                        data_version.as_bytes().as_slice(),
                        key_checksum(cache_key, data_version).as_slice()
                    ],
                )
                .and_then(|n| {
                    // Stored again (after it was forgotten): the key may be a hint again.
                    if !any_forgotten {
                        return Ok(n);
                    }
                    cached(
                        &tx,
                        "DELETE FROM forgotten_keys WHERE cache_key = ?1",
                        [cache_key.as_bytes().as_slice()],
                    )
                    .map(|_| n)
                }),
                MetaWrite::Record(_) | MetaWrite::Records(_) => Ok(0),
            };
            r.map_err(StoreError::sql("writing metadata"))?;
        }
        let mut cuts = self.cuts.lock().unwrap_or_else(|p| p.into_inner());
        let pieces = by_run.iter().flat_map(|(run_id, batch)| {
            let ranges = cuts.pieces(&tx, run_id, batch.len());
            ranges.into_iter().map(move |r| (*run_id, &batch[r]))
        });
        for (run_id, batch) in pieces.collect::<Vec<_>>() {
            let enc = records::encode(batch)?;
            let hash = enc.body_hash.as_slice();
            let known: bool = tx
                .prepare_cached("SELECT 1 FROM record_bodies WHERE hash = ?1")
                .and_then(|mut st| st.exists([hash]))
                .map_err(StoreError::sql("writing records"))?;
            if !known {
                cached(
                    &tx,
                    "INSERT INTO record_bodies(hash, bytes) VALUES (?1, ?2)",
                    params![hash, enc.body()?],
                )
                .map_err(StoreError::sql("writing records"))?;
            }
            cached(
                &tx,
                "INSERT INTO run_records(run_id, body, events) VALUES (?1, ?2, ?3)",
                params![run_id, hash, enc.events()?],
            )
            .map_err(StoreError::sql("writing records"))?;
        }
        // A run that ended: its parts become one row (see `parts`).
        let mut ended = Vec::new();
        for w in batch {
            if let MetaWrite::EndRun { run_id, .. } = w {
                if let Some(p) = parts::consolidate(&tx, run_id)? {
                    ended.push((run_id, p));
                }
            }
        }
        tx.commit()
            .map_err(StoreError::sql("committing metadata"))?;
        for (run_id, p) in ended {
            cuts.ended(run_id, &p);
        }
        Ok(())
    }
}
