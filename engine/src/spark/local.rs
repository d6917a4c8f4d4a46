//! A small stored frame read back as local data.
//!
//! A frame Spark wrote for the cache is read back by Spark (a parquet scan: one Spark job each
//! time it is collected). When the directory is local (`local[*]`, or a path this machine
//! shares with the cluster) and small — at most [`LOCAL_ROWS`] rows in [`LOCAL_BYTES`] of
//! files, every column of a plain type — weft reads the files itself and hands Spark the rows
//! as a local relation instead: a plan over it needs no scan job (the rows travel with the
//! plan), and collecting the frame itself needs no request (its rows are kept, as Spark would
//! collect them, while a value holds the frame). A cached node's result is typically such a
//! frame: an aggregate, a report. Anything else (a larger frame, a nested or decimal column, a
//! compression this build cannot read, a directory that is not local) is read back by Spark as
//! before: the data, the schema and the data version are the same either way.

use std::collections::BTreeSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{
    DataType as ArrowType, Date32Type, Field, Float32Type, Float64Type, Int16Type, Int32Type,
    Int64Type, Int8Type, Schema,
};
use arrow::record_batch::RecordBatch;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use spark_connect::row::{Row, Value};
use spark_connect::types::DataType;
use spark_connect::{DataFrame, SparkSession};

use super::frame::local_path;
use super::held::Held;

/// The most rows a frame Spark wrote for the cache has to be read back as local rows (see
/// [`SparkAdapter`](super::SparkAdapter)).
pub const LOCAL_ROWS: usize = 10_000;

/// The most bytes of parquet files a frame Spark wrote for the cache takes to be read back as
/// local rows.
pub const LOCAL_BYTES: u64 = 1 << 20;

/// The key of the Arrow field metadata Spark puts a column's own metadata under (as JSON).
const SPARK_METADATA: &str = "SPARK::metadata::json";

/// The rows of the frames read back as local rows, as Spark would collect them, while a value
/// holds the frame: collecting one ([`to_arrow`](super::to_arrow)) needs no request.
static COLLECTED: Mutex<Held<DataFrame, Vec<RecordBatch>>> = Mutex::new(Held::new());

/// The frame Spark wrote to `dir` (schema `schema`, Spark's JSON form) as a local relation of
/// `session`, or `None` when it is not small, local and of plain types (see the module). Its
/// rows are kept for collecting it ([`collected`]).
pub(crate) fn read_small(
    dir: &str,
    schema: &str,
    session: &SparkSession,
) -> Option<Arc<DataFrame>> {
    let (rows, spark_schema, batches) = small_rows(dir, schema)?;
    // No rows: Spark is asked (what it returns for an empty frame is its to say).
    let keep = !rows.is_empty();
    let frame = Arc::new(session.create_dataframe(rows, spark_schema).ok()?);
    if let (true, Ok(mut kept)) = (keep, COLLECTED.lock()) {
        kept.keep(&frame, batches);
    }
    Some(frame)
}

/// The rows of `df` as Spark would collect them, when `df` is a frame [`read_small`] made
/// and a value still holds.
pub(crate) fn collected(df: &DataFrame) -> Option<Vec<RecordBatch>> {
    COLLECTED.lock().ok()?.get(df).cloned()
}

/// `batches` as an Arrow IPC file, as the client's `DataFrame::to_arrow` gives them.
#[cfg(feature = "polars")]
pub(crate) fn to_ipc(batches: &[RecordBatch]) -> Result<Vec<u8>, String> {
    let Some(first) = batches.first() else {
        return Err("no rows to convert (no Arrow schema)".into());
    };
    let mut buf = Vec::new();
    let mut w = arrow::ipc::writer::FileWriter::try_new(&mut buf, &first.schema())
        .map_err(|e| format!("cannot write Arrow IPC: {e}"))?;
    for b in batches {
        w.write(b)
            .map_err(|e| format!("cannot write Arrow IPC: {e}"))?;
    }
    w.finish()
        .map_err(|e| format!("cannot write Arrow IPC: {e}"))?;
    drop(w);
    Ok(buf)
}

/// The footer key under which Spark writes the schema of the rows of a parquet file (its JSON).
const SPARK_ROW_SCHEMA: &str = "org.apache.spark.sql.parquet.row.metadata";

