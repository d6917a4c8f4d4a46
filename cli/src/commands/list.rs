//! `list`: the nodes (module, type, doc, tags, dependencies), the inputs and the config.

use std::collections::BTreeMap;

use weft::cache::behavior_name;
use weft::short_type_name;
use weft::{NodeKind, ParamKind};

use crate::args::ListArgs;
use crate::error::{name_list, CliError};
use crate::{output, Cli, Exit};

/// Runs `list`: text, or JSON with `--json`.
pub(super) fn run(cli: &Cli, a: ListArgs) -> Result<Exit, CliError> {
    let driver = cli.graph_driver(&a.config)?;
    let graph = driver.graph();
    let mut dependents: BTreeMap<u32, Vec<&str>> = BTreeMap::new();
    for (id, n) in graph.nodes().iter().enumerate() {
        for &d in graph.deps(id as u32) {
            dependents.entry(d).or_default().push(n.name());
        }
    }
    let needed_by = |id: usize| dependents.get(&(id as u32)).cloned().unwrap_or_default();

    let mut functions = Vec::new();
    let mut ins = Vec::new();
    let mut config = Vec::new();
    for (id, n) in graph.nodes().iter().enumerate() {
        let ty = n.value_type().name();
        match n.kind() {
            NodeKind::Function(spec) if !crate::args::tags_match(spec, &a.tags) => {}
            NodeKind::Function(spec) => {
                let deps: Vec<serde_json::Value> = spec
                    .params()
                    .iter()
                    .map(|p| {
                        serde_json::json!({
                            "name": p.name(),
                            "type": p.value_type().name(),
                            "optional": p.kind() == ParamKind::Optional,
                            // `required`, `optional`, … as the engine names them.
                            "kind": format!("{:?}", p.kind()).to_lowercase(),
                        })
                    })
                    .collect();
                let tags: BTreeMap<&str, &str> = spec
                    .tags()
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                functions.push(serde_json::json!({
                    "name": n.name(),
                    "module": spec.module(),
                    // The Rust function that defines it (a modifier may name the node otherwise).
                    "function": spec.function(),
                    "type": ty,
                    "doc": spec.doc(),
                    "tags": tags,
                    "dependencies": deps,
                    "dependents": needed_by(id),
                    "async": spec.is_async(),
                    "cache": spec.cache_behavior().map(behavior_name),
                }));
            }
            NodeKind::Input { optional, .. } => ins.push(serde_json::json!({
                "name": n.name(),
                "type": ty,
                "optional": optional,
                "needed_by": needed_by(id),
            })),
            NodeKind::Config { .. } => config.push(serde_json::json!({
                "name": n.name(),
                "type": ty,
                "needed_by": needed_by(id),
            })),
            // A kind of node added to weft after this CLI was written: say it is left out.
            _ => eprintln!(
                "warning: `{}` is a kind of node this weft-cli does not know; it is not listed",
                n.name()
            ),
        }
    }
    if a.json {
        let v = serde_json::json!({ "functions": functions, "inputs": ins, "config": config });
        let text =
            serde_json::to_string_pretty(&v).map_err(|e| CliError::failure(e.to_string()))?;
        output::to_stdout("the list", &(text + "\n"))?;
        return Ok(Exit::Success);
    }
    output::to_stdout("the list", &list_text(&functions, &ins, &config))?;
    Ok(Exit::Success)
}

fn s(v: &serde_json::Value) -> &str {
    v.as_str().unwrap_or("")
}

fn list_text(
    functions: &[serde_json::Value],
    ins: &[serde_json::Value],
    config: &[serde_json::Value],
) -> String {
    let names = |v: &serde_json::Value| -> String {
        let items: Vec<&str> = v
            .as_array()
            .map(|a| a.iter().map(s).collect())
            .unwrap_or_default();
        name_list(items)
    };
    let mut out = format!("functions ({}):\n", functions.len());
    for f in functions {
        let asynchronous = if f["async"].as_bool() == Some(true) {
            "  async"
        } else {
            ""
        };
        out.push_str(&format!(
            "  {}: {}    [{}]{asynchronous}\n",
            s(&f["name"]),
            short_type_name(s(&f["type"])),
            s(&f["module"])
        ));
        for line in s(&f["doc"]).lines().filter(|l| !l.trim().is_empty()) {
            out.push_str(&format!("      {}\n", line.trim()));
        }
        let deps: Vec<String> = f["dependencies"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|d| {
                        let opt = match s(&d["kind"]) {
                            "required" => String::new(),
                            kind => format!(" ({kind})"),
                        };
                        format!("{}: {}{opt}", s(&d["name"]), short_type_name(s(&d["type"])))
                    })
                    .collect()
            })
            .unwrap_or_default();
        if !deps.is_empty() {
            out.push_str(&format!("      needs: {}\n", deps.join(", ")));
        }
        if let Some(tags) = f["tags"].as_object().filter(|t| !t.is_empty()) {
            let t: Vec<String> = tags.iter().map(|(k, v)| format!("{k}={}", s(v))).collect();
            out.push_str(&format!("      tags: {}\n", t.join(", ")));
        }
        if let Some(c) = f["cache"].as_str() {
            out.push_str(&format!("      cache: {c}\n"));
        }
    }
    for (title, items) in [("inputs", ins), ("config", config)] {
        out.push_str(&format!("{title} ({}):\n", items.len()));
        let rows: Vec<Vec<String>> = items
            .iter()
            .map(|i| {
                let opt = if i["optional"].as_bool() == Some(true) {
                    " (optional)"
                } else {
                    ""
                };
                vec![
                    format!("  {}", s(&i["name"])),
                    format!("{}{opt}", short_type_name(s(&i["type"]))),
                    format!("needed by {}", names(&i["needed_by"])),
                ]
            })
            .collect();
        if !rows.is_empty() {
            let t = crate::text::table(&["", "", ""], &rows);
            // Drop the empty header line.
            out.push_str(t.split_once('\n').map_or("", |(_, rest)| rest));
        }
    }
    out
}
