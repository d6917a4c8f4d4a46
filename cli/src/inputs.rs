//! Inputs and config from the command line: `--input k=v`, `--inputs file.json`, `--config
//! k=v`, each parsed as the type the graph declares for it (`ValueType::parser()`: `FromStr`,
//! else JSON). Every problem is collected and reported at once.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use weft::short_type_name;
use weft::{Graph, Inputs, NodeKind, Plan, ValueType};

use crate::error::{did_you_mean, name_list, CliError};

/// A value as given: text from a flag, or JSON from the inputs file.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Given {
    /// `--input k=TEXT` / `--config k=TEXT`.
    Text(String),
    /// A value of the `--inputs` JSON object.
    Json(serde_json::Value),
}

impl Given {
    /// How the value is quoted in messages.
    fn shown(&self) -> String {
        match self {
            Given::Text(t) => format!("`{t}`"),
            Given::Json(v) => format!("`{v}` (from the inputs file)"),
        }
    }
}

/// Reads `--inputs FILE.json`: a JSON object whose keys are input names. `null` values are
/// left out (as if not given).
pub(crate) fn read_inputs_file(path: &Path) -> Result<Vec<(String, Given)>, CliError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        CliError::usage(format!(
            "cannot read the inputs file `{}`: {e}",
            path.display()
        ))
    })?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        CliError::usage(format!(
            "the inputs file `{}` is not valid JSON: {e}",
            path.display()
        ))
    })?;
    let serde_json::Value::Object(map) = value else {
        return Err(CliError::usage(format!(
            "the inputs file `{}` must hold a JSON object like {{\"spend\": 10.5, \"region\": \
             \"EU\"}}, not {}",
            path.display(),
            json_kind(&value)
        )));
    };
    Ok(map
        .into_iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| (k, Given::Json(v)))
        .collect())
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// Parses `given` as a `ty`. Text, and JSON strings, are parsed as text first (so `"EU"` is the
/// `String` `EU` and `"4"` the `u64` 4), then as a JSON string (`Red` for a serde enum); other
/// JSON is parsed from its text (`4`, `[1, 2]`, `{"a": 1}`).
pub(crate) fn parse(ty: ValueType, given: &Given) -> Result<weft::AnyValue, String> {
    let parser = ty.parser().ok_or_else(|| {
        "it cannot be parsed from text: implement `FromStr` for it, or derive \
         `serde::Deserialize` to give it as JSON"
            .to_string()
    })?;
    let text = match given {
        Given::Text(t) | Given::Json(serde_json::Value::String(t)) => t,
        Given::Json(v) => return parser(&v.to_string()),
    };
    // Text first; then the same text as a JSON string, for serde-only types (`Red` for an
    // enum variant). The first error is the one reported.
    parser(text).or_else(|first| {
        parser(&serde_json::Value::String(text.clone()).to_string()).map_err(|_| first)
    })
}

/// Whether `name`, which no node reads, is close to an input that was not given (the
/// engine's rule for an error rather than a warning).
fn misspelt(graph: &Graph, name: &str, given: &BTreeMap<String, Given>) -> bool {
    graph
        .nodes()
        .iter()
        .filter(|n| matches!(n.kind(), NodeKind::Input { .. }))
        .map(|n| (strsim::jaro_winkler(name, n.name()), n.name()))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .is_some_and(|(_, close)| !given.contains_key(close))
}

/// Where a name that is not an input lives, for the messages.
fn not_an_input(graph: &Graph, name: &str, flag: &str) -> String {
    let inputs: Vec<&str> = graph
        .nodes()
        .iter()
        .filter(|n| matches!(n.kind(), NodeKind::Input { .. }))
        .map(|n| n.name())
        .collect();
    match graph.node(name).map(|n| n.kind()) {
        Some(NodeKind::Function(_)) => {
            format!("`{name}` is computed by a node of the flow; it cannot be given with {flag}")
        }
        Some(NodeKind::Config { .. }) => format!(
            "`{name}` is a config value of the flow; set it with --config {name}=…, not {flag}"
        ),
        _ => format!(
            "unknown input `{name}`{}; the flow's inputs are {}",
            did_you_mean(name, inputs.iter().copied()),
            name_list(inputs.iter().copied())
        ),
    }
}

