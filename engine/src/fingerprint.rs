//! Data versions: type-tagged blake3 fingerprints of values.
//!
//! A value's [`DataVersion`] is `blake3(type name ‖ 0xff ‖ canonical bytes)`. The type tag keeps
//! `1u64` and `"1"` apart (Hamilton's md5-of-`str(x)` collides them); sequences hash in order;
//! maps and sets hash sorted by their elements' fingerprints, so they are insertion-order free.
//!
//! A type is fingerprinted, in order of preference, through:
//! 1. [`Fingerprint`] (implemented here for std types; implement it for your own), or
//! 2. `serde::Serialize` (postcard bytes), or
//! 3. not at all: such values are never folded into a cache key. They still flow through the
//!    graph, but every recomputation counts as a change and they are never persisted.

use std::any::Any;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// A 32-byte blake3 digest identifying a value (Hamilton's "data version").
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DataVersion([u8; 32]);

/// The helpers every 32-byte blake3 newtype (`DataVersion`, `CacheKey`) has: raw bytes, hex,
/// a short form, `Debug`/`Display`, and serde as hex (JSON) or 32 bytes (postcard).
macro_rules! digest_newtype {
    ($name:ident) => {
        impl $name {
            /// Wraps raw digest bytes.
            pub const fn from_bytes(bytes: [u8; 32]) -> Self {
                $name(bytes)
            }

            /// The raw digest.
            pub fn as_bytes(&self) -> &[u8; 32] {
                &self.0
            }

            /// Lower-case hex, 64 characters.
            pub fn to_hex(&self) -> String {
                blake3::Hash::from_bytes(self.0).to_hex().to_string()
            }

            /// Parses the output of `to_hex`.
            pub fn from_hex(s: &str) -> Option<Self> {
                blake3::Hash::from_hex(s).ok().map(|h| $name(*h.as_bytes()))
            }

            /// The first 12 hex characters, for display.
            pub fn short(&self) -> String {
                let mut s = self.to_hex();
                s.truncate(12);
                s
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}({})", stringify!($name), self.short())
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.to_hex())
            }
        }

        /// Human-readable formats (JSON) see the hex string; binary ones (postcard) the bytes.
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                $crate::fingerprint::serialize_digest(&self.0, s)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                $crate::fingerprint::deserialize_digest(d).map($name)
            }
        }
    };
}
#[cfg(feature = "cache")]
pub(crate) use digest_newtype;

digest_newtype!(DataVersion);

impl DataVersion {
    /// A version no other value will ever have: used for values that cannot be fingerprinted,
    /// so that they never compare equal and never produce a cache hit.
    pub(crate) fn unique() -> Self {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let mut h = blake3::Hasher::new();
        h.update(b"weft-unfingerprintable");
        h.update(&std::process::id().to_le_bytes());
        h.update(&COUNTER.fetch_add(1, Ordering::Relaxed).to_le_bytes());
        if let Ok(t) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
            h.update(&t.as_nanos().to_le_bytes());
        }
        DataVersion(*h.finalize().as_bytes())
    }
}

/// Serializes a 32-byte digest: hex in human-readable formats, raw bytes otherwise.
pub(crate) fn serialize_digest<S: serde::Serializer>(
    bytes: &[u8; 32],
    s: S,
) -> Result<S::Ok, S::Error> {
    if s.is_human_readable() {
        s.serialize_str(blake3::Hash::from_bytes(*bytes).to_hex().as_str())
    } else {
        s.serialize_bytes(bytes)
    }
}

/// The inverse of [`serialize_digest`].
pub(crate) fn deserialize_digest<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<[u8; 32], D::Error> {
    if d.is_human_readable() {
        let s = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
        blake3::Hash::from_hex(s.as_bytes())
            .map(|h| *h.as_bytes())
            .map_err(|e| serde::de::Error::custom(format!("not a 64-digit hex digest: {e}")))
    } else {
        d.deserialize_bytes(DigestVisitor)
    }
}

/// Reads the 32 bytes [`serialize_digest`] writes in binary formats.
struct DigestVisitor;

