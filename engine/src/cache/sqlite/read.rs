//! Reading a store's records batch by batch, in place (a million nodes' body is about 150 MB),
//! each body checked against its hash; a run that ended in parts is read through its manifest.

use rusqlite::Connection;

use super::{digest, parts};
use crate::cache::store::StoreError;

/// Every batch of records (run id, body, events), newest first when `newest_first`,
/// optionally of one run only; `each` returns whether to go on. A batch whose body does not
/// match its hash (its address) is skipped: the number skipped is returned.
pub(super) fn chunks(
    c: &Connection,
    run_id: Option<&str>,
    newest_first: bool,
    each: impl FnMut(&str, &[u8], &[u8]) -> Result<bool, StoreError>,
) -> Result<usize, StoreError> {
    let which = match run_id {
        Some(id) => Batches::Of(id),
        None => Batches::All,
    };
    batches(c, which, newest_first, each)
}

/// Which batches of records [`batches`] reads.
#[derive(Clone, Copy)]
pub(super) enum Batches<'a> {
    All,
    /// One run's.
    Of(&'a str),
    /// One run's and those written before its last one.
    Through(&'a str),
}

/// [`chunks`], for any [`Batches`].
pub(super) fn batches(
    c: &Connection,
    which: Batches<'_>,
    newest_first: bool,
    mut each: impl FnMut(&str, &[u8], &[u8]) -> Result<bool, StoreError>,
) -> Result<usize, StoreError> {
    let order = if newest_first { "DESC" } else { "ASC" };
    let (filter, run_id) = match which {
        Batches::All => ("", None),
        Batches::Of(id) => ("WHERE r.run_id = ?1", Some(id)),
        Batches::Through(id) => (
            "WHERE r.seq <= (SELECT MAX(seq) FROM run_records WHERE run_id = ?1)",
            Some(id),
        ),
    };
    // A row names a body, or (a run that ended in several parts) a manifest of bodies.
    let mut stmt = c
        .prepare_cached(&format!(
            "SELECT r.run_id, b.bytes, r.events, r.body FROM run_records r \
             LEFT JOIN record_bodies b ON b.hash = r.body {filter} ORDER BY r.seq {order}"
        ))
        .map_err(StoreError::sql("reading records"))?;
    let mut rows = match run_id {
        Some(id) => stmt.query([id]),
        None => stmt.query([]),
    }
    .map_err(StoreError::sql("reading records"))?;
    // Read in place: a million nodes' body is about 150 MB, not to be copied to be read.
    fn blob<'r>(row: &'r rusqlite::Row<'_>, i: usize) -> Result<&'r [u8], StoreError> {
        row.get_ref(i)
            .and_then(|v| v.as_blob().map_err(Into::into))
            .map_err(StoreError::sql("reading records"))
    }
    let mut damaged = 0;
    while let Some(row) = rows.next().map_err(StoreError::sql("reading records"))? {
        let (Ok(run), Ok(events), Some(hash)) = (
            row.get::<_, String>(0)
                .map_err(StoreError::sql("reading records")),
            blob(row, 2),
            digest(row, 3),
        ) else {
            damaged += 1;
            continue;
        };
        let body = match row.get_ref(1) {
            Ok(rusqlite::types::ValueRef::Null) => {
                let (bad, go_on) = parts::read(c, &run, &hash, events, newest_first, &mut each)?;
                damaged += bad;
                if !go_on {
                    break;
                }
                continue;
            }
            _ => match blob(row, 1) {
                Ok(body) => body,
                Err(_) => {
                    damaged += 1;
                    continue;
                }
            },
        };
        if hash != *blake3::hash(body).as_bytes() {
            damaged += 1;
            continue;
        }
        if !each(&run, body, events)? {
            break;
        }
    }
    Ok(damaged)
}
