//! The flow CLI's commands: build, list, viz, explain.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use weft::cache::behavior_name;
use weft::executors::MultiThreading;
use weft::short_type_name;
use weft::{Builder, CacheConfig, Driver, ExecuteError, Graph, Inputs, NodeKind, ParamKind};

use crate::args::{
    BuildArgs, ConfigArgs, Executor, ExplainArgs, ListArgs, OutputFormat, VizArgs, WatchArgs,
};
use crate::error::{did_you_mean, name_list, CliError};
use crate::inputs::{self, Given};
use crate::progress::{Mode, Progress};
use crate::{cache_cmd, render, Cli, Exit};

impl Cli {
    /// A builder with the flow's modules, config and customizations (no cache, no progress).
    fn builder(&self) -> Builder {
        let mut b = Builder::new().with_modules(self.modules.clone());
        for c in &self.config {
            b = b.with_config(c.clone());
        }
        for f in &self.customize {
            b = f(b);
        }
        b
    }

    /// The driver for commands that only look at the graph, with `--config` applied.
    pub(crate) fn graph_driver(&self, config: &ConfigArgs) -> Result<Driver, CliError> {
        self.checked(config).map(|(driver, _)| driver)
    }

    /// A driver without cache with `--config` applied, and that config parsed (the types of
    /// config keys come from the graph, so it is built once without them first).
    fn checked(&self, config: &ConfigArgs) -> Result<(Driver, Inputs), CliError> {
        let probe = self.builder().build().map_err(build_error)?;
        if config.config.is_empty() {
            return Ok((probe, Inputs::new()));
        }
        let parsed = inputs::parse_config(probe.graph(), &config.config)?;
        let driver = self
            .builder()
            .with_config(parsed.clone())
            .build()
            .map_err(build_error)?;
        Ok((driver, parsed))
    }
}

fn build_error(e: weft::BuildError) -> CliError {
    CliError::usage(e.to_string())
}

/// Function nodes no other node depends on, in graph order.
pub(crate) fn sinks(graph: &Graph) -> Vec<String> {
    let used: HashSet<u32> = (0..graph.nodes().len() as u32)
        .flat_map(|id| graph.deps(id).iter().copied())
        .collect();
    graph
        .nodes()
        .iter()
        .enumerate()
        .filter(|(id, n)| n.spec().is_some() && !used.contains(&(*id as u32)))
        .map(|(_, n)| n.name().to_string())
        .collect()
}

/// `build`.
/// What `build` and `watch` share: the outputs, the parsed inputs and config, the cache
/// configuration and the progress adapter, all checked before the cache is touched.
struct Request {
    outputs: Vec<String>,
    inputs: Inputs,
    config: Inputs,
    cache_config: Option<CacheConfig>,
    progress: Arc<Progress>,
}

fn request(cli: &Cli, a: &BuildArgs) -> Result<Request, CliError> {
    // Everything is checked on a driver without cache before the cache directory is touched.
    let (checked, config) = cli.checked(&a.config)?;
    let graph = checked.graph();
    let functions: HashSet<String> = graph
        .nodes()
        .iter()
        .filter(|n| n.spec().is_some())
        .map(|n| n.name().to_string())
        .collect();
    let outputs: Vec<String> = if a.outputs.is_empty() {
        let s = sinks(graph);
        if s.is_empty() {
            return Err(CliError::usage(
                "the flow has no function nodes to build (are its modules' functions marked \
                 #[node]?)",
            ));
        }
        s
    } else {
        a.outputs.clone()
    };
    let names: Vec<&str> = outputs.iter().map(String::as_str).collect();
    if let Err(e @ ExecuteError::UnknownOutputs(_)) =
        weft::Plan::new(graph, &names, &HashSet::new())
    {
        return Err(CliError::usage(e.to_string()));
    }
    let mut given: Vec<(String, Given)> = match &a.inputs_file {
        Some(path) => inputs::read_inputs_file(path)?,
        None => Vec::new(),
    };
    given.extend(
        a.inputs
            .iter()
            .map(|(k, v)| (k.clone(), Given::Text(v.clone()))),
    );
    let inputs = inputs::parse_inputs(graph, given, &names)?;
    drop(checked);

    let progress = Arc::new(Progress::new(Mode::detect(a.quiet), a.verbose, functions));
    let cache_config = (!a.no_cache).then(|| {
        let cfg = CacheConfig::at(&a.cache_dir).recompute(a.recompute.iter().cloned());
        if a.recompute_all {
            cfg.recompute_all()
        } else {
            cfg
        }
    });
    Ok(Request {
        outputs,
        inputs,
        config,
        cache_config,
        progress,
    })
}

