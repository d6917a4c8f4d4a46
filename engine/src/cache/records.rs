//! How a batch of node records is stored: a *body* with what a warm run repeats exactly
//! (names, behaviours, keys, data versions, code versions, dependencies, types), stored once by
//! its content hash, and the run's *events* (status, duration, reason, error).
//!
//! A warm run of 1,000 nodes then writes about 5 KB of events and a hash, instead of 150 KB
//! of records: less to commit, and a write-ahead log that barely grows. Both parts are
//! postcard; field order is the stored format (bump the schema version for any change).

use serde::{Deserialize, Serialize};

use super::key::CacheKey;
use super::store::{NodeRecord, Status, StoreError};
use crate::fingerprint::DataVersion;

/// One batch, encoded.
pub(crate) struct Encoded {
    /// blake3 of `body`: its key in the body table.
    pub body_hash: [u8; 32],
    pub body: Vec<u8>,
    pub events: Vec<u8>,
}

#[derive(Serialize)]
struct BodyRef<'a> {
    node: &'a str,
    behavior: &'a str,
    cache_key: Option<CacheKey>,
    data_version: Option<DataVersion>,
    code_version: &'a str,
    deps: &'a [(String, Option<DataVersion>)],
    type_name: &'a str,
}

#[derive(Deserialize)]
struct Body {
    node: String,
    behavior: String,
    cache_key: Option<CacheKey>,
    data_version: Option<DataVersion>,
    code_version: String,
    deps: Vec<(String, Option<DataVersion>)>,
    type_name: String,
}

/// A body read without copying (to pick out one node's records).
#[derive(Deserialize)]
struct BodyView<'a> {
    #[serde(borrow)]
    node: &'a str,
    #[serde(borrow)]
    behavior: &'a str,
    cache_key: Option<CacheKey>,
    data_version: Option<DataVersion>,
    #[serde(borrow)]
    code_version: &'a str,
    #[serde(borrow)]
    deps: Vec<(&'a str, Option<DataVersion>)>,
    #[serde(borrow)]
    type_name: &'a str,
}

/// A body read for its key and version only, without copying the rest.
#[derive(Deserialize)]
struct BodyKeys<'a> {
    #[serde(borrow)]
    _node: &'a str,
    #[serde(borrow)]
    _behavior: &'a str,
    cache_key: Option<CacheKey>,
    data_version: Option<DataVersion>,
    #[serde(borrow)]
    _code_version: &'a str,
    #[serde(borrow)]
    _deps: Skip<(&'a str, Option<DataVersion>)>,
    #[serde(borrow)]
    _type_name: &'a str,
}

#[derive(Serialize)]
struct EventRef<'a> {
    status: Status,
    reason: Option<&'a str>,
    duration_us: u64,
    error: Option<&'a str>,
}

#[derive(Deserialize)]
struct Event {
    status: Status,
    reason: Option<String>,
    duration_us: u64,
    error: Option<String>,
}

/// A sequence of `T` read and dropped (postcard cannot skip what it does not describe).
struct Skip<T>(std::marker::PhantomData<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Skip<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for V<T> {
            type Value = Skip<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a sequence")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Skip<T>, A::Error> {
                while seq.next_element::<T>()?.is_some() {}
                Ok(Skip(std::marker::PhantomData))
            }
        }
        d.deserialize_seq(V(std::marker::PhantomData))
    }
}

fn unreadable(run_id: &str) -> impl FnOnce(postcard::Error) -> StoreError + '_ {
    move |e| StoreError::Other(format!("records of run {run_id} are unreadable: {e}"))
}

/// Encodes a batch of one run's records.
pub(crate) fn encode(records: &[&NodeRecord]) -> Result<Encoded, StoreError> {
    let bodies: Vec<BodyRef<'_>> = records
        .iter()
        .map(|r| BodyRef {
            node: &r.node,
            behavior: &r.behavior,
            cache_key: r.cache_key,
            data_version: r.data_version,
            code_version: &r.code_version,
            deps: &r.deps,
            type_name: &r.type_name,
        })
        .collect();
    let events: Vec<EventRef<'_>> = records
        .iter()
        .map(|r| EventRef {
            status: r.status,
            reason: r.reason.as_deref(),
            duration_us: r.duration_us,
            error: r.error.as_deref(),
        })
        .collect();
    let fail = |e: postcard::Error| StoreError::Other(format!("encoding records: {e}"));
    let body = postcard::to_allocvec(&bodies).map_err(fail)?;
    let events = postcard::to_allocvec(&events).map_err(fail)?;
    Ok(Encoded {
        body_hash: *blake3::hash(&body).as_bytes(),
        body,
        events,
    })
}

fn events(run_id: &str, events: &[u8]) -> Result<Vec<Event>, StoreError> {
    postcard::from_bytes(events).map_err(unreadable(run_id))
}

