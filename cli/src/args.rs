//! The flow CLI's arguments (clap derive), and the examples shown by `--help`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::commands::cache::CacheArgs;

/// The command line of a weft flow.
#[derive(Parser, Debug)]
#[command(
    about = "Compute, inspect and draw this weft flow",
    long_about = "Compute, inspect and draw this weft flow.\n\n\
        Every function of the flow is a node: its name is what it produces, its parameters are \
        what it needs. Parameters that no node produces are inputs (--input) or config \
        (--config).",
    disable_help_subcommand = true,
    max_term_width = 100
)]
pub(crate) struct FlowArgs {
    #[command(subcommand)]
    pub(crate) command: FlowCommand,
}

#[derive(Subcommand, Debug)]
pub(crate) enum FlowCommand {
    /// Compute outputs (by default every node nothing else depends on), with caching.
    Build(BuildArgs),
    /// Build, then rebuild whenever a file input's content changes (only what depends on it runs).
    Watch(WatchArgs),
    /// List the nodes (module, type, doc, tags, dependencies), the inputs and the config.
    List(ListArgs),
    /// Draw the DAG, or the part of it that computing OUTPUTS involves, as SVG or DOT.
    Viz(VizArgs),
    /// Explain why a node executed (or was a cache hit) in the last run, or in RUN.
    Explain(ExplainArgs),
    /// Inspect and clean the cache: runs, per-node records, pictures, gc.
    Cache(CacheArgs),
    /// Print a shell completion script for this command.
    Completions(CompletionsArgs),
    /// Serve the web view of the cache: runs, each run's picture and timings, each node's
    /// explanation, value and history (on 127.0.0.1).
    #[cfg(feature = "ui")]
    Ui(crate::ui::UiArgs),
}

/// `--config NAME=VALUE`, shared by the commands that build the graph.
#[derive(Args, Debug, Default, Clone)]
pub(crate) struct ConfigArgs {
    /// Set a build-time config value (parsed as the type its consumers declare); repeatable.
    #[arg(long = "config", value_name = "NAME=VALUE", value_parser = key_value)]
    pub(crate) config: Vec<(String, String)>,
}

#[derive(Args, Debug)]
pub(crate) struct WatchArgs {
    #[command(flatten)]
    pub(crate) build: BuildArgs,

    /// Wait this long after a change before rebuilding (milliseconds)
    #[arg(long, value_name = "MS", default_value_t = 50)]
    pub(crate) debounce: u64,

    /// Stop after this many runs (default: until interrupted)
    #[arg(long, value_name = "N")]
    pub(crate) max_runs: Option<usize>,

    #[cfg(feature = "ui")]
    #[command(flatten)]
    pub(crate) ui: crate::ui::args::LiveUiArgs,
}

#[derive(Args, Debug)]
pub(crate) struct BuildArgs {
    /// Nodes to compute [default: every function node that no other node depends on]
    #[arg(value_name = "OUTPUTS")]
    pub(crate) outputs: Vec<String>,

    /// Give an input, parsed as the type its consumers declare (FromStr, else JSON); repeatable
    #[arg(short = 'i', long = "input", value_name = "NAME=VALUE", value_parser = key_value)]
    pub(crate) inputs: Vec<(String, String)>,

    /// Read inputs from a JSON object {"name": value, …}; --input wins over the file
    #[arg(long = "inputs", value_name = "FILE.json")]
    pub(crate) inputs_file: Option<PathBuf>,

    #[command(flatten)]
    pub(crate) config: ConfigArgs,

    /// How nodes are run: sequential, threads[:N] (N ready nodes at once; default one per
    /// core), processes[:N] (N worker processes of this binary; a node that crashes its
    /// process fails alone), async (tokio: async nodes concurrently, sync ones on the
    /// blocking pool), dask[=tcp://HOST:PORT] (tasks on a Dask scheduler; none: a local
    /// cluster) or ray[=http://HOST:8265] (one Ray job per run, through Ray's Jobs API)
    #[arg(long, value_name = "EXECUTOR", default_value = "sequential", value_parser = executor)]
    pub(crate) executor: Executor,

