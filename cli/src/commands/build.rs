//! `build`: compute outputs, print them (table or JSON), optionally write them to a file.

use crate::args::{BuildArgs, OutputFormat};
use crate::error::{name_list, CliError};
use crate::{output, render, Cli, Exit};

use super::execute::execute;
use super::failure::execute_error;
use super::request::request;

/// Runs `build`.
pub(super) fn run(cli: &Cli, a: BuildArgs) -> Result<Exit, CliError> {
    let request = request(cli, &a)?;
    let outputs = request.outputs.clone();
    let progress = request.progress.clone();
    // The driver lives until the outputs are read (see `Held`).
    let (result, cache, driver) = execute(cli, &a, request, |cache, executor| {
        if a.verbose {
            match cache {
                Some(c) => eprintln!("cache: {}", c.location()),
                None => eprintln!("cache: off (--no-cache)"),
            }
            eprintln!("executor: {executor}");
            eprintln!("outputs: {}", name_list(outputs.iter().map(String::as_str)));
        }
    })?;
    let summary = progress.report().map(|r| r.summary());
    let (outputs_got, run_id) = match result {
        Ok((out, record)) => {
            if a.verbose && record.answered {
                eprintln!("run: answered from the cache (every node a stored hit; nothing walked)");
            }
            (out, record.run_id)
        }
        Err(e) => {
            print_warnings(&driver.warnings(), cache.as_ref(), None);
            if let Some(s) = &summary {
                eprintln!("{s}");
            }
            return Err(execute_error(e));
        }
    };

    let rows = render::rows(&outputs_got, &outputs);
    let json = || {
        serde_json::to_string_pretty(&render::json(&rows))
            .map(|text| text + "\n")
            .map_err(|e| CliError::failure(e.to_string()))
    };
    // Both destinations are tried; a failed write is reported after the summary.
    let mut failed = Vec::new();
    let printed = match a.output {
        OutputFormat::Table => output::to_stdout("the results", &render::table(&rows)),
        OutputFormat::Json => json().and_then(|text| output::to_stdout("the results", &text)),
    };
    failed.extend(printed.err());
    if a.output == OutputFormat::Json || a.output_file.is_some() {
        for w in render::json_warnings(&rows) {
            eprintln!("warning: {w}");
        }
    }
    if let Some(path) = &a.output_file {
        match json().and_then(|text| output::to_file(path, &text)) {
            Ok(()) if !a.quiet => eprintln!("wrote {}", path.display()),
            Ok(()) => {}
            Err(e) => failed.push(e),
        }
    }
    // After the outputs are read: reading a stored value that turns out unusable warns too.
    print_warnings(&driver.warnings(), cache.as_ref(), Some(&run_id));
    if let Some(s) = summary {
        eprintln!("{s}");
    }
    match failed.pop() {
        None => Ok(Exit::Success),
        Some(last) => {
            for e in failed {
                eprintln!("error: {e}");
            }
            Err(last)
        }
    }
}

/// Prints the driver's warnings (even with `--quiet`: an ignored input, an input that makes
/// nodes rerun every time, a cache that fails to store or finds a damaged entry must not go
/// unsaid) and, for run `run_id`, which values were not stored.
fn print_warnings(warnings: &[weft::Warning], cache: Option<&weft::Cache>, run_id: Option<&str>) {
    for w in warnings {
        eprintln!("warning: {w}");
    }
    let Some(cache) = cache else { return };
    let Some(records) = run_id.and_then(|id| cache.records(Some(id)).ok()) else {
        return;
    };
    let unstored: Vec<&str> = records
        .iter()
        .filter(|r| r.status == weft::cache::Status::Uncached)
        .map(|r| r.node.as_str())
        .collect();
    if !unstored.is_empty() {
        eprintln!(
            "not stored in the cache: {} (the next run computes {} again)",
            name_list(unstored.iter().copied()),
            if unstored.len() == 1 { "it" } else { "them" }
        );
    }
}