/// A sync driver for `build`/`watch` (sequential or threads).
fn sync_driver(
    cli: &Cli,
    a: &BuildArgs,
    config: Inputs,
    cache_config: Option<CacheConfig>,
    progress: Arc<Progress>,
) -> Result<Driver, CliError> {
    let mut builder = cli.builder().with_config(config).keep_going(a.keep_going);
    if let Executor::Threads(n) = a.executor {
        let n = n.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        });
        builder = builder.with_local_executor(MultiThreading::new(n));
    }
    if let Some(cfg) = cache_config {
        builder = builder.with_cache_config(cfg);
    }
    builder
        .with_adapter_arc(progress)
        .build()
        .map_err(build_error)
}

/// `watch`: build, then rebuild whenever a file input's content changes (`weft::Watcher`),
/// printing what ran and why after each run.
pub(crate) fn watch(cli: &Cli, w: WatchArgs) -> Result<Exit, CliError> {
    let a = &w.build;
    if matches!(a.executor, Executor::Async) {
        return Err(CliError::usage(
            "`watch` runs with --executor sequential or threads[:N]; `async` is for `build`",
        ));
    }
    let Request {
        outputs,
        inputs,
        config,
        cache_config,
        progress,
    } = request(cli, a)?;
    let driver = sync_driver(cli, a, config, cache_config, progress)?;
    let names: Vec<&str> = outputs.iter().map(String::as_str).collect();
    let watcher = weft::Watcher::new(&driver, &names, inputs)
        .debounce(std::time::Duration::from_millis(w.debounce));
    let stop = watcher.stop_handle();
    let mut runs = 0usize;
    let mut failed = false;
    watcher
        .run(|update| match update {
            weft::watch::Update::Watching(files) if files.is_empty() => {
                outln!(
                    "watch: no file inputs on the path to {}; nothing to watch after this run",
                    names.join(", ")
                );
            }
            weft::watch::Update::Watching(files) => outln!("watching {}", files.join(", ")),
            weft::watch::Update::Ran {
                report,
                outputs: got,
            } => {
                if a.verbose {
                    outln!("{report:#}");
                } else {
                    outln!("{report}");
                }
                match got {
                    Some(got) => {
                        failed = false;
                        out!("{}", render::table(&render::rows(got, &outputs)));
                    }
                    None => failed = true,
                }
                runs += 1;
                if w.max_runs.is_some_and(|m| runs >= m) {
                    stop.stop();
                }
            }
            weft::watch::Update::Cancelling { paths, .. } => {
                outln!(
                    "changed while running: {}; restarting",
                    paths
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            weft::watch::Update::Unchanged(paths) => outln!(
                "saved without changes: {} (nothing ran)",
                paths
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            weft::watch::Update::Warning(m) => eprintln!("warning: {m}"),
            // An update added to weft after this CLI was written: show it rather than drop it.
            other => eprintln!("watch: {other:?}"),
        })
        .map_err(|e| CliError::usage(e.to_string()))?;
    Ok(if failed { Exit::Failure } else { Exit::Success })
}

pub(crate) fn build(cli: &Cli, a: BuildArgs) -> Result<Exit, CliError> {
    let Request {
        outputs,
        inputs,
        config,
        cache_config,
        progress,
    } = request(cli, &a)?;
    let names: Vec<&str> = outputs.iter().map(String::as_str).collect();
    let verbose = |cache: Option<&weft::Cache>, executor: &str| {
        if a.verbose {
            match cache {
                Some(c) => eprintln!("cache: {}", c.dir().display()),
                None => eprintln!("cache: off (--no-cache)"),
            }
            eprintln!("executor: {executor}");
            eprintln!("outputs: {}", name_list(names.iter().copied()));
        }
    };
    let (result, cache) = match a.executor {
        Executor::Async => {
            let (rt, dr) = async_driver(cli, config, a.keep_going, cache_config, progress.clone())?;
            verbose(dr.cache(), "async (tokio)");
            let result = rt.block_on(dr.request(&names).inputs(inputs).run_async());
            (result, dr.cache().cloned())
        }
        Executor::Sequential | Executor::Threads(_) => {
            let driver = sync_driver(cli, &a, config, cache_config, progress.clone())?;
            verbose(driver.cache(), &driver.executor_name());
            let result = driver.execute_recorded(&names, inputs, Inputs::new());
            (result, driver.cache().cloned())
        }
    };
    if !a.quiet {
        if let Some(cache) = &cache {
            for w in cache.warnings() {
                eprintln!("warning: {w}");
            }
        }
    }
    let summary = progress.report().map(|r| r.summary());
    let outputs_got = match result {
        Ok((out, record)) => {
            if a.verbose && record.answered {
                eprintln!("run: answered from the cache (every node a stored hit; nothing walked)");
            }
            out
        }
        Err(e) => {
            if let Some(s) = &summary {
                eprintln!("{s}");
            }
            return Err(execute_error(e));
        }
    };

    let rows = render::rows(&outputs_got, &outputs);
    match a.output {
        OutputFormat::Table => out!("{}", render::table(&rows)),
        OutputFormat::Json => {
            let text = serde_json::to_string_pretty(&render::json(&rows))
                .map_err(|e| CliError::failure(e.to_string()))?;
            outln!("{text}");
        }
    }
    if a.output == OutputFormat::Json || a.output_file.is_some() {
        for w in render::json_warnings(&rows) {
            eprintln!("warning: {w}");
        }
    }
    if let Some(path) = &a.output_file {
        let text = serde_json::to_string_pretty(&render::json(&rows))
            .map_err(|e| CliError::failure(e.to_string()))?;
        std::fs::write(path, text + "\n").map_err(|e| {
            CliError::failure(format!(
                "cannot write the results to `{}`: {e}",
                path.display()
            ))
        })?;
        if !a.quiet {
            eprintln!("wrote {}", path.display());
        }
    }
    if let Some(s) = summary {
        eprintln!("{s}");
    }
    Ok(Exit::Success)
}

/// The driver, with a multi-threaded tokio runtime started here to run it async.
fn async_driver(
    cli: &Cli,
    config: Inputs,
    keep_going: bool,
    cache: Option<CacheConfig>,
    progress: Arc<Progress>,
) -> Result<(tokio::runtime::Runtime, Driver), CliError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            CliError::failure(format!(
                "cannot start the tokio runtime for `--executor async`: {e}"
            ))
        })?;
    // The same builder as the other executors (customizations included), driven async.
    let mut b = cli.builder().with_config(config).keep_going(keep_going);
    if let Some(cfg) = cache {
        b = b.with_cache_config(cfg);
    }
    let dr = b.with_adapter_arc(progress).build().map_err(build_error)?;
    Ok((rt, dr))
}