    /// The cache: a directory, or an object-store URL shared by several machines
    /// (s3://bucket/prefix, gs://bucket/prefix, az://container/prefix)
    #[arg(
        long = "cache",
        visible_alias = "cache-dir",
        value_name = "DIR|URL",
        default_value = ".weft/cache"
    )]
    pub(crate) cache: String,

    /// Do not read nor write the cache
    #[arg(long, conflicts_with_all = ["recompute", "recompute_all", "store_backlog"])]
    pub(crate) no_cache: bool,

    /// Memory for large results waiting to be written to the cache (e.g. 64MiB, 1GiB): a node
    /// whose large result would pass it waits until enough are stored, so a run that makes big
    /// frames faster than they are written holds a bounded number of them [default: 256MiB;
    /// 0: each waits for the one before it to be stored]
    #[arg(long, value_name = "SIZE", value_parser = crate::text::parse_size)]
    pub(crate) store_backlog: Option<u64>,

    /// Execute NODE even if the cache has its result (the result is stored again); repeatable
    #[arg(long, value_name = "NODE")]
    pub(crate) recompute: Vec<String>,

    /// Execute every node, storing fresh results (a full refresh)
    #[arg(long, conflicts_with = "recompute")]
    pub(crate) recompute_all: bool,

    /// How results are printed on stdout
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = OutputFormat::Table)]
    pub(crate) output: OutputFormat,

    /// Also write the results as a JSON object {"name": value, …} to FILE
    #[arg(short = 'o', long = "output-file", value_name = "FILE")]
    pub(crate) output_file: Option<PathBuf>,

    /// After a node fails, keep running what does not depend on it, and report every failure
    #[arg(long)]
    pub(crate) keep_going: bool,

    /// Memory for computed values (e.g. 512MiB, 2GB): past what the run still needs, the least
    /// recently used are released and come back from the cache or are recomputed when asked
    /// for again [default: `build` releases each value after its last consumer (0); `watch`
    /// keeps every value]
    #[arg(long, value_name = "SIZE", value_parser = crate::text::parse_size)]
    pub(crate) memory_budget: Option<u64>,

    /// Cut every source Spark frame (a node returning a Spark DataFrame that takes none) to N
    /// rows: a fast development run on a sample, without editing a node
    #[cfg(feature = "spark")]
    #[arg(long, value_name = "N")]
    pub(crate) spark_limit: Option<u64>,

    /// Print nothing but the results and the final summary
    #[arg(short, long)]
    pub(crate) quiet: bool,

    /// Also print the cache directory, the outputs, the run id, and every node above the
    /// progress bar
    #[arg(short, long, conflicts_with = "quiet")]
    pub(crate) verbose: bool,

    /// Also compute every node tagged KEY (with VALUE, if given); repeatable. Alone, without
    /// OUTPUTS, the tagged nodes are the outputs
    #[arg(long = "tag", value_name = "KEY[=VALUE]", value_parser = tag_filter)]
    pub(crate) tags: Vec<TagFilter>,
}

/// `--tag KEY` or `--tag KEY=VALUE`.
pub(crate) type TagFilter = (String, Option<String>);

pub(crate) fn tag_filter(s: &str) -> Result<TagFilter, String> {
    let (k, v) = match s.split_once('=') {
        Some((k, v)) => (k.trim(), Some(v.to_string())),
        None => (s.trim(), None),
    };
    if k.is_empty() {
        return Err(format!(
            "expected KEY or KEY=VALUE, got `{s}` (for example `--tag owner=growth`)"
        ));
    }
    Ok((k.to_string(), v))
}

/// Whether `spec` carries every tag of `filters` (with its value, where one is given).
pub(crate) fn tags_match(spec: &weft::NodeSpec, filters: &[TagFilter]) -> bool {
    filters.iter().all(|(k, v)| {
        spec.tag(k)
            .is_some_and(|t| v.as_deref().is_none_or(|want| want == t))
    })
}

