//! Picking a type's fingerprint and codec strategy at a concrete type, without specialization
//! ("autoref specialization"): [`value_type!`](crate::value_type) calls the methods below on
//! `&&&Probe<T>`, and method resolution picks the most capable impl that applies.
#![allow(missing_docs)]

use std::any::Any;
use std::marker::PhantomData;
use std::sync::Arc;

use crate::fingerprint::{via_serde, via_trait, Fingerprint};
use crate::memory::MemorySize;
use crate::value::{AnyValue, CacheFormats, Codec, FingerprintFn, ParseFn, SizeFn};

/// Zero-sized marker carrying the probed type.
pub struct Probe<T>(PhantomData<T>);

impl<T> Probe<T> {
    /// The probe for `T`.
    pub const NEW: Probe<T> = Probe(PhantomData);
}

/// Tier 1: the type implements [`Fingerprint`].
pub trait ViaFingerprint {
    fn weft_fingerprint(&self) -> Option<FingerprintFn>;
    fn weft_in_memory(&self) -> bool;
}
impl<T: Fingerprint + Any> ViaFingerprint for &&Probe<T> {
    fn weft_fingerprint(&self) -> Option<FingerprintFn> {
        Some(via_trait::<T>)
    }
    fn weft_in_memory(&self) -> bool {
        T::IN_MEMORY
    }
}

/// Tier 2: the type implements `Serialize` (its serde form is made from the value alone).
pub trait ViaSerialize {
    fn weft_fingerprint(&self) -> Option<FingerprintFn>;
    fn weft_in_memory(&self) -> bool;
}
impl<T: serde::Serialize + Any> ViaSerialize for &Probe<T> {
    fn weft_fingerprint(&self) -> Option<FingerprintFn> {
        Some(via_serde::<T>)
    }
    fn weft_in_memory(&self) -> bool {
        true
    }
}

/// Tier 3: not fingerprintable.
pub trait ViaNothing {
    fn weft_fingerprint(&self) -> Option<FingerprintFn>;
    fn weft_in_memory(&self) -> bool;
    fn weft_codec(&self) -> Option<Codec>;
}
impl<T> ViaNothing for Probe<T> {
    fn weft_fingerprint(&self) -> Option<FingerprintFn> {
        None
    }
    fn weft_in_memory(&self) -> bool {
        false
    }
    fn weft_codec(&self) -> Option<Codec> {
        None
    }
}

/// Size tier 1: the type says how much memory it holds ([`MemorySize`]).
pub trait ViaMemorySize {
    fn weft_size(&self) -> Option<SizeFn>;
}
impl<T: MemorySize + Any> ViaMemorySize for &&Probe<T> {
    fn weft_size(&self) -> Option<SizeFn> {
        Some(|v| v.downcast_ref::<T>().map_or(0, MemorySize::memory_size))
    }
}

/// Size tier 2: its `size_of` (the [`ValueType`](crate::ValueType)'s default).
pub trait ViaSizeOf {
    fn weft_size(&self) -> Option<SizeFn>;
}
impl<T> ViaSizeOf for Probe<T> {
    fn weft_size(&self) -> Option<SizeFn> {
        None
    }
}

/// Parse tier 1: `FromStr` (numbers, strings, paths, bools).
pub trait ViaFromStr {
    fn weft_parse(&self) -> Option<ParseFn>;
}
impl<T: std::str::FromStr + Any + Send + Sync> ViaFromStr for &&Probe<T>
where
    T::Err: std::fmt::Display,
{
    fn weft_parse(&self) -> Option<ParseFn> {
        Some(|s| {
            s.parse::<T>()
                .map(|v| Arc::new(v) as AnyValue)
                .map_err(|e| e.to_string())
        })
    }
}

/// Parse tier 2: JSON through serde.
pub trait ViaJson {
    fn weft_parse(&self) -> Option<ParseFn>;
}
impl<T: serde::de::DeserializeOwned + Any + Send + Sync> ViaJson for &Probe<T> {
    fn weft_parse(&self) -> Option<ParseFn> {
        Some(|s| {
            serde_json::from_str::<T>(s)
                .map(|v| Arc::new(v) as AnyValue)
                .map_err(|e| format!("expected JSON: {e}"))
        })
    }
}

/// Parse tier 3: not parseable from text.
pub trait ViaNoParse {
    fn weft_parse(&self) -> Option<ParseFn>;
}
impl<T> ViaNoParse for Probe<T> {
    fn weft_parse(&self) -> Option<ParseFn> {
        None
    }
}

/// Codec tier 1: the type has formats of its own ([`CacheFormats`]).
pub trait ViaFormats {
    fn weft_codec(&self) -> Option<Codec>;
}
impl<T: CacheFormats> ViaFormats for &&Probe<T> {
    fn weft_codec(&self) -> Option<Codec> {
        Some(Codec {
            encode: encode_own::<T>,
            encode_to: Some(encode_own_to::<T>),
            decode: decode_own::<T>,
            formats: T::FORMATS,
            exact: T::EXACT,
            stored_version: T::stored_version,
            no_stored_form: |v| v.downcast_ref::<T>().and_then(T::no_stored_form),
        })
    }
}

fn encode_own<T: CacheFormats>(
    v: &(dyn Any + Send + Sync),
    format: &str,
) -> Result<Vec<u8>, String> {
    let v = v.downcast_ref::<T>().ok_or_else(|| {
        format!(
            "value is not a `{}`",
            crate::short_type_name(std::any::type_name::<T>())
        )
    })?;
    v.encode(format)
}