impl<'de> serde::de::Visitor<'de> for DigestVisitor {
    type Value = [u8; 32];

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("32 bytes")
    }

    fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<[u8; 32], E> {
        <[u8; 32]>::try_from(v).map_err(|_| E::invalid_length(v.len(), &self))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<[u8; 32], A::Error> {
        let mut out = [0u8; 32];
        for (i, b) in out.iter_mut().enumerate() {
            *b = seq
                .next_element()?
                .ok_or_else(|| serde::de::Error::invalid_length(i, &self))?;
        }
        Ok(out)
    }
}

/// The hasher [`Fingerprint`] implementations write into.
pub struct FingerprintHasher(blake3::Hasher);

impl FingerprintHasher {
    pub(crate) fn new() -> Self {
        FingerprintHasher(blake3::Hasher::new())
    }

    /// Feeds raw bytes.
    pub fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// Feeds a length or count (so that `["ab"]` and `["a", "b"]` differ).
    pub fn write_len(&mut self, len: usize) {
        self.0.update(&(len as u64).to_le_bytes());
    }

    pub(crate) fn finish(self) -> DataVersion {
        DataVersion(*self.0.finalize().as_bytes())
    }
}

/// Canonical, deterministic hashing of a value's content.
///
/// Implement it for your own types when they are not `Serialize`, or when their serde form is
/// not canonical (e.g. a `HashMap` field, which serializes in random order):
///
/// ```
/// use weft::{Fingerprint, FingerprintHasher};
/// struct Point { x: i32, y: i32 }
/// impl Fingerprint for Point {
///     fn fingerprint(&self, h: &mut FingerprintHasher) {
///         self.x.fingerprint(h);
///         self.y.fingerprint(h);
///     }
/// }
/// ```
pub trait Fingerprint {
    /// Writes the value's canonical bytes into `h`.
    fn fingerprint(&self, h: &mut FingerprintHasher);

    /// Whether the fingerprint reads only the value itself (its bytes in memory), so that it
    /// is the same whenever it is taken. weft then takes it only when a version is needed
    /// (a cache key, a long-lived driver comparing a node's new value with its last one) and
    /// never in a run that needs none. `false` for a fingerprint that reads something outside
    /// the value — a file's contents or modification time ([`FileInput`](crate::FileInput)),
    /// a server's analysis (a Spark frame): such a value is fingerprinted as soon as its node
    /// finishes, so that it is compared later as it was then. Defaults to `true`; containers
    /// take their elements' answer.
    const IN_MEMORY: bool = true;
}

/// Fingerprints a value with its type tag: the data version weft uses.
pub fn data_version_of<T: Fingerprint + ?Sized>(value: &T) -> DataVersion {
    data_version_with::<T>(|h| value.fingerprint(h))
}

/// The data version of a `T` whose [`Fingerprint`] would write what `write` writes: what
/// [`data_version_of`] gives, for a maker that knows the bytes without the value.
pub(crate) fn data_version_with<T: ?Sized>(
    write: impl FnOnce(&mut FingerprintHasher),
) -> DataVersion {
    let mut h = FingerprintHasher::new();
    h.write(std::any::type_name::<T>().as_bytes());
    h.write(&[0xff]);
    write(&mut h);
    h.finish()
}

macro_rules! fingerprint_le_bytes {
    ($($t:ty),*) => {$(
        impl Fingerprint for $t {
            fn fingerprint(&self, h: &mut FingerprintHasher) { h.write(&self.to_le_bytes()); }
        }
    )*};
}
fingerprint_le_bytes!(u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize);

