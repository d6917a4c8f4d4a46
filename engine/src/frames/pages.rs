//! A dictionary-encoded column's parquet pages: one dictionary page (the distinct values,
//! plain), one data page (definition levels, then each valid value's key).
//!
//! The keys are written in parquet's RLE/bit-packing hybrid. polars' encoder looks for runs value
//! by value (~2 ns a key: a fifth of the bench's cold-run encoding); keys that change at nearly
//! every row have no runs worth finding, so they are bit-packed whole, as one bit-packed run,
//! with polars' own packer. Keys with runs still go through polars' run-finding encoder.

use polars::prelude::PolarsResult;
use polars_parquet::parquet::encoding::{bitpacked, hybrid_rle, uleb128};
use polars_parquet::parquet::metadata::Descriptor;
use polars_parquet::parquet::page::{DataPage, DataPageHeader, DataPageHeaderV1, DictPage};
use polars_parquet::parquet::schema::Repetition;
use polars_parquet::parquet::statistics::ParquetStatistics;
use polars_parquet::parquet::CowBuffer;
use polars_parquet::write::{
    compress, write_def_levels, CompressedPage, Encoding, Page, ParquetType, Version, WriteOptions,
};

use super::dictionary::Dictionary;

/// Keys per bit-packing block of polars' packer.
const BLOCK: usize = 32;

/// `dictionary`'s pages for the primitive column `field`, as `options` (version 1 data
/// pages, no min/max statistics) asks. `None` if `field` is not a primitive column.
pub(super) fn dictionary_pages(
    dictionary: Dictionary,
    field: &ParquetType,
    options: WriteOptions,
) -> Option<PolarsResult<Vec<CompressedPage>>> {
    let ParquetType::PrimitiveType(primitive) = field else {
        return None;
    };
    let Dictionary {
        values,
        count,
        keys,
        validity,
        len,
    } = dictionary;
    let optional = primitive.field_info.repetition == Repetition::Optional;
    let nulls = validity.as_ref().map_or(0, |v| v.unset_bits());
    let pages = (|| {
        let dict = DictPage::new(CowBuffer::Owned(values), count, false);
        let mut buffer = Vec::with_capacity(keys.len() / 2 + 64);
        write_def_levels(&mut buffer, optional, validity.as_ref(), len, Version::V1)?;
        let width = 32 - (count.saturating_sub(1) as u32).leading_zeros();
        buffer.push(width as u8);
        encode_keys(&keys, width, &mut buffer)?;
        let statistics = options.statistics.null_count.then_some(ParquetStatistics {
            null_count: Some(nulls as i64),
            max: None,
            min: None,
            distinct_count: None,
            max_value: None,
            min_value: None,
            is_max_value_exact: None,
            is_min_value_exact: None,
        });
        let header = DataPageHeader::V1(DataPageHeaderV1 {
            num_values: len as i32,
            encoding: Encoding::RleDictionary.into(),
            definition_level_encoding: Encoding::Rle.into(),
            repetition_level_encoding: Encoding::Rle.into(),
            statistics,
        });
        let descriptor = Descriptor {
            primitive_type: primitive.clone(),
            max_def_level: 0,
            max_rep_level: 0,
        };
        let data = DataPage::new(header, CowBuffer::Owned(buffer), descriptor, len);
        [Page::Dict(dict), Page::Data(data)]
            .into_iter()
            .map(|page| Ok(compress(page, Vec::new(), options.compression)?))
            .collect()
    })();
    Some(pages)
}

/// Writes `keys`, each `width` bits wide, in the RLE/bit-packing hybrid: bit-packed whole when
/// they change at more than half the rows (runs long enough to pay are then rare), through
/// polars' run-finding encoder otherwise.
fn encode_keys(keys: &[u32], width: u32, out: &mut Vec<u8>) -> std::io::Result<()> {
    let changes = keys.windows(2).filter(|w| w[0] != w[1]).count();
    if keys.is_empty() || changes * 2 < keys.len() {
        return hybrid_rle::encode::<u32, _, _>(out, keys.iter().copied(), width);
    }
    // One bit-packed run: its header counts groups of eight keys, and each group takes `width`
    // bytes; the last group is padded with zeros, which a reader knowing the page's values
    // ignores.
    let groups = keys.len().div_ceil(8);
    let mut header = [0u8; 10];
    let used = uleb128::encode(((groups as u64) << 1) | 1, &mut header);
    out.extend_from_slice(&header[..used]);
    let start = out.len();
    // The packer fills whole blocks of 32 keys.
    let blocks = keys.len().div_ceil(BLOCK);
    out.resize(start + blocks * BLOCK * width as usize / 8, 0);
    bitpacked::encode::<u32>(keys, width as usize, &mut out[start..]);
    out.truncate(start + groups * width as usize);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use polars_parquet::parquet::encoding::hybrid_rle::HybridRleDecoder;

    fn decode(bytes: &[u8], width: u32, n: usize) -> Vec<u32> {
        HybridRleDecoder::new(bytes, width, n).collect().unwrap()
    }

    #[test]
    fn keys_read_back_whether_packed_whole_or_run_length_encoded() {
        // Changing at every row (packed whole), in lengths that end mid-group and mid-block.
        for n in [1, 7, 8, 31, 32, 33, 1000] {
            let keys: Vec<u32> = (0..n).map(|i| (i * 7 % 5) as u32).collect();
            let mut out = Vec::new();
            encode_keys(&keys, 3, &mut out).unwrap();
            assert_eq!(decode(&out, 3, keys.len()), keys, "{n} keys");
        }
        // Long runs: run-length encoded, and much smaller for it.
        let runs: Vec<u32> = (0..1000).map(|i| (i / 100) as u32).collect();
        let mut out = Vec::new();
        encode_keys(&runs, 4, &mut out).unwrap();
        assert_eq!(decode(&out, 4, runs.len()), runs);
        assert!(out.len() < 100, "{} bytes for ten runs", out.len());
        // Width 0: one value, every key 0.
        let mut out = Vec::new();
        encode_keys(&[0; 20], 0, &mut out).unwrap();
        assert_eq!(decode(&out, 0, 20), [0; 20]);
    }
}
