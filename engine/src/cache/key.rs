//! Cache keys: blake3 of (node name, code version, output type, each dependency's data
//! version, sorted by dependency name).

use smallvec::SmallVec;

use crate::fingerprint::DataVersion;

/// A cache key: 32 bytes of blake3. Shown (and serialized to JSON) as hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CacheKey([u8; 32]);

crate::fingerprint::digest_newtype!(CacheKey);

/// What a dependency contributes to a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyPart {
    /// Its data version.
    Version(DataVersion),
    /// An optional input that was not given.
    Absent,
}

/// The key of a node's value given its dependencies' parts (order-free: sorted by name).
pub fn cache_key(
    node: &str,
    code_version: &str,
    output_type: &str,
    deps: &[(&str, KeyPart)],
) -> CacheKey {
    let mut sorted: SmallVec<[&(&str, KeyPart); 8]> = deps.iter().collect();
    sorted.sort_unstable_by_key(|(name, _)| *name);
    // One buffer, hashed once (blake3 pays a fixed cost per `update`), on the stack for
    // ordinary nodes.
    let mut buf: SmallVec<[u8; 512]> = SmallVec::new();
    buf.extend_from_slice(b"weft-cache-key-v1\0");
    for s in [node, code_version, output_type] {
        buf.extend_from_slice(&(s.len() as u64).to_le_bytes());
        buf.extend_from_slice(s.as_bytes());
    }
    for (name, part) in sorted {
        buf.extend_from_slice(&(name.len() as u64).to_le_bytes());
        buf.extend_from_slice(name.as_bytes());
        match part {
            KeyPart::Version(v) => {
                buf.push(1);
                buf.extend_from_slice(v.as_bytes());
            }
            KeyPart::Absent => buf.push(0),
        }
    }
    let h = blake3::hash(&buf);
    CacheKey(*h.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data_version_of;

    #[test]
    fn stable_order_and_sensitivity() {
        let a = KeyPart::Version(data_version_of(&1u64));
        let b = KeyPart::Version(data_version_of(&2u64));
        let k1 = cache_key("n", "v1", "u64", &[("x", a), ("y", b)]);
        let k2 = cache_key("n", "v1", "u64", &[("y", b), ("x", a)]);
        assert_eq!(k1, k2, "dependency order does not matter, names do");
        assert_ne!(k1, cache_key("n", "v1", "u64", &[("x", b), ("y", a)]));
        assert_ne!(k1, cache_key("n", "v2", "u64", &[("x", a), ("y", b)]));
        assert_ne!(k1, cache_key("m", "v1", "u64", &[("x", a), ("y", b)]));
        assert_ne!(
            k1,
            cache_key("n", "v1", "u64", &[("x", a), ("y", KeyPart::Absent)])
        );
    }
}
