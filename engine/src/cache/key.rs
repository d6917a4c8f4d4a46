//! Cache keys: blake3 of (node name, code version, output type, each dependency's data
//! version, sorted by dependency name).

use crate::fingerprint::DataVersion;

/// What a dependency contributes to a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyPart {
    /// Its data version.
    Version(DataVersion),
    /// An optional input that was not given.
    Absent,
}

/// The key, as hex.
pub fn cache_key(
    node: &str,
    code_version: &str,
    output_type: &str,
    deps: &[(&str, KeyPart)],
) -> String {
    let mut sorted: Vec<&(&str, KeyPart)> = deps.iter().collect();
    sorted.sort_by_key(|(name, _)| *name);
    let mut h = blake3::Hasher::new();
    h.update(b"weft-cache-key-v1\0");
    for s in [node, code_version, output_type] {
        h.update(&(s.len() as u64).to_le_bytes());
        h.update(s.as_bytes());
    }
    for (name, part) in sorted {
        h.update(&(name.len() as u64).to_le_bytes());
        h.update(name.as_bytes());
        match part {
            KeyPart::Version(v) => {
                h.update(&[1]);
                h.update(v.as_bytes());
            }
            KeyPart::Absent => {
                h.update(&[0]);
            }
        }
    }
    h.finalize().to_hex().to_string()
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
