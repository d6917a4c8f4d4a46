//! `Parallel<T>` (a node's items, fanned out) and `Collect<T>` (their results, fanned in).

use std::any::Any;
use std::marker::PhantomData;
use std::sync::Arc;

use crate::fingerprint::{DataVersion, Fingerprint, FingerprintHasher};
use crate::value::{AnyValue, Value};

/// What a fan-out node returns: its items. Every node between it and a [`Collect`] of it runs
/// once per item; a parameter named after the fan-out node receives one item (`&T`).
///
/// ```
/// use weft::prelude::*;
/// use weft::{Collect, Parallel};
///
/// #[node]
/// pub fn files(n: &u64) -> Parallel<String> { (0..*n).map(|i| format!("f{i}")).collect() }
/// #[node]
/// pub fn size(files: &str) -> usize { files.len() }
/// #[node]
/// pub fn total(size: Collect<usize>) -> usize { size.iter().sum() }
///
/// fn main() {
///     let dr = Builder::new().with_modules(weft::modules![crate]).build().unwrap();
///     let out = dr.execute(&["total"], inputs! { "n" => 12u64 }).unwrap();
///     assert_eq!(*out.get::<usize>("total").unwrap(), 10 * 2 + 2 * 3);
/// }
/// ```
pub struct Parallel<T> {
    pub(crate) items: Vec<AnyValue>,
    _t: PhantomData<fn() -> T>,
}

impl<T: Any + Send + Sync> Parallel<T> {
    /// The items of a fan-out.
    pub fn new(items: impl IntoIterator<Item = T>) -> Self {
        Parallel {
            items: items.into_iter().map(|v| Arc::new(v) as AnyValue).collect(),
            _t: PhantomData,
        }
    }

    /// How many items.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The items, in order.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.items.iter().filter_map(|v| v.downcast_ref::<T>())
    }
}

impl<T: Any + Send + Sync> From<Vec<T>> for Parallel<T> {
    fn from(v: Vec<T>) -> Self {
        Parallel::new(v)
    }
}

impl<T: Any + Send + Sync> FromIterator<T> for Parallel<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        Parallel::new(iter)
    }
}

impl<T: Fingerprint + Any + Send + Sync> Fingerprint for Parallel<T> {
    fn fingerprint(&self, h: &mut FingerprintHasher) {
        h.write_len(self.items.len());
        for item in self.iter() {
            item.fingerprint(h);
        }
    }
}

impl<T: serde::Serialize + Any + Send + Sync> serde::Serialize for Parallel<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl<'de, T: serde::Deserialize<'de> + Any + Send + Sync> serde::Deserialize<'de> for Parallel<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Vec::<T>::deserialize(d).map(Parallel::new)
    }
}

/// The results of the nodes inside a fan-out, one per item, in item order: a parameter
/// `name: Collect<T>` gathers the values of node `name` across the items.
pub struct Collect<T> {
    items: Vec<Value>,
    _t: PhantomData<fn() -> T>,
}

impl<T: Any> Collect<T> {
    pub(crate) fn new(items: Vec<Value>) -> Self {
        Collect {
            items,
            _t: PhantomData,
        }
    }

    /// How many items.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The results, in item order.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.items.iter().filter_map(|v| v.downcast_ref::<T>())
    }

    /// The results' data versions, in item order.
    pub fn versions(&self) -> Vec<DataVersion> {
        self.items.iter().map(Value::version).collect()
    }
}

impl<T: Any + Clone> Collect<T> {
    /// The results as a `Vec`, cloned.
    pub fn to_vec(&self) -> Vec<T> {
        self.iter().cloned().collect()
    }
}

/// The erased argument behind a `Collect<T>` parameter.
pub(crate) struct Collected(pub(crate) Vec<Value>);

fn collected_version(v: &(dyn Any + Send + Sync)) -> Option<DataVersion> {
    let c = v.downcast_ref::<Collected>()?;
    let mut h = FingerprintHasher::new();
    h.write(b"weft::Collect\xff");
    h.write_len(c.0.len());
    for item in &c.0 {
        if !item.is_fingerprinted() {
            return None;
        }
        h.write(item.version().as_bytes());
    }
    Some(h.finish())
}

/// The value of a `Collect<T>` argument: its version is order-sensitive over the items'
/// versions (Hamilton sorts them, so a reordered input hits with the old order).
pub(crate) fn collected_value(items: Vec<Value>) -> Value {
    let ty = crate::ValueType::new::<Collected>(Some(collected_version), None);
    Value::new(Arc::new(Collected(items)), ty)
}

/// The items behind a `Collect<T>` argument (`None` for another value).
#[cfg(feature = "remote")]
pub(crate) fn collected_items(v: &Value) -> Option<&[Value]> {
    v.data()
        .ok()?
        .downcast_ref::<Collected>()
        .map(|c| c.0.as_slice())
}
