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
#[non_exhaustive]
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
    // ordinary nodes; its length is known before it is filled.
    const TAG: &[u8] = b"weft-cache-key-v1\0";
    let len = TAG.len()
        + [node, code_version, output_type]
            .iter()
            .map(|s| 8 + s.len())
            .sum::<usize>()
        + sorted
            .iter()
            .map(|(name, part)| {
                8 + name.len()
                    + match part {
                        KeyPart::Version(_) => 33,
                        KeyPart::Absent => 1,
                    }
            })
            .sum::<usize>();
    let mut stack = [0u8; 512];
    let mut heap = Vec::new();
    let buf: &mut [u8] = if len <= stack.len() {
        &mut stack[..len]
    } else {
        heap.resize(len, 0);
        &mut heap
    };
    let mut at = 0;
    let mut put = |bytes: &[u8]| {
        buf[at..at + bytes.len()].copy_from_slice(bytes);
        at += bytes.len();
    };
    put(TAG);
    for s in [node, code_version, output_type] {
        put(&(s.len() as u64).to_le_bytes());
        put(s.as_bytes());
    }
    for (name, part) in sorted {
        put(&(name.len() as u64).to_le_bytes());
        put(name.as_bytes());
        match part {
            KeyPart::Version(v) => {
                put(&[1]);
                put(v.as_bytes());
            }
            KeyPart::Absent => put(&[0]),
        }
    }
    let h = blake3::hash(if len <= 512 { &stack[..len] } else { &heap });
    CacheKey(*h.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data_version_of;

    /// Keys are stored: the same inputs must give the same key in every version of weft (a
    /// change here silently turns every stored result into a miss).
    #[test]
    fn keys_are_stable_across_versions() {
        let v = crate::DataVersion::from_bytes([9; 32]);
        let k = cache_key(
            "node",
            "code-v1",
            "u64",
            &[("b", KeyPart::Version(v)), ("a", KeyPart::Absent)],
        );
        assert_eq!(
            k.to_hex(),
            "513d48526013f13b5e88d82ef0ace0c66a7ef708e48f8b6b927a4de871f3678e"
        );
        // Longer than the stack buffer.
        let long = "x".repeat(600);
        let k = cache_key(&long, "c", "t", &[("d", KeyPart::Version(v))]);
        assert_eq!(
            k.to_hex(),
            "5ff0f55a13c90a01e9cf17b4be8f54debc28df81e43e423d783b328a6f430b73"
        );
    }

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
