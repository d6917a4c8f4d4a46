//! Which encoding a parquet column gets, and its dictionary when it gets one.
//!
//! polars' writer decides per column: an integer column whose values span at most 65,536 gets a
//! dictionary by a bitmask of the values seen, when few enough are distinct; any other column is
//! judged by a HyperLogLog estimate of its distinct values, then cast to a dictionary (hashing
//! every value) if at most three quarters are distinct. Here the same rules are applied more
//! cheaply where the column's shape allows, and the dictionary is handed to
//! [`pages`](super::pages) as plain keys and values rather than as an Arrow dictionary array:
//!
//! - **Short strings**: a string of at most 12 bytes lives inside its 16-byte view, so two such
//!   strings are equal exactly when their views are (the bytes past a string's end are zeros;
//!   were they not, a value would only appear twice in the dictionary, still read back right).
//!   Category-like columns (regions, products, codes) are such strings; each view is one
//!   128-bit key, looked up in a small direct-mapped cache before a map.
//! - **Integers** (`Int32`, `Int64`): polars' bitmask rule, in one pass that finds each value's
//!   key as it marks it seen.
//! - **Integers that only ever grow or only ever shrink** (row ids, timestamps in order) are
//!   all distinct: no dictionary, and no estimate polars would make to learn as much. They are
//!   delta-encoded instead ([`Choice::Ordered`]: parquet's `DELTA_BINARY_PACKED`, the
//!   differences bit-packed): a row id of eight bytes takes a bit or two.
//! - **Floats** (`Float32`, `Float64`): a dictionary only when they take at most
//!   [`FLOAT_DICTIONARY_MAX`] distinct values (codes, ratings, a few prices), found in one pass
//!   that stops at the first value past that; plain otherwise. polars' estimate reads every
//!   value of the column to decide; measured quantities (amounts, ratios, scores) have hundreds
//!   of distinct values within their first few hundred, and came out plain anyway (the bench's
//!   files are byte for byte the same), so this decides the same for them at a fraction of
//!   the cost. A float column with more distinct values that repeat a lot (polars would give it
//!   a dictionary up to three quarters distinct) is written plain: a little larger, cheaper to
//!   write and to read, which is what a cache written on every cold run wants (its pages are
//!   not compressed for the same reason).
//!
//! Anything else is left to polars ([`Choice::Polars`]).

use polars_arrow::array::{Array, PrimitiveArray, Utf8ViewArray};
use polars_arrow::bitmap::Bitmap;
use polars_arrow::types::NativeType;
use rustc_hash::FxHashMap;

/// Values seen before the share of distinct ones is first judged (short strings).
const JUDGE_AFTER: usize = 1024;

/// Slots of the cache of recent views.
const SLOTS: usize = 256;

/// No view: a length no string held in its view has.
const EMPTY: u128 = u128::MAX;

/// The widest span of integer values judged by a bitmask (polars' `BITMASK_THRESHOLD`).
const SPAN_LIMIT: u64 = u16::MAX as u64;

/// The most distinct values a float column is dictionary-encoded with.
pub(super) const FLOAT_DICTIONARY_MAX: usize = 256;

/// A column's encoding.
pub(super) enum Choice {
    /// A dictionary, and the keys into it.
    Dictionary(Dictionary),
    /// Plain: too many of its values are distinct for a dictionary to pay.
    Plain,
    /// Integers that only ever grow or only ever shrink: every value distinct, each close to
    /// the one before; delta-encoded (`DELTA_BINARY_PACKED`).
    Ordered,
    /// polars decides, as its writer does.
    Polars,
}

/// A column as a parquet dictionary: its distinct values, plain-encoded as a dictionary page
/// holds them, and each valid value's key.
pub(super) struct Dictionary {
    /// The distinct values, plain-encoded (in order of first appearance).
    pub values: Vec<u8>,
    /// How many distinct values.
    pub count: usize,
    /// The key of each valid value, in order (null slots have none).
    pub keys: Vec<u32>,
    /// The column's validity (`None`: no nulls).
    pub validity: Option<Bitmap>,
    /// The column's length, nulls included.
    pub len: usize,
}