/// The schema Spark wrote into the footer of the files of the local directory `dir` (Spark's
/// JSON form, every field nullable as parquet reads back): what the server says of the frame
/// written, with no request. `None` when the directory is not local or its first data file
/// has no such footer (then Spark reads the footers itself when the directory is read back).
pub(crate) fn written_schema(dir: &str) -> Option<String> {
    let files = data_files(Path::new(local_path(dir)?))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(files.first()?).ok()?).ok()?;
    let footer = reader.metadata().file_metadata().key_value_metadata()?;
    let json = footer
        .iter()
        .find(|kv| kv.key == SPARK_ROW_SCHEMA)?
        .value
        .as_deref()?;
    Some(DataType::from_json_str(json).ok()?.to_nullable().json())
}

/// The rows of the frame Spark wrote to `dir`, with its schema, and the same rows as Arrow
/// record batches of the types Spark collects them as, when it is small, local and of plain
/// types; `None` otherwise (Spark reads it back instead).
fn small_rows(dir: &str, schema: &str) -> Option<(Vec<Row>, DataType, Vec<RecordBatch>)> {
    let spark_schema = DataType::from_json_str(schema).ok()?;
    let DataType::Struct { fields } = &spark_schema else {
        return None;
    };
    let arrow_schema = Arc::new(Schema::new(
        (fields.iter())
            .map(|f| {
                let field = Field::new(&f.name, collected_as(&f.data_type)?, f.nullable);
                // Spark's own metadata of a column (an alias it made up, say) travels with it.
                Some(match f.metadata.is_empty() {
                    true => field,
                    false => field.with_metadata(
                        [(
                            SPARK_METADATA.to_string(),
                            serde_json::to_string(&f.metadata).ok()?,
                        )]
                        .into(),
                    ),
                })
            })
            .collect::<Option<Vec<_>>>()?,
    ));
    let files = data_files(Path::new(local_path(dir)?))?;
    let mut bytes = 0u64;
    for f in &files {
        bytes += std::fs::metadata(f).ok()?.len();
    }
    if bytes > LOCAL_BYTES {
        return None;
    }
    let names: Vec<String> = fields.iter().map(|f| f.name.clone()).collect();
    let mut rows = Vec::new();
    let mut batches = Vec::new();
    for f in &files {
        let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(f).ok()?).ok()?;
        let in_file = usize::try_from(reader.metadata().file_metadata().num_rows()).ok()?;
        if rows.len() + in_file > LOCAL_ROWS {
            return None;
        }
        for batch in reader.build().ok()? {
            let batch = batch.ok()?;
            let columns = (fields.iter())
                .map(|f| batch.column_by_name(&f.name).cloned())
                .collect::<Option<Vec<_>>>()?;
            for i in 0..batch.num_rows() {
                let values = (fields.iter().zip(&columns))
                    .map(|(f, c)| value_at(&f.data_type, c.as_ref(), i))
                    .collect::<Option<Vec<_>>>()?;
                rows.push(Row::new(names.clone(), values));
            }
            // The column as Spark collects it (a string read as a view is Utf8 from Spark).
            let columns = (columns.iter().zip(arrow_schema.fields()))
                .map(|(c, f)| arrow::compute::cast(c, f.data_type()).ok())
                .collect::<Option<Vec<ArrayRef>>>()?;
            batches.push(RecordBatch::try_new(arrow_schema.clone(), columns).ok()?);
        }
    }
    Some((rows, spark_schema, batches))
}

/// The Arrow type Spark collects a column of plain Spark type `t` as; `None` for a type that
/// is not read back locally.
fn collected_as(t: &DataType) -> Option<ArrowType> {
    Some(match t {
        DataType::Boolean => ArrowType::Boolean,
        DataType::Byte => ArrowType::Int8,
        DataType::Short => ArrowType::Int16,
        DataType::Integer => ArrowType::Int32,
        DataType::Long => ArrowType::Int64,
        DataType::Float => ArrowType::Float32,
        DataType::Double => ArrowType::Float64,
        DataType::String { .. } => ArrowType::Utf8,
        DataType::Binary => ArrowType::Binary,
        DataType::Date => ArrowType::Date32,
        _ => return None,
    })
}

