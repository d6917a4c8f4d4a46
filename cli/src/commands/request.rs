//! What `build` and `watch` share: the outputs, the parsed inputs and config, the cache
//! configuration and the progress adapter, all checked before the cache is touched.

use std::collections::HashSet;
use std::sync::Arc;

use weft::cache::Location;
use weft::{CacheConfig, ExecuteError, Graph, Inputs};

use crate::args::BuildArgs;
use crate::error::CliError;
use crate::inputs::{self, Given};
use crate::progress::{Mode, Progress};
use crate::Cli;

/// A checked `build`/`watch` request.
pub(super) struct Request {
    pub(super) outputs: Vec<String>,
    pub(super) inputs: Inputs,
    pub(super) config: Inputs,
    pub(super) cache_config: Option<CacheConfig>,
    pub(super) progress: Arc<Progress>,
}

/// Checks `a` against the flow's graph (on a driver without cache) and parses it.
pub(super) fn request(cli: &Cli, a: &BuildArgs) -> Result<Request, CliError> {
    // Everything is checked on a driver without cache before the cache directory is touched.
    let (checked, config) = cli.checked(&a.config)?;
    let graph = checked.graph();
    let functions: HashSet<String> = graph
        .nodes()
        .iter()
        .filter(|n| n.spec().is_some())
        .map(|n| n.name().to_string())
        .collect();
    let tagged: Vec<String> = if a.tags.is_empty() {
        Vec::new()
    } else {
        graph
            .nodes()
            .iter()
            .enumerate()
            .filter(|(id, n)| {
                graph.scope(*id as u32).is_empty()
                    && n.spec()
                        .is_some_and(|s| crate::args::tags_match(s, &a.tags))
            })
            .map(|(_, n)| n.name().to_string())
            .collect()
    };
    if !a.tags.is_empty() && tagged.is_empty() {
        let wanted: Vec<String> = a
            .tags
            .iter()
            .map(|(k, v)| v.as_ref().map_or(k.clone(), |v| format!("{k}={v}")))
            .collect();
        return Err(CliError::usage(format!(
            "no node is tagged {} (see `list` for the nodes' tags)",
            wanted.join(" and ")
        )));
    }
    let outputs: Vec<String> = if !tagged.is_empty() {
        let mut outs = a.outputs.clone();
        outs.extend(tagged.into_iter().filter(|t| !a.outputs.contains(t)));
        outs
    } else if a.outputs.is_empty() {
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
    let file: Vec<(String, Given)> = match &a.inputs_file {
        Some(path) => inputs::read_inputs_file(path)?,
        None => Vec::new(),
    };
    let inputs = inputs::parse_inputs(graph, file, &a.inputs, &names)?;
    drop(checked);

    let progress = Arc::new(Progress::new(Mode::detect(a.quiet), a.verbose, functions));
    let cache_config = match a.no_cache {
        true => None,
        false => Some(with_args(cache_config(&a.cache)?, a)),
    };
    Ok(Request {
        outputs,
        inputs,
        config,
        cache_config,
        progress,
    })
}

/// The cache `--cache` names: a directory (created, and checked for writing), or an object
/// store (connected to: one that cannot be reached is a failure naming its URL).
fn cache_config(location: &str) -> Result<CacheConfig, CliError> {
    match Location::parse(location).map_err(|e| CliError::usage(e.to_string()))? {
        Location::Dir(dir) => {
            super::cache_dir::check(&dir)?;
            Ok(CacheConfig::at(dir))
        }
        _ => CacheConfig::locate(location).map_err(|e| {
            CliError::failure(format!(
                "{e}\n(pass another --cache, or --no-cache to run without a cache)"
            ))
        }),
    }
}

/// `cfg` with what `a` asks of it: nodes to recompute, the store backlog.
fn with_args(cfg: CacheConfig, a: &BuildArgs) -> CacheConfig {
    let cfg = cfg.recompute(a.recompute.iter().cloned());
    let cfg = if a.recompute_all {
        cfg.recompute_all()
    } else {
        cfg
    };
    match a.store_backlog {
        // A backlog past the address space is no limit at all.
        Some(bytes) => cfg.store_backlog(usize::try_from(bytes).unwrap_or(usize::MAX)),
        None => cfg,
    }
}

/// Function nodes no other node depends on, in graph order.
fn sinks(graph: &Graph) -> Vec<String> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::ConfigArgs;
    use crate::commands::tests::cli;

    fn build_args(args: &[&str]) -> BuildArgs {
        use clap::Parser;
        let parsed = crate::args::FlowArgs::try_parse_from(["flow", "build"].iter().chain(args));
        match parsed.map(|f| f.command) {
            Ok(crate::args::FlowCommand::Build(a)) => a,
            other => panic!("not a build: {other:?}"),
        }
    }

    #[test]
    fn store_backlog_sets_the_cache_configs_backlog() {
        let default = with_args(CacheConfig::at("unused"), &build_args(&[]));
        assert_eq!(default.backlog(), weft::cache::DEFAULT_STORE_BACKLOG);
        let a = build_args(&["--store-backlog", "64MiB"]);
        assert_eq!(with_args(CacheConfig::at("unused"), &a).backlog(), 64 << 20);
        let a = build_args(&["--store-backlog", "0"]);
        assert_eq!(with_args(CacheConfig::at("unused"), &a).backlog(), 0);
    }

    #[test]
    fn sinks_are_the_nodes_nothing_depends_on() {
        let driver = cli().graph_driver(&ConfigArgs::default()).unwrap();
        assert_eq!(sinks(driver.graph()), ["doubled", "halved"]);
    }
}
