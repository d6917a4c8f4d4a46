//! How a batch of node records is stored: a *body* with what a warm run repeats exactly
//! (names, behaviours, keys, data versions, code versions, dependencies, types), stored once by
//! its content hash, and the run's *events* (status, duration, reason, error).
//!
//! A warm run of 1,000 nodes then writes about 5 KB of events and a hash, instead of 150 KB
//! of records: less to commit, and a write-ahead log that barely grows. Both parts are
//! postcard; field order is the stored format (bump the schema version for any change: the
//! ignored dependencies came with layout 5).

use serde::{Deserialize, Serialize};

use super::key::CacheKey;
use super::store::{NodeRecord, Status, StoreError};
use super::{behavior_name, Draft};
use crate::fingerprint::DataVersion;

mod events;

pub(crate) use events::{event_count, merge_events, split_events, statuses};
use events::{events_for, EventRef};

/// One batch's body: its hash (its key in the body table), and the bytes only when asked.
pub(crate) struct Encoded<'r, 'a> {
    rows: &'r [Row<'a>],
    /// blake3 of the body.
    pub body_hash: [u8; 32],
}

impl Encoded<'_, '_> {
    /// The body's bytes (needed only when no batch stored it before).
    pub(crate) fn body(&self) -> Result<Vec<u8>, StoreError> {
        postcard::to_allocvec(&Bodies(self.rows)).map_err(fail)
    }

    /// The batch's events, run-length encoded.
    pub(crate) fn events(&self) -> Result<Vec<u8>, StoreError> {
        events::encode(self.rows)
    }
}

fn fail(e: postcard::Error) -> StoreError {
    StoreError::Other(format!("encoding records: {e}"))
}

/// A batch's bodies, serialized straight from its rows.
struct Bodies<'r, 'a>(&'r [Row<'a>]);

impl Serialize for Bodies<'_, '_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|r| r.body()))
    }
}

/// A postcard output that hashes what it is given instead of keeping it (through a buffer:
/// blake3 pays a fixed cost per update). A warm run's body is the last one's, stored already:
/// its hash is all that is needed, and a million nodes' body (about 150 MB) is never built.
struct Hashing {
    hasher: blake3::Hasher,
    buf: Vec<u8>,
}

impl Hashing {
    const CHUNK: usize = 64 * 1024;
}

impl postcard::ser_flavors::Flavor for Hashing {
    type Output = [u8; 32];

    fn try_push(&mut self, byte: u8) -> postcard::Result<()> {
        self.try_extend(&[byte])
    }

    fn try_extend(&mut self, data: &[u8]) -> postcard::Result<()> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= Self::CHUNK {
            self.hasher.update(&self.buf);
            self.buf.clear();
        }
        Ok(())
    }

    fn finalize(mut self) -> postcard::Result<[u8; 32]> {
        self.hasher.update(&self.buf);
        Ok(*self.hasher.finalize().as_bytes())
    }
}

#[derive(Serialize)]
struct BodyRef<'a> {
    node: &'a str,
    behavior: &'a str,
    cache_key: Option<CacheKey>,
    data_version: Option<DataVersion>,
    code_version: &'a str,
    deps: Deps<'a>,
    type_name: &'a str,
    ignored: Ignored<'a>,
}

/// A record to encode: built in full, or as the cache drafted it.
#[derive(Clone, Copy)]
pub(crate) enum Row<'a> {
    Full(&'a NodeRecord),
    Draft(&'a Draft),
}

impl<'a> Row<'a> {
    pub(crate) fn run_id(self) -> &'a str {
        match self {
            Row::Full(r) => &r.run_id,
            Row::Draft(d) => &d.run_id,
        }
    }

    fn body(self) -> BodyRef<'a> {
        match self {
            Row::Full(r) => BodyRef {
                node: &r.node,
                behavior: &r.behavior,
                cache_key: r.cache_key,
                data_version: r.data_version,
                code_version: &r.code_version,
                deps: Deps(self),
                type_name: &r.type_name,
                ignored: Ignored(self),
            },
            Row::Draft(d) => BodyRef {
                node: &d.name,
                behavior: behavior_name(d.behavior),
                cache_key: d.cache_key,
                data_version: d.data_version,
                code_version: &d.code_version,
                deps: Deps(self),
                type_name: d.type_name,
                ignored: Ignored(self),
            },
        }
    }

    fn event(self) -> EventRef<'a> {
        match self {
            Row::Full(r) => EventRef {
                status: r.status,
                reason: r.reason.as_deref(),
                duration_us: r.duration_us,
                error: r.error.as_deref(),
            },
            Row::Draft(d) => EventRef {
                status: d.status,
                reason: d.reason.as_deref(),
                duration_us: d.duration_us,
                error: d.error.as_deref(),
            },
        }
    }
}