/// How `array` is best encoded, and its dictionary if it gets one.
pub(super) fn choose(array: &dyn Array) -> Choice {
    let any = array.as_any();
    if let Some(strings) = any.downcast_ref::<Utf8ViewArray>() {
        return short_strings(strings);
    }
    // Exactly these types: a date or a timestamp (the same buffers, another dtype) is left to
    // polars, which writes its logical type with it.
    match array.dtype() {
        polars_arrow::datatypes::ArrowDataType::Int64 => any
            .downcast_ref::<PrimitiveArray<i64>>()
            .map_or(Choice::Polars, |a| integers(a, 2048)),
        polars_arrow::datatypes::ArrowDataType::Int32 => any
            .downcast_ref::<PrimitiveArray<i32>>()
            .map_or(Choice::Polars, |a| integers(a, 512)),
        polars_arrow::datatypes::ArrowDataType::Float64 => any
            .downcast_ref::<PrimitiveArray<f64>>()
            .map_or(Choice::Polars, |a| floats(a, f64::to_bits)),
        polars_arrow::datatypes::ArrowDataType::Float32 => any
            .downcast_ref::<PrimitiveArray<f32>>()
            .map_or(Choice::Polars, |a| floats(a, |v| u64::from(v.to_bits()))),
        _ => Choice::Polars,
    }
}

/// A float column: a dictionary of its values by their bits (so `-0.0` and `0.0`, or two NaNs
/// of different payloads, are distinct values, each read back exactly) if it takes at most
/// [`FLOAT_DICTIONARY_MAX`] distinct values and fewer than three quarters of its valid values are
/// distinct; plain otherwise, found out at the first value past the limit.
fn floats<T: NativeType>(array: &PrimitiveArray<T>, bits: impl Fn(T) -> u64) -> Choice {
    let validity = array.validity().filter(|v| v.unset_bits() > 0);
    let valid = array.len() - validity.map_or(0, Bitmap::unset_bits);
    if valid == 0 {
        return Choice::Polars;
    }
    let values = array.values().as_slice();
    let mut index: FxHashMap<u64, u32> = FxHashMap::default();
    let mut distinct: Vec<T> = Vec::new();
    let mut keys = Vec::with_capacity(valid);
    for (i, &v) in values.iter().enumerate() {
        if validity.is_some_and(|m| !m.get_bit(i)) {
            continue;
        }
        let key = match index.get(&bits(v)) {
            Some(&key) => key,
            None if distinct.len() == FLOAT_DICTIONARY_MAX => return Choice::Plain,
            None => {
                let key = distinct.len() as u32;
                index.insert(bits(v), key);
                distinct.push(v);
                key
            }
        };
        keys.push(key);
    }
    // polars' rule for a column judged by its distinct values alone: no "few" that always pays.
    if !worth_it(distinct.len(), valid, 0) {
        return Choice::Plain;
    }
    // Plain encoding of FLOAT/DOUBLE: the values' little-endian bytes.
    let mut bytes = Vec::with_capacity(std::mem::size_of_val(distinct.as_slice()));
    for v in &distinct {
        bytes.extend_from_slice(v.to_le_bytes().as_ref());
    }
    Choice::Dictionary(Dictionary {
        values: bytes,
        count: distinct.len(),
        keys,
        validity: validity.cloned(),
        len: array.len(),
    })
}

/// polars' rule for a dictionary: few distinct values, or fewer than three quarters distinct.
fn worth_it(distinct: usize, len: usize, few: usize) -> bool {
    distinct <= few || (distinct as f64) / (len as f64) < 0.75
}

