//! Rendering results: each output's value as JSON through its type's codec.

use std::collections::BTreeMap;

use weft::short_type_name;
use weft::{Outputs, Value};

use crate::text;

/// An output's value, ready to print.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Rendered {
    /// The value as JSON.
    Json(serde_json::Value),
    /// The type has no serde codec.
    NotSerializable,
    /// An optional input requested as an output and not given.
    Absent,
    /// The value could not be loaded or encoded.
    Error(String),
}

impl Rendered {
    /// The text of the table's VALUE column.
    pub(crate) fn cell(&self) -> String {
        match self {
            Rendered::Json(v) => v.to_string(),
            Rendered::NotSerializable => "<not serializable>".into(),
            Rendered::Absent => "<absent>".into(),
            Rendered::Error(e) => format!("<error: {e}>"),
        }
    }

    /// The value in the JSON results (`null` unless it is JSON).
    pub(crate) fn json(&self) -> serde_json::Value {
        match self {
            Rendered::Json(v) => v.clone(),
            _ => serde_json::Value::Null,
        }
    }
}

/// Encodes a value as JSON with its type's codec.
pub(crate) fn render(value: &Value) -> Rendered {
    let ty = value.value_type();
    let Some(codec) = ty.codec() else {
        return Rendered::NotSerializable;
    };
    let data = match value.data() {
        Ok(d) => d,
        Err(e) => return Rendered::Error(e),
    };
    match (codec.encode)(&**data, "json") {
        Ok(bytes) => match serde_json::from_slice(&bytes) {
            Ok(v) => Rendered::Json(v),
            Err(e) => Rendered::Error(e.to_string()),
        },
        Err(e) => Rendered::Error(e),
    }
}

/// One output: name, short type name, rendered value.
pub(crate) struct Row {
    pub(crate) name: String,
    pub(crate) type_name: String,
    pub(crate) value: Rendered,
}

/// The outputs in request order.
pub(crate) fn rows(outputs: &Outputs, order: &[String]) -> Vec<Row> {
    order
        .iter()
        .map(|name| match outputs.value(name) {
            Ok(v) => Row {
                name: name.clone(),
                type_name: short_type_name(v.value_type().name()),
                value: render(v),
            },
            Err(_) => Row {
                name: name.clone(),
                type_name: "-".into(),
                value: Rendered::Absent,
            },
        })
        .collect()
}

/// The widest VALUE cell before it is cut.
const MAX_CELL: usize = 80;

/// The results as a table (OUTPUT, TYPE, VALUE), and whether a value was cut.
pub(crate) fn table(rows: &[Row]) -> String {
    let mut cut_any = false;
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let (cell, cut) = text::truncate(&r.value.cell(), MAX_CELL);
            cut_any |= cut;
            vec![r.name.clone(), r.type_name.clone(), cell]
        })
        .collect();
    let mut out = text::table(&["OUTPUT", "TYPE", "VALUE"], &cells);
    if cut_any {
        out.push_str(&format!(
            "(values longer than {MAX_CELL} characters are cut; --output json or -o FILE shows \
             them whole)\n"
        ));
    }
    out
}

/// The results as a JSON object `{"name": value}`.
pub(crate) fn json(rows: &[Row]) -> serde_json::Value {
    let map: BTreeMap<&str, serde_json::Value> = rows
        .iter()
        .map(|r| (r.name.as_str(), r.value.json()))
        .collect();
    serde_json::to_value(map).unwrap_or(serde_json::Value::Null)
}

/// Warnings for outputs that are `null` in the JSON results.
pub(crate) fn json_warnings(rows: &[Row]) -> Vec<String> {
    rows.iter()
        .filter_map(|r| match &r.value {
            Rendered::Json(_) => None,
            Rendered::NotSerializable => Some(format!(
                "output `{}` is a `{}`, which cannot be serialized: it is null in the JSON \
                 results (derive serde's Serialize and Deserialize for it)",
                r.name, r.type_name
            )),
            Rendered::Absent => Some(format!(
                "output `{}` has no value (an optional input that was not given): null in the \
                 JSON results",
                r.name
            )),
            Rendered::Error(e) => Some(format!(
                "output `{}` could not be encoded ({e}): null in the JSON results",
                r.name
            )),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    struct Opaque;

    #[test]
    fn values_render_through_their_codec() {
        let v = Value::new(Arc::new(vec![1u64, 2]), weft::value_type!(Vec<u64>));
        assert_eq!(render(&v), Rendered::Json(serde_json::json!([1, 2])));
        let s = Value::new(Arc::new("a\"b".to_string()), weft::value_type!(String));
        assert_eq!(render(&s).cell(), r#""a\"b""#);
        let o = Value::new(Arc::new(Opaque), weft::value_type!(Opaque));
        assert_eq!(render(&o), Rendered::NotSerializable);
        assert_eq!(render(&o).cell(), "<not serializable>");
        assert_eq!(render(&o).json(), serde_json::Value::Null);
    }

    #[test]
    fn long_values_are_cut_with_a_note() {
        let rows = vec![Row {
            name: "big".into(),
            type_name: "String".into(),
            value: Rendered::Json(serde_json::Value::String("x".repeat(200))),
        }];
        let t = table(&rows);
        assert!(t.contains('…') && t.contains("--output json"), "{t}");
        assert_eq!(json(&rows)["big"].as_str().map(str::len), Some(200));
    }
}
