//! `explain NODE`: why the node executed, or hit the cache, in the last (or given) run.

use crate::args::{ConfigArgs, ExplainArgs};
use crate::error::{did_you_mean, name_list, CliError};
use crate::{output, Cli, Exit};

use super::cache;

/// Runs `explain`: checks NODE against the flow, then reads the cache.
pub(super) fn run(cli: &Cli, a: ExplainArgs, bin: &str) -> Result<Exit, CliError> {
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
    let cache = cache::open(&a.cache)?;
    let e = cache::explain(&cache, &a.node, a.run.as_deref(), bin)?;
    output::to_stdout("the explanation", &format!("{e}\n"))?;
    Ok(Exit::Success)
}