/// A view's slot: the top bits of a multiplicative hash of its two halves.
fn slot(view: u128) -> usize {
    let folded = (view as u64) ^ ((view >> 64) as u64);
    (folded.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as usize
}

/// A string column whose strings are all held in their views, with at most three quarters of
/// its values distinct (judged after [`JUDGE_AFTER`] distinct ones, on the values so far).
fn short_strings(strings: &Utf8ViewArray) -> Choice {
    // No data buffers: every view holds its string.
    if !strings.data_buffers().is_empty() || strings.null_count() == strings.len() {
        return Choice::Polars;
    }
    let validity = strings.validity().filter(|v| v.unset_bits() > 0);
    let mut index: FxHashMap<u128, u32> = FxHashMap::default();
    // Where each dictionary value first appears.
    let mut firsts: Vec<usize> = Vec::new();
    let mut keys: Vec<u32> = Vec::with_capacity(strings.len() - strings.null_count());
    // In front of the map: the last view seen in each slot and its key. A column of a few
    // distinct strings finds nearly every one in its slot (the map alone cost as much as
    // polars' dictionary).
    let mut recent = [(EMPTY, 0u32); SLOTS];
    for (i, view) in strings.views().iter().enumerate() {
        if validity.is_some_and(|v| !v.get_bit(i)) {
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
            return Choice::Polars;
        }
    }
    // Plain encoding of a byte array: each value's length (4 bytes, little-endian), its bytes.
    let mut values = Vec::with_capacity(firsts.len() * 8);
    for &i in &firsts {
        let s = strings.value(i).as_bytes();
        values.extend_from_slice(&(s.len() as u32).to_le_bytes());
        values.extend_from_slice(s);
    }
    Choice::Dictionary(Dictionary {
        values,
        count: firsts.len(),
        keys,
        validity: validity.cloned(),
        len: strings.len(),
    })
}

/// An integer column: delta-encoded if it only ever grows or only ever shrinks (its values all
/// distinct); else by polars' rule, a dictionary if its values span at most [`SPAN_LIMIT`] and
/// few enough are distinct (`few`, or at most three quarters), plain if they span that little
/// but are mostly distinct, polars' estimate otherwise.
fn integers<T>(array: &PrimitiveArray<T>, few: usize) -> Choice
where
    T: NativeType + Ord + Into<i64>,
{
    let validity = array.validity().filter(|v| v.unset_bits() > 0);
    let values = array.values().as_slice();
    // Values under a null are undefined: only a column without nulls is judged by order;
    // polars tries a dictionary on any column of 128 values or fewer, and so does this. An
    // ordered column's values are all distinct, whatever their span: no dictionary to try.
    let ordered = validity.is_none()
        && values.len() > 128
        && (values.windows(2).all(|w| w[0] < w[1]) || values.windows(2).all(|w| w[0] > w[1]));
    if ordered {
        return Choice::Ordered;
    }
    let Some((min, max)) = min_max(values, validity) else {
        return Choice::Polars; // all null
    };
    let span = max.into().abs_diff(min.into());
    if span > SPAN_LIMIT {
        return Choice::Polars;
    }
    let min = min.into();
    // Each value's key by its offset from the smallest, given as the value is first seen.
    let mut lookup = vec![u32::MAX; span as usize + 1];
    let mut distinct: Vec<T> = Vec::new();
    let mut keys = Vec::with_capacity(values.len() - validity.map_or(0, Bitmap::unset_bits));
    let mut key_of = |v: T| {
        let slot = &mut lookup[(v.into() - min) as usize];
        if *slot == u32::MAX {
            *slot = distinct.len() as u32;
            distinct.push(v);
        }
        *slot
    };
    match validity {
        None => keys.extend(values.iter().map(|&v| key_of(v))),
        Some(valid) => keys.extend(
            (values.iter().zip(valid.iter()))
                .filter(|(_, ok)| *ok)
                .map(|(&v, _)| key_of(v)),
        ),
    }
    if !worth_it(distinct.len(), array.len(), few) {
        return Choice::Plain;
    }
    // Plain encoding of INT32/INT64: the values' little-endian bytes.
    let mut values = Vec::with_capacity(std::mem::size_of_val(distinct.as_slice()));
    for v in &distinct {
        values.extend_from_slice(v.to_le_bytes().as_ref());
    }
    Choice::Dictionary(Dictionary {
        values,
        count: distinct.len(),
        keys,
        validity: validity.cloned(),
        len: array.len(),
    })
}

/// The smallest and largest valid value (`None`: none is valid). Eight lanes at a time
/// without nulls, so the comparisons run independently.
fn min_max<T: NativeType + Ord>(values: &[T], validity: Option<&Bitmap>) -> Option<(T, T)> {
    if let Some(valid) = validity {
        let mut valid_values = values.iter().zip(valid.iter()).filter(|(_, ok)| *ok);
        let (&first, _) = valid_values.next()?;
        return Some(valid_values.fold((first, first), |(lo, hi), (&v, _)| (lo.min(v), hi.max(v))));
    }
    let &first = values.first()?;
    let mut lo = [first; 8];
    let mut hi = [first; 8];
    let mut lanes = values.chunks_exact(8);
    for chunk in &mut lanes {
        for i in 0..8 {
            lo[i] = lo[i].min(chunk[i]);
            hi[i] = hi[i].max(chunk[i]);
        }
    }
    for &v in lanes.remainder() {
        lo[0] = lo[0].min(v);
        hi[0] = hi[0].max(v);
    }
    Some((lo.into_iter().min()?, hi.into_iter().max()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use polars_arrow::array::MutableBinaryViewArray;

    fn strings(values: &[Option<&str>]) -> Utf8ViewArray {
        let mut m = MutableBinaryViewArray::<str>::new();
        for v in values {
            m.push(*v);
        }
        m.into()
    }

    /// The dictionary's values decoded from their plain encoding, and each slot's value.
    fn decoded(
        d: &Dictionary,
        width: usize,
        decode: impl Fn(&[u8]) -> String,
    ) -> Vec<Option<String>> {
        let mut values = Vec::new();
        let mut at = 0;
        while at < d.values.len() {
            let n = if width == 0 {
                let n = u32::from_le_bytes(d.values[at..at + 4].try_into().unwrap()) as usize;
                at += 4;
                n
            } else {
                width
            };
            values.push(decode(&d.values[at..at + n]));
            at += n;
        }
        assert_eq!(values.len(), d.count);
        let mut keys = d.keys.iter();
        (0..d.len)
            .map(|i| {
                (d.validity.as_ref().is_none_or(|v| v.get_bit(i)))
                    .then(|| values[*keys.next().unwrap() as usize].clone())
            })
            .collect()
    }

    /// `values` as an array whose slots `null(i)` are null (their values stay in the buffer).
    fn with_nulls<T: NativeType>(values: &[T], null: impl Fn(usize) -> bool) -> PrimitiveArray<T> {
        let valid = Bitmap::from_iter((0..values.len()).map(|i| !null(i)));
        PrimitiveArray::from_vec(values.to_vec()).with_validity(Some(valid))
    }

    fn dictionary(choice: Choice) -> Dictionary {
        match choice {
            Choice::Dictionary(d) => d,
            Choice::Plain | Choice::Ordered => panic!("plain or delta, not a dictionary"),
            Choice::Polars => panic!("left to polars, not a dictionary"),
        }
    }

    #[test]
    fn short_strings_become_keys_into_their_distinct_values() {
        let column = [
            Some("eu"),
            None,
            Some("us"),
            Some("eu"),
            Some("apac"),
            Some("us"),
        ];
        let d = dictionary(choose(&strings(&column)));
        assert_eq!(d.count, 3);
        assert_eq!(d.keys.len(), 5, "null slots have no key");
        let text = |b: &[u8]| String::from_utf8(b.to_vec()).unwrap();
        let want: Vec<Option<String>> = column.iter().map(|v| v.map(String::from)).collect();
        assert_eq!(decoded(&d, 0, text), want);
    }

    #[test]
    fn long_or_mostly_distinct_or_all_null_strings_are_left_to_polars() {
        let long = strings(&[Some("a string longer than twelve bytes"), Some("x")]);
        assert!(matches!(choose(&long), Choice::Polars));
        let ids: Vec<String> = (0..5000).map(|i| format!("id{i}")).collect();
        let distinct = strings(&ids.iter().map(|s| Some(s.as_str())).collect::<Vec<_>>());
        assert!(matches!(choose(&distinct), Choice::Polars));
        assert!(matches!(choose(&strings(&[None, None])), Choice::Polars));
    }

    #[test]
    fn integers_of_a_narrow_span_become_keys_and_mostly_distinct_ones_are_plain() {
        // Nulls' slots hold anything (here a value far out of the span): they are skipped.
        let values: Vec<i64> = (0..3000)
            .map(|i| if i % 7 == 3 { i64::MIN } else { 100 + i % 11 })
            .collect();
        let a = with_nulls(&values, |i| i % 7 == 3);
        let d = dictionary(choose(&a));
        assert_eq!(d.count, 11);
        let int = |b: &[u8]| i64::from_le_bytes(b.try_into().unwrap()).to_string();
        let want: Vec<Option<String>> = (0..3000)
            .map(|i| (i % 7 != 3).then(|| values[i].to_string()))
            .collect();
        assert_eq!(decoded(&d, 8, int), want);
        // i32: four bytes each.
        let small = PrimitiveArray::<i32>::from_vec((0..100).map(|i| i % 3 - 1).collect());
        let d = dictionary(choose(&small));
        let int = |b: &[u8]| i32::from_le_bytes(b.try_into().unwrap()).to_string();
        let got = decoded(&d, 4, int);
        assert_eq!(got[0].as_deref(), Some("-1"));
        assert_eq!(got[4].as_deref(), Some("0"));
        // Narrow but all distinct, in no order: plain, as polars would; in order, delta.
        let distinct = (0..5000).map(|i| (i * 7919) % 5000).collect();
        assert!(matches!(
            choose(&PrimitiveArray::<i64>::from_vec(distinct)),
            Choice::Plain
        ));
        let down = PrimitiveArray::<i64>::from_vec((0..5000).rev().collect());
        assert!(matches!(choose(&down), Choice::Ordered));
    }

    #[test]
    fn wide_integers_are_delta_encoded_when_ordered_and_polars_judges_the_rest() {
        let ids = PrimitiveArray::<i64>::from_vec((0..200_000).map(|i| i * 3).collect());
        assert!(matches!(choose(&ids), Choice::Ordered));
        let down = PrimitiveArray::<i64>::from_vec((0..200_000).rev().collect());
        assert!(matches!(choose(&down), Choice::Ordered));
        let mut shuffled: Vec<i64> = (0..200_000).collect();
        shuffled.swap(10, 20);
        assert!(matches!(
            choose(&PrimitiveArray::from_vec(shuffled)),
            Choice::Polars
        ));
        // 128 values or fewer: polars' own choice, as its rule tries a dictionary on them.
        let few = PrimitiveArray::<i64>::from_vec((0..100).map(|i| i * 100_000).collect());
        assert!(matches!(choose(&few), Choice::Polars));
        // Dates are left to polars, which writes their logical type.
        let dates = PrimitiveArray::<i32>::from_vec(vec![1, 1, 1])
            .to(polars_arrow::datatypes::ArrowDataType::Date32);
        assert!(matches!(choose(&dates), Choice::Polars));
    }

    #[test]
    fn floats_of_few_values_become_keys_and_others_are_plain() {
        // Nulls skipped; -0.0 and 0.0, and two NaNs of different payloads, kept apart by bits.
        let odd_nan = f64::from_bits(f64::NAN.to_bits() | 1);
        let pool = [1.25, -0.0, 0.0, f64::NAN, odd_nan, 1e300];
        let values: Vec<f64> = (0..600).map(|i| pool[i % pool.len()]).collect();
        let a = with_nulls(&values, |i| i % 5 == 2);
        let d = dictionary(choose(&a));
        assert_eq!(d.count, pool.len());
        let bits = |b: &[u8]| u64::from_le_bytes(b.try_into().unwrap()).to_string();
        let want: Vec<Option<String>> = (0..600)
            .map(|i| (i % 5 != 2).then(|| values[i].to_bits().to_string()))
            .collect();
        assert_eq!(decoded(&d, 8, bits), want);
        // f32: four bytes each.
        let small =
            PrimitiveArray::<f32>::from_vec((0..100).map(|i| (i % 4) as f32 / 2.0).collect());
        let d = dictionary(choose(&small));
        let float = |b: &[u8]| f32::from_le_bytes(b.try_into().unwrap()).to_string();
        assert_eq!(decoded(&d, 4, float)[3].as_deref(), Some("1.5"));
        // Past the limit (repeated, but too many distinct values): plain.
        let many: Vec<f64> = (0..20_000).map(|i| (i % 500) as f64 / 100.0).collect();
        assert!(matches!(
            choose(&PrimitiveArray::from_vec(many)),
            Choice::Plain
        ));
        // Under the limit but mostly distinct: plain.
        let distinct: Vec<f64> = (0..100).map(|i| i as f64 * 0.5).collect();
        assert!(matches!(
            choose(&PrimitiveArray::from_vec(distinct)),
            Choice::Plain
        ));
        // All null: polars'.
        let nulls =
            PrimitiveArray::<f64>::new_null(polars_arrow::datatypes::ArrowDataType::Float64, 3);
        assert!(matches!(choose(&nulls), Choice::Polars));
    }

    #[test]
    fn min_max_sees_every_lane_and_skips_nulls() {
        let values: Vec<i64> = (0..37).map(|i| (i * 7919) % 101 - 50).collect();
        let want = (*values.iter().min().unwrap(), *values.iter().max().unwrap());
        assert_eq!(min_max(&values, None), Some(want));
        let valid = Bitmap::from_iter([false, true, true]);
        assert_eq!(min_max(&[-100i64, 5, 6], Some(&valid)), Some((5, 6)));
        assert_eq!(min_max::<i64>(&[], None), None);
    }
}
