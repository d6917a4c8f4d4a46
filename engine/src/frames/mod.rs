//! Data frames (feature `polars`): polars `DataFrame`, `LazyFrame` and `Series` are node values
//! like any other.
//!
//! - **Data versions at memory speed.** A frame's version is blake3 over its schema and its
//!   Arrow buffers (validity included, values under nulls as zeros), column by column in
//!   parallel, whatever its chunk layout; no per-row hashing. A `LazyFrame`'s version is its
//!   plan's text with the versions of the frames and the contents of the files it scans: weft
//!   never collects a lazy frame, not to fingerprint it and not to store it (your node's code
//!   collects it where it calls `collect()`).
//! - **Cache formats.** `DataFrame` and `Series` results are stored as `parquet` (their
//!   default) or `ipc` (Arrow IPC / Feather): `#[node(cache(format = "ipc"))]`, or per type on
//!   the driver with [`CacheConfig::format_for`](crate::CacheConfig::format_for). In a cache
//!   directory they are plain files (`weft cache show --path NODE` prints one) that any tool
//!   reads; on read the value's version is checked against its address.
//! - **Column-level transforms**: see [`columns`](crate::columns) (`#[node(with_columns(..))]`).
//! - **Columns as nodes.** `#[node(extract_columns("a", "b"))]` on a node returning a
//!   `DataFrame` makes each named column a node (a `Series`) that other nodes depend on by
//!   name (Hamilton's `@extract_columns`); the frame stays a node too. A column the frame does
//!   not have fails its column node, naming the node and the column ("did you mean").
//!
//! ```
//! use weft::frames::polars::prelude::*;
//! use weft::prelude::*;
//!
//! #[node(extract_columns("region", "amount"))]
//! fn sales(raw: &DataFrame) -> DataFrame {
//!     raw.clone()
//! }
//!
//! #[node]
//! fn total(amount: &Series) -> Result<f64, PolarsError> {
//!     amount.sum::<f64>()
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dr = Builder::new().with_modules(weft::modules![crate]).build()?;
//! let raw = df!("region" => ["eu", "us"], "amount" => [1.5f64, 2.0])?;
//! let out = dr.execute(&["total", "region"], inputs! { "raw" => raw })?;
//! assert_eq!(*out.get::<f64>("total")?, 3.5);
//! assert_eq!(out.get::<Series>("region")?.len(), 2);
//! # Ok(()) }
//! ```
//!
//! polars is re-exported, so that a flow uses the very version weft was built with:
//!
//! ```
//! use weft::frames::polars::prelude::*;
//! use weft::prelude::*;
//!
//! #[node]
//! fn doubled(raw: &DataFrame) -> Result<DataFrame, PolarsError> {
//!     raw.clone().lazy().with_columns([(col("x") * lit(2)).alias("x2")]).collect()
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dr = Builder::new().with_modules(weft::modules![crate]).build()?;
//! let raw = df!("x" => [1i64, 2, 3])?;
//! let out = dr.execute(&["doubled"], inputs! { "raw" => raw })?;
//! let x2 = out.get::<DataFrame>("doubled")?.column("x2")?.i64()?.get(2);
//! assert_eq!(x2, Some(6));
//! # Ok(()) }
//! ```

mod arrays;
mod checks;
mod dictionary;
mod digests;
mod encoded;
mod extract;
mod fingerprint;
mod formats;
mod lazy;
mod pages;
mod parquet;

#[doc(hidden)]
pub use extract::extract_column;
#[cfg(feature = "cache")]
pub(crate) use formats::FRAME_FORMATS;

/// The polars crate weft was built with (features `lazy`, `parquet`, `ipc`, `csv`, `fmt`,
/// `dtype-slim`).
pub use polars;
