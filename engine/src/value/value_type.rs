//! [`ValueType`]: what weft knows about a Rust type, one interned description per type.

use std::any::{Any, TypeId};
use std::fmt;
use std::sync::{Mutex, OnceLock};

use super::{AnyValue, Codec};
use crate::fingerprint::DataVersion;

/// Fingerprinting function for an erased value of a known type.
pub type FingerprintFn = fn(&(dyn Any + Send + Sync)) -> Option<DataVersion>;

/// The memory a value of a known type holds ([`MemorySize`](crate::MemorySize), else its
/// `size_of`).
pub type SizeFn = fn(&(dyn Any + Send + Sync)) -> usize;

/// Parses a value of a known type from text (command-line inputs).
pub type ParseFn = fn(&str) -> Result<AnyValue, String>;

/// What weft knows about a Rust type: its name and identity, and how (if at all) its values
/// are fingerprinted and serialized. Built by [`value_type!`](crate::value_type) at a concrete
/// type, so it picks the best available strategy without specialization.
///
/// A pointer-sized handle: every spec, parameter and value carries one, and the description
/// it points to is made once per distinct type (a million-node graph held 96 bytes of it
/// three times per node).
#[derive(Clone, Copy)]
pub struct ValueType(&'static TypeInfo);

/// What a [`ValueType`] points to.
#[derive(Clone, Copy)]
struct TypeInfo {
    type_name: fn() -> &'static str,
    type_id: fn() -> TypeId,
    fingerprint: Option<FingerprintFn>,
    codec: Option<Codec>,
    parse: Option<ParseFn>,
    size: SizeFn,
    /// Whether the fingerprint reads only the value ([`Fingerprint::IN_MEMORY`]).
    ///
    /// [`Fingerprint::IN_MEMORY`]: crate::Fingerprint::IN_MEMORY
    in_memory: bool,
}

impl TypeInfo {
    /// What tells two descriptions apart: their functions' addresses (the same type described
    /// twice alike is one description).
    fn identity(&self) -> [usize; 14] {
        let codec = self.codec.map_or([0; 8], |c| {
            [
                c.encode as usize,
                c.decode as usize,
                c.formats.as_ptr() as usize,
                c.formats.len(),
                usize::from(c.exact),
                c.stored_version as usize,
                c.no_stored_form as usize,
                1,
            ]
        });
        let [c0, c1, c2, c3, c4, c5, c6, c7] = codec;
        [
            self.type_name as usize,
            self.type_id as usize,
            self.fingerprint.map_or(0, |f| f as usize),
            c0,
            c1,
            c2,
            c3,
            c4,
            c5,
            c6,
            c7,
            self.parse.map_or(0, |f| f as usize),
            self.size as usize,
            usize::from(self.in_memory),
        ]
    }

    /// The one `'static` copy of this description (made the first time it is asked for).
    fn intern(self) -> ValueType {
        type Table = std::collections::HashMap<[usize; 14], &'static TypeInfo>;
        static TABLE: OnceLock<Mutex<Table>> = OnceLock::new();
        let mut table = TABLE
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        ValueType(
            table
                .entry(self.identity())
                .or_insert_with(|| Box::leak(Box::new(self))),
        )
    }
}

impl ValueType {
    #[doc(hidden)]
    pub fn new<T: Any>(fingerprint: Option<FingerprintFn>, codec: Option<Codec>) -> Self {
        Self::of::<T>(fingerprint, codec, None, None, false)
    }

    /// A type's description from all its parts at once (what [`value_type!`] builds).
    #[doc(hidden)]
    pub fn of<T: Any>(
        fingerprint: Option<FingerprintFn>,
        codec: Option<Codec>,
        parse: Option<ParseFn>,
        size: Option<SizeFn>,
        in_memory: bool,
    ) -> Self {
        TypeInfo {
            type_name: std::any::type_name::<T>,
            type_id: TypeId::of::<T>,
            fingerprint,
            codec,
            parse,
            size: size.unwrap_or(|_| std::mem::size_of::<T>()),
            in_memory: in_memory && fingerprint.is_some(),
        }
        .intern()
    }

    /// Whether a value's fingerprint reads only the value, so that it may be taken any time
    /// ([`Fingerprint::IN_MEMORY`](crate::Fingerprint::IN_MEMORY); serde fingerprints do).
    pub fn fingerprints_in_memory(&self) -> bool {
        self.0.in_memory
    }

    #[doc(hidden)]
    pub fn with_size(self, size: Option<SizeFn>) -> Self {
        match size {
            Some(size) => TypeInfo { size, ..*self.0 }.intern(),
            None => self,
        }
    }

    /// How many bytes `v` (a value of this type) holds in memory: its
    /// [`MemorySize`](crate::MemorySize) when the type has one, else its `size_of`.
    pub fn size_of(&self, v: &(dyn Any + Send + Sync)) -> usize {
        (self.0.size)(v)
    }

    #[doc(hidden)]
    pub fn with_parser(self, parse: Option<ParseFn>) -> Self {
        TypeInfo { parse, ..*self.0 }.intern()
    }

    /// How to parse a value of this type from text: `FromStr` when the type has it, else JSON
    /// through serde.
    pub fn parser(&self) -> Option<ParseFn> {
        self.0.parse
    }

    /// The Rust type name (`alloc::string::String`, `f64`, …): the type's identity in cache
    /// keys and stored results.
    pub fn name(&self) -> &'static str {
        (self.0.type_name)()
    }

    /// The type name without module paths (`String`, `Vec<u64>`), for messages and listings;
    /// see [`short_type_name`](crate::short_type_name).
    pub fn short_name(&self) -> String {
        crate::type_name::short_type_name(self.name())
    }

    /// The type's identity.
    pub fn id(&self) -> TypeId {
        (self.0.type_id)()
    }

    /// Whether values of this type get a content fingerprint.
    pub fn is_fingerprintable(&self) -> bool {
        self.0.fingerprint.is_some()
    }

    /// How values of this type are serialized, if they can be.
    pub fn codec(&self) -> Option<Codec> {
        self.0.codec
    }

    /// Fingerprints an erased value of this type; `None` when the type has no fingerprint.
    pub fn fingerprint(&self, v: &(dyn Any + Send + Sync)) -> Option<DataVersion> {
        self.0.fingerprint.and_then(|f| f(v))
    }

    /// The data version of `decoded`, decoded from `bytes` in `format`: what the stored form
    /// tells ([`CacheFormats::stored_version`]), else the decoded value's fingerprint. What a
    /// stored result read back is checked against.
    #[cfg(feature = "cache")]
    pub(crate) fn decoded_version(
        &self,
        bytes: &[u8],
        format: &str,
        decoded: &(dyn Any + Send + Sync),
    ) -> Option<DataVersion> {
        self.0
            .codec
            .and_then(|c| (c.stored_version)(bytes, format))
            .or_else(|| self.fingerprint(decoded))
    }
}

impl fmt::Debug for ValueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_type_is_described_once_and_its_handle_is_a_pointer() {
        assert_eq!(size_of::<ValueType>(), size_of::<usize>());
        let (a, b) = (crate::value_type!(u64), crate::value_type!(u64));
        assert!(std::ptr::eq(a.0, b.0), "one description per type");
        let parsed = a.with_parser(None);
        assert!(
            !std::ptr::eq(a.0, parsed.0),
            "another description is another copy"
        );
        assert!(parsed.parser().is_none() && a.parser().is_some());
        assert!(std::ptr::eq(parsed.0, b.with_parser(None).0));
        assert!(!std::ptr::eq(a.0, crate::value_type!(String).0));
        assert_eq!(a.name(), "u64");
    }
}