/// How `build` prints its results.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OutputFormat {
    /// One row per output: name, type, value (as JSON)
    Table,
    /// A JSON object {"name": value, …}
    Json,
}

/// The executor running the nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Executor {
    /// One node after the other, in topological order.
    Sequential,
    /// Up to N ready nodes at once on a pool of threads (`None`: one per core).
    Threads(Option<usize>),
    /// The async driver on a tokio runtime: `async fn` nodes awaited concurrently, sync nodes
    /// on the blocking pool.
    Async,
    /// Up to N worker processes of the flow binary (`None`: one per core).
    Processes(Option<usize>),
    /// Tasks on a Dask or Ray cluster.
    Cluster(Cluster),
}

/// Which cluster, and its address (`None`: Dask's local cluster, Ray's default dashboard).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cluster {
    pub(crate) kind: ClusterKind,
    pub(crate) address: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClusterKind {
    Dask,
    Ray,
}

impl ClusterKind {
    /// The cargo feature of `weft-dataflow-cli` it needs.
    pub(crate) fn feature(self) -> &'static str {
        match self {
            ClusterKind::Dask => "dask",
            ClusterKind::Ray => "ray",
        }
    }
}

/// Parses `dask`, `dask=ADDRESS`, `ray`, `ray=ADDRESS`.
fn cluster(s: &str) -> Option<Result<Executor, String>> {
    let (kind, address) = match s.split_once('=') {
        Some((k, a)) => (k, Some(a)),
        None => (s, None),
    };
    let kind = match kind {
        "dask" => ClusterKind::Dask,
        "ray" => ClusterKind::Ray,
        _ => return None,
    };
    Some(match address {
        Some(a) if a.trim().is_empty() => Err(format!(
            "`{s}`: give the cluster's address after `=` (for example `dask=tcp://127.0.0.1:8786` \
             or `ray=http://127.0.0.1:8265`), or leave `=` out"
        )),
        _ => Ok(Executor::Cluster(Cluster {
            kind,
            address: address.map(str::to_string),
        })),
    })
}

/// Parses `--executor`: `sequential`, `threads`, `threads:N`, `processes`, `processes:N` or
/// `async`.
pub(crate) fn executor(s: &str) -> Result<Executor, String> {
    if let Some(c) = cluster(s) {
        return c;
    }
    let (kind, n) = match s.split_once(':') {
        Some((k, n)) => (k, Some(n)),
        None => (s, None),
    };
    match (kind, n) {
        ("sequential", None) => Ok(Executor::Sequential),
        ("threads", None) => Ok(Executor::Threads(None)),
        ("threads", Some(n)) => match n.parse::<usize>() {
            Ok(n) if n >= 1 => Ok(Executor::Threads(Some(n))),
            _ => Err(format!(
                "`{s}`: N in `threads:N` is the number of threads, a whole number of at least 1 \
                 (for example `threads:4`)"
            )),
        },
        ("async", None) => Ok(Executor::Async),
        ("processes", None) => Ok(Executor::Processes(None)),
        ("processes", Some(n)) => match n.parse::<usize>() {
            Ok(n) if n >= 1 => Ok(Executor::Processes(Some(n))),
            _ => Err(format!(
                "`{s}`: N in `processes:N` is the number of worker processes, a whole number of \
                 at least 1 (for example `processes:4`)"
            )),
        },
        _ => Err(format!(
            "unknown executor `{s}`; expected `sequential`, `threads`, `threads:N`, \
             `processes`, `processes:N`, `async`, `dask[=ADDRESS]` or `ray[=ADDRESS]`"
        )),
    }
}

/// Parses `NAME=VALUE`.
pub(crate) fn key_value(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!(
            "expected NAME=VALUE, got `{s}` (for example `--input spend=10.5`)"
        )),
    }
}

#[derive(Args, Debug)]
pub(crate) struct ListArgs {
    /// Print JSON instead of text
    #[arg(long)]
    pub(crate) json: bool,