/// Row `i` of column `c` as the client's value of Spark type `t`; `None` when the parquet
/// column is not the Arrow type Spark's type reads back as.
fn value_at(t: &DataType, c: &dyn Array, i: usize) -> Option<Value> {
    if c.is_null(i) {
        return Some(Value::Null);
    }
    Some(match (t, c.data_type()) {
        (DataType::Boolean, ArrowType::Boolean) => Value::Bool(c.as_boolean().value(i)),
        (DataType::Byte, ArrowType::Int8) => Value::Byte(c.as_primitive::<Int8Type>().value(i)),
        (DataType::Short, ArrowType::Int16) => Value::Short(c.as_primitive::<Int16Type>().value(i)),
        (DataType::Integer, ArrowType::Int32) => {
            Value::Integer(c.as_primitive::<Int32Type>().value(i))
        }
        (DataType::Long, ArrowType::Int64) => Value::Long(c.as_primitive::<Int64Type>().value(i)),
        (DataType::Float, ArrowType::Float32) => {
            Value::Float(c.as_primitive::<Float32Type>().value(i))
        }
        (DataType::Double, ArrowType::Float64) => {
            Value::Double(c.as_primitive::<Float64Type>().value(i))
        }
        (DataType::String { .. }, ArrowType::Utf8) => {
            Value::String(c.as_string::<i32>().value(i).to_string())
        }
        (DataType::String { .. }, ArrowType::LargeUtf8) => {
            Value::String(c.as_string::<i64>().value(i).to_string())
        }
        (DataType::String { .. }, ArrowType::Utf8View) => {
            Value::String(c.as_string_view().value(i).to_string())
        }
        (DataType::Binary, ArrowType::Binary) => {
            Value::Binary(c.as_binary::<i32>().value(i).to_vec())
        }
        (DataType::Binary, ArrowType::LargeBinary) => {
            Value::Binary(c.as_binary::<i64>().value(i).to_vec())
        }
        (DataType::Date, ArrowType::Date32) => Value::Date(c.as_primitive::<Date32Type>().value(i)),
        _ => return None,
    })
}

