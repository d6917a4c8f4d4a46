//! A batch's *events*: each record's status, reason, duration and error, run-length encoded
//! (`(count, event)`, layout 7), beside the body that holds what a warm run repeats exactly.
//! A warm run's events (every node a hit of no measurable duration) are one entry.

use serde::{Deserialize, Serialize};

use super::{fail, unreadable, Row};
use crate::cache::store::{Status, StoreError};

#[derive(Serialize, Deserialize, PartialEq, Clone, Copy)]
pub(super) struct EventRef<'a> {
    pub(super) status: Status,
    #[serde(borrow)]
    pub(super) reason: Option<&'a str>,
    pub(super) duration_us: u64,
    #[serde(borrow)]
    pub(super) error: Option<&'a str>,
}

#[derive(Deserialize, Clone)]
pub(super) struct Event {
    pub(super) status: Status,
    pub(super) reason: Option<String>,
    pub(super) duration_us: u64,
    pub(super) error: Option<String>,
}

/// The run-length encoded events of `rows`.
pub(super) fn encode(rows: &[Row<'_>]) -> Result<Vec<u8>, StoreError> {
    let mut runs: Vec<(u32, EventRef<'_>)> = Vec::new();
    for e in rows.iter().map(|r| r.event()) {
        push_events(&mut runs, 1, e);
    }
    postcard::to_allocvec(&runs).map_err(fail)
}

/// How many events run-length encoded `counts` stand for; an error past 2^32 (damaged bytes,
/// not a run: nothing is allocated for them).
fn expanded_len(run_id: &str, counts: impl Iterator<Item = u32>) -> Result<usize, StoreError> {
    let total: usize = counts.map(|n| n as usize).sum();
    if total > 1 << 32 {
        return Err(StoreError::Other(format!(
            "records of run {run_id} are unreadable: {total} events"
        )));
    }
    Ok(total)
}

fn events(run_id: &str, events: &[u8]) -> Result<Vec<Event>, StoreError> {
    let runs: Vec<(u32, Event)> = postcard::from_bytes(events).map_err(unreadable(run_id))?;
    let total = expanded_len(run_id, runs.iter().map(|(n, _)| *n))?;
    let mut out = Vec::with_capacity(total);
    for (n, e) in runs {
        for _ in 1..n {
            out.push(e.clone());
        }
        if n > 0 {
            out.push(e);
        }
    }
    Ok(out)
}

/// Each record's status and duration in a batch, from its events alone.
pub(crate) fn statuses(run_id: &str, ev: &[u8]) -> Result<Vec<(Status, u64)>, StoreError> {
    #[derive(Deserialize)]
    struct Brief<'a> {
        status: Status,
        #[serde(borrow)]
        _reason: Option<&'a [u8]>,
        duration_us: u64,
        #[serde(borrow)]
        _error: Option<&'a [u8]>,
    }
    // Run-length encoded like every batch's events (layout 7).
    let runs: Vec<(u32, Brief<'_>)> = postcard::from_bytes(ev).map_err(unreadable(run_id))?;
    let total = expanded_len(run_id, runs.iter().map(|(n, _)| *n))?;
    let mut out = Vec::with_capacity(total);
    for (n, e) in &runs {
        out.extend(std::iter::repeat_n((e.status, e.duration_us), *n as usize));
    }
    Ok(out)
}

/// A batch's run-length encoded events, read without copying their strings.
fn event_runs<'e>(run_id: &str, ev: &'e [u8]) -> Result<Vec<(u32, EventRef<'e>)>, StoreError> {
    postcard::from_bytes(ev).map_err(unreadable(run_id))
}

/// How many records a batch's events describe.
pub(crate) fn event_count(run_id: &str, ev: &[u8]) -> Result<u64, StoreError> {
    Ok(event_runs(run_id, ev)?
        .iter()
        .map(|(n, _)| u64::from(*n))
        .sum())
}

/// The events of several batches of one run, in order, as one batch's: equal neighbours
/// across batches become one entry, so a warm run stored in parts still has a handful.
///
/// A cold run's events (an entry per node, mostly: durations differ) are joined as bytes,
/// without decoding them: at a million nodes, decoding would hold some 50 MB as the run ends.
pub(crate) fn merge_events(run_id: &str, parts: &[Vec<u8>]) -> Result<Vec<u8>, StoreError> {
    const DECODED_AT_MOST: usize = 4096;
    let mut total = 0usize;
    let mut payloads = Vec::with_capacity(parts.len());
    for part in parts {
        let (n, rest): (usize, &[u8]) =
            postcard::take_from_bytes(part).map_err(unreadable(run_id))?;
        total = total.saturating_add(n);
        payloads.push(rest);
    }
    if total > DECODED_AT_MOST {
        // A sequence is its length, then its items: the parts' items one after another.
        let mut out = postcard::to_allocvec(&total).map_err(fail)?;
        payloads.iter().for_each(|p| out.extend_from_slice(p));
        return Ok(out);
    }
    let mut merged: Vec<(u32, EventRef<'_>)> = Vec::new();
    for part in parts {
        for (n, e) in event_runs(run_id, part)? {
            push_events(&mut merged, n, e);
        }
    }
    postcard::to_allocvec(&merged).map_err(fail)
}

/// Adds `n` × `e` to run-length encoded events.
fn push_events<'e>(runs: &mut Vec<(u32, EventRef<'e>)>, n: u32, e: EventRef<'e>) {
    match runs.last_mut() {
        Some((m, last)) if *last == e && m.checked_add(n).is_some() => *m += n,
        _ if n == 0 => {}
        _ => runs.push((n, e)),
    }
}

/// A run's events cut into batches of `counts` records each (the inverse of
/// [`merge_events`]); an error when they do not add up.
pub(crate) fn split_events(
    run_id: &str,
    ev: &[u8],
    counts: &[u64],
) -> Result<Vec<Vec<u8>>, StoreError> {
    let mut runs = event_runs(run_id, ev)?.into_iter();
    let mut carry: Option<(u32, EventRef<'_>)> = None;
    let mut out = Vec::with_capacity(counts.len());
    for &count in counts {
        let mut part: Vec<(u32, EventRef<'_>)> = Vec::new();
        let mut want = count;
        while want > 0 {
            let Some((n, e)) = carry.take().or_else(|| runs.next()) else {
                return Err(StoreError::Other(format!(
                    "records of run {run_id} are unreadable: fewer events than records"
                )));
            };
            let take = u64::from(n).min(want) as u32;
            push_events(&mut part, take, e);
            want -= u64::from(take);
            if take < n {
                carry = Some((n - take, e));
            }
        }
        out.push(postcard::to_allocvec(&part).map_err(fail)?);
    }
    if carry.is_some() || runs.any(|(n, _)| n > 0) {
        return Err(StoreError::Other(format!(
            "records of run {run_id} are unreadable: more events than records"
        )));
    }
    Ok(out)
}

/// A batch's events, as many as its body has records.
pub(super) fn events_for(
    run_id: &str,
    ev: &[u8],
    records: usize,
) -> Result<Vec<Event>, StoreError> {
    let events = events(run_id, ev)?;
    if events.len() != records {
        return Err(StoreError::Other(format!(
            "records of run {run_id} are unreadable: events and body differ in length"
        )));
    }
    Ok(events)
}
