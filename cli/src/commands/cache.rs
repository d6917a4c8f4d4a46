//! `cache …`: inspection and housekeeping of a cache directory, without the flow's code. Shared
//! by the flow CLI (`myflow cache …`) and the standalone tool (`weft cache …`).

use std::path::PathBuf;

use clap::{Args, Subcommand};
use weft::cache::{GcPolicy, GcReport, Location, NodeRecord, RunMeta, Status, StoreError};
use weft::Cache;

use crate::error::{did_you_mean, CliError};
use crate::examples::render_examples;
use crate::{output, text};

/// `cache [--cache DIR|URL] <COMMAND>`.
#[derive(Args, Debug)]
pub(crate) struct CacheArgs {
    /// The cache: a directory, or an object-store URL (s3://bucket/prefix, gs://…, az://…)
    #[arg(
        long = "cache",
        visible_alias = "cache-dir",
        global = true,
        value_name = "DIR|URL",
        default_value = ".weft/cache"
    )]
    pub(crate) cache: String,

    #[command(subcommand)]
    pub(crate) command: CacheCommand,
}

#[derive(Subcommand, Debug)]
pub(crate) enum CacheCommand {
    /// List the runs recorded in the cache, oldest first
    Runs {
        /// Print JSON instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Show each node's record in a run: status, duration, data version, reason
    Show {
        /// The run (an id or a unique prefix) [default: the last run]
        run: Option<String>,
        /// Print JSON instead of a table
        #[arg(long)]
        json: bool,
        /// Print only the path of NODE's stored result file (parquet and ipc results are plain
        /// files any tool reads)
        #[arg(long, value_name = "NODE", conflicts_with = "json")]
        path: Option<String>,
    },
    /// Explain why a node executed (or hit) in a run, compared with its previous record
    Explain {
        /// The node
        node: String,
        /// The run (an id or a unique prefix) [default: the last run that has the node]
        #[arg(long, value_name = "RUN")]
        run: Option<String>,
    },
    /// Draw a run: hits, executed, recomputed, disabled and failed nodes, with timings
    View {
        /// The run (an id or a unique prefix) [default: the last run]
        run: Option<String>,
        /// The file to write: SVG, or DOT when it ends in .dot or .gv
        #[arg(
            short = 'o',
            long = "output",
            value_name = "FILE",
            default_value = "run.svg"
        )]
        output: PathBuf,
    },
    /// Delete old runs, then every stored result no remaining run uses
    Gc {
        /// Keep only the N most recent runs
        #[arg(long, value_name = "N")]
        keep_runs: Option<usize>,
        /// Then delete the oldest runs until the results fit in SIZE (100MB, 2GiB, 4096…)
        #[arg(long, value_name = "SIZE", value_parser = text::parse_size)]
        max_size: Option<u64>,
    },
    /// Delete every run, key and stored result
    Clear,
}

/// Example lines for `PREFIX cache <sub>` (`PREFIX` is `weft` or the flow's binary).
pub(crate) fn cache_examples(prefix: &str, sub: &str) -> Option<String> {
    let lines: &[&str] = match sub {
        "cache" => &[
            "{bin} cache runs",
            "{bin} cache show",
            "{bin} cache explain report",
            "{bin} cache --cache /data/flow-cache gc --keep-runs 10",
            "{bin} cache --cache s3://team-bucket/flows/sales runs",
        ],
        "runs" => &["{bin} cache runs", "{bin} cache runs --json"],
        "show" => &[
            "{bin} cache show                     # the last run",
            "{bin} cache show 3f2a --json",
            "{bin} cache show --path report       # the file of report's result",
        ],
        "explain" => &[
            "{bin} cache explain report",
            "{bin} cache explain report --run 3f2a",
        ],
        "view" => &[
            "{bin} cache view -o run.svg",
            "{bin} cache view 3f2a -o run.dot",
        ],
        "gc" => &[
            "{bin} cache gc --keep-runs 10",
            "{bin} cache gc --max-size 500MB",
            "{bin} cache gc --keep-runs 5 --max-size 1GiB",
        ],
        "clear" => &["{bin} cache clear", "{bin} cache --cache ./my_cache clear"],
        _ => return None,
    };
    Some(render_examples(prefix, lines))
}

