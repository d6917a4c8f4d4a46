//! How a frame is written as parquet: its own chunks as row groups where they are big enough
//! (no copy of the frame), pages not compressed, dictionary-encoded where values repeat (by
//! polars' rules per column, applied more cheaply where the column's shape allows — short
//! strings, integers —, and for floats only when they take few values: see
//! [`dictionary`](super::dictionary) and [`pages`](super::pages)), null counts but no min/max
//! statistics.
//!
//! Why not polars' `ParquetWriter::finish`: it merges a frame's chunks into 262,144-row row
//! groups, and a frame read from a CSV or filtered comes in chunks of ~30,000 rows (one per
//! piece of the parse), so it copied every frame it wrote — a third of a cold run's encoding
//! on the bench's 1M-row frames, page faults included. And min/max statistics serve readers
//! that skip row groups by a predicate; weft reads a stored result whole, and computing them
//! was another tenth. The file is an ordinary parquet file either way: any tool reads it.
//!
//! The pages are ours, polars' writer writes the file: row groups are encoded a few at once
//! (as many as polars' thread pool has threads, on that pool, as polars' writer does), each column's pages made in the parallel step,
//! and written in order — so a run's last frame is encoded on every core, and at most that
//! many row groups' pages are in memory, never the whole encoded file. A column chunk that a
//! frame shares with a frame stored before (the same series, the same rows) is not encoded
//! again: its pages are [remembered](super::encoded) and handed to the file writer by
//! reference.

use std::io::Write;
use std::sync::PoisonError;

use polars::prelude::{
    Column, CompatLevel, DataFrame, ParquetCompression, ParquetWriter, PolarsResult, Series,
    StatisticsOptions,
};
use polars_arrow::array::Array;
use polars_arrow::compute::aggregate::estimated_bytes_size;
use polars_core::runtime::RAYON;
use polars_parquet::write::{
    array_to_columns, compress, fallible_streaming_iterator, get_dtype_encoding, CompressedPage,
    CompressionOptions, DynIter, DynStreamingIterator, Encoding, ParquetType, Version,
    WriteOptions,
};
use rayon::prelude::*;

use super::dictionary::{self, Choice};
use super::encoded::{self, Pages};
use super::pages;

/// Rows in a row group made of merged chunks, and the most in one: polars' own default.
const ROW_GROUP_ROWS: usize = 512 * 512;

/// A chunk smaller than this in memory is merged with its neighbours instead of being a row
/// group of its own (polars' own threshold for chunks too small to write alone).
const CHUNK_ALONE_BYTES: usize = 128 * 1024;

/// A row group ready to be written: its rows, and the pages of each of its columns.
type Encoded = (u64, Vec<Pages>);

/// Writes `df` to `out` as one parquet file.
pub(super) fn write(df: &DataFrame, out: &mut dyn Write) -> PolarsResult<()> {
    let (df, groups) = row_groups(df)?;
    let statistics = StatisticsOptions {
        min_value: false,
        max_value: false,
        ..Default::default()
    };
    // polars' writer for the file (its schema, metadata and footer); the pages are ours.
    let mut writer = ParquetWriter::new(out)
        .with_compression(ParquetCompression::Uncompressed)
        .with_statistics(statistics)
        .batched(df.schema())?;
    let options = WriteOptions {
        statistics,
        version: Version::V1,
        compression: CompressionOptions::Uncompressed,
        data_page_size: None,
    };
    let fields = writer.parquet_schema().fields().to_vec();
    let columns: Vec<Option<&Series>> = df.columns().iter().map(Column::as_series).collect();
    // A few row groups encoded at once, as many as polars' pool has threads, then written in
    // order: a run's last frame is encoded on every core, holding that many row groups' pages.
    // On polars' own pool, as its writer encodes: not rayon's global pool, whose threads may
    // all be running drivers that wait for this very frame to be stored.
    let at_once = RAYON.install(rayon::current_num_threads).max(1);
    for window in groups.chunks(at_once) {
        let encoded: Vec<PolarsResult<Vec<Encoded>>> = RAYON.install(|| {
            (window.par_iter())
                .map(|(start, group)| {
                    // One chunk each: one row group each.
                    let mut at = *start;
                    (group.iter_chunks(CompatLevel::newest(), false))
                        .map(|batch| {
                            let rows = batch.height();
                            let chunks: Vec<_> = (columns.iter())
                                .map(|series| Some(((*series)?, at, rows)))
                                .collect();
                            let pages = row_group(batch.columns(), &chunks, &fields, options)?;
                            at += rows;
                            Ok((rows as u64, pages))
                        })
                        .collect()
                })
                .collect()
        });
        let mut file = writer
            .get_writer()
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for group in encoded {
            for (rows, pages) in group? {
                let columns = pages.iter().flat_map(|column| column.iter()).map(|leaf| {
                    let leaf = leaf.iter().map(PolarsResult::Ok);
                    Ok(DynStreamingIterator::new(
                        fallible_streaming_iterator::convert(leaf),
                    ))
                });
                file.write(rows, DynIter::new(columns))?;
            }
        }
    }
    let written = writer.finish().map(|_| ());
    // Chunks of series made for this file (aligned) are of no use to another.
    drop(columns);
    drop((groups, df));
    encoded::sweep();
    written
}