/// `--inputs` (`file`) and `--input` (`flags`, which win over the file) against the graph,
/// plus the names given twice with `--input` and the required inputs of `outputs` that are
/// missing: every problem at once.
pub(crate) fn parse_inputs(
    graph: &Graph,
    file: Vec<(String, Given)>,
    flags: &[(String, String)],
    outputs: &[&str],
) -> Result<Inputs, CliError> {
    let mut problems = repeated(flags, "input", "--input");
    let mut inputs = Inputs::new();
    let mut by_name: BTreeMap<String, Given> = BTreeMap::new();
    let flags = flags
        .iter()
        .map(|(k, v)| (k.clone(), Given::Text(v.clone())));
    for (k, v) in file.into_iter().chain(flags) {
        by_name.insert(k, v); // later (flags) win over earlier (the file)
    }
    for (name, value) in &by_name {
        match graph.node(name).map(|n| n.kind()) {
            Some(NodeKind::Input { ty, .. }) => match parse(*ty, value) {
                Ok(v) => inputs.insert_erased(name.clone(), v, ty.name()),
                Err(why) => problems.push(format!(
                    "input `{name}` expects a `{}`, but {} is not one: {why}",
                    short_type_name(ty.name()),
                    value.shown()
                )),
            },
            // A name nothing reads: a likely misspelling of an input not given is an error;
            // any other is passed on, and the driver warns that it is ignored (one inputs
            // file may serve several flows) — the library's rule.
            None if !misspelt(graph, name, &by_name) => {
                let text = match value {
                    Given::Text(t) => t.clone(),
                    Given::Json(v) => v.to_string(),
                };
                inputs.insert(name.clone(), text);
            }
            _ => problems.push(not_an_input(graph, name, "--input")),
        }
    }
    problems.extend(missing(graph, outputs, &by_name.keys().cloned().collect()));
    if problems.is_empty() {
        Ok(inputs)
    } else {
        Err(problems_error("inputs", problems))
    }
}

/// Required inputs of `outputs` that are not in `given`, as messages.
fn missing(graph: &Graph, outputs: &[&str], given: &HashSet<String>) -> Vec<String> {
    let Ok(plan) = Plan::new(graph, outputs, &HashSet::new()) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for &id in plan.order() {
        let node = &graph.nodes()[id as usize];
        if let NodeKind::Input {
            ty,
            optional: false,
        } = node.kind()
        {
            if given.contains(node.name()) {
                continue;
            }
            let needed_by = plan
                .order()
                .iter()
                .find(|&&f| graph.deps(f).contains(&id))
                .map_or("?", |&f| graph.nodes()[f as usize].name());
            out.push(format!(
                "missing input `{}: {}` (needed by `{needed_by}`); pass it with --input {}=…",
                node.name(),
                short_type_name(ty.name()),
                node.name()
            ));
        }
    }
    out
}

/// `--config k=v` against the graph built with the program's own config.
pub(crate) fn parse_config(graph: &Graph, given: &[(String, String)]) -> Result<Inputs, CliError> {
    let mut problems = repeated(given, "config", "--config");
    let mut config = Inputs::new();
    let mut seen = HashSet::new();
    // A name given twice is reported above; only its first value is checked here.
    for (name, text) in given.iter().filter(|(name, _)| seen.insert(name)) {
        let ty = match graph.node(name).map(|n| n.kind()) {
            Some(NodeKind::Input { ty, .. }) | Some(NodeKind::Config { ty }) => *ty,
            Some(NodeKind::Function(_)) => {
                problems.push(format!(
                    "`{name}` is computed by a node of the flow; it cannot be set with --config"
                ));
                continue;
            }
            Some(_) => {
                problems.push(format!(
                    "`{name}` is a kind of node this weft-cli does not know; it cannot be set \
                     with --config (use a weft-cli of the same version as the flow's weft)"
                ));
                continue;
            }
            None => {
                let keys: Vec<&str> = graph
                    .nodes()
                    .iter()
                    .filter(|n| n.is_external())
                    .map(|n| n.name())
                    .collect();
                problems.push(format!(
                    "unknown config key `{name}`{}; config keys are parameters no node produces: \
                     {}",
                    did_you_mean(name, keys.iter().copied()),
                    name_list(keys.iter().copied())
                ));
                continue;
            }
        };
        match parse(ty, &Given::Text(text.clone())) {
            Ok(v) => config.insert_erased(name.clone(), v, ty.name()),
            Err(why) => problems.push(format!(
                "config `{name}` expects a `{}`, but `{text}` is not one: {why}",
                short_type_name(ty.name())
            )),
        }
    }
    if problems.is_empty() {
        Ok(config)
    } else {
        Err(problems_error("config", problems))
    }
}

