//! Encoded column chunks remembered by the series and rows they were encoded from, so that a
//! column shared by several frames is encoded once when they are stored.
//!
//! Frames share columns (see [`digests`](super::digests)): `with_columns` returns its input's
//! columns beside the new ones, the very same `Series`. A cold cached run stores both frames,
//! and without this the bench's featured frame encoded again six of its nine columns, those of
//! the cleaned frame it was made from (storing it took 43% less time with them taken from
//! here: `weft-bench frames-shared`).
//!
//! A column chunk is known by its series' allocation ([`address`], as digests are) and its rows (first row, count) in the
//! frame being written, and its pages are used again for that series and those rows written
//! as the same parquet field: the same values, encoded the same way. As for digests, a
//! [`Weak`] reference keeps the allocation from being reused for another series while it is
//! remembered, and a remembered series cannot be changed in place.
//!
//! Two frames written at once may meet the same chunk: the first encodes it, the other waits
//! for its pages (the encoding of one column never waits for anything, so no wait is circular).
//! The pages are kept while their series lives, at most [`KEEP_BYTES`] of them in all (the
//! oldest let go first; a chunk counted at its size in memory, which its uncompressed pages
//! seldom exceed): a process that stores many frames holds that much more memory at most, and
//! one that stores none holds nothing.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError, Weak};

use polars::prelude::{PolarsResult, Series, SeriesTrait};
use polars_parquet::write::{CompressedPage, ParquetType};
use rustc_hash::FxHashMap;

use super::digests::address;

/// One column chunk's pages: a list per leaf of the column.
pub(super) type Pages = Arc<Vec<Vec<CompressedPage>>>;

/// The most bytes of encoded pages remembered at once.
pub(super) const KEEP_BYTES: usize = 64 << 20;

/// A column chunk: its series' allocation, its first row and its rows.
type Key = (usize, usize, usize);

/// Pages being made (empty) or made (`None` if encoding failed: not remembered).
type Slot = Arc<OnceLock<Option<Pages>>>;

struct Entry {
    series: Weak<dyn SeriesTrait>,
    field: ParquetType,
    slot: Slot,
}

#[derive(Default)]
struct Memo {
    known: FxHashMap<Key, Entry>,
    /// Chunks whose pages are made, oldest first, with their bytes.
    made: VecDeque<(Key, usize)>,
    bytes: usize,
}

static MEMO: Mutex<Option<Memo>> = Mutex::new(None);

fn memo() -> MutexGuard<'static, Option<Memo>> {
    MEMO.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Where a column chunk comes from: rows `start..start + rows` of `series`, `size` bytes in
/// memory.
pub(super) struct Chunk<'a> {
    pub series: &'a Series,
    pub start: usize,
    pub rows: usize,
    pub size: usize,
}

/// The pages of `chunk` written as `field`: the pages made for it before, or `encode`'s
/// (remembered). A column that is not a plain series (a scalar one, `None`) is encoded every
/// time.
pub(super) fn pages(
    chunk: Option<Chunk>,
    field: &ParquetType,
    encode: impl Fn() -> PolarsResult<Vec<Vec<CompressedPage>>>,
) -> PolarsResult<Pages> {
    let Some(chunk) = chunk else {
        return encode().map(Arc::new);
    };
    let key = (address(chunk.series), chunk.start, chunk.rows);
    let claimed = (memo().get_or_insert_with(Memo::default)).claim(key, chunk.series, field);
    let slot = match claimed {
        Some(slot) => slot,
        None => return encode().map(Arc::new),
    };
    let mut made = false;
    let mut failed = None;
    let pages = slot.get_or_init(|| match encode() {
        Ok(pages) => {
            made = true;
            Some(Arc::new(pages))
        }
        Err(e) => {
            failed = Some(e);
            None
        }
    });
    match (pages, failed, made) {
        (_, Some(e), _) => {
            if let Some(memo) = memo().as_mut() {
                memo.forget(key, &slot);
            }
            Err(e)
        }
        (Some(pages), None, true) => {
            if let Some(memo) = memo().as_mut() {
                memo.keep(key, chunk.size, KEEP_BYTES);
            }
            Ok(pages.clone())
        }
        (Some(pages), None, false) => Ok(pages.clone()),
        // Another writer's encoding failed: ours meets its own error, or succeeds.
        (None, None, _) => encode().map(Arc::new),
    }
}

impl Memo {
    /// The slot of `key`, new if it was not known; `None` if it is known as another field
    /// (the same rows written under another name or type: encoded anew).
    fn claim(&mut self, key: Key, series: &Series, field: &ParquetType) -> Option<Slot> {
        if let Some(entry) = self.known.get(&key) {
            return (entry.field == *field).then(|| entry.slot.clone());
        }
        let slot = Slot::default();
        let entry = Entry {
            series: Arc::downgrade(&series.0),
            field: field.clone(),
            slot: slot.clone(),
        };
        self.known.insert(key, entry);
        Some(slot)
    }

    /// Counts the pages just made for `key` (`size` bytes); past `limit` bytes, lets go of the
    /// pages of series since dropped, then of the oldest, until at most `limit` are kept.
    fn keep(&mut self, key: Key, size: usize, limit: usize) {
        self.made.push_back((key, size));
        self.bytes += size;
        if self.bytes <= limit {
            return;
        }
        self.sweep();
        let Memo { known, made, bytes } = self;
        while *bytes > limit {
            let Some((key, size)) = made.pop_front() else {
                break;
            };
            known.remove(&key);
            *bytes -= size;
        }
    }

