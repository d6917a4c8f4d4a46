//! A run's records in parts: while a run goes on, each commit adds a row of its records
//! (a *part*: a body stored once by hash, and the events); when it ends, its rows become one,
//! whose `body` names a *manifest* — the list of its parts, `record_parts` — by the hash of
//! that list.
//!
//! Why: a body is shared only by runs that cut their records at the same places. A cold run
//! commits every few hundred milliseconds, so its parts are wherever its commits fell; a warm
//! run's records come all at once. Cut as one body, a warm run's records (150 MB at a million
//! nodes) were stored afresh by the first warm run after a cold one. Now a run's records are
//! cut where the reference run's parts end (the last run this store stored, or the last
//! finished run in the file): a warm run's parts are the cold run's bodies, and its manifest
//! the same list, so it adds one row of events and nothing else.
//!
//! *Invariant*: a manifest's hash is blake3 of its parts (hash and number of records each, in
//! order): a damaged or exchanged `record_parts` row fails it when read, as a damaged body
//! fails its own hash.

use std::collections::HashMap;
use std::ops::Range;

use rusqlite::{params, Connection, OptionalExtension};

use super::cached;
use crate::cache::records;
use crate::cache::store::StoreError;

/// A run's parts in order: each body's hash and how many records it holds.
pub(super) type Parts = Vec<([u8; 32], u64)>;

/// The hash a manifest of `parts` is stored under.
pub(super) fn manifest_hash(parts: &[([u8; 32], u64)]) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(b"weft record parts\0");
    for (body, n) in parts {
        h.update(body);
        h.update(&n.to_le_bytes());
    }
    *h.finalize().as_bytes()
}

/// The parts of the manifest stored under `hash`; `None` when there is none (the hash is a
/// body's, or names nothing stored).
pub(super) fn parts_of(c: &Connection, hash: &[u8]) -> rusqlite::Result<Option<Parts>> {
    let mut stmt = c.prepare_cached(
        "SELECT body, records FROM record_parts WHERE manifest = ?1 ORDER BY idx",
    )?;
    let mut rows = stmt.query([hash])?;
    let mut parts = Vec::new();
    while let Some(row) = rows.next()? {
        let body: Vec<u8> = row.get(0)?;
        let n: i64 = row.get(1)?;
        // A part that is not a hash, or a negative count, hashes to something else than the
        // manifest: it is taken as given here and fails the manifest's check.
        let mut hash = [0u8; 32];
        let len = body.len().min(32);
        hash[..len].copy_from_slice(&body[..len]);
        parts.push((hash, n.max(0) as u64));
    }
    Ok((!parts.is_empty()).then_some(parts))
}

/// Where the records of the runs in progress are cut.
#[derive(Default)]
pub(super) struct Cuts {
    /// The reference run's part ends (record counts from its start); `None` until read.
    reference: Option<Vec<u64>>,
    /// How many records each run in progress has stored so far.
    written: HashMap<String, u64>,
}

impl Cuts {
    /// How to cut the next `len` records of `run_id`: where the reference run's parts end.
    pub(super) fn pieces(&mut self, c: &Connection, run_id: &str, len: usize) -> Vec<Range<usize>> {
        let reference = self.reference.get_or_insert_with(|| {
            // Without a reference, records are cut by commits only: nothing is wrong, a warm
            // run may store its records once more.
            last_run_parts(c, run_id)
                .map(|p| ends(&p))
                .unwrap_or_default()
        });
        let start = self.written.get(run_id).copied().unwrap_or(0);
        let end = start + len as u64;
        let mut pieces = Vec::new();
        let mut from = 0;
        let first = reference.partition_point(|&b| b <= start);
        for &b in reference[first..].iter().take_while(|&&b| b < end) {
            let at = (b - start) as usize;
            pieces.push(from..at);
            from = at;
        }
        pieces.push(from..len);
        self.written.insert(run_id.to_string(), end);
        pieces
    }