/// Adds the examples to `cache` and each of its subcommands.
pub(crate) fn with_examples(cache: clap::Command, prefix: &str) -> clap::Command {
    let mut cache = cache.after_help(cache_examples(prefix, "cache").unwrap_or_default());
    for sub in ["runs", "show", "explain", "view", "gc", "clear"] {
        let ex = cache_examples(prefix, sub).unwrap_or_default();
        cache = cache.mut_subcommand(sub, |c| c.after_help(ex));
    }
    cache
}

/// Opens an existing cache for inspection: a directory without one is a usage error, as is a
/// malformed location; an object store that cannot be reached is a failure naming its URL.
pub(crate) fn open(location: &str) -> Result<Cache, CliError> {
    let dir = match Location::parse(location).map_err(|e| CliError::usage(e.to_string()))? {
        Location::Dir(dir) => dir,
        _ => return Cache::locate(location).map_err(|e| CliError::failure(e.to_string())),
    };
    let dir = dir.as_path();
    if !dir.join("meta.sqlite").is_file() {
        return Err(CliError::usage(format!(
            "no cache in `{}` (no meta.sqlite there); run a build first, or point --cache at \
             the cache directory",
            dir.display()
        )));
    }
    Cache::open(dir).map_err(|e| {
        CliError::failure(format!("cannot open the cache in `{}`: {e}", dir.display()))
    })
}

/// A store error: unknown runs and nodes are usage errors, the rest run-time failures.
pub(crate) fn store_error(e: StoreError) -> CliError {
    match e {
        StoreError::Other(m) => CliError::usage(m),
        other => CliError::failure(other.to_string()),
    }
}

/// Runs one `cache` subcommand.
pub(crate) fn run(args: CacheArgs, prefix: &str) -> Result<(), CliError> {
    let cache = open(&args.cache)?;
    let done = command(&cache, args, prefix);
    // What the cache had to say (a damaged database moved aside and rebuilt, records left out
    // as unreadable) is printed whatever the command's outcome.
    for w in cache.warnings() {
        eprintln!("warning: {w}");
    }
    done
}

fn command(cache: &Cache, args: CacheArgs, prefix: &str) -> Result<(), CliError> {
    let cache = cache.clone();
    match args.command {
        CacheCommand::Runs { json } => runs(&cache, json),
        CacheCommand::Show {
            run,
            path: Some(node),
            ..
        } => {
            let run = match run.as_deref() {
                Some(r) => Some(resolve_run(&cache, Some(r))?.run_id),
                None => None,
            };
            let path = cache
                .result_path(&node, run.as_deref())
                .map_err(store_error)?;
            output::to_stdout("the path", &format!("{}\n", path.display()))
        }
        CacheCommand::Show { run, json, .. } => show(&cache, run.as_deref(), json),
        CacheCommand::Explain { node, run } => {
            let e = explain(&cache, &node, run.as_deref(), prefix)?;
            output::to_stdout("the explanation", &format!("{e}\n"))
        }
        CacheCommand::View { run, output } => {
            let meta = resolve_run(&cache, run.as_deref())?;
            cache
                .view_run(Some(&meta.run_id), &output)
                .map_err(|e| CliError::failure(e.to_string()))?;
            eprintln!("wrote {} (run {})", output.display(), meta.run_id);
            Ok(())
        }
        CacheCommand::Gc {
            keep_runs,
            max_size,
        } => {
            let report = cache
                .gc(GcPolicy {
                    keep_runs,
                    max_bytes: max_size,
                })
                .map_err(store_error)?;
            output::to_stdout("the report", &format!("{}\n", gc_report(&report)))
        }
        CacheCommand::Clear => {
            let report = cache.clear().map_err(store_error)?;
            let text = format!("cleared {}: {}\n", cache.location(), gc_report(&report));
            output::to_stdout("the report", &text)
        }
    }
}

