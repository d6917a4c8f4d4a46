//! A stored value as the node page shows it: its size, format and type, and a small preview
//! when the view can read it without the flow's code — values stored as JSON, and postcard
//! values of the common scalar, string, list and map types (postcard does not describe itself,
//! so the type named in the blob decides how it is read), and — with the `polars` feature —
//! data frames stored as parquet or Arrow IPC (their schema and first rows). Anything else is
//! summarised only.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value as Json;
use std::collections::{BTreeMap, HashMap};
use weft::cache::ResultStoreHandle;
use weft::DataVersion;

/// At most this many characters of a preview are shown.
pub(crate) const PREVIEW_CHARS: usize = 2_000;

/// The rows of a stored frame shown.
#[cfg(feature = "polars")]
const FRAME_ROWS: usize = 10;

/// What the node page says about a stored value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Summary {
    pub(crate) format: String,
    pub(crate) type_name: String,
    pub(crate) bytes: usize,
    /// The value as pretty JSON (cut to [`PREVIEW_CHARS`]), or why there is none.
    pub(crate) preview: Result<String, String>,
}

/// The summary of the value stored for `version`; `Ok(None)` when none is stored.
pub(crate) fn summary(
    store: &ResultStoreHandle<'_>,
    version: &DataVersion,
) -> Result<Option<Summary>, String> {
    let Some(blob) = store.blob(version).map_err(|e| e.to_string())? else {
        return Ok(None);
    };
    let short = weft::short_type_name(&blob.type_name);
    let pretty = |v: Json| serde_json::to_string_pretty(&v).unwrap_or_default();
    let preview = match blob.format.as_str() {
        "json" => serde_json::from_slice::<Json>(&blob.bytes)
            .map(pretty)
            .map_err(|e| format!("the stored JSON does not parse: {e}")),
        "parquet" | "ipc" => frame(&blob.bytes, &blob.format),
        _ => typed(store, version, &short).map(pretty),
    }
    .map(|text| crate::text::truncate(&text, PREVIEW_CHARS).0);
    Ok(Some(Summary {
        format: blob.format,
        type_name: short,
        bytes: blob.bytes.len(),
        preview,
    }))
}

/// A stored frame's shape, schema and first rows.
#[cfg(feature = "polars")]
fn frame(bytes: &[u8], format: &str) -> Result<String, String> {
    use weft::frames::polars::prelude::DataFrame;
    use weft::CacheFormats as _;
    let df = DataFrame::decode(bytes, format)?;
    let schema: Vec<String> = (df.get_column_names().into_iter().zip(df.dtypes()))
        .map(|(name, dtype)| format!("  {name}: {dtype}"))
        .collect();
    Ok(format!(
        "{} rows, {} columns\nschema:\n{}\nfirst rows:\n{}",
        df.height(),
        df.width(),
        schema.join("\n"),
        df.head(Some(FRAME_ROWS))
    ))
}

/// Without the `polars` feature a stored frame is summarised only.
#[cfg(not(feature = "polars"))]
fn frame(_bytes: &[u8], format: &str) -> Result<String, String> {
    Err(format!(
        "a data frame stored as {format}: a `weft` built with the `polars` feature shows its \
         schema and first rows (`cargo install weft-dataflow-cli --features polars`)"
    ))
}

/// Decodes a postcard value of a type the view knows by its short name.
fn typed(store: &ResultStoreHandle<'_>, v: &DataVersion, short: &str) -> Result<Json, String> {
    fn read<T: DeserializeOwned + Serialize>(
        store: &ResultStoreHandle<'_>,
        v: &DataVersion,
    ) -> Result<Json, String> {
        let value: T = store.get(v).map_err(|e| e.to_string())?;
        serde_json::to_value(value).map_err(|e| e.to_string())
    }
    macro_rules! types {
        ($($name:literal => $t:ty),* $(,)?) => {
            match short {
                $($name => read::<$t>(store, v),)*
                other => Err(format!(
                    "no preview for a `{other}` outside the flow's code (the view reads JSON \
                     values and common scalars, strings, lists and maps)"
                )),
            }
        };
    }
    types! {
        "bool" => bool, "char" => char,
        "i8" => i8, "i16" => i16, "i32" => i32, "i64" => i64, "isize" => isize,
        "u8" => u8, "u16" => u16, "u32" => u32, "u64" => u64, "usize" => usize,
        "f32" => f32, "f64" => f64, "String" => String, "()" => (),
        "Option<i64>" => Option<i64>, "Option<f64>" => Option<f64>,
        "Option<String>" => Option<String>,
        "Vec<bool>" => Vec<bool>, "Vec<i32>" => Vec<i32>, "Vec<i64>" => Vec<i64>,
        "Vec<u32>" => Vec<u32>, "Vec<u64>" => Vec<u64>, "Vec<usize>" => Vec<usize>,
        "Vec<f32>" => Vec<f32>, "Vec<f64>" => Vec<f64>, "Vec<String>" => Vec<String>,
        "Vec<(String, f64)>" => Vec<(String, f64)>, "Vec<(String, i64)>" => Vec<(String, i64)>,
        "BTreeMap<String, f64>" => BTreeMap<String, f64>,
        "BTreeMap<String, i64>" => BTreeMap<String, i64>,
        "BTreeMap<String, u64>" => BTreeMap<String, u64>,
        "BTreeMap<String, usize>" => BTreeMap<String, usize>,
        "BTreeMap<String, String>" => BTreeMap<String, String>,
        "HashMap<String, f64>" => HashMap<String, f64>,
        "HashMap<String, i64>" => HashMap<String, i64>,
        "HashMap<String, String>" => HashMap<String, String>,
        "(f64, f64)" => (f64, f64), "(i64, i64)" => (i64, i64),
    }
}