    /// List only the nodes tagged KEY (with VALUE, if given); repeatable: all must match
    #[arg(long = "tag", value_name = "KEY[=VALUE]", value_parser = tag_filter)]
    pub(crate) tags: Vec<TagFilter>,

    #[command(flatten)]
    pub(crate) config: ConfigArgs,
}

#[derive(Args, Debug)]
pub(crate) struct VizArgs {
    /// Draw only what computing these nodes involves [default: the whole DAG]
    #[arg(value_name = "OUTPUTS")]
    pub(crate) outputs: Vec<String>,

    /// The file to write: SVG, or DOT when it ends in .dot or .gv
    #[arg(
        short = 'o',
        long = "output",
        value_name = "FILE",
        default_value = "dag.svg"
    )]
    pub(crate) output: PathBuf,

    #[command(flatten)]
    pub(crate) config: ConfigArgs,
}

#[derive(Args, Debug)]
pub(crate) struct ExplainArgs {
    /// The node to explain
    pub(crate) node: String,

    /// The run (an id or a unique prefix, see `cache runs`) [default: the last run]
    #[arg(long, value_name = "RUN")]
    pub(crate) run: Option<String>,

    /// The cache: a directory, or an object-store URL shared by several machines
    /// (s3://bucket/prefix, gs://bucket/prefix, az://container/prefix)
    #[arg(
        long = "cache",
        visible_alias = "cache-dir",
        value_name = "DIR|URL",
        default_value = ".weft/cache"
    )]
    pub(crate) cache: String,
}

#[derive(Args, Debug)]
pub(crate) struct CompletionsArgs {
    /// The shell
    #[arg(value_enum)]
    pub(crate) shell: clap_complete::Shell,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn executors_parse() {
        assert_eq!(executor("sequential"), Ok(Executor::Sequential));
        assert_eq!(executor("threads"), Ok(Executor::Threads(None)));
        assert_eq!(executor("threads:4"), Ok(Executor::Threads(Some(4))));
        assert_eq!(executor("async"), Ok(Executor::Async));
        assert_eq!(executor("processes"), Ok(Executor::Processes(None)));
        assert_eq!(executor("processes:3"), Ok(Executor::Processes(Some(3))));
        let dask = |address: Option<&str>| {
            Ok(Executor::Cluster(Cluster {
                kind: ClusterKind::Dask,
                address: address.map(str::to_string),
            }))
        };
        assert_eq!(executor("dask"), dask(None));
        assert_eq!(
            executor("dask=tcp://127.0.0.1:8786"),
            dask(Some("tcp://127.0.0.1:8786"))
        );
        let ray = executor("ray=http://127.0.0.1:8265").unwrap();
        assert!(matches!(
            ray,
            Executor::Cluster(Cluster {
                kind: ClusterKind::Ray,
                ..
            })
        ));
        assert!(executor("dask=").unwrap_err().contains("address"));
        let e = executor("processes:none").unwrap_err();
        assert!(
            e.contains("worker processes") && e.contains("at least 1"),
            "{e}"
        );
        let e = executor("threads:0").unwrap_err();
        assert!(e.contains("at least 1"), "{e}");
        let e = executor("async:2").unwrap_err();
        assert!(e.contains("unknown executor `async:2`"), "{e}");
        let e = executor("fast").unwrap_err();
        assert!(e.contains("unknown executor `fast`"), "{e}");
    }

    #[test]
    fn key_values_split_at_the_first_equals() {
        assert_eq!(key_value("a=b=c"), Ok(("a".into(), "b=c".into())));
        assert_eq!(key_value("a="), Ok(("a".into(), "".into())));
        assert!(key_value("a").is_err());
        assert!(key_value("=b").is_err());
    }

    #[test]
    fn tag_filters_take_a_key_and_maybe_a_value() {
        assert_eq!(
            tag_filter("owner=growth"),
            Ok(("owner".into(), Some("growth".into())))
        );
        assert_eq!(tag_filter("stage"), Ok(("stage".into(), None)));
        assert!(tag_filter("=x").is_err());
    }
}
