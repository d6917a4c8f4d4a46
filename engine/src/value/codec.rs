//! How values of a type are stored: a [`Codec`] (type-erased) and the [`CacheFormats`] trait a
//! type implements for stored forms of its own.

use std::any::Any;

use super::AnyValue;
use crate::fingerprint::DataVersion;

/// [`Codec::encode_to`]: encodes a value in the named format into a writer.
pub type EncodeTo =
    fn(&(dyn Any + Send + Sync), &str, &mut dyn std::io::Write) -> Result<(), String>;

/// Serialization of an erased value of a known type, by format name.
#[derive(Clone, Copy)]
pub struct Codec {
    /// Encodes a value in the named format.
    pub encode: fn(&(dyn Any + Send + Sync), &str) -> Result<Vec<u8>, String>,
    /// Encodes a value in the named format into a writer
    /// ([`CacheFormats::encode_to`]), for types with formats of their own.
    pub encode_to: Option<EncodeTo>,
    /// Decodes bytes in the named format.
    pub decode: fn(&[u8], &str) -> Result<AnyValue, String>,
    /// The formats this type can be stored in; the first is the type's own default.
    pub formats: &'static [&'static str],
    /// Whether decoding what `encode` gave always yields a value of the same data version
    /// ([`CacheFormats::EXACT`]): the cache then stores values without decoding them again to
    /// prove it. (Every stored value is still checked against its version when read back.)
    pub exact: bool,
    /// The data version of the value stored bytes decode to, when the stored form tells it
    /// ([`CacheFormats::stored_version`]); `None` to fingerprint the decoded value.
    pub stored_version: fn(&[u8], &str) -> Option<DataVersion>,
    /// Why a value has no stored form by its nature, when it has none
    /// ([`CacheFormats::no_stored_form`]).
    pub no_stored_form: fn(&(dyn Any + Send + Sync)) -> Option<String>,
}

impl Codec {
    /// Whether values of the type can be stored in `format`.
    pub fn supports(&self, format: &str) -> bool {
        self.formats.contains(&format)
    }
}

/// A type with cache formats of its own (data frames: `parquet`, `ipc`), preferred over serde
/// by [`value_type!`](crate::value_type). Implement it for a type that has a better stored form
/// than postcard or JSON.
///
/// ```
/// use weft::CacheFormats;
/// struct Celsius(f64);
/// impl CacheFormats for Celsius {
///     const FORMATS: &'static [&'static str] = &["postcard"];
///     fn encode(&self, _format: &str) -> Result<Vec<u8>, String> {
///         Ok(self.0.to_le_bytes().to_vec())
///     }
///     fn decode(bytes: &[u8], _format: &str) -> Result<Self, String> {
///         let raw: [u8; 8] = bytes.try_into().map_err(|_| "not 8 bytes".to_string())?;
///         Ok(Celsius(f64::from_le_bytes(raw)))
///     }
/// }
/// let c = weft::value_type!(Celsius).codec().unwrap();
/// assert_eq!(c.formats, ["postcard"]);
/// ```
pub trait CacheFormats: Sized + Send + Sync + 'static {
    /// The formats values can be stored in, the type's default first.
    const FORMATS: &'static [&'static str];
    /// Encodes the value in `format` (one of [`FORMATS`](Self::FORMATS)).
    fn encode(&self, format: &str) -> Result<Vec<u8>, String>;
    /// Encodes the value in `format` into `out`, as [`encode`](Self::encode) would give it.
    /// The cache calls it for large values of [`EXACT`](Self::EXACT) types, writing straight
    /// into the stored file (no copy of the encoded value in memory); defaults to writing
    /// what `encode` returns. Data frames write parquet and Arrow IPC as they encode.
    fn encode_to(&self, format: &str, out: &mut dyn std::io::Write) -> Result<(), String> {
        let bytes = self.encode(format)?;
        out.write_all(&bytes).map_err(|e| e.to_string())
    }
    /// Decodes a value stored in `format`.
    fn decode(bytes: &[u8], format: &str) -> Result<Self, String>;
    /// Decodes a value stored in `format` into the `Arc` its value will be held in (what the
    /// cache calls). Defaults to [`decode`](Self::decode); a type that keeps facts about a
    /// value by its address overrides it (a Spark frame read back as local rows keeps the
    /// rows, so collecting it needs no request).
    fn decode_shared(bytes: &[u8], format: &str) -> Result<std::sync::Arc<Self>, String> {
        Self::decode(bytes, format).map(std::sync::Arc::new)
    }
    /// `true` when every value `encode` accepts decodes to a value of the same data version
    /// (the format keeps the type's whole content and the fingerprint reads only that), as
    /// parquet does for a data frame. The cache then skips the round-trip proof it makes of
    /// other types' values as it stores them (decoding each and fingerprinting it again: a
    /// cold run's largest cost with big frames). Stored values are still checked against
    /// their data version when read back, so a wrong `true` costs recomputation and a warning,
    /// never a wrong value. Defaults to `false`.
    const EXACT: bool = false;
    /// The data version of the value `bytes` (stored in `format`) decode to, when the stored
    /// form can tell it for less than fingerprinting the decoded value: a Spark frame's
    /// fingerprint is two requests to the server, while the directory its stored form names
    /// is checked on disk. The cache checks a stored result read back against this version
    /// instead of the decoded value's fingerprint, so it must be the version the value was
    /// stored under whenever the stored content is unchanged, and another one whenever it
    /// changed. Defaults to `None`: the decoded value is fingerprinted.
    fn stored_version(bytes: &[u8], format: &str) -> Option<DataVersion> {
        let _ = (bytes, format);
        None
    }
    /// Why this value has no stored form by its nature, when it has none: a Spark frame that
    /// is only a plan (its node is not tagged to be written out) is not data to store. The
    /// cache then records the node as not stored, with this reason, and does **not** warn:
    /// nothing went wrong, and the node reruns (cheaply) next time. A value that should have
    /// been storable but could not be encoded is still a warning ([`encode`](Self::encode)'s
    /// error). Defaults to `None`: every value is stored.
    fn no_stored_form(&self) -> Option<String> {
        None
    }
}
