//! Parquet dictionaries of short strings, built from their Arrow views.
//!
//! A string of at most 12 bytes lives inside its 16-byte view, so two such strings are equal
//! exactly when their views are (the bytes past a string's end are zeros; were they not, a value
//! would only appear twice in the dictionary, still read back right). Category-like columns
//! (regions, products, codes) are such strings, and polars' parquet writer builds their
//! dictionary by hashing and comparing each value's bytes after estimating the column's
//! cardinality — an eighth of the CPU of the bench's cold run. Here each view is one 128-bit
//! key, looked up in a small direct-mapped cache before a map.

use polars_arrow::array::{
    Array, DictionaryArray, MutableBinaryViewArray, PrimitiveArray, Utf8ViewArray,
};
use polars_arrow::datatypes::{ArrowDataType, IntegerType};
use rustc_hash::FxHashMap;

/// Values seen before the share of distinct ones is first judged.
const JUDGE_AFTER: usize = 1024;

/// Slots of the cache of recent views.
const SLOTS: usize = 256;

/// No view: a length no string held in its view has.
const EMPTY: u128 = u128::MAX;

/// A view's slot: the top bits of a multiplicative hash of its two halves.
fn slot(view: u128) -> usize {
    let folded = (view as u64) ^ ((view >> 64) as u64);
    (folded.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as usize
}

/// `array` as a dictionary array of `u32` keys, when it is a string column whose strings are
/// all held in their views and at most three quarters of its values are distinct (polars' own
/// rule for a dictionary); `None` otherwise, and the column is written as polars would.
pub(super) fn short_strings(array: &dyn Array) -> Option<Box<dyn Array>> {
    let strings = array.as_any().downcast_ref::<Utf8ViewArray>()?;
    // No data buffers: every view holds its string.
    if !strings.data_buffers().is_empty() || strings.null_count() == strings.len() {
        return None;
    }
    let mut index: FxHashMap<u128, u32> = FxHashMap::default();
    // Where each dictionary value first appears.
    let mut firsts: Vec<usize> = Vec::new();
    let mut keys: Vec<u32> = Vec::with_capacity(strings.len());
    // In front of the map: the last view seen in each slot and its key. A column of a few
    // distinct strings finds nearly every one in its slot (the map alone cost as much as
    // polars' dictionary).
    let mut recent = [(EMPTY, 0u32); SLOTS];
    let validity = strings.validity();
    for (i, view) in strings.views().iter().enumerate() {
        if validity.is_some_and(|v| !v.get_bit(i)) {
            keys.push(0);
            continue;
        }
        let bits = view.as_u128();
        let slot = slot(bits);
        let key = if recent[slot].0 == bits {
            recent[slot].1
        } else {
            let key = *index.entry(bits).or_insert_with(|| {
                firsts.push(i);
                (firsts.len() - 1) as u32
            });
            recent[slot] = (bits, key);
            key
        };
        keys.push(key);
        if firsts.len() > JUDGE_AFTER && firsts.len() * 4 > (i + 1) * 3 {
            return None;
        }
    }
    let mut values = MutableBinaryViewArray::<str>::with_capacity(firsts.len());
    for &i in &firsts {
        values.push_value(strings.value(i));
    }
    let dtype = ArrowDataType::Dictionary(
        IntegerType::UInt32,
        Box::new(strings.dtype().clone()),
        false,
    );
    let keys = PrimitiveArray::new(ArrowDataType::UInt32, keys.into(), validity.cloned());
    let values: Utf8ViewArray = values.into();
    DictionaryArray::try_new(dtype, keys, values.boxed())
        .ok()
        .map(|d| d.boxed())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(values: &[Option<&str>]) -> Utf8ViewArray {
        let mut m = MutableBinaryViewArray::<str>::new();
        for v in values {
            m.push(*v);
        }
        m.into()
    }

    #[test]
    fn short_strings_become_keys_into_their_distinct_values() {
        let a = strings(&[
            Some("eu"),
            None,
            Some("us"),
            Some("eu"),
            Some("apac"),
            Some("us"),
        ]);
        let d = short_strings(&a).expect("a dictionary");
        let d = d.as_any().downcast_ref::<DictionaryArray<u32>>().unwrap();
        let values = d.values().as_any().downcast_ref::<Utf8ViewArray>().unwrap();
        let got: Vec<Option<&str>> = (0..d.len())
            .map(|i| {
                d.is_valid(i)
                    .then(|| values.value(d.keys().value(i) as usize))
            })
            .collect();
        assert_eq!(
            got,
            [
                Some("eu"),
                None,
                Some("us"),
                Some("eu"),
                Some("apac"),
                Some("us")
            ]
        );
        assert_eq!(values.len(), 3);
    }

    #[test]
    fn long_or_mostly_distinct_or_all_null_strings_are_left_to_polars() {
        let long = strings(&[Some("a string longer than twelve bytes"), Some("x")]);
        assert!(short_strings(&long).is_none());
        let ids: Vec<String> = (0..5000).map(|i| format!("id{i}")).collect();
        let distinct = strings(&ids.iter().map(|s| Some(s.as_str())).collect::<Vec<_>>());
        assert!(short_strings(&distinct).is_none());
        assert!(short_strings(&strings(&[None, None])).is_none());
    }
}
