//! A small stored frame read back as local data.
//!
//! A frame Spark wrote for the cache is read back by Spark (a parquet scan: one Spark job each
//! time it is collected). When the directory is local (`local[*]`, or a path this machine
//! shares with the cluster) and small — at most [`LOCAL_ROWS`] rows in [`LOCAL_BYTES`] of
//! files, every column of a plain type — weft reads the files itself and hands Spark the rows
//! as a local relation instead: collecting it, or a plan over it, needs no scan job (the rows
//! travel with the plan). A cached node's result is typically such a frame: an aggregate, a
//! report. Anything else (a larger frame, a nested or decimal column, a compression this build
//! cannot read, a directory that is not local) is read back by Spark as before: the data, the
//! schema and the data version are the same either way.

use std::fs::File;
use std::path::Path;

use arrow::array::{Array, AsArray};
use arrow::datatypes::{
    DataType as ArrowType, Date32Type, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type,
    Int8Type,
};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use spark_connect::row::{Row, Value};
use spark_connect::types::DataType;
use spark_connect::{DataFrame, SparkSession};

use super::frame::local_path;
use super::stored::data_files;

/// The most rows a frame Spark wrote for the cache has to be read back as local rows (see
/// [`SparkAdapter`](super::SparkAdapter)).
pub const LOCAL_ROWS: usize = 10_000;

/// The most bytes of parquet files a frame Spark wrote for the cache takes to be read back as
/// local rows.
pub const LOCAL_BYTES: u64 = 1 << 20;

/// The frame Spark wrote to `dir` (schema `schema`, Spark's JSON form) as a local relation of
/// `session`, or `None` when it is not small, local and of plain types (see the module).
pub(crate) fn read_small(dir: &str, schema: &str, session: &SparkSession) -> Option<DataFrame> {
    let spark_schema = DataType::from_json_str(schema).ok()?;
    let DataType::Struct { fields } = &spark_schema else {
        return None;
    };
    if !fields.iter().all(|f| plain(&f.data_type)) {
        return None;
    }
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
        }
    }
    session.create_dataframe(rows, spark_schema).ok()
}

/// Whether a column of Spark type `t` is read back locally.
fn plain(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Boolean
            | DataType::Byte
            | DataType::Short
            | DataType::Integer
            | DataType::Long
            | DataType::Float
            | DataType::Double
            | DataType::String { .. }
            | DataType::Binary
            | DataType::Date
    )
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