/// An execution error: a failed node is exit code 1, with its error chain and upstream path.
pub(crate) fn execute_error(e: ExecuteError) -> CliError {
    match e {
        e @ ExecuteError::NodeFailed { .. } => CliError::failure(node_failed(e)),
        ExecuteError::Many(errors) => {
            let n = errors.len();
            let all_nodes = errors
                .iter()
                .all(|e| matches!(e, ExecuteError::NodeFailed { .. }));
            let mut m = format!("{n} nodes failed:");
            for e in errors {
                m.push_str("\n  - ");
                m.push_str(&node_failed(e).replace('\n', "\n    "));
            }
            if all_nodes {
                CliError::failure(m)
            } else {
                CliError::usage(m)
            }
        }
        e @ (ExecuteError::UnknownOutputs(_) | ExecuteError::BadInputs(_)) => {
            CliError::usage(e.to_string())
        }
        other => CliError::failure(other.to_string()),
    }
}

/// `node `x` failed: …`, each cause, and the upstream path.
fn node_failed(e: ExecuteError) -> String {
    let ExecuteError::NodeFailed { node, path, source } = e else {
        return e.to_string();
    };
    let chain = source.chain();
    let mut m = format!(
        "node `{node}` failed: {}",
        chain.first().map_or("", String::as_str)
    );
    for cause in chain.iter().skip(1) {
        m.push_str(&format!("\n  caused by: {cause}"));
    }
    if path.len() > 1 {
        m.push_str(&format!(
            "\n  upstream path: {} (each needs the next)",
            path.join(" <- ")
        ));
    } else {
        m.push_str(&format!("\n  upstream path: {node} (requested directly)"));
    }
    m
}