    /// `run_id` ended, stored as `parts`: the next runs are cut as it was.
    pub(super) fn ended(&mut self, run_id: &str, parts: &[([u8; 32], u64)]) {
        self.written.remove(run_id);
        self.reference = Some(ends(parts));
    }
}

/// Where each part ends, counted in records from the run's start.
fn ends(parts: &[([u8; 32], u64)]) -> Vec<u64> {
    parts
        .iter()
        .scan(0u64, |at, (_, n)| {
            *at += n;
            Some(*at)
        })
        .collect()
}

/// A row of a run's records: its body's (or manifest's) hash and its events.
type RecordRow = (Vec<u8>, Vec<u8>);

/// What reads a part: `(run, body, events)`, returning whether to go on.
pub(super) type EachPart<'f> = dyn FnMut(&str, &[u8], &[u8]) -> Result<bool, StoreError> + 'f;

/// The rows of a run's records, in order.
fn rows_of(c: &Connection, run_id: &str) -> Result<Vec<RecordRow>, StoreError> {
    let mut stmt = c
        .prepare_cached("SELECT body, events FROM run_records WHERE run_id = ?1 ORDER BY seq")
        .map_err(StoreError::sql("reading records"))?;
    let rows = stmt
        .query_map([run_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(StoreError::sql("reading records"))?;
    rows.collect::<Result<_, _>>()
        .map_err(StoreError::sql("reading records"))
}

/// The parts a run's rows name, manifests expanded.
fn parts_of_rows(c: &Connection, run_id: &str, rows: &[RecordRow]) -> Result<Parts, StoreError> {
    let mut parts = Parts::new();
    for (body, events) in rows {
        match parts_of(c, body).map_err(StoreError::sql("reading records"))? {
            Some(p) => parts.extend(p),
            None => {
                let hash = <[u8; 32]>::try_from(&body[..]).map_err(|_| {
                    StoreError::Other(format!("records of run {run_id} name a damaged body"))
                })?;
                parts.push((hash, records::event_count(run_id, events)?));
            }
        }
    }
    Ok(parts)
}

/// The parts of the last finished run in the file other than `run_id` (which may have ended
/// in the very batch that asks).
fn last_run_parts(c: &Connection, run_id: &str) -> Result<Parts, StoreError> {
    let last: Option<String> = c
        .query_row(
            "SELECT run_id FROM runs WHERE status != 'running' AND run_id != ?1 \
             ORDER BY started_at DESC, rowid DESC LIMIT 1",
            [run_id],
            |r| r.get(0),
        )
        .optional()
        .map_err(StoreError::sql("finding the last run"))?;
    match last {
        Some(run) => parts_of_rows(c, &run, &rows_of(c, &run)?),
        None => Ok(Parts::new()),
    }
}

/// Makes the rows of `run_id` one, naming a manifest of their parts (stored unless an
/// earlier run stored the same), with the events of all of them. Returns the run's parts.
pub(super) fn consolidate(
    tx: &rusqlite::Transaction<'_>,
    run_id: &str,
) -> Result<Option<Parts>, StoreError> {
    let rows = rows_of(tx, run_id)?;
    let parts = parts_of_rows(tx, run_id, &rows)?;
    if rows.len() < 2 {
        return Ok((!rows.is_empty()).then_some(parts));
    }
    let events: Vec<Vec<u8>> = rows.into_iter().map(|(_, ev)| ev).collect();
    let merged = records::merge_events(run_id, &events)?;
    let manifest = manifest_hash(&parts);
    let write = || -> rusqlite::Result<()> {
        if parts_of(tx, &manifest)?.is_none() {
            for (i, (body, n)) in parts.iter().enumerate() {
                cached(
                    tx,
                    "INSERT INTO record_parts(manifest, idx, body, records) VALUES (?1, ?2, ?3, ?4)",
                    params![manifest.as_slice(), i as i64, body.as_slice(), *n as i64],
                )?;
            }
        }
        cached(tx, "DELETE FROM run_records WHERE run_id = ?1", [run_id])?;
        cached(
            tx,
            "INSERT INTO run_records(run_id, body, events) VALUES (?1, ?2, ?3)",
            params![run_id, manifest.as_slice(), merged],
        )?;
        Ok(())
    };
    write().map_err(StoreError::sql("writing records"))?;
    Ok(Some(parts))
}

/// Reads the parts of the manifest `hash` (a row of run `run` with `events`), calling `each`
/// with each part's body and events (last part first when `newest_first`) until it returns
/// false. Returns how many parts are damaged (the manifest itself counts as one when it does
/// not match its hash or its events do not fit it), and whether to go on.
pub(super) fn read(
    c: &Connection,
    run: &str,
    hash: &[u8],
    events: &[u8],
    newest_first: bool,
    each: &mut EachPart<'_>,
) -> Result<(usize, bool), StoreError> {
    let parts = match parts_of(c, hash).map_err(StoreError::sql("reading records"))? {
        Some(p) if manifest_hash(&p)[..] == *hash => p,
        _ => return Ok((1, true)),
    };
    let counts: Vec<u64> = parts.iter().map(|(_, n)| *n).collect();
    let Ok(mut split) = records::split_events(run, events, &counts) else {
        return Ok((1, true));
    };
    let mut order: Vec<usize> = (0..parts.len()).collect();
    if newest_first {
        order.reverse();
    }
    let mut stmt = c
        .prepare_cached("SELECT bytes FROM record_bodies WHERE hash = ?1")
        .map_err(StoreError::sql("reading records"))?;
    let mut damaged = 0;
    for i in order {
        let (body_hash, _) = &parts[i];
        let mut rows = stmt
            .query([body_hash.as_slice()])
            .map_err(StoreError::sql("reading records"))?;
        let row = rows.next().map_err(StoreError::sql("reading records"))?;
        let body = row.and_then(|r| r.get_ref(0).ok()?.as_blob().ok());
        match body {
            Some(body) if blake3::hash(body).as_bytes() == body_hash => {
                if !each(run, body, &std::mem::take(&mut split[i]))? {
                    return Ok((damaged, false));
                }
            }
            _ => damaged += 1,
        }
    }
    Ok((damaged, true))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(ends: Vec<u64>) -> Cuts {
        Cuts {
            reference: Some(ends),
            written: HashMap::new(),
        }
    }

    #[test]
    fn records_are_cut_where_the_reference_runs_parts_end() {
        let c = Connection::open_in_memory().unwrap();
        let mut cuts = reference(vec![3, 5, 9]);
        // All at once (a warm run): cut as the reference was.
        assert_eq!(cuts.pieces(&c, "warm", 9), vec![0..3, 3..5, 5..9]);
        // Several commits (a cold run): cut at commits and at the reference's ends.
        assert_eq!(cuts.pieces(&c, "cold", 4), vec![0..3, 3..4]);
        assert_eq!(cuts.pieces(&c, "cold", 1), vec![0..1]);
        assert_eq!(cuts.pieces(&c, "cold", 6), vec![0..4, 4..6]);
        cuts.ended("cold", &[([1; 32], 2), ([2; 32], 2)]);
        assert_eq!(cuts.pieces(&c, "next", 5), vec![0..2, 2..4, 4..5]);
        assert_eq!(cuts.pieces(&c, "cold", 2), vec![0..2], "counted afresh");
    }

    #[test]
    fn a_manifest_hash_covers_order_and_counts() {
        let a = manifest_hash(&[([1; 32], 2), ([2; 32], 3)]);
        assert_ne!(a, manifest_hash(&[([2; 32], 3), ([1; 32], 2)]));
        assert_ne!(a, manifest_hash(&[([1; 32], 3), ([2; 32], 2)]));
        assert_eq!(a, manifest_hash(&[([1; 32], 2), ([2; 32], 3)]));
    }
}