    /// Lets go of the pages of series since dropped.
    fn sweep(&mut self) {
        let Memo { known, made, bytes } = self;
        known.retain(|_, entry| entry.series.strong_count() > 0);
        made.retain(|(key, size)| {
            let kept = known.contains_key(key);
            if !kept {
                *bytes -= size;
            }
            kept
        });
    }

    /// Forgets `key` if it is still `slot` (its encoding failed: the next writer tries again).
    fn forget(&mut self, key: Key, slot: &Slot) {
        if self
            .known
            .get(&key)
            .is_some_and(|e| Arc::ptr_eq(&e.slot, slot))
        {
            self.known.remove(&key);
        }
    }

    #[cfg(test)]
    fn remembers(&self, key: Key) -> bool {
        self.made.iter().any(|(k, _)| *k == key)
    }
}

/// Lets go of the pages of series since dropped (a frame's writer, once done: the series it
/// aligned for writing, if it had to, die with it).
pub(super) fn sweep() {
    if let Some(memo) = memo().as_mut() {
        memo.sweep();
    }
}

/// Whether the pages of rows `start..start + rows` of `series` are remembered.
#[cfg(test)]
pub(super) fn remembered(series: &Series, start: usize, rows: usize) -> bool {
    let key = (address(series), start, rows);
    (memo().as_ref()).is_some_and(|m| m.remembers(key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use polars::prelude::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn field_of(s: &Series) -> ParquetType {
        let schema = Schema::from_iter([s.field().into_owned()]);
        let arrow = schema.to_arrow(CompatLevel::newest());
        polars_parquet::write::to_parquet_schema(&arrow)
            .unwrap()
            .fields()[0]
            .clone()
    }

    fn rows(series: &Series, start: usize, rows: usize) -> Option<Chunk<'_>> {
        let size = 8 * rows;
        Some(Chunk {
            series,
            start,
            rows,
            size,
        })
    }

    fn one_page() -> PolarsResult<Vec<Vec<CompressedPage>>> {
        Ok(vec![Vec::new()])
    }

    #[test]
    fn a_chunk_is_encoded_once_per_series_rows_and_field() {
        let s = Series::new("memo_once".into(), [1i64, 2, 3]);
        let field = field_of(&s);
        let calls = AtomicUsize::new(0);
        let encode = || {
            calls.fetch_add(1, Ordering::SeqCst);
            one_page()
        };
        pages(rows(&s, 0, 3), &field, encode).unwrap();
        assert!(remembered(&s, 0, 3));
        // The same series shared by another frame: its pages again.
        let shared = s.clone();
        pages(rows(&shared, 0, 3), &field, encode).unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // Other rows, another field, no series: encoded.
        pages(rows(&s, 1, 2), &field, encode).unwrap();
        let renamed = s.clone().with_name("other".into());
        pages(rows(&s, 0, 3), &field_of(&renamed), encode).unwrap();
        pages(None, &field, encode).unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 4);
    }

    #[test]
    fn a_failed_encoding_is_not_remembered() {
        let s = Series::new("memo_failed".into(), [1i64]);
        let field = field_of(&s);
        let failing = || Err(PolarsError::ComputeError("no".into()));
        assert!(pages(rows(&s, 0, 1), &field, failing).is_err());
        assert!(!remembered(&s, 0, 1));
        // The next writer tries again, and its pages are kept.
        pages(rows(&s, 0, 1), &field, one_page).unwrap();
        assert!(remembered(&s, 0, 1));
    }

    #[test]
    fn writers_meeting_one_chunk_share_one_encoding() {
        let s = Series::new("memo_threads".into(), [4i64, 5]);
        let field = field_of(&s);
        let calls = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    pages(rows(&s, 0, 2), &field, || {
                        calls.fetch_add(1, Ordering::SeqCst);
                        one_page()
                    })
                    .unwrap()
                });
            }
        });
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn past_the_limit_dropped_series_go_first_then_the_oldest() {
        let mut memo = Memo::default();
        let (old, young) = (
            Series::new("old".into(), [1i64]),
            Series::new("young".into(), [2i64]),
        );
        let dropped = Series::new("dropped".into(), [3i64]);
        let key = |s: &Series| (address(s), 0, 1);
        for s in [&old, &dropped, &young] {
            memo.claim(key(s), s, &field_of(s)).unwrap();
            memo.keep(key(s), 10, 30);
        }
        assert!([&old, &dropped, &young]
            .iter()
            .all(|s| memo.remembers(key(s))));
        let gone = key(&dropped);
        drop(dropped);
        // Over the limit: the dropped series' pages go, and that is enough.
        let newest = Series::new("newest".into(), [4i64]);
        memo.claim(key(&newest), &newest, &field_of(&newest))
            .unwrap();
        memo.keep(key(&newest), 10, 30);
        assert!(!memo.remembers(gone) && !memo.known.contains_key(&gone));
        assert!([&old, &young, &newest]
            .iter()
            .all(|s| memo.remembers(key(s))));
        // Still over: the oldest go.
        let big = Series::new("big".into(), [5i64]);
        memo.claim(key(&big), &big, &field_of(&big)).unwrap();
        memo.keep(key(&big), 15, 30);
        assert!(!memo.remembers(key(&old)) && !memo.remembers(key(&young)));
        assert!(memo.remembers(key(&newest)) && memo.remembers(key(&big)));
        assert_eq!(memo.bytes, 25);
    }
}
