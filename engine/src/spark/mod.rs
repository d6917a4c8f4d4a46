//! Spark DataFrames as node values, through Spark Connect (feature `spark`).
//!
//! Nodes take a [`SparkSession`] input and Spark [`DataFrame`]s and return `DataFrame`s; a
//! Spark frame is a plan, so running a node only builds a plan: nothing runs on the cluster
//! until your code collects a frame ([`to_arrow`], `to_polars`, the
//! [`connect`](mod@connect) crate's `collect_record_batches`) or a node asks Spark to write one
//! (`tags(spark = "cache")`).
//!
//! - **Inputs.** A session and frames pass the graph's type checks like any input (Hamilton's
//!   `SPARK_INPUT_CHECK` is built in: the graph checks types by identity); a wrong type is a
//!   build or input error naming the input and both types.
//! - **Data versions without pulling data** ([`DataFrame`]'s `Fingerprint`): Spark's semantic
//!   hash of the plan and the files it scans, by size and modification time; for a node
//!   whose inputs are all frames, made from its code version and theirs (no round trip).
//! - **[`SparkAdapter`]**: analysis errors (a bad column name) fail the node that made them;
//!   `tags(spark = "cache")` writes a frame as parquet under a location you choose and reads it
//!   back, so later runs hit the cache instead of recomputing; `tags(spark = "persist")`
//!   persists a frame several nodes read.
//! - **[`RowLimit`]**: every source frame cut to N rows for a fast development run (the CLI's
//!   `--spark-limit N`).
//! - **`with_columns`** over Spark [`Column`] expressions, compiled into one `withColumns` (see
//!   [`columns`](crate::columns)); column nodes are expressions, not UDFs.
//!
//! ```no_run
//! use weft::prelude::*;
//! use weft::spark::{col, lit, DataFrame, SparkSession};
//!
//! #[node]
//! fn raw_data(spark_session: &SparkSession, path: &str) -> DataFrame {
//!     spark_session.read().option("header", "true").option("inferSchema", "true").csv(path)
//! }
//!
//! #[node]
//! fn filtered_data(raw_data: &DataFrame) -> DataFrame {
//!     raw_data.filter(col("age").gt(lit(18)))
//! }
//!
//! #[node]
//! fn aggregated_stats(filtered_data: &DataFrame) -> DataFrame {
//!     filtered_data.group_by(["country"]).count()
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let spark = weft::spark::connect("sc://127.0.0.1:15002")?;
//! let dr = Builder::new()
//!     .with_modules(weft::modules![crate])
//!     .with_adapter(weft::spark::SparkAdapter::new())
//!     .build()?;
//! let out = dr.execute(
//!     &["aggregated_stats"],
//!     inputs! { "spark_session" => spark, "path" => "people.csv".to_string() },
//! )?;
//! let stats = weft::spark::to_polars(out.get::<DataFrame>("aggregated_stats")?)?;
//! println!("{stats}");
//! # Ok(()) }
//! ```

// The client's `SparkError` is large (its own crate allows the same lint); it is handed on as
// the client made it.
#![allow(clippy::result_large_err)]

mod adapter;
mod check;
mod columns;
mod frame;
mod held;
mod limit;
mod local;
mod materialize;
mod session;
mod stored;

pub use adapter::{SparkAdapter, SPARK_TAG};
pub use limit::RowLimit;
pub use local::{LOCAL_BYTES, LOCAL_ROWS};
pub use session::{connect, outside_runtime, reading_session, ConnectError};
pub use stored::SPARK_PARQUET;

/// The Arrow crate of [`to_arrow`]'s record batches (the client's version).
pub use arrow;
/// The Spark Connect client weft was built with (`apache-spark-connect`, lib `spark_connect`):
/// functions (`connect::functions`), windows, types, errors.
pub use spark_connect as connect;
pub use spark_connect::{col, lit, Column, DataFrame, SparkSession};

/// The frame collected by Spark (one action) as Arrow record batches.
///
/// A frame a `spark = "cache"` node's value holds, read back as local rows (small and local:
/// see [`LOCAL_ROWS`]), is collected with no request: weft already has its rows, as Spark
/// would return them (the same names, types and values).
pub fn to_arrow(
    df: &DataFrame,
) -> Result<Vec<arrow::record_batch::RecordBatch>, spark_connect::SparkError> {
    if let Some(batches) = local::collected(df) {
        return Ok(batches);
    }
    session::outside_runtime(|| df.collect_record_batches())
}

/// The frame collected by Spark (one action) as a polars `DataFrame` (through Arrow IPC, so
/// the client's Arrow and polars' need not match). Needs feature `polars`. A frame read back as
/// local rows is collected with no request, as by [`to_arrow`].
#[cfg(feature = "polars")]
#[cfg_attr(docsrs, doc(cfg(feature = "polars")))]
pub fn to_polars(df: &DataFrame) -> Result<polars::prelude::DataFrame, CollectError> {
    use polars::prelude::{IpcReader, SerReader};
    let bytes = match local::collected(df) {
        Some(batches) => local::to_ipc(&batches),
        None => session::outside_runtime(|| df.to_arrow()).map_err(|e| e.message()),
    }
    .map_err(CollectError)?;
    IpcReader::new(std::io::Cursor::new(bytes))
        .finish()
        .map_err(|e| CollectError(format!("cannot read Spark's Arrow data into polars: {e}")))
}

/// Collecting a Spark frame failed (Spark's message, or the conversion's).
#[derive(Debug, thiserror::Error)]
#[error("collecting the Spark frame failed: {0}")]
pub struct CollectError(pub String);