fn encode_own_to<T: CacheFormats>(
    v: &(dyn Any + Send + Sync),
    format: &str,
    out: &mut dyn std::io::Write,
) -> Result<(), String> {
    let v = v.downcast_ref::<T>().ok_or_else(|| {
        format!(
            "value is not a `{}`",
            crate::short_type_name(std::any::type_name::<T>())
        )
    })?;
    v.encode_to(format, out)
}

fn decode_own<T: CacheFormats>(bytes: &[u8], format: &str) -> Result<AnyValue, String> {
    T::decode_shared(bytes, format).map(|v| v as AnyValue)
}

/// Codec tier 2: the type round-trips through serde.
pub trait ViaSerde {
    fn weft_codec(&self) -> Option<Codec>;
}
impl<T: serde::Serialize + serde::de::DeserializeOwned + Any + Send + Sync> ViaSerde for &Probe<T> {
    fn weft_codec(&self) -> Option<Codec> {
        Some(Codec {
            encode: encode::<T>,
            encode_to: None,
            decode: decode::<T>,
            formats: &SERDE_FORMATS,
            // postcard cannot decode self-describing types; JSON loses some floats.
            exact: false,
            stored_version: |_, _| None,
            no_stored_form: |_| None,
        })
    }
}

fn encode<T: serde::Serialize + Any>(
    v: &(dyn Any + Send + Sync),
    format: &str,
) -> Result<Vec<u8>, String> {
    let v = v.downcast_ref::<T>().ok_or_else(|| {
        format!(
            "value is not a `{}`",
            crate::short_type_name(std::any::type_name::<T>())
        )
    })?;
    match format {
        "postcard" => postcard::to_allocvec(v).map_err(|e| e.to_string()),
        "json" => serde_json::to_vec(v).map_err(|e| e.to_string()),
        other => Err(format!(
            "unknown cache format `{other}` for `{}`; available: postcard, json",
            crate::short_type_name(std::any::type_name::<T>())
        )),
    }
}

/// The formats weft stores serializable values in (`#[node(cache(format = ".."))]`).
pub(crate) const SERDE_FORMATS: [&str; 2] = ["postcard", "json"];

/// Every format some type of weft can be stored in (types with [`CacheFormats`] of their own
/// may add more).
#[cfg(feature = "cache")]
pub(crate) fn known_formats() -> Vec<&'static str> {
    #[allow(unused_mut)]
    let mut all = SERDE_FORMATS.to_vec();
    #[cfg(feature = "polars")]
    all.extend(crate::frames::FRAME_FORMATS);
    all
}

fn decode<T: serde::de::DeserializeOwned + Any + Send + Sync>(
    bytes: &[u8],
    format: &str,
) -> Result<AnyValue, String> {
    let v: T = match format {
        "postcard" => postcard::from_bytes(bytes).map_err(|e| e.to_string())?,
        "json" => serde_json::from_slice(bytes).map_err(|e| e.to_string())?,
        other => return Err(format!("unknown cache format `{other}`")),
    };
    Ok(Arc::new(v))
}

/// The [`ValueType`](crate::ValueType) of a concrete type, with the best fingerprint and codec
/// strategy it supports: `weft::value_type!(Vec<u64>)`.
#[macro_export]
macro_rules! value_type {
    ($t:ty) => {{
        #[allow(unused_imports)]
        use $crate::__private::probe::{
            ViaFingerprint, ViaFormats, ViaFromStr, ViaJson, ViaMemorySize, ViaNoParse, ViaNothing,
            ViaSerde, ViaSerialize, ViaSizeOf,
        };
        $crate::ValueType::of::<$t>(
            (&&&$crate::__private::probe::Probe::<$t>::NEW).weft_fingerprint(),
            (&&&$crate::__private::probe::Probe::<$t>::NEW).weft_codec(),
            (&&&$crate::__private::probe::Probe::<$t>::NEW).weft_parse(),
            (&&&$crate::__private::probe::Probe::<$t>::NEW).weft_size(),
            (&&&$crate::__private::probe::Probe::<$t>::NEW).weft_in_memory(),
        )
    }};
}

#[cfg(test)]
mod tests {
    struct Opaque;
    #[derive(serde::Serialize, serde::Deserialize)]
    struct Row {
        a: u32,
    }

    #[test]
    fn picks_the_best_strategy() {
        let t = crate::value_type!(u64);
        assert!(t.is_fingerprintable());
        assert!(t.codec().is_some());
        let r = crate::value_type!(Row);
        assert!(r.is_fingerprintable());
        assert!(r.codec().is_some());
        let parsed = (t.parser().unwrap())("42").unwrap();
        assert_eq!(parsed.downcast_ref::<u64>(), Some(&42));
        assert!((t.parser().unwrap())("x").is_err());
        let row = (r.parser().unwrap())(r#"{"a": 3}"#).unwrap();
        assert_eq!(row.downcast_ref::<Row>().map(|r| r.a), Some(3));
        let o = crate::value_type!(Opaque);
        assert!(o.parser().is_none());
        assert!(!o.is_fingerprintable());
        assert!(o.codec().is_none());
        assert_eq!(o.name(), std::any::type_name::<Opaque>());
    }
}