/// One row group's columns, each encoded into its pages in parallel (eagerly: polars' own
/// writer leaves a plain column's pages to be made one after the other as the file is written):
/// as polars encodes them, but a column of short strings takes its dictionary from its views
/// ([`dictionary::short_strings`]), and a column chunk encoded for another frame sharing its
/// series is not encoded again ([`encoded`]). `chunks` says where each column's rows come
/// from: its series, first row and rows.
fn row_group(
    columns: &[Box<dyn Array>],
    chunks: &[Option<(&Series, usize, usize)>],
    fields: &[ParquetType],
    options: WriteOptions,
) -> PolarsResult<Vec<Pages>> {
    columns
        .par_iter()
        .zip(chunks)
        .zip(fields)
        .map(|((array, chunk), field)| {
            let chunk = chunk.map(|(series, start, rows)| encoded::Chunk {
                series,
                start,
                rows,
                size: estimated_bytes_size(array.as_ref()),
            });
            encoded::pages(chunk, field, || column(array, field, options))
        })
        .collect()
}

/// One column chunk's pages, a list per leaf (`array` boxed, as polars' encoder takes it).
#[allow(clippy::borrowed_box)]
fn column(
    array: &Box<dyn Array>,
    field: &ParquetType,
    options: WriteOptions,
) -> PolarsResult<Vec<Vec<CompressedPage>>> {
    let stripped = all_valid(array.as_ref());
    let array = stripped.as_ref().unwrap_or(array);
    let encoding = match dictionary::choose(array.as_ref()) {
        Choice::Dictionary(dict) => {
            if let Some(pages) = pages::dictionary_pages(dict, field, options) {
                return Ok(vec![pages?]);
            }
            get_dtype_encoding(array.dtype())
        }
        // One leaf: the column's only encoding is plain, or delta.
        Choice::Plain => vec![Encoding::Plain],
        Choice::Ordered => vec![Encoding::DeltaBinaryPacked],
        Choice::Polars => get_dtype_encoding(array.dtype()),
    };
    let leaves = array_to_columns(array, field.clone(), options, &encoding)?;
    leaves
        .into_iter()
        .map(|pages| {
            pages
                .map(|page| Ok(compress(page?, Vec::new(), options.compression)?))
                .collect()
        })
        .collect()
}

/// `array` without its validity when none of its values is null (polars keeps a validity
/// through a filter or an arithmetic step that leaves no nulls): a page's definition levels
/// are then one run, instead of a bit per value encoded one at a time.
fn all_valid(array: &dyn Array) -> Option<Box<dyn Array>> {
    (array.validity()?.unset_bits() == 0).then(|| array.with_validity(None))
}

/// `df` cut into the row groups it is written as, each a frame of one chunk: a chunk of at
/// least [`CHUNK_ALONE_BYTES`] is a row group as it is (sliced, not copied, if it has more
/// than [`ROW_GROUP_ROWS`] rows); runs of smaller ones are merged (copied) up to
/// [`ROW_GROUP_ROWS`] rows. Columns chunked differently are first aligned (a copy, as polars'
/// own writer makes): the frame the groups are cut from is returned with them, and each group
/// with its first row in it.
fn row_groups(df: &DataFrame) -> PolarsResult<(DataFrame, Vec<(usize, DataFrame)>)> {
    let mut df = df.clone();
    df.align_chunks_par();
    let mut groups = Vec::new();
    let mut small: Vec<DataFrame> = Vec::new();
    let mut small_rows = 0;
    for chunk in df.split_chunks() {
        if chunk.height() == 0 {
            continue;
        }
        if chunk.estimated_size() >= CHUNK_ALONE_BYTES {
            merge(&mut small, &mut groups)?;
            small_rows = 0;
            let mut offset = 0;
            while offset < chunk.height() {
                groups.push(chunk.slice(offset as i64, ROW_GROUP_ROWS));
                offset += ROW_GROUP_ROWS;
            }
        } else {
            small_rows += chunk.height();
            small.push(chunk);
            if small_rows >= ROW_GROUP_ROWS {
                merge(&mut small, &mut groups)?;
                small_rows = 0;
            }
        }
    }
    merge(&mut small, &mut groups)?;
    // In order, every row in one: each starts where the last ended. No rows, no row groups:
    // the file still holds the schema.
    let mut at = 0;
    let groups = (groups.into_iter())
        .map(|group| {
            let start = at;
            at += group.height();
            (start, group)
        })
        .collect();
    Ok((df, groups))
}

