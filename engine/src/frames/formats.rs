//! Cache formats of frames: parquet (the default, read by every tool; written as
//! [`parquet`](super::parquet) says: pages not compressed, since a cache is written on every
//! cold run and snappy was about a tenth of a cold run's profile) and Arrow IPC (Feather v2:
//! uncompressed, read back without decoding, but about three times the bytes of parquet for
//! string columns and written on one thread: the book's Data frames chapter has the figures).
//! A `Series` is stored as a one-column frame. A `LazyFrame` has no stored form: weft never
//! collects one itself.

use std::io::{Cursor, Write};

use polars::prelude::{
    DataFrame, IpcReader, IpcWriter, ParquetReader, SerReader, SerWriter, Series,
};

use crate::value::CacheFormats;

/// The formats frames are stored in, the default first.
pub(crate) const FRAME_FORMATS: [&str; 2] = ["parquet", "ipc"];

fn write(df: &DataFrame, format: &str) -> Result<Vec<u8>, String> {
    // Room for the frame as it is in memory (compressed output is smaller; pages never
    // written are never touched): no reallocation copies the output as it grows.
    let mut out = Vec::with_capacity(df.estimated_size());
    write_to(df, format, &mut out)?;
    Ok(out)
}

/// Writes `df` in `format` into `out` as it is encoded (the cache's files, written straight).
fn write_to(df: &DataFrame, format: &str, out: &mut dyn Write) -> Result<(), String> {
    match format {
        "parquet" => super::parquet::write(df, out),
        "ipc" => IpcWriter::new(out).finish(&mut df.clone()),
        other => return Err(unknown(other)),
    }
    .map_err(|e| format!("cannot write {format}: {e}"))
}

fn read(bytes: &[u8], format: &str) -> Result<DataFrame, String> {
    let cursor = Cursor::new(bytes);
    match format {
        "parquet" => ParquetReader::new(cursor).finish(),
        "ipc" => IpcReader::new(cursor).finish(),
        other => return Err(unknown(other)),
    }
    .map_err(|e| format!("cannot read {format}: {e}"))
}

fn unknown(format: &str) -> String {
    format!(
        "a data frame cannot be stored as `{format}`; available: {}",
        FRAME_FORMATS.join(", ")
    )
}

/// Parquet and Arrow IPC keep a frame's names, dtypes and values (polars writes its schema
/// into the file), and a frame's fingerprint reads only those, not its chunks.
impl CacheFormats for DataFrame {
    const FORMATS: &'static [&'static str] = &FRAME_FORMATS;
    const EXACT: bool = true;
    fn encode(&self, format: &str) -> Result<Vec<u8>, String> {
        write(self, format)
    }
    fn encode_to(&self, format: &str, out: &mut dyn Write) -> Result<(), String> {
        write_to(self, format, out)
    }
    fn decode(bytes: &[u8], format: &str) -> Result<Self, String> {
        read(bytes, format)
    }
}

impl CacheFormats for Series {
    const FORMATS: &'static [&'static str] = &FRAME_FORMATS;
    const EXACT: bool = true;
    fn encode(&self, format: &str) -> Result<Vec<u8>, String> {
        write(&self.clone().into_frame(), format)
    }
    fn encode_to(&self, format: &str, out: &mut dyn Write) -> Result<(), String> {
        write_to(&self.clone().into_frame(), format, out)
    }
    fn decode(bytes: &[u8], format: &str) -> Result<Self, String> {
        let df = read(bytes, format)?;
        match df.columns() {
            [one] => Ok(one.as_materialized_series().clone()),
            cols => Err(format!(
                "a stored series is a one-column frame; this one has {} columns",
                cols.len()
            )),
        }
    }
}