impl Fingerprint for f32 {
    fn fingerprint(&self, h: &mut FingerprintHasher) {
        h.write(&self.to_bits().to_le_bytes());
    }
}
impl Fingerprint for f64 {
    fn fingerprint(&self, h: &mut FingerprintHasher) {
        h.write(&self.to_bits().to_le_bytes());
    }
}
impl Fingerprint for bool {
    fn fingerprint(&self, h: &mut FingerprintHasher) {
        h.write(&[*self as u8]);
    }
}
impl Fingerprint for char {
    fn fingerprint(&self, h: &mut FingerprintHasher) {
        h.write(&(*self as u32).to_le_bytes());
    }
}
impl Fingerprint for () {
    fn fingerprint(&self, _h: &mut FingerprintHasher) {}
}
impl Fingerprint for str {
    fn fingerprint(&self, h: &mut FingerprintHasher) {
        h.write_len(self.len());
        h.write(self.as_bytes());
    }
}
impl Fingerprint for String {
    fn fingerprint(&self, h: &mut FingerprintHasher) {
        self.as_str().fingerprint(h);
    }
}
impl Fingerprint for Path {
    fn fingerprint(&self, h: &mut FingerprintHasher) {
        self.to_string_lossy().fingerprint(h);
    }
}
impl Fingerprint for PathBuf {
    fn fingerprint(&self, h: &mut FingerprintHasher) {
        self.as_path().fingerprint(h);
    }
}
impl<T: Fingerprint + ?Sized> Fingerprint for &T {
    const IN_MEMORY: bool = T::IN_MEMORY;
    fn fingerprint(&self, h: &mut FingerprintHasher) {
        (**self).fingerprint(h);
    }
}
impl<T: Fingerprint + ?Sized> Fingerprint for Box<T> {
    const IN_MEMORY: bool = T::IN_MEMORY;
    fn fingerprint(&self, h: &mut FingerprintHasher) {
        (**self).fingerprint(h);
    }
}
impl<T: Fingerprint + ?Sized> Fingerprint for Arc<T> {
    const IN_MEMORY: bool = T::IN_MEMORY;
    fn fingerprint(&self, h: &mut FingerprintHasher) {
        (**self).fingerprint(h);
    }
}
impl<T: Fingerprint> Fingerprint for Option<T> {
    const IN_MEMORY: bool = T::IN_MEMORY;
    fn fingerprint(&self, h: &mut FingerprintHasher) {
        match self {
            None => h.write(&[0]),
            Some(v) => {
                h.write(&[1]);
                v.fingerprint(h);
            }
        }
    }
}
impl<T: Fingerprint> Fingerprint for [T] {
    const IN_MEMORY: bool = T::IN_MEMORY;
    fn fingerprint(&self, h: &mut FingerprintHasher) {
        h.write_len(self.len());
        for v in self {
            v.fingerprint(h);
        }
    }
}
impl<T: Fingerprint, const N: usize> Fingerprint for [T; N] {
    const IN_MEMORY: bool = T::IN_MEMORY;
    fn fingerprint(&self, h: &mut FingerprintHasher) {
        self.as_slice().fingerprint(h);
    }
}
impl<T: Fingerprint> Fingerprint for Vec<T> {
    const IN_MEMORY: bool = T::IN_MEMORY;
    fn fingerprint(&self, h: &mut FingerprintHasher) {
        self.as_slice().fingerprint(h);
    }
}

/// Hashes an unordered collection: each element is fingerprinted on its own, the element
/// digests are sorted, then hashed in that order.
fn unordered<'a, I, F>(len: usize, items: I, h: &mut FingerprintHasher, mut each: F)
where
    I: Iterator,
    F: FnMut(I::Item, &mut FingerprintHasher) + 'a,
{
    let mut digests: Vec<DataVersion> = items
        .map(|item| {
            let mut sub = FingerprintHasher::new();
            each(item, &mut sub);
            sub.finish()
        })
        .collect();
    digests.sort_unstable();
    h.write_len(len);
    for d in digests {
        h.write(d.as_bytes());
    }
}