/// Merges the small chunks waiting into one row group.
fn merge(small: &mut Vec<DataFrame>, groups: &mut Vec<DataFrame>) -> PolarsResult<()> {
    let mut pieces = small.drain(..);
    let Some(mut group) = pieces.next() else {
        return Ok(());
    };
    for piece in pieces {
        group.vstack_mut_owned(piece)?;
    }
    group.rechunk_mut_par();
    groups.push(group);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use polars::prelude::*;
    use polars_arrow::array::Int64Array;
    use polars_arrow::bitmap::Bitmap;

    /// A frame of `n` chunks of `rows` rows each: an id and a repeated string.
    fn chunked(n: usize, rows: usize) -> DataFrame {
        let mut out: Option<DataFrame> = None;
        for c in 0..n {
            let ids: Vec<i64> = (0..rows as i64).map(|i| (c * rows) as i64 + i).collect();
            let tags: Vec<&str> = (0..rows).map(|i| ["eu", "us", "apac"][i % 3]).collect();
            let part = df!("id" => ids, "tag" => tags).unwrap();
            match out.as_mut() {
                None => out = Some(part),
                Some(df) => {
                    df.vstack_mut_owned(part).unwrap();
                }
            }
        }
        out.unwrap()
    }

    fn group_rows(df: &DataFrame) -> Vec<usize> {
        let (_, groups) = row_groups(df).unwrap();
        let mut next = 0;
        (groups.iter())
            .map(|(start, group)| {
                assert_eq!(*start, next, "groups start where the last ended");
                next += group.height();
                group.height()
            })
            .collect()
    }

    #[test]
    fn big_chunks_are_row_groups_as_they_are_and_small_ones_are_merged() {
        // 20,000 rows of i64 + views: well over the threshold.
        assert_eq!(group_rows(&chunked(3, 20_000)), [20_000; 3]);
        // 100 rows each: merged, up to the row-group size.
        assert_eq!(group_rows(&chunked(5, 100)), [500]);
        let one = chunked(1, 600_000);
        assert_eq!(group_rows(&one), [262_144, 262_144, 75_712]);
        assert_eq!(group_rows(&chunked(1, 0)), [0; 0]);
    }

    #[test]
    fn a_frame_sharing_series_with_one_written_before_reads_back_equal() {
        let cleaned = chunked(3, 20_000);
        let mut bytes = Vec::new();
        write(&cleaned, &mut bytes).unwrap();
        // Each column's chunks are remembered by their rows in the frame.
        for c in cleaned.columns() {
            let s = c.as_series().unwrap();
            for start in [0, 20_000, 40_000] {
                assert!(encoded::remembered(s, start, 20_000), "{}", s.name());
            }
        }
        // A new column chunked as the others (no realignment): the frame shares their series.
        let id = cleaned.column("id").unwrap().as_materialized_series();
        let doubled = (id * 2).with_name("doubled".into());
        assert_eq!(doubled.n_chunks(), 3);
        let featured = cleaned.hstack(&[doubled.into()]).unwrap();
        let mut again = Vec::new();
        write(&featured, &mut again).unwrap();
        let back = ParquetReader::new(std::io::Cursor::new(again))
            .finish()
            .unwrap();
        assert!(back.equals_missing(&featured), "{back} != {featured}");
        assert_eq!(back.get_column_names(), ["id", "tag", "doubled"]);
    }

    #[test]
    fn a_validity_without_nulls_is_dropped_and_one_with_nulls_kept() {
        let none_null = Bitmap::from([true, true, true]);
        let a = Int64Array::from_slice([1, 2, 3]).with_validity(Some(none_null));
        assert!(all_valid(&a).unwrap().validity().is_none());
        let one_null = Bitmap::from([true, false, true]);
        assert!(all_valid(&a.clone().with_validity(Some(one_null))).is_none());
        assert!(all_valid(&Int64Array::from_slice([1])).is_none());
    }

    #[test]
    fn the_file_reads_back_equal_whatever_the_chunks() {
        let strings = df!(
            "short" => [Some("eu"), None, Some("us"), Some("eu")],
            "long" => [Some("a string longer than twelve bytes"), None, Some("x"), None],
            "none" => [None::<&str>, None, None, None],
            "n" => [Some(1.5f64), None, Some(2.5), Some(1.5)],
        )
        .unwrap();
        // A validity without nulls, written without it: still the same frame read back.
        let all_valid = Int64Array::from_slice([4, 5]).with_validity(Some(Bitmap::from([true; 2])));
        let all_valid = Series::from_arrow("v".into(), all_valid.boxed()).unwrap();
        let all_valid = DataFrame::new(2, vec![all_valid.into()]).unwrap();
        // Nested and boolean columns take polars' own encoding, leaf by leaf.
        let lists = Series::new(
            "l".into(),
            [
                Series::new("".into(), [1i64, 2]),
                Series::new("".into(), [3i64]),
            ],
        );
        let flags = Series::new("b".into(), [Some(true), None]);
        let nested = DataFrame::new(2, vec![lists.into(), flags.into()]).unwrap();
        // Integer dictionaries (with nulls, i32, a single value), ordered ids, dates, and
        // keys with long runs (the run-length path) or none (bit-packed whole).
        let n = 5_000;
        let ints = df!(
            "qty" => (0..n).map(|i| (i % 9 != 4).then_some(i % 11)).collect::<Vec<_>>(),
            "small" => (0..n).map(|i| (i % 5) as i32 - 2).collect::<Vec<_>>(),
            "one" => vec![7i64; n as usize],
            "id" => (0..n).collect::<Vec<i64>>(),
            "runs" => (0..n).map(|i| ["a", "b"][(i / 1000) as usize % 2]).collect::<Vec<_>>(),
            "every" => (0..n).map(|i| ["a", "b", "c"][(i % 3) as usize]).collect::<Vec<_>>(),
            // Float dictionaries (with nulls, a negative zero) and plain floats.
            "price" => (0..n).map(|i| (i % 13 != 6).then_some([0.0, -0.0, 2.5, 9.75][(i % 4) as usize])).collect::<Vec<_>>(),
            "ratio" => (0..n).map(|i| i as f64 / 7.0).collect::<Vec<_>>(),
            "tiny32" => (0..n).map(|i| (i % 3) as f32).collect::<Vec<_>>(),
        )
        .unwrap();
        let day = Series::new(
            "day".into(),
            (0..n).map(|i| (i % 30) as i32).collect::<Vec<_>>(),
        );
        let day = day.cast(&DataType::Date).unwrap();
        let ints = ints.hstack(&[day.into()]).unwrap();
        let frames = [
            ints,
            chunked(3, 20_000),
            chunked(7, 100),
            chunked(1, 0),
            strings,
            all_valid,
            nested,
        ];
        for df in frames {
            let mut bytes = Vec::new();
            write(&df, &mut bytes).unwrap();
            let mut reader = ParquetReader::new(std::io::Cursor::new(bytes));
            // The file's row groups are the groups above: the frame was not merged first.
            let in_file: Vec<usize> = (reader.get_metadata().unwrap().row_groups.iter())
                .map(|g| g.num_rows())
                .collect();
            assert_eq!(in_file, group_rows(&df));
            let back = reader.finish().unwrap();
            assert_eq!(back.schema(), df.schema());
            assert!(back.equals_missing(&df), "{back} != {df}");
        }
    }

    #[test]
    fn ordered_integers_take_a_bit_or_two_a_value_and_read_back_equal() {
        let n = 200_000;
        let df = df!(
            "id" => (0..n).map(|i| 1_000_000 + i).collect::<Vec<i64>>(),
            "down" => (0..n as i32).rev().map(|i| i * 3).collect::<Vec<i32>>(),
            "gaps" => (0..n).map(|i| i * i).collect::<Vec<i64>>(),
        )
        .unwrap();
        let mut bytes = Vec::new();
        write(&df, &mut bytes).unwrap();
        // Plain, the ids and gaps alone would be 8 bytes a value; the steps of `gaps` grow, so
        // it takes more bits than the others, still far fewer than 64.
        assert!(bytes.len() < (n as usize) * 5, "{} bytes", bytes.len());
        let back = ParquetReader::new(std::io::Cursor::new(bytes))
            .finish()
            .unwrap();
        assert!(back.equals_missing(&df), "{back} != {df}");
    }
}
