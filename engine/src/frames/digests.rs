//! Column digests remembered by the series they were computed from, so that a column shared
//! by several frames is hashed once per process.
//!
//! Frames share columns: `with_columns` returns its input's columns beside the new ones (the
//! very same `Series`, reference-counted), a `select` or a `clone` shares them all. A cold
//! cached run fingerprints each frame for the keys of the nodes that read it, so without this
//! the bench's featured frame hashed again the six columns of the cleaned frame it was made
//! from (two thirds of its hashing, on the run's path).
//!
//! A digest is remembered beside a [`Weak`] reference to the series' allocation, and used for
//! a series at that same allocation. That is the same value, unchanged: the weak reference
//! keeps the allocation from being reused for another series while it is remembered (the
//! values themselves are freed with their last strong reference), and a series that is
//! remembered cannot be changed in place — polars changes a series in place only through
//! `Arc::get_mut` or after checking it holds the only reference, weak ones counted; otherwise
//! it copies the series to a new allocation.

use std::sync::{Arc, Mutex, PoisonError, Weak};

use polars::prelude::{Series, SeriesTrait};
use rustc_hash::FxHashMap;

use super::arrays;

/// Remembered digests past which dead entries (series since dropped) are swept, at least.
const SWEEP_AFTER: usize = 1024;

#[derive(Default)]
struct Memo {
    /// By the address of the series' allocation.
    known: FxHashMap<usize, (Weak<dyn SeriesTrait>, [u8; 32])>,
    /// Entries at which the next sweep is due.
    sweep_at: usize,
}

static MEMO: Mutex<Option<Memo>> = Mutex::new(None);

/// The address of a series' allocation: what a memo of series remembers it by (here and in
/// [`encoded`](super::encoded)).
pub(super) fn address(s: &Series) -> usize {
    Arc::as_ptr(&s.0).cast::<()>() as usize
}

/// The digest of one column (see [`arrays::column_digest`]), computed once per series.
pub(super) fn column_digest(s: &Series) -> [u8; 32] {
    let at = address(s);
    if let Some(digest) = remembered(at) {
        return digest;
    }
    // Hashed outside the lock: columns of a frame are hashed in parallel.
    let digest = arrays::column_digest(s);
    let mut memo = MEMO.lock().unwrap_or_else(PoisonError::into_inner);
    let memo = memo.get_or_insert_with(Memo::default);
    memo.known.insert(at, (Arc::downgrade(&s.0), digest));
    if memo.known.len() >= memo.sweep_at.max(SWEEP_AFTER) {
        memo.known
            .retain(|_, (series, _)| series.strong_count() > 0);
        memo.sweep_at = 2 * memo.known.len();
    }
    digest
}

/// The digest remembered for the series at `at`. An entry there is always that series: its
/// weak reference keeps the address from being reused, and `at` is the address of a series
/// alive now.
fn remembered(at: usize) -> Option<[u8; 32]> {
    let memo = MEMO.lock().unwrap_or_else(PoisonError::into_inner);
    memo.as_ref()?.known.get(&at).map(|(_, digest)| *digest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use polars::prelude::*;

    #[test]
    fn a_shared_series_is_remembered_and_a_changed_one_is_not() {
        let mut s = Series::new("x".into(), [1i64, 2, 3]);
        let first = column_digest(&s);
        let shared = s.clone();
        assert!(remembered(address(&shared)).is_some());
        assert_eq!(column_digest(&shared), first);

        // Changed in place by polars: it copies to a new allocation while a reference (ours,
        // weak) is out, so the change is hashed anew.
        drop(shared);
        s.rename("y".into());
        assert!(remembered(address(&s)).is_none());
        assert_ne!(column_digest(&s), first);
        assert_eq!(column_digest(&s), arrays::column_digest(&s));
    }

    #[test]
    fn the_digest_is_the_columns_whoever_computed_it() {
        let a = Series::new("x".into(), [1.5f64, 2.5]);
        let b = Series::new("x".into(), [1.5f64, 2.5]);
        assert_ne!(address(&a), address(&b));
        assert_eq!(column_digest(&a), column_digest(&b));
    }
}
