//! How much memory a value holds: [`MemorySize`], and the estimate every [`ValueType`] carries.
//!
//! [`ValueType`]: crate::ValueType

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// How many bytes a value keeps in memory (itself and what it owns on the heap), for the
/// driver's memory budget ([`Builder::with_memory_budget`](crate::Builder::with_memory_budget)).
///
/// [`value_type!`](crate::value_type) uses it when a type implements it; other types count as
/// their `size_of` (a struct that owns big buffers should implement it). Strings, vectors,
/// maps, options, boxes and tuples of sized types have it, and so do polars frames and series
/// (their `estimated_size`, with the `polars` feature). An estimate, not an exact count:
/// buffers shared between values are counted in each.
///
/// ```
/// use weft::MemorySize;
/// struct Image { pixels: Vec<u8>, name: String }
/// impl MemorySize for Image {
///     fn heap_size(&self) -> usize {
///         self.pixels.heap_size() + self.name.heap_size()
///     }
/// }
/// let image = Image { pixels: vec![0; 1 << 20], name: "cat".into() };
/// assert!(image.memory_size() >= 1 << 20);
/// assert_eq!(weft::value_type!(Image).size_of(&image), image.memory_size());
/// ```
pub trait MemorySize {
    /// Whether the type owns nothing outside itself (numbers, `bool`, `char`): a slice of it
    /// is counted by its length, without looking at each element.
    const FLAT: bool = false;

    /// Bytes on the heap that the value owns (0 for flat types).
    fn heap_size(&self) -> usize;

    /// The value's whole size: itself plus its heap.
    fn memory_size(&self) -> usize
    where
        Self: Sized,
    {
        std::mem::size_of::<Self>() + self.heap_size()
    }
}

macro_rules! flat {
    ($($t:ty),*) => {$(
        impl MemorySize for $t {
            const FLAT: bool = true;
            fn heap_size(&self) -> usize { 0 }
        }
    )*};
}
flat!(
    u8,
    u16,
    u32,
    u64,
    u128,
    usize,
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
    f32,
    f64,
    bool,
    char,
    ()
);

impl MemorySize for String {
    fn heap_size(&self) -> usize {
        self.capacity()
    }
}

impl MemorySize for std::path::PathBuf {
    fn heap_size(&self) -> usize {
        self.capacity()
    }
}

/// The heap of a slice's elements (each element's own heap; flat types: none).
fn elements_heap<T: MemorySize>(items: &[T]) -> usize {
    if T::FLAT {
        0
    } else {
        items.iter().map(MemorySize::heap_size).sum()
    }
}

impl<T: MemorySize> MemorySize for Vec<T> {
    fn heap_size(&self) -> usize {
        self.capacity() * std::mem::size_of::<T>() + elements_heap(self)
    }
}

impl<T: MemorySize> MemorySize for Box<T> {
    fn heap_size(&self) -> usize {
        std::mem::size_of::<T>() + (**self).heap_size()
    }
}

impl<T: MemorySize> MemorySize for Arc<T> {
    fn heap_size(&self) -> usize {
        std::mem::size_of::<T>() + (**self).heap_size()
    }
}

impl<T: MemorySize> MemorySize for Option<T> {
    fn heap_size(&self) -> usize {
        self.as_ref().map_or(0, MemorySize::heap_size)
    }
}

impl<K: MemorySize, V: MemorySize, S> MemorySize for HashMap<K, V, S> {
    fn heap_size(&self) -> usize {
        self.capacity() * std::mem::size_of::<(K, V)>()
            + self
                .iter()
                .map(|(k, v)| k.heap_size() + v.heap_size())
                .sum::<usize>()
    }
}

impl<K: MemorySize, V: MemorySize> MemorySize for BTreeMap<K, V> {
    fn heap_size(&self) -> usize {
        self.len() * std::mem::size_of::<(K, V)>()
            + self
                .iter()
                .map(|(k, v)| k.heap_size() + v.heap_size())
                .sum::<usize>()
    }
}

macro_rules! tuple {
    ($($name:ident . $i:tt),+) => {
        impl<$($name: MemorySize),+> MemorySize for ($($name,)+) {
            fn heap_size(&self) -> usize { 0 $(+ self.$i.heap_size())+ }
        }
    };
}
tuple!(A.0);
tuple!(A.0, B.1);
tuple!(A.0, B.1, C.2);
tuple!(A.0, B.1, C.2, D.3);

#[cfg(feature = "polars")]
mod frames {
    use super::MemorySize;
    use polars::prelude::{DataFrame, Series};

    impl MemorySize for DataFrame {
        fn heap_size(&self) -> usize {
            self.estimated_size()
        }
    }

    impl MemorySize for Series {
        fn heap_size(&self) -> usize {
            self.estimated_size()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::MemorySize;

    #[test]
    fn counts_the_heap() {
        let v: Vec<u64> = Vec::with_capacity(1000);
        assert_eq!(v.heap_size(), 8000);
        let s = vec!["ab".to_string(); 3];
        assert!(s.heap_size() >= 3 * 24 + 6);
        assert_eq!(7u32.memory_size(), 4);
        assert!((1u8, String::from("xyz")).heap_size() >= 3);
    }
}