impl<K: Fingerprint, V: Fingerprint, S> Fingerprint for HashMap<K, V, S> {
    const IN_MEMORY: bool = K::IN_MEMORY && V::IN_MEMORY;
    fn fingerprint(&self, h: &mut FingerprintHasher) {
        unordered(self.len(), self.iter(), h, |(k, v), sub| {
            k.fingerprint(sub);
            v.fingerprint(sub);
        });
    }
}
impl<K: Fingerprint, S> Fingerprint for HashSet<K, S> {
    const IN_MEMORY: bool = K::IN_MEMORY;
    fn fingerprint(&self, h: &mut FingerprintHasher) {
        unordered(self.len(), self.iter(), h, |k, sub| k.fingerprint(sub));
    }
}
impl<K: Fingerprint, V: Fingerprint> Fingerprint for BTreeMap<K, V> {
    const IN_MEMORY: bool = K::IN_MEMORY && V::IN_MEMORY;
    fn fingerprint(&self, h: &mut FingerprintHasher) {
        h.write_len(self.len());
        for (k, v) in self {
            k.fingerprint(h);
            v.fingerprint(h);
        }
    }
}
impl<K: Fingerprint> Fingerprint for BTreeSet<K> {
    const IN_MEMORY: bool = K::IN_MEMORY;
    fn fingerprint(&self, h: &mut FingerprintHasher) {
        h.write_len(self.len());
        for k in self {
            k.fingerprint(h);
        }
    }
}

macro_rules! fingerprint_tuple {
    ($($name:ident)+) => {
        impl<$($name: Fingerprint),+> Fingerprint for ($($name,)+) {
            const IN_MEMORY: bool = true $(&& $name::IN_MEMORY)+;
            #[allow(non_snake_case)]
            fn fingerprint(&self, h: &mut FingerprintHasher) {
                let ($($name,)+) = self;
                $($name.fingerprint(h);)+
            }
        }
    };
}
fingerprint_tuple!(A);
fingerprint_tuple!(A B);
fingerprint_tuple!(A B C);
fingerprint_tuple!(A B C D);
fingerprint_tuple!(A B C D E);
fingerprint_tuple!(A B C D E F);

/// Fingerprints an erased value of type `T` through [`Fingerprint`].
pub(crate) fn via_trait<T: Fingerprint + 'static>(
    v: &(dyn Any + Send + Sync),
) -> Option<DataVersion> {
    v.downcast_ref::<T>().map(data_version_of)
}

/// Fingerprints an erased value of type `T` through its postcard serialization.
pub(crate) fn via_serde<T: serde::Serialize + 'static>(
    v: &(dyn Any + Send + Sync),
) -> Option<DataVersion> {
    let v = v.downcast_ref::<T>()?;
    let bytes = postcard::to_allocvec(v).ok()?;
    let mut h = FingerprintHasher::new();
    h.write(std::any::type_name::<T>().as_bytes());
    h.write(&[0xfe]);
    h.write(&bytes);
    Some(h.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_tag_separates_equal_text() {
        assert_ne!(data_version_of(&1u64), data_version_of(&"1".to_string()));
        assert_ne!(data_version_of(&1u64), data_version_of(&1u32));
        assert_eq!(data_version_of(&7i64), data_version_of(&7i64));
    }

    #[test]
    fn sequences_are_order_sensitive_maps_are_not() {
        assert_ne!(data_version_of(&vec![1, 2]), data_version_of(&vec![2, 1]));
        let a: HashMap<String, i32> = [("a".into(), 1), ("b".into(), 2)].into();
        let b: HashMap<String, i32> = [("b".into(), 2), ("a".into(), 1)].into();
        assert_eq!(data_version_of(&a), data_version_of(&b));
        let c: HashMap<String, i32> = [("a".into(), 2), ("b".into(), 1)].into();
        assert_ne!(data_version_of(&a), data_version_of(&c));
    }

    #[test]
    fn nested_lengths_matter() {
        let a = vec!["ab".to_string()];
        let b = vec!["a".to_string(), "b".to_string()];
        assert_ne!(data_version_of(&a), data_version_of(&b));
    }

    #[test]
    fn hex_round_trip_and_unique() {
        let v = data_version_of(&3.5f64);
        assert_eq!(DataVersion::from_hex(&v.to_hex()), Some(v));
        assert_ne!(DataVersion::unique(), DataVersion::unique());
    }
}