/// A record's dependencies, `(name, data version)` in parameter order, encoded as a sequence.
#[derive(Clone, Copy)]
struct Deps<'a>(Row<'a>);

impl Serialize for Deps<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Row::Full(r) => s.collect_seq(r.deps.iter().map(|(n, v)| (n.as_str(), *v))),
            Row::Draft(d) => s.collect_seq(
                d.params
                    .iter()
                    .map(|p| p.name())
                    .zip(d.deps.iter().copied().chain(std::iter::repeat(None))),
            ),
        }
    }
}

/// A record's IGNOREd dependencies, by name, encoded as a sequence.
#[derive(Clone, Copy)]
struct Ignored<'a>(Row<'a>);

impl Serialize for Ignored<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Row::Full(r) => s.collect_seq(r.ignored.iter().map(String::as_str)),
            // Collected first: postcard writes a sequence's length before it (and a record
            // ignores nothing, allocating nothing, as a rule).
            Row::Draft(d) => s.collect_seq(d.ignored_names().collect::<Vec<_>>()),
        }
    }
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
    ignored: Vec<String>,
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
    #[serde(borrow)]
    ignored: Vec<&'a str>,
}

/// A body read for its key and version only, without copying the rest (the strings it skips
/// are read as bytes, postcard's same encoding, so they are not even checked as UTF-8).
#[derive(Deserialize)]
struct BodyKeys<'a> {
    #[serde(borrow)]
    _node: &'a [u8],
    #[serde(borrow)]
    _behavior: &'a [u8],
    cache_key: Option<CacheKey>,
    data_version: Option<DataVersion>,
    #[serde(borrow)]
    _code_version: &'a [u8],
    #[serde(borrow)]
    _deps: Skip<(&'a [u8], Option<DataVersion>)>,
    #[serde(borrow)]
    _type_name: &'a [u8],
    #[serde(borrow)]
    _ignored: Skip<&'a [u8]>,
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

/// Encodes a batch of one run's records. Events are run-length encoded (`(count, event)`,
/// layout 7): a warm run's (every node a hit of no measurable duration) is one entry, so a warm
/// run adds a few hundred bytes to the metadata whatever the size of the graph.
pub(crate) fn encode<'r, 'a>(records: &'r [Row<'a>]) -> Result<Encoded<'r, 'a>, StoreError> {
    let hashing = Hashing {
        hasher: blake3::Hasher::new(),
        buf: Vec::with_capacity(Hashing::CHUNK + 1024),
    };
    let body_hash = postcard::serialize_with_flavor(&Bodies(records), hashing).map_err(fail)?;
    Ok(Encoded {
        rows: records,
        body_hash,
    })
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
            ignored: b.ignored,
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
            ignored: b.ignored.into_iter().map(String::from).collect(),
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
            ignored: vec!["x".into()],
            reason: None,
            duration_us: ms,
            error: None,
            type_name: "u64".into(),
        }
    }

    #[test]
    fn a_draft_encodes_as_the_record_made_of_it() {
        let spec = crate::NodeSpec::builder("n", crate::value_type!(u64))
            .param("x", crate::value_type!(u64))
            .param("y", crate::value_type!(u64))
            .code_version("v1")
            .sync(|_| Ok(std::sync::Arc::new(1u64)));
        let mut d = Draft::new("r".into(), &spec, crate::CacheBehavior::Recompute);
        d.status = Status::Uncached;
        d.cache_key = Some(CacheKey::from_bytes([1; 32]));
        d.data_version = Some(DataVersion::from_bytes([2; 32]));
        // One dependency's version known; the other's missing (recorded as none), and ignored.
        d.deps = vec![Some(DataVersion::from_bytes([3; 32]))];
        d.ignored = vec![1];
        d.reason = Some("why".into());
        d.duration_us = 42;
        let full = d.clone().into_record();
        assert_eq!(full.deps.len(), 2);
        assert_eq!(full.ignored, ["y"]);
        let (drafts, fulls) = (
            [Row::Draft(&d), Row::Draft(&d)],
            [Row::Full(&full), Row::Full(&full)],
        );
        let (a, b) = (encode(&drafts).unwrap(), encode(&fulls).unwrap());
        let (body, events) = (a.body().unwrap(), a.events().unwrap());
        assert_eq!(
            (a.body_hash, &body, &events),
            (b.body_hash, &b.body().unwrap(), &b.events().unwrap())
        );
        assert_eq!(
            decode("r", &body, &events).unwrap(),
            vec![full.clone(), full]
        );
    }

    /// The body's hash is streamed while it is serialized (a warm run never builds the body):
    /// it must be the hash of the bytes stored, also across the hasher's buffer chunks.
    #[test]
    fn the_streamed_hash_is_the_stored_bodys() {
        let many: Vec<NodeRecord> = (0..3000u64).map(|i| record(Status::Executed, i)).collect();
        let rows: Vec<Row<'_>> = many.iter().map(Row::Full).collect();
        let enc = encode(&rows).unwrap();
        let body = enc.body().unwrap();
        assert!(body.len() > 2 * Hashing::CHUNK, "spans several chunks");
        assert_eq!(enc.body_hash, *blake3::hash(&body).as_bytes());
    }

    #[test]
    fn runs_that_differ_only_in_events_share_a_body() {
        let cold = record(Status::Executed, 900);
        let warm = record(Status::Hit, 3);
        let (cold_rows, warm_rows) = ([Row::Full(&cold)], [Row::Full(&warm)]);
        let (a, b) = (encode(&cold_rows).unwrap(), encode(&warm_rows).unwrap());
        assert_eq!(a.body_hash, b.body_hash);
        let (body, cold_events) = (a.body().unwrap(), a.events().unwrap());
        assert_ne!(cold_events, b.events().unwrap());
        assert_eq!(
            decode("r", &b.body().unwrap(), &b.events().unwrap()).unwrap(),
            vec![warm]
        );
        assert_eq!(
            keys("r", &body, &cold_events).unwrap(),
            vec![(Status::Executed, cold.cache_key, cold.data_version)]
        );
        assert_eq!(
            data_versions(&body).unwrap(),
            vec![DataVersion::from_bytes([2; 32])]
        );
    }

    #[test]
    fn events_merged_from_parts_split_back_into_them() {
        let hit = record(Status::Hit, 0);
        let ran = record(Status::Executed, 7);
        let events = |rs: &[&NodeRecord]| {
            let rows: Vec<Row<'_>> = rs.iter().map(|r| Row::Full(r)).collect();
            encode(&rows).unwrap().events().unwrap()
        };
        let parts = vec![
            events(&[&hit, &hit, &ran]),
            events(&[&ran]),
            events(&[&hit, &hit, &hit]),
        ];
        let merged = merge_events("r", &parts).unwrap();
        assert_eq!(merged, events(&[&hit, &hit, &ran, &ran, &hit, &hit, &hit]));
        // Many entries are joined as bytes, not coalesced: the same events.
        let many: Vec<NodeRecord> = (0..5000).map(|i| record(Status::Executed, i)).collect();
        let halves: Vec<Vec<u8>> = many
            .chunks(2500)
            .map(|c| events(&c.iter().collect::<Vec<_>>()))
            .collect();
        let joined = merge_events("r", &halves).unwrap();
        assert_eq!(joined, events(&many.iter().collect::<Vec<_>>()));
        assert_eq!(split_events("r", &joined, &[2500, 2500]).unwrap(), halves);
        assert_eq!(event_count("r", &merged).unwrap(), 7);
        assert_eq!(split_events("r", &merged, &[3, 1, 3]).unwrap(), parts);
        // Cut elsewhere: the same events, other parts.
        let other = split_events("r", &merged, &[1, 4, 2]).unwrap();
        assert_eq!(other[1], events(&[&hit, &ran, &ran, &hit]));
        // Counts that do not add up are an error, not a guess.
        assert!(split_events("r", &merged, &[3, 3]).is_err());
        assert!(split_events("r", &merged, &[3, 5]).is_err());
    }
}