/// The names given more than once with `flag` (`--input n=1 --input n=2`), as messages: which
/// value was meant is unknown, so none is picked.
fn repeated(given: &[(String, String)], what: &str, flag: &str) -> Vec<String> {
    let mut values: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (name, value) in given {
        values.entry(name).or_default().push(value);
    }
    values
        .into_iter()
        .filter(|(_, v)| v.len() > 1)
        .map(|(name, v)| {
            let shown: Vec<String> = v.iter().map(|v| format!("`{v}`")).collect();
            format!(
                "{what} `{name}` is given {} times with {flag} ({}); give it once",
                v.len(),
                shown.join(", ")
            )
        })
        .collect()
}

fn problems_error(what: &str, problems: Vec<String>) -> CliError {
    let n = problems.len();
    let mut m = format!(
        "{n} problem{} with the {what}:",
        if n == 1 { "" } else { "s" }
    );
    for p in problems {
        m.push_str("\n  - ");
        m.push_str(&p);
    }
    CliError::usage(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, serde::Deserialize, serde::Serialize)]
    enum Color {
        Red,
    }

    #[test]
    fn parses_text_and_json_by_type() {
        let u = weft::value_type!(u64);
        let v = parse(u, &Given::Text("4".into())).unwrap();
        assert_eq!(v.downcast_ref::<u64>(), Some(&4));
        let v = parse(u, &Given::Json(serde_json::json!(4))).unwrap();
        assert_eq!(v.downcast_ref::<u64>(), Some(&4));
        let v = parse(u, &Given::Json(serde_json::json!("4"))).unwrap();
        assert_eq!(v.downcast_ref::<u64>(), Some(&4));
        assert!(parse(u, &Given::Text("four".into())).is_err());

        let s = weft::value_type!(String);
        let v = parse(s, &Given::Json(serde_json::json!("EU"))).unwrap();
        assert_eq!(v.downcast_ref::<String>().map(String::as_str), Some("EU"));

        let list = weft::value_type!(Vec<String>);
        let v = parse(list, &Given::Json(serde_json::json!(["a", "b"]))).unwrap();
        assert_eq!(v.downcast_ref::<Vec<String>>().map(Vec::len), Some(2));
        let v = parse(list, &Given::Text(r#"["a"]"#.into())).unwrap();
        assert_eq!(v.downcast_ref::<Vec<String>>().map(Vec::len), Some(1));

        // A JSON string that is not FromStr text: tried as a JSON string (an enum variant).
        let c = weft::value_type!(Color);
        let v = parse(c, &Given::Json(serde_json::json!("Red"))).unwrap();
        assert_eq!(v.downcast_ref::<Color>(), Some(&Color::Red));
        let v = parse(c, &Given::Text(r#""Red""#.into())).unwrap();
        assert_eq!(v.downcast_ref::<Color>(), Some(&Color::Red));
        let v = parse(c, &Given::Text("Red".into())).unwrap();
        assert_eq!(v.downcast_ref::<Color>(), Some(&Color::Red));
        let e = parse(c, &Given::Text("Blue".into())).err().unwrap();
        assert!(e.contains("expected JSON"), "{e}");
    }

    #[test]
    fn names_given_twice_are_problems_naming_every_value() {
        let given = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert!(repeated(&given(&[("a", "1"), ("b", "1")]), "input", "--input").is_empty());
        assert_eq!(
            repeated(
                &given(&[("n", "1"), ("m", "0"), ("n", "2"), ("n", "3")]),
                "input",
                "--input"
            ),
            ["input `n` is given 3 times with --input (`1`, `2`, `3`); give it once"]
        );
    }
}
