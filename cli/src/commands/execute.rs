//! The driver for `--executor`: sequential, threads or processes (a sync [`Driver`]; processes
//! through the engine's `ProcessPool`), or async (an
//! `Driver::execute_async` on a tokio runtime started here). The only place that knows the async path.

use std::sync::Arc;

use weft::executors::MultiThreading;
use weft::remote::ProcessPool;
use weft::{Cache, CacheConfig, Driver, ExecuteError, Inputs, Outputs, RunRecord};

use super::build_error;
use super::cluster::Interrupt;
use super::request::Request;
use crate::args::{BuildArgs, Executor};
use crate::error::CliError;
use crate::progress::Progress;
use crate::Cli;

/// How a `build` run ended, the cache it used, and the driver that ran it.
pub(super) type Ran = (
    Result<(Outputs, RunRecord), ExecuteError>,
    Option<Cache>,
    Held,
);

/// The driver of a run (with its runtime, for async), kept while its outputs are read: a stored
/// value found unusable as it is read is recomputed by the driver that made it.
pub(super) struct Held {
    _driver: Driver,
    _runtime: Option<tokio::runtime::Runtime>,
}

impl Held {
    /// The driver's warnings so far (see [`Driver::warnings`]).
    pub(super) fn warnings(&self) -> Vec<weft::Warning> {
        self._driver.warnings()
    }
}

/// Builds the driver `a.executor` asks for, calls `before` with its cache and executor name,
/// then computes the request's outputs.
pub(super) fn execute(
    cli: &Cli,
    a: &BuildArgs,
    request: Request,
    before: impl FnOnce(Option<&Cache>, &str),
) -> Result<Ran, CliError> {
    let Request {
        outputs,
        inputs,
        config,
        cache_config,
        progress,
    } = request;
    let outputs: Vec<&str> = outputs.iter().map(String::as_str).collect();
    let outputs = outputs.as_slice();
    Ok(match a.executor {
        Executor::Async => {
            let (rt, dr) = async_driver(cli, a, config, cache_config, progress)?;
            before(dr.cache(), "async (tokio)");
            let result = rt.block_on(dr.request(outputs).inputs(inputs).run_async());
            let cache = dr.cache().cloned();
            let held = Held {
                _driver: dr,
                _runtime: Some(rt),
            };
            (result, cache, held)
        }
        Executor::Sequential
        | Executor::Threads(_)
        | Executor::Processes(_)
        | Executor::Cluster(_) => {
            let driver = sync_driver(cli, a, ONE_SHOT, config, cache_config, progress, Vec::new())?;
            before(driver.cache(), &driver.executor_name());
            let result = match a.executor {
                // Ctrl-C must reach the cluster: the run is cancelled, the backend stops it there.
                Executor::Cluster(_) => {
                    let interrupt = Interrupt::catch()?;
                    let result = driver.execute_cancellable(
                        outputs,
                        inputs,
                        Inputs::new(),
                        interrupt.token(),
                    );
                    match result {
                        Err(ExecuteError::Cancelled) if interrupt.interrupted() => {
                            return Err(CliError::failure(format!(
                                "interrupted (Ctrl-C): the run was cancelled and what it ran on \
                                 {} was stopped; nodes finished before keep their results",
                                driver.executor_name()
                            )));
                        }
                        other => other,
                    }
                }
                _ => driver.execute_recorded(outputs, inputs, Inputs::new()),
            };
            let cache = driver.cache().cloned();
            let held = Held {
                _driver: driver,
                _runtime: None,
            };
            (result, cache, held)
        }
    })
}

/// The memory budget of a one-shot `build` without `--memory-budget`: each value is released
/// after its last consumer has run (a chain of big frames holds about two at a time).
pub(super) const ONE_SHOT: Option<u64> = Some(0);

/// The builder every executor starts from: the flow's, with `--config`, `--keep-going` and the
/// memory budget (`--memory-budget`, else `default_budget`; `None` keeps every value).
fn builder(cli: &Cli, a: &BuildArgs, default_budget: Option<u64>, config: Inputs) -> weft::Builder {
    let builder = cli.builder().with_config(config).keep_going(a.keep_going);
    // After the flow's own adapters (its SparkAdapter), so frames are cut before they are
    // analyzed or written.
    #[cfg(feature = "spark")]
    let builder = match a.spark_limit {
        Some(n) => builder.with_adapter(weft::spark::RowLimit::new(n)),
        None => builder,
    };
    match a.memory_budget.or(default_budget) {
        Some(bytes) => builder.with_memory_budget(bytes),
        None => builder,
    }
}

/// A sync driver for `build`/`watch` (sequential, threads or processes), with `extra` adapters
/// after the progress (`watch --ui` adds the live view's). `default_budget` is the memory
/// budget without `--memory-budget`.
pub(super) fn sync_driver(
    cli: &Cli,
    a: &BuildArgs,
    default_budget: Option<u64>,
    config: Inputs,
    cache_config: Option<CacheConfig>,
    progress: Arc<Progress>,
    extra: Vec<Arc<dyn weft::Adapter>>,
) -> Result<Driver, CliError> {
    let mut builder = builder(cli, a, default_budget, config);
    let cores = || std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    // Workers (processes, cluster tasks) are this binary (`__weft-worker`), with the same config.
    let worker_args = || -> Vec<String> {
        a.config
            .config
            .iter()
            .flat_map(|(k, v)| ["--config".to_string(), format!("{k}={v}")])
            .collect()
    };
    match &a.executor {
        Executor::Threads(n) => {
            builder = builder.with_local_executor(MultiThreading::new(n.unwrap_or_else(cores)));
        }
        Executor::Processes(n) => {
            let pool = ProcessPool::new(n.unwrap_or_else(cores)).args(worker_args());
            builder = builder.with_remote_executor(pool);
        }
        Executor::Cluster(c) => builder = super::cluster::on_cluster(builder, c, worker_args())?,
        Executor::Sequential | Executor::Async => {}
    }
    if let Some(cfg) = cache_config {
        builder = builder.with_cache_config(cfg);
    }
    builder = builder.with_adapter_arc(progress);
    for adapter in extra {
        builder = builder.with_adapter_arc(adapter);
    }
    builder.build().map_err(build_error)
}

/// The async driver, on a multi-threaded tokio runtime started here.
fn async_driver(
    cli: &Cli,
    a: &BuildArgs,
    config: Inputs,
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
    let mut b = builder(cli, a, ONE_SHOT, config);
    if let Some(cfg) = cache {
        b = b.with_cache_config(cfg);
    }
    let dr = b.with_adapter_arc(progress).build().map_err(build_error)?;
    Ok((rt, dr))
}