fn gc_report(r: &GcReport) -> String {
    if r.live_runs > 0 {
        return format!(
            "{} run{} in progress on this cache: nothing collected (what a live run wrote or \
             will read stays); run gc again once {} finished{}",
            r.live_runs,
            plural(r.live_runs),
            if r.live_runs == 1 {
                "it has"
            } else {
                "they have"
            },
            match r.temp_files_removed {
                0 => String::new(),
                n => format!(
                    "; removed {n} temporary file{} an interrupted write left",
                    plural(n)
                ),
            }
        );
    }
    let temp = match r.temp_files_removed {
        0 => String::new(),
        n => format!(
            ", and {n} temporary file{} an interrupted write left",
            plural(n)
        ),
    };
    format!(
        "removed {} run{} and {} stored result{} ({} freed){temp}; {} kept",
        r.runs_removed,
        plural(r.runs_removed),
        r.results_removed,
        plural(r.results_removed),
        text::size(r.bytes_freed),
        text::size(r.bytes_kept)
    )
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// The run `run` names (id or unique prefix), or the last one.
fn resolve_run(cache: &Cache, run: Option<&str>) -> Result<RunMeta, CliError> {
    let runs = cache.runs().map_err(store_error)?;
    match run {
        None => runs
            .last()
            .cloned()
            .ok_or_else(|| CliError::usage(format!("no runs in `{}` yet", cache.location()))),
        Some(r) => {
            let found: Vec<&RunMeta> = runs.iter().filter(|m| m.run_id.starts_with(r)).collect();
            match found.as_slice() {
                [one] => Ok((*one).clone()),
                [] => Err(CliError::usage(format!(
                    "no run `{r}` in `{}`{}; list them with `cache runs`",
                    cache.location(),
                    did_you_mean(r, runs.iter().map(|m| m.run_id.as_str()))
                ))),
                many => Err(CliError::usage(format!(
                    "run prefix `{r}` is ambiguous: it matches {}; give more characters",
                    many.iter()
                        .map(|m| m.run_id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))),
            }
        }
    }
}

/// Node counts of a run's records: (executed, hits, failed).
fn counts(records: &[NodeRecord]) -> (usize, usize, usize) {
    let failed = records
        .iter()
        .filter(|r| r.status == Status::Failed)
        .count();
    let hits = records.iter().filter(|r| !r.status.executed()).count();
    (records.len() - hits - failed, hits, failed)
}

fn took(meta: &RunMeta) -> String {
    meta.finished_at.map_or("-".to_string(), |f| {
        text::duration(std::time::Duration::from_secs_f64(
            (f - meta.started_at).max(0.0),
        ))
    })
}

fn runs(cache: &Cache, json: bool) -> Result<(), CliError> {
    let runs = cache.runs().map_err(store_error)?;
    let mut rows = Vec::new();
    let mut objects = Vec::new();
    for meta in &runs {
        let records = cache.records(Some(&meta.run_id)).map_err(store_error)?;
        let (executed, hits, failed) = counts(&records);
        if json {
            let mut v = serde_json::to_value(meta).map_err(|e| CliError::failure(e.to_string()))?;
            v["executed"] = executed.into();
            v["hits"] = hits.into();
            v["failed"] = failed.into();
            objects.push(v);
        } else {
            let mut nodes = format!("{} ({executed} executed, {hits} hits", records.len());
            if failed > 0 {
                nodes.push_str(&format!(", {failed} failed"));
            }
            nodes.push(')');
            rows.push(vec![
                meta.run_id.clone(),
                text::utc(meta.started_at),
                took(meta),
                meta.status.clone(),
                nodes,
                meta.outputs.join(", "),
            ]);
        }
    }
    if json {
        print_json("the runs", &serde_json::Value::Array(objects))
    } else if runs.is_empty() {
        let text = format!("no runs in `{}`\n", cache.location());
        output::to_stdout("the runs", &text)
    } else {
        let header = ["RUN", "STARTED (UTC)", "TOOK", "STATUS", "NODES", "OUTPUTS"];
        output::to_stdout("the runs", &text::table(&header, &rows))
    }
}

/// Prints `v` as pretty JSON; `what` names it in the error if stdout cannot be written.
fn print_json(what: &str, v: &serde_json::Value) -> Result<(), CliError> {
    let s = serde_json::to_string_pretty(v).map_err(|e| CliError::failure(e.to_string()))?;
    output::to_stdout(what, &(s + "\n"))
}

/// The words shown in the REASON column.
fn reason(r: &NodeRecord) -> String {
    if let Some(e) = &r.error {
        return e.clone();
    }
    if let Some(reason) = &r.reason {
        return reason.clone();
    }
    match r.status {
        Status::Hit => format!(
            "key {} matched a stored result",
            r.cache_key.map_or("?".to_string(), |k| k.short())
        ),
        Status::Memo => "reused from memory".into(),
        Status::Recomputed => "behaviour recompute".into(),
        Status::Disabled => "behaviour disable".into(),
        Status::Ignored => "behaviour ignore".into(),
        _ => "-".into(),
    }
}

fn show(cache: &Cache, run: Option<&str>, json: bool) -> Result<(), CliError> {
    let meta = resolve_run(cache, run)?;
    let records = cache.records(Some(&meta.run_id)).map_err(store_error)?;
    let checks = checks(cache, &records);
    if json {
        let v = serde_json::json!({ "run": meta, "records": records, "checks": checks });
        return print_json("the run", &v);
    }
    let (executed, hits, failed) = counts(&records);
    let mut shown = format!(
        "run {} · {} · started {} UTC · took {} · outputs: {}\n\
         {executed} executed, {hits} hits, {failed} failed\n",
        meta.run_id,
        meta.status,
        text::utc(meta.started_at),
        took(&meta),
        meta.outputs.join(", ")
    );
    let rows: Vec<Vec<String>> = records
        .iter()
        .map(|r| {
            vec![
                r.node.clone(),
                r.status.as_str().to_string(),
                text::micros(r.duration_us),
                r.data_version.map_or("-".to_string(), |v| v.short()),
                reason(r),
            ]
        })
        .collect();
    shown.push_str(&text::table(
        &["NODE", "STATUS", "TOOK", "VERSION", "REASON"],
        &rows,
    ));
    if !checks.is_empty() {
        shown.push_str("checks:\n");
        for report in &checks {
            let verdict = if report.passed() {
                "passed".to_string()
            } else {
                format!("FAILED ({})", importance(report.importance))
            };
            shown.push_str(&format!("  {}: {verdict}\n", report.node));
            for r in &report.results {
                let mark = if r.passed { "ok  " } else { "FAIL" };
                shown.push_str(&format!("    {mark} {}: {}\n", r.validator, r.message));
            }
        }
    }
    output::to_stdout("the run", &shown)
}

/// The verdicts of the run's `check_output` checks: the stored values of its `x_check` nodes.
fn checks(cache: &Cache, records: &[NodeRecord]) -> Vec<weft::CheckReport> {
    let report = std::any::type_name::<weft::CheckReport>();
    records
        .iter()
        .filter(|r| r.type_name == report)
        .filter_map(|r| r.data_version.as_ref())
        .filter_map(|v| cache.result_store().get::<weft::CheckReport>(v).ok())
        .collect()
}

fn importance(i: weft::Importance) -> &'static str {
    match i {
        weft::Importance::Fail => "fail",
        weft::Importance::Warn => "warn",
    }
}

/// `cache explain`, with a "did you mean" drawn from the nodes the cache knows.
pub(crate) fn explain(
    cache: &Cache,
    node: &str,
    run: Option<&str>,
    prefix: &str,
) -> Result<weft::cache::Explanation, CliError> {
    let run_id = match run {
        Some(r) => Some(resolve_run(cache, Some(r))?.run_id),
        None => None,
    };
    cache.explain(node, run_id.as_deref()).map_err(|e| match e {
        StoreError::Other(m) if m.starts_with("no record of node") => {
            let known: Vec<String> = cache
                .runs()
                .unwrap_or_default()
                .iter()
                .rev()
                .take(20)
                .flat_map(|m| cache.records(Some(&m.run_id)).unwrap_or_default())
                .map(|r| r.node)
                .collect();
            let hint = did_you_mean(node, known.iter().map(String::as_str));
            CliError::usage(format!(
                "{m}{hint}; a node appears in the cache once a build has computed it (see \
                 `{prefix} cache show`)"
            ))
        }
        other => store_error(other),
    })
}