/// `list`.
pub(crate) fn list(cli: &Cli, a: ListArgs) -> Result<Exit, CliError> {
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
        outln!("{text}");
        return Ok(Exit::Success);
    }
    out!("{}", list_text(&functions, &ins, &config));
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

/// `viz`.
pub(crate) fn viz(cli: &Cli, a: VizArgs) -> Result<Exit, CliError> {
    let driver = cli.graph_driver(&a.config)?;
    let picture = if a.outputs.is_empty() {
        driver.display_all()
    } else {
        let names: Vec<&str> = a.outputs.iter().map(String::as_str).collect();
        driver
            .visualize_execution(&names, &[])
            .map_err(execute_error)?
    };
    picture
        .write(&a.output)
        .map_err(|e| CliError::failure(e.to_string()))?;
    eprintln!(
        "wrote {} ({} nodes)",
        a.output.display(),
        picture.nodes.len()
    );
    Ok(Exit::Success)
}

/// `explain`.
pub(crate) fn explain(cli: &Cli, a: ExplainArgs, bin: &str) -> Result<Exit, CliError> {
    let driver = cli.graph_driver(&ConfigArgs::default())?;
    let graph = driver.graph();
    if graph.node(&a.node).and_then(|n| n.spec()).is_none() {
        let functions: Vec<&str> = graph
            .nodes()
            .iter()
            .filter(|n| n.spec().is_some())
            .map(|n| n.name())
            .collect();
        let what = if graph.node(&a.node).is_some() {
            format!(
                "`{}` is an input or config value, not a node that executes",
                a.node
            )
        } else {
            format!(
                "unknown node `{}`{}",
                a.node,
                did_you_mean(&a.node, functions.iter().copied())
            )
        };
        return Err(CliError::usage(format!(
            "{what}; the flow's nodes are {}",
            name_list(functions)
        )));
    }
    let cache = cache_cmd::open(&a.cache_dir)?;
    let e = cache_cmd::explain(&cache, &a.node, a.run.as_deref(), bin)?;
    outln!("{e}");
    Ok(Exit::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub mod nodes {
        use weft::prelude::*;

        #[node]
        pub fn ratio(spend: &f64, target: &f64) -> f64 {
            spend / target
        }

        #[node]
        pub fn doubled(ratio: &f64) -> f64 {
            ratio * 2.0
        }

        #[node]
        pub fn halved(ratio: &f64) -> f64 {
            ratio / 2.0
        }
    }

    fn cli() -> Cli {
        Cli::new(weft::modules![crate::flow::tests::nodes])
    }

    #[test]
    fn sinks_are_the_nodes_nothing_depends_on() {
        let driver = cli().graph_driver(&ConfigArgs::default()).unwrap();
        assert_eq!(sinks(driver.graph()), ["doubled", "halved"]);
    }

    #[test]
    fn command_line_config_adds_to_the_program_config_and_wins() {
        let cli = cli().with_config(weft::inputs! { "target" => 2.0 });
        let (driver, _) = cli.checked(&ConfigArgs::default()).unwrap();
        assert!(matches!(
            driver.graph().node("target").unwrap().kind(),
            NodeKind::Config { .. }
        ));
        let out = driver
            .execute(&["ratio"], weft::inputs! { "spend" => 10.0 })
            .unwrap();
        assert_eq!(*out.get::<f64>("ratio").unwrap(), 5.0);

        let args = ConfigArgs {
            config: vec![("target".into(), "4".into())],
        };
        let (driver, parsed) = cli.checked(&args).unwrap();
        assert_eq!(parsed.get::<f64>("target"), Some(&4.0));
        let out = driver
            .execute(&["ratio"], weft::inputs! { "spend" => 10.0 })
            .unwrap();
        assert_eq!(*out.get::<f64>("ratio").unwrap(), 2.5, "--config wins");

        let bad = ConfigArgs {
            config: vec![("target".into(), "four".into())],
        };
        let e = cli.checked(&bad).err().unwrap();
        assert_eq!(e.exit, Exit::Usage);
        assert!(
            e.message
                .contains("config `target` expects a `f64`, but `four` is not one"),
            "{}",
            e.message
        );
    }

    #[test]
    fn run_from_maps_usage_errors_to_exit_2() {
        assert_eq!(cli().run_from(["flow", "frobnicate"]), Exit::Usage);
        assert_eq!(
            cli().run_from(["flow", "build", "--no-cache", "nope"]),
            Exit::Usage
        );
    }
}