/// The data files Spark lists in `dir`: its files whose names do not start with `_` or `.`;
/// `None` when it cannot be read or holds a directory (a partitioned layout, which weft does
/// not write).
pub(crate) fn data_files(dir: &Path) -> Option<BTreeSet<PathBuf>> {
    let mut out = BTreeSet::new();
    for entry in std::fs::read_dir(dir).ok()? {
        let entry = entry.ok()?;
        let name = entry.file_name();
        if name.to_string_lossy().starts_with(['_', '.']) {
            continue;
        }
        if !entry.file_type().ok()?.is_file() {
            return None;
        }
        out.insert(dir.join(name));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{ArrayRef, Float64Array, Int32Array, Int64Array, StringArray};
    use arrow::record_batch::RecordBatch;
    use parquet::arrow::ArrowWriter;

    use super::*;

    /// A directory as Spark leaves it: one parquet file of `columns`, `_SUCCESS` and a
    /// checksum file (neither is data).
    fn written(name: &str, columns: Vec<(&str, ArrayRef)>) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("weft-local-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let batch = RecordBatch::try_from_iter(columns).unwrap();
        let file = File::create(dir.join("part-00000.snappy.parquet")).unwrap();
        let mut w = ArrowWriter::try_new(file, batch.schema(), None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        std::fs::write(dir.join("_SUCCESS"), b"").unwrap();
        std::fs::write(dir.join(".part-00000.snappy.parquet.crc"), b"crc").unwrap();
        dir
    }

    fn schema(fields: &[(&str, &str)]) -> String {
        let fields: Vec<String> = (fields.iter())
            .map(|(n, t)| {
                format!(r#"{{"name":"{n}","type":"{t}","nullable":true,"metadata":{{}}}}"#)
            })
            .collect();
        format!(r#"{{"type":"struct","fields":[{}]}}"#, fields.join(","))
    }

    #[test]
    fn a_small_directory_of_plain_columns_is_read_as_rows() {
        let dir = written(
            "plain",
            vec![
                (
                    "country",
                    Arc::new(StringArray::from(vec![Some("de"), None])),
                ),
                ("n", Arc::new(Int64Array::from(vec![3, 4]))),
                ("share", Arc::new(Float64Array::from(vec![0.25, 0.75]))),
            ],
        );
        let at = dir.to_string_lossy().into_owned();
        let s = schema(&[("country", "string"), ("n", "long"), ("share", "double")]);
        let (rows, _, batches) = small_rows(&format!("file:{at}"), &s).expect("read locally");
        // The same rows as Spark collects them: its types, its nullability, in its order.
        let schema = batches[0].schema();
        let types: Vec<(&str, &ArrowType, bool)> = (schema.fields().iter())
            .map(|f| (f.name().as_str(), f.data_type(), f.is_nullable()))
            .collect();
        assert_eq!(
            types,
            vec![
                ("country", &ArrowType::Utf8, true),
                ("n", &ArrowType::Int64, true),
                ("share", &ArrowType::Float64, true)
            ]
        );
        assert_eq!(batches.iter().map(RecordBatch::num_rows).sum::<usize>(), 2);
        let values: Vec<Vec<Value>> = rows.into_iter().map(Row::into_values).collect();
        assert_eq!(
            values,
            vec![
                vec![
                    Value::String("de".into()),
                    Value::Long(3),
                    Value::Double(0.25)
                ],
                vec![Value::Null, Value::Long(4), Value::Double(0.75)],
            ]
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn the_schema_spark_wrote_is_read_from_the_footer() {
        use parquet::file::metadata::KeyValue;
        use parquet::file::properties::WriterProperties;
        let dir = std::env::temp_dir().join(format!("weft-local-footer-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let batch =
            RecordBatch::try_from_iter([("n", Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef)])
                .unwrap();
        let spark_says = r#"{"type":"struct","fields":[{"name":"n","type":"long","nullable":false,"metadata":{"__autoGeneratedAlias":"true"}}]}"#;
        let props = WriterProperties::builder()
            .set_key_value_metadata(Some(vec![KeyValue::new(
                SPARK_ROW_SCHEMA.to_string(),
                spark_says.to_string(),
            )]))
            .build();
        let file = File::create(dir.join("part-00000.snappy.parquet")).unwrap();
        let mut w = ArrowWriter::try_new(file, batch.schema(), Some(props)).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        let at = dir.to_string_lossy().into_owned();
        // Spark's own form, every field nullable (as parquet reads back), its metadata kept.
        let schema = written_schema(&at).expect("the footer's schema");
        assert!(schema.contains(r#""nullable":true"#), "{schema}");
        assert!(schema.contains("__autoGeneratedAlias"), "{schema}");
        assert!(!schema.contains(r#""nullable":false"#), "{schema}");
        // Files with no such footer (not written by Spark), or none: not known here.
        let plain = written(
            "no-footer",
            vec![("n", Arc::new(Int64Array::from(vec![1])))],
        );
        assert_eq!(written_schema(&plain.to_string_lossy()), None);
        assert_eq!(written_schema(&format!("s3a://bucket{at}")), None);
        std::fs::remove_dir_all(dir).unwrap();
        std::fs::remove_dir_all(plain).unwrap();
    }

    #[test]
    fn anything_else_is_left_to_spark() {
        let ints = |n: i32| -> ArrayRef { Arc::new(Int32Array::from_iter_values(0..n)) };
        let dir = written("small", vec![("n", ints(3))]);
        let at = dir.to_string_lossy().into_owned();
        assert!(small_rows(&at, &schema(&[("n", "integer")])).is_some());
        // A type that is not read locally (a timestamp's time zone is Spark's to apply).
        assert!(small_rows(&at, &schema(&[("n", "timestamp")])).is_none());
        // The file's column is not what Spark's type reads back as.
        assert!(small_rows(&at, &schema(&[("n", "long")])).is_none());
        // A column the files do not have.
        assert!(small_rows(&at, &schema(&[("m", "integer")])).is_none());
        // Not local.
        assert!(small_rows(&format!("s3a://bucket{at}"), &schema(&[("n", "integer")])).is_none());
        std::fs::remove_dir_all(dir).unwrap();
        // More rows than are kept local.
        let dir = written("many", vec![("n", ints(LOCAL_ROWS as i32 + 1))]);
        let at = dir.to_string_lossy().into_owned();
        assert!(small_rows(&at, &schema(&[("n", "integer")])).is_none());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