/// A batch's events, as many as its body has records.
fn events_for(run_id: &str, ev: &[u8], records: usize) -> Result<Vec<Event>, StoreError> {
    let events = events(run_id, ev)?;
    if events.len() != records {
        return Err(StoreError::Other(format!(
            "records of run {run_id} are unreadable: events and body differ in length"
        )));
    }
    Ok(events)
}

/// The records of one batch.
pub(crate) fn decode(run_id: &str, body: &[u8], ev: &[u8]) -> Result<Vec<NodeRecord>, StoreError> {
    let bodies: Vec<Body> = postcard::from_bytes(body).map_err(unreadable(run_id))?;
    let events = events_for(run_id, ev, bodies.len())?;
    Ok(bodies
        .into_iter()
        .zip(events)
        .map(|(b, e)| NodeRecord {
            run_id: run_id.to_string(),
            node: b.node,
            status: e.status,
            behavior: b.behavior,
            cache_key: b.cache_key,
            data_version: b.data_version,
            code_version: b.code_version,
            deps: b.deps,
            reason: e.reason,
            duration_us: e.duration_us,
            error: e.error,
            type_name: b.type_name,
        })
        .collect())
}

/// The records of `node` in one batch, decoding the others without copying them.
pub(crate) fn decode_node(
    run_id: &str,
    body: &[u8],
    ev: &[u8],
    node: &str,
) -> Result<Vec<NodeRecord>, StoreError> {
    let bodies: Vec<BodyView<'_>> = postcard::from_bytes(body).map_err(unreadable(run_id))?;
    if !bodies.iter().any(|b| b.node == node) {
        return Ok(Vec::new());
    }
    let events = events_for(run_id, ev, bodies.len())?;
    Ok(bodies
        .into_iter()
        .zip(events)
        .filter(|(b, _)| b.node == node)
        .map(|(b, e)| NodeRecord {
            run_id: run_id.to_string(),
            node: b.node.to_string(),
            status: e.status,
            behavior: b.behavior.to_string(),
            cache_key: b.cache_key,
            data_version: b.data_version,
            code_version: b.code_version.to_string(),
            deps: b
                .deps
                .into_iter()
                .map(|(d, v)| (d.to_string(), v))
                .collect(),
            reason: e.reason,
            duration_us: e.duration_us,
            error: e.error,
            type_name: b.type_name.to_string(),
        })
        .collect())
}

/// A record's status, key and data version.
pub(crate) type KeyEntry = (Status, Option<CacheKey>, Option<DataVersion>);

/// The [`KeyEntry`] of each record of a batch, without building the records.
pub(crate) fn keys(run_id: &str, body: &[u8], ev: &[u8]) -> Result<Vec<KeyEntry>, StoreError> {
    let bodies: Vec<BodyKeys<'_>> = postcard::from_bytes(body).map_err(unreadable(run_id))?;
    let events = events_for(run_id, ev, bodies.len())?;
    Ok(bodies
        .iter()
        .zip(&events)
        .map(|(b, e)| (e.status, b.cache_key, b.data_version))
        .collect())
}

/// The data versions a body names (its records' own, not their dependencies').
pub(crate) fn data_versions(body: &[u8]) -> Result<Vec<DataVersion>, StoreError> {
    let bodies: Vec<BodyKeys<'_>> = postcard::from_bytes(body).map_err(unreadable("?"))?;
    Ok(bodies.iter().filter_map(|b| b.data_version).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(status: Status, ms: u64) -> NodeRecord {
        NodeRecord {
            run_id: "r".into(),
            node: "n".into(),
            status,
            behavior: "default".into(),
            cache_key: Some(CacheKey::from_bytes([1; 32])),
            data_version: Some(DataVersion::from_bytes([2; 32])),
            code_version: "v1".into(),
            deps: vec![("x".into(), None)],
            reason: None,
            duration_us: ms,
            error: None,
            type_name: "u64".into(),
        }
    }

    #[test]
    fn runs_that_differ_only_in_events_share_a_body() {
        let cold = record(Status::Executed, 900);
        let warm = record(Status::Hit, 3);
        let a = encode(&[&cold]).unwrap();
        let b = encode(&[&warm]).unwrap();
        assert_eq!(a.body_hash, b.body_hash);
        assert_ne!(a.events, b.events);
        assert_eq!(decode("r", &b.body, &b.events).unwrap(), vec![warm]);
        assert_eq!(
            keys("r", &a.body, &a.events).unwrap(),
            vec![(Status::Executed, cold.cache_key, cold.data_version)]
        );
        assert_eq!(
            data_versions(&a.body).unwrap(),
            vec![DataVersion::from_bytes([2; 32])]
        );
    }
}
